"""The HTTP API: auth, envelope, config repos, proposals, pagination, limits."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient

from driftgate.api.app import create_app
from driftgate.services.tokens import create_token
from driftgate.services.workspace import Workspace

REPO_TOKEN = "ghp_" + "R" * 36


@pytest.fixture
def api(
    ws: Workspace, monkeypatch: pytest.MonkeyPatch
) -> Iterator[tuple[TestClient, dict[str, dict[str, str]]]]:
    monkeypatch.setenv("INFRA_TOKEN", REPO_TOKEN)
    tokens = {
        role: {"Authorization": f"Bearer {create_token(ws, role, role)}"}
        for role in ("viewer", "operator", "admin")
    }
    with TestClient(create_app(ws)) as client:
        yield client, tokens


def repo_body(**overrides: Any) -> dict[str, Any]:
    return {
        "name": "infra",
        "url": "https://github.com/acme/infra.git",
        "default_branch": "main",
        "auth_ref": "secret://env/INFRA_TOKEN",
        **overrides,
    }


def test_health_and_openapi(api: tuple[TestClient, Any]) -> None:
    client, _ = api
    assert client.get("/healthz").json() == {"status": "ok"}
    assert client.get("/readyz").json()["status"] == "ready"
    spec = client.get("/openapi.json").json()
    assert "/api/v1/proposals" in spec["paths"]


def test_auth_envelope_and_roles(api: tuple[TestClient, dict[str, dict[str, str]]]) -> None:
    client, tokens = api
    missing = client.get("/api/v1/config-repos")
    assert missing.status_code == 401 and missing.json()["error"]["code"] == "UNAUTHENTICATED"
    wrong = client.get("/api/v1/config-repos", headers={"Authorization": "Bearer dgt_nope"})
    assert wrong.status_code == 401
    forbidden = client.post("/api/v1/config-repos", json=repo_body(), headers=tokens["operator"])
    assert forbidden.status_code == 403 and forbidden.json()["error"]["code"] == "FORBIDDEN"
    assert client.get("/api/v1/config-repos", headers=tokens["viewer"]).status_code == 200


def test_config_repo_crud_and_credentials_never_returned(api: tuple[TestClient, Any]) -> None:
    client, tokens = api
    created = client.post("/api/v1/config-repos", json=repo_body(), headers=tokens["admin"])
    assert created.status_code == 201, created.text
    body = created.json()
    assert body["forge"] == "github" and body["auth_ref"] == "secret://env/INFRA_TOKEN"
    assert REPO_TOKEN not in created.text
    repo_id = body["id"]
    got = client.get(f"/api/v1/config-repos/{repo_id}", headers=tokens["viewer"])
    assert got.json()["name"] == "infra" and REPO_TOKEN not in got.text
    patched = client.patch(
        f"/api/v1/config-repos/{repo_id}", json={"default_branch": "trunk"}, headers=tokens["admin"]
    )
    assert patched.json()["default_branch"] == "trunk"
    dup = client.post("/api/v1/config-repos", json=repo_body(), headers=tokens["admin"])
    assert dup.status_code == 409 and dup.json()["error"]["code"] == "CONFIG_REPO_NAME_TAKEN"
    assert client.delete(f"/api/v1/config-repos/{repo_id}", headers=tokens["admin"]).status_code == 204
    gone = client.get(f"/api/v1/config-repos/{repo_id}", headers=tokens["viewer"])
    assert gone.status_code == 404 and gone.json()["error"]["code"] == "NOT_FOUND"


@pytest.mark.parametrize(
    ("overrides", "status", "code"),
    [
        ({"url": "git@github.com:acme/infra.git"}, 400, "INVALID_URL"),
        ({"url": "ssh://git@github.com/acme/infra.git"}, 400, "INVALID_URL"),
        ({"url": "https://user:tok@github.com/acme/infra.git"}, 400, "INVALID_URL"),
        ({"url": "http://github.com/acme/infra.git"}, 400, "INVALID_URL"),
        ({"url": "https://github.com/acme"}, 400, "INVALID_URL"),
        ({"url": "https://bitbucket.org/acme/infra.git"}, 400, "UNSUPPORTED_FORGE"),
        ({"url": "https://dev.azure.com/acme/infra"}, 400, "UNSUPPORTED_FORGE"),
        ({"url": "https://github.com/acme/infra.git", "forge": "svn"}, 422, "VALIDATION_FAILED"),
        ({"auth_ref": "secret://env/NOT_SET_ANYWHERE"}, 422, "CREDENTIAL_NOT_FOUND"),
        ({"auth_ref": "secret://file/missing-token"}, 422, "CREDENTIAL_NOT_FOUND"),
        ({"auth_ref": "secret://file/../outside"}, 400, "INVALID_INPUT"),
        ({"auth_ref": "plain-token-value"}, 400, "INVALID_INPUT"),
        ({"name": "bad name!"}, 422, "VALIDATION_FAILED"),
        ({"colour": "red"}, 422, "VALIDATION_FAILED"),
    ],
)
def test_config_repo_input_rules(
    api: tuple[TestClient, Any], overrides: dict[str, Any], status: int, code: str
) -> None:
    client, tokens = api
    response = client.post("/api/v1/config-repos", json=repo_body(**overrides), headers=tokens["admin"])
    assert (response.status_code, response.json()["error"]["code"]) == (status, code), response.text


def test_auth_ref_to_a_directory_is_refused(api: tuple[TestClient, Any], ws: Workspace) -> None:
    client, tokens = api
    (ws.settings.effective_secrets_dir / "a-dir").mkdir(parents=True)
    response = client.post(
        "/api/v1/config-repos", json=repo_body(auth_ref="secret://file/a-dir"), headers=tokens["admin"]
    )
    assert response.status_code == 422 and response.json()["error"]["code"] == "CREDENTIAL_NOT_FOUND"


def test_racing_creates_of_one_name_give_one_winner(api: tuple[TestClient, Any]) -> None:
    client, tokens = api
    statuses: list[int] = []

    def create() -> None:
        statuses.append(
            client.post("/api/v1/config-repos", json=repo_body(), headers=tokens["admin"]).status_code
        )

    threads = [threading.Thread(target=create) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(statuses) == [201, 409, 409, 409]


def test_pagination_is_exact_at_the_limit(api: tuple[TestClient, Any]) -> None:
    client, tokens = api
    for i in range(4):
        client.post("/api/v1/config-repos", json=repo_body(name=f"r{i}"), headers=tokens["admin"])
    first = client.get("/api/v1/config-repos", params={"limit": 2}, headers=tokens["viewer"])
    assert first.headers["X-Total-Count"] == "4"
    page = first.json()
    assert [r["name"] for r in page["items"]] == ["r0", "r1"] and page["has_more"] is True
    second = client.get(
        "/api/v1/config-repos", params={"limit": 2, "cursor": page["next_cursor"]}, headers=tokens["viewer"]
    ).json()
    assert [r["name"] for r in second["items"]] == ["r2", "r3"] and second["has_more"] is False
    assert second["next_cursor"] is None
    too_big = client.get("/api/v1/config-repos", params={"limit": 201}, headers=tokens["viewer"])
    assert too_big.status_code == 422
    bad = client.get("/api/v1/config-repos", params={"cursor": "!!"}, headers=tokens["viewer"])
    assert bad.status_code == 400 and bad.json()["error"]["code"] == "INVALID_CURSOR"


def proposal_body(repo_id: int, **overrides: Any) -> dict[str, Any]:
    return {
        "config_repo_id": repo_id,
        "title": "Raise replicas",
        "rationale": "p99 latency",
        "edits": [{"path": "svc.yaml", "format": "yaml", "pointer": "/replicas", "from": 3, "to": 5}],
        "metrics": {"name": "p99_ms", "baseline": 420, "candidate": 310},
        **overrides,
    }


def test_proposals_create_list_reject(api: tuple[TestClient, Any]) -> None:
    client, tokens = api
    repo_id = client.post("/api/v1/config-repos", json=repo_body(), headers=tokens["admin"]).json()["id"]
    assert (
        client.post("/api/v1/proposals", json=proposal_body(repo_id), headers=tokens["viewer"]).status_code
        == 403
    )
    created = client.post("/api/v1/proposals", json=proposal_body(repo_id), headers=tokens["operator"])
    assert created.status_code == 201, created.text
    proposal = created.json()
    assert (
        proposal["status"] == "pending"
        and proposal["edits"][0]["from"] == 3
        and proposal["created_by"] == "operator"
    )
    listed = client.get("/api/v1/proposals", params={"status": "pending"}, headers=tokens["viewer"])
    assert [p["id"] for p in listed.json()["items"]] == [proposal["id"]]
    rejected = client.post(
        f"/api/v1/proposals/{proposal['id']}/reject", json={"reason": "not now"}, headers=tokens["operator"]
    )
    assert rejected.json()["status"] == "rejected" and rejected.json()["reject_reason"] == "not now"
    again = client.post(
        f"/api/v1/proposals/{proposal['id']}/reject", json={"reason": "x"}, headers=tokens["operator"]
    )
    assert again.status_code == 409 and again.json()["error"]["code"] == "INVALID_STATE_TRANSITION"


@pytest.mark.parametrize(
    ("change", "status", "code"),
    [
        ({"config_repo_id": 999}, 422, "REPO_NOT_CONFIGURED"),
        (
            {"edits": [{"path": "../x.yaml", "format": "yaml", "pointer": "/a", "from": 1, "to": 2}]},
            400,
            "INVALID_INPUT",
        ),
        (
            {"edits": [{"path": "x.yaml", "format": "yaml", "pointer": "a", "from": 1, "to": 2}]},
            400,
            "INVALID_INPUT",
        ),
        (
            {"edits": [{"path": "x.ini", "format": "ini", "pointer": "/a", "from": 1, "to": 2}]},
            422,
            "VALIDATION_FAILED",
        ),
        ({"edits": []}, 422, "VALIDATION_FAILED"),
        ({"chart": {"x": [1, 2], "series": {"a": [1]}}}, 400, "INVALID_INPUT"),
    ],
)
def test_proposal_input_rules(
    api: tuple[TestClient, Any], change: dict[str, Any], status: int, code: str
) -> None:
    client, tokens = api
    repo_id = client.post("/api/v1/config-repos", json=repo_body(), headers=tokens["admin"]).json()["id"]
    response = client.post(
        "/api/v1/proposals", json={**proposal_body(repo_id), **change}, headers=tokens["operator"]
    )
    assert (response.status_code, response.json()["error"]["code"]) == (status, code), response.text


def test_oversized_requests_are_refused(api: tuple[TestClient, Any]) -> None:
    client, tokens = api
    huge = {
        "name": "x",
        "url": "https://github.com/a/b",
        "auth_ref": "secret://env/INFRA_TOKEN",
        "default_branch": "main" + "x" * (2 * 1024 * 1024),
    }
    response = client.post("/api/v1/config-repos", json=huge, headers=tokens["admin"])
    assert response.status_code == 413 and response.json()["error"]["code"] == "REQUEST_TOO_LARGE"


def test_token_cli_prints_once_and_stores_a_hash(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    from driftgate.cli.app import main

    assert main(["token", "create", "ci", "--role", "operator"]) == 0
    token = capsys.readouterr().out.strip()
    assert token.startswith("dgt_")
    db = (tmp_path / "driftgate-home" / "driftgate.db").read_bytes()
    assert token.encode() not in db
    assert main(["token", "create", "ci", "--role", "operator"]) == 1
