"""Dashboard sessions: the hash of a cookie's value, the token it was opened with, its CSRF token.

These functions never commit: the caller owns the transaction.
"""

from __future__ import annotations

import time

from sqlalchemy import Connection, and_, delete, select

from driftgate.store.tables import api_tokens, ui_sessions
from driftgate.store.tokens import TokenRow


def add_session(conn: Connection, *, id_hash: str, token_id: int, csrf: str, seconds: float) -> None:
    now = time.time()
    conn.execute(delete(ui_sessions).where(ui_sessions.c.expires_at < now))  # the expired go now
    conn.execute(
        ui_sessions.insert().values(
            id_hash=id_hash, token_id=token_id, csrf=csrf, created_at=now, expires_at=now + seconds
        )
    )


def find_session(conn: Connection, id_hash: str) -> tuple[TokenRow, str] | None:
    """The live session's token (not revoked) and CSRF token, or None."""
    row = conn.execute(
        select(api_tokens.c.id, api_tokens.c.name, api_tokens.c.role, ui_sessions.c.csrf)
        .join(api_tokens, api_tokens.c.id == ui_sessions.c.token_id)
        .where(
            and_(
                ui_sessions.c.id_hash == id_hash,
                ui_sessions.c.expires_at > time.time(),
                api_tokens.c.revoked_at.is_(None),
            )
        )
    ).first()
    return (TokenRow(row.id, row.name, row.role), str(row.csrf)) if row else None


def delete_session(conn: Connection, id_hash: str) -> None:
    conn.execute(delete(ui_sessions).where(ui_sessions.c.id_hash == id_hash))
