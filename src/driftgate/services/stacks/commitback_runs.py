"""Commit-back as a use case of its own: re-run it for the last applied run, idempotently."""

from __future__ import annotations

from pathlib import Path

from driftgate.apply.result import ActionOutcome, ActionStatus, ApplyResult
from driftgate.errors import NotFoundError, TerminalError
from driftgate.services.stacks.commitback import CommitBackResult, Overrides, commit_back, record_commit_back
from driftgate.services.stacks.session import plan_stack
from driftgate.services.workspace import Workspace
from driftgate.store import runs as runs_db


def recommit(
    ws: Workspace, directory: Path, *, overrides: Overrides | None = None, rebuild: bool = False
) -> tuple[str, CommitBackResult]:
    """Commit back the current specs for the stack's last applied run, if live state matches them.

    Only what was applied may be committed: a plan with changes (or errors) is refused.
    """
    overrides = overrides or Overrides()
    planned = plan_stack(ws, directory, remote=overrides.remote, path=overrides.path)  # as identity does
    if planned.plan.errors or planned.plan.has_changes:
        raise TerminalError(
            "the specs are not what was applied (the plan is not in sync); apply them first, then commit back"
        )
    with ws.transaction() as conn:
        last = runs_db.last_successful_run(conn, planned.stack_id)
    if last is None:
        raise NotFoundError(f"stack {planned.stack.name!r} has no successful apply to commit back")
    in_sync = ApplyResult(
        actions=tuple(
            ActionOutcome(index=a.index, address=a.address, action=a.kind.value, status=ActionStatus.SUCCESS)
            for a in planned.plan.actions
        ),
        action_count=len(planned.plan.actions),
    )
    outcome = commit_back(
        ws,
        planned.stack,
        run_id=last.id,
        plan=planned.plan,
        result=in_sync,
        overrides=overrides,
        rebuild=rebuild,
    )
    record_commit_back(ws, last.id, outcome)
    return last.id, outcome
