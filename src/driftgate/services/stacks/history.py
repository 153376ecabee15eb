"""Read models for past runs, their ledgers, and recorded state."""

from __future__ import annotations

from dataclasses import asdict
from typing import Any

from sqlalchemy import Connection

from driftgate.errors import NotFoundError
from driftgate.liveness import pid_alive
from driftgate.services.workspace import Workspace
from driftgate.store import locks as locks_db
from driftgate.store import runs as runs_db
from driftgate.store import stacks as stacks_db
from driftgate.store import states as states_db

UNCERTAIN = "UNCERTAIN"
NOT_STARTED = "NOT_STARTED"


def _run_status(ws: Workspace, run: runs_db.RunRow, locked_run: str | None) -> str:
    """A 'running' run whose process is gone (or whose lock was broken) was interrupted."""
    if run.status != "running":
        return run.status
    if locked_run != run.id:
        return "interrupted"
    if run.host == ws.settings.hostname and run.pid and not pid_alive(run.pid):
        return "interrupted"
    return "running"


def _locked_run(conn: Connection, stack: str) -> str | None:
    row = stacks_db.find_stack(conn, stack)
    lock = locks_db.get_lock(conn, row.id) if row else None
    return lock.run_id if lock else None


def list_runs(ws: Workspace, *, stack: str | None = None, limit: int = 50) -> list[dict[str, Any]]:
    with ws.transaction() as conn:
        rows = runs_db.list_runs(conn, stack=stack, limit=limit)
        locks = {name: _locked_run(conn, name) for name in {r.stack for r in rows}}
    return [{**asdict(r), "status": _run_status(ws, r, locks[r.stack])} for r in rows]


def runs_page(
    ws: Workspace,
    *,
    stack: str | None = None,
    status: str | None = None,
    actor: str | None = None,
    before: float | None = None,
    limit: int = 50,
) -> tuple[list[dict[str, Any]], bool]:
    """One page of runs, newest first, and whether there are older ones (page on with ``before``:
    the last one's ``started_at``). A run still 'running' whose process is gone reads 'interrupted'
    (so a status filter of 'running' may show fewer)."""
    with ws.transaction() as conn:
        rows = runs_db.list_runs(
            conn, stack=stack, status=status, actor=actor, before=before, limit=limit + 1
        )
        locks = {name: _locked_run(conn, name) for name in {r.stack for r in rows}}
    found = [{**asdict(r), "status": _run_status(ws, r, locks[r.stack])} for r in rows[:limit]]
    return found, len(rows) > limit


def run_progress(ws: Workspace, run_id: str) -> dict[str, Any]:
    """How far a run is: actions done of planned, and its status (for live updates)."""
    with ws.transaction() as conn:
        run = runs_db.find_run(conn, run_id)
        if run is None:
            raise NotFoundError(f"no run matches {run_id!r}")
        done, total = runs_db.outcome_progress(conn, run.id)
        locked = _locked_run(conn, run.stack)
    return {"done": done, "total": total, "status": _run_status(ws, run, locked)}


def show_run(ws: Workspace, run_id: str, *, outputs: bool = True) -> dict[str, Any]:
    """The run and its ledger; ``outputs=False`` leaves each action's outputs out (``None``): a
    listing does not decode them."""
    with ws.transaction() as conn:
        run = runs_db.find_run(conn, run_id)
        if run is None:
            raise NotFoundError(f"no run matches {run_id!r} (give at least 4 characters of its id)")
        outcomes = runs_db.run_outcomes(conn, run.id, outputs=outputs)
        locked = _locked_run(conn, run.stack)
    ledger = [_ledger_entry(o) for o in outcomes]
    return {**asdict(run), "status": _run_status(ws, run, locked), "ledger": ledger}


def _ledger_entry(row: dict[str, Any]) -> dict[str, Any]:
    status = row["status"]
    if row["phase"] == "in_flight":
        status = UNCERTAIN
    elif row["phase"] == "pending":
        status = NOT_STARTED
    return {
        "index": row["idx"],
        "address": row["address"],
        "action": row["action"],
        "status": status,
        "phase": row["phase"],
        "error": row["error"],
        "outputs": row["outputs"],
        "attempted": row["attempted"],
        "started_at": row["started_at"],
        "finished_at": row["finished_at"],
    }


def _stack_id(conn: Connection, stack: str) -> int:
    row = stacks_db.find_stack(conn, stack)
    if row is None:
        raise NotFoundError(f"no stack named {stack!r} in this store")
    return row.id


def list_state(ws: Workspace, stack: str) -> list[dict[str, Any]]:
    with ws.transaction() as conn:
        states = states_db.load_state(conn, _stack_id(conn, stack))
    return [_state_entry(r) for r in sorted(states.values(), key=lambda r: r.address)]


def list_addresses(ws: Workspace, stack: str) -> list[dict[str, Any]]:
    """The recorded resources without their values (fast, for listings)."""
    with ws.transaction() as conn:
        found = states_db.list_resources(conn, _stack_id(conn, stack))
    return [{"address": a, "type": t, "status": s, "run_id": r} for a, t, s, r in found]


def show_state(ws: Workspace, stack: str, address: str) -> dict[str, Any]:
    with ws.transaction() as conn:
        found = states_db.get_state(conn, _stack_id(conn, stack), address)
    if found is None:
        raise NotFoundError(f"no recorded state for {address} in stack {stack!r}")
    return _state_entry(found)


def _state_entry(r: Any) -> dict[str, Any]:
    return {
        "address": r.address,
        "module": r.module,
        "type": r.type,
        "status": "uncertain" if r.uncertain else "applied",
        "attributes": r.attributes,
        "outputs": r.outputs,
        "depends_on": list(r.depends_on),
        "run_id": r.run_id,
    }
