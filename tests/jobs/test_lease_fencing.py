"""A worker paused past its lease wakes up and can write nothing (issue 8, defect 29).

Two workers on two "machines" (each its own home and clone cache; the store and the
Redis queue shared). The first is frozen with SIGSTOP while its PR request is in
flight, the second takes the repo over, then the first is thawed with SIGCONT.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest
import redis
from sqlalchemy import select

from driftgate.config import Settings
from driftgate.jobs.queue import Jobs, make_huey, sweep_stale
from driftgate.localforge import Fault, LocalForge
from driftgate.services.proposals import lifecycle as proposals
from driftgate.services.proposals.lifecycle import request_open_pr
from driftgate.services.workspace import Workspace
from driftgate.store.tables import proposals as proposals_table
from driftgate.store.tables import repo_leases
from driftgate.testing.service import seed_proposal, seed_repo
from tests.jobs.test_worker_kill import wait_for

REDIS_URL = os.environ.get("DRIFTGATE_TEST_REDIS_URL_FENCING", "redis://127.0.0.1:6379/14")
TOKEN = "ghp_" + "F3" * 18


def start_worker(env: dict[str, str], host: str, home: Path) -> subprocess.Popen[bytes]:
    """A worker on its own machine: its own home and clone cache; the store and queue are shared."""
    return subprocess.Popen(
        [sys.executable, "-m", "driftgate.cli.app", "worker", "--workers", "1"],
        env={**env, "DRIFTGATE_HOME": str(home), "DRIFTGATE_HOSTNAME": host},
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )


def row(ws: Workspace, table: Any, where: Any) -> dict[str, Any]:
    with ws.engine.connect() as conn:
        return dict(conn.execute(select(table).where(where)).one()._mapping)


@pytest.mark.slow
def test_a_paused_worker_resumes_into_a_fence(tmp_path: Path) -> None:
    queue = redis.Redis.from_url(REDIS_URL)
    queue.flushdb()
    database = f"sqlite:///{tmp_path / 'shared.db'}"
    env = {
        **os.environ,
        "INFRA_TOKEN": TOKEN,
        "DRIFTGATE_JOB_STALE_SECONDS": "1",
        "DRIFTGATE_DATABASE_URL": database,
        "DRIFTGATE_QUEUE_URL": REDIS_URL,
    }
    settings = Settings(
        home=tmp_path / "home", job_stale_seconds=1, database_url=database, queue_url=REDIS_URL
    )
    ws = Workspace.open(settings)
    jobs = Jobs(make_huey(settings), workspace=lambda: ws, settings=settings)
    os.environ["INFRA_TOKEN"] = TOKEN
    workers: list[subprocess.Popen[bytes]] = []
    try:
        with LocalForge(tmp_path / "forge", token=TOKEN) as forge:
            url = forge.create_repo("infra", {"a.yaml": "x: 1\n"})
            repo_id = seed_repo(ws, url)
            pid = seed_proposal(ws, repo_id)
            forge.inject(Fault("POST /repos/*/pulls", status=200, delay=4.0))  # its PR request hangs a while
            request_open_pr(ws, pid, jobs)
            workers.append(stale := start_worker(env, "host-a", tmp_path / "a"))
            branch = f"driftgate/proposal-{pid}-bump-x"
            wait_for(lambda: forge.branch_sha("infra", branch) is not None)  # pushed; asking for the PR
            time.sleep(0.3)
            stale.send_signal(signal.SIGSTOP)  # frozen (a GC pause, a suspended VM), its request in flight
            first = row(ws, repo_leases, repo_leases.c.repo_id == repo_id)

            time.sleep(1.5)  # its lease and its job's heartbeat lapse: nothing renews them while it sleeps
            assert sweep_stale(ws, jobs) == 1
            workers.append(start_worker(env, "host-b", tmp_path / "b"))
            wait_for(lambda: proposals.get(ws, pid)["status"] == "pr_opened")
            second = row(ws, repo_leases, repo_leases.c.repo_id == repo_id)
            assert second["epoch"] > first["epoch"] and second["holder"] != first["holder"]
            time.sleep(3.0)  # the frozen worker's request lands on the forge: a duplicate, refused there
            settled = row(ws, proposals_table, proposals_table.c.id == pid)
            lease = row(ws, repo_leases, repo_leases.c.repo_id == repo_id)

            stale.send_signal(signal.SIGCONT)  # it wakes up, reads its answer, and tries to carry on
            time.sleep(4.0)
            assert row(ws, proposals_table, proposals_table.c.id == pid) == settled  # not one write
            assert row(ws, repo_leases, repo_leases.c.repo_id == repo_id) == lease
            assert len(forge.pulls["infra"]) == 1
            (pr,) = forge.pulls["infra"].values()
            assert str(settled["pr_url"]).endswith(f"/pull/{pr.number}")
            assert settled["status"] == "pr_opened" and settled["job_status"] == "done"
    finally:
        for worker in workers:
            worker.send_signal(signal.SIGCONT)
            worker.send_signal(signal.SIGINT)
            worker.wait(timeout=20)
        del os.environ["INFRA_TOKEN"]
        ws.close()
        queue.flushdb()
