"""A stack with a Terraform root, as a user runs it: each Terraform resource change an action of
its own in the plan and the ledger, outputs referenced by other resources, a failure giving a
partial ledger, secrets nowhere driftgate writes."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from driftgate.cli import exitcodes as codes
from driftgate.testing.cli import run
from driftgate.testing.stacks import write_stack
from tests.providers.terraform.conftest import write_root
from tests.providers.terraform.test_runner import PASSWORD, ROOT

NET = "net/terraform.root.network"


def tf_stack(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, terraform: str, greeting: str) -> Path:
    monkeypatch.setenv("DRIFTGATE_SECRET_DB_PW", PASSWORD)
    monkeypatch.setenv("DRIFTGATE_SECRET_ENV_ALLOW", "DRIFTGATE_SECRET_DB_PW")
    root = {
        "type": "terraform.root",
        "name": "network",
        "spec": {
            "dir": "terraform/network",
            "vars": {"greeting": greeting, "db_password": "secret://env/DRIFTGATE_SECRET_DB_PW"},
        },
    }
    reader = {
        "type": "data.value",
        "name": "reader",
        "spec": {"input": "${net/terraform.root.network.output.a_out}"},
        "depends_on": [NET],
    }
    stack = write_stack(
        tmp_path / "stack",
        name="tf",
        modules={"net": [root], "app": [reader]},
        providers={"terraform": {"binary": terraform}, "data": {}},
    )
    write_root(stack / "terraform" / "network", ROOT)
    return stack


def test_each_terraform_change_is_an_action_and_outputs_flow_on(
    tmp_path: Path,
    terraform: str,
    capsys: pytest.CaptureFixture[str],
    store_env: str,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    stack = tf_stack(tmp_path, monkeypatch, terraform, "hello")
    code, out, err = run(capsys, "plan", "-s", str(stack), "--json")
    assert code == codes.CHANGES, out + err
    actions = {a["address"]: a["action"] for a in json.loads(out)["actions"]}
    assert actions == {
        NET: "create",
        f"{NET}[terraform_data.a]": "create",
        f"{NET}[terraform_data.b]": "create",
        f"{NET}[terraform_data.c]": "create",
        f"{NET}[terraform_data.secret]": "create",
        "app/data.value.reader": "create",
    }
    assert PASSWORD not in out
    code, out, err = run(capsys, "apply", "-s", str(stack), "--auto-approve", "--json")
    assert code == 0, out + err
    result = json.loads(out)["result"]
    assert result["full_success"] and result["action_count"] == 6
    assert PASSWORD not in out + err
    code, out, _ = run(capsys, "state", "list", "-s", str(stack), "--json")
    assert PASSWORD not in out
    code, out, _ = run(capsys, "plan", "-s", str(stack), "--json")
    assert code == 0, out  # in sync: Terraform plans no change
    state = json.loads(run(capsys, "state", "show", "app/data.value.reader", "-s", str(stack), "--json")[1])
    assert state["outputs"]["output"] == "hello"  # the root's output, referenced


def test_a_failing_terraform_resource_gives_a_partial_ledger(
    tmp_path: Path,
    terraform: str,
    capsys: pytest.CaptureFixture[str],
    store_env: str,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    stack = tf_stack(tmp_path, monkeypatch, terraform, "fail")
    code, out, err = run(capsys, "apply", "-s", str(stack), "--auto-approve", "--json", "--module", "net")
    result = json.loads(out)["result"]
    assert code != 0 and not result["full_success"], out + err
    outcomes = {a["address"]: (a["status"], a["attempted"]) for a in result["actions"]}
    assert outcomes == {
        NET: ("ERROR", True),
        f"{NET}[terraform_data.a]": ("SUCCESS", True),
        f"{NET}[terraform_data.b]": ("ERROR", True),
        f"{NET}[terraform_data.c]": ("ERROR", False),
        f"{NET}[terraform_data.secret]": ("SUCCESS", True),
    }
    assert PASSWORD not in out + err
    code, out, _ = run(capsys, "plan", "-s", str(stack), "--json", "--module", "net")
    actions = {a["address"]: a["action"] for a in json.loads(out)["actions"]}
    assert actions[f"{NET}[terraform_data.a]"] == "noop" and actions[f"{NET}[terraform_data.c]"] == "create"
