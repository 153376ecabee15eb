"""The scale-out queue: the same open-PR job through a real Redis."""

from __future__ import annotations

import os
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
import redis
from huey import RedisHuey

from driftgate.jobs.queue import Jobs
from driftgate.localforge import LocalForge
from driftgate.services.proposals import lifecycle as proposals
from driftgate.services.proposals.lifecycle import request_open_pr
from driftgate.services.workspace import Workspace
from driftgate.testing.service import seed_proposal, seed_repo

REDIS_URL = os.environ.get("DRIFTGATE_TEST_REDIS_URL", "redis://127.0.0.1:6379/15")
TOKEN = "ghp_" + "R3" * 18


@pytest.fixture
def redis_jobs(ws: Workspace) -> Iterator[Jobs]:
    try:
        redis.Redis.from_url(REDIS_URL).ping()
    except redis.RedisError as exc:
        pytest.fail(f"Redis is required by this suite (scripts/ensure-services starts it): {exc}")
    huey = RedisHuey(f"driftgate-test-{uuid.uuid4().hex[:8]}", url=REDIS_URL, results=False)
    yield Jobs(huey, workspace=lambda: ws, base_delay=0.2)
    huey.storage.flush_all()


def test_open_pr_through_redis(
    ws: Workspace, redis_jobs: Jobs, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("INFRA_TOKEN", TOKEN)
    with LocalForge(tmp_path / "forge", token=TOKEN) as forge:
        url = forge.create_repo("infra", {"a.yaml": "x: 1\n"})
        repo_id = seed_repo(ws, url)
        pid = seed_proposal(ws, repo_id, title="Bump")
        assert redis_jobs.is_available()
        job = request_open_pr(ws, pid, redis_jobs)
        assert request_open_pr(ws, pid, redis_jobs) == job
        assert redis_jobs.huey.pending_count() == 1
        consumer = redis_jobs.huey.create_consumer(
            workers=2, worker_type="thread", periodic=False, check_worker_health=False
        )
        consumer.start()
        try:
            deadline = time.monotonic() + 30
            while proposals.get(ws, pid)["status"] != "pr_opened" and time.monotonic() < deadline:
                time.sleep(0.1)
        finally:
            consumer.stop(graceful=True)
        assert proposals.get(ws, pid)["status"] == "pr_opened" and len(forge.pulls["infra"]) == 1
