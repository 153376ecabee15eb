"""The apply use case every edge calls: plan → gate → refuse → confirm → execute → commit-back."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest

from driftgate.errors import GateRefused, PlanHasErrors, StalePlanError, TerminalError
from driftgate.gate.decision import GateRequest
from driftgate.plan.model import Plan
from driftgate.services.stacks import history
from driftgate.services.stacks.apply import ApplyRequest, apply_stack, gate_decision
from driftgate.services.stacks.session import plan_stack
from driftgate.services.workspace import Workspace
from driftgate.testing.stacks import write_stack


def two_modules(tmp_path: Path, *, db_content: str = "v1") -> Path:
    return write_stack(
        tmp_path / "stack",
        modules={
            "web": [{"type": "data.value", "name": "page", "spec": {"input": "hi"}}],
            "db": [
                {"type": "file.file", "name": "rows", "spec": {"path": "rows.txt", "content": db_content}}
            ],
        },
        stateful=["db"],
    )


def runs(ws: Workspace) -> list[dict[str, Any]]:
    return history.list_runs(ws, stack=None, limit=50)


def test_the_whole_sequence_with_every_callback(ws: Workspace, tmp_path: Path) -> None:
    d = two_modules(tmp_path)
    seen: list[str] = []
    totals: list[int] = []

    @contextmanager
    def progress(total: int) -> Iterator[Any]:
        totals.append(total)
        yield lambda outcome: seen.append(outcome.address)

    request = ApplyRequest(d, gate=GateRequest("manual", ("db",), True, "db"), commit_back=False)
    outcome = apply_stack(
        ws,
        request,
        on_plan=lambda plan: seen.append(f"plan {plan.counts()['create']}"),
        confirm=lambda plan, decision: seen.append(f"confirm {decision.applied_modules}") is None,
        progress=progress,
    )
    assert outcome.applied and outcome.report is not None and outcome.report.full_success
    # issue 23, item 4: with --module the plan shown (and asked about) is what this apply does: db only
    assert seen[:2] == ["plan 1", "confirm ('db',)"] and seen[2:] == ["db/file.file.rows"]
    assert totals == [2] and outcome.commit_back is None
    assert [r["status"] for r in runs(ws)] == ["succeeded"]


def test_a_dry_run_a_refusal_and_a_declined_confirmation_apply_nothing(ws: Workspace, tmp_path: Path) -> None:
    d = two_modules(tmp_path)
    dry = apply_stack(ws, ApplyRequest(d, dry_run=True))
    assert not dry.applied and dry.decision.refused and runs(ws) == []
    assert gate_decision(ws, d, GateRequest()).refused  # `driftgate gate` sees the same decision
    with pytest.raises(GateRefused):
        apply_stack(ws, ApplyRequest(d, commit_back=False))
    assert [r["status"] for r in runs(ws)] == ["refused"]  # a refusal is recorded, nothing touched
    declined = apply_stack(
        ws, ApplyRequest(d, gate=GateRequest("auto"), commit_back=False), confirm=lambda _p, _d: False
    )
    assert declined.declined and not declined.applied and len(runs(ws)) == 1
    assert not (d / "live").exists()


def test_no_changes_records_no_run_unless_asked(ws: Workspace, tmp_path: Path) -> None:
    d = two_modules(tmp_path)
    assert apply_stack(ws, ApplyRequest(d, gate=GateRequest("auto"), commit_back=False)).applied  # web
    db = GateRequest("manual", ("db",), allow_stateful=True, confirm="db")
    assert apply_stack(ws, ApplyRequest(d, gate=db, commit_back=False)).applied
    before = len(runs(ws))
    again = ApplyRequest(d, commit_back=False)
    assert not apply_stack(ws, again).applied and len(runs(ws)) == before  # the CLI: "No changes."
    recorded = apply_stack(ws, replace(again, skip_no_changes=False))  # the API records every apply
    assert recorded.applied and len(runs(ws)) == before + 1


def test_plan_errors_stop_before_the_gate(ws: Workspace, tmp_path: Path) -> None:
    d = write_stack(
        tmp_path / "stack", modules={"m": [{"type": "data.value", "name": "x", "spec": {"input": 1}}]}
    )
    assert apply_stack(ws, ApplyRequest(d, commit_back=False)).applied
    # the resource's module and its provider are gone: its delete cannot be planned
    write_stack(tmp_path / "stack", modules={"n": []}, providers={"file": {"root": "live"}})
    before = len(runs(ws))
    with pytest.raises(PlanHasErrors) as raised:
        apply_stack(ws, ApplyRequest(d, commit_back=False))
    assert raised.value.code == "PLAN_INVALID" and "provider for data.value is not configured" in str(
        raised.value
    )
    assert len(runs(ws)) == before


def test_apply_from_a_path_outside_git_needs_a_commit_back_target(ws: Workspace, tmp_path: Path) -> None:
    d = two_modules(tmp_path)
    with pytest.raises(TerminalError, match="is not in a git repository"):
        apply_stack(ws, ApplyRequest(d, from_path=True))
    assert runs(ws) == []
    dry = apply_stack(ws, ApplyRequest(d, from_path=True, commit_back=False, dry_run=True))
    assert dry.decision is not None


def test_a_saved_plan_is_checked_without_planning_again(
    ws: Workspace, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    d = two_modules(tmp_path)
    auto = ApplyRequest(d, gate=GateRequest("auto", ("web",)), commit_back=False)
    saved: Plan = plan_stack(ws, d).plan
    import driftgate.services.stacks.session as runs_module

    def no_planning(*_args: Any, **_kwargs: Any) -> Any:
        raise AssertionError("a saved plan must not be planned again")

    monkeypatch.setattr(runs_module, "build_plan", no_planning)
    outcome = apply_stack(ws, replace(auto, saved_plan=saved))
    assert (
        outcome.applied
        and outcome.report is not None
        and outcome.report.plan.spec_digest == saved.spec_digest
    )
    with pytest.raises(StalePlanError, match="recorded state changed"):
        apply_stack(ws, replace(auto, saved_plan=saved))  # the state moved on since
