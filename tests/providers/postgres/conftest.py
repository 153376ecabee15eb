"""A real PostgreSQL server for the provider: each test gets a name prefix and cleans up after it."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import psycopg
import pytest
from psycopg import sql

from driftgate.providers.base import ProviderContext
from driftgate.providers.postgres import PostgresProvider
from driftgate.testing import postgres


@dataclass
class Server:
    admin: str  # a superuser URL
    prefix: str  # every role and database a test makes starts with it

    def sql(self, statement: str | sql.Composable, *params: Any, dbname: str | None = None) -> list[Any]:
        with psycopg.connect(self.admin, autocommit=True, **({"dbname": dbname} if dbname else {})) as conn:
            cursor = conn.execute(statement, params or None)
            return cursor.fetchall() if cursor.description else []

    def name(self, suffix: str) -> str:
        return f"{self.prefix}{suffix}"

    def config(self, **extra: Any) -> dict[str, Any]:
        return {
            "dsn": self.admin,
            "ignore_roles": [f"(?!{self.prefix}).*"],  # the shared server holds other roles and databases
            "ignore_databases": [f"(?!{self.prefix}).*"],
            **extra,
        }


@pytest.fixture
def server() -> Iterator[Server]:
    try:
        admin = postgres.admin_url()
    except postgres.PostgresUnavailable as exc:
        pytest.fail(f"PostgreSQL is required by these tests: {exc}")
    found = Server(admin, f"dgt_{uuid.uuid4().hex[:8]}_")
    yield found
    for (name,) in found.sql("SELECT datname FROM pg_database WHERE datname LIKE %s", found.prefix + "%"):
        found.sql(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name)))
    for (name,) in found.sql("SELECT rolname FROM pg_roles WHERE rolname LIKE %s", found.prefix + "%"):
        found.sql(sql.SQL("DROP OWNED BY {}").format(sql.Identifier(name)))
        found.sql(sql.SQL("DROP ROLE IF EXISTS {}").format(sql.Identifier(name)))


@pytest.fixture
def provider(server: Server, tmp_path: Path) -> Iterator[PostgresProvider]:
    found = PostgresProvider()
    found.configure(server.config(), ProviderContext(stack_dir=tmp_path))
    yield found
    found.close()


def desired(provider: PostgresProvider, type_: str, **spec: object) -> dict[str, object]:
    """A resource's spec with its kind's defaults, as the planner hands it to the provider."""
    return provider.kinds()[type_].with_defaults(dict(spec))
