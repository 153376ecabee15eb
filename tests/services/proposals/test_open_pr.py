"""The open-PR worker use case against the local forge."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from driftgate.gitops.gitcmd import Credential, run_git
from driftgate.localforge import LocalForge
from driftgate.services.proposals import config_repos, open_pr
from driftgate.services.proposals import lifecycle as proposals
from driftgate.services.workspace import Workspace
from driftgate.store import leases as leases_db
from driftgate.store import proposals as proposals_db

TOKEN = "ghp_" + "P9" * 18
SVC = "# owned by platform\nservice:\n  replicas: 3   # scale here\n  image: api:1.0\n"


@pytest.fixture
def forge(tmp_path: Path) -> Iterator[LocalForge]:
    with LocalForge(tmp_path / "forge", token=TOKEN) as running:
        running.create_repo(
            "infra", {"svc.yaml": SVC, "conf/app.json": '{\n  "limit": 10\n}\n', "dir/x": "x"}
        )
        yield running


@pytest.fixture
def repo_id(ws: Workspace, forge: LocalForge, monkeypatch: pytest.MonkeyPatch) -> int:
    monkeypatch.setenv("INFRA_TOKEN", TOKEN)
    created = config_repos.create(
        ws,
        name="infra",
        url=forge.repo_url("infra"),
        default_branch="main",
        auth_ref="secret://env/INFRA_TOKEN",
    )
    return int(created["id"])


def proposal(
    ws: Workspace, repo_id: int, edits: list[dict[str, Any]] | None = None, title: str = "Scale API"
) -> int:
    row = proposals.create(
        ws,
        config_repo_id=repo_id,
        title=title,
        rationale="p99 is too high",
        edits=edits
        or [{"path": "svc.yaml", "format": "yaml", "pointer": "/service/replicas", "from": 3, "to": 5}],
        metrics={"name": "p99_ms", "baseline": 400, "candidate": 300, "unit": "ms"},
        chart=None,
        created_by="op",
    )
    return int(row["id"])


def test_proposal_becomes_one_pull_request(ws: Workspace, repo_id: int, forge: LocalForge) -> None:
    pid = proposal(ws, repo_id)
    outcome = open_pr.open_pr(ws, pid)
    assert outcome.status == "pr_opened" and outcome.pr_url
    (pr,) = forge.pulls["infra"].values()
    assert pr.head == f"driftgate/proposal-{pid}-scale-api" and pr.base == "main"
    assert "| `svc.yaml` | `/service/replicas` | 3 | 5 |" in pr.body
    assert "**p99_ms**: 400 ms → 300 ms (-25.0%)" in pr.body
    assert forge.show("infra", pr.head, "svc.yaml") == SVC.replace("replicas: 3", "replicas: 5")
    assert forge.show("infra", "main", "svc.yaml") == SVC
    row = proposals.get(ws, pid)
    assert row["status"] == "pr_opened" and row["pr_url"] == outcome.pr_url and row["pr_open_error"] is None
    assert open_pr.open_pr(ws, pid).status == "skipped"  # idempotent
    assert len(forge.pulls["infra"]) == 1


@pytest.mark.parametrize(
    ("edit", "code"),
    [
        (
            {"path": "svc.yaml", "format": "yaml", "pointer": "/service/replicas", "from": 4, "to": 5},
            "VALUE_DRIFT",
        ),
        (
            {"path": "svc.yaml", "format": "yaml", "pointer": "/service/nope", "from": 1, "to": 2},
            "PATH_NOT_FOUND",
        ),
        ({"path": "missing.yaml", "format": "yaml", "pointer": "/a", "from": 1, "to": 2}, "FILE_INVALID"),
        ({"path": "dir", "format": "json", "pointer": "/a", "from": 1, "to": 2}, "FILE_INVALID"),
        ({"path": "svc.yaml", "format": "json", "pointer": "/a", "from": 1, "to": 2}, "FILE_INVALID"),
    ],
)
def test_terminal_errors_are_stored_and_the_proposal_stays_pending(
    ws: Workspace, repo_id: int, forge: LocalForge, edit: dict[str, Any], code: str
) -> None:
    pid = proposal(ws, repo_id, [edit])
    outcome = open_pr.open_pr(ws, pid)
    assert outcome.status == "failed" and outcome.error and outcome.error["code"] == code
    row = proposals.get(ws, pid)
    assert row["status"] == "pending" and row["pr_open_error"]["code"] == code
    assert forge.pulls["infra"] == {} and not forge.branch_sha("infra", open_pr.branch_for(row))


def test_branch_that_exists_and_is_not_ours(
    ws: Workspace, repo_id: int, forge: LocalForge, tmp_path: Path
) -> None:
    pid = proposal(ws, repo_id)
    branch = open_pr.branch_for(proposals.get(ws, pid))
    url = forge.repo_url("infra")
    cred = Credential(url=url, token=TOKEN)
    run_git("clone", "-q", url, str(tmp_path / "h"), cwd=tmp_path, credential=cred)
    run_git("push", "-q", "origin", f"HEAD:refs/heads/{branch}", cwd=tmp_path / "h", credential=cred)
    outcome = open_pr.open_pr(ws, pid)
    assert outcome.error and outcome.error["code"] == "BRANCH_EXISTS"


def test_retry_after_an_interrupted_attempt_ends_with_exactly_one_pr(
    ws: Workspace, repo_id: int, forge: LocalForge, monkeypatch: pytest.MonkeyPatch
) -> None:
    pid = proposal(ws, repo_id)
    calls = {"n": 0}
    from driftgate.forge import github

    real = github.GitHubClient.open_pull_request

    def dies_once(self: Any, **kwargs: Any) -> Any:
        calls["n"] += 1
        if calls["n"] == 1:
            raise KeyboardInterrupt  # the worker is killed after the push, before the PR
        return real(self, **kwargs)

    monkeypatch.setattr(github.GitHubClient, "open_pull_request", dies_once)
    with pytest.raises(KeyboardInterrupt):
        open_pr.open_pr(ws, pid)
    assert forge.branch_sha("infra", open_pr.branch_for(proposals.get(ws, pid)))  # pushed, no PR yet
    outcome = open_pr.open_pr(ws, pid)  # the retry
    assert outcome.status == "pr_opened" and len(forge.pulls["infra"]) == 1


def test_reject_mid_flight_wins(
    ws: Workspace, repo_id: int, forge: LocalForge, monkeypatch: pytest.MonkeyPatch
) -> None:
    pid = proposal(ws, repo_id)
    real_open = open_pr._open

    def open_then_reject(*args: Any, **kwargs: Any) -> Any:
        result = real_open(*args, **kwargs)
        proposals.reject(ws, pid, "changed my mind")
        return result

    monkeypatch.setattr(open_pr, "_open", open_then_reject)
    outcome = open_pr.open_pr(ws, pid)
    assert outcome.status == "rejected_kept"
    row = proposals.get(ws, pid)
    assert row["status"] == "rejected" and row["pr_url"] == outcome.pr_url


def test_lease_contention_is_transient(ws: Workspace, repo_id: int) -> None:
    pid = proposal(ws, repo_id)
    with ws.transaction() as conn:
        assert leases_db.take_lease(conn, repo_id, "other-worker", seconds=60)
    with pytest.raises(open_pr.LockContended):
        open_pr.open_pr(ws, pid)
    assert proposals.get(ws, pid)["status"] == "pending"


def test_missing_credential_is_stored_without_secrets(
    ws: Workspace, repo_id: int, monkeypatch: pytest.MonkeyPatch
) -> None:
    pid = proposal(ws, repo_id)
    monkeypatch.delenv("INFRA_TOKEN")
    outcome = open_pr.open_pr(ws, pid)
    assert outcome.error and outcome.error["code"] == "CREDENTIAL_NOT_CONFIGURED"
    assert TOKEN not in repr(proposals.get(ws, pid))


def test_per_repo_rate_limits(ws: Workspace, repo_id: int, forge: LocalForge) -> None:
    ws.settings.pr_rate_per_hour = 2
    first, second, third = (proposal(ws, repo_id, title=f"Change {n}") for n in range(3))
    for pid in (first, second):
        edits = [
            {"path": "svc.yaml", "format": "yaml", "pointer": "/service/image", "from": "api:1.0", "to": "x"}
        ]
        with ws.transaction() as conn:
            proposals_db.update_proposal(conn, pid, edits=edits)
        assert open_pr.open_pr(ws, pid).status == "pr_opened"
    with pytest.raises(open_pr.RateLimited) as limited:
        open_pr.open_pr(ws, third)
    assert 3000 < limited.value.retry_in <= 3600
    assert len(forge.pulls["infra"]) == 2 and proposals.get(ws, third)["status"] == "pending"
    ws.settings.pr_rate_per_hour = 10
    ws.settings.pr_max_open = 2
    with pytest.raises(open_pr.RateLimited, match="2 PRs are open"):
        open_pr.open_pr(ws, third)


def test_chart_is_committed_as_png_and_shown_in_a_comment(
    ws: Workspace, repo_id: int, forge: LocalForge
) -> None:
    chart = {
        "title": "p99 latency",
        "x": ["mon", "tue", "wed"],
        "series": {"baseline": [420, 410, 430], "candidate": [300, 310, 305]},
    }
    row = proposals.create(
        ws,
        config_repo_id=repo_id,
        title="Scale with chart",
        rationale="see chart",
        chart=chart,
        metrics=None,
        edits=[{"path": "svc.yaml", "format": "yaml", "pointer": "/service/replicas", "from": 3, "to": 5}],
        created_by="op",
    )
    outcome = open_pr.open_pr(ws, int(row["id"]))
    assert outcome.status == "pr_opened"
    (pr,) = forge.pulls["infra"].values()
    png = forge.repo_path("infra")
    import subprocess

    blob = subprocess.run(
        ["git", "--git-dir", str(png), "show", f"{pr.head}:.driftgate/charts/proposal-{row['id']}.png"],
        capture_output=True,
        check=True,
    ).stdout
    assert blob.startswith(b"\x89PNG\r\n") and len(blob) > 2000
    assert "| mon | 420 | 300 |" in pr.body  # the table fallback is in the body too
    assert "![p99 latency](" in pr.comments[0]["body"] and "?raw=true" in pr.comments[0]["body"]


def test_chart_falls_back_to_a_table_when_it_cannot_render(
    ws: Workspace, repo_id: int, forge: LocalForge, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(open_pr, "render_png", lambda chart: None)
    chart = {"x": [1, 2], "series": {"a": [1, 2]}}
    row = proposals.create(
        ws,
        config_repo_id=repo_id,
        title="Table only",
        rationale="r",
        chart=chart,
        metrics=None,
        edits=[{"path": "svc.yaml", "format": "yaml", "pointer": "/service/replicas", "from": 3, "to": 4}],
        created_by="op",
    )
    assert open_pr.open_pr(ws, int(row["id"])).status == "pr_opened"
    (pr,) = forge.pulls["infra"].values()
    assert "could not be rendered" in pr.comments[0]["body"] and "| 1 | 1 |" in pr.comments[0]["body"]


def test_forge_rate_limits_are_retried_and_persistent_trouble_is_transient(
    ws: Workspace, repo_id: int, forge: LocalForge, monkeypatch: pytest.MonkeyPatch
) -> None:
    from driftgate.errors import TransientError
    from driftgate.localforge import Fault

    monkeypatch.setattr("driftgate.forge.retry.time.sleep", lambda _s: None)
    pid = proposal(ws, repo_id)
    forge.inject(
        Fault("POST /repos/*/pulls", secondary_rate_limit=True, retry_after=1),
        Fault("POST /repos/*/pulls", status=429, retry_after=1),
    )
    assert open_pr.open_pr(ws, pid).status == "pr_opened"  # absorbed by the client's retry policy

    other = proposal(
        ws,
        repo_id,
        [{"path": "conf/app.json", "format": "json", "pointer": "/limit", "from": 10, "to": 20}],
        title="Raise limit",
    )
    forge.inject(Fault("POST /repos/*/pulls", status=503, times=3))
    with pytest.raises(TransientError):  # the queue retries it later, with backoff
        open_pr.open_pr(ws, other)
    assert proposals.get(ws, other)["status"] == "pending"
    assert open_pr.open_pr(ws, other).status == "pr_opened"  # the retry: its branch is recognised
    assert len(forge.pulls["infra"]) == 2


def test_a_retry_after_a_failed_attempt_runs_again(ws: Workspace, repo_id: int, tmp_path: Path) -> None:
    from huey import SqliteHuey

    from driftgate.jobs.queue import Jobs
    from driftgate.services.proposals.lifecycle import request_open_pr

    jobs = Jobs(SqliteHuey("r", filename=str(tmp_path / "q.db"), results=False), workspace=lambda: ws)
    pid = proposal(
        ws,
        repo_id,
        [{"path": "svc.yaml", "format": "yaml", "pointer": "/service/replicas", "from": 99, "to": 5}],
    )
    first = request_open_pr(ws, pid, jobs)
    assert request_open_pr(ws, pid, jobs) == first  # queued: a double click shares it
    assert open_pr.open_pr(ws, pid).error["code"] == "VALUE_DRIFT"  # type: ignore[index]
    second = request_open_pr(ws, pid, jobs)
    assert second != first and proposals.get(ws, pid)["job_status"] == "queued"


def test_the_job_verdicts_and_the_job_status_they_leave(
    ws: Workspace, repo_id: int, forge: LocalForge
) -> None:
    """The use case decides (done, retry in N seconds, failed) and writes the job status; the queue's
    actor only maps the verdict onto its retries."""
    from driftgate.localforge import Fault

    pid = proposal(ws, repo_id)
    forge.inject(Fault("POST /repos/*/pulls", status=503, times=3))  # the forge is down for a while
    retry = open_pr.run_open_pr_job(ws, pid, attempt=2, attempts_left=3, base_delay=5.0)
    assert (retry.status, retry.spends_attempt, retry.retry_in) == ("retry", True, 10.0)  # 5 s x 2^(2-1)
    row = proposals.get(ws, pid)
    assert row["job_status"] == "queued" and row["pr_open_error"]["transient"] is True
    assert row["pr_open_error"]["code"] == "FORGE_UNAVAILABLE"

    forge.inject(Fault("POST /repos/*/pulls", status=503, times=3))
    last = open_pr.run_open_pr_job(ws, pid, attempt=6, attempts_left=0, base_delay=5.0)
    assert last.status == "failed" and proposals.get(ws, pid)["job_status"] == "failed"

    done = open_pr.run_open_pr_job(ws, pid, attempt=1, attempts_left=5, base_delay=5.0)
    assert (done.status, done.detail) == ("done", "pr_opened")
    settled = proposals.get(ws, pid)
    assert settled["status"] == "pr_opened" and settled["job_status"] == "done"
    again = open_pr.run_open_pr_job(ws, pid, attempt=1, attempts_left=5, base_delay=5.0)
    assert (again.status, again.detail) == ("done", "skipped") and proposals.get(ws, pid) == settled
