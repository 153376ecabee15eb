"""The dashboard over a real server (uvicorn on 127.0.0.1) and a store filled by real applies
(``driftgate.testing.dashboard``). Chromium (Debian's, through Playwright) looks at it; axe-core
(npm) checks every page."""

from __future__ import annotations

import os
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from driftgate.testing.dashboard import Site, demo_site
from tests.conftest import open_workspace
from tests.testdata import fetched


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


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Site]:
    root = tmp_path_factory.mktemp("dashboard")
    ws = open_workspace(root / "home", secrets_dir=root / "secrets")
    try:
        with demo_site(root, ws, postgres_url=os.environ.get("DRIFTGATE_TEST_POSTGRES_URL")) as running:
            yield running
    finally:
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
