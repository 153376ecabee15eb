"""Run history: every plan, apply, drift scan and reconcile, and an apply's ledger (viewer)."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Path, Query

from driftgate.api.deps import WS, Viewer
from driftgate.api.schemas import RunDetail, RunList

router = APIRouter(prefix="/api/v1/runs", tags=["runs"])

RunId = Annotated[str, Path(min_length=4, max_length=36, pattern=r"^[0-9a-f-]+$")]


@router.get("", response_model=RunList)
def list_runs(
    ws: WS,
    _: Viewer,
    stack: Annotated[str | None, Query(max_length=64)] = None,
    limit: Annotated[int, Query(ge=1, le=200)] = 50,
) -> dict[str, Any]:
    from driftgate.services.stacks import history

    return {"items": history.list_runs(ws, stack=stack, limit=limit)}


@router.get("/{run_id}", response_model=RunDetail)
def show_run(run_id: RunId, ws: WS, _: Viewer) -> dict[str, Any]:
    """The run and its ledger; ``run_id`` may be a prefix of at least 4 characters."""
    from driftgate.services.stacks import history

    return history.show_run(ws, run_id)
