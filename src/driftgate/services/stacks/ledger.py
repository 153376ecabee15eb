"""The store-backed ledger sink: every batch the executor reports is one transaction."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy import Connection

from driftgate.apply.executor import Finished, Started
from driftgate.apply.result import ActionStatus
from driftgate.plan.model import ActionKind
from driftgate.services.workspace import Workspace
from driftgate.store import runs as runs_db
from driftgate.store import stacks as stacks_db
from driftgate.store import states as states_db

_CREATE = ActionKind.CREATE
_DELETE = ActionKind.DELETE
_NOOP = ActionKind.NOOP


class StoreSink:
    """Marks actions in flight (and their resources uncertain) before any provider call,
    then records outcomes and applied state as they finish."""

    def __init__(self, ws: Workspace, *, stack_id: int, run_id: str) -> None:
        self._ws = ws
        self._stack_id = stack_id
        self._run_id = run_id

    def record(self, *, started: Sequence[Started], finished: Sequence[Finished]) -> None:
        if not started and not finished:
            return
        with self._ws.transaction() as conn:
            changed = self._record_finished(conn, finished)
            changed |= self._record_started(conn, started)
            if changed:
                stacks_db.bump_serial(conn, self._stack_id)

    def _record_started(self, conn: Connection, started: Sequence[Started]) -> bool:
        if not started:
            return False
        runs_db.mark_in_flight(conn, self._run_id, [s.action.index for s in started])
        started = [s for s in started if not s.action.parent]  # a child's state is its parent's
        creates = [s for s in started if s.action.kind is _CREATE and not s.action.adopt]
        states_db.upsert_states(
            conn,
            self._stack_id,
            self._run_id,
            (
                states_db.StateWrite(
                    address=s.action.address,
                    module=s.action.module,
                    type=s.action.type,
                    attributes=s.attributes or {},
                    outputs={},
                    depends_on=s.action.depends_on,
                    status=states_db.UNCERTAIN,
                    data_bearing=s.action.data_bearing,
                )
                for s in creates
            ),
        )
        others = [s.action.address for s in started if s.action.kind is not _CREATE or s.action.adopt]
        states_db.mark_uncertain(conn, self._stack_id, self._run_id, others)
        return True

    def _record_finished(self, conn: Connection, finished: Sequence[Finished]) -> bool:
        if not finished:
            return False
        # No-op outcomes were recorded with the plan; only their adopted state is written here.
        rows = [_outcome_row(f) for f in finished if f.action.kind is not _NOOP]
        runs_db.finish_outcomes(conn, self._run_id, rows)
        ok = [f for f in finished if f.outcome.status is ActionStatus.SUCCESS and not f.action.parent]
        deleted = [f.action.address for f in ok if f.action.kind is _DELETE]
        writes = [
            states_db.StateWrite(
                address=f.action.address,
                module=f.action.module,
                type=f.action.type,
                attributes=f.attributes,
                outputs=f.outcome.outputs,
                depends_on=f.action.depends_on,
                status=states_db.APPLIED,
                data_bearing=f.action.data_bearing,
            )
            for f in ok
            if f.attributes is not None and f.action.kind is not _DELETE
        ]
        states_db.delete_states(conn, self._stack_id, deleted)
        states_db.upsert_states(conn, self._stack_id, self._run_id, writes)
        return bool(deleted or writes)


def _outcome_row(f: Finished) -> dict[str, Any]:
    o = f.outcome
    return {
        "idx": o.index,
        "address": o.address,
        "action": o.action,
        "status": o.status.value,
        "error": o.error,
        "outputs": o.outputs,
        "attempted": o.attempted,
        "started_at": o.started_at,
        "finished_at": o.finished_at,
    }
