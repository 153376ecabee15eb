"""Engines, sessions and schema migration (Alembic) for SQLite and PostgreSQL."""

from __future__ import annotations

import sqlite3
import threading
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from sqlalchemy import Connection, Engine, create_engine, event, inspect, or_, text

MIGRATIONS = Path(__file__).parent / "migrations"
HEAD_REVISION = "0013"
_MIGRATION_LOCK = threading.Lock()  # Alembic's migration context is process-global
_PG_MIGRATION_KEY = 0x64726966  # advisory lock id ("drif"): one migrator across processes


def make_engine(url: str) -> Engine:
    if url.startswith("sqlite"):
        path = url.split(":///", 1)[-1]
        if path and path != ":memory:":
            Path(path).parent.mkdir(parents=True, exist_ok=True)
        engine = create_engine(url, connect_args={"timeout": 30, "check_same_thread": False})
        event.listen(engine, "connect", _sqlite_pragmas)
        return engine
    return create_engine(url, pool_pre_ping=True)


def _sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA busy_timeout=30000")
    # WAL + NORMAL: a killed process loses no committed transaction; commits skip fsync.
    # Switching to WAL needs a moment of exclusive access: retry while another opener holds it.
    for attempt in range(100):
        try:
            cursor.execute("PRAGMA journal_mode=WAL")
            break
        except sqlite3.OperationalError:
            if attempt == 99:
                raise
            time.sleep(0.05)
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.close()


def current_revision(engine: Engine) -> str | None:
    with engine.connect() as conn:
        if not inspect(conn).has_table("alembic_version"):
            return None
        row = conn.execute(text("SELECT version_num FROM alembic_version")).first()
        return str(row[0]) if row else None


def migrate(engine: Engine) -> None:
    """Bring the schema to the head revision (a no-op, without importing Alembic, when current)."""
    if current_revision(engine) == HEAD_REVISION:
        return
    from alembic import command
    from alembic.config import Config

    with _MIGRATION_LOCK:
        config = Config()
        config.set_main_option("script_location", str(MIGRATIONS))
        with engine.begin() as conn:
            if conn.dialect.name == "postgresql":
                conn.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": _PG_MIGRATION_KEY})
            config.attributes["connection"] = conn
            command.upgrade(config, "head")


def upsert(
    conn: Connection,
    table: Any,
    rows: list[dict[str, Any]],
    keys: Sequence[str],
    *,
    rising: Sequence[str] = (),
) -> None:
    """INSERT … ON CONFLICT (keys) DO UPDATE, on PostgreSQL and SQLite alike. A ``rising`` boolean
    column is never lowered by an update (the stored value OR the new one)."""
    if not rows:
        return
    stmt: Any
    if conn.dialect.name == "postgresql":
        from sqlalchemy.dialects.postgresql import insert as pg_insert

        stmt = pg_insert(table)
    else:
        from sqlalchemy.dialects.sqlite import insert as sqlite_insert

        stmt = sqlite_insert(table)
    updates = {c: stmt.excluded[c] for c in rows[0] if c not in keys}
    updates.update({c: or_(table.c[c], stmt.excluded[c]) for c in rising})
    conn.execute(stmt.on_conflict_do_update(index_elements=list(keys), set_=updates), rows)
