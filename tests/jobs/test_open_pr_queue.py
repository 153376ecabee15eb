"""open_pr through the API, the queue and real huey consumers, against the local forge."""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from huey import RedisHuey, SqliteHuey

from driftgate.api.app import create_app
from driftgate.jobs.queue import Jobs, sweep_stale
from driftgate.localforge import LocalForge
from driftgate.services.proposals import lifecycle as proposals
from driftgate.services.tokens import create_token
from driftgate.services.workspace import Workspace
from driftgate.store import proposals as proposals_db

TOKEN = "ghp_" + "Q4" * 18
SVC = "service:\n  replicas: 3\n  image: api:1.0\n"


@pytest.fixture
def forge(tmp_path: Path) -> Iterator[LocalForge]:
    with LocalForge(tmp_path / "forge", token=TOKEN) as running:
        running.create_repo("infra", {"svc.yaml": SVC, "b.yaml": "x: 1\n"})
        yield running


@pytest.fixture(params=["sqlite-queue", "redis-queue"])
def jobs(request: pytest.FixtureRequest, ws: Workspace, tmp_path: Path) -> Iterator[Jobs]:
    """The same jobs on the embedded SQLite queue and on a real Redis."""
    if request.param == "sqlite-queue":
        huey: Any = SqliteHuey("t", filename=str(tmp_path / "queue.db"), results=False)
    else:
        import uuid

        from tests.jobs.test_redis_queue import REDIS_URL

        huey = RedisHuey(f"driftgate-test-{uuid.uuid4().hex[:8]}", url=REDIS_URL, results=False)
    yield Jobs(huey, workspace=lambda: ws, base_delay=0.2)
    if request.param == "redis-queue":
        huey.storage.flush_all()


@pytest.fixture
def client(ws: Workspace, jobs: Jobs, forge: LocalForge, monkeypatch: pytest.MonkeyPatch) -> Iterator[Any]:
    monkeypatch.setenv("INFRA_TOKEN", TOKEN)
    headers = {r: {"Authorization": f"Bearer {create_token(ws, r, r)}"} for r in ("operator", "admin")}
    with TestClient(create_app(ws, jobs)) as c:
        repo = c.post(
            "/api/v1/config-repos",
            headers=headers["admin"],
            json={"name": "infra", "url": forge.repo_url("infra"), "auth_ref": "secret://env/INFRA_TOKEN"},
        ).json()
        c.headers.update(headers["operator"])
        c.repo_id = repo["id"]  # type: ignore[attr-defined]
        yield c


def new_proposal(client: Any, path: str = "svc.yaml", title: str = "Scale") -> int:
    body = {
        "config_repo_id": client.repo_id,
        "title": title,
        "rationale": "load",
        "edits": [
            {
                "path": path,
                "format": "yaml",
                "pointer": "/service/replicas" if path == "svc.yaml" else "/x",
                "from": 3 if path == "svc.yaml" else 1,
                "to": 5,
            }
        ],
    }
    response = client.post("/api/v1/proposals", json=body)
    assert response.status_code == 201, response.text
    return int(response.json()["id"])


def run_consumer(jobs: Jobs, workers: int = 1) -> Any:
    consumer = jobs.huey.create_consumer(
        workers=workers, worker_type="thread", periodic=False, check_worker_health=False
    )
    consumer.start()
    return consumer


def wait_for(predicate: Any, timeout: float = 30.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return
        time.sleep(0.1)
    raise AssertionError("timed out waiting")


def test_open_pr_end_to_end_with_dedup(client: Any, jobs: Jobs, ws: Workspace, forge: LocalForge) -> None:
    pid = new_proposal(client)
    first = client.post(f"/api/v1/proposals/{pid}/open_pr")
    second = client.post(f"/api/v1/proposals/{pid}/open_pr")  # a double click
    assert first.status_code == 202 and second.json()["job_id"] == first.json()["job_id"]
    assert jobs.huey.pending_count() == 1
    consumer = run_consumer(jobs)
    try:
        wait_for(lambda: proposals.get(ws, pid)["status"] == "pr_opened")
    finally:
        consumer.stop(graceful=True)
    assert len(forge.pulls["infra"]) == 1
    again = client.post(f"/api/v1/proposals/{pid}/open_pr")
    assert again.status_code == 409 and again.json()["error"]["code"] == "INVALID_STATE_TRANSITION"


def test_preflight_order(client: Any, ws: Workspace, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    pid = new_proposal(client)
    unavailable = Jobs(RedisHuey("x", url="redis://127.0.0.1:1/0", results=False), workspace=lambda: ws)
    with TestClient(create_app(ws, unavailable)) as other:
        other.headers.update(dict(client.headers))
        down = other.post(f"/api/v1/proposals/{pid}/open_pr")
        assert down.status_code == 503 and down.json()["error"]["code"] == "QUEUE_UNAVAILABLE"
        monkeypatch.delenv("INFRA_TOKEN")  # the credential is checked before the queue
        cred = other.post(f"/api/v1/proposals/{pid}/open_pr")
        assert cred.status_code == 503 and cred.json()["error"]["code"] == "CREDENTIAL_NOT_CONFIGURED"
    with ws.transaction() as conn:
        proposals_db.update_proposal(conn, pid, config_repo_id=None)
    missing = client.post(f"/api/v1/proposals/{pid}/open_pr")
    assert missing.status_code == 422 and missing.json()["error"]["code"] == "REPO_NOT_CONFIGURED"
    client.post(f"/api/v1/proposals/{pid}/reject", json={"reason": "no"})
    rejected = client.post(f"/api/v1/proposals/{pid}/open_pr")
    assert rejected.status_code == 409 and rejected.json()["error"]["code"] == "INVALID_STATE_TRANSITION"
    assert proposals.get(ws, pid)["job_status"] is None  # nothing was ever queued


def test_two_proposals_on_one_repo_with_two_workers(
    client: Any, jobs: Jobs, ws: Workspace, forge: LocalForge
) -> None:
    a = new_proposal(client, "svc.yaml", "Scale")
    b = new_proposal(client, "b.yaml", "Bump x")
    for pid in (a, b):
        assert client.post(f"/api/v1/proposals/{pid}/open_pr").status_code == 202
    consumer = run_consumer(jobs, workers=2)
    try:
        wait_for(lambda: all(proposals.get(ws, p)["status"] == "pr_opened" for p in (a, b)))
    finally:
        consumer.stop(graceful=True)
    assert sorted(pr.title for pr in forge.pulls["infra"].values()) == ["Bump x", "Scale"]


def test_a_job_whose_worker_died_is_requeued_and_ends_with_one_pr(
    client: Any, jobs: Jobs, ws: Workspace, forge: LocalForge
) -> None:
    pid = new_proposal(client)
    with ws.transaction() as conn:  # as a killed worker leaves it: running, no task in the queue
        proposals_db.update_proposal(
            conn, pid, job_status="running", job_id="dead", job_heartbeat=time.time() - 3600
        )
    assert jobs.huey.pending_count() == 0
    assert sweep_stale(ws, jobs) == 1
    consumer = run_consumer(jobs)
    try:
        wait_for(lambda: proposals.get(ws, pid)["status"] == "pr_opened")
    finally:
        consumer.stop(graceful=True)
    assert len(forge.pulls["infra"]) == 1
    assert sweep_stale(ws, jobs) == 0


def test_a_duplicate_job_for_a_settled_proposal_leaves_it_settled(
    client: Any, jobs: Jobs, ws: Workspace, forge: LocalForge
) -> None:
    """Two sweeps can each re-queue the same lapsed job; the one that runs second finds the PR open
    and must not mark the settled proposal ``running`` again (found on a slow machine)."""
    pid = new_proposal(client)
    assert client.post(f"/api/v1/proposals/{pid}/open_pr").status_code == 202
    jobs.enqueue_open_pr(pid)  # the duplicate
    consumer = run_consumer(jobs)
    try:
        wait_for(lambda: jobs.huey.pending_count() == 0 and proposals.get(ws, pid)["status"] == "pr_opened")
        time.sleep(0.5)  # the duplicate has run
    finally:
        consumer.stop(graceful=True)
    settled = proposals.get(ws, pid)
    assert settled["status"] == "pr_opened" and settled["job_status"] == "done"
    assert len(forge.pulls["infra"]) == 1


def test_periodic_reconcile_is_off_by_default_and_runs_scheduled_stacks(
    ws: Workspace, tmp_path: Path
) -> None:
    from driftgate.config import Settings
    from driftgate.jobs.queue import reconcile_all
    from driftgate.testing.stacks import write_stack

    off = Jobs(
        SqliteHuey("off", filename=str(tmp_path / "off.db"), results=False),
        workspace=lambda: ws,
        settings=Settings(home=tmp_path / "h1"),
    )
    assert off.reconcile is None
    on = Jobs(
        SqliteHuey("on", filename=str(tmp_path / "on.db"), results=False),
        workspace=lambda: ws,
        settings=Settings(home=tmp_path / "h2", reconcile_every_minutes=15),
    )
    assert on.reconcile is not None
    write_stack(
        ws.settings.effective_stacks_root / "a",
        name="a",
        modules={"m": [{"type": "data.value", "name": "v", "spec": {"input": 1}}]},
    )
    ws.settings.reconcile_stacks = "a, missing"
    assert reconcile_all(ws) == ["a"]  # the missing one is logged and skipped
