"""Fixtures shared by the whole suite: isolation, the two stores, workspaces."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import text

from driftgate.config import Settings
from driftgate.services.workspace import Workspace
from driftgate.store.db import make_engine, migrate
from driftgate.store.tables import metadata
from driftgate.testing import postgres

CHAOS = "driftgate.testing.chaos:ChaosProvider"
SUITE_SECRET_VARIABLES = (
    "API_TOKEN,DG_SECRET,DRIFT_SECRET,GITHUB_TOKEN,HOOK_SECRET,INFRA_TOKEN,NOPE,NOT_SET_ANYWHERE,"
    "SITE_KEY,SITE_TOKEN,TOKEN,MY_TOKEN,DB_PASSWORD,TOK,REPO_TOKEN"
)


@pytest.fixture(autouse=True)
def _isolate(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """No test may touch the real data directory or home: both point into tmp_path."""
    monkeypatch.setenv("DRIFTGATE_HOME", str(tmp_path / "driftgate-home"))
    monkeypatch.setenv("HOME", str(tmp_path / "user-home"))
    for name in ("DRIFTGATE_DATABASE_URL", "DRIFTGATE_PROVIDER_PLUGINS", "DRIFTGATE_SECRETS_DIR"):
        monkeypatch.delenv(name, raising=False)
    # The variables this suite's specs read through secret://env, allowed by name as a user would.
    monkeypatch.setenv("DRIFTGATE_SECRET_ENV_ALLOW", SUITE_SECRET_VARIABLES)


@pytest.fixture(scope="session")
def pg_database() -> Iterator[str]:
    try:
        admin = postgres.admin_url()
    except postgres.PostgresUnavailable as exc:
        pytest.fail(f"PostgreSQL is required by this suite: {exc}")
    url, name = postgres.create_database(admin)
    engine = make_engine(url)
    migrate(engine)
    engine.dispose()
    yield url
    postgres.drop_database(admin, name)


def _truncate(url: str) -> None:
    engine = make_engine(url)
    names = ", ".join(t.name for t in metadata.sorted_tables)
    with engine.begin() as conn:
        conn.execute(text(f"TRUNCATE {names} RESTART IDENTITY CASCADE"))
    engine.dispose()


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def store_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """Each store test runs against SQLite and a real PostgreSQL server."""
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'store.db'}"
    url: str = request.getfixturevalue("pg_database")
    _truncate(url)
    return url


def open_workspace(home: Path, database_url: str | None = None, **extra: object) -> Workspace:
    settings = Settings(home=home, database_url=database_url, provider_plugins=CHAOS, **extra)  # type: ignore[arg-type]
    return Workspace.open(settings)


@pytest.fixture
def ws(tmp_path: Path, store_url: str) -> Iterator[Workspace]:
    workspace = open_workspace(tmp_path / "home", store_url, secrets_dir=tmp_path / "secrets")
    yield workspace
    workspace.close()


@pytest.fixture
def sqlite_ws(tmp_path: Path) -> Iterator[Workspace]:
    workspace = open_workspace(tmp_path / "home", secrets_dir=tmp_path / "secrets")
    yield workspace
    workspace.close()


@pytest.fixture
def store_env(store_url: str, monkeypatch: pytest.MonkeyPatch) -> str:
    """Run the CLI against SQLite and against a real PostgreSQL server."""
    if store_url.startswith("postgresql"):
        monkeypatch.setenv("DRIFTGATE_DATABASE_URL", store_url)
    return store_url
