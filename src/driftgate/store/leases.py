"""Repo leases: one open-PR job per config repo at a time, fenced by an epoch.

These functions never commit: the caller owns the transaction.
"""

from __future__ import annotations

import time
from typing import Any

from sqlalchemy import Connection, and_, select, update
from sqlalchemy.exc import IntegrityError

from driftgate.store.tables import repo_leases


def take_lease(conn: Connection, repo_id: int, holder: str, *, seconds: float) -> int | None:
    """Take the repo's lease if free or expired (one winner, decided by the database).

    Returns the grant's epoch - higher than every earlier grant for this repo - or None.
    Released leases keep their row (expired), so epochs never start over.
    """
    now = time.time()
    try:
        with conn.begin_nested():
            conn.execute(
                repo_leases.insert().values(repo_id=repo_id, holder=holder, expires_at=now + seconds, epoch=1)
            )
        return 1
    except IntegrityError:
        taken = conn.execute(
            update(repo_leases)
            .where(and_(repo_leases.c.repo_id == repo_id, repo_leases.c.expires_at < now))
            .values(holder=holder, expires_at=now + seconds, epoch=repo_leases.c.epoch + 1)
        )
        if not taken.rowcount:
            return None
        return int(
            conn.execute(select(repo_leases.c.epoch).where(repo_leases.c.repo_id == repo_id)).scalar_one()
        )


def _holds(repo_id: int, holder: str, epoch: int) -> Any:
    return and_(
        repo_leases.c.repo_id == repo_id, repo_leases.c.holder == holder, repo_leases.c.epoch == epoch
    )


def renew_lease(conn: Connection, repo_id: int, holder: str, epoch: int, *, seconds: float) -> bool:
    """Extend a grant that is still this holder's (same epoch); False when it was taken over."""
    result = conn.execute(
        update(repo_leases).where(_holds(repo_id, holder, epoch)).values(expires_at=time.time() + seconds)
    )
    return bool(result.rowcount)


def lease_is_current(conn: Connection, repo_id: int, holder: str, epoch: int) -> bool:
    return (
        conn.execute(select(repo_leases.c.repo_id).where(_holds(repo_id, holder, epoch))).first() is not None
    )


def lease_fence(repo_id: int, holder: str, epoch: int) -> Any:
    """A WHERE clause that holds only while this grant is the current one (for fenced updates)."""
    return select(repo_leases.c.repo_id).where(_holds(repo_id, holder, epoch)).exists()


def release_lease(conn: Connection, repo_id: int, holder: str, epoch: int) -> None:
    conn.execute(update(repo_leases).where(_holds(repo_id, holder, epoch)).values(expires_at=0.0))
