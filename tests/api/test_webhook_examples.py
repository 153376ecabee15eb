"""GitHub's own webhook payload examples (npm @octokit/webhooks-examples), posted signed (issue 9, §5).

``scripts/test-data`` fetches the package at set-up time; nothing of it is copied into the repo.
"""

from __future__ import annotations

import hashlib
import hmac
import json
from collections.abc import Iterator
from typing import Any
from urllib.parse import urlencode

import pytest
from fastapi.testclient import TestClient

from driftgate.api.app import create_app
from driftgate.services.proposals import lifecycle as proposals
from driftgate.services.workspace import Workspace
from driftgate.store import config_repos as config_repos_db
from driftgate.store import proposals as proposals_db
from driftgate.testing.service import seed_proposal, seed_repo
from tests.testdata import fetched

SECRET = "whsec-examples-0123456789"
URL = "https://GitHub.com/Codertocat/Hello-World.git"  # the examples' repository, another spelling


def examples() -> list[dict[str, Any]]:
    found = fetched(
        "DRIFTGATE_WEBHOOK_EXAMPLES", "octokit-webhooks-examples-*/package/api.github.com/index.json"
    )
    if found is None:
        pytest.fail(
            "GitHub's webhook examples are not here: run ./scripts/test (scripts/test-data fetches them)"
        )
    data: list[dict[str, Any]] = json.loads(found.read_text())
    return data


@pytest.fixture
def client(ws: Workspace, monkeypatch: pytest.MonkeyPatch) -> Iterator[TestClient]:
    monkeypatch.setenv("INFRA_TOKEN", "ghp_" + "E" * 36)
    monkeypatch.setenv("HOOK_SECRET", SECRET)
    seed_repo(ws, URL, webhook_secret_ref="secret://env/HOOK_SECRET")
    with TestClient(create_app(ws)) as test_client:
        yield test_client


def post(
    client: TestClient, event: str, payload: dict[str, Any], delivery: str, *, form: bool = False
) -> Any:
    if form:
        body = urlencode({"payload": json.dumps(payload)}).encode()
        content_type = "application/x-www-form-urlencoded"
    else:
        body = json.dumps(payload).encode()
        content_type = "application/json"
    headers = {
        "X-GitHub-Event": event,
        "X-GitHub-Delivery": delivery,
        "Content-Type": content_type,
        "X-Hub-Signature-256": "sha256=" + hmac.new(SECRET.encode(), body, hashlib.sha256).hexdigest(),
    }
    return client.post("/api/v1/webhooks/github", content=body, headers=headers)


def test_every_published_example_gets_a_deliberate_answer(client: TestClient) -> None:
    answered: dict[int, int] = {}
    count = 0
    for group in examples():
        for i, payload in enumerate(group["examples"]):
            count += 1
            response = post(client, group["name"], payload, f"{group['name']}-{i}")
            answered[response.status_code] = answered.get(response.status_code, 0) + 1
            assert response.status_code < 500, (group["name"], response.text)
            repo = payload.get("repository")
            if not isinstance(repo, dict):
                want = 200 if group["name"] == "ping" else 202
                assert response.status_code == want, (group["name"], response.text)
            elif repo.get("clone_url", "").lower().rstrip("/").removesuffix(
                ".git"
            ) == URL.lower().removesuffix(".git"):
                assert response.status_code == 200, (group["name"], response.text)
            else:
                assert response.status_code == 404, (group["name"], response.text)
    assert count == 329 and set(answered) <= {200, 202, 404}, answered


def test_pull_request_examples_set_the_state_their_payload_states(client: TestClient, ws: Workspace) -> None:
    (group,) = [g for g in examples() if g["name"] == "pull_request"]
    with ws.transaction() as conn:
        repo_id = config_repos_db.all_config_repos(conn)[0].id
    for i, payload in enumerate(group["examples"]):
        if payload["repository"]["clone_url"].lower() != URL.lower():
            continue
        pid = seed_proposal(ws, repo_id, title=f"p{i}")
        with ws.transaction() as conn:
            proposals_db.update_proposal(
                conn, pid, status="pr_opened", pr_number=payload["number"], pr_state="open", pr_state_at=None
            )
        response = post(client, "pull_request", payload, f"pr-{i}", form=i % 2 == 1)
        assert response.status_code == 200, response.text
        pr = payload["pull_request"]
        want = "merged" if pr.get("merged") or pr.get("merged_at") else pr["state"]
        assert proposals.get(ws, pid)["pr_state"] == want, (payload["action"], pr.get("merged"), pr["state"])
        with ws.transaction() as conn:  # the next example reuses the number: keep one proposal per PR
            proposals_db.update_proposal(conn, pid, pr_number=None)


def test_an_edited_delivery_about_a_merged_pr_keeps_it_merged(client: TestClient, ws: Workspace) -> None:
    (group,) = [g for g in examples() if g["name"] == "pull_request"]
    closed = json.loads(json.dumps(next(p for p in group["examples"] if p["action"] == "closed")))
    closed["pull_request"]["merged"] = True  # the examples hold no merge: make one of the closed ones
    closed["pull_request"]["merged_at"] = closed["pull_request"]["updated_at"]
    with ws.transaction() as conn:
        repo_id = config_repos_db.all_config_repos(conn)[0].id
    pid = seed_proposal(ws, repo_id)
    with ws.transaction() as conn:
        proposals_db.update_proposal(
            conn, pid, status="pr_opened", pr_number=closed["number"], pr_state="open"
        )
    assert post(client, "pull_request", closed, "m-1").status_code == 200
    edited = json.loads(json.dumps(closed))
    edited["action"] = "edited"
    assert post(client, "pull_request", edited, "m-2").status_code == 200
    assert proposals.get(ws, pid)["pr_state"] == "merged"
