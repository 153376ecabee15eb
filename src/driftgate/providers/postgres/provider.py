"""The ``postgres`` provider: roles, databases and schemas of one PostgreSQL server.

Reads go in batches (one catalog query per kind, and per database for schemas); statements quote
every identifier with psycopg's ``sql.Identifier``; failures name the object and the SQLSTATE.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor, as_completed
from typing import Any

from driftgate.errors import DriftgateError, ProviderConfigError, ProviderError
from driftgate.providers.base import (
    CAP_BACKUP,
    CAP_BATCH_APPLY,
    CAP_IMPORT,
    CAP_LIST,
    CAP_READ,
    BaseProvider,
    Change,
    ChangeResult,
    Observed,
    ProviderContext,
)
from driftgate.providers.postgres import databases, dumps, grants, roles
from driftgate.providers.postgres.connection import Connections, PgConfig, errors, parse_config
from driftgate.spec.schema import KindSchema

BATCH_WORKERS = 4  # connections a batch of independent actions runs on


class PostgresProvider(BaseProvider):
    name = "postgres"
    capabilities = frozenset({CAP_READ, CAP_LIST, CAP_IMPORT, CAP_BACKUP, CAP_BATCH_APPLY})
    KINDS = (
        roles.KIND,
        databases.DATABASE_KIND,
        databases.SCHEMA_KIND,
        grants.GRANT_KIND,
        grants.DEFAULT_PRIVILEGES_KIND,
        grants.EXTENSION_KIND,
    )

    def __init__(self) -> None:
        self._pg: Connections | None = None

    @property
    def pg(self) -> Connections:
        if self._pg is None:
            raise ProviderConfigError("postgres provider is not configured")
        return self._pg

    @property
    def config(self) -> PgConfig:
        return self.pg.config

    def configure(self, config: Mapping[str, Any], ctx: ProviderContext) -> None:
        self._pg = Connections(parse_config(config))

    def close(self) -> None:
        if self._pg is not None:
            self._pg.close()

    # -- reading ------------------------------------------------------------------------------

    def read(self, type_: str, attributes: Mapping[str, Any], outputs: Mapping[str, Any]) -> Observed | None:
        return self.read_many([(type_, attributes, outputs)])[0]

    def read_many(
        self, items: Sequence[tuple[str, Mapping[str, Any], Mapping[str, Any]]]
    ) -> list[Observed | None]:
        """One query per kind (per database for schemas), whatever the number of resources."""
        found: list[Observed | None] = [None] * len(items)
        inside = {str(a["database"]) for t, a, _ in items if t not in _SERVER_WIDE and "database" in a}
        there = databases.existing(self.pg, inside) if inside else set()
        by_kind: dict[str, list[int]] = {}
        for i, (type_, attributes, _) in enumerate(items):
            if type_ not in _SERVER_WIDE and str(attributes.get("database")) not in there:
                continue  # its database is gone (or never was): so is the object
            by_kind.setdefault(type_, []).append(i)
        for type_, positions in by_kind.items():
            if type_ == roles.ROLE:
                answers = roles.read_many(self.pg, [(items[i][1], items[i][2]) for i in positions])
            elif type_ == databases.DATABASE:
                answers = databases.read_databases(self.pg, [items[i][1] for i in positions])
            elif type_ == databases.SCHEMA:
                answers = databases.read_schemas(self.pg, [items[i][1] for i in positions])
            elif type_ in _READERS:
                answers = _READERS[type_](self.pg, [items[i][1] for i in positions])
            else:
                raise ProviderError(f"postgres provider: unknown kind {type_!r}")
            for i, answer in zip(positions, answers, strict=True):
                found[i] = answer
        return found

    def diff(self, type_: str, current: Mapping[str, Any], desired: Mapping[str, Any]) -> list[str]:
        schema: KindSchema = self.kinds()[type_]
        changed = []
        for name in schema.attributes:
            want, have = desired.get(name), current.get(name)
            if name in databases.SERVER_CHOSEN and want is None:
                continue  # left to the server: whatever it chose is fine
            if type_ == grants.EXTENSION and name in ("schema", "version") and want is None:
                continue
            if name == "privileges":
                want, have = grants.normal_privileges(desired), sorted(have or [])
            if name == "valid_until":
                want, have = roles.normal_time(want), roles.normal_time(have)
            if name == "member_of":
                want, have = sorted(want or []), sorted(have or [])
            if want != have:
                changed.append(name)
        return changed

    # -- writing ------------------------------------------------------------------------------

    def create(self, type_: str, name: str, attributes: Mapping[str, Any]) -> dict[str, Any]:
        if type_ == roles.ROLE:
            return roles.create(self.pg, attributes, superuser_allowed=self.config.superuser_allowed)
        if type_ == databases.DATABASE:
            return databases.create_database(self.pg, attributes)
        if type_ == databases.SCHEMA:
            return databases.create_schema(self.pg, attributes)
        return self._write(type_, attributes)

    def _write(self, type_: str, attributes: Mapping[str, Any]) -> dict[str, Any]:
        if type_ == grants.GRANT:
            return grants.apply_grant(self.pg, attributes)
        if type_ == grants.DEFAULT_PRIVILEGES:
            return grants.apply_defaults(self.pg, attributes)
        if type_ == grants.EXTENSION:
            return grants.create_extension(self.pg, attributes)
        raise ProviderError(f"postgres provider: unknown kind {type_!r}")

    def update(
        self, type_: str, name: str, attributes: Mapping[str, Any], prior_outputs: Mapping[str, Any]
    ) -> dict[str, Any]:
        if type_ == roles.ROLE:
            return roles.update(
                self.pg, attributes, prior_outputs, superuser_allowed=self.config.superuser_allowed
            )
        if type_ == databases.DATABASE:
            return databases.update_database(self.pg, attributes)
        if type_ == databases.SCHEMA:
            return databases.update_schema(self.pg, attributes)
        if type_ == grants.EXTENSION:
            return grants.update_extension(self.pg, attributes)
        return self._write(type_, attributes)

    def delete(self, type_: str, attributes: Mapping[str, Any], outputs: Mapping[str, Any]) -> None:
        database = str(attributes.get("database"))
        if type_ not in _SERVER_WIDE and not databases.existing(self.pg, {database}):
            return  # its database is gone (dropped, or replaced earlier in this run): so is the object
        if type_ == roles.ROLE:
            roles.delete(self.pg, attributes)
        elif type_ == databases.DATABASE:
            databases.delete_database(self.pg, attributes)
        elif type_ == databases.SCHEMA:
            databases.delete_schema(self.pg, attributes)
        elif type_ == grants.GRANT:
            grants.apply_grant(self.pg, attributes, revoke_only=True)
        elif type_ == grants.DEFAULT_PRIVILEGES:
            grants.apply_defaults(self.pg, attributes, revoke_only=True)
        elif type_ == grants.EXTENSION:
            grants.delete_extension(self.pg, attributes)
        else:
            raise ProviderError(f"postgres provider: unknown kind {type_!r}")

    def apply_many(self, changes: Sequence[Change]) -> Iterator[tuple[int, ChangeResult]]:
        """Independent actions, a few at a time on their own connections, each result as it comes:
        the engine records a batch in one ledger transaction instead of one per action."""
        with ThreadPoolExecutor(max_workers=BATCH_WORKERS, thread_name_prefix="driftgate-pg") as pool:
            running = {pool.submit(self._one, change): change for change in changes}
            for done in as_completed(running):
                yield running[done].index, done.result()

    def _one(self, change: Change) -> ChangeResult:
        try:
            if change.kind == "create":
                return ChangeResult("SUCCESS", None, self.create(change.type, change.name, change.attributes))
            if change.kind == "update":
                outputs = self.update(change.type, change.name, change.attributes, change.prior_outputs)
                return ChangeResult("SUCCESS", None, outputs)
            if change.kind == "delete":
                self.delete(change.type, change.attributes, change.prior_outputs)
                return ChangeResult("SUCCESS")
        except DriftgateError as exc:
            return ChangeResult("DELETE_FAILED" if change.kind == "delete" else "ERROR", str(exc))
        return ChangeResult("ERROR", f"{change.kind} is not applied in a batch")

    # -- backups ------------------------------------------------------------------------------

    def backup_resource(
        self, type_: str, attributes: Mapping[str, Any], outputs: Mapping[str, Any]
    ) -> dict[str, bytes] | None:
        """A database: its ``pg_dump -Fc`` (checked with ``pg_restore --list``) and the roles; a
        schema: ``pg_dump -Fc -n`` of it (what a ``cascade`` delete would drop)."""
        if type_ == databases.SCHEMA:
            return dumps.dump_schema(self.config, str(attributes["database"]), str(attributes["name"]))
        if type_ != databases.DATABASE:
            return None
        return dumps.dump(self.config, str(attributes["name"]))

    def check_backup(self, type_: str, files: Mapping[str, bytes]) -> None:
        wanted = {databases.DATABASE: dumps.DUMP, databases.SCHEMA: dumps.SCHEMA_DUMP}.get(type_)
        if wanted is not None:
            if wanted not in files:
                raise ProviderError(f"the backup holds no {type_} dump")
            dumps.check(self.config, files[wanted], "backup")

    def restore_resource(
        self, type_: str, attributes: Mapping[str, Any], files: Mapping[str, bytes]
    ) -> Observed:
        if type_ == databases.SCHEMA and dumps.SCHEMA_DUMP in files:
            database = str(attributes["database"])
            self.pg.forget(database)
            dumps.restore_schema(self.config, files[dumps.SCHEMA_DUMP], database, str(attributes["name"]))
            found = self.read(type_, attributes, {})
            if found is None:
                raise ProviderError(
                    f"restoring schema {attributes['name']!r}: it is not there after pg_restore"
                )
            return found
        if type_ != databases.DATABASE or dumps.DUMP not in files:
            raise ProviderError(f"{type_} cannot be restored from a backup")
        name = str(attributes["name"])
        self.pg.forget(name)
        with errors(f"ending the sessions of database {name!r}"):
            self.pg.get().execute(_END_SESSIONS, (name,))
        dumps.restore(self.config, files[dumps.DUMP], name)
        found = self.read(type_, attributes, {})
        if found is None:
            raise ProviderError(f"restoring database {name!r}: it is not there after pg_restore")
        return found

    # -- discovery ----------------------------------------------------------------------------

    def list_ids(self, type_: str) -> set[str] | None:
        if type_ == roles.ROLE:
            return roles.list_names(self.pg)
        if type_ == databases.DATABASE:
            return databases.list_databases(self.pg)
        if type_ == databases.SCHEMA:
            return databases.list_schemas(self.pg, sorted(databases.list_databases(self.pg)))
        return None

    def resource_id(self, type_: str, attributes: Mapping[str, Any]) -> str | None:
        if type_ == databases.SCHEMA:
            return databases.schema_id(attributes)
        if type_ in _IDS:
            return _IDS[type_](attributes)
        return str(attributes["name"]) if "name" in attributes else None

    def import_resource(self, type_: str, resource_id: str) -> Observed | None:
        """Adopt by name (a schema: ``database/name``); a password is never imported."""
        if type_ in (databases.SCHEMA, grants.EXTENSION):
            database, _, name = resource_id.partition("/")
            return self.read(type_, {"database": database, "name": name}, {})
        if type_ in (grants.GRANT, grants.DEFAULT_PRIVILEGES):
            return None  # grants are managed from specs, not adopted
        return self.read(type_, {"name": resource_id}, {})


_END_SESSIONS = (
    "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = %s AND pid <> pg_backend_pid()"
)
_READERS = {
    grants.GRANT: grants.read_grants,
    grants.DEFAULT_PRIVILEGES: grants.read_defaults,
    grants.EXTENSION: grants.read_extensions,
}
_IDS = {
    grants.GRANT: grants.grant_id,
    grants.DEFAULT_PRIVILEGES: grants.default_id,
    grants.EXTENSION: grants.extension_id,
}
_SERVER_WIDE = frozenset({roles.ROLE, databases.DATABASE})  # every other kind lives inside a database
