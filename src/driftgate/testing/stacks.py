"""Build stack directories for tests and benchmarks from plain data."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import yaml


def write_stack(
    directory: Path,
    *,
    name: str = "test",
    modules: Mapping[str, Sequence[Mapping[str, Any]]],
    providers: Mapping[str, Any] | None = None,
    stateful: Sequence[str] = (),
) -> Path:
    """Write stack.yaml and one file per module under ``modules/``; return the directory."""
    directory.mkdir(parents=True, exist_ok=True)
    stack = {
        "apiVersion": "driftgate/v1",
        "kind": "Stack",
        "name": name,
        "providers": dict(providers if providers is not None else {"file": {"root": "live"}, "data": {}}),
        "modules": ["modules"],
    }
    (directory / "stack.yaml").write_text(yaml.safe_dump(stack, sort_keys=False))
    mod_dir = directory / "modules"
    mod_dir.mkdir(exist_ok=True)
    for old in mod_dir.glob("*.yaml"):
        old.unlink()
    for module, resources in modules.items():
        doc = {
            "apiVersion": "driftgate/v1",
            "kind": "Module",
            "name": module,
            "stateful": module in stateful,
            "resources": [dict(r) for r in resources],
        }
        (mod_dir / f"{module}.yaml").write_text(yaml.safe_dump(doc, sort_keys=False))
    return directory


def data_values(count: int, *, prefix: str = "v", value: str = "x") -> list[dict[str, Any]]:
    """``count`` independent data.value resources."""
    return [
        {"type": "data.value", "name": f"{prefix}{i}", "spec": {"input": f"{value}-{i}"}}
        for i in range(count)
    ]


def fast_write_module(path: Path, module: str, resources: Sequence[Mapping[str, Any]]) -> None:
    """Write a module file quickly (the C emitter) for large benchmark stacks."""
    dumper: Any = getattr(yaml, "CSafeDumper", yaml.SafeDumper)
    doc = {"apiVersion": "driftgate/v1", "kind": "Module", "name": module, "resources": list(resources)}
    path.write_text(yaml.dump(doc, Dumper=dumper, sort_keys=False))


def read_module(stack: Path, name: str) -> dict[str, Any]:
    """A module file of ``stack`` as data, to edit the way a contributor would."""
    doc: dict[str, Any] = yaml.safe_load((stack / "modules" / f"{name}.yaml").read_text())
    return doc


def write_module(stack: Path, name: str, doc: Mapping[str, Any]) -> None:
    (stack / "modules" / f"{name}.yaml").write_text(yaml.safe_dump(dict(doc), sort_keys=False))
