"""The local forge as a GitHub stand-in, driven by PyGithub (a real client nobody here wrote).

Every answer the forge gave during a test is then validated against GitHub's published OpenAPI
description (``@octokit/openapi``), and no URL in any answer may name another host: a client that
follows one must never send the forge's token anywhere else.
"""

from __future__ import annotations

import re
import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest
from github import Auth, Github, GithubException

from driftgate.gitops.gitcmd import Credential, run_git
from driftgate.localforge import LocalForge
from tests.forge.contract import has_json_body, validate_response

TOKEN = "ghp_" + "C" * 36


@pytest.fixture
def forge(tmp_path: Path) -> Iterator[LocalForge]:
    with LocalForge(tmp_path / "forge", token=TOKEN) as running:
        running.create_repo("infra", {"README.md": "hello\n", "app/config.yaml": "replicas: 1\n"})
        yield running
        _every_answer_fits_github(running)


@pytest.fixture
def gh(forge: LocalForge) -> Iterator[Github]:
    client = Github(base_url=forge.api_url, auth=Auth.Token(TOKEN), retry=None)
    yield client
    client.close()


def _every_answer_fits_github(forge: LocalForge) -> None:
    host = urlsplit(forge.base).netloc
    for answer in forge.recorded_answers():
        where = f"{answer.method} {answer.route} -> {answer.status}"
        if not answer.route:  # a path the forge has no route for: GitHub's plain 404
            assert answer.status == 404, f"an answer without a route: {answer}"
            continue
        if answer.body is not None and has_json_body(answer.route, answer.method, answer.status):
            validate_response(answer.route, answer.method, answer.status, answer.body)
        for url in (u for text in _walk(answer.body) for u in re.findall(r"[a-z+]+://[^\s{}]+", text)):
            assert urlsplit(url).netloc in (host, "docs.github.com"), f"{where}: {url} names another host"


def _push_branch(forge: LocalForge, tmp_path: Path, branch: str, files: dict[str, str]) -> str:
    url = forge.repo_url("infra")
    work = tmp_path / f"work-{branch.replace('/', '-')}"
    cred = Credential(url=url, token=TOKEN)
    run_git("clone", "-q", url, str(work), cwd=tmp_path, credential=cred)
    run_git("checkout", "-qb", branch, cwd=work)
    for rel, text in files.items():
        (work / rel).parent.mkdir(parents=True, exist_ok=True)
        (work / rel).write_text(text)
    run_git("add", "-A", cwd=work)
    run_git("commit", "-qm", f"change on {branch}", cwd=work)
    run_git("push", "-q", "origin", f"HEAD:refs/heads/{branch}", cwd=work, credential=cred)
    return run_git("rev-parse", "HEAD", cwd=work).stdout.strip()


def test_user_and_repository_come_from_the_forge(forge: LocalForge, gh: Github) -> None:
    me = gh.get_user()
    assert me.login == "driftgate" and me.type == "User"
    repo = gh.get_repo("driftgate/infra")
    assert repo.full_name == "driftgate/infra" and repo.owner.login == "driftgate"
    assert repo.default_branch == "main" and repo.permissions.push is True
    assert repo.clone_url == forge.repo_url("infra")
    assert repo.url == f"{forge.api_url}/repos/driftgate/infra"
    assert gh.get_rate_limit().resources.core.remaining == 5000
    with pytest.raises(GithubException) as missing:
        gh.get_repo("driftgate/nope")
    assert missing.value.status == 404


def test_branches_and_refs(forge: LocalForge, gh: Github, tmp_path: Path) -> None:
    sha = _push_branch(forge, tmp_path, "feature/x", {"f.txt": "f\n"})
    repo = gh.get_repo("driftgate/infra")
    assert sorted(b.name for b in repo.get_branches()) == ["feature/x", "main"]
    main = repo.get_branch("main")
    assert main.protected is True and main.commit.sha == forge.branch_sha("infra", "main")
    feature = repo.get_branch("feature/x")
    assert feature.protected is False and feature.commit.sha == sha
    assert feature.commit.commit.message == "change on feature/x"

    ref = repo.get_git_ref("heads/feature/x")  # PyGithub sends heads%2Ffeature%2Fx
    assert ref.ref == "refs/heads/feature/x" and ref.object.sha == sha
    created = repo.create_git_ref("refs/heads/copy", sha)
    assert created.ref == "refs/heads/copy" and forge.branch_sha("infra", "copy") == sha
    with pytest.raises(GithubException) as exists:
        repo.create_git_ref("refs/heads/copy", sha)
    assert exists.value.status == 422 and "already exists" in str(exists.value.data)

    heads = sorted(r.ref for r in repo.get_git_matching_refs("heads"))
    assert heads == ["refs/heads/copy", "refs/heads/feature/x", "refs/heads/main"]
    assert [r.ref for r in repo.get_git_matching_refs("heads/fea")] == ["refs/heads/feature/x"]
    node_ids = {r.raw_data["node_id"] for r in repo.get_git_matching_refs("heads")}
    assert len(node_ids) == 3

    created.delete()
    assert forge.branch_sha("infra", "copy") is None
    with pytest.raises(GithubException) as default:
        repo.get_git_ref("heads/main").delete()
    assert default.value.status == 422 and forge.branch_sha("infra", "main") is not None


def test_pull_request_lifecycle(forge: LocalForge, gh: Github, tmp_path: Path) -> None:
    sha = _push_branch(forge, tmp_path, "bump", {"app/config.yaml": "replicas: 3\n", "new.txt": "one\ntwo\n"})
    repo = gh.get_repo("driftgate/infra")
    pr = repo.create_pull(base="main", head="bump", title="Scale", body="three replicas", draft=True)
    assert pr.number == 1 and pr.draft is True and pr.locked is False and pr.state == "open"
    assert pr.user.login == "driftgate" and pr.head.repo.full_name == "driftgate/infra"
    assert pr.head.sha == sha and pr.base.ref == "main"
    assert (pr.commits, pr.changed_files, pr.additions, pr.deletions) == (1, 2, 3, 1)
    assert pr.html_url == f"{forge.base}/driftgate/infra/pull/1"
    assert pr.issue_url == f"{forge.api_url}/repos/driftgate/infra/issues/1"

    assert [c.sha for c in pr.get_commits()] == [sha]
    files = {f.filename: (f.status, f.additions, f.deletions) for f in pr.get_files()}
    assert files == {"app/config.yaml": ("modified", 1, 1), "new.txt": ("added", 2, 0)}

    issue = pr.as_issue()  # GET /issues/1 through the PR's issue_url
    assert issue.number == 1 and issue.title == "Scale" and issue.pull_request is not None
    comment = issue.create_comment("looks right")
    assert comment.body == "looks right" and comment.user.login == "driftgate"
    pr.create_issue_comment("second")
    assert [c.body for c in pr.get_issue_comments()] == ["looks right", "second"]
    assert repo.get_pull(1).comments == 2

    assert [p.number for p in repo.get_pulls(head="driftgate:bump")] == [1]
    pr.edit(title="Scale to three", state="closed")
    assert repo.get_pull(1).state == "closed" and repo.get_pulls().totalCount == 0
    assert [p.title for p in repo.get_pulls(state="all")] == ["Scale to three"]
    assert pr.is_merged() is False


def test_pull_requests_github_would_refuse(forge: LocalForge, gh: Github, tmp_path: Path) -> None:
    repo = gh.get_repo("driftgate/infra")
    with pytest.raises(GithubException) as same:
        repo.create_pull(base="main", head="main", title="nothing")
    assert same.value.status == 422 and "No commits between main and main" in str(same.value.data)
    with pytest.raises(GithubException) as unknown:
        repo.create_pull(base="main", head="nope", title="nothing")
    assert unknown.value.status == 422
    _push_branch(forge, tmp_path, "b", {"b.txt": "b\n"})
    repo.create_pull(base="main", head="b", title="one")
    with pytest.raises(GithubException) as twice:
        repo.create_pull(base="main", head="b", title="again")
    assert twice.value.status == 422 and "already exists" in str(twice.value.data)
    with pytest.raises(GithubException) as gone:
        repo.get_pull(99)
    assert gone.value.status == 404
    with pytest.raises(GithubException) as bad_base:
        repo.get_pull(1).edit(base="nope")
    assert bad_base.value.status == 422 and repo.get_pull(1).base.ref == "main"


def test_lists_page_like_github(forge: LocalForge, gh: Github, tmp_path: Path) -> None:
    _push_branch(forge, tmp_path, "many", {"m.txt": "m\n"})
    repo = gh.get_repo("driftgate/infra")
    pr = repo.create_pull(base="main", head="many", title="many comments")
    for i in range(35):
        forge.pulls["infra"][pr.number].comments.append(
            {
                "id": forge.next_comment_id(),
                "body": f"c{i}",
                "created_at": "2026-01-01T00:00:00Z",
                "updated_at": "2026-01-01T00:00:00Z",
            }
        )
    forge.forget_answers()
    assert [c.body for c in pr.get_issue_comments()] == [f"c{i}" for i in range(35)]
    pages = [a for a in forge.recorded_answers() if a.route.endswith("/comments")]
    assert [len(a.body) for a in pages] == [30, 5]  # GitHub's default page of 30

    small = Github(base_url=forge.api_url, auth=Auth.Token(TOKEN), per_page=10, retry=None)
    comments = small.get_repo("driftgate/infra").get_pull(pr.number).get_issue_comments()
    assert comments.totalCount == 35 and len(list(comments)) == 35
    small.close()


def _git_as(url: str, *args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    env = {
        "PATH": "/usr/bin:/bin",
        "HOME": "/dev/null",
        "GIT_TERMINAL_PROMPT": "0",
        "GIT_CONFIG_GLOBAL": "/dev/null",
    }
    return subprocess.run(["git", *args], cwd=cwd, env=env, capture_output=True, text=True, check=False)


@pytest.mark.parametrize("userinfo", [TOKEN, f"{TOKEN}:x-oauth-basic", f"anything:{TOKEN}"])
def test_git_takes_the_token_as_github_does(forge: LocalForge, tmp_path: Path, userinfo: str) -> None:
    url = forge.repo_url("infra").replace("http://", f"http://{userinfo}@")
    clone = _git_as(url, "clone", "-q", url, str(tmp_path / "c"), cwd=tmp_path)
    assert clone.returncode == 0, clone.stderr


def test_a_wrong_token_in_the_url_is_refused(forge: LocalForge, tmp_path: Path) -> None:
    url = forge.repo_url("infra").replace("http://", "http://ghp_wrong:x-oauth-basic@")
    assert _git_as(url, "clone", "-q", url, str(tmp_path / "c"), cwd=tmp_path).returncode != 0


def test_push_delete_removes_a_branch_but_never_the_default(forge: LocalForge, tmp_path: Path) -> None:
    _push_branch(forge, tmp_path, "old", {"o.txt": "o\n"})
    url = forge.repo_url("infra").replace("http://", f"http://{TOKEN}@")
    work = tmp_path / "work-old"
    deleted = _git_as(url, "push", "-q", url, "--delete", "old", cwd=work)
    assert deleted.returncode == 0, deleted.stderr
    assert forge.branch_sha("infra", "old") is None
    refused = _git_as(url, "push", "-q", url, "--delete", "main", cwd=work)
    assert refused.returncode != 0 and "default branch" in refused.stderr
    assert forge.branch_sha("infra", "main") is not None


def _walk(value: Any) -> Iterator[str]:
    if isinstance(value, dict):
        for v in value.values():
            yield from _walk(v)
    elif isinstance(value, list):
        for v in value:
            yield from _walk(v)
    elif isinstance(value, str):
        yield value
