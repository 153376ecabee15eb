"""API bodies, webhooks, config-repo updates and metrics under attack (issue 8: defects 24 to 28)."""

from __future__ import annotations

import hashlib
import hmac
import json
import os
import socket
import threading
import time
from collections.abc import Iterator
from typing import Any

import pytest
import uvicorn
from fastapi.testclient import TestClient

from driftgate.api.app import MAX_BODY, create_app
from driftgate.errors import UnsafeRefError
from driftgate.gitops.seal import Checkout
from driftgate.services.proposals import config_repos
from driftgate.services.proposals import lifecycle as proposals
from driftgate.services.tokens import create_token
from driftgate.services.workspace import Workspace
from driftgate.store import proposals as proposals_db
from driftgate.testing.service import seed_proposal, seed_repo

HOOK = "whsec-limits-0123456789"
URL = "https://github.com/acme/infra.git"


@pytest.fixture
def api(ws: Workspace, monkeypatch: pytest.MonkeyPatch) -> Iterator[tuple[TestClient, dict[str, str], int]]:
    monkeypatch.setenv("INFRA_TOKEN", "ghp_" + "L" * 36)
    monkeypatch.setenv("HOOK_SECRET", HOOK)
    repo_id = seed_repo(ws, URL, webhook_secret_ref="secret://env/HOOK_SECRET")
    admin = {"Authorization": f"Bearer {create_token(ws, 'admin', 'admin')}"}
    with TestClient(create_app(ws)) as client:
        yield client, admin, repo_id


def signed(body: bytes, delivery: str) -> dict[str, str]:
    return {
        "X-GitHub-Event": "pull_request",
        "X-GitHub-Delivery": delivery,
        "Content-Type": "application/json",
        "X-Hub-Signature-256": "sha256=" + hmac.new(HOOK.encode(), body, hashlib.sha256).hexdigest(),
    }


# -- 24: the body limit holds for streamed (chunked) bodies ------------------------------------


@pytest.fixture
def server(ws: Workspace) -> Iterator[tuple[str, int]]:
    config = uvicorn.Config(create_app(ws), host="127.0.0.1", port=0, log_level="critical", lifespan="off")
    srv = uvicorn.Server(config)
    thread = threading.Thread(target=srv.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 10
    while not srv.started:
        assert time.monotonic() < deadline, "uvicorn did not start"
        time.sleep(0.02)
    host, port = srv.servers[0].sockets[0].getsockname()[:2]
    yield host, port
    srv.should_exit = True
    thread.join(10)


def test_a_chunked_body_is_cut_off_at_the_limit(server: tuple[str, int]) -> None:
    """300 MiB offered without a Content-Length: the server answers 413 after about the limit."""
    conn = socket.create_connection(server, timeout=10)
    conn.sendall(
        b"POST /api/v1/webhooks/github HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n"
        b"Content-Type: application/json\r\n\r\n"
    )
    chunk = b"[" + b"1," * 32_000 + b"1]"
    frame = f"{len(chunk):x}\r\n".encode() + chunk + b"\r\n"
    sent = 0
    conn.settimeout(0.5)
    answer = b""
    while sent < 300 * 1024 * 1024:
        try:
            conn.sendall(frame)
        except OSError:
            break  # the server stopped reading: it has answered
        sent += len(chunk)
        try:
            conn.setblocking(False)
            answer = conn.recv(4096)
            if answer:
                break
        except BlockingIOError:
            pass
        finally:
            conn.settimeout(0.5)
    conn.settimeout(5)
    while b"}}" not in answer:
        more = conn.recv(4096)
        if not more:
            break
        answer += more
    conn.close()
    assert answer.startswith(b"HTTP/1.1 413"), answer[:200]
    assert b"REQUEST_TOO_LARGE" in answer
    assert sent < 16 * 1024 * 1024, f"the server kept reading: {sent} bytes were accepted"


def test_content_length_over_the_limit_is_refused_before_reading(api: Any) -> None:
    client, admin, _ = api
    response = client.post("/api/v1/proposals", content=b"x" * (MAX_BODY + 1), headers=admin)
    assert response.status_code == 413 and response.json()["error"]["code"] == "REQUEST_TOO_LARGE"


# -- 25: deep JSON ----------------------------------------------------------------------------


def test_deep_json_is_refused_and_never_stored(api: Any, ws: Workspace) -> None:
    client, admin, repo_id = api
    deep: Any = 1
    for _ in range(900):
        deep = [deep]
    body = {
        "config_repo_id": repo_id,
        "title": "t",
        "edits": [{"path": "a.yaml", "format": "yaml", "pointer": "/x", "from": 1, "to": deep}],
    }
    response = client.post("/api/v1/proposals", content=json.dumps(body), headers=admin)
    assert response.status_code == 422 and response.json()["error"]["code"] == "BODY_TOO_DEEP"
    listed = client.get("/api/v1/proposals", headers=admin)
    assert listed.status_code == 200 and listed.json()["items"] == []

    for nan in ('{"config_repo_id": 1, "title": "t", "edits": [], "metrics": {"x": NaN}}', "[Infinity]"):
        response = client.post("/api/v1/proposals", content=nan, headers=admin)
        assert response.status_code == 422 and "non-finite" in response.json()["error"]["message"]


def test_a_deep_body_to_the_unauthenticated_webhook_is_refused_without_a_server_error(api: Any) -> None:
    client, _, _ = api
    body = b'{"a": ' + b"[" * 100_000 + b"]" * 100_000 + b"}"
    response = client.post("/api/v1/webhooks/github", content=body, headers=signed(body, "deep-1"))
    assert response.status_code == 422 and response.json()["error"]["code"] == "BODY_TOO_DEEP"


def test_the_webhook_signature_is_checked_before_the_body_is_parsed(api: Any) -> None:
    client, _, _ = api
    body = b"this is not json at all"
    unsigned_junk = client.post(
        "/api/v1/webhooks/github",
        content=body,
        headers={**signed(body, "j-1"), "X-Hub-Signature-256": "sha256=" + "0" * 64},
    )
    assert unsigned_junk.status_code == 401 and unsigned_junk.json()["error"]["code"] == "SIGNATURE_INVALID"
    signed_junk = client.post("/api/v1/webhooks/github", content=body, headers=signed(body, "j-2"))
    assert signed_junk.status_code == 400 and "not valid JSON" in signed_junk.json()["error"]["message"]


# -- 26: replays under a new delivery id --------------------------------------------------------


def test_an_old_delivery_under_a_new_id_cannot_flip_the_state_back(api: Any, ws: Workspace) -> None:
    client, _, repo_id = api
    pid = seed_proposal(ws, repo_id)
    with ws.transaction() as conn:
        proposals_db.update_proposal(conn, pid, status="pr_opened", pr_number=7, pr_state="open")

    def event(action: str, at: str, delivery: str) -> Any:
        body = json.dumps(
            {
                "action": action,
                "number": 7,
                "repository": {"clone_url": URL},
                "pull_request": {"number": 7, "merged": False, "updated_at": at},
            }
        ).encode()
        return client.post("/api/v1/webhooks/github", content=body, headers=signed(body, delivery))

    assert event("closed", "2026-01-01T10:00:00Z", "a").json()["updated"] == 1
    assert event("reopened", "2026-01-01T11:00:00Z", "b").json()["updated"] == 1
    assert proposals.get(ws, pid)["pr_state"] == "open"
    replay = event("closed", "2026-01-01T10:00:00Z", "c-new-id")  # the old one, re-posted
    assert replay.status_code == 200 and replay.json()["updated"] == 0
    assert proposals.get(ws, pid)["pr_state"] == "open"
    assert event("closed", "2026-01-01T10:00:00Z", "c-new-id").status_code == 409  # id dedupe kept


def test_a_pull_request_delivery_without_a_number_is_422(api: Any) -> None:
    client, _, _ = api
    body = json.dumps({"action": "closed", "repository": {"clone_url": URL}, "pull_request": {}}).encode()
    response = client.post("/api/v1/webhooks/github", content=body, headers=signed(body, "n-1"))
    assert response.status_code == 422 and "numeric 'number'" in response.json()["error"]["message"]


# -- 27: PATCH validates like POST; git never reads a branch as an option ------------------------


def test_patch_validates_like_post(api: Any, ws: Workspace) -> None:
    client, admin, repo_id = api
    for bad in ("--upload-pack=x\nfoo bar", "-x", "a..b", "a b"):
        response = client.patch(
            f"/api/v1/config-repos/{repo_id}", json={"default_branch": bad}, headers=admin
        )
        assert response.status_code in (400, 422), (bad, response.json())
        created = client.post(
            "/api/v1/config-repos",
            json={
                "name": "other",
                "url": "https://github.com/acme/other.git",
                "default_branch": bad,
                "auth_ref": "secret://env/INFRA_TOKEN",
            },
            headers=admin,
        )
        assert created.status_code == response.status_code, bad
    assert config_repos.get(ws, repo_id)["default_branch"] == "main"
    for bad in ("main.lock", "a//b", "x@{1}"):
        with pytest.raises(Exception, match="default_branch"):
            config_repos.patch(ws, repo_id, {"default_branch": bad})
    response = client.patch(f"/api/v1/config-repos/{repo_id}", json={"name": None}, headers=admin)
    assert response.status_code == 400 and "may not be null" in response.json()["error"]["message"]


def test_git_refuses_an_option_looking_branch(tmp_path: Any) -> None:
    with pytest.raises(UnsafeRefError, match="must not start with '-'"):
        Checkout(tmp_path, "--upload-pack=touch /tmp/pwned")


# -- 28: bounded metric labels --------------------------------------------------------------------


def _series(client: TestClient) -> set[str]:
    body = client.get("/metrics").text
    return {
        line.rsplit(" ", 1)[0]
        for line in body.splitlines()
        if line.startswith("driftgate_http_requests_total{")
    }


def test_clients_cannot_mint_metric_series(api: Any) -> None:
    client, _, _ = api
    before = _series(client)
    for i in range(300):
        client.request(f"MADEUP{i}", "/healthz")
        client.get(f"/no/such/path/{i}")
    after = _series(client)
    assert len(after - before) <= 3, after - before  # other/healthz/405, GET/other/404, GET/metrics/200
    assert not any("MADEUP" in line or "/no/such" in line for line in after)
    assert any('method="other"' in line for line in after)


def test_a_fifo_as_a_credential_is_refused_at_once(api: Any, ws: Workspace, tmp_path: Any) -> None:
    client, admin, _ = api
    secrets = ws.settings.effective_secrets_dir
    secrets.mkdir(parents=True, exist_ok=True)
    os.mkfifo(secrets / "pipe")
    started = time.monotonic()
    response = client.post(
        "/api/v1/config-repos",
        json={"name": "piped", "url": "https://github.com/acme/piped.git", "auth_ref": "secret://file/pipe"},
        headers=admin,
    )
    assert response.status_code == 422 and "not a regular file" in response.json()["error"]["message"]
    assert time.monotonic() - started < 5


def test_a_nul_character_is_refused_not_a_server_error(api: Any, ws: Workspace) -> None:
    """PostgreSQL cannot store NUL in text; a generated request once found the 500 (Schemathesis)."""
    client, admin, repo_id = api
    body = {
        "config_repo_id": repo_id,
        "title": "bad\u0000title",
        "edits": [{"path": "a.yaml", "format": "yaml", "pointer": "/x", "from": 1, "to": 2}],
    }
    response = client.post("/api/v1/proposals", json=body, headers=admin)
    assert response.status_code == 400 and response.json()["error"]["code"] == "INVALID_INPUT", response.text
    assert client.get("/api/v1/proposals", headers=admin).json()["items"] == []


def test_the_store_turns_an_unstorable_value_into_a_clear_input_error(api: Any, ws: Workspace) -> None:
    """Below the API (a value that did not come through a request body): PostgreSQL refuses NUL in
    text, and that is one clear input error, not a driver traceback. SQLite stores it."""
    from driftgate.errors import CodedError

    _, _, repo_id = api
    fields: dict[str, Any] = {
        "config_repo_id": repo_id,
        "title": "t",
        "rationale": "nul\u0000here",
        "edits": [{"path": "a.yaml", "format": "yaml", "pointer": "/x", "from": 1, "to": 2}],
        "metrics": None,
        "chart": None,
        "created_by": "op",
    }
    if not ws.settings.effective_database_url.startswith("postgresql"):
        assert proposals.create(ws, **fields)["rationale"] == "nul\u0000here"
        return
    with pytest.raises(CodedError, match="the store cannot hold a value given") as info:
        proposals.create(ws, **fields)
    assert info.value.code == "INVALID_INPUT"
