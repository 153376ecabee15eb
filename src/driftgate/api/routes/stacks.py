"""A stack's loops over the API: plan, apply (through the gate), drift and reconcile (operator)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from fastapi import APIRouter, Response

from driftgate import errors
from driftgate.api.deps import Operator, RunWS
from driftgate.api.schemas import ApplyIn, ApplyOut, DriftOut, PlanIn, PlanOut, ReconcileOut, StackIn
from driftgate.errors import CodedError, UnsafePathError
from driftgate.security.paths import contain
from driftgate.services.workspace import Workspace

router = APIRouter(prefix="/api/v1/stacks", tags=["runs"])


def stack_dir(ws: Workspace, relative: str) -> Path:
    """The stack's directory, contained in the stacks root, with a ``stack.yaml``."""
    try:
        path = contain(ws.settings.effective_stacks_root, relative)
    except UnsafePathError as exc:
        raise CodedError(errors.INVALID_INPUT, f"stack: {exc}") from None
    if not (path / "stack.yaml").is_file():
        raise CodedError(
            errors.STACK_NOT_FOUND, f"stack: no stack.yaml at {relative!r} under the stacks root"
        )
    return path


@router.post("/plan", response_model=PlanOut)
def plan(body: PlanIn, ws: RunWS, _: Operator) -> dict[str, Any]:
    from driftgate.services.stacks.session import plan_stack

    result = plan_stack(ws, stack_dir(ws, body.stack), refresh=body.refresh).plan
    return {"exit_code": result.exit_code(), "plan": result.to_dict()}


@router.post(
    "/apply",
    response_model=ApplyOut,
    response_model_exclude_unset=True,
    responses={207: {"description": "applied, but commit-back diverged", "model": ApplyOut}},
)
def apply(body: ApplyIn, response: Response, ws: RunWS, _: Operator) -> dict[str, Any]:
    from driftgate.gate.decision import GateRequest
    from driftgate.services.stacks.apply import ApplyRequest, apply_stack

    gate = GateRequest(body.lane, tuple(body.modules), body.allow_stateful, body.confirm, body.backup_ref)
    request = ApplyRequest(
        stack_dir(ws, body.stack), gate=gate, commit_back=body.commit_back, skip_no_changes=False
    )
    outcome = apply_stack(ws, request)
    report, committed = outcome.report, outcome.commit_back
    assert report is not None  # the API records every apply, a plan without changes included
    diverged = bool(committed and committed.state_diverged)
    response.status_code = 207 if diverged else 200
    return {
        "run_id": report.run_id,
        "full_success": report.full_success,
        "result": report.result.to_dict(),
        "gate": outcome.decision.to_dict(),
        "commit_back": committed.to_dict() if committed else None,
        "state_diverged": diverged,
    }


@router.post("/drift", response_model=DriftOut)
def drift(body: StackIn, ws: RunWS, _: Operator) -> dict[str, Any]:
    from driftgate.services.drift.scan import scan_drift

    report = scan_drift(ws, stack_dir(ws, body.stack))
    return {"exit_code": report.exit_code(), **report.to_dict()}


@router.post(
    "/reconcile",
    response_model=ReconcileOut,
    response_model_exclude_unset=True,
    responses={207: {"description": "drift, but no draft could be produced", "model": ReconcileOut}},
)
def reconcile(body: StackIn, response: Response, ws: RunWS, _: Operator) -> dict[str, Any]:
    from driftgate.services.drift.reconcile import reconcile as run

    run_id, result = run(ws, stack_dir(ws, body.stack))
    response.status_code = 207 if result.state_diverged else 200
    return {"run_id": run_id, **result.to_dict()}
