"""The backup archive: ``<module>-<UTC timestamp>.tar.gz`` holding a ``manifest.json`` and each
backup-capable resource's files under ``resources/<n>/``, with the manifest (and the archive's
sha256 and size) also written beside it. Created exclusively, mode 0600; read back member by
member, a missing member being a corrupt backup.
"""

from __future__ import annotations

import hashlib
import io
import json
import os
import tarfile
import time
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from driftgate import errors
from driftgate.errors import TerminalError

FORMAT = "driftgate-backup/v1"
SUFFIX = ".tar.gz"
MANIFEST = "manifest.json"


class BackupCorrupt(TerminalError):
    code = errors.BACKUP_CORRUPT


def name_for(module: str, created: float) -> str:
    stamp = datetime.fromtimestamp(created, UTC).strftime("%Y%m%dT%H%M%S%fZ")
    return f"{module}-{stamp}{SUFFIX}"


def sha256(path: Path) -> str:
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


def write(target: Path, manifest: dict[str, Any], files: list[dict[str, bytes]]) -> dict[str, Any]:
    """Write the archive (refusing to overwrite one) and its sidecar manifest; ``files[n]`` are the
    files of ``manifest["resources"][n]``. Returns the manifest with the archive's sha256 and size."""
    target.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(target, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "wb") as raw, tarfile.open(fileobj=raw, mode="w:gz") as tar:
        _add(tar, MANIFEST, json.dumps(manifest, indent=1, sort_keys=True).encode())
        for index, resource_files in enumerate(files):
            for name, data in sorted(resource_files.items()):
                _add(tar, f"resources/{index}/{name}", data)
    sealed = {**manifest, "sha256": sha256(target), "size": target.stat().st_size}
    side = os.open(str(target) + ".manifest.json", os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(side, "w", encoding="utf-8") as handle:  # 0600 like the artifact
        handle.write(json.dumps(sealed, indent=1, sort_keys=True))
    return sealed


def read(path: Path) -> Iterator[tuple[dict[str, Any], dict[str, bytes]]]:
    """Each resource entry of the archive's manifest with its files."""
    with tarfile.open(path, mode="r:gz") as tar:
        members = {m.name: m for m in tar.getmembers() if m.isfile()}
        manifest = json.loads(_member(tar, members, MANIFEST))
        for index, entry in enumerate(manifest["resources"]):
            yield entry, {name: _member(tar, members, f"resources/{index}/{name}") for name in entry["files"]}


def _member(tar: tarfile.TarFile, members: dict[str, tarfile.TarInfo], name: str) -> bytes:
    member = members.get(name)
    handle = tar.extractfile(member) if member is not None else None
    if handle is None:
        raise BackupCorrupt(f"the backup has no {name}")
    return handle.read()
