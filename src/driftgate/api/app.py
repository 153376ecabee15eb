"""The FastAPI application: error envelopes, body limits, request ids, and the routers of ``routes/``."""

from __future__ import annotations

import time
import uuid
from collections.abc import Awaitable, Callable
from typing import Any

import structlog
from fastapi import FastAPI, Request
from starlette.responses import Response as StarletteResponse

from driftgate import __version__
from driftgate.api.errors import install
from driftgate.api.limits import BodyLimits
from driftgate.api.metrics import HTTP_REQUESTS, request_labels
from driftgate.api.routes import ROUTERS
from driftgate.security.logs import get_logger
from driftgate.services.proposals.lifecycle import JobQueue
from driftgate.services.workspace import Workspace

MAX_BODY = 1024 * 1024
log = get_logger("driftgate.api")


def create_app(ws: Workspace, jobs: JobQueue | None = None) -> FastAPI:
    """The app over ``ws``; ``jobs`` is the queue for PR jobs (the configured one when None)."""
    app = FastAPI(title="driftgate", version=__version__, description="A closed-loop GitOps control plane.")
    app.state.ws = ws
    app.state.jobs = jobs
    install(app)
    for router in ROUTERS:
        app.include_router(router)
    app.add_middleware(BodyLimits, max_bytes=MAX_BODY, max_depth=ws.settings.max_spec_depth)

    @app.middleware("http")
    async def request_id(
        request: Request, call_next: Callable[[Request], Awaitable[StarletteResponse]]
    ) -> Any:
        """A request id on every log line of this request, and in the response."""
        rid = request.headers.get("x-request-id", "")[:64] or uuid.uuid4().hex
        structlog.contextvars.bind_contextvars(request_id=rid)
        started = time.perf_counter()
        try:
            response = await call_next(request)
        finally:
            structlog.contextvars.unbind_contextvars("request_id")
        response.headers["X-Request-ID"] = rid
        HTTP_REQUESTS[request_labels(request, response.status_code)] += 1
        log.info(
            "request",
            request_id=rid,
            method=request.method,
            path=request.url.path,
            status=response.status_code,
            ms=round((time.perf_counter() - started) * 1000, 1),
        )
        return response

    return app
