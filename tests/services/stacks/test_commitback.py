"""Commit-back end to end against real bare remotes; assertions are on the remote."""

from __future__ import annotations

import threading
from pathlib import Path
from typing import Any

import pytest

from driftgate.apply.result import ActionOutcome, ActionStatus, ApplyResult
from driftgate.cli import exitcodes as codes
from driftgate.cli.app import main
from driftgate.errors import SpecError
from driftgate.gitops.gitcmd import is_driftgate_commit
from driftgate.services.stacks import history
from driftgate.services.stacks.commitback import Overrides, commit_back
from driftgate.services.stacks.commitback_runs import recommit
from driftgate.services.stacks.session import apply_session, plan_stack
from driftgate.services.workspace import Workspace
from driftgate.testing.gitrepos import Remote, git, human_commit, make_remote
from driftgate.testing.stacks import write_stack


def module(content: str, *, name: str = "web") -> dict[str, list[dict[str, Any]]]:
    return {
        name: [{"type": "file.file", "name": "index", "spec": {"path": f"{name}.txt", "content": content}}]
    }


def stack_files(
    tmp_path: Path, modules: dict[str, list[dict[str, Any]]], *, name: str = "site"
) -> dict[str, str]:
    d = write_stack(tmp_path / f"render-{name}", name=name, modules=modules)
    return {str(p.relative_to(d)): p.read_text() for p in d.rglob("*.yaml")}


@pytest.fixture
def remote(tmp_path: Path) -> Remote:
    files = {f"stacks/site/{k}": v for k, v in stack_files(tmp_path, module("v1")).items()}
    return make_remote(tmp_path, files=files)


def authored_elsewhere(tmp_path: Path, content: str, **extra: Any) -> Path:
    """Specs written outside git (the reason commit-back exists)."""
    d = write_stack(tmp_path / "elsewhere", name="site", modules=module(content))
    if extra:
        text = (
            (d / "stack.yaml").read_text()
            + "commit_back:\n"
            + "".join(f"  {k}: {v}\n" for k, v in extra.items())
        )
        (d / "stack.yaml").write_text(text)
    return d


def apply_from(ws: Workspace, directory: Path, remote: Remote, **kwargs: Any) -> Any:
    # the run names its config repo: the stack's identity follows it, as commit-back does
    with apply_session(ws, directory, remote=remote.url, path="stacks/site") as session:
        report = session.execute()
    overrides = Overrides(remote=remote.url, branch="main", path="stacks/site", **kwargs)
    return report, commit_back(
        ws,
        session.planned.stack,
        run_id=report.run_id,
        plan=report.plan,
        result=report.result,
        overrides=overrides,
    )


def test_direct_apply_then_commit_back_makes_git_match(ws: Workspace, tmp_path: Path, remote: Remote) -> None:
    source = authored_elsewhere(tmp_path, "secret://env/SITE_TOKEN")
    (tmp_path / "secrets").mkdir(exist_ok=True)
    import os

    os.environ["SITE_TOKEN"] = "very-secret-value"
    try:
        report, result = apply_from(ws, source, remote)
    finally:
        del os.environ["SITE_TOKEN"]
    assert report.full_success and result.committed and not result.state_diverged
    assert remote.head() == result.commit
    committed = remote.show("stacks/site/modules/web.yaml")
    assert "content: secret://env/SITE_TOKEN" in committed  # verbatim, never expanded
    assert "very-secret-value" not in git(remote.path, "log", "-p", "--all")
    message = git(remote.path, "log", "-1", "--format=%B", "main")
    assert is_driftgate_commit(message) and report.run_id in message
    assert (
        git(remote.path, "log", "-1", "--format=%an <%ae>", "main").strip()
        == "driftgate <driftgate@localhost>"
    )


def test_no_changes_means_no_commit(ws: Workspace, tmp_path: Path, remote: Remote) -> None:
    source = authored_elsewhere(tmp_path, "v1")
    before = remote.head()
    _, result = apply_from(ws, source, remote)
    assert not result.committed and result.reason == "no-changes"
    assert remote.head() == before and remote.pushes() == []


def test_comments_survive_when_nothing_changed_in_substance(
    ws: Workspace, tmp_path: Path, remote: Remote
) -> None:
    source = authored_elsewhere(tmp_path, "v2")
    apply_from(ws, source, remote)
    commented = "# kept by people\n" + remote.show("stacks/site/modules/web.yaml")
    seed = tmp_path / "people"
    git(tmp_path, "clone", "-q", remote.url, str(seed))
    (seed / "stacks/site/modules/web.yaml").write_text(commented)
    git(seed, "commit", "-qam", "add a comment")
    git(seed, "push", "-q", "origin", "HEAD:main")
    _, again = apply_from(ws, source, remote)
    assert again.reason == "no-changes"
    assert remote.show("stacks/site/modules/web.yaml").startswith("# kept by people")


def test_partial_apply_does_not_commit(ws: Workspace, tmp_path: Path, remote: Remote) -> None:
    source = write_stack(
        tmp_path / "partial",
        name="site",
        providers={"chaos": {"root": "live", "fail_on": ["bad"]}},
        modules={"web": [{"type": "chaos.file", "name": "bad", "spec": {"path": "x"}}]},
    )
    before = remote.head()
    report, result = apply_from(ws, source, remote)
    assert not report.full_success
    assert result.to_dict() == {
        "committed": False,
        "reason": "partial-apply",
        "state_diverged": False,
        "pushed_pending": 0,
    }
    assert remote.head() == before


def test_short_or_missing_action_count_is_not_full_success(
    ws: Workspace, tmp_path: Path, remote: Remote
) -> None:
    stack = ws.load_stack(authored_elsewhere(tmp_path, "v9"))
    plan = plan_stack(ws, stack.directory).plan
    ok = ActionOutcome(index=0, address="web/file.file.index", action="update", status=ActionStatus.SUCCESS)
    for result in (ApplyResult(actions=(ok,), action_count=2), ApplyResult(actions=(ok,), action_count=None)):
        outcome = commit_back(
            ws,
            stack,
            run_id="r",
            plan=plan,
            result=result,
            overrides=Overrides(remote=remote.url, path="stacks/site"),
        )
        assert outcome.reason == "partial-apply" and not outcome.committed
    assert "v9" not in remote.show("stacks/site/modules/web.yaml")


def test_git_failure_after_apply_diverges_and_a_rerun_converges(
    ws: Workspace, tmp_path: Path, remote: Remote, monkeypatch: pytest.MonkeyPatch
) -> None:
    source = authored_elsewhere(tmp_path, "v2", remote=remote.url, path="stacks/site", branch="main")
    remote.reject()
    report, result = apply_from(ws, source, remote)
    assert report.full_success
    assert result.state_diverged and not result.committed and "push failed" in (result.reason or "")
    assert "v2" not in remote.show("stacks/site/modules/web.yaml")

    remote.reject(False)
    from driftgate.services.stacks.commitback import record_commit_back

    record_commit_back(ws, report.run_id, result)
    assert history.show_run(ws, report.run_id)["status"] == "diverged"
    run_id, again = recommit(ws, source)
    assert run_id == report.run_id
    assert again.pushed_pending == 1 and again.reason == "no-changes"  # the earlier commit, pushed now
    assert "content: v2" in remote.show("stacks/site/modules/web.yaml")
    assert sum(1 for s in remote.log() if s.startswith("driftgate: commit back")) == 1
    assert history.show_run(ws, report.run_id)["status"] == "succeeded"
    _, third = recommit(ws, source)
    assert third.reason == "no-changes" and third.pushed_pending == 0


def test_recommit_refuses_specs_that_were_not_applied(ws: Workspace, tmp_path: Path, remote: Remote) -> None:
    source = authored_elsewhere(tmp_path, "v2", remote=remote.url, path="stacks/site")
    apply_from(ws, source, remote)
    authored_elsewhere(tmp_path, "v3-not-applied", remote=remote.url, path="stacks/site")
    with pytest.raises(Exception, match="not what was applied"):
        recommit(ws, source)


@pytest.mark.parametrize("same_host", [True, False], ids=["one-host", "two-hosts"])
def test_two_commit_backs_to_one_repo_are_serialized_and_both_land(
    tmp_path: Path, remote: Remote, same_host: bool
) -> None:
    from tests.conftest import open_workspace

    results: dict[str, Any] = {}

    def run(name: str) -> None:
        home = tmp_path / ("home" if same_host else f"home-{name}")  # one host shares the clone cache
        ws = open_workspace(home, secrets_dir=tmp_path / "secrets")
        source = write_stack(tmp_path / f"src-{name}", name=name, modules=module(f"from {name}", name=name))
        with apply_session(ws, source, remote=remote.url, path=f"stacks/{name}") as session:
            report = session.execute()
        results[name] = commit_back(
            ws,
            session.planned.stack,
            run_id=report.run_id,
            plan=report.plan,
            result=report.result,
            overrides=Overrides(remote=remote.url, branch="main", path=f"stacks/{name}"),
        )
        ws.close()

    # One host: the clone-cache lock serializes them. Two hosts: the loser's push is rejected,
    # and the seal replays its commit on the new tip and pushes again.
    threads = [threading.Thread(target=run, args=(n,)) for n in ("alpha", "beta")]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(results) == ["alpha", "beta"]
    assert all(r.committed for r in results.values()), results
    assert "from alpha" in remote.show("stacks/alpha/modules/alpha.yaml")
    assert "from beta" in remote.show("stacks/beta/modules/beta.yaml")
    assert git(remote.path, "rev-list", "--count", "--merges", "main").strip() == "0"


def test_unknown_target_is_a_configuration_error_at_load_time(ws: Workspace, tmp_path: Path) -> None:
    source = authored_elsewhere(tmp_path, "v1", target="carrier-pigeon")
    with pytest.raises(SpecError, match="commit_back.target"):
        ws.load_stack(source)


def test_cli_apply_from_exit_codes_and_loop_guard(
    tmp_path: Path, remote: Remote, capsys: pytest.CaptureFixture[str]
) -> None:
    source = authored_elsewhere(tmp_path, "v5")
    assert main(["apply", "--from", str(source), "--auto-approve"]) == codes.ERROR
    assert "not in a git repository" in capsys.readouterr().err

    args = ["apply", "--from", str(source), "--auto-approve", "--repo", remote.url, "--branch", "main"]
    remote.reject()
    assert main(args) == codes.DIVERGED
    assert "STATE DIVERGED" in capsys.readouterr().out
    remote.reject(False)
    clone = tmp_path / "work"
    git(tmp_path, "clone", "-q", remote.url, str(clone))
    assert main(["loop-guard", "-s", str(clone)]) == 1  # human seed commit: go ahead
    assert main(["commit-back", "-s", str(source), "--repo", remote.url, "--branch", "main"]) == codes.OK
    git(clone, "pull", "-q")
    assert main(["loop-guard", "-s", str(clone)]) == 0  # our own commit-back: skip


def _stuck_after_a_conflict(
    ws: Workspace, tmp_path: Path, remote: Remote, *, in_stack_yaml: bool = False
) -> Path:
    """driftgate's commit of v2 is unpushed; meanwhile a person pushed v3 to the same file."""
    extra = {"remote": remote.url, "path": "stacks/site", "branch": "main"} if in_stack_yaml else {}
    source = authored_elsewhere(tmp_path, "v2", **extra)
    remote.reject()
    report, result = apply_from(ws, source, remote)
    assert report.full_success and result.state_diverged
    remote.reject(False)
    theirs = stack_files(tmp_path, module("v3-by-a-person"))["modules/web.yaml"]
    human_commit(remote, tmp_path, {"stacks/site/modules/web.yaml": theirs})
    return source


def test_a_conflict_names_the_repair_and_adopting_the_remote_value_unsticks_it(
    ws: Workspace, tmp_path: Path, remote: Remote
) -> None:
    """Issue 8, defect 22: the cache is never left in a state the CLI cannot repair."""
    to_remote = Overrides(remote=remote.url, branch="main", path="stacks/site")
    source = _stuck_after_a_conflict(ws, tmp_path, remote)
    for _ in range(2):  # stuck, but saying how to get out, every time
        _, stuck = recommit(ws, source, overrides=to_remote)
        assert stuck.state_diverged and "conflict" in (stuck.reason or "")
        assert "stacks/site/modules/web.yaml" in (stuck.reason or "")
        assert "driftgate commit-back --rebuild" in (stuck.reason or "")

    adopted = authored_elsewhere(tmp_path, "v3-by-a-person")
    with apply_session(ws, adopted, remote=remote.url, path="stacks/site") as session:
        assert session.execute().full_success
    before = remote.head()
    _, settled = recommit(ws, adopted, overrides=to_remote)
    assert settled.to_dict() == {
        "committed": False,
        "reason": "already-in-remote",
        "state_diverged": False,
        "branch": "main",
        "target": "branch-push",
        "pushed_pending": 0,
    }
    assert remote.head() == before and "v3-by-a-person" in remote.show("stacks/site/modules/web.yaml")
    _, again = recommit(ws, adopted, overrides=to_remote)  # and the cache is healthy from then on
    assert again.reason == "no-changes" and not again.state_diverged


def test_adopting_their_value_keeps_the_rest_of_the_applied_specs(
    ws: Workspace, tmp_path: Path, remote: Remote
) -> None:
    """Their file now agrees; another file (stack.yaml) still differs: committed on their tip."""
    extra = {"remote": remote.url, "path": "stacks/site", "branch": "main"}
    _stuck_after_a_conflict(ws, tmp_path, remote, in_stack_yaml=True)
    theirs = remote.head()
    adopted = authored_elsewhere(tmp_path, "v3-by-a-person", **extra)
    with apply_session(ws, adopted) as session:
        assert session.execute().full_success
    _, settled = recommit(ws, adopted)
    assert settled.committed and not settled.state_diverged
    assert "v3-by-a-person" in remote.show("stacks/site/modules/web.yaml")
    assert "commit_back:" in remote.show("stacks/site/stack.yaml")
    assert git(remote.path, "merge-base", "--is-ancestor", theirs, "main") == ""


def test_commit_back_rebuild_commits_the_applied_specs_on_the_remote_tip(
    ws: Workspace,
    tmp_path: Path,
    remote: Remote,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    source = _stuck_after_a_conflict(ws, tmp_path, remote, in_stack_yaml=True)
    theirs = remote.head()
    monkeypatch.setenv("DRIFTGATE_HOME", str(ws.settings.home))
    if ws.settings.database_url:
        monkeypatch.setenv("DRIFTGATE_DATABASE_URL", ws.settings.database_url)
    monkeypatch.setenv("DRIFTGATE_SECRETS_DIR", str(ws.settings.effective_secrets_dir))
    common = ["commit-back", "-s", str(source)]
    assert main(common) == codes.DIVERGED
    assert "--rebuild" in capsys.readouterr().out
    assert main([*common, "--rebuild"]) == codes.OK, capsys.readouterr()
    assert "content: v2" in remote.show("stacks/site/modules/web.yaml")
    assert git(remote.path, "merge-base", "--is-ancestor", theirs, "main") == ""  # on top: nothing forced
    assert main(common) == codes.OK
