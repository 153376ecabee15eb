"""``postgres.role``: login, flags, limits, membership, settings, and a write-only password.

The password is a ``secret://`` reference; it is sent to the server as a SCRAM verifier and never
read back. Drift of a password: connected as a superuser, the provider checks the secret against
the verifier in ``pg_authid`` (a change made out of band shows); otherwise it can only tell that
the secret itself changed since the apply, by a keyed digest recorded in the outputs.
"""

from __future__ import annotations

import hashlib
import hmac
import os
from collections.abc import Mapping, Sequence
from datetime import UTC, datetime
from typing import Any

from psycopg import sql

from driftgate.errors import ProviderError
from driftgate.providers.base import Observed
from driftgate.providers.postgres import scram
from driftgate.providers.postgres.connection import Connections, errors
from driftgate.spec.schema import AttributeSchema, KindSchema

ROLE = "postgres.role"
CHANGED_ELSEWHERE = "(changed outside driftgate)"  # a live password that is not the recorded secret
SCRAM_NOTE = "password checked against the server's SCRAM verifier"
DIGEST_NOTE = "password: only a change of the secret itself is seen (the provider is not a superuser)"
FLAGS = {
    "login": ("LOGIN", "NOLOGIN"),
    "superuser": ("SUPERUSER", "NOSUPERUSER"),
    "createdb": ("CREATEDB", "NOCREATEDB"),
    "createrole": ("CREATEROLE", "NOCREATEROLE"),
    "inherit": ("INHERIT", "NOINHERIT"),
    "replication": ("REPLICATION", "NOREPLICATION"),
}

KIND = KindSchema(
    type=ROLE,
    description="A role (user or group) of the server.",
    attributes={
        "name": AttributeSchema(required=True, force_new=True),
        "login": AttributeSchema(type="boolean", default=False),
        "password": AttributeSchema(sensitive=True, description="A secret:// reference; never read back."),
        "superuser": AttributeSchema(type="boolean", default=False),
        "createdb": AttributeSchema(type="boolean", default=False),
        "createrole": AttributeSchema(type="boolean", default=False),
        "inherit": AttributeSchema(type="boolean", default=True),
        "replication": AttributeSchema(type="boolean", default=False),
        "connection_limit": AttributeSchema(type="integer", default=-1),
        "valid_until": AttributeSchema(description="A timestamp, e.g. 2030-01-01T00:00:00Z; none: forever."),
        "member_of": AttributeSchema(type="list", default=[]),
        "search_path": AttributeSchema(type="list", default=[]),
        "statement_timeout": AttributeSchema(type="integer", default=0, description="Milliseconds; 0: none."),
        "reassign_owned_to": AttributeSchema(
            description="On delete, give what the role owns to this role first (REASSIGN OWNED, DROP OWNED)."
        ),
    },
    outputs=("name", "password_check"),
    sensitive_outputs=frozenset({"password_check"}),
)

_READ = sql.SQL(
    """SELECT r.rolname, r.rolsuper, r.rolinherit, r.rolcreaterole, r.rolcreatedb, r.rolcanlogin,
       r.rolreplication, r.rolconnlimit, r.rolvaliduntil::text, r.rolconfig,
       ARRAY(SELECT b.rolname FROM pg_auth_members m JOIN pg_roles b ON m.roleid = b.oid
             WHERE m.member = r.oid ORDER BY 1) AS member_of
       FROM pg_roles r WHERE r.rolname = ANY(%s)"""
)


def read_many(
    pg: Connections, items: Sequence[tuple[Mapping[str, Any], Mapping[str, Any]]]
) -> list[Observed | None]:
    """Every role asked for in one catalog query (and one more for passwords, as a superuser)."""
    names = [str(a["name"]) for a, _ in items]
    conn = pg.get()
    with errors("reading roles"):
        rows = {r[0]: r for r in conn.execute(_READ, (names,)).fetchall()}
        verifiers: dict[str, str | None] = {}
        if any(a.get("password") for a, _ in items) and _is_superuser(pg):
            query = "SELECT rolname, rolpassword FROM pg_authid WHERE rolname = ANY(%s)"
            verifiers = dict(conn.execute(query, (names,)).fetchall())
    found: list[Observed | None] = []
    for attributes, outputs in items:
        row = rows.get(str(attributes["name"]))
        if row is None:
            found.append(None)
            continue
        live = _attributes(row)
        live["reassign_owned_to"] = attributes.get("reassign_owned_to")
        notes = {}
        if attributes.get("password"):
            live["password"] = _password_seen(attributes, outputs, verifiers, row[0])
            notes["password"] = SCRAM_NOTE if verifiers else DIGEST_NOTE
        found.append(Observed(live, {"name": row[0], **_check_of(outputs)}, notes))
    return found


def _attributes(row: Sequence[Any]) -> dict[str, Any]:
    name, sup, inherit, createrole, createdb, login, replication, limit, until, config, member_of = row
    settings = dict(item.split("=", 1) for item in (config or []))
    return {
        "name": name,
        "login": login,
        "superuser": sup,
        "createdb": createdb,
        "createrole": createrole,
        "inherit": inherit,
        "replication": replication,
        "connection_limit": limit,
        "valid_until": normal_time(until),
        "member_of": list(member_of),
        "search_path": [p.strip() for p in settings["search_path"].split(",")]
        if "search_path" in settings
        else [],
        "statement_timeout": int(settings.get("statement_timeout", "0").removesuffix("ms") or 0),
    }


def normal_time(value: Any) -> str | None:
    """A timestamp as UTC ISO 8601, so the server's and the spec's spellings compare equal."""
    if value is None or str(value) in ("infinity", ""):
        return None
    try:
        moment = datetime.fromisoformat(str(value).replace(" ", "T"))
    except ValueError:
        return str(value)
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return moment.astimezone(UTC).isoformat().replace("+00:00", "Z")


def _password_seen(
    attributes: Mapping[str, Any], outputs: Mapping[str, Any], verifiers: Mapping[str, str | None], name: str
) -> str:
    """The recorded secret if the live password is still it, else a marker that differs from it."""
    secret = str(attributes["password"])
    if verifiers:
        return secret if scram.matches(secret, verifiers.get(name)) else CHANGED_ELSEWHERE
    check = outputs.get("password_check")
    if isinstance(check, str) and ":" in check:
        salt, digest = check.split(":", 1)
        return (
            secret if hmac.compare_digest(digest, _digest(secret, bytes.fromhex(salt))) else CHANGED_ELSEWHERE
        )
    return secret


def _digest(secret: str, salt: bytes) -> str:
    return hmac.new(salt, secret.encode("utf-8"), hashlib.sha256).hexdigest()


def _check_of(outputs: Mapping[str, Any]) -> dict[str, Any]:
    return {"password_check": outputs["password_check"]} if "password_check" in outputs else {}


def _new_check(secret: str | None) -> dict[str, Any]:
    """A keyed digest of the secret: tells later whether the secret changed, without holding it."""
    if not secret:
        return {}
    salt = os.urandom(16)
    return {"password_check": f"{salt.hex()}:{_digest(secret, salt)}"}


def _is_superuser(pg: Connections) -> bool:
    row = pg.get().execute("SELECT rolsuper FROM pg_roles WHERE rolname = current_user").fetchone()
    return bool(row and row[0])


def _options(attributes: Mapping[str, Any], config_allows_superuser: bool) -> sql.Composable:
    if attributes.get("superuser") and not config_allows_superuser:
        raise ProviderError(
            f"role {attributes['name']!r}: superuser is refused"
            " (set superuser_allowed: true in the provider config)"
        )
    parts: list[sql.Composable] = [
        sql.SQL(FLAGS[f][0 if attributes.get(f, KIND.attributes[f].default) else 1]) for f in FLAGS
    ]
    parts.append(
        sql.SQL("CONNECTION LIMIT {}").format(sql.Literal(int(attributes.get("connection_limit", -1))))
    )
    until = attributes.get("valid_until")
    parts.append(sql.SQL("VALID UNTIL {}").format(sql.Literal(str(until) if until else "infinity")))
    secret = attributes.get("password")
    if secret:
        parts.append(sql.SQL("PASSWORD {}").format(sql.Literal(scram.verifier(str(secret)))))
    return sql.SQL(" ").join(parts)


def create(pg: Connections, attributes: Mapping[str, Any], *, superuser_allowed: bool) -> dict[str, Any]:
    name = sql.Identifier(str(attributes["name"]))
    with errors(f"creating role {attributes['name']!r}"):
        pg.get().execute(
            sql.SQL("CREATE ROLE {} WITH ").format(name) + _options(attributes, superuser_allowed)
        )
    _settle(pg, attributes, current=None)
    return {"name": attributes["name"], **_new_check(attributes.get("password"))}


def update(
    pg: Connections,
    attributes: Mapping[str, Any],
    prior_outputs: Mapping[str, Any],
    *,
    superuser_allowed: bool,
) -> dict[str, Any]:
    name = str(attributes["name"])
    with errors(f"changing role {name!r}"):
        pg.get().execute(
            sql.SQL("ALTER ROLE {} WITH ").format(sql.Identifier(name))
            + _options(attributes, superuser_allowed)
        )
    (current,) = read_many(pg, [({"name": name}, {})])
    _settle(pg, attributes, current=current)
    check = _new_check(attributes.get("password")) if attributes.get("password") else {}
    return {"name": name, **check}


def _settle(pg: Connections, attributes: Mapping[str, Any], *, current: Observed | None) -> None:
    """Membership and per-role settings, to what the attributes say (only what differs is sent)."""
    name = str(attributes["name"])
    role = sql.Identifier(name)
    have = set(current.attributes["member_of"]) if current is not None else set()
    want = {str(r) for r in attributes.get("member_of", [])}
    conn = pg.get()
    with errors(f"setting role {name!r}'s memberships and settings"):
        for group in sorted(want - have):
            conn.execute(sql.SQL("GRANT {} TO {}").format(sql.Identifier(group), role))
        for group in sorted(have - want):
            conn.execute(sql.SQL("REVOKE {} FROM {}").format(sql.Identifier(group), role))
        path = [str(p) for p in attributes.get("search_path", [])]
        had = current.attributes if current is not None else {"search_path": [], "statement_timeout": 0}
        if path and path != had["search_path"]:
            listed = sql.SQL(", ").join(map(sql.Identifier, path))
            conn.execute(sql.SQL("ALTER ROLE {} SET search_path TO {}").format(role, listed))
        elif not path and had["search_path"]:
            conn.execute(sql.SQL("ALTER ROLE {} RESET search_path").format(role))
        timeout = int(attributes.get("statement_timeout", 0))
        if timeout and timeout != had["statement_timeout"]:
            conn.execute(
                sql.SQL("ALTER ROLE {} SET statement_timeout TO {}").format(role, sql.Literal(timeout))
            )
        elif not timeout and had["statement_timeout"]:
            conn.execute(sql.SQL("ALTER ROLE {} RESET statement_timeout").format(role))


def delete(pg: Connections, attributes: Mapping[str, Any]) -> None:
    """Drop the role; one that owns objects is refused clearly unless ``reassign_owned_to`` says
    where its objects go (then REASSIGN OWNED and DROP OWNED run first)."""
    name = str(attributes["name"])
    role = sql.Identifier(name)
    conn = pg.get()
    heir = attributes.get("reassign_owned_to")
    if heir is not None and str(heir) == name:
        raise ProviderError(
            f"dropping role {name!r}: reassign_owned_to names the role itself, so REASSIGN OWNED would keep "
            "what it owns and DROP OWNED would drop it (tables and their rows); name the role that should "
            "take them"
        )
    # One transaction, one role drop at a time on the server: roles that hand what they own to each
    # other, dropped at once, would otherwise DROP OWNED what another had just handed over; and a
    # DROP ROLE that fails takes its REASSIGN and DROP OWNED back with it.
    with errors(f"dropping role {name!r}"), conn.transaction():
        conn.execute("SELECT pg_advisory_xact_lock(hashtext('driftgate-role-drop'))")
        if heir:
            conn.execute(sql.SQL("REASSIGN OWNED BY {} TO {}").format(role, sql.Identifier(str(heir))))
            conn.execute(sql.SQL("DROP OWNED BY {}").format(role))
        try:
            conn.execute(sql.SQL("DROP ROLE IF EXISTS {}").format(role))
        except Exception as exc:
            if getattr(exc, "sqlstate", None) == "2BP01":
                raise ProviderError(
                    f"dropping role {name!r}: it still owns objects or holds privileges; set"
                    " reassign_owned_to to the role that should take them, or drop them first"
                    " (SQLSTATE 2BP01)"
                ) from None
            raise


def list_names(pg: Connections) -> set[str]:
    with errors("listing roles"):
        rows = pg.get().execute("SELECT rolname FROM pg_roles").fetchall()
    return {r[0] for r in rows if not pg.config.ignores_role(r[0]) and r[0] != pg.config.params.get("user")}
