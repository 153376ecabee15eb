"""Recorded state: one row per resource address, applied or uncertain.

These functions never commit: the caller owns the transaction.
"""

from __future__ import annotations

import time
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Connection, Row, and_, delete, false, func, select, update

from driftgate.plan.state import RecordedResource
from driftgate.store.db import upsert
from driftgate.store.tables import action_outcomes, resource_states, runs

APPLIED = "applied"


UNCERTAIN = "uncertain"


def load_state(conn: Connection, stack_id: int) -> dict[str, RecordedResource]:
    """Every recorded resource, with the status of the run that last touched it (to explain it)."""
    query = (
        select(resource_states, runs.c.status.label("run_status"))
        .select_from(resource_states.outerjoin(runs, runs.c.id == resource_states.c.run_id))
        .where(resource_states.c.stack_id == stack_id)
    )
    return {r.address: _recorded(r) for r in conn.execute(query).all()}


def list_resources(conn: Connection, stack_id: int) -> list[tuple[str, str, str, str | None]]:
    """(address, type, status, run id) of every recorded resource, by address: no values decoded."""
    rows = conn.execute(
        select(
            resource_states.c.address,
            resource_states.c.type,
            resource_states.c.status,
            resource_states.c.run_id,
        )
        .where(resource_states.c.stack_id == stack_id)
        .order_by(resource_states.c.address)
    ).all()
    return [(address, type_, status, run_id) for address, type_, status, run_id in rows]  # by position: fast


def _recorded(r: Row[Any]) -> RecordedResource:
    return RecordedResource(
        address=r.address,
        module=r.module,
        type=r.type,
        attributes=r.attributes,
        outputs=r.outputs,
        depends_on=tuple(r.depends_on),
        uncertain=r.status == UNCERTAIN,
        run_id=r.run_id,
        data_bearing=bool(r.data_bearing),
        data_bearing_parts=tuple(r.data_bearing_parts or ()),
        run_status=getattr(r, "run_status", None),
    )


def get_state(conn: Connection, stack_id: int, address: str) -> RecordedResource | None:
    row = conn.execute(
        select(resource_states).where(
            and_(resource_states.c.stack_id == stack_id, resource_states.c.address == address)
        )
    ).first()
    return _recorded(row) if row else None


@dataclass(frozen=True)
class StateWrite:
    address: str
    module: str
    type: str
    attributes: dict[str, Any]
    outputs: dict[str, Any]
    depends_on: Sequence[str]
    status: str
    data_bearing: bool = False  # only rises: an existing row's True is kept


def upsert_states(conn: Connection, stack_id: int, run_id: str, writes: Iterable[StateWrite]) -> None:
    now = time.time()
    rows = [
        {
            "stack_id": stack_id,
            "address": w.address,
            "module": w.module,
            "type": w.type,
            "attributes": w.attributes,
            "outputs": w.outputs,
            "depends_on": list(w.depends_on),
            "status": w.status,
            "data_bearing": w.data_bearing,
            "run_id": run_id,
            "updated_at": now,
        }
        for w in writes
    ]
    upsert(conn, resource_states, rows, ("stack_id", "address"), rising=("data_bearing",))


def mark_data_bearing(
    conn: Connection, stack_id: int, addresses: Sequence[str], parts: Mapping[str, Sequence[str]]
) -> int:
    """Raise the data-bearing record of ``addresses`` (never lowered: no spec edit undoes it), and set
    the data-bearing parts of expanding resources (``parts``: address → every part's key). Returns
    how many records changed."""
    changed = 0
    if addresses:
        changed += conn.execute(
            update(resource_states)
            .where(
                and_(
                    resource_states.c.stack_id == stack_id,
                    resource_states.c.address.in_(addresses),
                    resource_states.c.data_bearing == false(),
                )
            )
            .values(data_bearing=True)
        ).rowcount
    for address, keys in parts.items():
        changed += conn.execute(
            update(resource_states)
            .where(and_(resource_states.c.stack_id == stack_id, resource_states.c.address == address))
            .values(data_bearing_parts=sorted(keys))
        ).rowcount
    return changed


def mark_uncertain(conn: Connection, stack_id: int, run_id: str, addresses: Sequence[str]) -> None:
    if addresses:
        conn.execute(
            update(resource_states)
            .where(and_(resource_states.c.stack_id == stack_id, resource_states.c.address.in_(addresses)))
            .values(status=UNCERTAIN, run_id=run_id, updated_at=time.time())
        )


def delete_states(conn: Connection, stack_id: int, addresses: Sequence[str]) -> None:
    if addresses:
        conn.execute(
            delete(resource_states).where(
                and_(resource_states.c.stack_id == stack_id, resource_states.c.address.in_(addresses))
            )
        )


def count_states(conn: Connection, stack_id: int) -> int:
    return int(
        conn.execute(
            select(func.count()).select_from(resource_states).where(resource_states.c.stack_id == stack_id)
        ).scalar_one()
    )


def last_module_change(conn: Connection, stack_id: int, module: str) -> float | None:
    """When an apply last changed a resource of ``module`` (a successful non-noop action)."""
    value = conn.execute(
        select(func.max(action_outcomes.c.finished_at))
        .select_from(action_outcomes.join(runs, runs.c.id == action_outcomes.c.run_id))
        .where(
            runs.c.stack_id == stack_id,
            action_outcomes.c.address.like(f"{module}/%"),
            action_outcomes.c.action != "noop",
            action_outcomes.c.status == "SUCCESS",
        )
    ).scalar()
    return float(value) if value is not None else None
