"""Liveness, readiness and Prometheus metrics: no token needed."""

from __future__ import annotations

from fastapi import APIRouter, Response
from fastapi.responses import JSONResponse

from driftgate import errors
from driftgate.api.deps import WS
from driftgate.api.errors import envelope
from driftgate.api.metrics import render
from driftgate.api.schemas import Health, Ready

router = APIRouter(tags=["health"])


@router.get("/healthz")
def healthz() -> Health:
    return Health(status="ok")


@router.get("/metrics", response_class=Response)
def metrics(ws: WS) -> Response:
    return Response(render(ws), media_type="text/plain; version=0.0.4")


@router.get("/readyz", response_model=Ready, responses={503: {"description": "the store does not answer"}})
def readyz(ws: WS) -> Ready | JSONResponse:
    try:
        with ws.transaction() as conn:
            conn.exec_driver_sql("SELECT 1")
    except Exception:  # noqa: BLE001 - readiness reports, it does not raise
        return envelope(503, errors.STORE_UNAVAILABLE, "the store does not answer")
    return Ready(status="ready", store="ok")
