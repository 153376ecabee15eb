"""Authentication and roles for the API: bearer tokens; viewer < operator < admin."""

from __future__ import annotations

from collections.abc import Callable
from typing import Annotated

from fastapi import Depends, Header, Request

from driftgate.api.errors import ApiError
from driftgate.errors import FORBIDDEN, UNAUTHENTICATED
from driftgate.services.tokens import Principal, authenticate
from driftgate.services.workspace import Workspace


def workspace_of(request: Request) -> Workspace:
    ws: Workspace = request.app.state.ws
    return ws


def principal(request: Request, authorization: Annotated[str | None, Header()] = None) -> Principal:
    scheme, _, token = (authorization or "").partition(" ")
    if scheme.lower() != "bearer" or not token:
        raise ApiError(
            401, UNAUTHENTICATED, "a bearer token is required", headers={"WWW-Authenticate": "Bearer"}
        )
    found = authenticate(workspace_of(request), token.strip())
    if found is None:
        raise ApiError(401, UNAUTHENTICATED, "the token is not valid", headers={"WWW-Authenticate": "Bearer"})
    return found


def _role(needed: str) -> Callable[[Principal], Principal]:
    def check(who: Annotated[Principal, Depends(principal)]) -> Principal:
        if not who.can(needed):
            raise ApiError(403, FORBIDDEN, f"this needs the {needed} role; the token has {who.role}")
        return who

    return check


Viewer = Annotated[Principal, Depends(_role("viewer"))]
Operator = Annotated[Principal, Depends(_role("operator"))]
Admin = Annotated[Principal, Depends(_role("admin"))]
