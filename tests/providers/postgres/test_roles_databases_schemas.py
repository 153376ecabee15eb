"""The postgres provider against a real server: each kind's create, read, update, delete, drift
from an out-of-band change, discovery and import; batched reads; errors with their SQLSTATE."""

from __future__ import annotations

from pathlib import Path

import pytest
from psycopg import sql

from driftgate.errors import ProviderError
from driftgate.providers.base import ProviderContext
from driftgate.providers.postgres import PostgresProvider, scram
from driftgate.providers.postgres.roles import CHANGED_ELSEWHERE
from tests.providers.postgres.conftest import Server, desired

ROLE, DATABASE, SCHEMA = "postgres.role", "postgres.database", "postgres.schema"


def test_a_role_is_created_read_changed_and_dropped(server: Server, provider: PostgresProvider) -> None:
    group = desired(provider, ROLE, name=server.name("readers"))
    provider.create(ROLE, "readers", group)
    spec = desired(
        provider,
        ROLE,
        name=server.name("app"),
        login=True,
        connection_limit=5,
        valid_until="2031-01-01T00:00:00Z",
        member_of=[server.name("readers")],
        search_path=["app", "public"],
        statement_timeout=30000,
    )
    outputs = provider.create(ROLE, "app", spec)
    live = provider.read(ROLE, spec, outputs)
    assert live is not None and provider.diff(ROLE, live.attributes, spec) == []
    assert live.attributes["member_of"] == [server.name("readers")]
    assert (
        live.attributes["search_path"] == ["app", "public"] and live.attributes["statement_timeout"] == 30000
    )
    changed = {**spec, "connection_limit": 9, "member_of": [], "createdb": True, "valid_until": None}
    assert sorted(provider.diff(ROLE, live.attributes, changed)) == [
        "connection_limit",
        "createdb",
        "member_of",
        "valid_until",
    ]
    provider.update(ROLE, "app", changed, outputs)
    live = provider.read(ROLE, changed, outputs)
    assert live is not None and provider.diff(ROLE, live.attributes, changed) == []
    provider.delete(ROLE, changed, outputs)
    assert provider.read(ROLE, changed, outputs) is None


def test_out_of_band_changes_show_as_drift(server: Server, provider: PostgresProvider) -> None:
    spec = desired(provider, ROLE, name=server.name("svc"), login=True)
    outputs = provider.create(ROLE, "svc", spec)
    server.sql(sql.SQL("ALTER ROLE {} NOLOGIN CONNECTION LIMIT 3").format(sql.Identifier(server.name("svc"))))
    live = provider.read(ROLE, spec, outputs)
    assert live is not None and sorted(provider.diff(ROLE, live.attributes, spec)) == [
        "connection_limit",
        "login",
    ]
    db = desired(provider, DATABASE, name=server.name("db"), owner=server.name("svc"))
    db_out = provider.create(DATABASE, "db", db)
    server.sql(sql.SQL("ALTER DATABASE {} OWNER TO postgres").format(sql.Identifier(server.name("db"))))
    live = provider.read(DATABASE, db, db_out)
    assert live is not None and provider.diff(DATABASE, live.attributes, db) == ["owner"]
    schema = desired(provider, SCHEMA, database=server.name("db"), name="reports")
    provider.create(SCHEMA, "reports", schema)
    server.sql("DROP SCHEMA reports", dbname=server.name("db"))
    assert provider.read(SCHEMA, schema, {}) is None


def test_a_password_is_never_read_back_and_a_change_elsewhere_is_seen(
    server: Server, provider: PostgresProvider
) -> None:
    spec = desired(provider, ROLE, name=server.name("login"), login=True, password="first-secret-1")
    outputs = provider.create(ROLE, "login", spec)
    (stored,) = server.sql("SELECT rolpassword FROM pg_authid WHERE rolname = %s", server.name("login"))
    assert stored[0].startswith("SCRAM-SHA-256$") and scram.matches("first-secret-1", stored[0])
    assert "first-secret-1" not in str(outputs)
    live = provider.read(ROLE, spec, outputs)
    assert live is not None and live.attributes["password"] == "first-secret-1"  # still the recorded secret
    server.sql(sql.SQL("ALTER ROLE {} PASSWORD 'set-by-hand'").format(sql.Identifier(server.name("login"))))
    live = provider.read(ROLE, spec, outputs)
    assert live is not None and live.attributes["password"] == CHANGED_ELSEWHERE
    assert provider.diff(ROLE, live.attributes, spec) == ["password"]


def test_without_superuser_only_a_change_of_the_secret_itself_is_seen(
    server: Server, provider: PostgresProvider, tmp_path: Path
) -> None:
    admin = desired(provider, ROLE, name=server.name("admin"), login=True, createrole=True)
    provider.create(ROLE, "admin", admin)
    limited = PostgresProvider()
    limited.configure(server.config(user=server.name("admin")), ProviderContext(stack_dir=tmp_path))
    try:
        spec = desired(limited, ROLE, name=server.name("user"), login=True, password="secret-one")
        outputs = limited.create(ROLE, "user", spec)
        assert "password_check" in outputs and "secret-one" not in outputs["password_check"]
        live = limited.read(ROLE, spec, outputs)
        assert live is not None and live.attributes["password"] == "secret-one"
        rotated = {**spec, "password": "secret-two"}  # the secret's value changed since the apply
        live = limited.read(ROLE, rotated, outputs)
        assert live is not None and live.attributes["password"] == CHANGED_ELSEWHERE
    finally:
        limited.close()


def test_superuser_is_refused_unless_allowed(server: Server, provider: PostgresProvider) -> None:
    with pytest.raises(ProviderError, match="superuser is refused"):
        provider.create(ROLE, "root", desired(provider, ROLE, name=server.name("root"), superuser=True))
    assert server.sql("SELECT 1 FROM pg_roles WHERE rolname = %s", server.name("root")) == []


def test_a_database_and_its_schema(server: Server, provider: PostgresProvider) -> None:
    owner = desired(provider, ROLE, name=server.name("owner"))
    provider.create(ROLE, "owner", owner)
    db = desired(
        provider, DATABASE, name=server.name("shop"), owner=server.name("owner"), connection_limit=10
    )
    outputs = provider.create(DATABASE, "shop", db)
    assert outputs["oid"] > 0
    live = provider.read(DATABASE, db, outputs)
    assert live is not None and provider.diff(DATABASE, live.attributes, db) == []
    assert live.attributes["encoding"] == "UTF8"  # chosen by the server: not a difference
    schema = desired(provider, SCHEMA, database=server.name("shop"), name="sales", owner=server.name("owner"))
    assert provider.create(SCHEMA, "sales", schema) == {"id": f"{server.name('shop')}/sales"}
    seen = provider.read(SCHEMA, schema, {})
    assert seen is not None and provider.diff(SCHEMA, seen.attributes, schema) == []
    adopt = desired(provider, SCHEMA, database=server.name("shop"), name="sales", if_not_exists=True)
    provider.create(SCHEMA, "sales", adopt)  # already there: adopted, not an error
    with pytest.raises(ProviderError, match=r"creating schema 'sales' .*already exists \(SQLSTATE 42P06\)"):
        provider.create(SCHEMA, "sales", schema)
    provider.update(DATABASE, "shop", {**db, "connection_limit": 20}, outputs)
    live = provider.read(DATABASE, db, outputs)
    assert live is not None and live.attributes["connection_limit"] == 20
    provider.delete(SCHEMA, schema, {})
    provider.delete(DATABASE, db, outputs)  # its own connection to the database does not block the drop
    assert provider.read(DATABASE, db, outputs) is None


def test_a_role_that_owns_objects_is_refused_clearly_or_reassigned(
    server: Server, provider: PostgresProvider
) -> None:
    spec = desired(provider, ROLE, name=server.name("maker"))
    provider.create(ROLE, "maker", spec)
    provider.create(
        DATABASE, "made", desired(provider, DATABASE, name=server.name("made"), owner=server.name("maker"))
    )
    with pytest.raises(ProviderError, match=r"still owns objects.*reassign_owned_to.*SQLSTATE 2BP01"):
        provider.delete(ROLE, spec, {})
    provider.delete(ROLE, {**spec, "reassign_owned_to": "postgres"}, {})
    assert provider.read(ROLE, spec, {}) is None
    (owner,) = server.sql(
        "SELECT pg_get_userbyid(datdba) FROM pg_database WHERE datname = %s", server.name("made")
    )
    assert owner[0] == "postgres"


def test_reads_are_batched_one_query_per_kind(server: Server, provider: PostgresProvider) -> None:
    names = [server.name(f"r{i}") for i in range(30)]
    for name in names:
        provider.create(ROLE, name, desired(provider, ROLE, name=name))
    queries: list[str] = []
    conn = provider.pg.get()
    conn.add_notice_handler(lambda _: None)
    real = conn.execute

    def counted(query: object, *args: object, **kwargs: object) -> object:
        queries.append(str(query))
        return real(query, *args, **kwargs)  # type: ignore[arg-type]

    conn.execute = counted  # type: ignore[method-assign]
    found = provider.read_many(
        [(ROLE, {"name": n}, {}) for n in names] + [(ROLE, {"name": server.name("none")}, {})]
    )
    assert [f is not None for f in found] == [True] * 30 + [False]
    assert len(queries) == 1


def test_discovery_and_import(server: Server, provider: PostgresProvider) -> None:
    server.sql(
        sql.SQL("CREATE ROLE {} LOGIN CONNECTION LIMIT 2").format(sql.Identifier(server.name("stray")))
    )
    server.sql(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(server.name("strays"))))
    assert provider.list_ids(ROLE) == {server.name("stray")}
    assert provider.list_ids(DATABASE) == {server.name("strays")}
    assert f"{server.name('strays')}/public" in (provider.list_ids(SCHEMA) or set())
    imported = provider.import_resource(ROLE, server.name("stray"))
    assert (
        imported is not None
        and imported.attributes["connection_limit"] == 2
        and "password" not in imported.attributes
    )
    assert provider.resource_id(ROLE, {"name": server.name("stray")}) == server.name("stray")
    assert provider.import_resource(ROLE, server.name("missing")) is None


def test_a_bad_dsn_is_a_one_line_error_without_the_password(server: Server, tmp_path: Path) -> None:
    broken = PostgresProvider()
    broken.configure(
        {"host": "127.0.0.1", "port": 1, "user": "x", "password": "hunter2-pg-secret"},
        ProviderContext(stack_dir=tmp_path),
    )
    with pytest.raises(ProviderError) as failed:
        broken.read(ROLE, {"name": "x"}, {})
    assert "connecting to database 'postgres'" in str(failed.value) and "hunter2-pg-secret" not in str(
        failed.value
    )
    assert "\n" not in str(failed.value)


def test_objects_in_a_database_dropped_out_of_band_read_as_deleted(
    server: Server, provider: PostgresProvider
) -> None:
    db = desired(provider, DATABASE, name=server.name("gone"))
    provider.create(DATABASE, "gone", db)
    schema = desired(provider, SCHEMA, database=server.name("gone"), name="sales")
    provider.create(SCHEMA, "sales", schema)
    role = desired(provider, ROLE, name=server.name("stays"))
    provider.create(ROLE, "stays", role)
    server.sql(sql.SQL("DROP DATABASE {} WITH (FORCE)").format(sql.Identifier(server.name("gone"))))
    found = provider.read_many([(SCHEMA, schema, {}), (ROLE, role, {})])
    assert found[0] is None and found[1] is not None  # deleted, not an error that hides the rest
    provider.delete(SCHEMA, schema, {})  # nothing left to drop: done
