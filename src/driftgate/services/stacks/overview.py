"""Read models for the dashboard: every stack at a glance, and one stack in full.

Built from the store (stacks, runs, locks, recorded state) and, when the stack's directory is on
this host, its specs (modules and which are stateful). Nothing here runs a provider.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from sqlalchemy import Connection, and_, desc, func, select

from driftgate.errors import NotFoundError
from driftgate.services.stacks.history import list_runs, list_state
from driftgate.services.stacks.locking import describe_holder
from driftgate.services.workspace import Workspace
from driftgate.spec.loader import module_specs
from driftgate.store import locks as locks_db
from driftgate.store import stacks as stacks_db
from driftgate.store import states as states_db
from driftgate.store.tables import runs


@dataclass
class StackSummary:
    name: str
    directory: str
    location: str | None
    last_run: dict[str, Any] | None
    drift: str  # "in sync" | "N drifted" | "unknown"
    drift_checked_at: float | None
    lock: str | None
    held_back: list[str] = field(default_factory=list)


CHECKS = ("drift", "reconcile")  # the runs that check drift: `driftgate drift` and a reconcile


def _last(conn: Connection, stack_id: int, kinds: tuple[str, ...] | None = None) -> Any:
    query = select(runs).where(runs.c.stack_id == stack_id)
    if kinds is not None:
        query = query.where(runs.c.kind.in_(kinds))
    return conn.execute(query.order_by(desc(runs.c.started_at)).limit(1)).first()


def _last_by_stack(conn: Connection, kinds: tuple[str, ...] | None = None) -> dict[int, Any]:
    """Every stack's newest run (of ``kinds``), in one query."""
    newest = select(runs.c.stack_id, func.max(runs.c.started_at).label("at")).group_by(runs.c.stack_id)
    if kinds is not None:
        newest = newest.where(runs.c.kind.in_(kinds))
    latest = newest.subquery()
    query = select(runs).join(
        latest, and_(runs.c.stack_id == latest.c.stack_id, runs.c.started_at == latest.c.at)
    )
    if kinds is not None:
        query = query.where(runs.c.kind.in_(kinds))
    return {row.stack_id: row for row in conn.execute(query)}


def _drift_of(row: Any) -> tuple[str, float | None]:
    """What the last drift check found: in sync, N drifted, check failed, or unknown (never checked)."""
    if row is None:
        return "unknown", None
    if row.status == "failed":
        return "check failed", float(row.finished_at or row.started_at)
    report = (row.summary or {}).get("drift") or {}
    items = report.get("items") if isinstance(report, dict) else None
    count = len(items) if isinstance(items, list) else int(bool((row.summary or {}).get("reconcile")))
    return ("in sync" if count == 0 else f"{count} drifted"), float(row.finished_at or row.started_at)


def stacks_overview(ws: Workspace, *, search: str = "") -> list[StackSummary]:
    """Every stack (whose name or location holds ``search``), in a fixed number of queries."""
    found: list[StackSummary] = []
    with ws.transaction() as conn:
        stacks = stacks_db.list_stacks(conn)
        newest, applies = _last_by_stack(conn), _last_by_stack(conn, ("apply",))
        reconciles, locks = _last_by_stack(conn, CHECKS), locks_db.all_locks(conn)
        for stack in stacks:
            if search and search.lower() not in f"{stack.name} {stack.location or ''}".lower():
                continue
            last, last_apply = newest.get(stack.id), applies.get(stack.id)
            gate = (last_apply.summary or {}).get("gate") if last_apply is not None else None
            held = sorted((gate or {}).get("blocked") or {}) if isinstance(gate, dict) else []
            drift, checked = _drift_of(reconciles.get(stack.id))
            lock = locks.get(stack.id)
            found.append(
                StackSummary(
                    name=stack.name,
                    directory=stack.directory,
                    location=stack.location,
                    last_run=(
                        {
                            "id": last.id,
                            "kind": last.kind,
                            "status": last.status,
                            "actor": last.actor,
                            "at": last.finished_at or last.started_at,
                        }
                        if last is not None
                        else None
                    ),
                    drift=drift,
                    drift_checked_at=checked,
                    lock=describe_holder(ws, lock) if lock is not None else None,
                    held_back=held,
                )
            )
    return found


def stack_detail(ws: Workspace, name: str) -> dict[str, Any]:
    """One stack: its summary, modules (stateful marked, as the specs said at the last apply, and
    the ones the gate held back), recorded resources, recent runs."""
    summaries = [s for s in stacks_overview(ws) if s.name == name]
    if not summaries:
        raise NotFoundError(f"no stack named {name!r} in this store")
    summary = summaries[0]
    with ws.transaction() as conn:
        row = stacks_db.find_stack(conn, name)
        assert row is not None
        recorded = states_db.load_state(conn, row.id)
    modules: dict[str, dict[str, Any]] = {m: {"stateful": True, "drift": None} for m in summary.held_back}
    for resource in recorded.values():
        entry = modules.setdefault(resource.module, {"stateful": False, "drift": None})
        entry["stateful"] = entry["stateful"] or resource.data_bearing
    directory = Path(summary.directory)
    if (directory / "stack.yaml").is_file():  # the specs, when on this host: policies as written now
        for spec in module_specs(directory, ws.yaml_limits()):
            held = modules.get(spec.name, {}).get("stateful", False)  # the record holds data: still gated
            modules[spec.name] = {"stateful": spec.stateful or held, "drift": spec.drift}
    return {
        **asdict(summary),
        "modules": [{"name": m, **facts} for m, facts in sorted(modules.items())],
        "resources": list_state(ws, name),
        "runs": list_runs(ws, stack=name, limit=20),
        "has_specs": (directory / "stack.yaml").is_file(),
    }


def last_drift(ws: Workspace, name: str) -> dict[str, Any] | None:
    """What the stack's last drift check (``driftgate drift`` or a reconcile) found: its drift items
    (recorded → live, sensitive values masked by the scan), the draft a reconcile made, whether the
    check failed, when; None when never checked."""
    with ws.transaction() as conn:
        row = stacks_db.find_stack(conn, name)
        if row is None:
            raise NotFoundError(f"no stack named {name!r} in this store")
        last = _last(conn, row.id, CHECKS)
    if last is None:
        return None
    summary = last.summary or {}
    report = summary.get("drift") or {}
    outcome = summary.get("reconcile") or {}
    return {
        "run_id": last.id,
        "at": last.finished_at or last.started_at,
        "items": report.get("items") or [],
        "errors": list(report.get("errors") or []) + list(last.errors or []),
        "draft_url": outcome.get("pr_url"),
        "branch": outcome.get("branch"),
        "failed": last.status == "failed",
        "kind": last.kind,
    }


def stack_directory(ws: Workspace, name: str) -> Path:
    """Where the stack's specs are on this host (NOT_FOUND when it has none here)."""
    with ws.transaction() as conn:
        row = stacks_db.find_stack(conn, name)
    if row is None:
        raise NotFoundError(f"no stack named {name!r} in this store")
    directory = Path(row.directory)
    if not (directory / "stack.yaml").is_file():
        raise NotFoundError(f"stack {name!r}: its specs are not on this host ({directory})")
    return directory
