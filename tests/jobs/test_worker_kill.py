"""Kill a real worker process mid-job: the proposal is re-queued and ends with exactly one PR."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from driftgate.config import Settings
from driftgate.jobs.queue import Jobs, make_huey, sweep_stale
from driftgate.localforge import Fault, LocalForge
from driftgate.services.proposals import lifecycle as proposals
from driftgate.services.proposals.lifecycle import request_open_pr
from driftgate.services.workspace import Workspace
from driftgate.testing.service import seed_proposal, seed_repo

TOKEN = "ghp_" + "K1" * 18


def start_worker(env: dict[str, str]) -> subprocess.Popen[bytes]:
    return subprocess.Popen(
        [sys.executable, "-m", "driftgate.cli.app", "worker", "--workers", "1"],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )


def wait_for(predicate: object, timeout: float = 60.0) -> None:
    deadline = time.monotonic() + timeout
    while not predicate():  # type: ignore[operator]
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.1)


@pytest.mark.slow
def test_sigkilled_worker_leaves_no_lost_proposal_and_one_pr(tmp_path: Path) -> None:
    home = tmp_path / "home"
    env = {
        **os.environ,
        "DRIFTGATE_HOME": str(home),
        "INFRA_TOKEN": TOKEN,
        "DRIFTGATE_JOB_STALE_SECONDS": "1",
    }
    settings = Settings(home=home, job_stale_seconds=1)
    ws = Workspace.open(settings)
    jobs = Jobs(make_huey(settings), workspace=lambda: ws, settings=settings)
    os.environ["INFRA_TOKEN"] = TOKEN
    try:
        with LocalForge(tmp_path / "forge", token=TOKEN) as forge:
            url = forge.create_repo("infra", {"a.yaml": "x: 1\n"})
            pid = seed_proposal(ws, seed_repo(ws, url))
            forge.inject(Fault("POST /repos/*/pulls", status=200, delay=4.0))  # the PR request hangs a while
            request_open_pr(ws, pid, jobs)
            worker = start_worker(env)
            branch = f"driftgate/proposal-{pid}-bump-x"
            wait_for(lambda: forge.branch_sha("infra", branch) is not None)  # pushed; now asking for the PR
            time.sleep(0.5)
            worker.send_signal(signal.SIGKILL)
            worker.wait(timeout=10)
            assert proposals.get(ws, pid)["status"] == "pending"
            assert proposals.get(ws, pid)["job_status"] == "running"

            time.sleep(1.5)  # the job goes stale
            assert sweep_stale(ws, jobs) == 1
            replacement = start_worker(env)
            try:
                wait_for(lambda: proposals.get(ws, pid)["status"] == "pr_opened")
            finally:
                replacement.send_signal(signal.SIGINT)
                replacement.wait(timeout=20)
            time.sleep(4.5)  # let the killed worker's in-flight request land on the forge, if it will
            assert len(forge.pulls["infra"]) == 1
            (pr,) = forge.pulls["infra"].values()
            assert proposals.get(ws, pid)["pr_url"].endswith(f"/pull/{pr.number}")
    finally:
        del os.environ["INFRA_TOKEN"]
        ws.close()
