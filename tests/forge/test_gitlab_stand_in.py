"""The local forge as GitLab (``/api/v4``), driven by GitLab's own Python client (``python-gitlab``:
nobody here wrote it; its managers build GitLab's URLs, methods, parameters and paging), and by
driftgate's own GitLab client."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import gitlab
import pytest

from driftgate.forge.base import ForgeError, upsert_comment
from driftgate.forge.gitlab import GitLabClient
from driftgate.forge.retry import RetryPolicy
from driftgate.localforge import Fault, LocalForge
from driftgate.testing.gitrepos import push_forge_branch

TOKEN = "glpat-" + "L0cal_Forge-T0ken_x"


@pytest.fixture
def forge(tmp_path: Path) -> Iterator[LocalForge]:
    with LocalForge(tmp_path / "forge", token=TOKEN, kind="gitlab") as running:
        running.create_repo("infra", {"README.md": "hello\n"})
        yield running


def push_branch(forge: LocalForge, tmp_path: Path, branch: str) -> None:
    """Push a branch over HTTPS as GitLab takes a token: ``oauth2`` and the token as the password."""
    work = tmp_path / f"work-{branch.replace('/', '-')}"
    push_forge_branch(forge.repo_url("infra"), TOKEN, work, branch, username="oauth2")


def test_python_gitlab_reads_what_the_stand_in_answers(forge: LocalForge, tmp_path: Path) -> None:
    push_branch(forge, tmp_path, "feature")
    with gitlab.Gitlab(forge.base, private_token=TOKEN) as gl:
        gl.auth()
        assert gl.user is not None and gl.user.username == "driftgate"
        version, _revision = gl.version()
        assert version.startswith("17.")
        project = gl.projects.get("driftgate/infra")
        assert project.default_branch == "main" and project.http_url_to_repo == forge.repo_url("infra")
        mr = project.mergerequests.create(
            {
                "source_branch": "feature",
                "target_branch": "main",
                "title": "Draft: a change",
                "description": "why",
            }
        )
        assert (mr.iid, mr.state, mr.draft, mr.source_branch) == (1, "opened", True, "feature")
        listed = project.mergerequests.list(state="opened", source_branch="feature", get_all=True)
        assert [m.iid for m in listed] == [1]
        assert project.mergerequests.list(state="opened", source_branch="other", get_all=True) == []
        note = mr.notes.create({"body": "planned"})
        note.body = "planned again"
        note.save()
        assert [n.body for n in mr.notes.list(get_all=True)] == ["planned again"]
        mr = project.mergerequests.get(1)
        mr.title = "a change"
        mr.save()
        assert project.mergerequests.get(1).draft is False
        mr.state_event = "close"
        mr.save()
        assert project.mergerequests.get(1).state == "closed"
        mr.state_event = "reopen"
        mr.save()
        again = {"source_branch": "feature", "target_branch": "main", "title": "again"}
        with pytest.raises(gitlab.exceptions.GitlabCreateError) as twice:
            project.mergerequests.create(again)
        assert twice.value.response_code == 409
        project.branches.delete("feature")
        assert forge.branch_sha("infra", "feature") is None
        with pytest.raises(gitlab.exceptions.GitlabGetError) as missing:
            gl.projects.get("driftgate/nope")
        assert missing.value.response_code == 404


def test_python_gitlab_pages_through_a_long_list(forge: LocalForge, tmp_path: Path) -> None:
    push_branch(forge, tmp_path, "feature")
    with gitlab.Gitlab(forge.base, private_token=TOKEN) as gl:
        project = gl.projects.get("driftgate/infra")
        mr = project.mergerequests.create({"source_branch": "feature", "target_branch": "main", "title": "t"})
        for i in range(45):
            mr.notes.create({"body": f"note {i}"})
        notes = mr.notes.list(get_all=True, per_page=20, sort="asc")
    assert [n.body for n in notes] == [f"note {i}" for i in range(45)]
    with GitLabClient.for_repo_url(forge.repo_url("infra"), TOKEN) as client:
        assert [c.body for c in client.comments(mr.iid)] == [f"note {i}" for i in range(45)]


def test_driftgates_gitlab_client_runs_a_merge_request_loop(forge: LocalForge, tmp_path: Path) -> None:
    push_branch(forge, tmp_path, "driftgate/drift/infra")
    with GitLabClient.for_repo_url(forge.repo_url("infra"), TOKEN) as client:
        assert client.find_open_pull_request("driftgate/drift/infra") is None
        pr = client.open_pull_request(
            head="driftgate/drift/infra", base="main", title="drift in infra", body="review", draft=True
        )
        assert pr.draft and pr.title == "Draft: drift in infra" and pr.state == "open"
        assert pr.url == f"{forge.base}/driftgate/infra/-/merge_requests/{pr.number}"
        found = client.find_open_pull_request("driftgate/drift/infra")
        assert found is not None and found.number == pr.number
        assert upsert_comment(client, pr.number, "plan: 1 to add", "<!-- driftgate:plan -->")[1] is True
        assert upsert_comment(client, pr.number, "plan: 2 to add", "<!-- driftgate:plan -->")[1] is False
        assert [c["body"] for c in forge.pulls["infra"][pr.number].comments] == [
            "<!-- driftgate:plan -->\nplan: 2 to add"
        ]
        assert client.update_pull_request(pr.number, body="new body").body == "new body"
        assert client.pull_request_state(pr.number) == "open"
        client.update_pull_request(pr.number, state="closed")
        assert client.pull_request_state(pr.number) == "closed"
        forge.pulls["infra"][pr.number].merged = True
        assert client.pull_request_state(pr.number) == "merged"
        client.delete_branch("driftgate/drift/infra")
        client.delete_branch("driftgate/drift/infra")  # already gone: not an error
        assert forge.branch_sha("infra", "driftgate/drift/infra") is None
        with pytest.raises(ForgeError, match="404"):
            client.pull_request_state(99)
        assert client.file_url("main", "a/b.png") == f"{forge.base}/driftgate/infra/-/raw/main/a/b.png"


def test_gitlab_429_waits_until_ratelimit_reset(forge: LocalForge) -> None:
    forge.inject(Fault("GET /projects/*/merge_requests/*", status=429, reset_after=7))
    waits: list[float] = []
    policy = RetryPolicy(sleep=waits.append, jitter=lambda: 0.0)
    with GitLabClient.for_repo_url(forge.repo_url("infra"), TOKEN, policy=policy) as client:
        with pytest.raises(ForgeError, match="404"):  # retried after the wait, then the real answer
            client.pull_request_state(1)
    assert len(waits) == 1 and 5.0 <= waits[0] <= 7.0, waits
    assert [status for _m, path, status in forge.calls if "merge_requests" in path] == [429, 404]


def test_a_wrong_token_is_refused(forge: LocalForge) -> None:
    with GitLabClient.for_repo_url(forge.repo_url("infra"), "glpat-wrongwrongwrongwrong") as client:
        with pytest.raises(ForgeError, match="401"):
            client.pull_request_state(1)


def test_a_nested_group_project_is_addressed_by_its_encoded_path() -> None:
    client = GitLabClient.for_repo_url("https://gitlab.example.com/acme/platform/infra.git", TOKEN)
    try:
        assert client.prefix == "/projects/acme%2Fplatform%2Finfra"
        assert client.file_url("main", "x") == "https://gitlab.example.com/acme/platform/infra/-/raw/main/x"
    finally:
        client.close()
