"""Backups of a module's live data: create, list, verify, restore.

One artifact per backup, ``<module>-<UTC timestamp>.tar.gz`` under
``$DRIFTGATE_HOME/backups/<stack>/``, holding a ``manifest.json`` and each
backup-capable resource's data. The manifest (module, resources, sha256,
size, created_at, driftgate version) is also written beside the artifact and
recorded in the store. A backup counts for the gate only if it is recorded,
its artifact exists and its checksum verifies.
"""

from __future__ import annotations

import hashlib
import io
import json
import os
import tarfile
import time
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from driftgate import __version__, errors
from driftgate.errors import DriftgateError, NotFoundError, TerminalError
from driftgate.gate.decision import BackupRecord
from driftgate.providers.base import Provider
from driftgate.services.identity import stack_row
from driftgate.services.workspace import Workspace
from driftgate.spec.model import Stack
from driftgate.store import repositories as repo

SUFFIX = ".tar.gz"
MANIFEST = "manifest.json"


class BackupCorrupt(TerminalError):
    code = errors.BACKUP_CORRUPT


def backup_dir(ws: Workspace, stack: str) -> Path:
    return ws.settings.home / "backups" / stack


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for chunk in iter(lambda: handle.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


def _add(tar: tarfile.TarFile, name: str, data: bytes) -> None:
    info = tarfile.TarInfo(name)
    info.size = len(data)
    info.mtime = int(time.time())
    info.mode = 0o600
    tar.addfile(info, io.BytesIO(data))


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


def create_backup(ws: Workspace, directory: Path, module: str) -> repo.BackupRow:
    """Back up every backup-capable resource of ``module`` as it is live now."""
    loaded = _load(ws, directory)
    with ws.transaction() as conn:
        recorded = [r for r in repo.load_state(conn, loaded.stack_id).values() if r.module == module]
    if loaded.stack.module(module) is None and not recorded:  # a removed module can still be backed up
        raise NotFoundError(f"stack {loaded.stack.name!r} has no module {module!r}")
    created = time.time()
    stamp = datetime.fromtimestamp(created, UTC).strftime("%Y%m%dT%H%M%S%fZ")
    ref = f"{module}-{stamp}{SUFFIX}"
    target = backup_dir(ws, loaded.stack.name) / ref
    target.parent.mkdir(parents=True, exist_ok=True)
    entries: list[dict[str, Any]] = []
    blobs: list[tuple[str, bytes]] = []
    for index, res in enumerate(sorted(recorded, key=lambda r: r.address)):
        provider = loaded.providers.get(res.type.split(".", 1)[0])
        files = provider.backup_resource(res.type, res.attributes, res.outputs) if provider else None
        if files is None:
            continue
        entries.append(
            {
                "address": res.address,
                "type": res.type,
                "attributes": res.attributes,
                "outputs": res.outputs,
                "files": sorted(files),
            }
        )
        blobs.extend((f"resources/{index}/{name}", data) for name, data in sorted(files.items()))
    manifest: dict[str, Any] = {
        "format": "driftgate-backup/v1",
        "stack": loaded.stack.name,
        "module": module,
        "ref": ref,
        "created_at": datetime.fromtimestamp(created, UTC).isoformat(),
        "driftgate_version": __version__,
        "resources": entries,
    }
    fd = os.open(target, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "wb") as raw, tarfile.open(fileobj=raw, mode="w:gz") as tar:
        _add(tar, MANIFEST, json.dumps(manifest, indent=1, sort_keys=True).encode())
        for name, data in blobs:
            _add(tar, name, data)
    sha, size = _sha256(target), target.stat().st_size
    manifest.update({"sha256": sha, "size": size})
    Path(str(target) + ".manifest.json").write_text(json.dumps(manifest, indent=1, sort_keys=True))
    row = repo.BackupRow(ref, module, str(target), sha, size, created, manifest)
    with ws.transaction() as conn:
        repo.add_backup(conn, loaded.stack_id, row)
    return row


def list_backups(ws: Workspace, directory: Path, module: str | None = None) -> list[repo.BackupRow]:
    loaded = _load(ws, directory)
    with ws.transaction() as conn:
        return repo.list_backups(conn, loaded.stack_id, module)


def check_backup(row: repo.BackupRow) -> BackupRecord:
    path = Path(row.path)
    exists = path.is_file()
    return BackupRecord(row.ref, row.module, row.created_at, exists, exists and _sha256(path) == row.sha256)


def backup_records(ws: Workspace, stack_id: int, refs: list[str]) -> dict[str, BackupRecord]:
    """Gate input: the named backups, each checked on disk now."""
    with ws.transaction() as conn:
        rows = [repo.find_backup(conn, stack_id, ref) for ref in refs]
    return {row.ref: check_backup(row) for row in rows if row is not None}


def verify_backup(ws: Workspace, directory: Path, ref: str) -> repo.BackupRow:
    """The backup's record, if its artifact exists and its checksum matches; else raise."""
    loaded = _load(ws, directory)
    with ws.transaction() as conn:
        row = repo.find_backup(conn, loaded.stack_id, ref)
    if row is None:
        raise NotFoundError(f"{ref!r} is not a recorded backup of stack {loaded.stack.name!r}")
    record = check_backup(row)
    if not record.exists:
        raise BackupCorrupt(f"{ref}: the artifact {row.path} is missing")
    if not record.checksum_ok:
        raise BackupCorrupt(f"{ref}: the artifact fails its checksum (corrupt); it cannot be trusted")
    return row


def restore_backup(ws: Workspace, directory: Path, ref: str) -> list[str]:
    """Put the module's live data back as the backup holds it; refuse a corrupt artifact."""
    row = verify_backup(ws, directory, ref)
    loaded = _load(ws, directory)
    with tarfile.open(row.path, mode="r:gz") as tar:
        members = {m.name: m for m in tar.getmembers() if m.isfile()}
        manifest = json.loads(_read(tar, members, MANIFEST))
        restored: list[tuple[Any, Any]] = []
        for index, entry in enumerate(manifest["resources"]):
            provider = loaded.providers.get(entry["type"].split(".", 1)[0])
            if provider is None:
                raise DriftgateError(f"{entry['address']}: provider for {entry['type']} is not configured")
            files = {name: _read(tar, members, f"resources/{index}/{name}") for name in entry["files"]}
            observed = provider.restore_resource(entry["type"], entry["attributes"], files)
            restored.append((entry, observed))
    _record_restored(ws, loaded.stack_id, restored)
    return [entry["address"] for entry, _ in restored]


def _read(tar: tarfile.TarFile, members: dict[str, tarfile.TarInfo], name: str) -> bytes:
    member = members.get(name)
    handle = tar.extractfile(member) if member is not None else None
    if handle is None:
        raise BackupCorrupt(f"the backup has no {name}")
    return handle.read()


def _record_restored(ws: Workspace, stack_id: int, restored: list[tuple[Any, Any]]) -> None:
    """Recorded state follows what was put back (secret references stay references)."""
    writes = [
        repo.StateWrite(
            address=entry["address"],
            module=entry["address"].split("/", 1)[0],
            type=entry["type"],
            attributes=entry["attributes"],
            outputs=observed.outputs or entry["outputs"],
            depends_on=(),
            status=repo.APPLIED,
        )
        for entry, observed in restored
    ]
    with ws.transaction() as conn:
        current = repo.load_state(conn, stack_id)
        writes = [
            w.__class__(**{**w.__dict__, "depends_on": current[w.address].depends_on})
            if w.address in current
            else w
            for w in writes
        ]
        repo.upsert_states(conn, stack_id, "restore", writes)
        repo.bump_serial(conn, stack_id)
