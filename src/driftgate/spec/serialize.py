"""The canonical serializer for authored specs.

Deterministic: fixed order for the format's own keys, sorted keys inside
``spec``, block style, UTF-8. ``secret://`` references are plain strings here and
are written verbatim, never expanded. ``load(dump(x)) == x`` holds (property-tested).
Drift snapshots use a different serializer on purpose (see ARCHITECTURE.md).
"""

from __future__ import annotations

from typing import Any

import yaml

from driftgate.spec.model import ModuleSpec, ResourceSpec, StackSpec
from driftgate.spec.yamlsafe import load_yaml

_Dumper: type[yaml.SafeDumper] = getattr(yaml, "CSafeDumper", yaml.SafeDumper)
_MAX = 1 << 30


def _sorted(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: _sorted(value[k]) for k in sorted(value)}
    if isinstance(value, list):
        return [_sorted(v) for v in value]
    return value


def _resource_doc(res: ResourceSpec) -> dict[str, Any]:
    doc: dict[str, Any] = {"type": res.type, "name": res.name}
    if res.depends_on:
        doc["depends_on"] = list(res.depends_on)
    if res.spec:
        doc["spec"] = _sorted(res.spec)
    return doc


def _dump(doc: dict[str, Any]) -> str:
    return yaml.dump(
        doc,
        Dumper=_Dumper,
        sort_keys=False,
        default_flow_style=False,
        allow_unicode=True,
        width=_MAX,
    )


def dump_module(module: ModuleSpec) -> str:
    doc: dict[str, Any] = {
        "apiVersion": module.apiVersion,
        "kind": module.kind,
        "name": module.name,
    }
    if module.description:
        doc["description"] = module.description
    doc["stateful"] = module.stateful
    for key in ("stateful_mode", "backup_max_age_hours", "drift"):
        if getattr(module, key) != ModuleSpec.model_fields[key].default:
            doc[key] = getattr(module, key)
    doc["resources"] = [_resource_doc(r) for r in module.resources]
    return _dump(doc)


def dump_stack(stack: StackSpec) -> str:
    doc: dict[str, Any] = {"apiVersion": stack.apiVersion, "kind": stack.kind, "name": stack.name}
    if stack.description:
        doc["description"] = stack.description
    doc["providers"] = _sorted(stack.providers)
    doc["modules"] = list(stack.modules)
    policy = stack.commit_back.model_dump(exclude_defaults=True)
    if policy:
        doc["commit_back"] = policy
    return _dump(doc)


def load_module(text: str) -> ModuleSpec:
    return ModuleSpec.model_validate(load_yaml(text, max_bytes=_MAX).data)


def load_stack_spec(text: str) -> StackSpec:
    return StackSpec.model_validate(load_yaml(text, max_bytes=_MAX).data)
