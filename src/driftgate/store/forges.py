"""Forge hosts: the kind detected for each host, so it is asked once.

These functions never commit: the caller owns the transaction.
"""

from __future__ import annotations

import time

from sqlalchemy import Connection, select

from driftgate.store.db import upsert
from driftgate.store.tables import forge_hosts


def recorded_kind(conn: Connection, host: str) -> str | None:
    row = conn.execute(select(forge_hosts.c.kind).where(forge_hosts.c.host == host.lower())).first()
    return str(row.kind) if row is not None else None


def record_kind(conn: Connection, host: str, kind: str) -> None:
    upsert(conn, forge_hosts, [{"host": host.lower(), "kind": kind, "detected_at": time.time()}], ["host"])
