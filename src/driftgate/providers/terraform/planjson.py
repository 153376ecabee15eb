"""Terraform's machine-readable plan (``terraform show -json PLANFILE``) as driftgate child actions.

Each ``resource_changes[]`` entry becomes one child: its action mapped from ``change.actions``,
its attribute changes from ``before``/``after``, values Terraform marks sensitive
(``before_sensitive``/``after_sensitive``, at any depth) shown as ``(sensitive)`` and values
known only after apply as ``(known after apply)``. Nothing Terraform marks sensitive leaves this
module: the plan JSON also holds every variable's value in clear, which is never read here.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from driftgate.errors import ProviderError
from driftgate.plan.model import SENSITIVE, UNKNOWN, AttributeChange

FORMAT_MAJOR = "1"
ACTIONS: dict[tuple[str, ...], str] = {
    ("no-op",): "noop",
    ("create",): "create",
    ("update",): "update",
    ("delete",): "delete",
    ("delete", "create"): "replace",
    ("create", "delete"): "replace",
    ("read",): "noop",  # a data source read during apply: nothing of the user's changes
    ("forget",): "delete",  # removed from state only (a `removed` block with destroy = false)
}
REASONS = {
    "replace_because_tainted": "tainted: it must be replaced",
    "replace_because_cannot_update": "a change its provider cannot make in place",
    "replace_by_request": "replacement requested (-replace)",
    "replace_by_triggers": "its replace_triggered_by changed",
    "delete_because_no_resource_config": "no longer in the configuration",
    "delete_because_no_module": "its module is no longer in the configuration",
    "delete_because_wrong_repetition": "its count/for_each changed shape",
    "delete_because_count_index": "its count index is out of range",
    "delete_because_each_key": "its for_each key is gone",
    "read_because_config_unknown": "read during apply: its configuration is known only then",
    "read_because_dependency_pending": "read during apply: it depends on a pending change",
    "read_because_check_nested": "read during apply: a check block needs it",
}


@dataclass(frozen=True)
class ChildChange:
    """One Terraform resource instance's planned change."""

    address: str  # Terraform's address, e.g. module.net.aws_subnet.a["x"]
    kind: str  # create | update | replace | delete | noop
    actions: tuple[str, ...]  # Terraform's own words
    changes: tuple[AttributeChange, ...]
    reason: str = ""
    data_source: bool = False


@dataclass(frozen=True)
class OutputChange:
    name: str
    kind: str
    value: Any  # masked: SENSITIVE when Terraform marks it so, UNKNOWN until apply
    sensitive: bool


@dataclass(frozen=True)
class TerraformPlan:
    terraform_version: str
    children: tuple[ChildChange, ...]
    outputs: tuple[OutputChange, ...]
    errored: bool = False
    drift: tuple[ChildChange, ...] = ()  # resource_drift[]: what changed live outside Terraform

    @property
    def has_changes(self) -> bool:
        return any(c.kind != "noop" for c in self.children) or any(o.kind != "noop" for o in self.outputs)


def parse_plan(document: Mapping[str, Any], *, source: str) -> TerraformPlan:
    """``terraform show -json`` of a saved plan, checked and masked."""
    version = str(document.get("format_version", ""))
    if version.split(".", 1)[0] != FORMAT_MAJOR:
        raise ProviderError(
            f"{source}: Terraform's plan JSON has format_version {version or '(none)'}; driftgate reads "
            f"{FORMAT_MAJOR}.x"
        )
    children = tuple(_child(raw, source) for raw in document.get("resource_changes") or [])
    outputs = tuple(
        _output(name, raw) for name, raw in sorted((document.get("output_changes") or {}).items())
    )
    return TerraformPlan(
        terraform_version=str(document.get("terraform_version", "")),
        children=children,
        outputs=outputs,
        errored=bool(document.get("errored", False)),
        drift=tuple(_child(raw, source) for raw in document.get("resource_drift") or []),
    )


def _child(raw: Mapping[str, Any], source: str) -> ChildChange:
    change = raw.get("change") or {}
    actions = tuple(str(a) for a in change.get("actions") or ())
    kind = ACTIONS.get(actions)
    if kind is None:
        raise ProviderError(f"{source}: {raw.get('address')}: unknown Terraform actions {list(actions)}")
    replace_paths = {str(p[0]) for p in change.get("replace_paths") or () if p}
    reason_code = str(raw.get("action_reason") or "")
    return ChildChange(
        address=str(raw["address"]),
        kind=kind,
        actions=actions,
        changes=attribute_changes(change, kind, replace_paths),
        reason=REASONS.get(reason_code, reason_code.replace("_", " ")),
        data_source=raw.get("mode") == "data",
    )


def attribute_changes(
    change: Mapping[str, Any], kind: str, replace_paths: set[str] | None = None
) -> tuple[AttributeChange, ...]:
    """Top-level attribute changes, masked: what a reviewer may see."""
    if kind == "noop":
        return ()
    before = masked(change.get("before"), change.get("before_sensitive"))
    after = masked(change.get("after"), change.get("after_sensitive"), unknown=change.get("after_unknown"))
    before = before if isinstance(before, dict) else {}
    after = after if isinstance(after, dict) else {}
    found = []
    for name in sorted(before.keys() | after.keys()):
        old, new = before.get(name), after.get(name)
        if kind in ("update", "replace") and old == new and old != SENSITIVE:
            continue
        if kind in ("update", "replace") and old == new == SENSITIVE:
            continue  # both hidden: nothing a reviewer could compare
        sensitive = SENSITIVE in (old, new)
        found.append(
            AttributeChange(
                name=name,
                old=None if kind == "create" else old,
                new=None if kind == "delete" else new,
                forces_replace=name in (replace_paths or set()),
                sensitive=sensitive,
            )
        )
    return tuple(found)


def masked(value: Any, sensitive: Any, *, unknown: Any = None) -> Any:
    """``value`` with each part Terraform marks sensitive replaced by SENSITIVE and each part
    known only after apply by UNKNOWN; the marks mirror the value's shape (or are one boolean)."""
    if sensitive is True:
        return SENSITIVE
    if unknown is True:
        return UNKNOWN
    if isinstance(value, dict):
        keys = value.keys() | (unknown.keys() if isinstance(unknown, dict) else set())
        return {
            k: masked(
                value.get(k),
                sensitive.get(k) if isinstance(sensitive, dict) else None,
                unknown=unknown.get(k) if isinstance(unknown, dict) else None,
            )
            for k in keys
        }
    if isinstance(value, list):
        return [
            masked(
                item,
                sensitive[i] if isinstance(sensitive, list) and i < len(sensitive) else None,
                unknown=unknown[i] if isinstance(unknown, list) and i < len(unknown) else None,
            )
            for i, item in enumerate(value)
        ]
    if value is None and isinstance(unknown, dict | list):
        return masked({} if isinstance(unknown, dict) else [None] * len(unknown), sensitive, unknown=unknown)
    return value


def _output(name: str, raw: Mapping[str, Any]) -> OutputChange:
    actions = tuple(str(a) for a in raw.get("actions") or ())
    sensitive = bool(raw.get("after_sensitive") or raw.get("before_sensitive"))
    value = masked(raw.get("after"), raw.get("after_sensitive"), unknown=raw.get("after_unknown"))
    return OutputChange(name, ACTIONS.get(actions, "update"), SENSITIVE if sensitive else value, sensitive)
