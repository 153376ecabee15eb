"""Every package and top-level module of driftgate sits in the layer contract (import-linter checks
the imports; this checks that nothing new escaped the contract by not being named in it)."""

from __future__ import annotations

import tomllib
from pathlib import Path

import driftgate

ROOT = Path(__file__).resolve().parents[1]


def _layered() -> set[str]:
    config = tomllib.loads((ROOT / "pyproject.toml").read_text())
    (layers,) = [c for c in config["tool"]["importlinter"]["contracts"] if c["type"] == "layers"]
    return {name.strip() for layer in layers["layers"] for name in layer.split("|")}


def test_every_package_is_in_a_layer() -> None:
    package = Path(driftgate.__file__).parent
    parts = {p.name for p in package.iterdir() if p.is_dir() and (p / "__init__.py").is_file()}
    parts |= {p.stem for p in package.glob("*.py") if p.stem != "__init__"}
    assert {f"driftgate.{name}" for name in parts} == _layered()


def test_no_product_package_is_left_out_of_the_test_helpers_contract() -> None:
    config = tomllib.loads((ROOT / "pyproject.toml").read_text())
    contracts = config["tool"]["importlinter"]["contracts"]
    (helpers,) = [c for c in contracts if c.get("forbidden_modules") == ["driftgate.testing"]]
    assert set(helpers["source_modules"]) == _layered() - {"driftgate.testing"}
