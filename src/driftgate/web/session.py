"""Who is looking: a session cookie made at login from an API token, a CSRF token per session, the
API's roles. Sessions live in the store (only a hash of the cookie's value), end at logout, after
12 hours, or when their token is revoked."""

from __future__ import annotations

import hmac
import secrets
from dataclasses import dataclass
from typing import Annotated
from urllib.parse import quote

from fastapi import Depends, Form, Request

from driftgate.services import sessions
from driftgate.services.tokens import Principal
from driftgate.services.workspace import Workspace

COOKIE = "driftgate_session"
LOGIN_COOKIE = "driftgate_login"  # the login form's CSRF token, before there is a session


class LoginRequired(Exception):
    """Sent to the login page, then back to ``next``."""

    def __init__(self, next_path: str) -> None:
        super().__init__(next_path)
        self.next_path = next_path


class Forbidden(Exception):
    """A role too low for the page, or a form without its CSRF token."""


@dataclass(frozen=True)
class Viewer:
    principal: Principal
    csrf: str
    session_id: str

    def can(self, role: str) -> bool:
        return self.principal.can(role)


def workspace_of(request: Request) -> Workspace:
    ws: Workspace = request.app.state.ws
    return ws


def cookie_flags(request: Request) -> dict[str, object]:
    """HttpOnly, SameSite=Strict, Secure over HTTPS (or behind a proxy that says so), path /ui."""
    https = request.url.scheme == "https" or request.headers.get("x-forwarded-proto") == "https"
    return {"httponly": True, "samesite": "strict", "secure": https, "path": "/ui"}


def current(request: Request) -> Viewer | None:
    session_id = request.cookies.get(COOKIE)
    if not session_id:
        return None
    found = sessions.session_for(workspace_of(request), session_id)
    return Viewer(found.principal, found.csrf, session_id) if found else None


def _needs(role: str):  # type: ignore[no-untyped-def]
    def check(request: Request) -> Viewer:
        who = current(request)
        if who is None:
            path = request.url.path + (f"?{request.url.query}" if request.url.query else "")
            raise LoginRequired(path if request.method == "GET" else "/ui/")
        if not who.can(role):
            raise Forbidden(f"this needs the {role} role; you have {who.principal.role}")
        return who

    return check


def _posted(role: str):  # type: ignore[no-untyped-def]
    """A form post: the role, and the session's CSRF token in the form (constant-time compare)."""

    def check(request: Request, csrf: Annotated[str, Form()] = "") -> Viewer:
        who: Viewer = _needs(role)(request)
        if not csrf or not hmac.compare_digest(csrf, who.csrf):
            raise Forbidden("the form's CSRF token is missing or wrong: reload the page and try again")
        return who

    return check


AnyRole = Annotated[Viewer, Depends(_needs("viewer"))]
OperatorRole = Annotated[Viewer, Depends(_needs("operator"))]
AdminRole = Annotated[Viewer, Depends(_needs("admin"))]
PostViewer = Annotated[Viewer, Depends(_posted("viewer"))]
PostOperator = Annotated[Viewer, Depends(_posted("operator"))]
PostAdmin = Annotated[Viewer, Depends(_posted("admin"))]


def new_login_csrf() -> str:
    return secrets.token_urlsafe(24)


def safe_next(path: str) -> str:
    """Only a path of the dashboard itself: never another site (no open redirect)."""
    if not path.startswith("/ui/") or path.startswith("//") or "\\" in path:
        return "/ui/"
    return quote(path, safe="/?=&%-_.~")
