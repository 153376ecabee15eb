"""The quickstart's PostgreSQL step: run against a server when one answers, skipped (and said so)
when none does; it leaves nothing behind."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from driftgate.demo.quickstart import postgres_roles, run_quickstart
from driftgate.services.workspace import Workspace
from driftgate.testing import postgres


class Recorder:
    def __init__(self) -> None:
        self.said: list[str] = []

    def say(self, text: str) -> None:
        self.said.append(text)

    def plan(self, plan: Any) -> None:
        return None

    def result(self, report: Any) -> None:
        return None


def test_the_step_runs_on_a_reachable_server_and_cleans_up(
    ws: Workspace, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    admin = postgres.admin_url()
    monkeypatch.setenv("DRIFTGATE_QUICKSTART_POSTGRES_URL", admin)
    narrator = Recorder()
    assert run_quickstart(ws, tmp_path, narrator, steps=[postgres_roles])
    (said,) = narrator.said
    assert said.startswith("15. PostgreSQL:") and "in sync" in said and "NOT" not in said
    assert "(connection_limit)" in said
    import psycopg

    with psycopg.connect(admin) as conn:
        left = conn.execute("SELECT rolname FROM pg_roles WHERE rolname LIKE 'quickstart\\_%'").fetchall()
        left += conn.execute("SELECT datname FROM pg_database WHERE datname LIKE 'quickstart\\_%'").fetchall()
    assert left == []


def test_the_step_is_skipped_and_says_so_without_a_server(
    ws: Workspace, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("DRIFTGATE_QUICKSTART_POSTGRES_URL", "postgresql://nobody@127.0.0.1:1/postgres")
    narrator = Recorder()
    assert run_quickstart(ws, tmp_path, narrator, steps=[postgres_roles])
    (said,) = narrator.said
    assert said.startswith("15. PostgreSQL step: skipped — no server answered")
