"""The proposal loop on Gitea, Forgejo and GitLab (the local forge with ``--kind``): a worker opens
the pull (merge) request through that forge's client, a signed webhook from that forge moves its
state, and the poll covers a missed delivery — with the forge's token nowhere in what driftgate
keeps. A config repo that does not name its forge gets the kind its host's API answers as, asked
once per host."""

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
from driftgate.services.tokens import create_token
from driftgate.services.workspace import Workspace
from driftgate.store.forges import recorded_kind
from driftgate.testing.service import seed_proposal, seed_repo

SECRET = "whsec-gitea-tests-0123456789"
TOKEN = "0123456789abcdef" * 2 + "01234567"  # 40 hex, a Gitea token's shape


@pytest.fixture(params=["gitea", "forgejo", "gitlab"])
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
    if kind == "gitlab":
        return deliver_gitlab(client, url, merged=merged, delivery=delivery)
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


def deliver_gitlab(client: TestClient, url: str, *, merged: bool, delivery: str, secret: str = SECRET) -> Any:
    """A merge request event as GitLab sends it: the shared secret as is in X-Gitlab-Token."""
    body = json.dumps(
        {
            "object_kind": "merge_request",
            "event_type": "merge_request",
            "project": {"path_with_namespace": "driftgate/infra", "git_http_url": url},
            "object_attributes": {
                "iid": 1,
                "state": "merged" if merged else "closed",
                "action": "merge" if merged else "close",
                "updated_at": "2026-12-01 10:00:00 UTC",
            },
        }
    ).encode()
    headers = {
        "X-Gitlab-Event": "Merge Request Hook",
        "X-Gitlab-Event-UUID": delivery,
        "X-Gitlab-Token": secret,
        "Content-Type": "application/json",
    }
    return client.post("/api/v1/webhooks/gitlab", content=body, headers=headers)


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


@pytest.mark.parametrize("loop", ["gitlab"], indirect=True)  # the HMAC forms: tests/api/test_webhooks.py
def test_a_wrong_gitlab_token_is_refused(loop: Any, ws: Workspace) -> None:
    client, _, _, url, _ = loop
    answer = deliver_gitlab(client, url, merged=True, delivery="d-9", secret="not-the-secret")
    assert answer.status_code == 401 and answer.json()["error"]["code"] == "SIGNATURE_INVALID"
    unsigned = client.post(
        "/api/v1/webhooks/gitlab", content=b"{}", headers={"X-Gitlab-Event": "Merge Request Hook"}
    )
    assert unsigned.status_code == 401


@pytest.mark.parametrize("kind", ["github", "gitea", "forgejo", "gitlab"])
def test_a_config_repo_without_a_forge_gets_its_hosts_answer_once(
    kind: str, ws: Workspace, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("REPO_TOKEN", TOKEN)
    with LocalForge(tmp_path / "forge", token=TOKEN, kind=kind) as forge:
        first, second = forge.create_repo("infra"), forge.create_repo("apps")
        with TestClient(create_app(ws)) as client:
            headers = {"Authorization": f"Bearer {create_token(ws, 'admin', 'admin')}"}
            asked = []
            for name, url in (("infra", first), ("apps", second)):
                made = client.post(
                    "/api/v1/config-repos",
                    json={"name": name, "url": url, "auth_ref": "secret://env/REPO_TOKEN"},
                    headers=headers,
                )
                assert made.status_code == 201, made.text
                assert made.json()["forge"] == kind
                asked.append(sum(path.endswith(("/version", "/meta")) for _m, path, _s in forge.calls))
        assert asked[0] >= 1 and asked[1] == asked[0]  # the second found the host's kind recorded
        with ws.transaction() as conn:
            assert recorded_kind(conn, forge.base.removeprefix("http://")) == kind
