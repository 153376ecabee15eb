"""Commit-back to a pull request on the local forge, and the token audit of the git half."""

from __future__ import annotations

import base64
from collections.abc import Iterator
from pathlib import Path

import pytest

from driftgate.gitops.clones import clone_dir
from driftgate.localforge import Fault, LocalForge
from driftgate.services.stacks.commitback import CommitBackResult, commit_back
from driftgate.services.stacks.session import apply_session
from driftgate.services.workspace import Workspace
from driftgate.testing.audit import ArgvWatcher
from driftgate.testing.gitrepos import git
from driftgate.testing.stacks import write_stack

TOKEN = "ghp_" + "Q7" * 18
BRANCH = "driftgate/commit-back/site"


@pytest.fixture
def forge(tmp_path: Path) -> Iterator[LocalForge]:
    with LocalForge(tmp_path / "forge", token=TOKEN) as running:
        running.create_repo("infra", {"stacks/site/README.md": "site stack\n"})
        yield running


def authored(
    tmp_path: Path, forge: LocalForge, content: str, *, token_file: str = "forge-token", kind: str = ""
) -> Path:
    d = write_stack(
        tmp_path / "src",
        name="site",
        modules={
            "web": [{"type": "file.file", "name": "index", "spec": {"path": "i.txt", "content": content}}]
        },
    )
    text = (d / "stack.yaml").read_text() + (
        "commit_back:\n  target: pull-request\n"
        f"  remote: {forge.repo_url('infra')}\n  branch: main\n  path: stacks/site\n"
        f"  auth: secret://file/{token_file}\n" + (f"  forge: {kind}\n" if kind else "")
    )
    (d / "stack.yaml").write_text(text)
    (tmp_path / "secrets").mkdir(exist_ok=True)
    (tmp_path / "secrets" / "forge-token").write_text(TOKEN + "\n")
    return d


def apply_and_commit(ws: Workspace, source: Path) -> CommitBackResult:
    with apply_session(ws, source) as session:
        report = session.execute()
    assert report.full_success
    return commit_back(
        ws, session.planned.stack, run_id=report.run_id, plan=report.plan, result=report.result
    )


def test_pull_request_target_opens_then_updates_one_pr(
    ws: Workspace, tmp_path: Path, forge: LocalForge
) -> None:
    main_before = forge.branch_sha("infra", "main")
    first = apply_and_commit(ws, authored(tmp_path, forge, "v1"))
    assert first.committed and first.pr_url and not first.state_diverged
    assert forge.branch_sha("infra", "main") == main_before  # main is for people to merge into
    assert "content: v1" in forge.show("infra", BRANCH, "stacks/site/modules/web.yaml")
    (pr,) = forge.pulls["infra"].values()
    assert (pr.base, pr.head, pr.state) == ("main", BRANCH, "open") and "secret://" in pr.body

    second = apply_and_commit(ws, authored(tmp_path, forge, "v2"))
    assert second.committed and second.pr_url == first.pr_url
    assert len(forge.pulls["infra"]) == 1 and len(pr.comments) == 1
    assert "content: v2" in forge.show("infra", BRANCH, "stacks/site/modules/web.yaml")
    assert git(forge.repo_path("infra"), "merge-base", "--is-ancestor", str(first.commit), BRANCH) == ""

    third = apply_and_commit(ws, authored(tmp_path, forge, "v2"))
    assert not third.committed and third.reason == "no-changes" and len(pr.comments) == 1


def test_forge_failure_during_pr_creation_diverges_then_converges(
    ws: Workspace, tmp_path: Path, forge: LocalForge, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr("driftgate.forge.retry.time.sleep", lambda _s: None)
    forge.inject(Fault("POST /repos/*/pulls", status=502, times=3))
    source = authored(tmp_path, forge, "v1")
    failed = apply_and_commit(ws, source)
    assert failed.state_diverged and not failed.committed and "502" in (failed.reason or "")
    assert forge.pulls["infra"] == {}
    from driftgate.services.stacks.commitback_runs import recommit

    _, again = recommit(ws, source)
    assert again.pr_url and not again.state_diverged
    assert len(forge.pulls["infra"]) == 1


def test_wrong_token_is_reported_without_the_token(ws: Workspace, tmp_path: Path, forge: LocalForge) -> None:
    source = authored(tmp_path, forge, "v1")
    wrong = "ghp_" + "W" * 36
    (tmp_path / "secrets" / "forge-token").write_text(wrong)
    with ArgvWatcher() as watcher:
        result = apply_and_commit(ws, source)
    assert result.state_diverged and wrong not in repr(result)
    assert not any(wrong in line for line in watcher.seen)


@pytest.mark.parametrize("kind", ["github", "gitea", "forgejo", "gitlab"])
def test_token_never_in_argv_config_files_or_results(ws: Workspace, tmp_path: Path, kind: str) -> None:
    with LocalForge(tmp_path / "forge", token=TOKEN, kind=kind) as forge:
        forge.create_repo("infra", {"stacks/site/README.md": "site stack\n"})
        _audit_tokens(ws, tmp_path, forge, kind)


def _audit_tokens(ws: Workspace, tmp_path: Path, forge: LocalForge, kind: str) -> None:
    forms = {
        TOKEN,
        base64.b64encode(TOKEN.encode()).decode(),
        base64.b64encode(f"x-access-token:{TOKEN}".encode()).decode(),
        base64.b64encode(f"oauth2:{TOKEN}".encode()).decode(),  # GitLab's user name over HTTPS
    }
    with ArgvWatcher() as watcher:
        result = apply_and_commit(ws, authored(tmp_path, forge, "v1", kind=kind))
    assert result.pr_url, result
    assert result.committed
    git_lines = [line for line in watcher.seen if "git" in line]
    assert any("push" in line or "receive-pack" in line for line in git_lines), "the watcher must see git run"
    for line in watcher.seen:
        assert not any(f in line for f in forms), line
    clone = clone_dir(ws.settings.home / "clones", forge.repo_url("infra"))
    for path in clone.rglob("*"):
        if path.is_file():
            data = path.read_bytes()
            assert not any(f.encode() in data for f in forms), path
    from driftgate.services.stacks import history
    from driftgate.services.stacks.commitback import record_commit_back

    record_commit_back(ws, history.list_runs(ws)[0]["id"], result)
    stored = repr(history.list_runs(ws)) + repr(history.show_run(ws, history.list_runs(ws)[0]["id"]))
    stored += repr(history.list_state(ws, "site"))
    everything = stored + repr(result) + git(forge.repo_path("infra"), "log", "--all", "--format=%B")
    everything += "".join(repr(pr.__dict__) for pr in forge.pulls["infra"].values())
    assert not any(f in everything for f in forms)


def test_push_rejected_by_the_forge_diverges(ws: Workspace, tmp_path: Path, forge: LocalForge) -> None:
    forge.inject(Fault("POST /driftgate/infra.git/git-receive-pack", status=403, times=5))
    result = apply_and_commit(ws, authored(tmp_path, forge, "v1"))
    assert result.state_diverged and "push failed" in (result.reason or "")
    assert forge.branch_sha("infra", BRANCH) is None and forge.pulls["infra"] == {}


@pytest.mark.parametrize(
    ("kind", "named", "pr_path"),
    [
        ("gitea", True, "pulls"),
        ("forgejo", True, "pulls"),
        ("gitlab", True, "-/merge_requests"),
        ("gitlab", False, "-/merge_requests"),  # not named: the host's API says it is GitLab
        ("forgejo", False, "pulls"),
    ],
)
def test_commit_back_opens_a_pull_request_on_gitea_forgejo_and_gitlab(
    ws: Workspace, tmp_path: Path, kind: str, named: bool, pr_path: str
) -> None:
    with LocalForge(tmp_path / "forge", token=TOKEN, kind=kind) as forge:
        forge.create_repo("infra", {"stacks/site/README.md": "site stack\n"})
        first = apply_and_commit(ws, authored(tmp_path, forge, "v1", kind=kind if named else ""))
        assert first.committed and first.pr_url and not first.state_diverged
        assert first.pr_url.startswith(f"{forge.base}/driftgate/infra/{pr_path}/")
        (pr,) = forge.pulls["infra"].values()
        assert (pr.base, pr.head, pr.state) == ("main", BRANCH, "open")
        second = apply_and_commit(ws, authored(tmp_path, forge, "v2", kind=kind))
        assert second.pr_url == first.pr_url and len(pr.comments) == 1  # the same PR, told of the update
        assert "content: v2" in forge.show("infra", BRANCH, "stacks/site/modules/web.yaml")
