"""The FastAPI application: auth, limits, and the v1 routes."""

from __future__ import annotations

import base64
import binascii
import time
import uuid
from collections.abc import Awaitable, Callable
from typing import Annotated, Any, Literal

import structlog
from fastapi import FastAPI, Header, Path, Query, Request, Response
from pydantic import BaseModel, ConfigDict, Field
from starlette.responses import Response as StarletteResponse

from driftgate import __version__, errors
from driftgate.api.auth import Admin, Operator, Viewer
from driftgate.api.errors import ApiError, envelope, install
from driftgate.api.limits import BodyLimits
from driftgate.api.metrics import HTTP_REQUESTS, request_labels
from driftgate.api.metrics import render as render_metrics
from driftgate.api.runs import router as runs_router
from driftgate.security.logs import get_logger
from driftgate.services import config_repos, proposals
from driftgate.services.workspace import Workspace

MAX_BODY = 1024 * 1024
log = get_logger("driftgate.api")
MAX_LIMIT = 200
MAX_ID = 2**31 - 1  # every id is a 32-bit integer in the store


class _Body(BaseModel):
    model_config = ConfigDict(extra="forbid")


RepoName = Annotated[str, Field(min_length=1, max_length=100, pattern=r"^[A-Za-z0-9][A-Za-z0-9._-]*$")]
RepoUrl = Annotated[str, Field(min_length=1, max_length=2000)]
BranchName = Annotated[str, Field(min_length=1, max_length=200, pattern=r"^[A-Za-z0-9][A-Za-z0-9._/-]*$")]
SecretRef = Annotated[str, Field(min_length=1, max_length=500)]


class ConfigRepoIn(_Body):
    """A config repo. PATCH takes the same fields with the same rules, each optional."""

    name: RepoName
    url: RepoUrl
    default_branch: BranchName = "main"
    auth_ref: SecretRef
    webhook_secret_ref: SecretRef | None = None


class ConfigRepoPatch(_Body):
    name: RepoName | None = None
    url: RepoUrl | None = None
    default_branch: BranchName | None = None
    auth_ref: SecretRef | None = None
    webhook_secret_ref: SecretRef | None = None


class EditIn(_Body):
    path: str = Field(min_length=1, max_length=1000)
    format: Literal["json", "yaml", "toml"]
    pointer: str = Field(min_length=1, max_length=1000)
    from_: Any = Field(alias="from")
    to: Any

    model_config = ConfigDict(extra="forbid", populate_by_name=True)


class ProposalIn(_Body):
    config_repo_id: int = Field(ge=1, le=MAX_ID)
    title: str = Field(min_length=1, max_length=300)
    rationale: str = Field(default="", max_length=20_000)
    edits: list[EditIn] = Field(min_length=1, max_length=200)
    metrics: dict[str, Any] | None = None
    chart: dict[str, Any] | None = None


class RejectIn(_Body):
    reason: str = Field(min_length=1, max_length=2000)


def _cursor(cursor: str | None) -> int:
    if not cursor:
        return 0
    try:
        value = int(base64.urlsafe_b64decode(cursor.encode()).decode())
    except (ValueError, binascii.Error, UnicodeDecodeError):
        value = -1
    if not 0 <= value <= MAX_ID:
        raise ApiError(400, errors.INVALID_CURSOR, "the cursor is not one this API gave out")
    return value


def _next_cursor(items: list[dict[str, Any]], has_more: bool) -> str | None:
    return base64.urlsafe_b64encode(str(items[-1]["id"]).encode()).decode() if has_more and items else None


def _page(response: Response, items: list[dict[str, Any]], has_more: bool, total: int) -> dict[str, Any]:
    response.headers["X-Total-Count"] = str(total)
    return {"items": items, "has_more": has_more, "next_cursor": _next_cursor(items, has_more)}


Cursor = Annotated[str | None, Query(max_length=200)]
Limit = Annotated[int, Query(ge=1, le=MAX_LIMIT)]
Id = Annotated[int, Path(ge=1, le=MAX_ID)]


def create_app(ws: Workspace, jobs: proposals.JobQueue | None = None) -> FastAPI:
    app = FastAPI(title="driftgate", version=__version__, description="A closed-loop GitOps control plane.")
    app.state.ws = ws

    def queue() -> proposals.JobQueue:
        if jobs is not None:
            return jobs
        from driftgate.jobs.queue import default_jobs

        return default_jobs()

    install(app)
    app.include_router(runs_router)
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

    @app.get("/healthz", tags=["health"])
    def healthz() -> dict[str, str]:
        return {"status": "ok"}

    @app.get("/metrics", tags=["health"])
    def metrics() -> Response:
        return Response(render_metrics(ws), media_type="text/plain; version=0.0.4")

    @app.get("/readyz", tags=["health"])
    def readyz() -> Any:
        try:
            with ws.transaction() as conn:
                conn.exec_driver_sql("SELECT 1")
        except Exception:  # noqa: BLE001 - readiness reports, it does not raise
            return envelope(503, errors.STORE_UNAVAILABLE, "the store does not answer")
        return {"status": "ready", "store": "ok"}

    @app.post("/api/v1/config-repos", status_code=201, tags=["config repos"])
    def create_config_repo(body: ConfigRepoIn, _: Admin) -> dict[str, Any]:
        return config_repos.create(ws, **body.model_dump())

    @app.get("/api/v1/config-repos", tags=["config repos"])
    def list_config_repos(
        response: Response, _: Viewer, cursor: Cursor = None, limit: Limit = 50
    ) -> dict[str, Any]:
        items, has_more, total = config_repos.list_page(ws, after=_cursor(cursor), limit=limit)
        return _page(response, items, has_more, total)

    @app.get("/api/v1/config-repos/{repo_id}", tags=["config repos"])
    def get_config_repo(repo_id: Id, _: Viewer) -> dict[str, Any]:
        return config_repos.get(ws, repo_id)

    @app.patch("/api/v1/config-repos/{repo_id}", tags=["config repos"])
    def patch_config_repo(repo_id: Id, body: ConfigRepoPatch, _: Admin) -> dict[str, Any]:
        return config_repos.patch(ws, repo_id, body.model_dump(exclude_unset=True))

    @app.delete("/api/v1/config-repos/{repo_id}", status_code=204, tags=["config repos"])
    def delete_config_repo(repo_id: Id, _: Admin) -> Response:
        config_repos.delete(ws, repo_id)
        return Response(status_code=204)

    @app.post("/api/v1/proposals", status_code=201, tags=["proposals"])
    def create_proposal(body: ProposalIn, who: Operator) -> dict[str, Any]:
        data = body.model_dump(by_alias=True)
        return proposals.create(ws, created_by=who.name, **data)

    @app.get("/api/v1/proposals", tags=["proposals"])
    def list_proposals(
        response: Response,
        _: Viewer,
        cursor: Cursor = None,
        limit: Limit = 50,
        status: Annotated[Literal["pending", "pr_opened", "rejected"] | None, Query()] = None,
    ) -> dict[str, Any]:
        items, has_more, total = proposals.list_page(ws, status=status, after=_cursor(cursor), limit=limit)
        return _page(response, items, has_more, total)

    @app.get("/api/v1/proposals/{proposal_id}", tags=["proposals"])
    def get_proposal(proposal_id: Id, _: Viewer) -> dict[str, Any]:
        return proposals.get(ws, proposal_id)

    @app.post("/api/v1/proposals/{proposal_id}/open_pr", status_code=202, tags=["proposals"])
    def open_pull_request(proposal_id: Id, _: Operator) -> dict[str, Any]:
        job_id = proposals.request_open_pr(ws, proposal_id, queue())
        return {"proposal_id": proposal_id, "job_id": job_id}

    @app.post("/api/v1/webhooks/{forge}", tags=["webhooks"])
    async def webhook(
        forge: Literal["github"],
        request: Request,
        response: Response,
        x_hub_signature_256: Annotated[str | None, Header()] = None,
        x_github_event: Annotated[str | None, Header()] = None,
        x_github_delivery: Annotated[str | None, Header()] = None,
    ) -> dict[str, Any]:
        """Pull-request events, verified by HMAC with the repo's webhook secret (no bearer token)."""
        from driftgate.services.pr_state import receive_webhook

        del x_hub_signature_256, x_github_event, x_github_delivery  # declared for the API's description
        body = await request.body()
        status, answer = receive_webhook(
            ws,
            kind=forge,
            body=body,
            headers=request.headers,
            content_type=request.headers.get("content-type", "application/json"),
        )
        response.status_code = status
        return answer

    @app.post("/api/v1/proposals/{proposal_id}/reject", tags=["proposals"])
    def reject_proposal(proposal_id: Id, body: RejectIn, _: Operator) -> dict[str, Any]:
        return proposals.reject(ws, proposal_id, body.reason)

    return app
