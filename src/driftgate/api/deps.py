"""What the routes share, as FastAPI dependencies: the workspace, the job queue, who is asking
(bearer tokens; viewer < operator < admin), paging and ids."""

from __future__ import annotations

import base64
import binascii
from collections.abc import Callable, Iterator
from typing import Annotated, Any

from fastapi import Depends, Header, Path, Query, Request, Response

from driftgate import errors
from driftgate.api.errors import ApiError
from driftgate.api.schemas import MAX_ID
from driftgate.services.proposals.lifecycle import JobQueue
from driftgate.services.tokens import Principal, authenticate
from driftgate.services.workspace import Workspace

MAX_LIMIT = 200


def workspace_of(request: Request) -> Workspace:
    ws: Workspace = request.app.state.ws
    return ws


def run_of(request: Request) -> Iterator[Workspace]:
    """The workspace for one run (plan, apply, drift, reconcile): its plugins stop when the request
    ends, so a long-lived server keeps no provider process between runs."""
    with workspace_of(request).run() as ws:
        yield ws


def queue_of(request: Request) -> JobQueue:
    """The queue the app was made with, or the configured one (imported only when a job is asked for)."""
    jobs: JobQueue | None = request.app.state.jobs
    if jobs is not None:
        return jobs
    from driftgate.jobs.queue import default_jobs

    return default_jobs()


def principal(request: Request, authorization: Annotated[str | None, Header()] = None) -> Principal:
    scheme, _, token = (authorization or "").partition(" ")
    if scheme.lower() != "bearer" or not token:
        raise ApiError(
            401, errors.UNAUTHENTICATED, "a bearer token is required", headers={"WWW-Authenticate": "Bearer"}
        )
    found = authenticate(workspace_of(request), token.strip())
    if found is None:
        raise ApiError(
            401, errors.UNAUTHENTICATED, "the token is not valid", headers={"WWW-Authenticate": "Bearer"}
        )
    return found


def _role(needed: str) -> Callable[[Principal], Principal]:
    def check(who: Annotated[Principal, Depends(principal)]) -> Principal:
        if not who.can(needed):
            raise ApiError(403, errors.FORBIDDEN, f"this needs the {needed} role; the token has {who.role}")
        return who

    return check


Viewer = Annotated[Principal, Depends(_role("viewer"))]
Operator = Annotated[Principal, Depends(_role("operator"))]
Admin = Annotated[Principal, Depends(_role("admin"))]
WS = Annotated[Workspace, Depends(workspace_of)]
RunWS = Annotated[Workspace, Depends(run_of)]
Queue = Annotated[JobQueue, Depends(queue_of)]
Cursor = Annotated[str | None, Query(max_length=200)]
Limit = Annotated[int, Query(ge=1, le=MAX_LIMIT)]
Id = Annotated[int, Path(ge=1, le=MAX_ID)]


def after(cursor: str | None) -> int:
    """The id a cursor stands for (0 without one)."""
    if not cursor:
        return 0
    try:
        value = int(base64.urlsafe_b64decode(cursor.encode()).decode())
    except (ValueError, binascii.Error, UnicodeDecodeError):
        value = -1
    if not 0 <= value <= MAX_ID:
        raise ApiError(400, errors.INVALID_CURSOR, "the cursor is not one this API gave out")
    return value


def page(response: Response, items: list[dict[str, Any]], has_more: bool, total: int) -> dict[str, Any]:
    """A page of ``items`` and the cursor of the next; ``X-Total-Count`` holds the whole count."""
    response.headers["X-Total-Count"] = str(total)
    cursor = base64.urlsafe_b64encode(str(items[-1]["id"]).encode()).decode() if has_more and items else None
    return {"items": items, "has_more": has_more, "next_cursor": cursor}
