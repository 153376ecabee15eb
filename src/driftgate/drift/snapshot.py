"""The approximate snapshot: what is live, written for review. Never the authored-spec serializer.

Each file starts with the mandatory header. Drifted attributes take their
live values, except sensitive ones: those keep the authored ``secret://``
reference, or become a marked placeholder, and never carry a value. A
resource deleted out of band is left out, with a comment saying so; an
unmanaged one found live is added as an import.
"""

from __future__ import annotations

import re
from collections.abc import Collection, Mapping, Sequence
from typing import Any

import yaml

from driftgate.drift.detect import CHANGED, DELETED, UNMANAGED, DriftItem
from driftgate.plan.model import SENSITIVE
from driftgate.security.redact import scrub_values
from driftgate.spec.model import ModuleSpec, ResourceSpec
from driftgate.spec.refs import is_secret_ref
from driftgate.spec.schema import KindSchema

HEADER = (
    "# imported from live state; approximate; does NOT reconstruct your secret:// refs — review before merge"
)
PLACEHOLDER = "<sensitive: not imported; set a secret:// reference>"
_Dumper: type[yaml.SafeDumper] = getattr(yaml, "CSafeDumper", yaml.SafeDumper)


def _dump(doc: Any) -> str:
    return yaml.dump(
        doc, Dumper=_Dumper, sort_keys=False, default_flow_style=False, allow_unicode=True, width=1 << 30
    )


def _live_spec(
    res: ResourceSpec, item: DriftItem, schema: KindSchema | None
) -> tuple[dict[str, Any], list[str]]:
    spec = dict(res.spec)
    notes: list[str] = []
    for change in item.changes:
        authored = res.spec.get(change.name)
        sensitive = (
            change.sensitive
            or change.old == SENSITIVE
            or bool(
                schema and schema.attributes.get(change.name) and schema.attributes[change.name].sensitive
            )
        )
        if sensitive:
            if is_secret_ref(authored):
                notes.append(
                    f"{change.name}: the live value differs from {authored}; the secret is not imported"
                )
            else:
                spec[change.name] = PLACEHOLDER
                notes.append(
                    f"{change.name}: SENSITIVE, not imported; replace the placeholder with a secret:// ref"
                )
            continue
        spec[change.name] = change.old
        if isinstance(authored, str) and "${" in authored:
            notes.append(f"{change.name}: was the reference {authored!r}; now its live value")
    return spec, notes


def scrub_secrets(value: Any, secrets: Collection[str]) -> tuple[Any, bool]:
    """``value`` with every known secret value taken out (whole values become the placeholder).

    Nothing of a secret reaches a draft, whatever the live world or the authored text holds.
    """
    return scrub_values(value, secrets, whole=PLACEHOLDER)


_SCRUBBED_NOTE = "a secret value found here was removed; use a secret:// reference"


def _resource_block(res: dict[str, Any], comments: Sequence[str]) -> str:
    lines = [f"# {line}" for line in comments]
    return "\n".join(lines) + ("\n" if lines else "") + _dump([res])


def render_module(
    module: ModuleSpec,
    items: Sequence[DriftItem],
    *,
    schemas: Mapping[str, KindSchema],
    stack: str,
    run_id: str,
    when: str,
    secrets: Collection[str] = (),
) -> str:
    """The snapshot of one module: authored resources, drifted ones as they are live.

    ``secrets`` are the resolved secret values known to the run: none of them is written.
    """
    drifted = {i.address.rsplit("/", 1)[1]: i for i in items}
    head: dict[str, Any] = {"apiVersion": module.apiVersion, "kind": module.kind, "name": module.name}
    if module.description:
        head["description"] = module.description
    head["stateful"] = module.stateful
    parts = [
        HEADER,
        f"# drift snapshot of stack {stack}, module {module.name}: run {run_id} at {when}",
        _dump(head).rstrip("\n"),
        "resources:",
    ]
    for res in module.resources:
        item = drifted.get(f"{res.type}.{res.name}")
        doc: dict[str, Any] = {"type": res.type, "name": res.name}
        if res.depends_on:
            doc["depends_on"] = list(res.depends_on)
        if item is None:
            doc["spec"], scrubbed = scrub_secrets(dict(res.spec), secrets)
            parts.append(_resource_block(doc, [_SCRUBBED_NOTE] if scrubbed else []).rstrip("\n"))
        elif item.kind == DELETED:
            parts.append(
                f"# deleted out of band: {item.address} (left out here; merging accepts the deletion)"
            )
        elif item.kind == CHANGED:
            spec, notes = _live_spec(res, item, schemas.get(res.type))
            doc["spec"], scrubbed = scrub_secrets(spec, secrets)
            notes += [_SCRUBBED_NOTE] if scrubbed else []
            changed = ", ".join(c.name for c in item.changes)
            parts.append(
                _resource_block(doc, [f"drifted ({changed}): values as found live", *notes]).rstrip("\n")
            )
    return "\n".join(parts) + "\n"


def _slug(resource_id: str) -> str:
    return re.sub(r"[^A-Za-z0-9_-]+", "-", resource_id).strip("-")[:100] or "resource"


def render_unmanaged(
    items: Sequence[DriftItem],
    *,
    schemas: Mapping[str, KindSchema],
    stack: str,
    run_id: str,
    when: str,
    secrets: Collection[str] = (),
) -> str:
    """Resources found live that no spec declares, as a module to review and adopt (or delete)."""
    head: dict[str, Any] = {
        "apiVersion": "driftgate/v1",
        "kind": "Module",
        "name": "unmanaged",
        "stateful": False,
    }
    parts = [
        HEADER,
        f"# unmanaged resources found live in stack {stack}: run {run_id} at {when}",
        _dump(head).rstrip("\n"),
        "resources:",
    ]
    for item in items:
        if item.kind != UNMANAGED or item.live is None:
            continue
        schema = schemas.get(item.type)
        spec: dict[str, Any] = {}
        found_id, _ = scrub_secrets(item.resource_id or "", secrets)
        notes = [f"found live: {found_id}"]
        for name, value in sorted(item.live.attributes.items()):
            attr = schema.attributes.get(name) if schema else None
            if attr is None:
                continue
            if attr.sensitive or value is None or value == SENSITIVE:
                spec[name] = PLACEHOLDER
                notes.append(f"{name}: not imported (sensitive or not text); replace the placeholder")
            else:
                spec[name] = value
        clean, scrubbed = scrub_secrets(spec, secrets)
        notes += [_SCRUBBED_NOTE] if scrubbed else []
        doc = {"type": item.type, "name": f"imported-{_slug(item.resource_id or '')}", "spec": clean}
        parts.append(_resource_block(doc, notes).rstrip("\n"))
    return "\n".join(parts) + "\n"


def render_children(
    parent: str,
    items: Sequence[DriftItem],
    *,
    accept: str,
    stack: str,
    run_id: str,
    when: str,
    secrets: Collection[str],
) -> str:
    """The drift inside an expanding resource (a Terraform root's addresses), for review: each
    drifted address with its live attributes (sensitive ones masked, known secrets taken out),
    and ``accept``: what a reviewer runs to take the drift in."""
    lines = [
        HEADER,
        "",
        f"Drift inside `{parent}` of stack `{stack}`, found by driftgate run `{run_id}` at {when}.",
        "",
        "To accept it (the live values become the recorded ones; the configuration is yours to edit):",
        "",
        f"    {accept}",
        "",
        "To undo it instead, apply the stack: driftgate plans the resource back to its configuration.",
    ]
    for item in sorted(items, key=lambda i: i.address):
        key = item.address[len(parent) + 1 : -1] if item.address.startswith(parent + "[") else item.address
        lines += ["", f"## `{key}`: {item.kind}"]
        for change in item.changes:
            live = SENSITIVE if change.sensitive else change.old
            lines.append(
                f"- {change.name}: live {_inline(live, secrets)}, recorded {_inline(change.new, secrets)}"
            )
        if item.live is not None and item.live.attributes:
            lines += ["", "Live attributes:", "", "```yaml"]
            shown = scrub_values(item.live.attributes, secrets, whole=SENSITIVE)[0]
            lines += _dump(shown).rstrip().splitlines()
            lines.append("```")
    return "\n".join(lines) + "\n"


def _inline(value: Any, secrets: Collection[str]) -> str:
    shown = scrub_values(value, secrets, whole=SENSITIVE)[0]
    return "`" + (_dump(shown).strip().replace("\n", " ") if not isinstance(shown, str) else shown) + "`"
