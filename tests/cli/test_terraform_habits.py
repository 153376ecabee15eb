"""Behaviour a Terraform user expects (issue 9, section 2), driven through the CLI."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from driftgate.cli import exitcodes as codes
from driftgate.testing.cli import run
from driftgate.testing.stacks import write_stack


def manual_db(d: Path) -> list[str]:
    """The manual lane for the stateful module ``db``, without a backup."""
    return ["apply", "-s", str(d), "--auto-approve", "--module", "db", "--allow-stateful", "--confirm", "db"]


def two_modules(tmp_path: Path, *, stateful: tuple[str, ...] = ()) -> Path:
    return write_stack(
        tmp_path / "stack",
        modules={
            "web": [{"type": "file.file", "name": "page", "spec": {"path": "index.html", "content": "hi"}}],
            "db": [
                {"type": "file.file", "name": "rows", "spec": {"path": "db/rows.txt", "content": "r1"}},
                {"type": "data.value", "name": "schema", "spec": {"input": {"v": 1}}},
            ],
        },
        stateful=stateful,
    )


def test_removing_a_stateless_module_destroys_it(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], store_env: str
) -> None:
    d = two_modules(tmp_path)
    assert run(capsys, "apply", "-s", str(d), "--auto-approve")[0] == codes.OK
    (d / "modules" / "db.yaml").unlink()
    for args in (["gate"], ["apply", "--dry-run"]):
        code, out, err = run(capsys, *args, "-s", str(d))
        assert code == codes.OK and "Traceback" not in out + err and "db" in out, (args, out, err)
    code, out, err = run(capsys, "apply", "-s", str(d), "--auto-approve")
    assert code == codes.OK, out + err
    assert "2 SUCCESS" in out and not (d / "live" / "db" / "rows.txt").exists()
    assert (d / "live" / "index.html").exists()
    assert run(capsys, "plan", "-s", str(d))[0] == codes.OK


def test_removing_a_stateful_module_is_a_stateful_change(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], store_env: str
) -> None:
    d = two_modules(tmp_path, stateful=("db",))
    manual = manual_db(d)
    assert run(capsys, *manual)[0] == codes.OK  # created: no backup needed, nothing existed
    assert run(capsys, "apply", "-s", str(d), "--auto-approve")[0] == codes.OK
    (d / "modules" / "db.yaml").unlink()

    code, out, _ = run(capsys, "plan", "-s", str(d))
    assert code == codes.CHANGES and "DATA LOSS RISK" in out and "db/file.file.rows" in out
    code, out, err = run(capsys, "apply", "-s", str(d), "--auto-approve", "--lane", "auto")
    assert code == codes.REFUSED and "held back: module 'db' deletes or replaces data-bearing db/" in err
    assert (d / "live" / "db" / "rows.txt").exists()
    code, _, err = run(capsys, "apply", "-s", str(d), "--auto-approve")
    assert code == codes.REFUSED and "--module db" in err and "--backup-ref" in err
    code, _, err = run(capsys, *manual)
    assert code == codes.REFUSED and "needs --backup-ref" in err and (d / "live" / "db" / "rows.txt").exists()

    code, out, _ = run(capsys, "backup", "create", "db", "-s", str(d), "--json")
    assert code == 0, out  # a module that is gone from the specs can still be backed up
    ref = json.loads(out)["ref"]
    code, out, err = run(capsys, *manual, "--backup-ref", ref)
    assert code == codes.OK, out + err
    assert not (d / "live" / "db" / "rows.txt").exists()
    assert run(capsys, "plan", "-s", str(d))[0] == codes.OK


def test_a_brand_new_stateful_module_needs_no_backup_but_the_rest_of_the_manual_lane(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], store_env: str
) -> None:
    d = two_modules(tmp_path, stateful=("db",))
    code, out, _ = run(capsys, "plan", "-s", str(d))
    assert "only creates: nothing exists yet, so no backup is needed" in out
    code, _, err = run(capsys, "apply", "-s", str(d), "--auto-approve", "--module", "db")
    assert code == codes.REFUSED and "--allow-stateful" in err and "--confirm db" in err
    assert "--backup-ref" not in err
    code, out, err = run(capsys, *manual_db(d))
    assert code == codes.OK, out + err
    assert (d / "live" / "db" / "rows.txt").read_text() == "r1"
    (d / "modules" / "db.yaml").write_text((d / "modules" / "db.yaml").read_text().replace("r1", "r2"))
    code, _, err = run(capsys, *manual_db(d))
    assert code == codes.REFUSED and "needs --backup-ref" in err  # now something exists to lose


def test_an_apply_with_nothing_to_do_says_no_changes_and_records_no_run(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], store_env: str
) -> None:
    d = two_modules(tmp_path)
    assert run(capsys, "apply", "-s", str(d), "--auto-approve")[0] == codes.OK
    code, out, _ = run(capsys, "runs", "list", "--json")
    before = len(json.loads(out)["runs"])
    for _ in range(2):
        code, out, _ = run(capsys, "apply", "-s", str(d), "--auto-approve")
        assert code == codes.OK and "No changes" in out and "Apply complete" not in out
    code, out, _ = run(capsys, "runs", "list", "--json")
    assert len(json.loads(out)["runs"]) == before


def test_a_failed_create_is_called_a_failure_not_an_interruption(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], store_env: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("DRIFTGATE_PROVIDER_PLUGINS", "driftgate.testing.chaos:ChaosProvider")
    d = write_stack(
        tmp_path / "stack",
        providers={"chaos": {"root": "live", "fail_on": ["bad"]}},
        modules={"m": [{"type": "chaos.file", "name": "bad", "spec": {"path": "bad.txt", "content": "x"}}]},
    )
    code, out, _ = run(capsys, "apply", "-s", str(d), "--auto-approve", "--json")
    assert code == codes.PARTIAL
    run_id = json.loads(out)["run_id"]
    code, out, _ = run(capsys, "plan", "-s", str(d), "--json")
    (action,) = json.loads(out)["actions"]
    assert action["action"] == "create"
    assert f"its last action failed in run {run_id}" in action["reason"]
    assert "interrupted" not in action["reason"]


def test_a_typo_is_reported_once_with_a_suggestion_and_hides_nothing(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    d = write_stack(
        tmp_path / "stack",
        modules={
            "m": [
                {"type": "file.file", "name": "a", "spec": {"path": "a.txt", "contnet": "x", "mode": 644}},
                {"type": "data.value", "name": "b", "dependson": ["file.file.a"], "spec": {"input": "y"}},
                {"type": "file.fiel", "name": "c", "spec": {"path": "c.txt"}},
                {
                    "type": "data.value",
                    "name": "d",
                    "spec": {"input": "${data.value.bb.output} ${file.file.a.sha256}"},
                },
            ]
        },
    )
    code, _, err = run(capsys, "validate", "-s", str(d))
    assert code == codes.ERROR
    assert "m/file.file.a.spec.contnet: unknown field (did you mean `content`?)" in err
    assert 'm/file.file.a.spec.mode: expected string, got int: quote it, e.g. "0644"' in err
    assert "resources[1].dependson: unknown field (did you mean `depends_on`?)" in err
    assert "unknown resource type 'file.fiel' (did you mean `file.file`?)" in err
    assert "reference to unknown resource m/data.value.bb (did you mean `m/data.value.b`?)" in err
    # the resource with a misspelt field is still a resource: no "unknown resource" for it
    assert "unknown resource m/data.value.b\n" not in err and "unknown resource m/file.file.a" not in err
    assert err.count("dependson") == 1


def test_plans_read_like_terraform_without_colour(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("NO_COLOR", "1")
    d = write_stack(
        tmp_path / "stack",
        modules={
            "m": [
                {"type": "data.value", "name": "greeting", "spec": {"input": "hi"}},
                {"type": "data.value", "name": "keep", "spec": {"input": "same"}},
                {"type": "data.value", "name": "gone", "spec": {"input": "x"}},
                {"type": "data.value", "name": "swap", "spec": {"input": "a", "triggers_replace": 1}},
            ]
        },
    )
    assert run(capsys, "apply", "-s", str(d), "--auto-approve")[0] == codes.OK
    write_stack(
        tmp_path / "stack",
        modules={
            "m": [
                {"type": "data.value", "name": "greeting", "spec": {"input": "hello"}},
                {"type": "data.value", "name": "keep", "spec": {"input": "same"}},
                {"type": "data.value", "name": "swap", "spec": {"input": "a", "triggers_replace": 2}},
                {"type": "data.value", "name": "new", "spec": {"input": "${data.value.greeting.output}!"}},
                {"type": "data.value", "name": "known", "spec": {"input": "${data.value.keep.output}!"}},
            ]
        },
    )
    code, out, _ = run(capsys, "plan", "-s", str(d))
    assert code == codes.CHANGES
    assert "\x1b[" not in out  # NO_COLOR: no escape codes
    for symbol in ("+ create", "~ update", "-/+ replace", "- delete"):
        assert symbol in out, (symbol, out)
    assert "input: (known after apply)" in out  # depends on an output this plan changes
    assert "input: same!" in out  # depends on one that does not change: the value is known
    assert out.rstrip().endswith("Plan: 3 to add, 1 to change, 2 to destroy.")


def test_cli_conventions_help_version_colour_and_completion(capsys: pytest.CaptureFixture[str]) -> None:
    import os
    import subprocess
    import sys

    from driftgate import __version__

    for args in (["-h"], ["plan", "-h"], ["apply", "-h"], ["state", "-h"], ["state", "move-stack", "-h"]):
        code, out, _ = run(capsys, *args)
        assert code == codes.OK and "Usage: " in out and "--help" in out, args
        assert "<bool>" not in out, args  # a flag takes no value
    assert run(capsys, "--version")[:2] == (codes.OK, f"{__version__}\n")
    assert run(capsys, "--no-color", "version")[0] == codes.OK
    code, out, _ = run(capsys, "completion", "bash")
    assert code == codes.OK and "_DRIFTGATE_COMPLETE" in out and "complete " in out
    assert run(capsys, "completion", "tcsh")[0] == codes.USAGE
    exe = [str(Path(sys.executable).parent / "driftgate")]  # the console script a shell calls
    env = {
        **os.environ,
        "_DRIFTGATE_COMPLETE": "complete_bash",
        "COMP_WORDS": "driftgate state mo",
        "COMP_CWORD": "2",
    }
    answer = subprocess.run(exe, env=env, capture_output=True, text=True, timeout=60, check=False)
    assert "move-stack" in answer.stdout, answer.stdout + answer.stderr


def test_piped_listings_are_never_cut(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    long_name = "a-resource-whose-name-is-much-longer-than-any-terminal-column-would-allow-" + "x" * 40
    d = write_stack(tmp_path / "stack", modules={"m": [{"type": "data.value", "name": long_name}]})
    code, out, _ = run(capsys, "apply", "-s", str(d), "--auto-approve", "--json")
    run_id = json.loads(out)["run_id"]
    code, out, _ = run(capsys, "state", "list", "-s", str(d))
    assert out == f"m/data.value.{long_name}\n"  # one full address per line, like terraform state list
    code, out, _ = run(capsys, "runs", "list")
    header, first = out.splitlines()[:2]
    assert header.split("\t")[0] == "run" and first.split("\t")[0] == run_id and "…" not in out


def test_state_show_and_output_print_data_not_python(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    d = write_stack(
        tmp_path / "stack",
        modules={
            "m": [{"type": "data.value", "name": "cfg", "spec": {"input": {"replicas": 3, "on": True}}}]
        },
    )
    assert run(capsys, "apply", "-s", str(d), "--auto-approve")[0] == codes.OK
    code, out, _ = run(capsys, "state", "show", "m/data.value.cfg", "-s", str(d))
    assert code == codes.OK
    assert "input:\n    replicas: 3\n    'on': true" in out and "True" not in out and "{'" not in out
    code, out, _ = run(capsys, "output", "m/data.value.cfg", "-s", str(d), "--json")
    assert code == codes.OK and json.loads(out)["outputs"]["m/data.value.cfg"]["output"] == {
        "replicas": 3,
        "on": True,
    }
    code, out, _ = run(capsys, "output", "-s", str(d))
    assert code == codes.OK and out.startswith("m/data.value.cfg:\n  output:\n    replicas: 3\n")
    code, _, err = run(capsys, "output", "m/data.value.nope", "-s", str(d))
    assert code == codes.ERROR and "no recorded state for m/data.value.nope" in err


def test_piped_ledgers_are_plain_lines_and_terminal_ones_are_cut_with_a_note(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    from driftgate.cli.common import out as console

    d = write_stack(
        tmp_path / "stack", modules={"m": [{"type": "data.value", "name": f"v{i}"} for i in range(250)]}
    )
    code, out, _ = run(capsys, "apply", "-s", str(d), "--auto-approve", "--json")
    run_id = json.loads(out)["run_id"]
    code, out, _ = run(capsys, "runs", "show", run_id)
    lines = out.splitlines()
    assert lines[1].split("\t") == ["#", "address", "action", "status", "ms", "error"]
    assert len(lines) == 2 + 250 and all(line.split("\t")[3] == "SUCCESS" for line in lines[2:])
    monkeypatch.setattr(type(console), "is_terminal", property(lambda _self: True))
    code, out, _ = run(capsys, "runs", "show", run_id)
    assert "50 more actions not shown (use --full, pipe it, or --json)" in out


def test_plan_module_targets_like_terraform_and_a_targeted_apply_does_not_commit_back(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    from driftgate.testing.gitrepos import make_remote

    remote = make_remote(tmp_path)
    d = write_stack(
        tmp_path / "stack",
        modules={
            "base": [{"type": "data.value", "name": "greeting", "spec": {"input": "hi"}}],
            "web": [
                {
                    "type": "data.value",
                    "name": "page",
                    "spec": {"input": "${base/data.value.greeting.output}!"},
                }
            ],
            "other": [{"type": "data.value", "name": "x", "spec": {"input": 1}}],
        },
    )
    (d / "stack.yaml").write_text(
        (d / "stack.yaml").read_text() + f"commit_back:\n  remote: {remote.url}\n  branch: main\n  path: s\n"
    )
    plan_file = tmp_path / "web.plan"
    code, out, err = run(capsys, "plan", "-s", str(d), "--module", "web", "--out", str(plan_file))
    assert code == codes.CHANGES and "this plan covers only the module(s) named with --module" in err
    assert "base/data.value.greeting" in out and "web/data.value.page" in out  # with what it depends on
    assert "other/data.value.x" not in out
    code, out, err = run(capsys, "apply", str(plan_file), "-s", str(d), "--json")
    assert code == codes.OK, out + err
    assert json.loads(out)["commit_back"]["reason"] == "partial-scope"
    assert remote.log() == ["seed"]  # nothing committed for a partial apply
    code, out, _ = run(capsys, "plan", "-s", str(d))
    assert code == codes.CHANGES and "other/data.value.x" in out and "web/data.value.page" not in out
    code, _, err = run(capsys, "plan", "-s", str(d), "--module", "nope")
    assert code == codes.ERROR and "has no module 'nope'" in err


def test_reconcile_without_a_remote_says_what_to_do_for_where_the_stack_is(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code, _, _ = run(capsys, "init", str(tmp_path / "infra"))  # a git repository without a remote
    d = tmp_path / "infra"
    assert run(capsys, "apply", "-s", str(d), "--auto-approve", "--no-commit-back")[0] == codes.OK
    (d / "live" / "site" / "index.html").write_text("edited by hand")
    code, out, err = run(capsys, "reconcile", "-s", str(d))
    assert code == codes.DIVERGED
    assert f"the repository at {d} has no remote 'origin'" in out + err
    assert "git -C" in out + err and "run inside the config repo" not in out + err

    loose = write_stack(
        tmp_path / "loose",
        modules={"m": [{"type": "file.file", "name": "f", "spec": {"path": "f", "content": "x"}}]},
    )
    assert run(capsys, "apply", "-s", str(loose), "--auto-approve", "--no-commit-back")[0] == codes.OK
    (loose / "live" / "f").write_text("y")
    code, out, err = run(capsys, "reconcile", "-s", str(loose))
    assert code == codes.DIVERGED and "is not in a git repository" in out + err


def test_a_plan_lists_modules_in_stack_order_then_resources_in_file_order(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], store_env: str
) -> None:
    """Dependencies run first, but the plan reads in the order the specs are written."""
    d = write_stack(
        tmp_path / "stack",
        modules={
            "a_web": [
                {
                    "type": "file.file",
                    "name": "page",
                    "spec": {"path": "p.txt", "content": "${data.value.cfg.output}"},
                },
                {"type": "data.value", "name": "cfg", "spec": {"input": "${b_db/data.value.dsn.output}"}},
            ],
            "b_db": [{"type": "data.value", "name": "dsn", "spec": {"input": "db://x"}}],
        },
    )
    expected = ["a_web/file.file.page", "a_web/data.value.cfg", "b_db/data.value.dsn"]
    code, out, _ = run(capsys, "plan", "-s", str(d), "--json")
    assert [a["address"] for a in json.loads(out)["actions"]] == expected
    code, out, _ = run(capsys, "plan", "-s", str(d))
    assert [out.index(address) for address in expected] == sorted(out.index(a) for a in expected)
    assert out.index("module a_web") < out.index("module b_db")
    code, out, _ = run(capsys, "apply", "-s", str(d), "--auto-approve")
    assert code == codes.OK
    assert (d / "live" / "p.txt").read_text() == "db://x"  # dependencies still ran first
    (d / "modules" / "b_db.yaml").unlink()
    (d / "modules" / "a_web.yaml").write_text(
        (d / "modules" / "a_web.yaml").read_text().replace("${b_db/data.value.dsn.output}", "fixed")
    )
    code, out, _ = run(capsys, "plan", "-s", str(d), "--json")
    actions = [(a["address"], a["action"]) for a in json.loads(out)["actions"] if a["action"] != "noop"]
    assert actions[-1] == ("b_db/data.value.dsn", "delete")  # a removed module's deletes come last


def test_a_piped_plan_is_plain_text_and_a_terminal_one_is_tables(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    from driftgate.cli.common import out as console

    long_value = "v" * 100
    d = write_stack(
        tmp_path / "stack",
        modules={
            "db": [{"type": "data.value", "name": "schema", "spec": {"input": long_value}}],
            "web": [{"type": "data.value", "name": f"p{i}", "spec": {"input": i}} for i in range(250)],
        },
        stateful=["db"],
    )
    code, out, _ = run(capsys, "plan", "-s", str(d))
    lines = out.splitlines()
    assert code == codes.CHANGES and "\x1b[" not in out and "│" not in out  # no colour, no table
    assert lines[:3] == [
        "module db (stateful) only creates: nothing exists yet, so no backup is needed",
        "  + create db/data.value.schema",
        f"      input: {'v' * 59}…",
    ]
    assert "… 51 more changes not shown (use --full, or --json)." in lines
    assert lines[-1] == "Plan: 251 to add, 0 to change, 0 to destroy."
    code, out, _ = run(capsys, "plan", "-s", str(d), "--full")
    assert f"      input: {long_value}" in out.splitlines() and "more changes not shown" not in out
    assert out.count("  + create web/data.value.p") == 250

    monkeypatch.setattr(type(console), "is_terminal", property(lambda _self: True))
    code, out, _ = run(capsys, "plan", "-s", str(d))
    assert code == codes.CHANGES and "module db (stateful)" in out and "│" in out  # rich's tables
    assert "+ create" in out and "… 51 more changes not shown" in out
    assert "Plan: 251 to add, 0 to change, 0 to destroy." in out
