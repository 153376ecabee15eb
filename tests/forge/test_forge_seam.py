"""The forge seam: kinds by URL, one client per kind, each kind's webhooks, shared URL rules."""

from __future__ import annotations

import hashlib
import hmac
import json
from pathlib import Path
from typing import Any

import pytest

from driftgate import errors
from driftgate.errors import CodedError
from driftgate.forge import KINDS, forge_for, known_kind, probe_kind, webhooks_for
from driftgate.forge.urls import RepoUrlError, parse_repo_url
from driftgate.localforge import LocalForge
from driftgate.localforge.documents import Pull

TOKEN = "ghp_" + "S" * 36


def test_kinds_by_url_and_the_shared_url_rules() -> None:
    assert known_kind("https://github.com/acme/infra.git") == "github"
    assert known_kind("https://gitlab.com/acme/platform/infra.git") == "gitlab"  # a nested group
    assert known_kind("https://codeberg.org/acme/infra.git") == "forgejo"
    assert known_kind("https://git.corp.example/acme/infra") is None  # asked of the host (below)
    for unsupported_url in ("https://bitbucket.org/acme/infra", "https://dev.azure.com/acme/infra"):
        with pytest.raises(CodedError) as unsupported:
            known_kind(unsupported_url)
        assert unsupported.value.code == errors.UNSUPPORTED_FORGE
    for bad in (
        "git@github.com:a/b.git",
        "http://github.com/a/b",
        "https://u:p@github.com/a/b",
        "https://h/a",
    ):
        with pytest.raises(RepoUrlError) as refused:
            parse_repo_url(bad)
        assert refused.value.code == errors.INVALID_URL
    url = parse_repo_url("http://127.0.0.1:9/acme/infra.git")
    assert (url.owner, url.name, url.web) == ("acme", "infra", "http://127.0.0.1:9/acme/infra")
    with pytest.raises(RepoUrlError):  # only GitLab has nested groups
        parse_repo_url("https://github.com/acme/platform/infra")
    nested = parse_repo_url("https://gitlab.com/acme/platform/infra.git", nested=True)
    assert (nested.owner, nested.name) == ("acme/platform", "infra")
    with pytest.raises(CodedError, match="'svn' is not one of") as svn:
        forge_for("https://github.com/a/b", TOKEN, kind="svn")
    assert svn.value.code == errors.UNSUPPORTED_FORGE
    assert set(KINDS) == {"github", "gitea", "forgejo", "gitlab"}


@pytest.mark.parametrize("kind", ["github", "gitea", "forgejo", "gitlab"])
def test_the_kind_of_a_host_is_found_by_asking_its_api(tmp_path: Path, kind: str) -> None:
    with LocalForge(tmp_path / "forge", token=TOKEN, kind=kind) as forge:
        assert probe_kind(forge.repo_url("infra"), TOKEN) == kind


def test_a_host_that_is_no_known_forge_is_unsupported_and_an_unreachable_one_transient(
    tmp_path: Path,
) -> None:
    from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
    from threading import Thread

    from driftgate.forge.base import ForgeUnavailable

    (tmp_path / "index.html").write_text("a plain web server")
    server = ThreadingHTTPServer(
        ("127.0.0.1", 0), lambda *a: SimpleHTTPRequestHandler(*a, directory=str(tmp_path))
    )
    Thread(target=server.serve_forever, daemon=True).start()
    try:
        with pytest.raises(CodedError) as unknown:
            probe_kind(f"http://127.0.0.1:{server.server_address[1]}/acme/infra.git", TOKEN)
        assert unknown.value.code == errors.UNSUPPORTED_FORGE
        assert "name the forge with forge:" in str(unknown.value)
    finally:
        server.shutdown()
        server.server_close()
    with pytest.raises(ForgeUnavailable):
        probe_kind(f"http://127.0.0.1:{server.server_address[1]}/acme/infra.git", TOKEN, timeout=2)


def test_a_client_from_the_seam_talks_to_the_forge(tmp_path: Path) -> None:
    with pytest.raises(CodedError) as unknown:  # a host that is not well known: its kind is found first
        forge_for("http://127.0.0.1:9/acme/infra.git", TOKEN)
    assert unknown.value.code == errors.UNSUPPORTED_FORGE
    with LocalForge(tmp_path / "forge", token=TOKEN) as forge:
        url = forge.create_repo("infra")
        with forge_for(url, TOKEN, "github") as client:
            assert client.find_open_pull_request("nope") is None
            assert client.file_url("b", "c/d.png") == f"{forge.base}/driftgate/infra/blob/b/c/d.png?raw=true"


def test_github_webhooks_verify_parse_and_read_a_delivery() -> None:
    hooks = webhooks_for("github")
    body = json.dumps(
        {
            "number": 3,
            "pull_request": {"state": "closed", "merged": True, "updated_at": "2026-01-01T00:00:00Z"},
            "repository": {"clone_url": "https://github.com/acme/infra.git"},
        }
    ).encode()
    signature = "sha256=" + hmac.new(b"s3cret", body, hashlib.sha256).hexdigest()
    delivery = hooks.delivery(
        {"X-Hub-Signature-256": signature, "X-GitHub-Event": "pull_request", "X-GitHub-Delivery": "d-1"}
    )
    assert hooks.verify(body, delivery.signature, "s3cret") and not hooks.verify(body, signature, "other")
    event = hooks.event(delivery, hooks.parse(body, "application/json"))
    assert (event.kind, event.number, event.state, event.repo_url) == (
        "pull_request",
        3,
        "merged",
        "https://github.com/acme/infra.git",
    )
    assert event.updated_at == 1767225600.0
    with pytest.raises(CodedError) as unsigned:
        hooks.delivery({"X-GitHub-Event": "ping"})
    assert unsigned.value.code == errors.SIGNATURE_INVALID


@pytest.mark.parametrize(
    ("kind", "prefix"), [("gitea", "Gitea"), ("forgejo", "Forgejo"), ("forgejo", "Gitea")]
)
def test_gitea_and_forgejo_webhooks_verify_parse_and_read_a_delivery(kind: str, prefix: str) -> None:
    hooks = webhooks_for(kind)
    body = json.dumps(
        {
            "action": "closed",
            "number": 4,
            "pull_request": {"state": "closed", "merged": True, "updated_at": "2026-01-01T00:00:00Z"},
            "repository": {"clone_url": "https://codeberg.org/acme/infra.git"},
        }
    ).encode()
    signature = hmac.new(b"s3cret", body, hashlib.sha256).hexdigest()  # hex, no sha256= prefix
    headers = {
        f"X-{prefix}-Signature": signature,
        f"X-{prefix}-Event": "pull_request",
        f"X-{prefix}-Delivery": "d-1",
    }
    delivery = hooks.delivery(headers)
    assert hooks.verify(body, delivery.signature, "s3cret") and not hooks.verify(
        body, delivery.signature, "other"
    )
    event = hooks.event(delivery, hooks.parse(body, "application/json"))
    assert (event.kind, event.number, event.state, event.repo_url) == (
        "pull_request",
        4,
        "merged",
        "https://codeberg.org/acme/infra.git",
    )
    with pytest.raises(CodedError) as unsigned:
        hooks.delivery({f"X-{prefix}-Event": "pull_request"})
    assert unsigned.value.code == errors.SIGNATURE_INVALID


@pytest.mark.parametrize(
    ("attributes", "state", "stamp"),
    [
        (
            {"iid": 5, "state": "merged", "action": "merge", "updated_at": "2026-01-01T00:00:00Z"},
            "merged",
            1767225600.0,
        ),
        (
            {"iid": 5, "state": "closed", "action": "close", "updated_at": "2026-01-01 00:00:00 UTC"},
            "closed",
            1767225600.0,
        ),
        (
            {"iid": 5, "state": "opened", "action": "reopen", "updated_at": "2026-01-01T00:00:01+00:00"},
            "open",
            1767225601.0,
        ),
        ({"iid": 5, "state": "opened", "action": "update"}, "open", None),
        ({"iid": 5, "state": "locked", "action": "update"}, "open", None),
    ],
)
def test_gitlab_webhooks_check_the_token_and_read_a_merge_request_event(
    attributes: dict[str, Any], state: str, stamp: float | None
) -> None:
    hooks = webhooks_for("gitlab")
    body = json.dumps(
        {
            "object_kind": "merge_request",
            "project": {"git_http_url": "https://gitlab.example.com/acme/platform/infra.git"},
            "object_attributes": attributes,
        }
    ).encode()
    headers = {
        "X-Gitlab-Token": "s3cret",
        "X-Gitlab-Event": "Merge Request Hook",
        "X-Gitlab-Event-UUID": "u-1",
    }
    delivery = hooks.delivery(headers)
    assert delivery.id == "u-1"
    assert hooks.verify(body, delivery.signature, "s3cret") and not hooks.verify(
        body, delivery.signature, "s3cre"
    )
    event = hooks.event(delivery, hooks.parse(body, "application/json"))
    assert (event.kind, event.number, event.state, event.updated_at) == ("pull_request", 5, state, stamp)
    assert event.repo_url == "https://gitlab.example.com/acme/platform/infra.git"
    push = hooks.event(hooks.delivery({**headers, "X-Gitlab-Event": "Push Hook"}), {"object_kind": "push"})
    assert (push.kind, push.number, push.state, push.repo_url) == ("Push Hook", None, None, None)
    with pytest.raises(CodedError) as unsigned:
        hooks.delivery({"X-Gitlab-Event": "Merge Request Hook", "X-Gitlab-Event-UUID": "u-2"})
    assert unsigned.value.code == errors.SIGNATURE_INVALID


def test_long_comments_are_cut_to_the_forges_limit_with_a_note_never_refused(tmp_path: Path) -> None:
    from driftgate.forge.base import fit_text

    assert fit_text("short", 65_535) == "short" and fit_text("x" * 10**6, None) == "x" * 10**6
    cut = fit_text("y" * 70_000, 65_535)
    assert len(cut) <= 65_535 and cut.startswith("y" * 60_000) and "characters left out" in cut
    with LocalForge(tmp_path / "forge", token=TOKEN) as forge:
        forge.create_repo("infra")
        with forge_for(forge.repo_url("infra"), TOKEN, "github") as client:
            forge.pulls["infra"][1] = Pull(1, "t", "", "main", "main", False, "2026", "2026")
            client.comment(1, "z" * 100_000)
    (sent,) = forge.pulls["infra"][1].comments
    assert len(sent["body"]) <= 65_535 and "characters left out" in sent["body"]


def test_a_stacks_commit_back_names_exactly_the_seams_kinds() -> None:
    from typing import get_args

    from driftgate.spec.model import CommitBackPolicy

    annotation = CommitBackPolicy.model_fields["forge"].annotation
    named = {arg for part in get_args(annotation) for arg in get_args(part)}
    assert named == set(KINDS)
