"""Connecting to a PostgreSQL server: the provider's configuration, one connection per database
and thread (DDL runs outside transactions unless a kind asks for one), and PostgreSQL's errors as
provider errors that name the object and the SQLSTATE, with every secret taken out."""

from __future__ import annotations

import re
import threading
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

import psycopg
from psycopg import conninfo as pg_conninfo

from driftgate.errors import ProviderConfigError, ProviderError
from driftgate.security.redact import redact, register_secret

FIELDS = frozenset(
    {
        "dsn",
        "host",
        "port",
        "user",
        "password",
        "sslmode",
        "dbname",
        "superuser_allowed",
        "ignore_roles",
        "ignore_databases",
    }
)
SYSTEM_ROLES = re.compile(r"^pg_")
SYSTEM_DATABASES = frozenset({"template0", "template1"})
CONNECT_TIMEOUT = 10


@dataclass(frozen=True)
class PgConfig:
    conninfo: str  # without the password: it travels in the libpq environment-free kwargs only
    password: str | None
    dbname: str
    superuser_allowed: bool = False
    ignore_roles: tuple[re.Pattern[str], ...] = ()
    ignore_databases: tuple[re.Pattern[str], ...] = ()
    params: Mapping[str, Any] = field(default_factory=dict)

    def ignores_role(self, name: str) -> bool:
        return bool(SYSTEM_ROLES.match(name)) or any(p.fullmatch(name) for p in self.ignore_roles)

    def ignores_database(self, name: str) -> bool:
        return name in SYSTEM_DATABASES or any(p.fullmatch(name) for p in self.ignore_databases)


def parse_config(config: Mapping[str, Any]) -> PgConfig:
    """The provider block's config (secrets already resolved): a ``dsn``, or host/port/user/
    password/sslmode/dbname; ``superuser_allowed``; ``ignore_roles``/``ignore_databases`` (regular
    expressions matched against whole names, for unmanaged discovery)."""
    unknown = sorted(set(config) - FIELDS)
    if unknown:
        raise ProviderConfigError(f"postgres provider: unknown field(s) {', '.join(unknown)}")
    params: dict[str, Any] = {}
    if config.get("dsn"):
        try:
            params = dict(pg_conninfo.conninfo_to_dict(str(config["dsn"])))
        except psycopg.ProgrammingError:
            raise ProviderConfigError("postgres provider: 'dsn' is not a valid connection string") from None
    for name in ("host", "port", "user", "sslmode", "dbname"):
        if config.get(name) is not None:
            params[name] = str(config[name])
    password = config.get("password") or params.pop("password", None)
    if password is not None:
        register_secret(str(password))
    params.setdefault("dbname", "postgres")
    patterns: dict[str, tuple[re.Pattern[str], ...]] = {}
    for name in ("ignore_roles", "ignore_databases"):
        raw = config.get(name, [])
        if not isinstance(raw, list) or not all(isinstance(p, str) for p in raw):
            raise ProviderConfigError(f"postgres provider: '{name}' must be a list of regular expressions")
        try:
            patterns[name] = tuple(re.compile(p) for p in raw)
        except re.error as exc:
            raise ProviderConfigError(f"postgres provider: '{name}': {exc}") from None
    allowed = config.get("superuser_allowed", False)
    if not isinstance(allowed, bool):
        raise ProviderConfigError("postgres provider: 'superuser_allowed' must be true or false")
    return PgConfig(
        conninfo=pg_conninfo.make_conninfo(**params),
        password=None if password is None else str(password),
        dbname=params["dbname"],
        superuser_allowed=allowed,
        ignore_roles=patterns["ignore_roles"],
        ignore_databases=patterns["ignore_databases"],
        params=params,
    )


class Connections:
    """Autocommit connections, one per database per thread (the executor runs actions in parallel)."""

    def __init__(self, config: PgConfig) -> None:
        self.config = config
        self._local = threading.local()
        self._all: list[psycopg.Connection[Any]] = []
        self._lock = threading.Lock()

    def get(self, dbname: str | None = None) -> psycopg.Connection[Any]:
        name = dbname or self.config.dbname
        mine: dict[str, psycopg.Connection[Any]] = self._local.__dict__.setdefault("by_db", {})
        conn = mine.get(name)
        if conn is None or conn.closed:
            with errors(f"connecting to database {name!r}"):
                conn = psycopg.connect(
                    self.config.conninfo,
                    dbname=name,
                    password=self.config.password,
                    autocommit=True,
                    connect_timeout=CONNECT_TIMEOUT,
                    application_name="driftgate",
                )
            mine[name] = conn
            with self._lock:
                self._all.append(conn)
        return conn

    def forget(self, dbname: str) -> None:
        """Close this provider's connections to ``dbname`` (before it is dropped)."""
        with self._lock:
            keep = []
            for conn in self._all:
                if conn.info.dbname == dbname:
                    conn.close()
                else:
                    keep.append(conn)
            self._all = keep

    def close(self) -> None:
        with self._lock:
            opened, self._all = self._all, []
        for conn in opened:
            conn.close()


@contextmanager
def errors(doing: str) -> Iterator[None]:
    """PostgreSQL's failures as one-line provider errors: what was being done, the SQLSTATE and
    the server's message, redacted (PostgreSQL can echo a statement, password included)."""
    try:
        yield
    except psycopg.Error as exc:
        state = getattr(exc, "sqlstate", None) or "connection"
        message = " ".join(str(getattr(getattr(exc, "diag", None), "message_primary", None) or exc).split())
        raise ProviderError(redact(f"{doing}: {message} (SQLSTATE {state})")) from None
