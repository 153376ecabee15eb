"""Applying from the dashboard applies the plan the page showed, or nothing; breaking a lock is
refused while its holder runs, and who broke one is recorded."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from driftgate.gate.decision import GateRequest
from driftgate.services.stacks.apply import ApplyRequest, apply_stack
from driftgate.services.stacks.history import runs_page
from driftgate.store import locks as locks_db
from driftgate.store import stacks as stacks_db
from driftgate.testing.dashboard import Site
from driftgate.testing.stacks import write_stack
from tests.web.conftest import Tab

pytestmark = pytest.mark.browser


def page_stack(site: Site, name: str, content: str) -> Path:
    modules = {
        "web": [{"type": "file.file", "name": "page", "spec": {"path": "page.html", "content": content}}]
    }
    return write_stack(
        site.root / "stacks" / name, name=name, modules=modules, providers={"file": {"root": "live"}}
    )


def applied(site: Site, name: str) -> Path:
    directory = page_stack(site, name, "v1")
    outcome = apply_stack(site.ws, ApplyRequest(directory, gate=GateRequest("auto"), commit_back=False))
    assert outcome.report is not None and outcome.report.full_success
    return directory


def run_count(site: Site, stack: str) -> int:
    return len(runs_page(site.ws, stack=stack, limit=50)[0])


def test_apply_from_the_page_applies_the_plan_it_showed(tab: Tab, site: Site) -> None:
    directory = applied(site, "shown")
    page_stack(site, "shown", "v2")
    tab.login("operator")
    tab.go("/ui/stacks/shown")
    tab.page.click("button:has-text('Plan, then apply')")
    tab.page.wait_for_selector("h1:has-text('Plan of')")
    assert '"v1" → "v2"' in tab.page.inner_text("main")
    tab.accessible()
    tab.page.click("button:has-text('Apply this plan')")
    tab.page.wait_for_url("**/ui/runs/*")
    assert (directory / "live" / "page.html").read_text() == "v2"
    tab.clean()


def test_a_plan_that_changed_since_it_was_shown_is_not_applied(tab: Tab, site: Site) -> None:
    """Defect 8: the Apply button planned again and applied a plan the operator never saw."""
    directory = applied(site, "moving")
    page_stack(site, "moving", "seen by the operator")
    tab.login("operator")
    tab.go("/ui/stacks/moving")
    tab.page.click("button:has-text('Plan, then apply')")
    tab.page.wait_for_selector("text=seen by the operator")
    before = run_count(site, "moving")
    page_stack(site, "moving", "pushed meanwhile")  # the specs move after the page was shown
    with tab.page.expect_response("**/apply") as answer:
        tab.page.click("button:has-text('Apply this plan')")
    assert answer.value.status == 409
    tab.problems.clear()  # the 409 itself
    text = tab.page.inner_text("main")
    assert "Not applied" in text and "the plan changed since it was shown" in text
    assert "pushed meanwhile" in text  # the fresh plan, offered instead
    assert (directory / "live" / "page.html").read_text() == "v1"
    assert run_count(site, "moving") == before
    csrf = tab.page.locator("input[name=csrf]").first.get_attribute("value") or ""
    bare = tab.page.request.post(site.base + "/ui/stacks/moving/apply", form={"csrf": csrf})
    assert bare.status == 400 and "plan first" in bare.text()
    assert (directory / "live" / "page.html").read_text() == "v1"


def test_a_lock_whose_holder_runs_is_not_broken_and_a_break_is_recorded(tab: Tab, site: Site) -> None:
    """Defect 8: "Break the lock" always forced, even under an apply still running."""
    with site.ws.transaction() as conn:
        busy = stacks_db.ensure_stack(conn, "busy", str(site.root / "stacks" / "busy"))
        locks_db.try_lock(
            conn,
            stack_id=busy.id,
            run_id="live-run",
            holder="me",
            pid=os.getpid(),
            host=site.ws.settings.hostname,
        )
    tab.login("admin")
    tab.go("/ui/admin")
    row = tab.page.locator("tr", has_text="busy")
    row.locator("input[name=confirm]").fill("busy")
    row.locator("button:has-text('Break the lock')").click()
    assert "still running" in tab.page.inner_text("[role=alert]")
    tab.problems.clear()  # the refusal
    with site.ws.transaction() as conn:
        assert locks_db.get_lock(conn, busy.id) is not None
        locks_db.release_lock(conn, busy.id, None)
        locks_db.try_lock(conn, stack_id=busy.id, run_id="dead-run", holder="ci@old", pid=2**22 + 9, host="x")
    tab.go("/ui/admin")
    row = tab.page.locator("tr", has_text="busy")
    row.locator("input[name=confirm]").fill("busy")
    row.locator("button:has-text('Break the lock')").click()
    tab.page.wait_for_url("**/ui/admin")
    runs, _ = runs_page(site.ws, stack="busy", limit=50)
    broke = [r for r in runs if r["kind"] == "lock_break"]
    assert broke and broke[0]["actor"] == "token:admin-person", runs
    tab.clean()


def test_a_stack_page_leaves_no_plugin_running(tab: Tab, site: Site) -> None:
    """Issue 23, item 20: ``serve`` kept a plugin process running for minutes after one page view."""
    from driftgate.testing.cli import DRIFTGATE
    from driftgate.testing.stacks import data_values
    from tests.plugin.fakes import running_plugins, script

    directory = site.root / "stacks" / "plugged"
    directory.mkdir(parents=True)
    script(
        directory, "plugin", f"import os; os.execv({DRIFTGATE!r}, [{DRIFTGATE!r}, 'plugin', 'serve', 'data'])"
    )
    write_stack(
        directory, name="plugged", modules={"app": data_values(2)}, providers={"data": {"plugin": "./plugin"}}
    )
    with site.ws.run() as running:
        outcome = apply_stack(running, ApplyRequest(directory, gate=GateRequest("auto"), commit_back=False))
    assert outcome.report is not None and outcome.report.full_success
    assert running_plugins() == []
    tab.login("viewer")
    tab.go("/ui/stacks/plugged")
    assert "app/data.value.v0" in tab.page.inner_text("main")
    assert running_plugins() == []  # the page's plugin stopped when the page was done
    tab.clean()


def test_an_admin_adds_a_config_repo_with_its_webhook_secret_then_removes_it(tab: Tab, site: Site) -> None:
    """Issue 23, item 18: the add form had no webhook-secret field, and a repo could not be removed."""
    from driftgate.services.proposals import config_repos
    from driftgate.testing.dashboard import FORGE_ENV

    url = site.forge.create_repo("extra", {"x.yaml": "x: 1\n"})
    tab.login("admin")
    tab.go("/ui/admin")
    tab.page.fill("#repo-name", "extra")
    tab.page.fill("#repo-url", url)
    tab.page.fill("#repo-auth", f"secret://env/{FORGE_ENV}")
    tab.page.fill("#repo-hook", f"secret://env/{FORGE_ENV}")
    tab.page.select_option("#repo-forge", "github")
    tab.page.click("button:has-text('Add the config repo')")
    tab.page.wait_for_selector("th:has-text('extra')")
    (added,) = [r for r in config_repos.list_page(site.ws, after=0, limit=50)[0] if r["name"] == "extra"]
    assert added["webhook_secret_ref"] == f"secret://env/{FORGE_ENV}"
    tab.accessible()
    row = tab.page.locator("tr", has_text="extra")
    row.locator("summary:has-text('Change')").click()
    row.locator("input[name=confirm]").fill("extra")
    row.locator("button:has-text('Remove')").click()
    tab.page.wait_for_url("**/ui/admin")
    assert [r for r in config_repos.list_page(site.ws, after=0, limit=50)[0] if r["name"] == "extra"] == []
    tab.clean()


def test_the_drift_status_is_the_latest_check_and_a_failed_check_shows_failed(tab: Tab, site: Site) -> None:
    """Issue 23, item 8: a failed scan showed "✔ succeeded"/"in sync", `driftgate drift` runs were
    never shown ("? not checked"), and an old "✖ N drifted" stayed after the drift was fixed."""
    from driftgate.services.drift.reconcile import reconcile
    from driftgate.services.drift.scan import scan_drift

    directory = applied(site, "checked")
    tab.login("operator")
    tab.go("/ui/stacks/checked")
    assert "? not checked" in tab.page.inner_text("main")
    (directory / "live" / "page.html").write_text("by hand")
    with site.ws.run() as running:
        assert scan_drift(running, directory).items  # `driftgate drift`, as the CLI runs it
    tab.go("/ui/stacks/checked")
    assert "✖ 1 drifted" in tab.page.inner_text("main")
    (directory / "live" / "page.html").write_text("v1")  # fixed by hand
    with site.ws.run() as running:
        assert not scan_drift(running, directory).items
    tab.go("/ui/stacks/checked")
    assert "in sync" in tab.page.inner_text("main") and "drifted" not in tab.page.inner_text("main")

    secret = "secret://env/DRIFTGATE_SECRET_DRIFT_CHECK"
    spec = {"path": "page.html", "content": secret}
    write_stack(
        directory,
        name="checked",
        modules={"web": [{"type": "file.file", "name": "page", "spec": spec}]},
        providers={"file": {"root": "live"}},
    )
    os.environ["DRIFTGATE_SECRET_DRIFT_CHECK"] = "v2 from a secret"
    try:
        with site.ws.run() as running:
            request = ApplyRequest(directory, gate=GateRequest("auto"), commit_back=False)
            done = apply_stack(running, request)
        assert done.report is not None and done.report.full_success
    finally:
        del os.environ["DRIFTGATE_SECRET_DRIFT_CHECK"]  # the recorded secret can no longer be read
    with site.ws.run() as running:
        run_id, _ = reconcile(running, directory)
    tab.go("/ui/stacks/checked")
    assert "✖ check failed" in tab.page.inner_text("main")
    tab.go(f"/ui/runs/{run_id}")
    assert "✖ failed" in tab.page.inner_text("main")
    tab.clean()
