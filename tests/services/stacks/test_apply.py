"""Plan and apply through the services, against SQLite and a real PostgreSQL server."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import pytest

from driftgate.apply.hooks import ApplyHooks
from driftgate.apply.result import ActionStatus
from driftgate.errors import PlanInvalidError, StackLockedError, StalePlanError, TerminalError
from driftgate.plan.model import ActionKind, read_plan, write_plan
from driftgate.services.stacks import history
from driftgate.services.stacks.locking import break_lock, stack_lock
from driftgate.services.stacks.session import ApplyReport, apply_session, plan_stack
from driftgate.services.workspace import Workspace
from driftgate.store import locks as locks_db
from driftgate.store import stacks as stacks_db
from driftgate.testing.stacks import write_stack


def files_stack(
    directory: Path, *, content: str = "hello", extra: list[dict[str, Any]] | None = None
) -> Path:
    resources: list[dict[str, Any]] = [
        {"type": "data.value", "name": "greeting", "spec": {"input": content}},
        {"type": "file.directory", "name": "site", "spec": {"path": "site"}},
        {
            "type": "file.file",
            "name": "index",
            "depends_on": ["file.directory.site"],
            "spec": {"path": "site/index.html", "content": "<h1>${data.value.greeting.output}</h1>"},
        },
    ]
    return write_stack(directory, modules={"web": resources + (extra or [])})


def apply(ws: Workspace, stack: Path, **kwargs: Any) -> ApplyReport:
    with apply_session(ws, stack) as session:
        return session.execute(**kwargs)


def test_create_then_in_sync_then_update(ws: Workspace, tmp_path: Path) -> None:
    stack = files_stack(tmp_path / "stack")
    first = plan_stack(ws, stack).plan
    assert first.exit_code() == 2
    assert [a.kind for a in first.actions] == [ActionKind.CREATE] * 3

    report = apply(ws, stack)
    assert report.full_success
    assert (stack / "live/site/index.html").read_text() == "<h1>hello</h1>"
    assert plan_stack(ws, stack).plan.exit_code() == 0

    files_stack(tmp_path / "stack", content="changed")
    plan = plan_stack(ws, stack).plan
    kinds = {a.address: a.kind for a in plan.actions}
    assert kinds["web/data.value.greeting"] is ActionKind.UPDATE
    assert kinds["web/file.file.index"] is ActionKind.UPDATE  # its input is known only after apply
    assert kinds["web/file.directory.site"] is ActionKind.NOOP
    assert apply(ws, stack).full_success
    assert (stack / "live/site/index.html").read_text() == "<h1>changed</h1>"
    assert plan_stack(ws, stack).plan.exit_code() == 0


def test_refresh_sees_hand_edits_and_deletions(ws: Workspace, tmp_path: Path) -> None:
    stack = files_stack(tmp_path / "stack")
    apply(ws, stack)
    (stack / "live/site/index.html").write_text("edited by hand")
    plan = plan_stack(ws, stack).plan
    index = next(a for a in plan.actions if a.address == "web/file.file.index")
    assert index.kind is ActionKind.UPDATE
    assert index.changes[0].name == "content" and index.changes[0].old == "edited by hand"
    assert "drift" in index.reason
    assert plan_stack(ws, stack, refresh=False).plan.exit_code() == 0  # without refresh, no drift is seen

    (stack / "live/site/index.html").unlink()
    plan = plan_stack(ws, stack).plan
    index = next(a for a in plan.actions if a.address == "web/file.file.index")
    assert index.kind is ActionKind.CREATE and index.reason == "deleted out of band"
    assert apply(ws, stack).full_success
    assert (stack / "live/site/index.html").read_text() == "<h1>hello</h1>"


def test_replace_and_delete(ws: Workspace, tmp_path: Path) -> None:
    extra = [{"type": "file.file", "name": "other", "spec": {"path": "other.txt", "content": "x"}}]
    stack = files_stack(tmp_path / "stack", extra=extra)
    apply(ws, stack)
    moved = [{"type": "file.file", "name": "other", "spec": {"path": "moved.txt", "content": "x"}}]
    files_stack(tmp_path / "stack", extra=moved)
    plan = plan_stack(ws, stack).plan
    other = next(a for a in plan.actions if a.address == "web/file.file.other")
    assert other.kind is ActionKind.REPLACE and other.changes[0].forces_replace
    assert apply(ws, stack).full_success
    assert not (stack / "live/other.txt").exists() and (stack / "live/moved.txt").exists()

    files_stack(tmp_path / "stack")
    plan = plan_stack(ws, stack).plan
    assert [a.kind for a in plan.actions if a.address == "web/file.file.other"] == [ActionKind.DELETE]
    assert apply(ws, stack).full_success
    assert not (stack / "live/moved.txt").exists()
    assert "web/file.file.other" not in {r["address"] for r in history.list_state(ws, "test")}


def chaos_stack(directory: Path, *, fail_on: list[str], delay: float = 0.0) -> Path:
    return write_stack(
        directory,
        providers={"chaos": {"root": "live", "fail_on": fail_on, "delay": delay}},
        modules={
            "m": [
                {"type": "chaos.file", "name": "a", "spec": {"path": "a", "content": "a"}},
                {
                    "type": "chaos.file",
                    "name": "b",
                    "spec": {"path": "b", "content": "${chaos.file.a.sha256}"},
                },
                {"type": "chaos.file", "name": "c", "depends_on": ["chaos.file.b"], "spec": {"path": "c"}},
                {"type": "chaos.file", "name": "d", "spec": {"path": "d", "content": "d"}},
            ]
        },
    )


def test_provider_error_mid_apply_gives_a_complete_ledger(ws: Workspace, tmp_path: Path) -> None:
    stack = chaos_stack(tmp_path / "stack", fail_on=["b"])
    report = apply(ws, stack)
    by_name = {o.address.rsplit(".", 1)[1]: o for o in report.result.actions}
    assert by_name["a"].status is ActionStatus.SUCCESS
    assert by_name["b"].status is ActionStatus.ERROR and "injected failure" in (by_name["b"].error or "")
    assert by_name["c"].status is ActionStatus.ERROR and not by_name["c"].attempted
    assert by_name["d"].status is ActionStatus.SUCCESS
    assert report.result.action_count == len(report.plan.actions) == 4
    assert not report.full_success

    run = history.show_run(ws, report.run_id)
    assert run["status"] == "partial"
    assert [e["status"] for e in run["ledger"]] == [o.status.value for o in report.result.actions]
    states = {r["address"]: r["status"] for r in history.list_state(ws, "test")}
    assert states == {"m/chaos.file.a": "applied", "m/chaos.file.b": "uncertain", "m/chaos.file.d": "applied"}

    chaos_stack(tmp_path / "stack", fail_on=[])
    plan = plan_stack(ws, stack).plan
    assert {a.address: a.kind for a in plan.actions if a.kind is not ActionKind.NOOP} == {
        "m/chaos.file.b": ActionKind.CREATE,
        "m/chaos.file.c": ActionKind.CREATE,
    }
    assert apply(ws, stack).full_success


def test_saved_plan_is_refused_when_specs_or_state_changed(ws: Workspace, tmp_path: Path) -> None:
    stack = files_stack(tmp_path / "stack")
    saved = tmp_path / "plan.json"
    write_plan(plan_stack(ws, stack).plan, saved)
    files_stack(tmp_path / "stack", content="other")
    with (
        pytest.raises(StalePlanError, match="specs changed"),
        apply_session(ws, stack, saved_plan=read_plan(saved)),
    ):
        pass

    files_stack(tmp_path / "stack")
    write_plan(plan_stack(ws, stack).plan, saved)
    apply(ws, stack)  # someone else applies first
    with pytest.raises(StalePlanError, match="recorded state changed"):
        with apply_session(ws, stack, saved_plan=read_plan(saved)):
            pass


def test_saved_plan_applies_when_current(ws: Workspace, tmp_path: Path) -> None:
    stack = files_stack(tmp_path / "stack")
    saved = tmp_path / "plan.json"
    write_plan(plan_stack(ws, stack).plan, saved)
    with apply_session(ws, stack, saved_plan=read_plan(saved)) as session:
        assert session.execute().full_success


def test_secrets_are_applied_but_stored_and_shown_as_references(
    ws: Workspace, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("DG_SECRET", "tops3cret-value")
    stack = write_stack(
        tmp_path / "stack",
        modules={
            "m": [
                {"type": "file.file", "name": "f", "spec": {"path": "f", "content": "secret://env/DG_SECRET"}}
            ]
        },
    )
    report = apply(ws, stack)
    assert report.full_success
    assert (stack / "live/f").read_text() == "tops3cret-value"
    recorded = history.show_state(ws, "test", "m/file.file.f")
    assert recorded["attributes"]["content"] == "secret://env/DG_SECRET"
    everything = repr(recorded) + repr(history.show_run(ws, report.run_id)) + repr(report.plan.to_dict())
    assert "tops3cret-value" not in everything
    assert plan_stack(ws, stack).plan.exit_code() == 0  # live content compared with the resolved secret

    monkeypatch.setenv("DG_SECRET", "rotated-value")
    change = plan_stack(ws, stack).plan.changes[0].changes[0]
    assert (change.old, change.new, change.sensitive) == ("(sensitive)", "secret://env/DG_SECRET", True)
    assert "tops3cret-value" not in repr(plan_stack(ws, stack).plan.to_dict())

    monkeypatch.delenv("DG_SECRET")
    planned = plan_stack(ws, stack).plan
    assert planned.exit_code() == 1
    assert any("environment variable DG_SECRET is not set" in e for e in planned.errors)
    with pytest.raises(PlanInvalidError), apply_session(ws, stack) as session:
        session.execute()


def test_file_secret_backend_is_contained(ws: Workspace, tmp_path: Path) -> None:
    secrets_dir = tmp_path / "secrets"
    secrets_dir.mkdir()
    (secrets_dir / "token").write_text("from-a-file\n")
    (tmp_path / "outside").write_text("not yours")
    (secrets_dir / "link").symlink_to(tmp_path / "outside")
    stack = write_stack(
        tmp_path / "stack",
        modules={
            "m": [
                {"type": "file.file", "name": "ok", "spec": {"path": "ok", "content": "secret://file/token"}},
                {
                    "type": "file.file",
                    "name": "esc",
                    "spec": {"path": "esc", "content": "secret://file/link"},
                },
            ]
        },
    )
    # Issue 8, defect 5: every secret a plan needs is resolved while planning, so the escape
    # fails the plan (naming the reference) and nothing at all is applied.
    planned = plan_stack(ws, stack).plan
    assert planned.exit_code() == 1
    assert any("m/file.file.esc: secret://file/link" in e and "resolves outside" in e for e in planned.errors)
    with pytest.raises(PlanInvalidError), apply_session(ws, stack) as session:
        session.execute()
    assert not (stack / "live/esc").exists() and not (stack / "live/ok").exists()
    (secrets_dir / "link").unlink()
    (secrets_dir / "link").write_text("inside")
    apply(ws, stack)
    assert (stack / "live/ok").read_text() == "from-a-file"


def test_two_applies_never_overlap(ws: Workspace, tmp_path: Path) -> None:
    stack = files_stack(tmp_path / "stack")
    with apply_session(ws, stack):
        with pytest.raises(StackLockedError) as info, apply_session(ws, stack):
            pass
    message = str(info.value)
    assert "stack 'test' is locked by run" in message and f"pid {os.getpid()}" in message
    assert "driftgate lock break test" in message
    assert apply(ws, stack).full_success  # released afterwards


def test_break_stale_lock(ws: Workspace, tmp_path: Path) -> None:
    stack = files_stack(tmp_path / "stack")
    plan_stack(ws, stack)
    from driftgate.store import stacks as stacks_db

    with ws.transaction() as session:
        row = stacks_db.find_stack(session, "test")
        assert row is not None
        locks_db.try_lock(
            session,
            stack_id=row.id,
            run_id="dead-run",
            holder="ghost",
            pid=999_999,
            host=ws.settings.hostname,
        )
    with pytest.raises(StackLockedError, match="stale"), apply_session(ws, stack):
        pass
    broken = break_lock(ws, "test", force=False)
    assert broken.holder == "ghost"
    assert apply(ws, stack).full_success


def test_live_lock_holder_is_not_broken_without_force(ws: Workspace, tmp_path: Path) -> None:
    stack = files_stack(tmp_path / "stack")
    plan_stack(ws, stack)
    with ws.transaction() as session:
        row = stacks_db.find_stack(session, "test")
        assert row is not None
    with stack_lock(ws, stack_id=row.id, stack_name="test", run_id="live-run"):
        with pytest.raises(TerminalError, match="still running"):
            break_lock(ws, "test", force=False)
        break_lock(ws, "test", force=True)


def test_hooks_reach_subscribers(ws: Workspace, tmp_path: Path) -> None:
    stack = files_stack(tmp_path / "stack")
    seen: list[str] = []
    report = apply(ws, stack, hooks=ApplyHooks(on_resource_applied=[lambda a, o: seen.append(a.address)]))
    assert report.full_success and len(seen) == 3


def test_runs_and_state_queries(ws: Workspace, tmp_path: Path) -> None:
    stack = files_stack(tmp_path / "stack")
    report = apply(ws, stack)
    runs = history.list_runs(ws, stack="test")
    assert runs[0]["id"] == report.run_id and runs[0]["status"] == "succeeded"
    shown = history.show_run(ws, report.run_id[:8])
    assert len(shown["ledger"]) == 3 and all(e["status"] == "SUCCESS" for e in shown["ledger"])
    state = history.show_state(ws, "test", "web/file.file.index")
    assert state["outputs"]["size"] == len("<h1>hello</h1>")
    assert state["attributes"]["content"] == "<h1>hello</h1>"


def test_plan_file_round_trip_and_bad_plan_file(tmp_path: Path, sqlite_ws: Workspace) -> None:
    stack = files_stack(tmp_path / "stack")
    plan = plan_stack(sqlite_ws, stack).plan
    write_plan(plan, tmp_path / "p.json")
    assert read_plan(tmp_path / "p.json") == plan
    (tmp_path / "bad.json").write_text("{not json")
    with pytest.raises(PlanInvalidError, match="not valid JSON"):
        read_plan(tmp_path / "bad.json")
    (tmp_path / "other.json").write_text('{"format": "something-else"}')
    with pytest.raises(PlanInvalidError, match="not a driftgate plan"):
        read_plan(tmp_path / "other.json")
