"""Config repos: the registry of git repositories proposals are opened against.

These functions never commit: the caller owns the transaction.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Connection, Row, func, select, update
from sqlalchemy.exc import IntegrityError

from driftgate.store.tables import config_repos


class NameTaken(Exception):
    """A unique name is already in use (the database constraint decided)."""


@dataclass(frozen=True)
class ConfigRepoRow:
    id: int
    name: str
    url: str
    default_branch: str
    forge: str
    auth_ref: str
    webhook_secret_ref: str | None
    created_at: float
    updated_at: float


def _repo(r: Row[Any]) -> ConfigRepoRow:
    return ConfigRepoRow(
        r.id,
        r.name,
        r.url,
        r.default_branch,
        r.forge,
        r.auth_ref,
        r.webhook_secret_ref,
        r.created_at,
        r.updated_at,
    )


def add_config_repo(conn: Connection, **values: Any) -> int:
    now = time.time()
    try:
        with conn.begin_nested():
            result = conn.execute(config_repos.insert().values(created_at=now, updated_at=now, **values))
    except IntegrityError:
        raise NameTaken(values.get("name", "")) from None
    return int(result.inserted_primary_key[0])  # type: ignore[index]


def get_config_repo(conn: Connection, repo_id: int) -> ConfigRepoRow | None:
    row = conn.execute(select(config_repos).where(config_repos.c.id == repo_id)).first()
    return _repo(row) if row else None


def list_config_repos(conn: Connection, *, after: int, limit: int) -> tuple[list[ConfigRepoRow], int]:
    rows = conn.execute(
        select(config_repos).where(config_repos.c.id > after).order_by(config_repos.c.id).limit(limit + 1)
    ).all()
    total = int(conn.execute(select(func.count()).select_from(config_repos)).scalar_one())
    return [_repo(r) for r in rows], total


def update_config_repo(conn: Connection, repo_id: int, **values: Any) -> None:
    try:
        with conn.begin_nested():
            conn.execute(
                update(config_repos)
                .where(config_repos.c.id == repo_id)
                .values(updated_at=time.time(), **values)
            )
    except IntegrityError:
        raise NameTaken(values.get("name", "")) from None


def delete_config_repo(conn: Connection, repo_id: int) -> bool:
    return bool(conn.execute(config_repos.delete().where(config_repos.c.id == repo_id)).rowcount)


def all_config_repos(conn: Connection) -> list[ConfigRepoRow]:
    return [_repo(r) for r in conn.execute(select(config_repos)).all()]
