"""Backup records: each backup artifact of a module, with its checksum and manifest.

These functions never commit: the caller owns the transaction.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy import Connection, Row, and_, select

from driftgate.store.tables import backups


@dataclass(frozen=True)
class BackupRow:
    ref: str
    module: str
    path: str
    sha256: str
    size: int
    created_at: float
    manifest: dict[str, Any]


def add_backup(conn: Connection, stack_id: int, row: BackupRow) -> None:
    conn.execute(backups.insert().values(stack_id=stack_id, **row.__dict__))


def _backup(r: Row[Any]) -> BackupRow:
    return BackupRow(r.ref, r.module, r.path, r.sha256, r.size, r.created_at, r.manifest)


def find_backup(conn: Connection, stack_id: int, ref: str) -> BackupRow | None:
    row = conn.execute(
        select(backups).where(and_(backups.c.stack_id == stack_id, backups.c.ref == ref))
    ).first()
    return _backup(row) if row else None


def list_backups(conn: Connection, stack_id: int, module: str | None = None) -> list[BackupRow]:
    query = select(backups).where(backups.c.stack_id == stack_id)
    if module:
        query = query.where(backups.c.module == module)
    return [_backup(r) for r in conn.execute(query.order_by(backups.c.created_at.desc())).all()]
