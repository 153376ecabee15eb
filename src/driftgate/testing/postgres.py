"""Find or start a real PostgreSQL server for the test suite; never pretend one is there.

Order: ``DRIFTGATE_TEST_POSTGRES_URL`` if set; a server on 127.0.0.1:5432 (trust
auth, as on this project's machines); else start the Debian cluster with
``pg_ctlcluster``. ``scripts/ensure-services`` installs PostgreSQL when missing.
"""

from __future__ import annotations

import glob
import os
import subprocess
import time
import uuid

import psycopg

DEFAULT_ADMIN_URL = "postgresql://postgres@127.0.0.1:5432/postgres"


class PostgresUnavailable(RuntimeError):
    pass


def _reachable(url: str) -> bool:
    try:
        with psycopg.connect(url, connect_timeout=3):
            return True
    except psycopg.Error:
        return False


def _start_debian_cluster() -> None:
    versions = sorted(os.path.basename(p) for p in glob.glob("/etc/postgresql/*"))
    if not versions:
        raise PostgresUnavailable("PostgreSQL is not installed: run scripts/ensure-services")
    subprocess.run(
        ["pg_ctlcluster", "--skip-systemctl-redirect", versions[-1], "main", "start"],
        check=False,
        capture_output=True,
        timeout=60,
    )


def admin_url() -> str:
    url = os.environ.get("DRIFTGATE_TEST_POSTGRES_URL") or DEFAULT_ADMIN_URL
    if _reachable(url):
        return url
    _start_debian_cluster()
    for _ in range(30):
        if _reachable(url):
            return url
        time.sleep(0.5)
    raise PostgresUnavailable(f"no PostgreSQL server answers at {url}")


def create_database(url: str) -> tuple[str, str]:
    """Create a fresh database; return (its SQLAlchemy URL, its name)."""
    name = f"driftgate_test_{uuid.uuid4().hex[:10]}"
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    base = url.rsplit("/", 1)[0]
    return f"{base.replace('postgresql://', 'postgresql+psycopg://', 1)}/{name}", name


def drop_database(url: str, name: str) -> None:
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
