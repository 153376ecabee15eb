"""``postgres.database`` (data-bearing) and ``postgres.schema``.

``CREATE``/``DROP DATABASE`` cannot run in a transaction; the provider's connections are in
autocommit. A database's encoding, collation and template are fixed at creation (force-new).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from psycopg import sql

from driftgate.providers.base import Observed
from driftgate.providers.postgres.connection import Connections, errors
from driftgate.spec.schema import AttributeSchema, Containment, KindSchema

DATABASE = "postgres.database"
SCHEMA = "postgres.schema"

DATABASE_KIND = KindSchema(
    type=DATABASE,
    description="A database: it holds data an apply can destroy, so its module is gated as stateful.",
    attributes={
        "name": AttributeSchema(required=True, force_new=True),
        "owner": AttributeSchema(description="The owning role (default: the provider's user)."),
        "encoding": AttributeSchema(force_new=True),
        "lc_collate": AttributeSchema(force_new=True),
        "lc_ctype": AttributeSchema(force_new=True),
        "template": AttributeSchema(force_new=True, description="Used at creation only."),
        "connection_limit": AttributeSchema(type="integer", default=-1),
        "allow_connections": AttributeSchema(type="boolean", default=True),
        "is_template": AttributeSchema(type="boolean", default=False),
    },
    outputs=("name", "oid"),
    data_bearing=True,
)

SCHEMA_KIND = KindSchema(
    type=SCHEMA,
    description="A schema in a database.",
    attributes={
        "database": AttributeSchema(required=True, force_new=True),
        "name": AttributeSchema(required=True, force_new=True),
        "owner": AttributeSchema(description="The owning role (default: the provider's user)."),
        "if_not_exists": AttributeSchema(
            type="boolean",
            default=False,
            description="Adopt a schema that already exists instead of failing.",
        ),
        "cascade": AttributeSchema(
            type="boolean",
            default=False,
            description=(
                "Removing the schema drops everything in it (DROP SCHEMA ... CASCADE); as recorded at the "
                "last apply. It makes the schema data-bearing: its removal is gated like a database's."
            ),
        ),
    },
    outputs=("id",),
    contained_in=(Containment(DATABASE, (("database", "name"),)),),
    data_bearing_when="cascade",
)

SERVER_CHOSEN = frozenset(
    {"owner", "encoding", "lc_collate", "lc_ctype", "template"}
)  # unset: the server picks

_READ_DATABASES = sql.SQL(
    """SELECT d.datname, d.oid, r.rolname, pg_encoding_to_char(d.encoding), d.datcollate, d.datctype,
       d.datconnlimit, d.datallowconn, d.datistemplate
       FROM pg_database d JOIN pg_roles r ON r.oid = d.datdba WHERE d.datname = ANY(%s)"""
)


def read_databases(pg: Connections, items: Sequence[Mapping[str, Any]]) -> list[Observed | None]:
    names = [str(a["name"]) for a in items]
    with errors("reading databases"):
        rows = {r[0]: r for r in pg.get().execute(_READ_DATABASES, (names,)).fetchall()}
    found: list[Observed | None] = []
    for attributes in items:
        row = rows.get(str(attributes["name"]))
        if row is None:
            found.append(None)
            continue
        name, oid, owner, encoding, collate, ctype, limit, allow, template = row
        live = {
            "name": name,
            "owner": owner,
            "encoding": encoding,
            "lc_collate": collate,
            "lc_ctype": ctype,
            "template": attributes.get("template"),  # not kept by the server: what was asked
            "connection_limit": limit,
            "allow_connections": allow,
            "is_template": template,
        }
        found.append(Observed(live, {"name": name, "oid": int(oid)}))
    return found


def create_database(pg: Connections, attributes: Mapping[str, Any]) -> dict[str, Any]:
    name = str(attributes["name"])
    options: list[sql.Composable] = []
    for key, word in (("owner", "OWNER"), ("template", "TEMPLATE")):
        if attributes.get(key):
            options.append(sql.SQL(f"{word} {{}}").format(sql.Identifier(str(attributes[key]))))
    for key, word in (("encoding", "ENCODING"), ("lc_collate", "LC_COLLATE"), ("lc_ctype", "LC_CTYPE")):
        if attributes.get(key):
            options.append(sql.SQL(f"{word} {{}}").format(sql.Literal(str(attributes[key]))))
    options += _alterable(attributes)
    statement = sql.SQL("CREATE DATABASE {} ").format(sql.Identifier(name)) + sql.SQL(" ").join(options)
    with errors(f"creating database {name!r}"):
        pg.get().execute(statement)
    (found,) = read_databases(pg, [attributes])
    return found.outputs if found is not None else {"name": name}


def _alterable(attributes: Mapping[str, Any]) -> list[sql.Composable]:
    return [
        sql.SQL("CONNECTION LIMIT {}").format(sql.Literal(int(attributes.get("connection_limit", -1)))),
        sql.SQL("ALLOW_CONNECTIONS {}").format(sql.Literal(bool(attributes.get("allow_connections", True)))),
        sql.SQL("IS_TEMPLATE {}").format(sql.Literal(bool(attributes.get("is_template", False)))),
    ]


def update_database(pg: Connections, attributes: Mapping[str, Any]) -> dict[str, Any]:
    name = str(attributes["name"])
    database = sql.Identifier(name)
    conn = pg.get()
    with errors(f"changing database {name!r}"):
        conn.execute(
            sql.SQL("ALTER DATABASE {} WITH ").format(database) + sql.SQL(" ").join(_alterable(attributes))
        )
        if attributes.get("owner"):
            conn.execute(
                sql.SQL("ALTER DATABASE {} OWNER TO {}").format(
                    database, sql.Identifier(str(attributes["owner"]))
                )
            )
    (found,) = read_databases(pg, [attributes])
    return found.outputs if found is not None else {"name": name}


def delete_database(pg: Connections, attributes: Mapping[str, Any]) -> None:
    name = str(attributes["name"])
    pg.forget(name)  # this provider's own connections to it would block the drop
    with errors(f"dropping database {name!r}"):
        pg.get().execute(sql.SQL("DROP DATABASE IF EXISTS {}").format(sql.Identifier(name)))


def existing(pg: Connections, names: Iterable[str]) -> set[str]:
    """Which of ``names`` are databases on the server (one query)."""
    with errors("looking for databases"):
        rows = pg.get().execute("SELECT datname FROM pg_database WHERE datname = ANY(%s)", (list(names),))
        return {r[0] for r in rows.fetchall()}


def list_databases(pg: Connections) -> set[str]:
    with errors("listing databases"):
        rows = pg.get().execute("SELECT datname FROM pg_database").fetchall()
    return {r[0] for r in rows if not pg.config.ignores_database(r[0])}


# -- schemas ---------------------------------------------------------------------------------


def schema_id(attributes: Mapping[str, Any]) -> str:
    return f"{attributes['database']}/{attributes['name']}"


def read_schemas(pg: Connections, items: Sequence[Mapping[str, Any]]) -> list[Observed | None]:
    """One catalog query per database."""
    by_db: dict[str, list[str]] = {}
    for attributes in items:
        by_db.setdefault(str(attributes["database"]), []).append(str(attributes["name"]))
    live: dict[tuple[str, str], str] = {}
    for database, names in by_db.items():
        query = (
            "SELECT n.nspname, r.rolname FROM pg_namespace n JOIN pg_roles r ON r.oid = n.nspowner"
            " WHERE n.nspname = ANY(%s)"
        )
        with errors(f"reading schemas of database {database!r}"):
            for name, owner in pg.get(database).execute(query, (names,)).fetchall():
                live[(database, name)] = owner
    found: list[Observed | None] = []
    for attributes in items:
        key = (str(attributes["database"]), str(attributes["name"]))
        if key not in live:
            found.append(None)
            continue
        seen = {
            "database": key[0],
            "name": key[1],
            "owner": live[key],
            "if_not_exists": attributes.get("if_not_exists", False),
            "cascade": attributes.get("cascade", False),  # how a delete drops it: not a live fact
        }
        found.append(Observed(seen, {"id": schema_id(seen)}))
    return found


def create_schema(pg: Connections, attributes: Mapping[str, Any]) -> dict[str, Any]:
    database, name = str(attributes["database"]), str(attributes["name"])
    maybe = sql.SQL("IF NOT EXISTS ") if attributes.get("if_not_exists") else sql.SQL("")
    owner = (
        sql.SQL(" AUTHORIZATION {}").format(sql.Identifier(str(attributes["owner"])))
        if attributes.get("owner")
        else sql.SQL("")
    )
    with errors(f"creating schema {name!r} in database {database!r}"):
        conn = pg.get(database)
        conn.execute(sql.SQL("CREATE SCHEMA ") + maybe + sql.Identifier(name) + owner)
        if attributes.get("owner") and attributes.get(
            "if_not_exists"
        ):  # an adopted schema gets its owner too
            conn.execute(
                sql.SQL("ALTER SCHEMA {} OWNER TO {}").format(
                    sql.Identifier(name), sql.Identifier(str(attributes["owner"]))
                )
            )
    return {"id": schema_id(attributes)}


def update_schema(pg: Connections, attributes: Mapping[str, Any]) -> dict[str, Any]:
    database, name = str(attributes["database"]), str(attributes["name"])
    if attributes.get("owner"):
        with errors(f"changing schema {name!r} in database {database!r}"):
            pg.get(database).execute(
                sql.SQL("ALTER SCHEMA {} OWNER TO {}").format(
                    sql.Identifier(name), sql.Identifier(str(attributes["owner"]))
                )
            )
    return {"id": schema_id(attributes)}


def delete_schema(pg: Connections, attributes: Mapping[str, Any]) -> None:
    database, name = str(attributes["database"]), str(attributes["name"])
    cascade = sql.SQL(" CASCADE") if attributes.get("cascade") is True else sql.SQL("")  # true, nothing else
    with errors(f"dropping schema {name!r} in database {database!r}"):
        pg.get(database).execute(sql.SQL("DROP SCHEMA IF EXISTS {}").format(sql.Identifier(name)) + cascade)


_LIST_SCHEMAS = (
    "SELECT nspname FROM pg_namespace WHERE nspname NOT LIKE 'pg\\_%' AND nspname <> 'information_schema'"
)


def list_schemas(pg: Connections, databases: Sequence[str]) -> set[str]:
    found = set()
    for database in databases:
        query = _LIST_SCHEMAS
        with errors(f"listing schemas of database {database!r}"):
            found |= {f"{database}/{r[0]}" for r in pg.get(database).execute(query).fetchall()}
    return found
