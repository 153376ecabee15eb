"""Regression tests for the adversarial review (issue 8), driven through the CLI as a user would."""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy
import sqlalchemy.pool

from driftgate.cli import exitcodes as codes
from driftgate.providers.data import DataProvider
from driftgate.spec.schema import KindSchema
from driftgate.testing.cli import run
from driftgate.testing.stacks import write_stack
from tests.cli.test_json_contract import fits

# -- 18: init --name -------------------------------------------------------------


@pytest.mark.parametrize("name", ["../../etc", "a\napiVersion: x", "", "-flag", "x" * 65, "a b"])
def test_init_refuses_an_invalid_name_and_writes_nothing(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], name: str
) -> None:
    code, _, err = run(capsys, "init", str(tmp_path / "repo"), "--name", name)
    assert code == codes.ERROR and "invalid stack name" in err
    assert not (tmp_path / "repo").exists() and not (tmp_path / "etc").exists()
    assert "Traceback" not in err


def test_init_default_name_comes_from_the_directory(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code, out, _ = run(capsys, "init", str(tmp_path / "payments infra"))
    assert code == 0 and "'payments-infra'" in out
    assert "name: payments-infra\n" in (tmp_path / "payments infra" / "stack.yaml").read_text()


# -- 9: a module file that is a symlink out of the stack -----------------------------


def test_module_symlink_out_of_the_stack_is_refused(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    stack = write_stack(tmp_path / "stack", modules={"app": [{"type": "data.value", "name": "a"}]})
    outside = tmp_path / "outside.yaml"
    outside.write_text(
        "apiVersion: driftgate/v1\nkind: Module\nname: stolen\nresources:\n"
        "  - {type: data.value, name: s, spec: {input: outside-secret}}\n"
    )
    os.symlink(outside, stack / "modules" / "stolen.yaml")
    code, _, err = run(capsys, "validate", "-s", str(stack))
    assert code == codes.ERROR
    assert "stack.yaml:" in err and "modules/stolen.yaml resolves outside the stack" in err
    code, _, err = run(capsys, "apply", "-s", str(stack), "--auto-approve", "--no-commit-back")
    assert code == codes.ERROR and "resolves outside the stack" in err


# -- 16, 17, 15: duplicate keys, non-finite numbers, deep nesting in a module --------------


MODULE_HEAD = "apiVersion: driftgate/v1\nkind: Module\nname: app\nresources:\n"


@pytest.mark.parametrize(
    ("body", "message"),
    [
        (
            "  - type: data.value\n    name: a\n    spec:\n      input: reviewed\n      input: applied\n",
            "modules/app.yaml:9: yaml: duplicate key 'input'",
        ),
        (
            "  - type: data.value\n    name: a\n    spec:\n      input: .nan\n",
            "modules/app.yaml:8: yaml: non-finite",
        ),
        (
            "  - type: data.value\n    name: a\n    spec:\n      input: " + "[" * 600 + "]" * 600 + "\n",
            "modules/app.yaml:8: yaml: nested more than 64 levels deep",
        ),
    ],
)
def test_module_inputs_out_of_bounds_are_refused_with_file_and_line(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], body: str, message: str
) -> None:
    stack = write_stack(tmp_path / "stack", modules={})
    (stack / "modules" / "app.yaml").write_text(MODULE_HEAD + body)
    for command in ("validate", "plan", "apply"):
        code, _, err = run(
            capsys, command, "-s", str(stack), *(["--auto-approve"] if command == "apply" else [])
        )
        assert code == codes.ERROR and message in err, (command, err)
        assert "Traceback" not in err


def test_spec_file_size_limit_is_checked_before_reading(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    stack = write_stack(tmp_path / "stack", modules={})
    with (stack / "modules" / "huge.yaml").open("wb") as handle:
        handle.truncate(3 * 1024**3)
    monkeypatch.setenv("DRIFTGATE_MAX_SPEC_FILE_BYTES", "65536")
    code, _, err = run(capsys, "validate", "-s", str(stack))
    assert (
        code == codes.ERROR and "modules/huge.yaml: file: file is larger than the limit of 65536 bytes" in err
    )


# -- 20: a saved plan is bound to all of its content ---------------------------------------


def test_a_modified_plan_file_is_refused_and_nothing_is_written(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], store_env: str
) -> None:
    stack = write_stack(
        tmp_path / "stack",
        modules={"m": [{"type": "file.file", "name": "a", "spec": {"path": "a.txt", "content": "reviewed"}}]},
    )
    plan_file = tmp_path / "plan.json"
    code, _, _ = run(capsys, "plan", "-s", str(stack), "--out", str(plan_file))
    assert code == codes.CHANGES
    raw = json.loads(plan_file.read_text())
    assert raw["signature"]
    raw["actions"][0]["desired"]["path"] = "evil.txt"
    raw["actions"][0]["desired"]["content"] = "never reviewed"
    tampered = tmp_path / "tampered.json"
    tampered.write_text(json.dumps(raw))
    code, _, err = run(capsys, "apply", str(tampered), "-s", str(stack))
    assert code == codes.STALE_PLAN and "was modified after it was made" in err
    assert not (stack / "live").exists()

    unsigned = dict(raw)
    del unsigned["signature"]
    tampered.write_text(json.dumps(unsigned))
    code, _, err = run(capsys, "apply", str(tampered), "-s", str(stack))
    assert code == codes.STALE_PLAN and not (stack / "live").exists()

    code, _, err = run(capsys, "apply", str(plan_file), "-s", str(stack), "--no-commit-back")
    assert code == codes.OK, err
    assert (stack / "live" / "a.txt").read_text() == "reviewed" and not (stack / "live" / "evil.txt").exists()


def test_a_plan_file_from_another_home_is_refused(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    stack = write_stack(tmp_path / "stack", modules={"m": [{"type": "data.value", "name": "a"}]})
    plan_file = tmp_path / "plan.json"
    run(capsys, "--home", str(tmp_path / "home-a"), "plan", "-s", str(stack), "--out", str(plan_file))
    code, _, err = run(capsys, "--home", str(tmp_path / "home-b"), "apply", str(plan_file), "-s", str(stack))
    assert code == codes.STALE_PLAN and "another driftgate home" in err


def test_a_deep_or_non_finite_plan_file_is_refused_in_one_line(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    stack = write_stack(tmp_path / "stack", modules={"m": [{"type": "data.value", "name": "a"}]})
    deep = tmp_path / "deep.json"
    deep.write_text('{"format": "driftgate-plan/v1", "x": ' + "[" * 5000 + "]" * 5000 + "}")
    code, _, err = run(capsys, "apply", str(deep), "-s", str(stack))
    assert code == codes.ERROR and "nested more than 64 levels deep" in err and len(err.splitlines()) == 1
    nan = tmp_path / "nan.json"
    nan.write_text('{"format": "driftgate-plan/v1", "x": NaN}')
    code, _, err = run(capsys, "apply", str(nan), "-s", str(stack))
    assert code == codes.ERROR and "non-finite number NaN" in err


# -- 23: store errors --------------------------------------------------------------------------


def test_an_unreachable_postgresql_is_one_line(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    stack = write_stack(tmp_path / "stack", modules={"m": [{"type": "data.value", "name": "a"}]})
    monkeypatch.setenv("DRIFTGATE_DATABASE_URL", "postgresql://postgres@127.0.0.1:1/nowhere")
    for args in (["plan"], ["apply", "--auto-approve"], ["runs", "list"]):
        code, _, err = run(capsys, *args, "-s", str(stack)) if args[0] != "runs" else run(capsys, *args)
        assert code == codes.ERROR, err
        assert err.startswith("error: the store did not answer") and len(err.strip().splitlines()) == 1, err
        assert "Traceback" not in err


READ_ONLY = {"on": False}


@sqlalchemy.event.listens_for(sqlalchemy.pool.Pool, "checkout")
def _store_turns_read_only(dbapi_connection: Any, _record: Any, _proxy: Any) -> None:
    """A real SQLite that refuses every write from some moment on, as a full disk does."""
    if READ_ONLY["on"] and type(dbapi_connection).__module__ == "sqlite3":
        dbapi_connection.execute("PRAGMA query_only = 1")


class DiskFills(DataProvider):
    """The data provider; the store stops accepting writes once the first value is created."""

    name = "diskfills"
    KINDS = tuple(
        KindSchema(type="diskfills.value", attributes=k.attributes, outputs=k.outputs)
        for k in DataProvider.KINDS
    )

    def create(self, type_: str, name: str, attributes: Any) -> dict[str, Any]:
        READ_ONLY["on"] = True
        return super().create(type_, name, attributes)


def test_a_store_that_stops_writing_mid_apply_is_one_line_and_the_lock_says_who_held_it(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("DRIFTGATE_PROVIDER_PLUGINS", "tests.cli.test_hardening:DiskFills")
    stack = write_stack(
        tmp_path / "stack",
        providers={"diskfills": {}},
        modules={"m": [{"type": "diskfills.value", "name": f"v{i}", "spec": {"input": i}} for i in range(5)]},
    )
    try:
        code, out, err = run(capsys, "apply", "-s", str(stack), "--auto-approve", "--no-commit-back")
    finally:
        READ_ONLY["on"] = False
    assert code != codes.OK
    assert "Traceback" not in out + err
    assert (
        err.startswith("error: the store did not answer or could not write")
        and len(err.strip().splitlines()) == 1
    ), err
    code, out, _ = run(capsys, "lock", "status", "-s", str(stack))
    assert code == 0
    assert f"pid {os.getpid()}" in out  # the lock names its holder, so a later run can tell it is dead
    code, _, err = run(capsys, "lock", "break", "test", "--force")
    assert code == 0, err


# -- 19: one stack name, one place ---------------------------------------------------------------


def test_two_directories_with_one_stack_name_never_share_state(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], store_env: str
) -> None:
    first = write_stack(
        tmp_path / "team-a",
        name="infra",
        modules={"m": [{"type": "file.file", "name": "a", "spec": {"path": "a.txt", "content": "team a"}}]},
    )
    second = write_stack(
        tmp_path / "team-b",
        name="infra",
        modules={"m": [{"type": "file.file", "name": "b", "spec": {"path": "b.txt", "content": "team b"}}]},
    )
    code, _, err = run(capsys, "apply", "-s", str(first), "--auto-approve")
    assert code == codes.OK, err
    for args in (["plan"], ["apply", "--auto-approve"], ["drift"]):
        code, out, err = run(capsys, *args, "-s", str(second))
        assert code == codes.ELSEWHERE, (args, out, err)
        assert f"is bound to file://{first.resolve()}#." in err and f"file://{second.resolve()}#." in err
        assert len(err.strip().splitlines()) == 1
    assert (first / "live" / "a.txt").read_text() == "team a"  # nothing of team a's was deleted
    assert not (second / "live").exists()

    code, out, _ = run(capsys, "state", "move-stack", "--to", str(second), "--json")
    assert code == 0
    moved = json.loads(out)
    fits("state_move", moved)
    assert moved["from"] == f"file://{first.resolve()}#." and moved["to"] == f"file://{second.resolve()}#."
    code, out, _ = run(capsys, "runs", "list", "--json")
    assert any(r["kind"] == "move-stack" and r["id"] == moved["run_id"] for r in json.loads(out)["runs"])
    code, _, err = run(capsys, "plan", "-s", str(first))
    assert code == codes.ELSEWHERE  # and now the old place is the one refused


def test_a_stack_in_git_is_bound_to_its_repo_and_path(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    from driftgate.testing.gitrepos import git, make_remote

    remote = make_remote(tmp_path)
    clone_a, clone_b = tmp_path / "clone-a", tmp_path / "clone-b"
    for clone in (clone_a, clone_b):
        git(tmp_path, "clone", "--quiet", remote.url, str(clone))
        write_stack(
            clone / "stacks" / "web", name="web", modules={"m": [{"type": "data.value", "name": "a"}]}
        )
    code, _, err = run(
        capsys, "apply", "-s", str(clone_a / "stacks" / "web"), "--auto-approve", "--no-commit-back"
    )
    assert code == codes.OK, err
    # another clone of the same repo, same path: the same stack
    code, _, err = run(capsys, "plan", "-s", str(clone_b / "stacks" / "web"))
    assert code == codes.OK, err
    # the same repo, another path: another stack, refused under this name
    write_stack(clone_b / "stacks" / "web2", name="web", modules={"m": [{"type": "data.value", "name": "a"}]})
    code, _, err = run(capsys, "plan", "-s", str(clone_b / "stacks" / "web2"))
    assert code == codes.ELSEWHERE and "#stacks/web," in err


def test_init_refuses_a_name_bound_elsewhere(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, _, _ = run(capsys, "init", str(tmp_path / "one"), "--name", "shared")
    assert code == 0
    code, _, err = run(capsys, "apply", "-s", str(tmp_path / "one"), "--auto-approve", "--no-commit-back")
    assert code == 0, err
    code, _, err = run(capsys, "init", str(tmp_path / "two"), "--name", "shared")
    assert code == codes.ELSEWHERE and "already bound" in err
    assert not (tmp_path / "two").exists()
    code, out, _ = run(capsys, "init", str(tmp_path / "three"))
    assert code == 0 and "'three'" in out


# -- 11: what a plan shows -------------------------------------------------------------------------


def test_plans_show_invisible_and_look_alike_characters_escaped(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    stack = write_stack(
        tmp_path / "stack",
        modules={
            "m": [{"type": "data.value", "name": "a", "spec": {"input": "p\u0430ypal\u200b[red]x[/red]"}}]
        },
    )
    code, out, _ = run(capsys, "plan", "-s", str(stack))
    assert code == codes.CHANGES
    assert "p\\u0430ypal\\u200b[red]x[/red]" in out  # escaped, and no markup is interpreted
    code, out, _ = run(capsys, "plan", "-s", str(stack), "--json")
    assert json.loads(out)["actions"][0]["desired"]["input"] == "p\u0430ypal\u200b[red]x[/red]"  # data kept


# -- 6: a broken secret file after a successful apply is a divergence, not a crash -----------------------


def test_a_non_utf8_commit_back_credential_diverges_with_exit_7(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    from driftgate.testing.gitrepos import make_remote

    remote = make_remote(tmp_path)
    secrets = tmp_path / "secrets"
    secrets.mkdir()
    (secrets / "token").write_bytes(b"\xff\xfe not text")
    monkeypatch.setenv("DRIFTGATE_SECRETS_DIR", str(secrets))
    stack = write_stack(tmp_path / "stack", modules={"m": [{"type": "data.value", "name": "a"}]})
    (stack / "stack.yaml").write_text(
        (stack / "stack.yaml").read_text()
        + f"commit_back:\n  remote: {remote.url}\n  branch: main\n  path: s\n  auth: secret://file/token\n"
    )
    code, out, err = run(capsys, "apply", "-s", str(stack), "--auto-approve")
    assert code == codes.DIVERGED, (out, err)
    assert "secret://file/token: secret file is not UTF-8 text" in out + err
    assert "Traceback" not in out + err


# -- 10: one live object, one resource -----------------------------------------------------------------


def test_path_aliases_and_two_resources_on_one_live_object_fail_validation(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    stack = write_stack(
        tmp_path / "stack",
        modules={
            "m": [
                {"type": "file.file", "name": "a", "spec": {"path": "a.txt", "content": "one"}},
                {"type": "file.file", "name": "b", "spec": {"path": "./a.txt", "content": "two"}},
                {"type": "file.file", "name": "c", "spec": {"path": "a.txt/", "content": "three"}},
                {"type": "file.directory", "name": "d", "spec": {"path": "a.txt"}},
                {"type": "file.directory", "name": "root", "spec": {"path": "."}},
            ]
        },
    )
    code, _, err = run(capsys, "validate", "-s", str(stack))
    assert code == codes.ERROR
    assert "m/file.file.b.spec.path: unsafe path './a.txt': write it as 'a.txt'" in err
    assert "m/file.file.c.spec.path: unsafe path 'a.txt/': write it as 'a.txt'" in err
    assert "m/file.directory.d.spec.path: names the same live object as m/file.file.a ('a.txt')" in err
    assert "m/file.directory.root.spec.path: unsafe path '.': must name something under the root" in err
    assert not (stack / "live").exists()
