"""The CLI as a user drives it: exit codes, messages, --json."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from driftgate.cli import exitcodes as codes
from driftgate.testing.cli import run


@pytest.fixture
def repo(tmp_path: Path, capsys: pytest.CaptureFixture[str], store_env: str) -> Path:
    code, out, _ = run(capsys, "init", str(tmp_path / "infra"))
    assert code == 0 and "stack.yaml" in out
    return tmp_path / "infra"


def test_init_validate_plan_apply_cycle(repo: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert (repo / ".git").is_dir()
    code, out, _ = run(capsys, "validate", "-s", str(repo))
    assert code == 0 and "4 resources" in out

    code, out, _ = run(capsys, "plan", "-s", str(repo))
    assert code == codes.CHANGES
    assert "Plan: 4 to add, 0 to change, 0 to destroy." in out and "app/file.file.index" in out

    code, out, _ = run(capsys, "plan", "-s", str(repo), "--json")
    data = json.loads(out)
    assert code == 2 and data["summary"]["create"] == 4 and data["format"] == "driftgate-plan/v1"

    code, out, _ = run(capsys, "apply", "-s", str(repo), "--auto-approve")
    assert code == 0 and "Apply complete. 4 changes: 4 SUCCESS" in out  # issue 23: changes, not no-ops

    code, out, _ = run(capsys, "plan", "-s", str(repo))
    assert code == codes.OK and "No changes" in out


def test_apply_json_and_runs_and_state(repo: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run(capsys, "apply", "-s", str(repo), "--auto-approve", "--json")
    data = json.loads(out)
    assert code == 0 and data["result"]["full_success"] and data["result"]["action_count"] == 4
    run_id = data["run_id"]

    code, out, _ = run(capsys, "runs", "list", "--json")
    assert code == 0 and json.loads(out)["runs"][0]["id"] == run_id
    code, out, _ = run(capsys, "runs", "show", run_id[:8], "--json")
    ledger = json.loads(out)["ledger"]
    assert [e["status"] for e in ledger] == ["SUCCESS"] * 4
    code, out, _ = run(capsys, "runs", "show", run_id)
    assert code == 0 and "app/file.file.index" in out

    code, out, _ = run(capsys, "state", "list", "-s", str(repo), "--json")
    assert {r["address"] for r in json.loads(out)["resources"]} >= {"app/file.file.index"}
    code, out, _ = run(capsys, "state", "show", "app/data.value.greeting", "-s", str(repo), "--json")
    assert json.loads(out)["outputs"]["output"] == "hello from driftgate"
    code, _, err = run(capsys, "state", "show", "app/nope.x.y", "-s", str(repo))
    assert code == codes.ERROR and "no recorded state" in err


def test_saved_plan_file_and_stale_plan_exit_code(
    repo: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    plan_file = tmp_path / "plan.json"
    code, _, _ = run(capsys, "plan", "-s", str(repo), "--out", str(plan_file))
    assert code == 2 and plan_file.exists()
    app = repo / "modules/app.yaml"
    app.write_text(app.read_text().replace("hello from driftgate", "changed"))
    code, _, err = run(capsys, "apply", str(plan_file), "-s", str(repo))
    assert code == codes.STALE_PLAN and "specs changed" in err

    code, _, _ = run(capsys, "plan", "-s", str(repo), "--out", str(plan_file))
    code, out, _ = run(capsys, "apply", str(plan_file), "-s", str(repo))
    assert code == 0 and "Apply complete" in out


def test_validate_reports_every_problem_and_exits_1(repo: Path, capsys: pytest.CaptureFixture[str]) -> None:
    (repo / "modules/bad.yaml").write_text(
        "apiVersion: driftgate/v1\nkind: Module\nname: bad\nresources:\n"
        "  - type: file.file\n    name: x\n    spec: {path: /etc/passwd, colour: red}\n"
    )
    code, _, err = run(capsys, "validate", "-s", str(repo))
    assert code == 1
    assert "modules/bad.yaml:7: bad/file.file.x.spec.colour: unknown field" in err
    assert "modules/bad.yaml:7: bad/file.file.x.spec.path: unsafe path '/etc/passwd'" in err
    assert "2 problem(s) found" in err
    code, out, _ = run(capsys, "validate", "-s", str(repo), "--json")
    assert code == 1 and len(json.loads(out)["diagnostics"]) == 2
    code, _, _ = run(capsys, "plan", "-s", str(repo))
    assert code == 1


def test_apply_without_a_terminal_needs_auto_approve(repo: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, _, err = run(capsys, "apply", "-s", str(repo))
    assert code == codes.ERROR and "--auto-approve" in err
    code, out, _ = run(capsys, "runs", "list", "--json")
    assert json.loads(out)["runs"] == []


def test_partial_apply_exit_code(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("DRIFTGATE_PROVIDER_PLUGINS", "driftgate.testing.chaos:ChaosProvider")
    stack = tmp_path / "s"
    stack.mkdir()
    (stack / "stack.yaml").write_text(
        "apiVersion: driftgate/v1\nkind: Stack\nname: s\nproviders:\n  chaos: {root: live, fail_on: [bad]}\n"
    )
    (stack / "modules").mkdir()
    (stack / "modules/m.yaml").write_text(
        "apiVersion: driftgate/v1\nkind: Module\nname: m\nresources:\n"
        "  - {type: chaos.file, name: good, spec: {path: good}}\n"
        "  - {type: chaos.file, name: bad, spec: {path: bad}}\n"
    )
    code, out, _ = run(capsys, "apply", "-s", str(stack), "--auto-approve")
    assert code == codes.PARTIAL
    assert "Apply incomplete" in out and "injected failure for bad" in out


def test_usage_errors_and_missing_stack(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, _, err = run(capsys, "plan", "--no-such-flag")
    assert code == codes.USAGE and "usage error" in err
    code, _, err = run(capsys, "plan", "-s", str(tmp_path / "nowhere"))
    # issue 23, item 16: the missing path is named, not a bare "stack.yaml"
    assert code == codes.ERROR and f"{tmp_path / 'nowhere'}: directory: no such directory" in err
    code, _, err = run(capsys, "validate", "-s", str(tmp_path))
    assert code == codes.ERROR and f"{tmp_path}: directory: no stack.yaml in this directory" in err
    code, _, err = run(capsys, "init", str(tmp_path / "x"))
    code, _, err = run(capsys, "init", str(tmp_path / "x"))
    assert code == codes.ERROR and "not empty" in err


def test_lock_commands(repo: Path, capsys: pytest.CaptureFixture[str]) -> None:
    run(capsys, "plan", "-s", str(repo))
    code, out, _ = run(capsys, "lock", "status", "-s", str(repo))
    assert code == 0 and "not locked" in out
    code, _, err = run(capsys, "lock", "break", "infra")
    assert code == codes.ERROR and "not locked" in err


def test_home_flag_selects_the_store(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    run(capsys, "init", str(tmp_path / "infra"))
    home = tmp_path / "elsewhere"
    code, _, _ = run(capsys, "--home", str(home), "apply", "-s", str(tmp_path / "infra"), "--auto-approve")
    assert code == 0 and (home / "driftgate.db").exists()


def test_runs_list_inside_a_stack_lists_that_stacks_runs(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    """Issue 23, item 10: inside a stack's directory, ``runs list`` listed every stack's runs."""
    from driftgate.testing.stacks import data_values, write_stack

    one = write_stack(tmp_path / "one", name="one", modules={"app": data_values(1)})
    two = write_stack(tmp_path / "two", name="two", modules={"app": data_values(1)})
    for stack in (one, two):
        assert run(capsys, "apply", "-s", str(stack), "--auto-approve")[0] == 0
    monkeypatch.chdir(one)
    code, out, _ = run(capsys, "runs", "list", "--json")
    assert code == 0 and {r["stack"] for r in json.loads(out)["runs"]} == {"one"}
    code, out, _ = run(capsys, "runs", "list", "--all", "--json")
    assert {r["stack"] for r in json.loads(out)["runs"]} == {"one", "two"}
    monkeypatch.chdir(tmp_path)  # outside any stack: every stack's, as before
    code, out, _ = run(capsys, "runs", "list", "--json")
    assert {r["stack"] for r in json.loads(out)["runs"]} == {"one", "two"}


@pytest.mark.parametrize("flag", ["--help", "-h"])
def test_plugin_serve_help_is_help(flag: str) -> None:
    """Issue 23, item 15: ``plugin serve --help`` took --help for a provider's name and exited 64."""
    import subprocess

    from driftgate.testing.cli import DRIFTGATE

    done = subprocess.run([DRIFTGATE, "plugin", "serve", flag], capture_output=True, text=True, timeout=60)
    assert done.returncode == 0 and "Usage: driftgate plugin serve" in done.stdout, done.stderr


def test_a_wrong_type_says_what_the_field_wants(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """Issue 23, item 16: ``stateful: Input should be a valid boolean`` (pydantic's words)."""
    from driftgate.testing.stacks import data_values, write_stack

    stack = write_stack(tmp_path / "s", modules={"app": data_values(1)})
    module = stack / "modules" / "app.yaml"
    module.write_text(module.read_text().replace("stateful: false", "stateful: maybe"))
    code, _, err = run(capsys, "validate", "-s", str(stack))
    assert code == codes.ERROR and "stateful: expected true or false, got 'maybe'" in err, err
    assert "Input should be" not in err


def test_an_unknown_option_guesses_only_close_names(capsys: pytest.CaptureFixture[str]) -> None:
    """Issue 23, item 16: ``plan --bogus`` suggested ``--out``."""
    code, _, err = run(capsys, "plan", "--bogus")
    assert code == codes.USAGE and "No such option: --bogus" in err and "--out" not in err
    code, _, err = run(capsys, "apply", "--auto-aprove")
    assert code == codes.USAGE and "did you mean --auto-approve?" in err


def test_a_reference_typo_never_suggests_the_resource_itself(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """Issue 23, item 16: a typo in a reference suggested the resource's own address."""
    from driftgate.testing.stacks import write_stack

    page = {
        "type": "file.file",
        "name": "index",
        "spec": {"path": "i.html", "content": "${file.file.indx.size}"},
    }
    stack = write_stack(tmp_path / "s", modules={"app": [page]})
    code, _, err = run(capsys, "validate", "-s", str(stack))
    assert code == codes.ERROR and "reference to unknown resource app/file.file.indx" in err
    assert "did you mean `app/file.file.index`" not in err


def test_a_stack_command_outside_a_stack_names_the_place(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    """``state list`` outside a stack said ``stack.yaml: [Errno 2] …`` with code INTERNAL."""
    monkeypatch.chdir(tmp_path)
    code, out, _ = run(capsys, "state", "list", "--json")
    (diagnostic,) = json.loads(out)["diagnostics"]
    assert code == codes.BY_CODE["NOT_FOUND"] and diagnostic["code"] == "NOT_FOUND"
    assert diagnostic["summary"].startswith(f"{tmp_path}: no stack.yaml here")
