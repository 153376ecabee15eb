"""Runs over the API: plan, apply (through the gate), drift and reconcile a stack; read runs."""

from __future__ import annotations

from pathlib import Path as FsPath
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, Path, Query
from fastapi.responses import JSONResponse
from pydantic import BaseModel, ConfigDict, Field

from driftgate import errors
from driftgate.api.auth import Operator, Viewer, workspace_of
from driftgate.errors import CodedError, UnsafePathError
from driftgate.security.paths import contain
from driftgate.services.workspace import Workspace

router = APIRouter(prefix="/api/v1", tags=["runs"])


class StackIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    stack: str = Field(min_length=1, max_length=500, description="Path of the stack under the stacks root.")


class PlanIn(StackIn):
    refresh: bool = True


class ApplyIn(StackIn):
    lane: Literal["manual", "auto"] = "manual"
    modules: list[str] = Field(default_factory=list, max_length=50)
    allow_stateful: bool = False
    confirm: str | None = Field(default=None, max_length=64)
    backup_ref: str | None = Field(default=None, max_length=255)
    commit_back: bool = True


WS = Annotated[Workspace, Depends(workspace_of)]


def stack_dir(ws: Workspace, relative: str) -> FsPath:
    try:
        path = contain(ws.settings.effective_stacks_root, relative)
    except UnsafePathError as exc:
        raise CodedError(errors.INVALID_INPUT, f"stack: {exc}") from None
    if not (path / "stack.yaml").is_file():
        raise CodedError(
            errors.STACK_NOT_FOUND, f"stack: no stack.yaml at {relative!r} under the stacks root"
        )
    return path


@router.post("/stacks/plan")
def plan(body: PlanIn, ws: WS, _: Operator) -> dict[str, Any]:
    from driftgate.services.runs import plan_stack

    result = plan_stack(ws, stack_dir(ws, body.stack), refresh=body.refresh).plan
    return {"exit_code": result.exit_code(), "plan": result.to_dict()}


@router.post("/stacks/apply", responses={207: {"description": "applied, but commit-back diverged"}})
def apply(body: ApplyIn, ws: WS, _: Operator) -> Any:
    from driftgate.gate.decision import GateRequest
    from driftgate.services.apply_stack import ApplyRequest, apply_stack

    gate = GateRequest(body.lane, tuple(body.modules), body.allow_stateful, body.confirm, body.backup_ref)
    request = ApplyRequest(
        stack_dir(ws, body.stack), gate=gate, commit_back=body.commit_back, skip_no_changes=False
    )
    outcome = apply_stack(ws, request)
    report, committed = outcome.report, outcome.commit_back
    assert report is not None  # the API records every apply, a plan without changes included
    payload = {
        "run_id": report.run_id,
        "full_success": report.full_success,
        "result": report.result.to_dict(),
        "gate": outcome.decision.to_dict(),
        "commit_back": committed.to_dict() if committed else None,
        "state_diverged": bool(committed and committed.state_diverged),
    }
    return JSONResponse(payload, status_code=207 if payload["state_diverged"] else 200)


@router.post("/stacks/drift")
def drift(body: StackIn, ws: WS, _: Operator) -> dict[str, Any]:
    from driftgate.services.drift import scan_drift

    report = scan_drift(ws, stack_dir(ws, body.stack))
    return {"exit_code": report.exit_code(), **report.to_dict()}


@router.post("/stacks/reconcile", responses={207: {"description": "drift, but no draft could be produced"}})
def reconcile(body: StackIn, ws: WS, _: Operator) -> Any:
    from driftgate.services.reconcile import reconcile as run

    run_id, result = run(ws, stack_dir(ws, body.stack))
    return JSONResponse(
        {"run_id": run_id, **result.to_dict()}, status_code=207 if result.state_diverged else 200
    )


@router.get("/runs")
def list_runs(
    ws: WS,
    _: Viewer,
    stack: Annotated[str | None, Query(max_length=64)] = None,
    limit: Annotated[int, Query(ge=1, le=200)] = 50,
) -> dict[str, Any]:
    from driftgate.services import history

    return {"items": history.list_runs(ws, stack=stack, limit=limit)}


@router.get("/runs/{run_id}")
def show_run(
    run_id: Annotated[str, Path(min_length=4, max_length=36, pattern=r"^[0-9a-f-]+$")], ws: WS, _: Viewer
) -> dict[str, Any]:
    from driftgate.services import history

    return history.show_run(ws, run_id)
