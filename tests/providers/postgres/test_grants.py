"""Grants, default privileges and extensions against a real server: applied, read back, drift from
an out-of-band REVOKE or GRANT, and a grant by another grantor never causing a perpetual diff."""

from __future__ import annotations

import pytest
from psycopg import sql

from driftgate.errors import ProviderError
from driftgate.providers.postgres import PostgresProvider
from tests.providers.postgres.conftest import Server, desired

ROLE, DATABASE, SCHEMA = "postgres.role", "postgres.database", "postgres.schema"
GRANT, DEFAULTS, EXTENSION = "postgres.grant", "postgres.default_privileges", "postgres.extension"


@pytest.fixture
def shop(server: Server, provider: PostgresProvider) -> str:
    """A database with a schema, two tables and a sequence, and a reader role."""
    for name in ("owner", "reader", "other"):
        provider.create(ROLE, name, desired(provider, ROLE, name=server.name(name), login=True))
    database = server.name("shop")
    provider.create(DATABASE, "shop", desired(provider, DATABASE, name=database, owner=server.name("owner")))
    provider.create(
        SCHEMA,
        "sales",
        desired(provider, SCHEMA, database=database, name="sales", owner=server.name("owner")),
    )
    server.sql("CREATE TABLE sales.orders (id serial primary key)", dbname=database)
    server.sql("CREATE TABLE sales.items (id int)", dbname=database)
    return database


def in_sync(
    provider: PostgresProvider, type_: str, spec: dict[str, object], outputs: dict[str, object]
) -> list[str]:
    live = provider.read(type_, spec, outputs)
    assert live is not None
    return provider.diff(type_, live.attributes, spec)


def test_table_grants_on_all_tables_of_a_schema(
    server: Server, provider: PostgresProvider, shop: str
) -> None:
    spec = desired(
        provider,
        GRANT,
        database=shop,
        role=server.name("reader"),
        object_type="table",
        schema="sales",
        privileges=["select"],
    )
    outputs = provider.create(GRANT, "read", spec)
    assert in_sync(provider, GRANT, spec, outputs) == []
    rows = server.sql(
        "SELECT table_name FROM information_schema.role_table_grants WHERE grantee = %s AND privilege_type = 'SELECT'",
        server.name("reader"),
        dbname=shop,
    )
    assert sorted(r[0] for r in rows) == ["items", "orders"]
    server.sql(
        sql.SQL("REVOKE SELECT ON sales.items FROM {}").format(sql.Identifier(server.name("reader"))),
        dbname=shop,
    )
    assert in_sync(provider, GRANT, spec, outputs) == ["privileges"]  # one table lost it: drift
    more = {**spec, "privileges": ["select", "insert"], "with_grant_option": True}
    provider.update(GRANT, "read", more, outputs)
    assert in_sync(provider, GRANT, more, outputs) == []
    provider.delete(GRANT, more, outputs)
    assert provider.read(GRANT, more, outputs) is not None  # the tables are there; the role holds nothing
    live = provider.read(GRANT, more, outputs)
    assert live is not None and live.attributes["privileges"] == []


def test_a_grant_by_another_grantor_causes_no_perpetual_diff(
    server: Server, provider: PostgresProvider, shop: str
) -> None:
    spec = desired(
        provider,
        GRANT,
        database=shop,
        role=server.name("reader"),
        object_type="schema",
        schema="sales",
        privileges=["usage"],
    )
    outputs = provider.create(GRANT, "usage", spec)
    other = sql.Identifier(server.name("other"))  # neither this provider's user nor the owner
    server.sql(sql.SQL("GRANT CREATE ON SCHEMA sales TO {} WITH GRANT OPTION").format(other), dbname=shop)
    reader = sql.Identifier(server.name("reader"))
    server.sql(sql.SQL("SET ROLE {}; GRANT CREATE ON SCHEMA sales TO {}").format(other, reader), dbname=shop)
    assert in_sync(provider, GRANT, spec, outputs) == []  # CREATE came from someone else: not ours to see


def test_database_and_named_object_grants(server: Server, provider: PostgresProvider, shop: str) -> None:
    connect = desired(
        provider,
        GRANT,
        database=shop,
        role=server.name("reader"),
        object_type="database",
        privileges=["connect", "temporary"],
    )
    outputs = provider.create(GRANT, "connect", connect)
    assert in_sync(provider, GRANT, connect, outputs) == []
    one = desired(
        provider,
        GRANT,
        database=shop,
        role=server.name("other"),
        object_type="table",
        schema="sales",
        objects=["orders"],
        privileges=["all"],
    )
    outputs = provider.create(GRANT, "one", one)
    assert in_sync(provider, GRANT, one, outputs) == []
    seq = desired(
        provider,
        GRANT,
        database=shop,
        role=server.name("other"),
        object_type="sequence",
        schema="sales",
        privileges=["usage"],
    )
    outputs = provider.create(GRANT, "seq", seq)
    assert in_sync(provider, GRANT, seq, outputs) == []
    with pytest.raises(ProviderError, match="EXECUTE cannot be granted on a table"):
        provider.create(GRANT, "bad", {**one, "privileges": ["execute"]})
    gone = {**one, "objects": ["no_such_table"]}
    assert provider.read(GRANT, gone, {}) is None


def test_default_privileges(server: Server, provider: PostgresProvider, shop: str) -> None:
    spec = desired(
        provider,
        DEFAULTS,
        database=shop,
        role=server.name("owner"),
        schema="sales",
        object_type="table",
        grantee=server.name("reader"),
        privileges=["select"],
    )
    outputs = provider.create(DEFAULTS, "defaults", spec)
    assert in_sync(provider, DEFAULTS, spec, outputs) == []
    owner = sql.Identifier(server.name("owner"))
    server.sql(sql.SQL("SET ROLE {}; CREATE TABLE sales.later (id int)").format(owner), dbname=shop)
    rows = server.sql(
        "SELECT has_table_privilege(%s, 'sales.later', 'SELECT')", server.name("reader"), dbname=shop
    )
    assert rows == [(True,)]
    provider.delete(DEFAULTS, spec, outputs)
    assert provider.read(DEFAULTS, spec, outputs) is None


def test_extensions(server: Server, provider: PostgresProvider, shop: str) -> None:
    spec = desired(provider, EXTENSION, database=shop, name="hstore", schema="sales")
    outputs = provider.create(EXTENSION, "hstore", spec)
    live = provider.read(EXTENSION, spec, outputs)
    assert live is not None and live.attributes["schema"] == "sales" and live.attributes["version"]
    assert provider.diff(EXTENSION, live.attributes, spec) == []
    assert provider.import_resource(EXTENSION, f"{shop}/hstore") is not None
    provider.delete(EXTENSION, spec, outputs)
    assert provider.read(EXTENSION, spec, outputs) is None


def test_a_grant_on_all_tables_of_an_empty_schema_is_in_sync(
    server: Server, provider: PostgresProvider, shop: str
) -> None:
    provider.create(SCHEMA, "empty", desired(provider, SCHEMA, database=shop, name="empty"))
    spec = desired(
        provider,
        GRANT,
        database=shop,
        role=server.name("reader"),
        object_type="table",
        schema="empty",
        privileges=["select"],
    )
    outputs = provider.create(GRANT, "empty", spec)
    assert in_sync(provider, GRANT, spec, outputs) == []  # nothing to hold: nothing differs
    gone = {**spec, "schema": "no_such_schema"}
    assert provider.read(GRANT, gone, outputs) is None


def test_out_of_band_changes_to_defaults_and_extensions_show(
    server: Server, provider: PostgresProvider, shop: str
) -> None:
    defaults = desired(
        provider,
        DEFAULTS,
        database=shop,
        role=server.name("owner"),
        schema="sales",
        object_type="table",
        grantee=server.name("reader"),
        privileges=["select", "insert"],
    )
    outputs = provider.create(DEFAULTS, "d", defaults)
    owner, reader = sql.Identifier(server.name("owner")), sql.Identifier(server.name("reader"))
    server.sql(
        sql.SQL(
            "ALTER DEFAULT PRIVILEGES FOR ROLE {} IN SCHEMA sales REVOKE INSERT ON TABLES FROM {}"
        ).format(owner, reader),
        dbname=shop,
    )
    assert in_sync(provider, DEFAULTS, defaults, outputs) == ["privileges"]
    extension = desired(provider, EXTENSION, database=shop, name="citext", schema="sales")
    ext_out = provider.create(EXTENSION, "citext", extension)
    server.sql("ALTER EXTENSION citext SET SCHEMA public", dbname=shop)
    assert in_sync(provider, EXTENSION, extension, ext_out) == ["schema"]
    provider.update(EXTENSION, "citext", extension, ext_out)
    assert in_sync(provider, EXTENSION, extension, ext_out) == []
