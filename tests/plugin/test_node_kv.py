"""The example plugin in another language (examples/plugins/node-kv, Node.js with @grpc/grpc-js):
it passes the conformance kit, and a stack using it goes through plan, apply with commit-back,
and drift, as a user runs them."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import yaml

from driftgate.cli import exitcodes as codes
from driftgate.testing.cli import run
from driftgate.testing.gitrepos import cloned_stack
from driftgate.testing.stacks import write_stack
from tests.plugin.fakes import running_plugins

ROOT = Path(__file__).resolve().parents[2]
EXAMPLE = ROOT / "examples" / "plugins" / "node-kv"
PLUGIN = EXAMPLE / "driftgate-provider-kv"


@pytest.fixture(autouse=True)
def installed() -> None:
    assert (EXAMPLE / "node_modules" / "@grpc" / "grpc-js").is_dir(), (
        "the Node.js example's dependencies are not installed: run ./scripts/examples (./scripts/test does)"
    )


def entries(*pairs: tuple[str, str]) -> list[dict[str, object]]:
    return [{"type": "kv.entry", "name": k, "spec": {"key": k, "value": v}} for k, v in pairs]


def test_the_node_plugin_passes_the_conformance_kit(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run(capsys, "plugin", "check", "--config", '{"root": "data"}', "--json", "--", str(PLUGIN))
    report = json.loads(out)
    failed = [c for c in report["checks"] if not c["passed"]]
    assert code == 0 and report["passed"] and failed == []
    names = {c["name"] for c in report["checks"]}
    assert {"kv.entry greeting: import by id", "kv.entry greeting: backup and restore"} <= names


def test_plan_apply_commit_back_and_drift_through_the_node_plugin(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], store_env: str
) -> None:
    rendered = write_stack(
        tmp_path / "render",
        name="kv",
        modules={"config": entries(("region", "eu-west-1"))},
        providers={"kv": {"plugin": str(PLUGIN), "version": ">=1.0,<2", "config": {"root": "data"}}},
    )
    remote, stack = cloned_stack(tmp_path, rendered, "stacks/kv", extra={"stacks/kv/.gitignore": "data/\n"})

    code, out, _ = run(capsys, "plan", "-s", str(stack))
    assert code == codes.CHANGES and "Plan: 1 to add" in out
    code, out, err = run(capsys, "apply", "-s", str(stack), "--auto-approve")
    assert code == 0, err
    assert json.loads((stack / "data" / "kv.json").read_text()) == {"region": "eu-west-1"}

    module = stack / "modules" / "config.yaml"
    doc = yaml.safe_load(module.read_text())
    doc["resources"] = entries(("region", "eu-central-1"), ("tier", "gold"))
    module.write_text(yaml.safe_dump(doc, sort_keys=False))
    code, out, err = run(capsys, "apply", "-s", str(stack), "--auto-approve")
    assert code == 0, err
    assert json.loads((stack / "data" / "kv.json").read_text()) == {"region": "eu-central-1", "tier": "gold"}
    assert "eu-central-1" in remote.show("stacks/kv/modules/config.yaml")  # committed back, pushed

    (stack / "data" / "kv.json").write_text(json.dumps({"region": "us-east-1", "tier": "gold", "rogue": "x"}))
    code, out, _ = run(capsys, "drift", "-s", str(stack), "--json")
    report = json.loads(out)
    assert code == codes.CHANGES
    kinds = {item["address"]: item["drift"] for item in report["items"]}
    assert kinds["config/kv.entry.region"] == "changed"
    assert kinds["(unmanaged)/kv.entry[rogue]"] == "unmanaged"
    assert running_plugins("driftgate-provider-kv") == []


def test_validate_asks_the_plugin_about_its_own_kinds(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], store_env: str
) -> None:
    stack = write_stack(
        tmp_path / "stack",
        name="kv",
        modules={
            "config": [*entries(("region", "eu")), {"type": "kv.entry", "name": "blank", "spec": {"key": ""}}]
        },
        providers={"kv": {"plugin": str(PLUGIN), "config": {"root": "data"}}},
    )
    code, _, err = run(capsys, "validate", "-s", str(stack))
    assert code == codes.BY_CODE["SPEC_INVALID"]
    assert (
        "modules/config.yaml: config/kv.entry.blank: kv plugin: key: a non-empty string is required (key)"
        in err
    )
    code, out, _ = run(capsys, "validate", "-s", str(stack), "--json")
    (problem,) = json.loads(out)["diagnostics"]
    assert problem["field"] == "config/kv.entry.blank" and "non-empty string" in problem["summary"]


def test_a_plugin_without_check_backup_has_its_backups_checked_by_their_checksum(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], store_env: str
) -> None:
    """CheckBackup came with protocol 2.1; the Node.js example speaks 2.0 and does not answer it."""
    stack = write_stack(
        tmp_path / "stack",
        name="kv",
        modules={"config": entries(("region", "eu-west-1"))},
        providers={"kv": {"plugin": str(PLUGIN), "config": {"root": "data"}}},
        stateful=["config"],
    )
    s = ["-s", str(stack)]
    assert (
        run(
            capsys,
            "apply",
            *s,
            "--auto-approve",
            "--module",
            "config",
            "--allow-stateful",
            "--confirm",
            "config",
        )[0]
        == 0
    )
    code, out, err = run(capsys, "backup", "create", "config", *s, "--json")
    assert code == 0, out + err
    ref = json.loads(out)["ref"]
    code, out, err = run(capsys, "backup", "verify", ref, *s)
    assert code == 0, out + err
    artifact = next((tmp_path / "driftgate-home" / "backups").rglob("*.tar.gz"))
    artifact.write_bytes(artifact.read_bytes()[:-40])
    assert run(capsys, "backup", "verify", ref, *s)[0] == codes.BY_CODE["BACKUP_CORRUPT"]
