"""Repositories: queries and writes over a Connection. They never commit: the caller owns the transaction."""

from __future__ import annotations

import time
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Connection, Row, and_, delete, func, select, update
from sqlalchemy.exc import IntegrityError

from driftgate.plan.state import RecordedResource
from driftgate.store.tables import action_outcomes, backups, resource_states, runs, stack_locks, stacks

APPLIED = "applied"
UNCERTAIN = "uncertain"


def _upsert(conn: Connection, table: Any, rows: list[dict[str, Any]], keys: Sequence[str]) -> None:
    if not rows:
        return
    stmt: Any
    if conn.dialect.name == "postgresql":
        from sqlalchemy.dialects.postgresql import insert as pg_insert

        stmt = pg_insert(table)
    else:
        from sqlalchemy.dialects.sqlite import insert as sqlite_insert

        stmt = sqlite_insert(table)
    updates = {c: stmt.excluded[c] for c in rows[0] if c not in keys}
    conn.execute(stmt.on_conflict_do_update(index_elements=list(keys), set_=updates), rows)


# -- stacks ------------------------------------------------------------------


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


# -- resource state ------------------------------------------------------------


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
        stateful=bool(r.stateful),
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
    stateful: bool = False


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
            "stateful": w.stateful,
            "run_id": run_id,
            "updated_at": now,
        }
        for w in writes
    ]
    _upsert(conn, resource_states, rows, ("stack_id", "address"))


def set_module_statefulness(conn: Connection, stack_id: int, stateful: Mapping[str, bool]) -> None:
    """Record, for every resource of each module, whether the specs call that module stateful now."""
    for module, flag in stateful.items():
        conn.execute(
            update(resource_states)
            .where(
                and_(
                    resource_states.c.stack_id == stack_id,
                    resource_states.c.module == module,
                    resource_states.c.stateful != flag,
                )
            )
            .values(stateful=flag)
        )


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


# -- runs and the ledger -------------------------------------------------------


def create_run(
    conn: Connection, *, run_id: str, stack_id: int, kind: str, actor: str, pid: int, host: str
) -> None:
    conn.execute(
        runs.insert().values(
            id=run_id,
            stack_id=stack_id,
            kind=kind,
            status="running",
            actor=actor,
            started_at=time.time(),
            summary={},
            errors=[],
            pid=pid,
            host=host,
        )
    )


def record_run(
    conn: Connection,
    *,
    run_id: str,
    stack_id: int,
    kind: str,
    actor: str,
    pid: int,
    host: str,
    status: str,
    summary: dict[str, Any],
    errors: list[str],
    action_count: int | None = None,
) -> None:
    """A run that starts and ends at once (a refusal, a reconcile's record, a move)."""
    create_run(conn, run_id=run_id, stack_id=stack_id, kind=kind, actor=actor, pid=pid, host=host)
    finish_run(conn, run_id, status=status, action_count=action_count, summary=summary, errors=errors)


@dataclass(frozen=True)
class PlannedRow:
    index: int
    address: str
    action: str
    outputs: dict[str, Any]


def insert_planned_outcomes(
    conn: Connection, run_id: str, planned: Sequence[PlannedRow], *, now: float
) -> None:
    """One row per planned action. No-ops are recorded done (SUCCESS) at once: nothing will touch them."""
    rows = [
        {
            "run_id": run_id,
            "idx": p.index,
            "address": p.address,
            "action": p.action,
            "phase": "done" if p.action == "noop" else "pending",
            "status": "SUCCESS" if p.action == "noop" else None,
            "outputs": p.outputs if p.action == "noop" else {},
            "attempted": False,
            "started_at": now if p.action == "noop" else None,
            "finished_at": now if p.action == "noop" else None,
        }
        for p in planned
    ]
    for start in range(0, len(rows), 5000):
        conn.execute(action_outcomes.insert(), rows[start : start + 5000])


def mark_in_flight(conn: Connection, run_id: str, indices: Sequence[int]) -> None:
    if indices:
        conn.execute(
            update(action_outcomes)
            .where(and_(action_outcomes.c.run_id == run_id, action_outcomes.c.idx.in_(indices)))
            .values(phase="in_flight", attempted=True, started_at=time.time())
        )


def finish_outcomes(conn: Connection, run_id: str, rows: list[dict[str, Any]]) -> None:
    """Rows: idx, status, error, outputs, attempted, started_at, finished_at."""
    if not rows:
        return
    full = [{"run_id": run_id, "phase": "done", **r} for r in rows]
    _upsert(conn, action_outcomes, full, ("run_id", "idx"))


def finish_run(
    conn: Connection,
    run_id: str,
    *,
    status: str,
    action_count: int | None,
    summary: dict[str, Any],
    errors: list[str],
) -> None:
    conn.execute(
        update(runs)
        .where(runs.c.id == run_id)
        .values(
            status=status,
            finished_at=time.time(),
            action_count=action_count,
            summary=summary,
            errors=errors,
        )
    )


def mark_run_interrupted(conn: Connection, run_id: str) -> None:
    conn.execute(
        update(runs)
        .where(and_(runs.c.id == run_id, runs.c.status == "running"))
        .values(status="interrupted", finished_at=time.time())
    )


@dataclass(frozen=True)
class RunRow:
    id: str
    stack: str
    kind: str
    status: str
    actor: str
    started_at: float
    finished_at: float | None
    action_count: int | None
    summary: dict[str, Any]
    errors: list[str]
    pid: int | None
    host: str | None


def _run_query() -> Any:
    return select(runs, stacks.c.name.label("stack")).join(stacks, stacks.c.id == runs.c.stack_id)


def _run_row(r: Row[Any]) -> RunRow:
    return RunRow(
        id=r.id,
        stack=r.stack,
        kind=r.kind,
        status=r.status,
        actor=r.actor,
        started_at=r.started_at,
        finished_at=r.finished_at,
        action_count=r.action_count,
        summary=r.summary,
        errors=r.errors,
        pid=r.pid,
        host=r.host,
    )


def list_runs(conn: Connection, *, stack: str | None = None, limit: int = 50) -> list[RunRow]:
    query = _run_query()
    if stack:
        query = query.where(stacks.c.name == stack)
    rows = conn.execute(query.order_by(runs.c.started_at.desc()).limit(limit)).all()
    return [_run_row(r) for r in rows]


def find_run(conn: Connection, run_id: str) -> RunRow | None:
    if len(run_id) < 4:
        return None
    rows = conn.execute(_run_query().where(runs.c.id.like(f"{run_id}%")).limit(2)).all()
    return _run_row(rows[0]) if len(rows) == 1 else None


def run_outcomes(conn: Connection, run_id: str, *, outputs: bool = True) -> list[dict[str, Any]]:
    columns = [c for c in action_outcomes.c if outputs or c.name != "outputs"]
    names = [c.name for c in columns]
    rows = conn.execute(
        select(*columns).where(action_outcomes.c.run_id == run_id).order_by(action_outcomes.c.idx)
    ).all()
    found = [dict(zip(names, r, strict=True)) for r in rows]
    if not outputs:
        for entry in found:
            entry["outputs"] = None
    return found


# -- stack locks ----------------------------------------------------------------


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


def get_lock(conn: Connection, stack_id: int) -> LockRow | None:
    row = conn.execute(select(stack_locks).where(stack_locks.c.stack_id == stack_id)).first()
    return LockRow(row.stack_id, row.run_id, row.holder, row.pid, row.host, row.acquired_at) if row else None


def release_lock(conn: Connection, stack_id: int, run_id: str | None) -> int:
    stmt = delete(stack_locks).where(stack_locks.c.stack_id == stack_id)
    if run_id is not None:
        stmt = stmt.where(stack_locks.c.run_id == run_id)
    return int(conn.execute(stmt).rowcount)


def count_states(conn: Connection, stack_id: int) -> int:
    return int(
        conn.execute(
            select(func.count()).select_from(resource_states).where(resource_states.c.stack_id == stack_id)
        ).scalar_one()
    )


def record_commit_back(conn: Connection, run_id: str, result: dict[str, Any], *, diverged: bool) -> None:
    """Attach a commit-back result to its run; a diverged one marks the run ``diverged``."""
    row = conn.execute(select(runs.c.summary, runs.c.status).where(runs.c.id == run_id)).first()
    if row is None:
        return
    summary = {**(row.summary or {}), "commit_back": result}
    status = "diverged" if diverged else ("succeeded" if row.status == "diverged" else row.status)
    conn.execute(update(runs).where(runs.c.id == run_id).values(summary=summary, status=status))


def last_successful_run(conn: Connection, stack_id: int) -> RunRow | None:
    rows = conn.execute(
        _run_query()
        .where(runs.c.stack_id == stack_id, runs.c.status.in_(("succeeded", "diverged")))
        .order_by(runs.c.started_at.desc())
        .limit(1)
    ).all()
    return _run_row(rows[0]) if rows else None


# -- backups ----------------------------------------------------------------------


@dataclass(frozen=True)
class BackupRow:
    ref: str
    module: str
    path: str
    sha256: str
    size: int
    created_at: float
    manifest: dict[str, Any]


def add_backup(conn: Connection, stack_id: int, row: BackupRow) -> None:
    conn.execute(backups.insert().values(stack_id=stack_id, **row.__dict__))


def _backup(r: Row[Any]) -> BackupRow:
    return BackupRow(r.ref, r.module, r.path, r.sha256, r.size, r.created_at, r.manifest)


def find_backup(conn: Connection, stack_id: int, ref: str) -> BackupRow | None:
    row = conn.execute(
        select(backups).where(and_(backups.c.stack_id == stack_id, backups.c.ref == ref))
    ).first()
    return _backup(row) if row else None


def list_backups(conn: Connection, stack_id: int, module: str | None = None) -> list[BackupRow]:
    query = select(backups).where(backups.c.stack_id == stack_id)
    if module:
        query = query.where(backups.c.module == module)
    return [_backup(r) for r in conn.execute(query.order_by(backups.c.created_at.desc())).all()]


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


def run_counts(conn: Connection) -> dict[tuple[str, str], int]:
    rows = conn.execute(
        select(runs.c.kind, runs.c.status, func.count()).group_by(runs.c.kind, runs.c.status)
    ).all()
    return {(str(r[0]), str(r[1])): int(r[2]) for r in rows}
