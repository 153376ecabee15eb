"""``postgres.grant``, ``postgres.default_privileges`` and ``postgres.extension``.

Privileges are read with ``aclexplode``, counting only those this provider could have granted —
by its own user, or by the object's owner (what PostgreSQL records when a superuser grants) — so a
grant someone else made never becomes a difference that no apply can remove. A grant is applied
as revoke-then-grant in one transaction under an advisory lock on the role.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from psycopg import sql

from driftgate.errors import ProviderError
from driftgate.providers.base import Observed
from driftgate.providers.postgres.connection import Connections, errors
from driftgate.providers.postgres.databases import DATABASE, SCHEMA
from driftgate.spec.schema import AttributeSchema, Containment, KindSchema

GRANT = "postgres.grant"
DEFAULT_PRIVILEGES = "postgres.default_privileges"
EXTENSION = "postgres.extension"
MIXED = "(differs by object)"

OBJECT_TYPES = {  # object_type: (ON … keyword, what ALL … IN SCHEMA says, privileges it takes)
    "database": ("DATABASE", None, {"CONNECT", "CREATE", "TEMPORARY"}),
    "schema": ("SCHEMA", None, {"USAGE", "CREATE"}),
    "table": (
        "TABLE",
        "TABLES",
        {"SELECT", "INSERT", "UPDATE", "DELETE", "TRUNCATE", "REFERENCES", "TRIGGER"},
    ),
    "sequence": ("SEQUENCE", "SEQUENCES", {"USAGE", "SELECT", "UPDATE"}),
    "function": ("FUNCTION", "FUNCTIONS", {"EXECUTE"}),
}
DEFAULT_KEYS = {"table": ("r", "TABLES"), "sequence": ("S", "SEQUENCES"), "function": ("f", "FUNCTIONS")}

# what lives in a database or in one of its schemas goes with it when that is replaced
_IN_DATABASE_AND_SCHEMA = (
    Containment(DATABASE, (("database", "name"),)),
    Containment(SCHEMA, (("database", "database"), ("schema", "name"))),
)

GRANT_KIND = KindSchema(
    type=GRANT,
    description="The privileges a role holds on a database, a schema, or objects in a schema.",
    attributes={
        "database": AttributeSchema(required=True, force_new=True),
        "role": AttributeSchema(required=True, force_new=True),
        "object_type": AttributeSchema(required=True, force_new=True, description=" | ".join(OBJECT_TYPES)),
        "schema": AttributeSchema(force_new=True, description="For schema, table, sequence, function."),
        "objects": AttributeSchema(type="list", default=[], description="Names in the schema; empty: all."),
        "privileges": AttributeSchema(type="list", required=True),
        "with_grant_option": AttributeSchema(type="boolean", default=False),
    },
    outputs=("id",),
    contained_in=_IN_DATABASE_AND_SCHEMA,
)
DEFAULT_PRIVILEGES_KIND = KindSchema(
    type=DEFAULT_PRIVILEGES,
    description="Privileges objects a role creates in a schema will grant to another role.",
    attributes={
        "database": AttributeSchema(required=True, force_new=True),
        "role": AttributeSchema(required=True, force_new=True, description="The role creating the objects."),
        "schema": AttributeSchema(required=True, force_new=True),
        "object_type": AttributeSchema(
            required=True, force_new=True, description="table | sequence | function"
        ),
        "grantee": AttributeSchema(required=True, force_new=True),
        "privileges": AttributeSchema(type="list", required=True),
    },
    outputs=("id",),
    contained_in=_IN_DATABASE_AND_SCHEMA,
)
EXTENSION_KIND = KindSchema(
    type=EXTENSION,
    description="An extension installed in a database.",
    attributes={
        "database": AttributeSchema(required=True, force_new=True),
        "name": AttributeSchema(required=True, force_new=True),
        "schema": AttributeSchema(description="Where its objects go (default: the server's choice)."),
        "version": AttributeSchema(description="Default: the extension's default version."),
    },
    outputs=("id",),
    contained_in=(Containment(DATABASE, (("database", "name"),)),),
)


def grant_id(a: Mapping[str, Any]) -> str:
    objects = ",".join(sorted(str(o) for o in a.get("objects") or []))
    return f"{a['database']}/{a['role']}/{a['object_type']}/{a.get('schema') or ''}/{objects}"


def _check(a: Mapping[str, Any]) -> tuple[str, str | None, set[str]]:
    kind = str(a["object_type"])
    if kind not in OBJECT_TYPES:
        raise ProviderError(f"grant {grant_id(a)}: object_type must be one of {', '.join(OBJECT_TYPES)}")
    keyword, _, allowed = OBJECT_TYPES[kind]
    wanted = {str(p).upper() for p in a.get("privileges") or []}
    wrong = sorted(wanted - allowed - {"ALL"})
    if wrong:
        raise ProviderError(f"grant {grant_id(a)}: {', '.join(wrong)} cannot be granted on a {kind}")
    if kind != "database" and not a.get("schema"):
        raise ProviderError(f"grant {grant_id(a)}: a {kind} grant needs a schema")
    return keyword, a.get("schema"), allowed if "ALL" in wanted else wanted


# -- reading ---------------------------------------------------------------------------------

_ACL = """SELECT {name}, pg_get_userbyid(a.grantee), pg_get_userbyid(a.grantor), a.privilege_type,
       a.is_grantable, pg_get_userbyid({owner}) {extra}
       FROM {table}, aclexplode(coalesce({acl}, acldefault(({kind})::"char", {owner}))) a {where}"""
_QUERIES = {
    "database": _ACL.format(
        name="datname",
        owner="datdba",
        extra="",
        table="pg_database",
        acl="datacl",
        kind="'d'",
        where="WHERE datname = ANY(%s)",
    ),
    "schema": _ACL.format(
        name="nspname",
        owner="nspowner",
        extra="",
        table="pg_namespace",
        acl="nspacl",
        kind="'n'",
        where="WHERE nspname = ANY(%s)",
    ),
    "relation": _ACL.format(
        name="c.relname",
        owner="c.relowner",
        extra=", n.nspname, c.relkind",
        table="pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace",
        acl="c.relacl",
        kind="CASE WHEN c.relkind = 'S' THEN 's' ELSE 'r' END",
        where="WHERE n.nspname = ANY(%s) AND c.relkind IN ('r', 'v', 'm', 'f', 'p', 'S')",
    ),
    "function": _ACL.format(
        name="p.proname",
        owner="p.proowner",
        extra=", n.nspname, 'f'",
        table="pg_proc p JOIN pg_namespace n ON n.oid = p.pronamespace",
        acl="p.proacl",
        kind="'f'",
        where="WHERE n.nspname = ANY(%s) AND p.prokind = 'f'",
    ),
}


def read_grants(pg: Connections, items: Sequence[Mapping[str, Any]]) -> list[Observed | None]:
    """Per database: one query each for its schemas, relations and functions (databases: one in all)."""
    me = str(pg.get().execute("SELECT current_user").fetchone()[0])  # type: ignore[index]
    by_db: dict[str, list[Mapping[str, Any]]] = {}
    for a in items:
        by_db.setdefault(str(a["database"]), []).append(a)
    acl: dict[tuple[str, ...], list[tuple[str, str, str, bool, str]]] = {}  # object -> grants
    databases = sorted(by_db)
    with errors("reading database privileges"):
        for row in pg.get().execute(_QUERIES["database"], (databases,)).fetchall():
            acl.setdefault(("database", row[0]), []).append(row[1:6])
    for database, wanted in by_db.items():
        schemas = sorted({str(a.get("schema")) for a in wanted if a.get("schema")})
        if not schemas:
            continue
        conn = pg.get(database)
        with errors(f"reading privileges in database {database!r}"):
            for row in conn.execute(_QUERIES["schema"], (schemas,)).fetchall():
                acl.setdefault((database, "schema", row[0]), []).append(row[1:6])
            for kind in ("relation", "function"):
                if any(
                    a["object_type"] in ({"table", "sequence"} if kind == "relation" else {"function"})
                    for a in wanted
                ):
                    for row in conn.execute(_QUERIES[kind], (schemas,)).fetchall():
                        object_type = {"S": "sequence", "f": "function"}.get(row[7], "table")
                        acl.setdefault((database, object_type, row[6], row[0]), []).append(row[1:6])
    return [_seen(a, acl, me) for a in items]


def _seen(
    a: Mapping[str, Any], acl: Mapping[tuple[str, ...], list[tuple[str, str, str, bool, str]]], me: str
) -> Observed | None:
    kind, database, schema = str(a["object_type"]), str(a["database"]), a.get("schema")
    keys: list[tuple[str, ...]]
    if kind == "database":
        keys = [("database", database)]
    elif kind == "schema":
        keys = [(database, "schema", str(schema))]
    else:
        named = [str(o) for o in a.get("objects") or []]
        present = sorted(k for k in acl if k[:3] == (database, kind, str(schema)))
        keys = [k for k in present if not named or k[3] in named]
        if named and len(keys) < len(named):
            return None  # an object it names is gone
        if not named and not keys and (database, "schema", str(schema)) in acl:
            # all the tables of a schema that has none: nothing to hold, so nothing differs
            live = {
                **a,
                "privileges": normal_privileges(a),
                "with_grant_option": bool(a.get("with_grant_option")),
            }
            return Observed(live, {"id": grant_id(a)})
    if not keys or any(k not in acl for k in keys):
        return None
    held = [_ours(acl[k], str(a["role"]), me) for k in keys]
    privileges = held[0][0] if all(h[0] == held[0][0] for h in held) else [MIXED]
    grantable = bool(privileges) and all(h[1] for h in held)
    live = {**a, "privileges": privileges, "with_grant_option": grantable}
    return Observed(live, {"id": grant_id(a)})


def _ours(rows: Iterable[tuple[str, str, str, bool, str]], role: str, me: str) -> tuple[list[str], bool]:
    """The privileges ``role`` holds that this provider could have granted (others' are theirs)."""
    mine = [(p, g) for grantee, grantor, p, g, owner in rows if grantee == role and grantor in (me, owner)]
    return sorted({p for p, _ in mine}), bool(mine) and all(g for _, g in mine)


def normal_privileges(a: Mapping[str, Any]) -> list[str]:
    kind = str(a.get("object_type"))
    wanted = {str(p).upper() for p in a.get("privileges") or []}
    if "ALL" in wanted and kind in OBJECT_TYPES:
        wanted = set(OBJECT_TYPES[kind][2])
    return sorted(wanted)


# -- writing ---------------------------------------------------------------------------------


def _target(a: Mapping[str, Any]) -> sql.Composable:
    keyword, schema, _ = _check(a)
    kind = str(a["object_type"])
    if kind == "database":
        return sql.SQL("DATABASE {}").format(sql.Identifier(str(a["database"])))
    if kind == "schema":
        return sql.SQL("SCHEMA {}").format(sql.Identifier(str(schema)))
    objects = [str(o) for o in a.get("objects") or []]
    if not objects:
        return sql.SQL("ALL {} IN SCHEMA {}").format(
            sql.SQL(str(OBJECT_TYPES[kind][1])), sql.Identifier(str(schema))
        )
    names = sql.SQL(", ").join(sql.Identifier(str(schema), o) for o in objects)
    return sql.SQL("{} {}").format(sql.SQL(keyword), names)


def apply_grant(pg: Connections, a: Mapping[str, Any], *, revoke_only: bool = False) -> dict[str, Any]:
    """Revoke what the role holds there, then grant what the spec says, as one transaction under
    an advisory lock on the role (two grants to one role never interleave)."""
    _, _, privileges = _check(a)
    target, role = _target(a), sql.Identifier(str(a["role"]))
    database = str(a["database"]) if a["object_type"] != "database" else None
    conn = pg.get(database)
    with errors(f"granting on {grant_id(a)}"), conn.transaction():
        conn.execute("SELECT pg_advisory_xact_lock(hashtext(%s))", ("driftgate-grant:" + str(a["role"]),))
        conn.execute(sql.SQL("REVOKE ALL ON {} FROM {}").format(target, role))
        if not revoke_only and privileges:
            option = sql.SQL(" WITH GRANT OPTION") if a.get("with_grant_option") else sql.SQL("")
            listed = sql.SQL(", ").join(sql.SQL(p) for p in sorted(privileges))
            conn.execute(sql.SQL("GRANT {} ON {} TO {}").format(listed, target, role) + option)
    return {"id": grant_id(a)}


def default_id(a: Mapping[str, Any]) -> str:
    return f"{a['database']}/{a['role']}/{a['schema']}/{a['object_type']}/{a['grantee']}"


def read_defaults(pg: Connections, items: Sequence[Mapping[str, Any]]) -> list[Observed | None]:
    query = """SELECT pg_get_userbyid(d.defaclrole), n.nspname, d.defaclobjtype, pg_get_userbyid(a.grantee),
               a.privilege_type FROM pg_default_acl d JOIN pg_namespace n ON n.oid = d.defaclnamespace,
               aclexplode(d.defaclacl) a"""
    held: dict[tuple[str, ...], set[str]] = {}
    for database in sorted({str(a["database"]) for a in items}):
        with errors(f"reading default privileges in database {database!r}"):
            for owner, schema, objtype, grantee, privilege in pg.get(database).execute(query).fetchall():
                held.setdefault((database, owner, schema, objtype, grantee), set()).add(privilege)
    found: list[Observed | None] = []
    for a in items:
        code = DEFAULT_KEYS.get(str(a["object_type"]), ("?", ""))[0]
        privileges = held.get((str(a["database"]), str(a["role"]), str(a["schema"]), code, str(a["grantee"])))
        live = {**a, "privileges": sorted(privileges or [])}
        found.append(Observed(live, {"id": default_id(a)}) if privileges else None)
    return found


def apply_defaults(pg: Connections, a: Mapping[str, Any], *, revoke_only: bool = False) -> dict[str, Any]:
    kind = str(a["object_type"])
    if kind not in DEFAULT_KEYS:
        raise ProviderError(
            f"default privileges {default_id(a)}: object_type must be table, sequence or function"
        )
    objects = sql.SQL(DEFAULT_KEYS[kind][1])
    head = sql.SQL("ALTER DEFAULT PRIVILEGES FOR ROLE {} IN SCHEMA {} ").format(
        sql.Identifier(str(a["role"])), sql.Identifier(str(a["schema"]))
    )
    grantee = sql.Identifier(str(a["grantee"]))
    privileges = normal_privileges({**a, "object_type": kind})
    conn = pg.get(str(a["database"]))
    with errors(f"setting default privileges {default_id(a)}"), conn.transaction():
        conn.execute(head + sql.SQL("REVOKE ALL ON {} FROM {}").format(objects, grantee))
        if not revoke_only and privileges:
            listed = sql.SQL(", ").join(sql.SQL(p) for p in privileges)
            conn.execute(head + sql.SQL("GRANT {} ON {} TO {}").format(listed, objects, grantee))
    return {"id": default_id(a)}


def extension_id(a: Mapping[str, Any]) -> str:
    return f"{a['database']}/{a['name']}"


def read_extensions(pg: Connections, items: Sequence[Mapping[str, Any]]) -> list[Observed | None]:
    query = (
        "SELECT e.extname, e.extversion, n.nspname FROM pg_extension e"
        " JOIN pg_namespace n ON n.oid = e.extnamespace"
    )
    live: dict[tuple[str, str], tuple[str, str]] = {}
    for database in sorted({str(a["database"]) for a in items}):
        with errors(f"reading extensions of database {database!r}"):
            for name, version, schema in pg.get(database).execute(query).fetchall():
                live[(database, name)] = (version, schema)
    found: list[Observed | None] = []
    for a in items:
        seen = live.get((str(a["database"]), str(a["name"])))
        if seen is None:
            found.append(None)
            continue
        attributes = {"database": a["database"], "name": a["name"], "version": seen[0], "schema": seen[1]}
        found.append(Observed(attributes, {"id": extension_id(a)}))
    return found


def create_extension(pg: Connections, a: Mapping[str, Any]) -> dict[str, Any]:
    statement = sql.SQL("CREATE EXTENSION IF NOT EXISTS {}").format(sql.Identifier(str(a["name"])))
    if a.get("schema"):
        statement += sql.SQL(" SCHEMA {}").format(sql.Identifier(str(a["schema"])))
    if a.get("version"):
        statement += sql.SQL(" VERSION {}").format(sql.Literal(str(a["version"])))
    with errors(f"creating extension {extension_id(a)}"):
        pg.get(str(a["database"])).execute(statement)
    return {"id": extension_id(a)}


def update_extension(pg: Connections, a: Mapping[str, Any]) -> dict[str, Any]:
    name = sql.Identifier(str(a["name"]))
    conn = pg.get(str(a["database"]))
    with errors(f"changing extension {extension_id(a)}"):
        if a.get("version"):
            conn.execute(
                sql.SQL("ALTER EXTENSION {} UPDATE TO {}").format(name, sql.Literal(str(a["version"])))
            )
        if a.get("schema"):
            conn.execute(
                sql.SQL("ALTER EXTENSION {} SET SCHEMA {}").format(name, sql.Identifier(str(a["schema"])))
            )
    return {"id": extension_id(a)}


def delete_extension(pg: Connections, a: Mapping[str, Any]) -> None:
    with errors(f"dropping extension {extension_id(a)}"):
        pg.get(str(a["database"])).execute(
            sql.SQL("DROP EXTENSION IF EXISTS {}").format(sql.Identifier(str(a["name"])))
        )
