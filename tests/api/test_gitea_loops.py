"""The proposal loop on Gitea and Forgejo (the local forge with ``--kind gitea|forgejo``): a worker
opens the pull request through the Gitea client, a signed webhook from that forge moves its state,
and the poll covers a missed delivery — with the forge's token nowhere in what driftgate keeps."""

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
from driftgate.services.proposals.open_pr import open_pr
from driftgate.services.proposals.pr_state import poll_pr_states
from driftgate.services.workspace import Workspace
from driftgate.testing.service import seed_proposal, seed_repo

SECRET = "whsec-gitea-tests-0123456789"
TOKEN = "0123456789abcdef" * 2 + "01234567"  # 40 hex, a Gitea token's shape


@pytest.fixture(params=["gitea", "forgejo"])
def loop(
    request: pytest.FixtureRequest, ws: Workspace, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> Iterator[tuple[TestClient, LocalForge, int, str, str]]:
    monkeypatch.setenv("REPO_TOKEN", TOKEN)
    monkeypatch.setenv("HOOK_SECRET", SECRET)
    kind = str(request.param)
    with LocalForge(tmp_path / "forge", token=TOKEN, kind=kind) as forge:
        url = forge.create_repo("infra", {"a.yaml": "x: 1\n"})
        repo_id = seed_repo(
            ws, url, auth_env="REPO_TOKEN", webhook_secret_ref="secret://env/HOOK_SECRET", forge=kind
        )
        pid = seed_proposal(ws, repo_id, title="Bump x")
        with TestClient(create_app(ws)) as client:
            yield client, forge, pid, url, kind


def deliver(client: TestClient, kind: str, url: str, *, merged: bool, delivery: str) -> Any:
    body = json.dumps(
        {
            "action": "closed",
            "number": 1,
            "repository": {"clone_url": url},
            "pull_request": {"number": 1, "state": "closed", "merged": merged},
        }
    ).encode()
    prefix = kind.capitalize()
    headers = {
        f"X-{prefix}-Event": "pull_request",
        f"X-{prefix}-Delivery": delivery,
        f"X-{prefix}-Signature": hmac.new(SECRET.encode(), body, hashlib.sha256).hexdigest(),
        "Content-Type": "application/json",
    }
    return client.post(f"/api/v1/webhooks/{kind}", content=body, headers=headers)


def test_a_proposal_becomes_a_pull_request_and_a_webhook_closes_it(
    loop: Any, ws: Workspace, tmp_path: Path
) -> None:
    client, forge, pid, url, kind = loop
    assert open_pr(ws, pid).status == "pr_opened"
    (pr,) = forge.pulls["infra"].values()
    assert pr.base == "main" and pr.title.endswith("Bump x")
    assert "x: 2" in forge.show("infra", pr.head, "a.yaml")  # the edit, committed on the PR's branch
    answer = deliver(client, kind, url, merged=True, delivery="d-1")
    assert answer.status_code == 200 and answer.json()["state"] == "merged", answer.text
    assert proposals.get(ws, pid)["pr_state"] == "merged"
    again = deliver(client, kind, url, merged=True, delivery="d-1")
    assert again.status_code == 409  # the same delivery id twice
    kept = json.dumps(proposals.get(ws, pid)) + json.dumps(client.get("/api/v1/config-repos").json())
    assert TOKEN not in kept


def test_the_poll_reads_a_missed_close(loop: Any, ws: Workspace) -> None:
    _, forge, pid, _, _ = loop
    assert open_pr(ws, pid).status == "pr_opened"
    (pr,) = forge.pulls["infra"].values()
    pr.state = "closed"  # closed on the forge; the delivery never came
    assert poll_pr_states(ws) == 1
    assert proposals.get(ws, pid)["pr_state"] == "closed"
