"""The secret invariant under the adversarial review's attacks (issue 8: defects 1 to 7).

A resolved secret value never reaches an output, a plan, a plan file, the store,
git or a draft - also not as part of a longer string.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest
from sqlalchemy import text

from driftgate.apply.result import ActionStatus
from driftgate.cli import exitcodes as codes
from driftgate.cli.app import main
from driftgate.errors import PlanInvalidError, SecretError
from driftgate.plan.model import SENSITIVE, write_plan
from driftgate.services.drift.reconcile import reconcile
from driftgate.services.stacks import history
from driftgate.services.stacks.session import apply_session, plan_stack
from driftgate.services.workspace import Workspace
from driftgate.testing.gitrepos import git, make_remote
from driftgate.testing.stacks import write_stack

SECRET = "s3cr3t-Value-9f2e"


def apply_ok(ws: Workspace, stack: Path) -> None:
    with apply_session(ws, stack) as session:
        report = session.execute()
    assert report.full_success, report.result.to_dict()


def store_dump(ws: Workspace) -> str:
    with ws.engine.connect() as conn:
        rows = [
            repr(list(conn.execute(text(f"SELECT * FROM {table}"))))
            for table in ("stacks", "resource_states", "runs", "action_outcomes")
        ]
    return "\n".join(rows)


@pytest.fixture(autouse=True)
def _secret(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("MY_TOKEN", SECRET)
    monkeypatch.setenv("DB_PASSWORD", SECRET)
    monkeypatch.setenv("TOK", SECRET)


# -- 1 ---------------------------------------------------------------------------------


def test_old_secret_is_sensitive_on_both_sides_when_the_spec_stops_using_it(
    ws: Workspace, tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    def stack(content: str) -> Path:
        return write_stack(
            tmp_path / "stack",
            modules={
                "m": [{"type": "file.file", "name": "t", "spec": {"path": "t.txt", "content": content}}]
            },
        )

    apply_ok(ws, stack("secret://env/MY_TOKEN"))
    directory = stack("a literal now")
    plan = plan_stack(ws, directory).plan
    change = plan.changes[0].changes[0]
    assert (change.name, change.old, change.new, change.sensitive) == ("content", SENSITIVE, SENSITIVE, True)
    assert SECRET not in json.dumps(plan.to_dict())
    write_plan(plan, tmp_path / "plan.json")
    assert SECRET not in (tmp_path / "plan.json").read_text()

    monkeypatch.setenv("DRIFTGATE_HOME", str(ws.settings.home))
    if ws.settings.database_url:
        monkeypatch.setenv("DRIFTGATE_DATABASE_URL", ws.settings.database_url)
    monkeypatch.setenv("DRIFTGATE_SECRETS_DIR", str(tmp_path / "secrets"))
    for args in (["plan"], ["plan", "--json"], ["apply", "--auto-approve", "--no-commit-back"]):
        code = main([*args, "-s", str(directory)])
        captured = capsys.readouterr()
        assert code in (0, 2), captured
        assert SECRET not in captured.out + captured.err, args
    assert (directory / "live" / "t.txt").read_text() == "a literal now"
    assert SECRET not in store_dump(ws)


# -- 3 and 4 --------------------------------------------------------------------------------


def test_secret_output_interpolated_into_a_longer_string(ws: Workspace, tmp_path: Path) -> None:
    stack = write_stack(
        tmp_path / "stack",
        modules={
            "m": [
                {"type": "data.value", "name": "pw", "spec": {"input": "secret://env/DB_PASSWORD"}},
                {
                    "type": "file.file",
                    "name": "conf",
                    "spec": {"path": "db.conf", "content": "password=${data.value.pw.output}\n"},
                },
            ]
        },
    )
    apply_ok(ws, stack)
    assert (stack / "live" / "db.conf").read_text() == f"password={SECRET}\n"  # the value, not the ref text
    assert plan_stack(ws, stack).plan.exit_code() == 0  # stable: no perpetual diff
    (stack / "live" / "db.conf").write_text("password=something-else\n")
    changed = plan_stack(ws, stack).plan  # and no silent in-sync when live differs
    assert changed.exit_code() == 2
    change = changed.changes[0].changes[0]
    assert change.sensitive and change.old == SENSITIVE and SECRET not in json.dumps(changed.to_dict())
    assert SECRET not in store_dump(ws)
    state = {r["address"]: r for r in history.list_state(ws, "test")}
    assert "${secret://env/DB_PASSWORD}" in json.dumps(state["m/file.file.conf"])


def test_secret_inside_an_output_is_not_stored(ws: Workspace, tmp_path: Path) -> None:
    stack = write_stack(
        tmp_path / "stack",
        modules={
            "m": [
                {"type": "file.file", "name": "f", "spec": {"path": "secret://env/TOK", "content": "x"}},
                {"type": "data.value", "name": "where", "spec": {"input": "${file.file.f.path}"}},
            ]
        },
    )
    apply_ok(ws, stack)
    assert (stack / "live" / SECRET).read_text() == "x"
    assert SECRET not in store_dump(ws)
    shown = json.dumps(history.list_state(ws, "test"))
    assert SECRET not in shown and "/${secret://env/TOK}" in shown
    assert plan_stack(ws, stack).plan.exit_code() == 0


# -- 5 ----------------------------------------------------------------------------------


@pytest.mark.parametrize("refresh", [True, False])
def test_unresolvable_secret_fails_the_plan_and_touches_nothing(
    ws: Workspace, tmp_path: Path, refresh: bool
) -> None:
    stack = write_stack(
        tmp_path / "stack",
        modules={
            "m": [
                {"type": "file.file", "name": "a", "spec": {"path": "a.txt", "content": "plain"}},
                {"type": "file.file", "name": "b", "spec": {"path": "b.txt", "content": "secret://env/NOPE"}},
            ]
        },
    )
    plan = plan_stack(ws, stack, refresh=refresh).plan
    assert plan.exit_code() == 1
    assert any("m/file.file.b" in e and "secret://env/NOPE" in e for e in plan.errors)
    with pytest.raises(PlanInvalidError), apply_session(ws, stack, refresh=refresh) as session:
        session.execute()
    assert not (stack / "live").exists()


# -- 6 -----------------------------------------------------------------------------------


def test_secret_files_must_be_regular_utf8_and_bounded(ws: Workspace, tmp_path: Path) -> None:
    secrets = tmp_path / "secrets"
    secrets.mkdir()
    (secrets / "latin1").write_bytes(b"caf\xe9")
    os.mkfifo(secrets / "fifo")
    with (secrets / "huge").open("wb") as handle:
        handle.truncate(1 << 30)
    resolver = ws.secrets()
    with pytest.raises(SecretError, match="secret://file/latin1: secret file is not UTF-8 text"):
        resolver.resolve("secret://file/latin1")
    with pytest.raises(SecretError, match="secret://file/fifo: cannot read secret file: not a regular file"):
        resolver.resolve("secret://file/fifo")
    with pytest.raises(SecretError, match="secret://file/huge: cannot read secret file: file is larger"):
        resolver.resolve("secret://file/huge")


# -- 7 --------------------------------------------------------------------------------------


def test_env_secrets_are_limited_to_the_allow_list(
    ws: Workspace, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("DRIFTGATE_SECRET_ENV_ALLOW")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "aws-key-value")
    monkeypatch.setenv("DRIFTGATE_SECRET_DEPLOY", "deploy-value")
    monkeypatch.setenv("DRIFTGATE_DATABASE_URL_COPY", "x")
    from driftgate.config import load_settings

    settings = load_settings(home=ws.settings.home)
    assert settings.secret_env_allowed("DRIFTGATE_SECRET_DEPLOY")
    assert not settings.secret_env_allowed("AWS_SECRET_ACCESS_KEY")
    assert not settings.secret_env_allowed("DRIFTGATE_DATABASE_URL")
    monkeypatch.setenv("DRIFTGATE_SECRET_ENV_ALLOW", "AWS_*, DRIFTGATE_*")
    settings = load_settings(home=ws.settings.home)
    assert settings.secret_env_allowed("AWS_SECRET_ACCESS_KEY")
    assert not settings.secret_env_allowed("DRIFTGATE_DATABASE_URL")  # never, whatever the list says
    assert not settings.secret_env_allowed("driftgate_database_url")

    monkeypatch.delenv("DRIFTGATE_SECRET_ENV_ALLOW")
    ws2 = Workspace.open(load_settings(home=tmp_path / "h2"))
    try:
        with pytest.raises(SecretError, match="AWS_SECRET_ACCESS_KEY may not be read by specs"):
            ws2.secrets().resolve("secret://env/AWS_SECRET_ACCESS_KEY")
        with pytest.raises(SecretError, match="may not be read"):
            ws2.secrets().resolve("secret://env/DRIFTGATE_DATABASE_URL")
        assert ws2.secrets().resolve("secret://env/DRIFTGATE_SECRET_DEPLOY") == "deploy-value"
        stack = write_stack(
            tmp_path / "stack",
            modules={
                "m": [
                    {
                        "type": "file.file",
                        "name": "k",
                        "spec": {"path": "k", "content": "secret://env/AWS_SECRET_ACCESS_KEY"},
                    }
                ]
            },
        )
        plan = plan_stack(ws2, stack).plan
        assert plan.exit_code() == 1 and "may not be read by specs" in plan.errors[0]
        assert not (stack / "live").exists()
    finally:
        ws2.close()


# -- 2 ------------------------------------------------------------------------------------


def test_reconcile_never_pushes_a_secret_value(ws: Workspace, tmp_path: Path) -> None:
    remote = make_remote(tmp_path)
    stack = write_stack(
        tmp_path / "site",
        name="site",
        modules={
            "web": [
                {
                    "type": "file.file",
                    "name": "token",
                    "spec": {"path": "token.txt", "content": "secret://env/TOK"},
                },
                {"type": "file.file", "name": "cfg", "spec": {"path": "app.cfg", "content": "a=1"}},
            ]
        },
    )
    (stack / "stack.yaml").write_text(
        (stack / "stack.yaml").read_text()
        + f"commit_back:\n  target: branch-push\n  remote: {remote.url}\n  branch: main\n  path: .\n"
    )
    apply_ok(ws, stack)
    live = stack / "live"
    (live / "app.cfg").write_text(f"a=1\ntoken={SECRET}\n")  # a hand edit pastes the value
    (live / "copy-of-token.txt").write_text(SECRET)  # an unmanaged copy of the secret file
    (live / "token.txt").write_text(f"{SECRET}-v2")  # hand-rotated: the live value holds the old one
    run_id, result = reconcile(ws, stack)
    assert result.draft and result.drifted == 3
    everything = git(remote.path, "log", "-p", "--all") + json.dumps(history.show_run(ws, run_id))
    assert SECRET not in everything
    assert "<secret value removed>" in remote.show("modules/web.yaml", "driftgate/drift/site")
    assert "copy-of-token.txt" in remote.show("modules/unmanaged.yaml", "driftgate/drift/site")


def test_cli_exit_codes_on_secret_errors(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], store_env: str
) -> None:
    stack = write_stack(
        tmp_path / "stack",
        modules={
            "m": [{"type": "file.file", "name": "b", "spec": {"path": "b", "content": "secret://env/NOPE"}}]
        },
    )
    for args in (["plan"], ["plan", "--no-refresh"], ["apply", "--auto-approve"]):
        code = main([*args, "-s", str(stack)])
        err = capsys.readouterr()
        assert code == codes.ERROR, (args, err)
    assert ActionStatus.SUCCESS.value == "SUCCESS" and not (stack / "live").exists()
