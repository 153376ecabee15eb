"""Runs over the API: plan, apply through the gate, drift, reconcile; 207 when git diverged."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient

from driftgate.api.app import create_app
from driftgate.services.tokens import create_token
from driftgate.services.workspace import Workspace
from driftgate.testing.gitrepos import make_remote
from driftgate.testing.stacks import write_stack


@pytest.fixture
def client(ws: Workspace) -> Iterator[TestClient]:
    with TestClient(create_app(ws)) as c:
        c.headers.update({"Authorization": f"Bearer {create_token(ws, 'op', 'operator')}"})
        yield c


def site(ws: Workspace, **stack_extra: Any) -> Path:
    d = write_stack(
        ws.settings.effective_stacks_root / "site",
        name="site",
        stateful=["db"],
        modules={
            "web": [{"type": "file.file", "name": "page", "spec": {"path": "index.html", "content": "hi"}}],
            "db": [{"type": "data.value", "name": "schema", "spec": {"input": 1}}],
        },
    )
    if stack_extra:
        (d / "stack.yaml").write_text(
            (d / "stack.yaml").read_text()
            + "commit_back:\n"
            + "".join(f"  {k}: {v}\n" for k, v in stack_extra.items())
        )
    return d


def test_plan_apply_drift_reconcile_and_runs(client: TestClient, ws: Workspace) -> None:
    d = site(ws)
    plan = client.post("/api/v1/stacks/plan", json={"stack": "site"}).json()
    assert plan["exit_code"] == 2 and plan["plan"]["summary"]["create"] == 2

    refused = client.post("/api/v1/stacks/apply", json={"stack": "site"})
    assert refused.status_code == 409 and refused.json()["error"]["code"] == "GATE_REFUSED"
    assert "--module db" in refused.json()["error"]["message"]

    auto = client.post("/api/v1/stacks/apply", json={"stack": "site", "lane": "auto"})
    assert auto.status_code == 200
    body = auto.json()
    assert body["full_success"] and set(body["gate"]["blocked"]) == {"db"}
    assert body["commit_back"]["reason"] == "partial-scope" and not body["state_diverged"]
    assert (d / "live" / "index.html").read_text() == "hi"

    assert client.post("/api/v1/stacks/drift", json={"stack": "site"}).json()["exit_code"] == 0
    (d / "live" / "index.html").write_text("edited")
    drift = client.post("/api/v1/stacks/drift", json={"stack": "site"}).json()
    assert drift["exit_code"] == 2 and drift["items"][0]["address"] == "web/file.file.page"
    reconcile = client.post("/api/v1/stacks/reconcile", json={"stack": "site"})
    assert (
        reconcile.status_code == 207 and reconcile.json()["state_diverged"] is True
    )  # no remote for a draft

    runs = client.get("/api/v1/runs", params={"stack": "site"}).json()["items"]
    # issue 23, item 8: every drift check is recorded (the two drift scans here), not only reconciles
    assert [r["kind"] for r in runs][:5] == ["reconcile", "drift", "drift", "apply", "apply"]
    ledger = client.get(f"/api/v1/runs/{auto.json()['run_id']}").json()["ledger"]
    assert [e["address"] for e in ledger] == ["web/file.file.page"]


def test_apply_whose_commit_back_diverged_answers_207(
    client: TestClient, ws: Workspace, tmp_path: Path
) -> None:
    remote = make_remote(tmp_path)
    remote.reject()
    site(ws, remote=remote.url, branch="main", path="stacks/site")
    response = client.post("/api/v1/stacks/apply", json={"stack": "site", "lane": "auto"})
    # the gate held db back, so commit-back did not run: partial scope, not diverged
    assert response.status_code == 200
    write_stack(
        ws.settings.effective_stacks_root / "site",
        name="site",
        modules={
            "web": [{"type": "file.file", "name": "page", "spec": {"path": "index.html", "content": "hi"}}]
        },
    )
    (ws.settings.effective_stacks_root / "site" / "stack.yaml").write_text(
        (ws.settings.effective_stacks_root / "site" / "stack.yaml").read_text()
        + f"commit_back:\n  remote: {remote.url}\n  branch: main\n  path: stacks/site\n"
    )
    diverged = client.post("/api/v1/stacks/apply", json={"stack": "site"})
    assert diverged.status_code == 207 and diverged.json()["state_diverged"] is True
    assert diverged.json()["full_success"] is True


@pytest.mark.parametrize(
    ("stack", "status", "code"),
    [
        ("../../etc", 400, "INVALID_INPUT"),
        ("/etc", 400, "INVALID_INPUT"),
        ("nowhere", 404, "STACK_NOT_FOUND"),
    ],
)
def test_stack_paths_are_contained(client: TestClient, stack: str, status: int, code: str) -> None:
    response = client.post("/api/v1/stacks/plan", json={"stack": stack})
    assert (response.status_code, response.json()["error"]["code"]) == (status, code)


def test_viewers_cannot_trigger_runs(ws: Workspace) -> None:
    site(ws)
    with TestClient(create_app(ws)) as viewer:
        viewer.headers.update({"Authorization": f"Bearer {create_token(ws, 'v', 'viewer')}"})
        assert viewer.post("/api/v1/stacks/plan", json={"stack": "site"}).status_code == 403
        assert viewer.get("/api/v1/runs").status_code == 200
