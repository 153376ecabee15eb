"""A dashboard with something to show, for the browser tests and the README's screenshots: a store
filled by real applies (file and data providers; a stateful module held back, then applied with its
backup), drift found by a reconcile, a config repo on the local forge with proposals, a stale lock,
tokens for each role — served by uvicorn on 127.0.0.1."""

from __future__ import annotations

import os
import socket
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from driftgate.gate.decision import GateRequest
from driftgate.localforge import LocalForge
from driftgate.services.drift.reconcile import reconcile
from driftgate.services.proposals.open_pr import open_pr
from driftgate.services.stacks.apply import ApplyRequest, apply_stack
from driftgate.services.stacks.backups import create_backup
from driftgate.services.tokens import create_token
from driftgate.services.workspace import Workspace
from driftgate.store import locks as locks_db
from driftgate.store import stacks as stacks_db
from driftgate.testing.service import seed_proposal, seed_repo
from driftgate.testing.stacks import write_stack

FORGE_TOKEN = "ghp_" + "W3b" * 12
FORGE_ENV = "DRIFTGATE_SECRET_WEB_FORGE"


class InlineJobs:
    """The open-PR job run at once, in this process, against the local forge (the queue itself is
    tested in tests/jobs)."""

    def __init__(self, ws: Workspace) -> None:
        self.ws = ws

    def is_available(self) -> bool:
        return True

    def enqueue_open_pr(self, proposal_id: int, job_id: str) -> object:
        return open_pr(self.ws, proposal_id)


@dataclass
class Site:
    ws: Workspace
    base: str
    forge: LocalForge
    tokens: dict[str, str]
    stack_dir: Path
    proposals: list[int]
    root: Path
    runs: dict[str, str] = field(default_factory=dict)


def apply(ws: Workspace, directory: Path, gate: GateRequest) -> str:
    outcome = apply_stack(ws, ApplyRequest(directory, gate=gate, commit_back=False, skip_no_changes=False))
    assert outcome.report is not None
    return outcome.report.run_id


def site_stack(root: Path, content: str) -> Path:
    return write_stack(
        root / "stacks" / "site",
        name="site",
        modules={
            "web": [
                {"type": "file.file", "name": "index", "spec": {"path": "index.html", "content": content}},
                {"type": "data.value", "name": "greeting", "spec": {"input": "hello"}},
            ],
            "db": [{"type": "file.file", "name": "schema", "spec": {"path": "schema.sql", "content": "v1"}}],
        },
        providers={"file": {"root": "live"}, "data": {}},
        stateful=["db"],
    )


def serve(app: Any) -> tuple[str, Any]:
    """``app`` on a free port of 127.0.0.1 in a thread: (its base URL, the uvicorn server)."""
    import uvicorn

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    config = uvicorn.Config(app, host="127.0.0.1", port=port, log_config=None, access_log=False)
    server = uvicorn.Server(config)
    threading.Thread(target=server.run, daemon=True).start()
    deadline = time.monotonic() + 20
    while not server.started and time.monotonic() < deadline:
        time.sleep(0.05)
    assert server.started, "the dashboard's server did not start"
    return f"http://127.0.0.1:{port}", server


def postgres_stack(root: Path, url: str, prefix: str, roles: list[str]) -> Path:
    """A stack of PostgreSQL roles named ``prefix…`` (the only ones it looks at on a shared server),
    each with a password from the environment."""
    os.environ["DRIFTGATE_SECRET_WEB_PG_DSN"] = url
    os.environ["DRIFTGATE_SECRET_WEB_PG_PASSWORD"] = "pg-web-password-5521"
    config = {
        "dsn": "secret://env/DRIFTGATE_SECRET_WEB_PG_DSN",
        "ignore_roles": [f"(?!{prefix}).*"],
        "ignore_databases": [f"(?!{prefix}).*"],
    }
    spec = {"login": True, "password": "secret://env/DRIFTGATE_SECRET_WEB_PG_PASSWORD"}
    people = [{"type": "postgres.role", "name": r, "spec": {"name": prefix + r, **spec}} for r in roles]
    return write_stack(
        root / "stacks" / "pg", name="pg", modules={"people": people}, providers={"postgres": config}
    )


@contextmanager
def demo_site(root: Path, ws: Workspace, *, postgres_url: str | None = None) -> Iterator[Site]:
    """Fill ``ws`` (a fresh store) and serve the dashboard over it until the block ends; with
    ``postgres_url``, a stack of PostgreSQL roles too (dropped at the end)."""
    import secrets

    from driftgate.web import create_site

    os.environ[FORGE_ENV] = FORGE_TOKEN
    prefix = f"dgweb_{secrets.token_hex(3)}_"
    if postgres_url:
        runs_pg = apply(
            ws, postgres_stack(root, postgres_url, prefix, ["app", "reader"]), GateRequest("auto")
        )
    directory = site_stack(root, "<h1>hi</h1>")
    runs = {"held": apply(ws, directory, GateRequest("auto"))}
    if postgres_url:
        runs["postgres"] = runs_pg
    ref = create_backup(ws, directory, "db").ref
    runs["stateful"] = apply(ws, directory, GateRequest("manual", ("db",), True, "db", ref))
    site_stack(root, "<h1>hello</h1>")
    runs["update"] = apply(ws, directory, GateRequest("auto"))
    (directory / "live" / "index.html").write_text("changed by hand")
    runs["reconcile"], _ = reconcile(ws, directory)
    with ws.transaction() as conn:
        stuck = stacks_db.ensure_stack(conn, "stuck", str(root / "stacks" / "stuck"))
        locks_db.try_lock(
            conn,
            stack_id=stuck.id,
            run_id="dead-run",
            holder="ci@old",
            pid=2**22 + 7,
            host=ws.settings.hostname,
        )
    tokens = {role: create_token(ws, f"{role}-person", role) for role in ("viewer", "operator", "admin")}
    with LocalForge(root / "forge", token=FORGE_TOKEN) as forge:
        forge.create_repo("infra", {"a.yaml": "x: 1\n"})
        repo_id = seed_repo(ws, forge.repo_url("infra"), auth_env=FORGE_ENV, forge="github")
        proposals = [
            seed_proposal(ws, repo_id, title="Bump x"),
            seed_proposal(ws, repo_id, title="Bump x again"),
        ]
        base, server = serve(create_site(ws, InlineJobs(ws)))
        try:
            yield Site(ws, base, forge, tokens, directory, proposals, root, runs)
        finally:
            server.should_exit = True
            time.sleep(0.3)
            if postgres_url:  # drop the roles: the server is shared
                apply(ws, postgres_stack(root, postgres_url, prefix, []), GateRequest("auto"))
