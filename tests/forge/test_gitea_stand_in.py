"""The local forge as Gitea and Forgejo (``/api/v1``), driven by clients generated from each forge's
published API description (``gitea-api-client`` from Gitea's, ``pyforgejo`` from Forgejo's; nobody
here wrote them: their pydantic models check every answer's shape), and by driftgate's own client."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import gitea_api_client as gitea
import httpx
import pytest

from driftgate.forge.base import ForgeError, upsert_comment
from driftgate.forge.gitea import GiteaClient
from driftgate.localforge import LocalForge
from driftgate.testing.gitrepos import push_forge_branch

TOKEN = "d" * 40  # a Gitea token's shape


@pytest.fixture(params=["gitea", "forgejo"])
def forge(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[LocalForge]:
    with LocalForge(tmp_path / "forge", token=TOKEN, kind=request.param) as running:
        running.create_repo("infra", {"README.md": "hello\n"})
        yield running


def push_branch(forge: LocalForge, tmp_path: Path, branch: str) -> None:
    work = tmp_path / f"work-{branch.replace('/', '-')}"
    push_forge_branch(forge.repo_url("infra"), TOKEN, work, branch)


def with_client(forge: LocalForge, call: Any) -> Any:
    async def go() -> Any:
        config = gitea.Configuration(host=forge.api_url, api_key={"AuthorizationHeaderToken": TOKEN})
        config.api_key_prefix = {"AuthorizationHeaderToken": "token"}
        async with gitea.ApiClient(config) as api:
            return await call(api)

    return asyncio.run(go())


def test_the_generated_client_reads_what_the_stand_in_answers(forge: LocalForge, tmp_path: Path) -> None:
    push_branch(forge, tmp_path, "feature")

    async def scenario(api: gitea.ApiClient) -> dict[str, Any]:
        misc, repos, issues = gitea.MiscellaneousApi(api), gitea.RepositoryApi(api), gitea.IssueApi(api)
        version = await misc.get_version()
        repo = await repos.repo_get("driftgate", "infra")
        made = await repos.repo_create_pull_request(
            "driftgate",
            "infra",
            body=gitea.CreatePullRequestOption(
                head="feature", base="main", title="WIP: a change", body="why"
            ),
        )
        listed = await repos.repo_list_pull_requests("driftgate", "infra", state="open")
        await issues.issue_create_comment(
            "driftgate", "infra", made.number, body=gitea.CreateIssueCommentOption(body="planned")
        )
        comments = await issues.issue_get_comments("driftgate", "infra", made.number)
        closed = await repos.repo_edit_pull_request(
            "driftgate", "infra", made.number, body=gitea.EditPullRequestOption(state="closed")
        )
        return {
            "version": version,
            "repo": repo,
            "made": made,
            "listed": listed,
            "comments": comments,
            "closed": closed,
        }

    seen = with_client(forge, scenario)
    assert seen["version"].version and seen["repo"].default_branch == "main"
    assert seen["made"].number == 1 and seen["made"].head.ref == "feature" and seen["made"].state == "open"
    assert [p.number for p in seen["listed"]] == [1]
    assert [c.body for c in seen["comments"]] == ["planned"]
    assert seen["closed"].state == "closed"


def test_driftgates_gitea_client_runs_a_pull_request_loop(forge: LocalForge, tmp_path: Path) -> None:
    push_branch(forge, tmp_path, "driftgate/drift/infra")
    with GiteaClient.for_repo_url(forge.repo_url("infra"), TOKEN) as client:
        assert client.find_open_pull_request("driftgate/drift/infra") is None
        pr = client.open_pull_request(
            head="driftgate/drift/infra", base="main", title="drift in infra", body="review", draft=True
        )
        assert pr.draft and pr.title == "WIP: drift in infra" and pr.state == "open"
        found = client.find_open_pull_request("driftgate/drift/infra")
        assert found is not None and found.number == pr.number
        client.comment(pr.number, "updated")
        assert forge.pulls["infra"][pr.number].comments[0]["body"] == "updated"
        marker = "<!-- driftgate:plan -->"
        first, created = upsert_comment(client, pr.number, "plan: 1 to add", marker)
        assert created and upsert_comment(client, pr.number, "plan: 2 to add", marker) == (first, False)
        assert [c.body for c in client.comments(pr.number)] == ["updated", f"{marker}\nplan: 2 to add"]
        assert client.update_pull_request(pr.number, body="new body").body == "new body"
        assert client.pull_request_state(pr.number) == "open"
        client.update_pull_request(pr.number, state="closed")
        assert client.pull_request_state(pr.number) == "closed"
        client.delete_branch("driftgate/drift/infra")
        client.delete_branch("driftgate/drift/infra")  # already gone: not an error
        assert forge.branch_sha("infra", "driftgate/drift/infra") is None
        with pytest.raises(ForgeError, match="404"):
            client.pull_request_state(99)
        assert client.file_url("main", "README.md").endswith("/driftgate/infra/raw/branch/main/README.md")


def test_a_wrong_token_is_refused(forge: LocalForge) -> None:
    with GiteaClient.for_repo_url(forge.repo_url("infra"), "e" * 40) as client:
        with pytest.raises(ForgeError, match="401"):
            client.pull_request_state(1)


def test_pyforgejo_reads_what_the_forgejo_stand_in_answers(tmp_path: Path) -> None:
    from pyforgejo import PyforgejoApi

    with (
        LocalForge(tmp_path / "forge", token=TOKEN, kind="forgejo") as forge,
        httpx.Client() as http,
    ):
        forge.create_repo("infra", {"README.md": "hello\n"})
        push_branch(forge, tmp_path, "feature")
        api = PyforgejoApi(base_url=forge.api_url, api_key=TOKEN, httpx_client=http)
        assert "+gitea" in str(api.miscellaneous.get_version().version)  # how Forgejo says it is Forgejo
        assert api.repository.repo_get("driftgate", "infra").default_branch == "main"
        made = api.repository.repo_create_pull_request(
            "driftgate", "infra", head="feature", base="main", title="WIP: a change", body="why"
        )
        assert made.number == 1 and made.head is not None and made.head.ref == "feature"
        listed = api.repository.repo_list_pull_requests("driftgate", "infra", state="open")
        assert [p.number for p in listed] == [1]
        comment = api.issue.create_comment("driftgate", "infra", 1, body="planned")
        edited = api.issue.edit_comment("driftgate", "infra", comment.id or 0, body="planned again")
        assert edited.body == "planned again"
        assert [c.body for c in api.issue.get_comments("driftgate", "infra", 1)] == ["planned again"]
        closed = api.repository.repo_edit_pull_request("driftgate", "infra", 1, state="closed")
        assert closed.state == "closed"
        assert api.repository.repo_get_pull_request("driftgate", "infra", 1).merged is False
        api.repository.repo_delete_branch("driftgate", "infra", "feature")
        assert forge.branch_sha("infra", "feature") is None
