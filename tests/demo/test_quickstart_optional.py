"""The quickstart's optional steps: PostgreSQL, run against a server when one answers; AWS, the
plugin on moto's server when moto is installed; each skipped, and said so, otherwise."""

from __future__ import annotations

import importlib.util
import os
from pathlib import Path
from typing import Any

import pytest

from driftgate.demo.quickstart import aws_on_moto, postgres_roles, run_quickstart, terraform_root
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


def test_the_aws_step_runs_the_plugin_on_moto(ws: Workspace, tmp_path: Path) -> None:
    narrator = Recorder()
    assert run_quickstart(ws, tmp_path, narrator, steps=[aws_on_moto])
    (said,) = narrator.said
    assert said.startswith("16. AWS:") and "every action succeeded" in said and "NOT" not in said
    assert "queues/aws.sqs_queue.orders: changed (visibility_timeout)" in said
    assert "AKIA" not in said


def test_the_aws_step_is_skipped_and_says_so_without_moto(
    ws: Workspace, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    real = importlib.util.find_spec
    monkeypatch.setattr(
        importlib.util, "find_spec", lambda name, *a: None if name == "moto" else real(name, *a)
    )
    narrator = Recorder()
    assert run_quickstart(ws, tmp_path, narrator, steps=[aws_on_moto])
    (said,) = narrator.said
    assert said.startswith("16. AWS step: skipped — moto is not installed")


def test_the_terraform_step_drives_a_root_module(ws: Workspace, tmp_path: Path) -> None:
    narrator = Recorder()
    assert run_quickstart(ws, tmp_path, narrator, steps=[terraform_root])
    (said,) = narrator.said
    if said.startswith("17. Terraform step: skipped") and os.environ.get("CI"):
        pytest.fail("terraform is not on PATH in CI")
    assert said.startswith("17. Terraform:") and "in sync" in said and "NOT" not in said, said
    assert "net/terraform.root.network[terraform_data.subnet] SUCCESS" in said


def test_the_terraform_step_is_skipped_and_says_so_without_terraform(
    ws: Workspace, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("PATH", str(tmp_path / "empty"))
    narrator = Recorder()
    assert run_quickstart(ws, tmp_path, narrator, steps=[terraform_root])
    (said,) = narrator.said
    assert said.startswith("17. Terraform step: skipped — neither terraform nor tofu is on PATH")
