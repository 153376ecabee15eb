"""Runs and their ledger: one outcome row per planned action, written as the apply goes.

These functions never commit: the caller owns the transaction.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Connection, Row, and_, func, select, update

from driftgate.store.db import upsert
from driftgate.store.tables import action_outcomes, runs, stacks


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
    upsert(conn, action_outcomes, full, ("run_id", "idx"))


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


def list_runs(
    conn: Connection,
    *,
    stack: str | None = None,
    limit: int = 50,
    status: str | None = None,
    actor: str | None = None,
    before: float | None = None,
) -> list[RunRow]:
    """Newest first; ``before`` (a run's ``started_at``) pages on without an offset."""
    query = _run_query()
    if stack:
        query = query.where(stacks.c.name == stack)
    if status:
        query = query.where(runs.c.status == status)
    if actor:
        query = query.where(runs.c.actor == actor)
    if before is not None:
        query = query.where(runs.c.started_at < before)
    rows = conn.execute(query.order_by(runs.c.started_at.desc()).limit(limit)).all()
    return [_run_row(r) for r in rows]


def outcome_progress(conn: Connection, run_id: str) -> tuple[int, int]:
    """(actions done, actions planned) of a run."""
    rows = conn.execute(
        select(action_outcomes.c.phase, func.count())
        .where(action_outcomes.c.run_id == run_id)
        .group_by(action_outcomes.c.phase)
    ).all()
    counts = {str(r[0]): int(r[1]) for r in rows}
    return counts.get("done", 0), sum(counts.values())


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


def run_counts(conn: Connection) -> dict[tuple[str, str], int]:
    rows = conn.execute(
        select(runs.c.kind, runs.c.status, func.count()).group_by(runs.c.kind, runs.c.status)
    ).all()
    return {(str(r[0]), str(r[1])): int(r[2]) for r in rows}
