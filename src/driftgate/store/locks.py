"""The stack lock: one run at a time per stack, held in the store.

These functions never commit: the caller owns the transaction.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Connection, delete, select
from sqlalchemy.exc import IntegrityError

from driftgate.store.tables import stack_locks


@dataclass(frozen=True)
class LockRow:
    stack_id: int
    run_id: str | None
    holder: str
    pid: int
    host: str
    acquired_at: float


def try_lock(
    conn: Connection, *, stack_id: int, run_id: str, holder: str, pid: int, host: str
) -> LockRow | None:
    """Take the lock (returns None) or return the current holder."""
    try:
        with conn.begin_nested():
            conn.execute(
                stack_locks.insert().values(
                    stack_id=stack_id,
                    run_id=run_id,
                    holder=holder,
                    pid=pid,
                    host=host,
                    acquired_at=time.time(),
                )
            )
        return None
    except IntegrityError:
        found = get_lock(conn, stack_id)
        return found or LockRow(stack_id, None, "unknown (released meanwhile)", 0, "", 0.0)


def _lock(row: Any) -> LockRow:
    return LockRow(row.stack_id, row.run_id, row.holder, row.pid, row.host, row.acquired_at)


def get_lock(conn: Connection, stack_id: int) -> LockRow | None:
    row = conn.execute(select(stack_locks).where(stack_locks.c.stack_id == stack_id)).first()
    return _lock(row) if row else None


def all_locks(conn: Connection) -> dict[int, LockRow]:
    """Every held lock, by stack id."""
    return {row.stack_id: row for row in (_lock(r) for r in conn.execute(select(stack_locks)))}


def release_lock(conn: Connection, stack_id: int, run_id: str | None) -> int:
    stmt = delete(stack_locks).where(stack_locks.c.stack_id == stack_id)
    if run_id is not None:
        stmt = stmt.where(stack_locks.c.run_id == run_id)
    return int(conn.execute(stmt).rowcount)
