"""The backup archive on its own: what is written is read back, file by file, and nothing is overwritten."""

from __future__ import annotations

import json
import stat
import tarfile
from pathlib import Path
from typing import Any

import pytest

from driftgate.backup import archive


def _manifest(*entries: dict[str, Any]) -> dict[str, Any]:
    return {"format": archive.FORMAT, "module": "db", "resources": list(entries)}


def _entry(address: str, files: dict[str, bytes]) -> dict[str, Any]:
    return {"address": address, "type": "data.value", "attributes": {}, "outputs": {}, "files": sorted(files)}


def test_round_trip_with_a_sidecar_manifest(tmp_path: Path) -> None:
    first, second = {"a.json": b"1", "b.bin": b"\x00\x01"}, {"value.json": b"{}"}
    target = tmp_path / "backups" / archive.name_for("db", 0.0)
    sealed = archive.write(target, _manifest(_entry("db/x", first), _entry("db/y", second)), [first, second])
    assert target.name == "db-19700101T000000000000Z.tar.gz"
    assert stat.S_IMODE(target.stat().st_mode) == 0o600
    assert sealed["sha256"] == archive.sha256(target) and sealed["size"] == target.stat().st_size
    assert json.loads(Path(f"{target}.manifest.json").read_text()) == sealed
    assert [(e["address"], files) for e, files in archive.read(target)] == [("db/x", first), ("db/y", second)]


def test_files_follow_their_entry_when_resources_are_skipped(tmp_path: Path) -> None:
    """A resource a provider cannot back up has no entry; the next resource's files are still its own
    (they were once numbered by every resource, skipped ones included, and restore could not find them)."""
    only = {"value.json": b'{"v": 2}'}
    target = tmp_path / "b.tar.gz"
    archive.write(target, _manifest(_entry("db/second", only)), [only])
    with tarfile.open(target) as tar:
        assert sorted(tar.getnames()) == ["manifest.json", "resources/0/value.json"]
    assert list(archive.read(target)) == [(_entry("db/second", only), only)]


def test_an_existing_archive_is_never_overwritten(tmp_path: Path) -> None:
    target = tmp_path / "b.tar.gz"
    archive.write(target, _manifest(), [])
    before = target.read_bytes()
    with pytest.raises(FileExistsError):
        archive.write(target, _manifest(_entry("db/x", {"f": b"x"})), [{"f": b"x"}])
    assert target.read_bytes() == before


def test_a_missing_member_is_a_corrupt_backup(tmp_path: Path) -> None:
    lying = _manifest(_entry("db/x", {"gone.json": b""}))
    rebuilt = tmp_path / "c.tar.gz"
    archive.write(rebuilt, lying, [{}])  # the manifest names a file the archive does not hold
    with pytest.raises(archive.BackupCorrupt, match="no resources/0/gone.json"):
        list(archive.read(rebuilt))
