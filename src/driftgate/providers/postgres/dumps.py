"""Backups of a database with PostgreSQL's own tools: ``pg_dump -Fc`` of the database and
``pg_dumpall --globals-only`` for the roles, each dump checked with ``pg_restore --list``; restore
with ``pg_restore --clean --create``. The password reaches the tools in their environment
(``PGPASSWORD``), never in argv; role password hashes stay out of the artifact."""

from __future__ import annotations

import os
import shutil
import subprocess
import tempfile
from pathlib import Path

from driftgate.errors import ProviderError
from driftgate.providers.postgres.connection import PgConfig
from driftgate.security.redact import redact

DUMP = "database.dump"
SCHEMA_DUMP = "schema.dump"
GLOBALS = "globals.sql"
TIMEOUT = 3600.0


def _env(config: PgConfig) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("PG")}
    names = {"host": "PGHOST", "port": "PGPORT", "user": "PGUSER", "sslmode": "PGSSLMODE"}
    env.update(
        {variable: str(config.params[key]) for key, variable in names.items() if config.params.get(key)}
    )
    if config.password:
        env["PGPASSWORD"] = config.password
    env["PGCONNECT_TIMEOUT"] = "10"
    env["PGAPPNAME"] = "driftgate"
    return env


def _tool(name: str) -> str:
    found = shutil.which(name)
    if found is None:
        raise ProviderError(f"{name} is not installed (PostgreSQL's client tools are needed for backups)")
    return found


def _run(argv: list[str], config: PgConfig, doing: str) -> bytes:
    try:
        done = subprocess.run(argv, env=_env(config), capture_output=True, timeout=TIMEOUT, check=False)  # noqa: S603
    except subprocess.TimeoutExpired:
        raise ProviderError(f"{doing}: {Path(argv[0]).name} did not finish in {TIMEOUT:g} s") from None
    if done.returncode != 0:
        reason = " ".join(done.stderr.decode("utf-8", "replace").split())[:500]
        raise ProviderError(redact(f"{doing}: {Path(argv[0]).name} failed: {reason}"))
    return done.stdout


def _dbname(database: str) -> str:
    """A database name for a tool's ``-d``, which takes a connection string too: a name that would
    read as one (``host=…``, ``postgresql://…``) is refused rather than followed."""
    if "=" in database or "://" in database:
        raise ProviderError(f"database name {database!r} reads as a connection string: refused for the tools")
    return database


def _pattern(name: str) -> str:
    """``pg_dump -n`` takes a pattern: quoted, a name is itself (case, ``*`` and ``?`` kept)."""
    return '"' + name.replace('"', '""') + '"'


def dump(config: PgConfig, database: str) -> dict[str, bytes]:
    data = _run(
        [_tool("pg_dump"), "-Fc", "--no-password", "-d", _dbname(database)],
        config,
        f"dumping database {database!r}",
    )
    check(config, data, database)
    roles = _run(
        [_tool("pg_dumpall"), "--globals-only", "--no-role-passwords", "--no-password", "-l", config.dbname],
        config,
        "dumping roles",
    )
    return {DUMP: data, GLOBALS: roles}


def dump_schema(config: PgConfig, database: str, schema: str) -> dict[str, bytes]:
    """``pg_dump -Fc -n SCHEMA``: the schema and everything in it (tables with their rows)."""
    data = _run(
        [_tool("pg_dump"), "-Fc", "--no-password", "-n", _pattern(schema), "-d", _dbname(database)],
        config,
        f"dumping schema {schema!r} of database {database!r}",
    )
    check(config, data, f"{database}/{schema}")
    return {SCHEMA_DUMP: data}


def restore_schema(config: PgConfig, data: bytes, database: str, schema: str) -> None:
    """Put the schema back as dumped (what is in it now is dropped first) into its database."""
    with _file(data) as path:
        _run(
            [
                _tool("pg_restore"),
                "--clean",
                "--if-exists",
                "--no-password",
                "-d",
                _dbname(database),
                str(path),
            ],
            config,
            f"restoring schema {schema!r} of database {database!r}",
        )


def check(config: PgConfig, data: bytes, database: str) -> None:
    """``pg_restore --list`` reads the whole table of contents: a truncated or foreign file fails."""
    with _file(data) as path:
        _run(
            [
                _tool(
                    "pg_restore",
                ),
                "--list",
                str(path),
            ],
            config,
            f"checking the dump of {database!r}",
        )


def restore(config: PgConfig, data: bytes, database: str) -> None:
    """Drop the database and create it again from the dump (connections to it are ended first)."""
    with _file(data) as path:
        _run(
            [
                _tool("pg_restore"),
                "--clean",
                "--if-exists",
                "--create",
                "--no-password",
                "-d",
                config.dbname,
                str(path),
            ],
            config,
            f"restoring database {database!r}",
        )


class _file:
    """The dump in a private temporary file (0600) for the tools to read."""

    def __init__(self, data: bytes) -> None:
        self.data = data
        self.directory = Path(tempfile.mkdtemp(prefix="driftgate-pg-"))

    def __enter__(self) -> Path:
        path = self.directory / DUMP
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "wb") as handle:
            handle.write(self.data)
        return path

    def __exit__(self, *_: object) -> None:
        shutil.rmtree(self.directory, ignore_errors=True)
