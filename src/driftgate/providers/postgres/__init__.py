"""The ``postgres`` provider (PostgreSQL roles, databases, schemas), built in."""

from driftgate.providers.postgres.provider import PostgresProvider

__all__ = ["PostgresProvider"]
