"""Dashboard sessions: opened with an API token, held by a random cookie whose hash is stored, each
with its own CSRF token; closed at logout, after ``SESSION_SECONDS``, or when the token is revoked."""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass

from driftgate.services.tokens import Principal, hash_token
from driftgate.services.workspace import Workspace
from driftgate.store import sessions as sessions_db
from driftgate.store import tokens as tokens_db

SESSION_SECONDS = 12 * 3600


@dataclass(frozen=True)
class UiSession:
    principal: Principal
    csrf: str


def _hash(session_id: str) -> str:
    return hashlib.sha256(session_id.encode()).hexdigest()


def open_session(ws: Workspace, token: str) -> tuple[str, UiSession] | None:
    """A new session for a valid token: (the cookie's value, the session), or None."""
    with ws.transaction() as conn:
        row = tokens_db.token_by_hash(conn, hash_token(token))
        if row is None:
            return None
        session_id, csrf = secrets.token_urlsafe(32), secrets.token_urlsafe(32)
        sessions_db.add_session(
            conn, id_hash=_hash(session_id), token_id=row.id, csrf=csrf, seconds=SESSION_SECONDS
        )
    return session_id, UiSession(Principal(row.name, row.role), csrf)


def session_for(ws: Workspace, session_id: str) -> UiSession | None:
    if len(session_id) > 200:
        return None
    with ws.transaction() as conn:
        found = sessions_db.find_session(conn, _hash(session_id))
    if found is None:
        return None
    row, csrf = found
    return UiSession(Principal(row.name, row.role), csrf)


def close_session(ws: Workspace, session_id: str) -> None:
    with ws.transaction() as conn:
        sessions_db.delete_session(conn, _hash(session_id))
