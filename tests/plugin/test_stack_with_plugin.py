"""A stack whose provider is a plugin: plan, apply, drift and the ledger, as a user runs them."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
import yaml

from driftgate.cli import exitcodes as codes
from driftgate.plugin.client import PluginProcess
from driftgate.plugin.manifest import PROTOCOL_MAJOR, PROTOCOL_MINOR
from driftgate.services.stacks.apply import ApplyRequest, apply_stack
from driftgate.services.stacks.session import plan_stack
from driftgate.services.workspace import Workspace
from driftgate.testing.cli import DRIFTGATE, run
from driftgate.testing.stacks import data_values, write_stack
from tests.cli.test_json_contract import fits
from tests.plugin.fakes import running_plugins, script, serving


def plugin_stack(tmp_path: Path, *, block: dict[str, object] | None = None, count: int = 3) -> Path:
    stack = tmp_path / "stack"
    stack.mkdir()
    script(
        stack,
        "data-plugin",
        f"import os; os.execv({DRIFTGATE!r}, [{DRIFTGATE!r}, 'plugin', 'serve', 'data'])",
    )
    providers = {"data": block or {"plugin": "./data-plugin", "version": ">=0.1", "config": {}}}
    return write_stack(stack, modules={"app": data_values(count)}, providers=providers)


def test_plan_apply_and_drift_through_a_plugin(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], store_env: str
) -> None:
    stack = plugin_stack(tmp_path)
    code, out, _ = run(capsys, "validate", "-s", str(stack))
    assert code == 0 and "3 resources" in out
    code, out, _ = run(capsys, "plan", "-s", str(stack))
    assert code == codes.CHANGES and "Plan: 3 to add, 0 to change, 0 to destroy." in out
    code, out, err = run(capsys, "apply", "-s", str(stack), "--auto-approve", "--json")
    applied = json.loads(out)
    assert code == 0, err
    assert [a["status"] for a in applied["result"]["actions"]] == ["SUCCESS"] * 3
    assert applied["result"]["actions"][0]["outputs"]["output"] == "x-0"
    code, out, _ = run(capsys, "plan", "-s", str(stack))
    assert code == 0 and "No changes" in out
    code, out, _ = run(capsys, "drift", "-s", str(stack))
    assert code == 0
    assert running_plugins() == []  # each command stopped its plugin when it ended


def test_a_refused_plugin_stops_the_command_with_one_line(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], store_env: str
) -> None:
    stack = plugin_stack(tmp_path, block={"plugin": "./data-plugin", "version": ">=2"})
    code, out, err = run(capsys, "plan", "-s", str(stack))
    assert code == codes.BY_CODE["PROVIDER_CONFIG"]
    assert "is version 0.1.0; the stack asks for >=2" in err and len(err.strip().splitlines()) == 1


def test_a_bad_plugin_block_is_a_spec_error_with_its_field(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], store_env: str
) -> None:
    stack = plugin_stack(tmp_path, block={"plugin": "./data-plugin", "config": "root", "colour": "red"})
    code, _, err = run(capsys, "validate", "-s", str(stack))
    assert code == codes.BY_CODE["SPEC_INVALID"]
    assert "providers.data.config: must be a mapping" in err
    assert "providers.data.colour: unknown field" in err


def test_a_plugin_path_may_not_leave_the_stack(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], store_env: str
) -> None:
    stack = plugin_stack(tmp_path, block={"plugin": "../elsewhere/plugin"})
    code, _, err = run(capsys, "plan", "-s", str(stack))
    assert code == codes.BY_CODE["PROVIDER_CONFIG"] and "plugin '../elsewhere/plugin'" in err
    assert (
        yaml.safe_load((stack / "stack.yaml").read_text())["providers"]["data"]["plugin"]
        == "../elsewhere/plugin"
    )


def test_a_plan_reads_a_plugin_in_batches_and_asks_nothing_per_unchanged_resource(
    tmp_path: Path, ws: Workspace, monkeypatch: pytest.MonkeyPatch
) -> None:
    stack = plugin_stack(tmp_path, count=2500)
    outcome = apply_stack(ws, ApplyRequest(stack, commit_back=False))
    assert outcome.report is not None and outcome.report.full_success
    calls: list[str] = []
    real = PluginProcess.call

    def counted(self: PluginProcess, fn: Any) -> Any:
        answer = real(self, fn)
        calls.append(type(answer).__qualname__)
        return answer

    monkeypatch.setattr(PluginProcess, "call", counted)
    planned = plan_stack(ws, stack)
    assert not planned.plan.has_changes and not planned.plan.errors
    assert calls.count("ReadResources.Response") == 3  # 2,500 reads in batches of 1,000
    assert "PlanResourceChange.Response" not in calls


def test_a_data_bearing_kind_makes_its_module_stateful(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], store_env: str
) -> None:
    stack = tmp_path / "stack"
    stack.mkdir()
    serving(stack, "bearing-plugin", manifest_patch='doc["kinds"][0]["data_bearing"] = True')
    write_stack(stack, modules={"app": data_values(2)}, providers={"data": {"plugin": "./bearing-plugin"}})
    code, out, err = run(capsys, "validate", "-s", str(stack))
    assert code == 0 and "Warning: modules/app.yaml: module 'app' holds data.value" in err
    assert "gated as stateful" in err
    code, out, _ = run(capsys, "validate", "-s", str(stack), "--json")
    (warning,) = json.loads(out)["diagnostics"]
    assert warning["severity"] == "warning" and "data-bearing" in warning["summary"]
    code, out, _ = run(capsys, "plan", "-s", str(stack), "--json")
    assert json.loads(out)["stateful_modules"] == ["app"]


def test_plugin_list_shows_built_ins_and_the_stack_s_plugins(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], store_env: str
) -> None:
    stack = tmp_path / "stack"
    stack.mkdir()
    script(
        stack, "kv-plugin", f"import os; os.execv({DRIFTGATE!r}, [{DRIFTGATE!r}, 'plugin', 'serve', 'data'])"
    )
    write_stack(
        stack,
        modules={"app": data_values(1)},
        providers={"data": {"plugin": "./kv-plugin"}, "file": {"root": "live"}},
    )
    code, out, _ = run(capsys, "plugin", "list", "-s", str(stack), "--json")
    fits("plugin_list", json.loads(out))
    found = {p["name"]: p for p in json.loads(out)["providers"]}
    assert code == 0 and set(found) == {"data", "file", "postgres", "terraform"}
    assert (
        found["data"]["source"] == str(stack / "kv-plugin")
        and found["data"]["protocol"] == f"{PROTOCOL_MAJOR}.{PROTOCOL_MINOR}"
    )
    assert found["data"]["capabilities"] == ["read", "backup", "batch_read"]
    assert found["file"]["source"] == "built-in" and "file.file" in found["file"]["kinds"]
    code, out, _ = run(capsys, "plugin", "list", "-s", str(stack))
    assert code == 0 and out.splitlines()[0].split("\t")[:4] == ["PROVIDER", "SOURCE", "VERSION", "PROTOCOL"]
    assert running_plugins() == []


def test_each_api_run_stops_its_plugins(
    tmp_path: Path, ws: Workspace, monkeypatch: pytest.MonkeyPatch
) -> None:
    from fastapi.testclient import TestClient

    from driftgate.api.app import create_app
    from driftgate.services.tokens import create_token

    ws.settings.stacks_root = tmp_path
    plugin_stack(tmp_path)
    headers = {"Authorization": f"Bearer {create_token(ws, 'op', 'operator')}"}
    with TestClient(create_app(ws)) as client:
        planned = client.post("/api/v1/stacks/plan", json={"stack": "stack"}, headers=headers)
        assert planned.status_code == 200, planned.text
        assert planned.json()["plan"]["summary"]["create"] == 3
        assert running_plugins() == []  # the run ended: its plugin is stopped
        applied = client.post(
            "/api/v1/stacks/apply", json={"stack": "stack", "lane": "manual"}, headers=headers
        )
        assert applied.status_code == 200, applied.text
        assert applied.json()["full_success"] is True
        assert running_plugins() == []


def test_a_plugin_kind_s_sensitive_outputs_stay_hidden_in_output(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], store_env: str
) -> None:
    stack = tmp_path / "stack"
    stack.mkdir()
    serving(stack, "hiding-plugin", manifest_patch='doc["kinds"][0]["sensitive_outputs"] = ["id"]')
    write_stack(stack, modules={"app": data_values(1)}, providers={"data": {"plugin": "./hiding-plugin"}})
    code, _, err = run(capsys, "apply", "-s", str(stack), "--auto-approve")
    assert code == 0, err
    code, out, _ = run(capsys, "output", "-s", str(stack), "--json")
    shown = json.loads(out)["outputs"]["app/data.value.v0"]
    assert shown == {"id": "(sensitive)", "output": "x-0"}


def test_a_value_known_only_after_apply_crosses_the_wire_as_such(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], store_env: str
) -> None:
    stack = plugin_stack(tmp_path, count=1)
    module = stack / "modules" / "app.yaml"
    doc = yaml.safe_load(module.read_text())
    doc["resources"].append(
        {"type": "data.value", "name": "echo", "spec": {"input": "${data.value.v0.output}"}}
    )
    module.write_text(yaml.safe_dump(doc, sort_keys=False))
    assert run(capsys, "apply", "-s", str(stack), "--auto-approve")[0] == 0
    module.write_text(module.read_text().replace("x-0", "x-changed"))
    code, out, err = run(
        capsys, "plan", "-s", str(stack), "--json"
    )  # echo's input is unknown until v0 applies
    actions = {a["address"]: a for a in json.loads(out)["actions"]}
    assert code == codes.CHANGES, err
    assert actions["app/data.value.echo"]["action"] == "update"
    assert actions["app/data.value.echo"]["changes"][0]["new"] == "(known after apply)"
    assert run(capsys, "apply", "-s", str(stack), "--auto-approve")[0] == 0
