"""Pull-request webhooks (HMAC, replays) and the state poll."""

from __future__ import annotations

import hashlib
import hmac
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient

from driftgate.api.app import create_app
from driftgate.localforge import LocalForge
from driftgate.services.proposals import lifecycle as proposals
from driftgate.services.proposals.pr_state import poll_pr_states
from driftgate.services.workspace import Workspace
from driftgate.store import proposals as proposals_db
from driftgate.testing.service import seed_proposal, seed_repo

SECRET = "whsec-for-tests-0123456789"
TOKEN = "ghp_" + "W5" * 18


@pytest.fixture
def setup(
    ws: Workspace, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> Iterator[tuple[TestClient, int, int, str]]:
    monkeypatch.setenv("REPO_TOKEN", TOKEN)
    monkeypatch.setenv("HOOK_SECRET", SECRET)
    with LocalForge(tmp_path / "forge", token=TOKEN) as forge:
        url = forge.create_repo("infra", {"a.yaml": "x: 1\n"})
        repo_id = seed_repo(ws, url, auth_env="REPO_TOKEN", webhook_secret_ref="secret://env/HOOK_SECRET")
        pid = seed_proposal(ws, repo_id, title="t")
        from driftgate.services.proposals.open_pr import open_pr

        assert open_pr(ws, pid).status == "pr_opened"
        with TestClient(create_app(ws)) as client:
            yield client, pid, repo_id, url


def deliver(
    client: TestClient,
    url: str,
    action: str,
    *,
    merged: bool = False,
    delivery: str = "d-1",
    secret: str = SECRET,
    signed: bool = True,
) -> Any:
    body = json.dumps(
        {
            "action": action,
            "number": 1,
            "repository": {"clone_url": url},
            "pull_request": {"number": 1, "merged": merged},
        }
    ).encode()
    headers = {
        "X-GitHub-Event": "pull_request",
        "X-GitHub-Delivery": delivery,
        "Content-Type": "application/json",
    }
    if signed:
        headers["X-Hub-Signature-256"] = (
            "sha256=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()
        )
    return client.post("/api/v1/webhooks/github", content=body, headers=headers)


def test_signed_deliveries_update_the_pr_state(setup: Any, ws: Workspace) -> None:
    client, pid, _, url = setup
    ok = deliver(client, url, "closed", merged=True)
    assert ok.status_code == 200 and ok.json() == {"event": "pull_request", "state": "merged", "updated": 1}
    assert proposals.get(ws, pid)["pr_state"] == "merged"


def test_unsigned_wrong_and_replayed_deliveries_are_refused(setup: Any, ws: Workspace) -> None:
    client, pid, _, url = setup
    unsigned = deliver(client, url, "closed", signed=False)
    assert unsigned.status_code == 401 and unsigned.json()["error"]["code"] == "SIGNATURE_INVALID"
    wrong = deliver(client, url, "closed", secret="not-the-secret")
    assert wrong.status_code == 401
    assert deliver(client, url, "closed", delivery="once").status_code == 200
    replay = deliver(client, url, "closed", delivery="once")
    assert replay.status_code == 409 and replay.json()["error"]["code"] == "WEBHOOK_REPLAYED"
    unknown = deliver(client, "http://127.0.0.1:1/x/y.git", "closed")
    assert unknown.status_code == 404
    assert proposals.get(ws, pid)["pr_state"] == "closed"


def test_the_poll_covers_missed_deliveries(setup: Any, ws: Workspace, tmp_path: Path) -> None:
    client, pid, repo_id, url = setup
    with ws.transaction() as conn:
        assert proposals_db.set_pr_state(conn, repo_id, 1, "open") == 1
    # the PR is closed on the forge, and no delivery arrives
    import httpx

    forge_api = url.rsplit("/driftgate/", 1)[0] + "/api/v3"
    closed = httpx.patch(
        f"{forge_api}/repos/driftgate/infra/pulls/1",
        json={"state": "closed"},
        headers={"Authorization": f"Bearer {TOKEN}"},
    )
    assert closed.status_code == 200
    assert poll_pr_states(ws) == 1
    assert proposals.get(ws, pid)["pr_state"] == "closed"
    assert poll_pr_states(ws) == 0
