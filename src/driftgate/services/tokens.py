"""API tokens: created once, shown once, stored only as a hash; roles viewer < operator < admin."""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass

from driftgate.errors import TerminalError
from driftgate.services.workspace import Workspace
from driftgate.store import config_repos as config_repos_db
from driftgate.store import tokens as tokens_db

ROLES = ("viewer", "operator", "admin")
PREFIX = "dgt_"


@dataclass(frozen=True)
class Principal:
    name: str
    role: str

    def can(self, role: str) -> bool:
        return ROLES.index(self.role) >= ROLES.index(role)


def hash_token(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def create_token(ws: Workspace, name: str, role: str) -> str:
    """A new token for ``name`` with ``role``; the only time its value exists outside the caller."""
    if role not in ROLES:
        raise TerminalError(f"role must be one of {', '.join(ROLES)}")
    token = PREFIX + secrets.token_urlsafe(32)
    try:
        with ws.transaction() as conn:
            tokens_db.add_token(conn, name=name, role=role, token_hash=hash_token(token))
    except config_repos_db.NameTaken:
        raise TerminalError(f"a token named {name!r} already exists") from None
    return token


def authenticate(ws: Workspace, token: str) -> Principal | None:
    with ws.transaction() as conn:
        row = tokens_db.token_by_hash(conn, hash_token(token))
    return Principal(row.name, row.role) if row else None


def list_tokens(ws: Workspace) -> list[dict[str, object]]:
    with ws.transaction() as conn:
        return tokens_db.list_tokens(conn)


def revoke_token(ws: Workspace, name: str) -> None:
    """Revoke the token called ``name``: the API refuses it and its dashboard sessions end."""
    from driftgate.errors import NotFoundError

    with ws.transaction() as conn:
        if not tokens_db.revoke_token(conn, name):
            raise NotFoundError(f"no active token named {name!r}")
