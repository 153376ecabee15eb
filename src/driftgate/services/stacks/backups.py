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

import time
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
from driftgate.providers.base import Provider
from driftgate.services.stacks.identity import stack_row
from driftgate.services.workspace import Workspace
from driftgate.spec.model import Stack
from driftgate.store import backups as backups_db
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
    loaded = _load(ws, directory)
    with ws.transaction() as conn:
        return backups_db.list_backups(conn, loaded.stack_id, module)


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
    return BackupRecord(row.ref, row.module, row.created_at, exists, checksum_ok)


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


def restore_backup(ws: Workspace, directory: Path, ref: str) -> list[str]:
    """Put the module's live data back as the backup holds it; refuse a corrupt artifact."""
    row = verify_backup(ws, directory, ref)
    loaded = _load(ws, directory)
    restored: list[tuple[Any, Any]] = []
    for entry, files in archive.read(Path(row.path)):
        provider = loaded.providers.get(entry["type"].split(".", 1)[0])
        if provider is None:
            raise DriftgateError(f"{entry['address']}: provider for {entry['type']} is not configured")
        restored.append((entry, provider.restore_resource(entry["type"], entry["attributes"], files)))
    _record_restored(ws, loaded.stack_id, restored)
    return [entry["address"] for entry, _ in restored]


def _record_restored(ws: Workspace, stack_id: int, restored: list[tuple[Any, Any]]) -> None:
    """Recorded state follows what was put back (secret references stay references)."""
    writes = [
        states_db.StateWrite(
            address=entry["address"],
            module=entry["address"].split("/", 1)[0],
            type=entry["type"],
            attributes=entry["attributes"],
            outputs=observed.outputs or entry["outputs"],
            depends_on=(),
            status=states_db.APPLIED,
        )
        for entry, observed in restored
    ]
    with ws.transaction() as conn:
        current = states_db.load_state(conn, stack_id)
        writes = [
            w.__class__(**{**w.__dict__, "depends_on": current[w.address].depends_on})
            if w.address in current
            else w
            for w in writes
        ]
        states_db.upsert_states(conn, stack_id, "restore", writes)
        stacks_db.bump_serial(conn, stack_id)
