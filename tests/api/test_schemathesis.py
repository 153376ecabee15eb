"""Schemathesis against /openapi.json: generated requests never get a 5xx."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import schemathesis
from huey import SqliteHuey
from hypothesis import HealthCheck, given, settings

from driftgate.api.app import create_app
from driftgate.jobs.queue import Jobs
from driftgate.services.tokens import create_token
from driftgate.services.workspace import Workspace


@pytest.mark.slow
def test_no_server_errors(ws: Workspace, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("INFRA_TOKEN", "ghp_" + "S" * 36)
    jobs = Jobs(SqliteHuey("fuzz", filename=str(tmp_path / "q.db"), results=False), workspace=lambda: ws)
    app = create_app(ws, jobs)
    admin = {"Authorization": f"Bearer {create_token(ws, 'fuzz-admin', 'admin')}"}
    schema = schemathesis.openapi.from_asgi("/openapi.json", app)
    operations = [result.ok() for result in schema.get_all_operations()]
    assert len(operations) >= 12
    failures: list[str] = []
    for operation in operations:

        @given(case=operation.as_strategy())
        @settings(max_examples=12, deadline=None, suppress_health_check=list(HealthCheck), database=None)
        def check(case: Any) -> None:
            response = case.call(headers=admin)
            if response.status_code >= 500:
                failures.append(
                    f"{case.method} {case.formatted_path}: {response.status_code} {response.text[:200]}"
                )

        check()
    assert failures == []
