"""The GitHub client and its retry policy, against the local forge's injected faults."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from driftgate.forge.base import ForgeError, ForgeUnavailable
from driftgate.forge.github import GitHubClient, api_for_repo_url
from driftgate.forge.retry import RetryPolicy
from driftgate.gitops.gitcmd import Credential, run_git
from driftgate.localforge import Fault, LocalForge
from tests.forge.contract import validate_request

TOKEN = "ghp_" + "B" * 36


class Recording(httpx.HTTPTransport):
    def __init__(self) -> None:
        super().__init__()
        self.requests: list[httpx.Request] = []

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        self.requests.append(request)
        return super().handle_request(request)


@pytest.fixture
def forge(tmp_path: Path) -> Iterator[LocalForge]:
    with LocalForge(tmp_path / "forge", token=TOKEN) as running:
        url = running.create_repo("infra")
        work = tmp_path / "w"
        cred = Credential(url=url, token=TOKEN)
        run_git("clone", "-q", url, str(work), cwd=tmp_path, credential=cred)
        run_git("checkout", "-qb", "feature", cwd=work)
        (work / "f").write_text("f")
        run_git("add", "-A", cwd=work)
        run_git("commit", "-qm", "f", cwd=work)
        run_git("push", "-q", "origin", "HEAD:refs/heads/feature", cwd=work, credential=cred)
        yield running


OPEN: list[GitHubClient] = []


@pytest.fixture(autouse=True)
def _close_clients() -> Iterator[None]:
    yield
    while OPEN:
        OPEN.pop().close()


def client(
    forge: LocalForge, waits: list[float], transport: httpx.BaseTransport | None = None
) -> GitHubClient:
    policy = RetryPolicy(sleep=waits.append, jitter=lambda: 0.5, base_delay=1.0)
    made = GitHubClient.for_repo_url(forge.repo_url("infra"), TOKEN, policy=policy, transport=transport)
    OPEN.append(made)
    return made


def test_pull_request_lifecycle_with_contract_checked_requests(forge: LocalForge) -> None:
    recording = Recording()
    gh = client(forge, [], recording)
    pr = gh.open_pull_request(head="feature", base="main", title="T", body="B", draft=True)
    assert (pr.number, pr.state, pr.draft, pr.head) == (1, "open", True, "feature")
    assert gh.find_open_pull_request("feature") == pr
    assert gh.find_open_pull_request("other") is None
    assert gh.update_pull_request(pr.number, body="B2").body == "B2"
    gh.comment(pr.number, "hello")
    assert forge.pulls["infra"][1].comments[0]["body"] == "hello"
    assert gh.pull_request_state(pr.number) == "open"
    gh.delete_branch("feature")
    gh.delete_branch("feature")  # already gone: not an error
    assert forge.branch_sha("infra", "feature") is None
    for request in recording.requests:
        assert request.headers["Authorization"] == f"Bearer {TOKEN}"
        if request.method in ("POST", "PATCH"):
            path = request.url.path.removeprefix("/api/v3")
            template = {
                "/repos/driftgate/infra/pulls": "/repos/{owner}/{repo}/pulls",
                "/repos/driftgate/infra/pulls/1": "/repos/{owner}/{repo}/pulls/{pull_number}",
                "/repos/driftgate/infra/issues/1/comments": "/repos/{owner}/{repo}/issues/{issue_number}/comments",
            }[path]
            validate_request(template, request.method, json.loads(request.content))


def test_5xx_then_success_is_retried_with_backoff(forge: LocalForge) -> None:
    waits: list[float] = []
    forge.inject(Fault("GET /repos/*/pulls", status=502, times=2))
    assert client(forge, waits).find_open_pull_request("feature") is None
    assert waits == [1.0, 2.0]  # exponential, jitter pinned to 1.0x


def test_429_honours_retry_after_and_caps_the_wait(forge: LocalForge) -> None:
    waits: list[float] = []
    forge.inject(
        Fault("GET /repos/*/pulls", status=429, retry_after=7),
        Fault("GET /repos/*/pulls", status=429, retry_after=500),
    )
    client(forge, waits).find_open_pull_request("feature")
    assert waits == [7.0, 60.0]


def test_403_secondary_rate_limit_and_exhausted_quota_are_retried(forge: LocalForge) -> None:
    waits: list[float] = []
    forge.inject(
        Fault("POST /repos/*/pulls", secondary_rate_limit=True),
        Fault("POST /repos/*/pulls", rate_limit_exhausted=True),
    )
    pr = client(forge, waits).open_pull_request(head="feature", base="main", title="t", body="b")
    assert pr.number == 1 and len(waits) == 2
    assert len(forge.pulls["infra"]) == 1  # the faults answered before anything was created


def test_persistent_5xx_gives_up_after_three_attempts(forge: LocalForge) -> None:
    waits: list[float] = []
    forge.inject(Fault("POST /repos/*/pulls", status=503, times=5))
    gh = client(forge, waits)
    with pytest.raises(ForgeUnavailable, match="503"):
        gh.open_pull_request(head="feature", base="main", title="t", body="b")
    assert len(gh.calls) == 3 and len(waits) == 2


def test_422_and_401_are_terminal_and_redacted(forge: LocalForge) -> None:
    waits: list[float] = []
    gh = client(forge, waits)
    gh.open_pull_request(head="feature", base="main", title="t", body="b")
    with pytest.raises(ForgeError, match="already exists") as dup:
        gh.open_pull_request(head="feature", base="main", title="t", body="b")
    assert dup.value.status == 422 and waits == [] and len(gh.calls) == 2
    wrong = GitHubClient.for_repo_url(
        forge.repo_url("infra"), "ghp_" + "Z" * 36, policy=RetryPolicy(sleep=waits.append)
    )
    OPEN.append(wrong)
    with pytest.raises(ForgeError, match="401 Bad credentials") as bad:
        wrong.find_open_pull_request("feature")
    assert "Z" * 36 not in str(bad.value) and waits == []


def test_connection_errors_are_retried_then_unavailable(forge: LocalForge) -> None:
    waits: list[float] = []
    gh = client(forge, waits)
    forge.stop()
    with pytest.raises(ForgeUnavailable):
        gh.find_open_pull_request("feature")
    assert len(waits) == 2


@pytest.mark.parametrize(
    ("url", "expected"),
    [
        ("https://github.com/acme/infra.git", ("https://api.github.com", "acme", "infra")),
        ("https://git.corp.example/acme/infra", ("https://git.corp.example/api/v3", "acme", "infra")),
        ("http://127.0.0.1:8080/acme/infra.git", ("http://127.0.0.1:8080/api/v3", "acme", "infra")),
    ],
)
def test_api_url_from_repo_url(url: str, expected: tuple[str, str, str]) -> None:
    assert api_for_repo_url(url) == expected


@pytest.mark.parametrize(
    "url",
    [
        "git@github.com:acme/infra.git",
        "http://github.com/acme/infra",
        "https://x:tok@github.com/a/b",
        "https://github.com/acme",
    ],
)
def test_bad_repo_urls_are_refused(url: str) -> None:
    with pytest.raises(ForgeError):
        api_for_repo_url(url)


def test_slow_responses_time_out_and_are_retried(forge: LocalForge) -> None:
    waits: list[float] = []
    forge.inject(Fault("GET /repos/*/pulls", status=200, delay=1.0, times=3))
    policy = RetryPolicy(sleep=waits.append, jitter=lambda: 0.5)
    gh = GitHubClient.for_repo_url(forge.repo_url("infra"), TOKEN, policy=policy, timeout=0.2)
    OPEN.append(gh)
    with pytest.raises(ForgeUnavailable, match="Timeout"):
        gh.find_open_pull_request("feature")
    assert len(waits) == 2
