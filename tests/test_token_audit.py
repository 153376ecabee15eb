"""A full proposal flow on each forge's stand-in, then every surface searched for the repo token and
its base64 forms."""

from __future__ import annotations

import base64
import io
import logging
import time
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from huey import SqliteHuey
from sqlalchemy import select

from driftgate.api.app import create_app
from driftgate.jobs.queue import Jobs
from driftgate.localforge import LocalForge
from driftgate.security.logs import configure_logging
from driftgate.services.proposals import lifecycle as proposals
from driftgate.services.tokens import create_token
from driftgate.services.workspace import Workspace
from driftgate.store.tables import metadata
from driftgate.testing.audit import ArgvWatcher, leaks, secret_forms, tree_text
from driftgate.testing.gitrepos import git

TOKENS = {  # each forge's own token shape
    "github": "ghp_" + "Z8k2" * 9,
    "gitea": "9c" * 20,
    "forgejo": "4e" * 20,
    "gitlab": "glpat-" + "Zk8-q2" * 4,
}


@pytest.mark.slow
@pytest.mark.parametrize("kind", list(TOKENS))
def test_no_surface_ever_holds_the_token(
    ws: Workspace, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, kind: str
) -> None:
    TOKEN = TOKENS[kind]  # noqa: N806 - the constant of this run
    monkeypatch.setenv("INFRA_TOKEN", TOKEN)
    logs = io.StringIO()
    root = logging.getLogger()
    saved = (root.handlers[:], root.level)
    configure_logging("DEBUG", logs)
    responses: list[str] = []
    jobs = Jobs(
        SqliteHuey("audit", filename=str(tmp_path / "q.db"), results=False),
        workspace=lambda: ws,
        base_delay=0.2,
    )
    try:
        with LocalForge(tmp_path / "forge", token=TOKEN, kind=kind) as forge, ArgvWatcher() as watcher:
            url = forge.create_repo("infra", {"svc.json": '{\n  "replicas": 3\n}\n'})
            admin = {"Authorization": f"Bearer {create_token(ws, 'admin', 'admin')}"}
            operator = {"Authorization": f"Bearer {create_token(ws, 'op', 'operator')}"}
            with TestClient(create_app(ws, jobs)) as client:

                def call(method: str, path: str, **kw: object) -> dict[str, object]:
                    response = client.request(method, path, **kw)  # type: ignore[arg-type]
                    responses.append(response.text)
                    return response.json()  # type: ignore[no-any-return]

                repo = call(
                    "POST",
                    "/api/v1/config-repos",
                    headers=admin,
                    json={"name": "infra", "url": url, "auth_ref": "secret://env/INFRA_TOKEN"},
                )  # no forge named: the host is asked which it is, with the token where GitLab wants it
                assert repo["forge"] == kind
                proposal = call(
                    "POST",
                    "/api/v1/proposals",
                    headers=operator,
                    json={
                        "config_repo_id": repo["id"],
                        "title": "Scale",
                        "rationale": f"oops, pasted a token: {TOKEN}",
                        "edits": [
                            {"path": "svc.json", "format": "json", "pointer": "/replicas", "from": 3, "to": 4}
                        ],
                    },
                )
                call("POST", f"/api/v1/proposals/{proposal['id']}/open_pr", headers=operator)
                consumer = jobs.huey.create_consumer(
                    workers=1, worker_type="thread", periodic=False, check_worker_health=False
                )
                consumer.start()
                try:
                    deadline = time.monotonic() + 30
                    while proposals.get(ws, int(proposal["id"]))["status"] != "pr_opened":  # type: ignore[arg-type]
                        assert time.monotonic() < deadline, "the PR was not opened"
                        time.sleep(0.1)
                finally:
                    consumer.stop(graceful=True)
                call("GET", f"/api/v1/proposals/{proposal['id']}", headers=operator)
                call("GET", "/api/v1/config-repos", headers=admin)
                responses.append(client.get("/metrics").text)
            (pr,) = forge.pulls["infra"].values()
            forge_text = f"{pr.title}\n{pr.body}\n{pr.comments}\n" + git(
                forge.repo_path("infra"), "log", "--all", "-p"
            )
    finally:
        root.handlers, root.level = saved

    with ws.engine.connect() as conn:
        stored = "\n".join(repr(conn.execute(select(t)).all()) for t in metadata.sorted_tables)
    surfaces = {
        "argv": "\n".join(watcher.seen),
        "clone": tree_text(ws.settings.home / "clones"),
        "logs": logs.getvalue(),
        "store": stored,
        "api": "\n".join(responses),
        "forge": forge_text,
    }
    assert any("git" in line and "push" in line or "receive-pack" in line for line in watcher.seen)
    assert "[REDACTED]" in pr.body and "Scale" in pr.title
    forms = secret_forms(TOKEN) | {base64.b64encode(f"oauth2:{TOKEN}".encode()).decode().rstrip("=")}
    assert leaks(forms, surfaces) == []
