"""Stacks: a name bound to one place, and the serial of its recorded state.

These functions never commit: the caller owns the transaction.
"""

from __future__ import annotations

import time
from dataclasses import dataclass

from sqlalchemy import Connection, select, update
from sqlalchemy.exc import IntegrityError

from driftgate.store.tables import stacks


@dataclass(frozen=True)
class StackRow:
    id: int
    name: str
    directory: str
    state_serial: int
    location: str | None = None


def ensure_stack(conn: Connection, name: str, directory: str) -> StackRow:
    row = conn.execute(select(stacks).where(stacks.c.name == name)).first()
    if row is None:
        now = time.time()
        try:
            with conn.begin_nested():
                conn.execute(
                    stacks.insert().values(
                        name=name,
                        directory=directory,
                        state_serial=0,
                        created_at=now,
                        updated_at=now,
                    )
                )
        except IntegrityError:
            pass  # created concurrently
        row = conn.execute(select(stacks).where(stacks.c.name == name)).one()
    elif row.directory != directory:
        conn.execute(update(stacks).where(stacks.c.id == row.id).values(directory=directory))
    return StackRow(row.id, row.name, directory, row.state_serial, row.location)


def find_stack(conn: Connection, name: str) -> StackRow | None:
    row = conn.execute(select(stacks).where(stacks.c.name == name)).first()
    return StackRow(row.id, row.name, row.directory, row.state_serial, row.location) if row else None


def list_stacks(conn: Connection) -> list[StackRow]:
    rows = conn.execute(select(stacks).order_by(stacks.c.name)).all()
    return [StackRow(r.id, r.name, r.directory, r.state_serial, r.location) for r in rows]


def bind_stack(conn: Connection, stack_id: int, location: str) -> None:
    conn.execute(
        update(stacks).where(stacks.c.id == stack_id).values(location=location, updated_at=time.time())
    )


def bump_serial(conn: Connection, stack_id: int) -> None:
    conn.execute(
        update(stacks)
        .where(stacks.c.id == stack_id)
        .values(state_serial=stacks.c.state_serial + 1, updated_at=time.time())
    )


def state_serial(conn: Connection, stack_id: int) -> int:
    return int(conn.execute(select(stacks.c.state_serial).where(stacks.c.id == stack_id)).scalar_one())
