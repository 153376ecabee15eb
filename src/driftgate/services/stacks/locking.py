"""The stack lock: two applies of one stack never overlap."""

from __future__ import annotations

import os
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime

from driftgate.errors import NotFoundError, StackLockedError, StoreUnavailable, TerminalError
from driftgate.liveness import pid_alive
from driftgate.services.workspace import Workspace
from driftgate.store import locks as locks_db
from driftgate.store import runs as runs_db
from driftgate.store import stacks as stacks_db


@dataclass(frozen=True)
class HeldLock:
    stack_id: int
    run_id: str


def describe_holder(ws: Workspace, lock: locks_db.LockRow) -> str:
    since = datetime.fromtimestamp(lock.acquired_at, UTC).isoformat(timespec="seconds")
    text = f"run {lock.run_id} by {lock.holder} (pid {lock.pid} on {lock.host}, since {since})"
    if lock.host == ws.settings.hostname and not pid_alive(lock.pid):
        text += "; that process is gone, so the lock is stale"
    return text


@contextmanager
def stack_lock(ws: Workspace, *, stack_id: int, stack_name: str, run_id: str) -> Iterator[HeldLock]:
    holder = ws.settings.actor
    with ws.transaction() as conn:
        found = locks_db.try_lock(
            conn,
            stack_id=stack_id,
            run_id=run_id,
            holder=holder,
            pid=os.getpid(),
            host=ws.settings.hostname,
        )
    if found is not None:
        raise StackLockedError(
            f"stack {stack_name!r} is locked by {describe_holder(ws, found)}. "
            f"If no run is active, break it with: driftgate lock break {stack_name}"
        )
    try:
        yield HeldLock(stack_id, run_id)
    except BaseException:
        _release(ws, stack_id, run_id, stack_name, quiet=True)  # the first error is the one to report
        raise
    _release(ws, stack_id, run_id, stack_name, quiet=False)


def _release(ws: Workspace, stack_id: int, run_id: str, stack_name: str, *, quiet: bool) -> None:
    """Release the lock, retrying a store that failed; if it never answers, the lock row still
    names this process and host, so the next run reports it as stale and says how to break it."""
    for attempt in range(3):
        try:
            with ws.transaction() as conn:
                locks_db.release_lock(conn, stack_id, run_id)
            return
        except StoreUnavailable as exc:
            if attempt < 2:
                time.sleep(0.2 * (attempt + 1))
                continue
            if not quiet:
                raise StoreUnavailable(
                    f"{exc}; the lock of stack {stack_name!r} could not be released: the next run will "
                    f"see it is stale (break it with: driftgate lock break {stack_name})"
                ) from None


def break_lock(ws: Workspace, stack_name: str, *, force: bool, actor: str | None = None) -> locks_db.LockRow:
    """Remove a stack's lock; refuse while its holder is alive on this host unless forced. Who broke
    it is recorded as a run (``lock_break``) with the holder it removed."""
    with ws.transaction() as conn:
        stack = stacks_db.find_stack(conn, stack_name)
        if stack is None:
            raise NotFoundError(f"no stack named {stack_name!r} in this store")
        lock = locks_db.get_lock(conn, stack.id)
        if lock is None:
            raise NotFoundError(f"stack {stack_name!r} is not locked")
        alive_here = lock.host == ws.settings.hostname and pid_alive(lock.pid)
        if alive_here and not force:
            raise TerminalError(
                f"the holder of the lock is still running ({describe_holder(ws, lock)}): wait for it to "
                "finish (from the CLI, `driftgate lock break --force` breaks it anyway)"
            )
        locks_db.release_lock(conn, stack.id, None)
        if lock.run_id:
            runs_db.mark_run_interrupted(conn, lock.run_id)
        runs_db.record_run(
            conn,
            run_id=str(uuid.uuid4()),
            stack_id=stack.id,
            kind="lock_break",
            actor=actor or ws.settings.actor,
            pid=os.getpid(),
            host=ws.settings.hostname,
            status="succeeded",
            summary={
                "lock_break": {"holder": describe_holder(ws, lock), "run_id": lock.run_id, "forced": force}
            },
            errors=[],
        )
        return lock


def lock_status(ws: Workspace, stack_name: str) -> str | None:
    with ws.transaction() as conn:
        stack = stacks_db.find_stack(conn, stack_name)
        lock = locks_db.get_lock(conn, stack.id) if stack else None
        return describe_holder(ws, lock) if lock else None
