"""The dashboard over a real server (uvicorn on 127.0.0.1) and a store filled by real applies: the
file, data and chaos providers, a stateful module held back then applied with its backup, drift
found by a reconcile, a config repo on the local forge with proposals, a stale lock. Chromium
(Debian's, through Playwright) looks at it; axe-core (npm) checks every page."""

from __future__ import annotations

import os
import socket
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

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
from tests.conftest import open_workspace
from tests.testdata import fetched

FORGE_TOKEN = "ghp_" + "W3b" * 12


def chromium_path() -> str:
    path = os.environ.get("DRIFTGATE_CHROMIUM") or "/usr/bin/chromium"
    if not Path(path).is_file():
        pytest.fail("Chromium is not here: run ./scripts/test (scripts/ensure-browser installs it)")
    return path


def axe_source() -> str:
    found = fetched("DRIFTGATE_AXE_JS", "axe-core-*/package/axe.min.js")
    if found is None:
        pytest.fail("axe-core is not here: run ./scripts/test (scripts/test-data fetches it)")
    return found.read_text()


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


def _apply(ws: Workspace, directory: Path, gate: GateRequest) -> str:
    outcome = apply_stack(ws, ApplyRequest(directory, gate=gate, commit_back=False, skip_no_changes=False))
    assert outcome.report is not None
    return outcome.report.run_id


def _stack(root: Path, content: str) -> Path:
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


def _serve(app: Any) -> tuple[str, Any]:
    import uvicorn

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    server = uvicorn.Server(
        uvicorn.Config(app, host="127.0.0.1", port=port, log_config=None, access_log=False)
    )
    threading.Thread(target=server.run, daemon=True).start()
    deadline = time.monotonic() + 20
    while not server.started and time.monotonic() < deadline:
        time.sleep(0.05)
    assert server.started, "the dashboard's server did not start"
    return f"http://127.0.0.1:{port}", server


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Site]:
    from driftgate.web import create_site

    root = tmp_path_factory.mktemp("dashboard")
    os.environ["DRIFTGATE_SECRET_WEB_FORGE"] = FORGE_TOKEN
    ws = open_workspace(root / "home", secrets_dir=root / "secrets")
    directory = _stack(root, "<h1>hi</h1>")
    runs = {"held": _apply(ws, directory, GateRequest("auto"))}
    ref = create_backup(ws, directory, "db").ref
    runs["stateful"] = _apply(ws, directory, GateRequest("manual", ("db",), True, "db", ref))
    _stack(root, "<h1>hello</h1>")
    runs["update"] = _apply(ws, directory, GateRequest("auto"))
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
        repo_id = seed_repo(
            ws, forge.repo_url("infra"), auth_env="DRIFTGATE_SECRET_WEB_FORGE", forge="github"
        )
        proposals = [
            seed_proposal(ws, repo_id, title="Bump x"),
            seed_proposal(ws, repo_id, title="Bump x again"),
        ]
        base, server = _serve(create_site(ws, InlineJobs(ws)))
        try:
            yield Site(ws, base, forge, tokens, directory, proposals, root, runs)
        finally:
            server.should_exit = True
            time.sleep(0.3)
            ws.close()


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        launched = p.chromium.launch(executable_path=chromium_path(), args=["--no-sandbox"])
        yield launched
        launched.close()


@dataclass
class Tab:
    """A page with its console errors and failed requests collected, and an axe check."""

    page: Any
    site: Site
    problems: list[str] = field(default_factory=list)

    def go(self, path: str) -> Any:
        response = self.page.goto(self.site.base + path)
        assert response is not None and response.status < 400, (
            f"{path}: {response.status if response else None}"
        )
        return response

    def login(self, role: str) -> None:
        self.go("/ui/login")
        self.page.fill("#token", self.site.tokens[role])
        self.page.click("button[type=submit]")
        self.page.wait_for_url(self.site.base + "/ui/")

    def accessible(self) -> None:
        """axe-core on the page as it is: no serious or critical violation."""
        self.page.add_script_tag(content=AXE)
        found = self.page.evaluate("axe.run(document, {resultTypes: ['violations']}).then(r => r.violations)")
        bad = [
            f"{v['id']} ({v['impact']}): {v['help']} at {[n['target'] for n in v['nodes']][:3]}"
            for v in found
            if v.get("impact") in ("serious", "critical")
        ]
        assert not bad, f"{self.page.url}: {bad}"

    def clean(self) -> None:
        assert not self.problems, self.problems


AXE = ""


@pytest.fixture
def tab(browser: Any, site: Site) -> Iterator[Tab]:
    global AXE
    AXE = AXE or axe_source()
    context = browser.new_context()
    page = context.new_page()
    found = Tab(page, site)
    page.on(
        "console",
        lambda m: found.problems.append(f"console {m.type}: {m.text}") if m.type == "error" else None,
    )
    page.on("pageerror", lambda e: found.problems.append(f"page error: {e}"))
    page.on(
        "response",
        lambda r: (
            found.problems.append(f"{r.status} {r.url}")
            if r.status >= 500 or (r.status == 404 and "/static/" in r.url)
            else None
        ),
    )
    yield found
    context.close()
