"""Reconcile: drift → approximate snapshot → draft branch or draft PR; heal; ignore."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest

from driftgate.cli import exitcodes as codes
from driftgate.cli.app import main
from driftgate.drift.snapshot import HEADER, PLACEHOLDER
from driftgate.localforge import Fault, LocalForge
from driftgate.services.drift.reconcile import reconcile
from driftgate.services.stacks import history
from driftgate.services.stacks.identity import move_stack
from driftgate.services.stacks.session import apply_session
from driftgate.services.workspace import Workspace
from driftgate.testing.gitrepos import git, make_remote
from driftgate.testing.stacks import write_stack

TOKEN = "ghp_" + "D1" * 18
BRANCH = "driftgate/drift/site"


def site(
    tmp_path: Path,
    remote_url: str,
    *,
    target: str = "branch-push",
    heal: bool = False,
    ignore: bool = False,
    forge: str = "",
) -> Path:
    d = write_stack(
        tmp_path / "site",
        name="site",
        modules={
            "web": [
                {
                    "type": "file.file",
                    "name": "page",
                    "spec": {"path": "index.html", "content": "<h1>hi</h1>"},
                },
                {
                    "type": "file.file",
                    "name": "token",
                    "spec": {"path": "token.txt", "content": "secret://env/SITE_KEY"},
                },
            ],
            "ops": [{"type": "file.file", "name": "cfg", "spec": {"path": "ops.cfg", "content": "a=1"}}],
        },
    )
    ops = d / "modules" / "ops.yaml"
    if heal or ignore:
        ops.write_text(
            ops.read_text().replace(
                "stateful: false", f"stateful: false\ndrift: {'heal' if heal else 'ignore'}"
            )
        )
    (d / "stack.yaml").write_text(
        (d / "stack.yaml").read_text()
        + (
            f"commit_back:\n  target: {target}\n  remote: {remote_url}\n  branch: main\n  path: .\n"
            "  auth: secret://file/forge-token\n" + (f"  forge: {forge}\n" if forge else "")
        )
    )
    (tmp_path / "secrets").mkdir(exist_ok=True)
    (tmp_path / "secrets" / "forge-token").write_text(TOKEN)
    return d


@pytest.fixture(autouse=True)
def _site_key(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SITE_KEY", "the-live-site-key-value")


def applied(ws: Workspace, d: Path) -> Path:
    with apply_session(ws, d) as session:
        assert session.execute().full_success
    return d / "live"


def test_no_drift_no_draft(ws: Workspace, tmp_path: Path) -> None:
    remote = make_remote(tmp_path)
    d = site(tmp_path, remote.url)
    applied(ws, d)
    _, result = reconcile(ws, d)
    assert result.to_dict() == {"draft": False}
    assert not remote.has_branch(BRANCH) and remote.pushes() == []


def test_draft_branch_with_an_honest_snapshot(ws: Workspace, tmp_path: Path) -> None:
    remote = make_remote(tmp_path)
    main_before = remote.head()
    d = site(tmp_path, remote.url)
    live = applied(ws, d)
    (live / "index.html").write_text("<h1>hotfixed by hand</h1>")
    (live / "token.txt").write_text("rotated-by-hand-secret")
    (live / "ops.cfg").unlink()
    (live / "stray.conf").write_text("x=1")
    (live / "blob.bin").write_bytes(b"\xff\xfe BLOBMARK")
    run_id, result = reconcile(ws, d)
    assert result.draft and result.branch == BRANCH and result.drifted == 5
    assert result.warning and "approximate" in result.warning
    assert remote.head() == main_before  # drafts never touch main
    web = remote.show("modules/web.yaml", BRANCH)
    assert web.splitlines()[0] == HEADER and run_id in web.splitlines()[1]
    assert "content: <h1>hotfixed by hand</h1>" in web
    assert "content: secret://env/SITE_KEY" in web  # the reference stays; the secret is not imported
    ops = remote.show("modules/ops.yaml", BRANCH)
    assert "deleted out of band: ops/file.file.cfg" in ops and "ops.cfg" not in ops.split("deleted")[0]
    unmanaged = remote.show("modules/unmanaged.yaml", BRANCH)
    assert unmanaged.startswith(HEADER) and "path: stray.conf" in unmanaged
    assert f"content: '{PLACEHOLDER}'" in unmanaged and "BLOBMARK" not in unmanaged
    everything = git(remote.path, "log", "-p", "--all") + json.dumps(history.show_run(ws, run_id))
    for secret in ("the-live-site-key-value", "rotated-by-hand-secret"):
        assert secret not in everything

    first = remote.head(BRANCH)
    _, again = reconcile(ws, d)  # same drift: the same draft, a new commit on top (no force)
    assert again.draft and again.branch == BRANCH and remote.head(BRANCH) != first
    assert git(remote.path, "merge-base", "--is-ancestor", first, BRANCH) == ""


@pytest.fixture
def forge(tmp_path: Path) -> Iterator[LocalForge]:
    with LocalForge(tmp_path / "forge", token=TOKEN) as running:
        running.create_repo("infra")
        yield running


def test_draft_pull_request_is_updated_then_told_when_drift_is_gone(
    ws: Workspace, tmp_path: Path, forge: LocalForge
) -> None:
    d = site(tmp_path, forge.repo_url("infra"), target="pull-request")
    live = applied(ws, d)
    (live / "index.html").write_text("drifted")
    _, first = reconcile(ws, d)
    assert first.draft and first.pr_url
    (pr,) = forge.pulls["infra"].values()
    assert pr.draft and pr.head == BRANCH and "approximate" in pr.body
    assert "the-live-site-key-value" not in pr.body
    _, second = reconcile(ws, d)
    assert second.pr_url == first.pr_url and len(forge.pulls["infra"]) == 1 and len(pr.comments) == 1
    (live / "index.html").write_text("<h1>hi</h1>")
    _, gone = reconcile(ws, d)
    assert (
        not gone.draft
        and gone.resolved_comment
        and "drift this draft describes is gone" in pr.comments[-1]["body"]
    )


@pytest.mark.parametrize(
    ("kind", "marker"), [("gitea", "WIP: "), ("forgejo", "WIP: "), ("gitlab", "Draft: ")]
)
def test_a_draft_pull_request_on_gitea_forgejo_and_gitlab(
    ws: Workspace, tmp_path: Path, kind: str, marker: str
) -> None:
    with LocalForge(tmp_path / "forge", token=TOKEN, kind=kind) as gitea:
        gitea.create_repo("infra")
        d = site(tmp_path, gitea.repo_url("infra"), target="pull-request", forge=kind)
        live = applied(ws, d)
        (live / "index.html").write_text("drifted")
        _, first = reconcile(ws, d)
        assert first.draft and first.pr_url, first
        (pr,) = gitea.pulls["infra"].values()
        assert pr.draft and pr.title.startswith(marker) and pr.head == BRANCH  # the forge's draft marker
        _, second = reconcile(ws, d)
        assert second.pr_url == first.pr_url and len(gitea.pulls["infra"]) == 1
        (live / "index.html").write_text("<h1>hi</h1>")
        _, gone = reconcile(ws, d)
        assert gone.resolved_comment and "drift this draft describes is gone" in pr.comments[-1]["body"]


def test_forge_failure_is_state_diverged_never_a_claimed_draft(
    ws: Workspace, tmp_path: Path, forge: LocalForge, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr("driftgate.forge.retry.time.sleep", lambda _s: None)
    d = site(tmp_path, forge.repo_url("infra"), target="pull-request")
    live = applied(ws, d)
    (live / "index.html").write_text("drifted")
    forge.inject(Fault("POST /repos/*/pulls", status=503, times=3))
    run_id, result = reconcile(ws, d)
    assert result.to_dict()["draft"] is False and result.state_diverged and "503" in (result.reason or "")
    assert history.show_run(ws, run_id)["status"] == "diverged"


def test_heal_and_ignore_policies(ws: Workspace, tmp_path: Path) -> None:
    remote = make_remote(tmp_path)
    d = site(tmp_path, remote.url, heal=True)
    live = applied(ws, d)
    (live / "ops.cfg").write_text("a=999")
    _, result = reconcile(ws, d)
    assert result.healed == ["ops/file.file.cfg"] and not result.draft
    assert (live / "ops.cfg").read_text() == "a=1"  # put back by the auto lane

    d2 = site(tmp_path / "two", make_remote(tmp_path / "two").url, ignore=True)
    move_stack(ws, ws.load_stack(d2))  # the same name from another repo: moved on purpose (issue 8)
    live2 = applied(ws, d2)
    (live2 / "ops.cfg").write_text("a=2")
    _, ignored = reconcile(ws, d2)
    assert ignored.ignored == ["ops/file.file.cfg"] and not ignored.draft
    assert (live2 / "ops.cfg").read_text() == "a=2"


def test_reconcile_cli(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("DRIFTGATE_SECRETS_DIR", str(tmp_path / "secrets"))
    remote = make_remote(tmp_path)
    d = site(tmp_path, remote.url)
    assert main(["apply", "-s", str(d), "--auto-approve", "--no-commit-back"]) == 0
    capsys.readouterr()
    assert main(["reconcile", "-s", str(d)]) == codes.OK
    (d / "live/index.html").write_text("x")
    assert main(["reconcile", "-s", str(d)]) == codes.CHANGES
    assert "draft at branch driftgate/drift/site" in capsys.readouterr().out
    remote.reject()
    (d / "live/index.html").write_text("y")
    assert main(["reconcile", "-s", str(d), "--json"]) == codes.DIVERGED
    assert json.loads(capsys.readouterr().out)["state_diverged"] is True
