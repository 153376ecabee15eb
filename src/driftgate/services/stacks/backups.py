"""Backups of a module's live data: create, list, verify, restore.

One artifact per backup, ``<module>-<UTC timestamp>.tar.gz`` under
``$DRIFTGATE_HOME/backups/<stack>/``, holding a ``manifest.json`` and each
backup-capable resource's data. The manifest (module, resources, sha256,
size, created_at, driftgate version) is also written beside the artifact and
recorded in the store. A backup counts for the gate only if it is recorded,
its artifact exists, its checksum verifies and its providers find its
files still restorable (a dump's table of contents; a cloud backup that still exists).
"""

from __future__ import annotations

import os
import time
import uuid
from collections.abc import Mapping
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from driftgate import __version__
from driftgate.backup import archive
from driftgate.backup.archive import BackupCorrupt
from driftgate.errors import DriftgateError, NotFoundError
from driftgate.gate.decision import BackupRecord
from driftgate.providers.base import Observed, Provider
from driftgate.services.stacks.identity import stack_row
from driftgate.services.stacks.locking import stack_lock
from driftgate.services.workspace import Workspace
from driftgate.spec.model import Stack
from driftgate.store import backups as backups_db
from driftgate.store import runs as runs_db
from driftgate.store import stacks as stacks_db
from driftgate.store import states as states_db


def backup_dir(ws: Workspace, stack: str) -> Path:
    return ws.settings.home / "backups" / stack


@dataclass(frozen=True)
class _Loaded:
    stack: Stack
    stack_id: int
    providers: dict[str, Provider]


def _load(ws: Workspace, directory: Path) -> _Loaded:
    stack = ws.load_stack(directory)
    providers = ws.providers_for(stack)
    with ws.transaction() as conn:
        row = stack_row(conn, stack, bind=False)
    return _Loaded(stack, row.id, providers)


def create_backup(ws: Workspace, directory: Path, module: str) -> backups_db.BackupRow:
    """Back up every backup-capable resource of ``module`` as it is live now."""
    loaded = _load(ws, directory)
    with ws.transaction() as conn:
        recorded = [r for r in states_db.load_state(conn, loaded.stack_id).values() if r.module == module]
    if loaded.stack.module(module) is None and not recorded:  # a removed module can still be backed up
        raise NotFoundError(f"stack {loaded.stack.name!r} has no module {module!r}")
    created = time.time()
    ref = archive.name_for(module, created)
    entries: list[dict[str, Any]] = []
    files: list[dict[str, bytes]] = []
    for res in sorted(recorded, key=lambda r: r.address):
        provider = loaded.providers.get(res.type.split(".", 1)[0])
        found = provider.backup_resource(res.type, res.attributes, res.outputs) if provider else None
        if found is None:
            continue
        entries.append(
            {
                "address": res.address,
                "type": res.type,
                "attributes": res.attributes,
                "outputs": res.outputs,
                "files": sorted(found),
            }
        )
        files.append(found)
    manifest: dict[str, Any] = {
        "format": archive.FORMAT,
        "stack": loaded.stack.name,
        "module": module,
        "ref": ref,
        "created_at": datetime.fromtimestamp(created, UTC).isoformat(),
        "driftgate_version": __version__,
        "resources": entries,
    }
    target = backup_dir(ws, loaded.stack.name) / ref
    manifest = archive.write(target, manifest, files)
    sha, size = manifest["sha256"], manifest["size"]
    row = backups_db.BackupRow(ref, module, str(target), sha, size, created, manifest)
    with ws.transaction() as conn:
        backups_db.add_backup(conn, loaded.stack_id, row)
    return row


def list_backups(ws: Workspace, directory: Path, module: str | None = None) -> list[backups_db.BackupRow]:
    """The stack's recorded backups: the store alone, no provider configured or started (a page view
    needs none of their secrets, and starts no plugin)."""
    stack = ws.load_stack(directory)
    with ws.transaction() as conn:
        row = stack_row(conn, stack, bind=False)
        return backups_db.list_backups(conn, row.id, module)


def stack_backups(ws: Workspace, stack: str) -> list[backups_db.BackupRow]:
    """A stack's recorded backups, by its name (its specs need not be on this host)."""
    from driftgate.store import stacks as stacks_db

    with ws.transaction() as conn:
        row = stacks_db.find_stack(conn, stack)
        return backups_db.list_backups(conn, row.id) if row is not None else []


def check_backup(row: backups_db.BackupRow) -> BackupRecord:
    path = Path(row.path)
    exists = path.is_file()
    checksum_ok = exists and archive.sha256(path) == row.sha256
    held = frozenset(str(r.get("address")) for r in (row.manifest or {}).get("resources") or ())
    return BackupRecord(row.ref, row.module, row.created_at, exists, checksum_ok, resources=held)


def backup_records(
    ws: Workspace, stack_id: int, refs: list[str], providers: Mapping[str, Provider]
) -> dict[str, BackupRecord]:
    """Gate input: the named backups, each checked now: on disk, then by its providers."""
    with ws.transaction() as conn:
        rows = [backups_db.find_backup(conn, stack_id, ref) for ref in refs]
    records = {}
    for row in rows:
        if row is None:
            continue
        record = check_backup(row)
        if record.checksum_ok:
            record = replace(record, unusable=_providers_problem(providers, Path(row.path)))
        records[row.ref] = record
    return records


def _providers_problem(providers: Mapping[str, Provider], path: Path) -> str | None:
    """Why a provider says the artifact's files could not be restored, or None."""
    for entry, files in archive.read(path):
        provider = providers.get(entry["type"].split(".", 1)[0])
        if provider is not None:
            try:
                provider.check_backup(entry["type"], files)
            except DriftgateError as exc:
                return f"{entry['address']}: {exc}"
    return None


def verify_backup(ws: Workspace, directory: Path, ref: str) -> backups_db.BackupRow:
    """The backup's record, if its artifact exists and its checksum matches; else raise."""
    loaded = _load(ws, directory)
    with ws.transaction() as conn:
        row = backups_db.find_backup(conn, loaded.stack_id, ref)
    if row is None:
        raise NotFoundError(f"{ref!r} is not a recorded backup of stack {loaded.stack.name!r}")
    record = check_backup(row)
    if not record.exists:
        raise BackupCorrupt(f"{ref}: the artifact {row.path} is missing")
    if not record.checksum_ok:
        raise BackupCorrupt(f"{ref}: the artifact fails its checksum (corrupt); it cannot be trusted")
    problem = _providers_problem(loaded.providers, Path(row.path))  # a provider's check of its files
    if problem:
        raise BackupCorrupt(f"{ref}: {problem}")
    return row


@dataclass(frozen=True)
class RestoreReport:
    run_id: str
    restored: list[str]  # addresses put back
    failed: list[str]  # "address: why" (the first failure stops the restore; the rest not attempted)

    @property
    def full_success(self) -> bool:
        return not self.failed


def restore_backup(ws: Workspace, directory: Path, ref: str) -> RestoreReport:
    """Put the module's live data back as the backup holds it; refuse a corrupt artifact.

    A restore is a run like an apply: under the stack lock, with its own id, actor and one outcome
    per resource in the ledger. Restored resources stay recorded as data-bearing (a restore never
    disarms the gate), and it counts as the module's last change, so an older backup is stale after it.
    """
    row = verify_backup(ws, directory, ref)
    loaded = _load(ws, directory)
    entries = [
        ({**e, "address": _managing(ws, loaded, e)}, files) for e, files in archive.read(Path(row.path))
    ]
    run_id = str(uuid.uuid4())
    with stack_lock(ws, stack_id=loaded.stack_id, stack_name=loaded.stack.name, run_id=run_id):
        _start_restore_run(ws, loaded.stack_id, run_id, [entry for entry, _ in entries])
        restored: list[str] = []
        failed: list[str] = []
        for index, (entry, files) in enumerate(entries):
            outcome = (
                _restore_one(loaded, entry, files) if not failed else "not attempted: an earlier one failed"
            )
            _record_restore_outcome(ws, loaded.stack_id, run_id, index, entry, outcome, attempted=not failed)
            if isinstance(outcome, str):  # where the artifact is: a person may restore it by hand
                failed.append(f"{entry['address']}: {outcome} (the artifact: {row.path})")
            else:
                restored.append(entry["address"])
        with ws.transaction() as conn:
            runs_db.finish_run(
                conn,
                run_id,
                status="partial" if failed else "succeeded",
                action_count=len(entries),
                summary={"restore": {"ref": ref, "module": row.module, "restored": len(restored)}},
                errors=failed,
            )
    return RestoreReport(run_id, restored, failed)


def _managing(ws: Workspace, loaded: _Loaded, entry: dict[str, Any]) -> str:
    """The address that manages the backed-up object now: its own, unless the object was moved to
    another address since (another module), which then gets the restored record — one live object is
    never recorded under two addresses, where one's delete would drop what the other holds."""
    provider = loaded.providers.get(entry["type"].split(".", 1)[0])
    if provider is None:
        return str(entry["address"])
    with ws.transaction() as conn:
        recorded = [
            r for r in states_db.load_state(conn, loaded.stack_id).values() if r.type == entry["type"]
        ]
    try:
        ids = provider.resource_ids(entry["type"], [entry["attributes"], *(r.attributes for r in recorded)])
    except (DriftgateError, KeyError, TypeError, ValueError):
        return str(entry["address"])
    mine, theirs = ids[0], ids[1:]
    holders = [
        r.address for r, found in zip(recorded, theirs, strict=True) if mine is not None and found == mine
    ]
    return str(entry["address"]) if not holders or entry["address"] in holders else holders[0]


def _start_restore_run(ws: Workspace, stack_id: int, run_id: str, entries: list[dict[str, Any]]) -> None:
    with ws.transaction() as conn:
        runs_db.create_run(
            conn,
            run_id=run_id,
            stack_id=stack_id,
            kind="restore",
            actor=ws.settings.actor,
            pid=os.getpid(),
            host=ws.settings.hostname,
        )
        planned = [runs_db.PlannedRow(i, e["address"], "restore", {}) for i, e in enumerate(entries)]
        runs_db.insert_planned_outcomes(conn, run_id, planned, now=time.time())


def _restore_one(loaded: _Loaded, entry: dict[str, Any], files: dict[str, bytes]) -> Observed | str:
    """The live resource as restored, or why it could not be."""
    provider = loaded.providers.get(entry["type"].split(".", 1)[0])
    if provider is None:
        return f"provider for {entry['type']} is not configured"
    try:
        return provider.restore_resource(entry["type"], entry["attributes"], files)
    except DriftgateError as exc:
        return str(exc)


def _record_restore_outcome(
    ws: Workspace,
    stack_id: int,
    run_id: str,
    index: int,
    entry: dict[str, Any],
    outcome: Observed | str,
    *,
    attempted: bool,
) -> None:
    """One outcome row; on success the recorded state follows what was put back (secret references
    stay references, dependencies as recorded) and stays data-bearing."""
    now = time.time()
    ok = not isinstance(outcome, str)
    row = {
        "idx": index,
        "address": entry["address"],
        "action": "restore",
        "status": "SUCCESS" if ok else "ERROR",
        "error": None if ok else outcome,
        "outputs": {},
        "attempted": attempted,
        "started_at": now,
        "finished_at": now,
    }
    with ws.transaction() as conn:
        runs_db.finish_outcomes(conn, run_id, [row])
        if isinstance(outcome, str):
            return
        current = states_db.get_state(conn, stack_id, entry["address"])
        write = states_db.StateWrite(
            address=entry["address"],
            module=entry["address"].split("/", 1)[0],
            type=entry["type"],
            attributes=entry["attributes"],
            outputs=outcome.outputs or entry["outputs"],
            depends_on=current.depends_on if current else (),
            status=states_db.APPLIED,
            data_bearing=True,  # it was backed up because it holds data; the record only rises
        )
        states_db.upsert_states(conn, stack_id, run_id, [write])
        stacks_db.bump_serial(conn, stack_id)
