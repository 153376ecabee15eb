"""API tokens: a name, a role and the hash of the token (never the token).

These functions never commit: the caller owns the transaction.
"""

from __future__ import annotations

import time
from dataclasses import dataclass

from sqlalchemy import Connection, and_, select
from sqlalchemy.exc import IntegrityError

from driftgate.store.config_repos import NameTaken
from driftgate.store.tables import api_tokens


@dataclass(frozen=True)
class TokenRow:
    id: int
    name: str
    role: str


def add_token(conn: Connection, *, name: str, role: str, token_hash: str) -> int:
    try:
        with conn.begin_nested():
            result = conn.execute(
                api_tokens.insert().values(
                    name=name, role=role, token_hash=token_hash, created_at=time.time()
                )
            )
    except IntegrityError:
        raise NameTaken(name) from None
    return int(result.inserted_primary_key[0])  # type: ignore[index]


def token_by_hash(conn: Connection, token_hash: str) -> TokenRow | None:
    row = conn.execute(
        select(api_tokens).where(
            and_(api_tokens.c.token_hash == token_hash, api_tokens.c.revoked_at.is_(None))
        )
    ).first()
    return TokenRow(row.id, row.name, row.role) if row else None


def list_tokens(conn: Connection) -> list[dict[str, object]]:
    """Every token's name, role and dates (never a hash)."""
    rows = conn.execute(
        select(
            api_tokens.c.name, api_tokens.c.role, api_tokens.c.created_at, api_tokens.c.revoked_at
        ).order_by(api_tokens.c.name)
    ).all()
    return [dict(r._mapping) for r in rows]


def revoke_token(conn: Connection, name: str) -> bool:
    from sqlalchemy import update

    result = conn.execute(
        update(api_tokens)
        .where(and_(api_tokens.c.name == name, api_tokens.c.revoked_at.is_(None)))
        .values(revoked_at=time.time())
    )
    return bool(result.rowcount)
