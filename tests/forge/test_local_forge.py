"""The local forge: smart-HTTP git with token auth, and REST answers that fit GitHub's contract."""

from __future__ import annotations

import subprocess
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from driftgate.gitops.gitcmd import Credential, GitError, run_git
from driftgate.localforge import Fault, LocalForge
from tests.forge.contract import has_json_body, validate_response

TOKEN = "ghp_" + "A" * 36


@pytest.fixture
def forge(tmp_path: Path) -> Iterator[LocalForge]:
    with LocalForge(tmp_path / "forge", token=TOKEN) as running:
        running.create_repo("infra", {"README.md": "hello\n"})
        yield running


def api(forge: LocalForge, method: str, path: str, template: str, **kwargs: object) -> httpx.Response:
    """Call the forge and validate the answer against the contract operation ``template``."""
    response = httpx.request(
        method, forge.api_url + path, headers={"Authorization": f"Bearer {TOKEN}"}, timeout=10, **kwargs
    )  # type: ignore[arg-type]
    assert response.headers["X-RateLimit-Limit"] == "5000"
    if has_json_body(template, method, response.status_code) and response.content:
        validate_response(template, method, response.status_code, response.json())
    return response


def test_git_clone_and_push_need_the_token(forge: LocalForge, tmp_path: Path) -> None:
    url = forge.repo_url("infra")
    with pytest.raises(GitError, match="Authentication failed|could not read Username|401"):
        run_git("clone", "-q", url, str(tmp_path / "anon"), cwd=tmp_path)
    cred = Credential(url=url, token=TOKEN)
    run_git("clone", "-q", url, str(tmp_path / "work"), cwd=tmp_path, credential=cred)
    (tmp_path / "work" / "new.txt").write_text("x")
    run_git("add", "-A", cwd=tmp_path / "work")
    run_git("commit", "-qm", "new", cwd=tmp_path / "work")
    run_git("push", "-q", "origin", "HEAD:refs/heads/main", cwd=tmp_path / "work", credential=cred)
    assert forge.show("infra", "main", "new.txt") == "x"


def test_non_fast_forward_pushes_are_refused(forge: LocalForge, tmp_path: Path) -> None:
    url = forge.repo_url("infra")
    cred = Credential(url=url, token=TOKEN)
    run_git("clone", "-q", url, str(tmp_path / "w"), cwd=tmp_path, credential=cred)
    run_git("commit", "-q", "--allow-empty", "-m", "rewrite", "--amend", cwd=tmp_path / "w")
    # even git's own force flag (outside driftgate's runner) is refused by the remote
    proc = subprocess.run(
        ["git", "push", "-q", "--force", "origin", "HEAD:refs/heads/main"],
        cwd=tmp_path / "w",
        env={**cred.env(), "PATH": "/usr/bin:/bin", "HOME": "/dev/null", "GIT_TERMINAL_PROMPT": "0"},
        capture_output=True,
        text=True,
        check=False,
    )
    assert proc.returncode != 0 and "non-fast-forward" in proc.stderr + proc.stdout


def test_rest_subset_fits_the_contract(forge: LocalForge, tmp_path: Path) -> None:
    R = "/repos/{owner}/{repo}"
    assert api(forge, "GET", "/repos/driftgate/infra", R).status_code == 200
    assert api(forge, "GET", "/rate_limit", "/rate_limit").status_code == 200
    assert api(forge, "GET", "/repos/driftgate/nope", R).status_code == 404

    url = forge.repo_url("infra")
    cred = Credential(url=url, token=TOKEN)
    work = tmp_path / "w"
    run_git("clone", "-q", url, str(work), cwd=tmp_path, credential=cred)
    run_git("checkout", "-qb", "feature", cwd=work)
    (work / "f.txt").write_text("f")
    run_git("add", "-A", cwd=work)
    run_git("commit", "-qm", "f", cwd=work)
    run_git("push", "-q", "origin", "HEAD:refs/heads/feature", cwd=work, credential=cred)

    ref = api(forge, "GET", "/repos/driftgate/infra/git/ref/heads/feature", R + "/git/ref/{ref}")
    assert ref.status_code == 200 and ref.json()["ref"] == "refs/heads/feature"
    assert (
        api(forge, "GET", "/repos/driftgate/infra/git/ref/heads/none", R + "/git/ref/{ref}").status_code
        == 404
    )
    matching = api(
        forge, "GET", "/repos/driftgate/infra/git/matching-refs/heads/feat", R + "/git/matching-refs/{ref}"
    )
    assert [r["ref"] for r in matching.json()] == ["refs/heads/feature"]

    P = R + "/pulls"
    created = api(
        forge,
        "POST",
        "/repos/driftgate/infra/pulls",
        P,
        json={"title": "t", "head": "feature", "base": "main", "body": "b", "draft": True},
    )
    assert created.status_code == 201 and created.json()["draft"] is True
    number = created.json()["number"]
    again = api(
        forge,
        "POST",
        "/repos/driftgate/infra/pulls",
        P,
        json={"title": "t", "head": "feature", "base": "main"},
    )
    assert again.status_code == 422 and "already exists" in again.text
    listed = api(forge, "GET", "/repos/driftgate/infra/pulls", P, params={"head": "driftgate:feature"})
    assert [p["number"] for p in listed.json()] == [number]
    one = api(forge, "GET", f"/repos/driftgate/infra/pulls/{number}", P + "/{pull_number}")
    assert one.json()["head"]["ref"] == "feature"
    patched = api(
        forge,
        "PATCH",
        f"/repos/driftgate/infra/pulls/{number}",
        P + "/{pull_number}",
        json={"body": "new body"},
    )
    assert patched.json()["body"] == "new body"
    merged = api(forge, "GET", f"/repos/driftgate/infra/pulls/{number}/merge", P + "/{pull_number}/merge")
    assert merged.status_code == 404

    C = R + "/issues/{issue_number}/comments"
    comment = api(forge, "POST", f"/repos/driftgate/infra/issues/{number}/comments", C, json={"body": "hi"})
    assert comment.status_code == 201
    assert [
        c["body"] for c in api(forge, "GET", f"/repos/driftgate/infra/issues/{number}/comments", C).json()
    ] == ["hi"]

    gone = api(forge, "DELETE", "/repos/driftgate/infra/git/refs/heads/feature", R + "/git/refs/{ref}")
    assert gone.status_code == 204 and forge.branch_sha("infra", "feature") is None


def test_api_auth_and_injected_faults(forge: LocalForge) -> None:
    bad = httpx.get(forge.api_url + "/rate_limit", headers={"Authorization": "Bearer wrong"})
    assert bad.status_code == 401 and bad.json()["message"] == "Bad credentials"
    forge.inject(
        Fault("GET /rate_limit", status=503),
        Fault("GET /rate_limit", status=429, retry_after=7),
        Fault("GET /rate_limit", secondary_rate_limit=True, retry_after=3),
    )
    headers = {"Authorization": f"Bearer {TOKEN}"}
    first = httpx.get(forge.api_url + "/rate_limit", headers=headers)
    second = httpx.get(forge.api_url + "/rate_limit", headers=headers)
    third = httpx.get(forge.api_url + "/rate_limit", headers=headers)
    assert (first.status_code, second.status_code, second.headers["Retry-After"]) == (503, 429, "7")
    assert third.status_code == 403 and "secondary rate limit" in third.json()["message"]
    assert httpx.get(forge.api_url + "/rate_limit", headers=headers).status_code == 200
