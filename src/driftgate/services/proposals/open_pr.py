"""The open-PR worker's use case: one approved proposal becomes one pull request.

Straight line: lease the repo (serialized across workers and machines) →
branch from the base tip → apply the edits from git objects (formatting kept)
→ commit → push through the push seal → open (or find) the pull request →
mark the proposal ``pr_opened`` with a conditional update, so an operator's
reject in the meantime wins. Terminal failures are stored, redacted, on the
proposal (which stays ``pending`` for a retry); transient ones are raised as
``TransientError`` for the queue to retry with backoff.
"""

from __future__ import annotations

import os
import random
import re
import threading
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Literal

from driftgate import errors
from driftgate.errors import DriftgateError, TerminalError, TransientError
from driftgate.forge import git_username
from driftgate.gitops.branches import start_at_base
from driftgate.gitops.clones import cached_checkout, has_remote_branch, reset_to_remote
from driftgate.gitops.gitcmd import Credential, GitError
from driftgate.gitops.objects import read_paths, resolve
from driftgate.gitops.publish import Published, commit_and_push
from driftgate.gitops.seal import Checkout, fetch
from driftgate.proposals.chart import render_png
from driftgate.proposals.edits import Edit, EditError, apply_edits
from driftgate.proposals.render import chart_table, pr_body
from driftgate.security.redact import redact
from driftgate.services.workspace import Workspace
from driftgate.store import config_repos as config_repos_db
from driftgate.store import leases as leases_db
from driftgate.store import proposals as proposals_db

PROPOSAL_TRAILER = "Driftgate-Proposal"


class LockContended(TransientError):
    code = errors.LOCK_CONTENDED


class RateLimited(TransientError):
    """The repo's PR budget is spent; ``retry_in`` seconds until it frees (or a poll interval)."""

    code = errors.PR_RATE_LIMITED

    def __init__(self, message: str, retry_in: float) -> None:
        super().__init__(message)
        self.retry_in = retry_in


def check_budget(ws: Workspace, repo_id: int, now: float) -> None:
    hour = 3600.0
    with ws.transaction() as conn:
        opened, open_now, oldest = proposals_db.pr_budget(conn, repo_id, since=now - hour)
    if open_now >= ws.settings.pr_max_open:
        raise RateLimited(f"{open_now} PRs are open on this repo (limit {ws.settings.pr_max_open})", 600.0)
    if opened >= ws.settings.pr_rate_per_hour:
        wait = max(1.0, (oldest or now) + hour - now)
        raise RateLimited(
            f"{opened} PRs opened in the last hour (limit {ws.settings.pr_rate_per_hour})", wait
        )


@dataclass(frozen=True)
class OpenPrOutcome:
    proposal_id: int
    status: str  # pr_opened | rejected_kept | failed | skipped
    pr_url: str | None = None
    error: dict[str, str] | None = None


def branch_for(proposal: dict[str, Any]) -> str:
    slug = re.sub(r"[^a-z0-9]+", "-", str(proposal["title"]).lower()).strip("-")[:40] or "change"
    return f"driftgate/proposal-{proposal['id']}-{slug}"


class LeaseLost(TransientError):
    """This job's lease was granted to another job (this one was paused or slow): it writes nothing."""


class RepoLease:
    """A per-repo lease with a fencing epoch, renewed by a heartbeat while the job runs.

    Every grant has a higher epoch than the one before. The heartbeat extends the
    lease (and the job's heartbeat, so the sweeper leaves a slow job alone) only
    while the grant is still this one; the push and the final state change check
    the same, so a worker paused past its lease that wakes up can write nothing.
    """

    def __init__(self, ws: Workspace, repo_id: int, proposal_id: int) -> None:
        self.ws = ws
        self.repo_id = repo_id
        self.proposal_id = proposal_id
        self.holder = f"{ws.settings.hostname}:{os.getpid()}:{uuid.uuid4().hex[:8]}"
        self.epoch = 0
        self._stop = threading.Event()
        self._beat: threading.Thread | None = None

    @property
    def seconds(self) -> float:
        # A lease lapses on the same clock as a silent job: a killed worker blocks its repo no longer
        # than it takes the sweeper to re-queue its job.
        return self.ws.settings.job_stale_seconds

    def __enter__(self) -> RepoLease:
        with self.ws.transaction() as conn:
            epoch = leases_db.take_lease(conn, self.repo_id, self.holder, seconds=self.seconds)
        if epoch is None:
            raise LockContended(f"config repo {self.repo_id} is busy with another job; retrying later")
        self.epoch = epoch
        self._beat = threading.Thread(target=self._heartbeat, name="driftgate-lease", daemon=True)
        self._beat.start()
        return self

    def __exit__(self, *_exc: object) -> None:
        self._stop.set()
        if self._beat is not None:
            self._beat.join(timeout=10)
        with self.ws.transaction() as conn:
            leases_db.release_lease(conn, self.repo_id, self.holder, self.epoch)

    @property
    def fence(self) -> Any:
        return leases_db.lease_fence(self.repo_id, self.holder, self.epoch)

    def check(self, before: str) -> None:
        """Raise LeaseLost unless this grant is still the current one."""
        with self.ws.transaction() as conn:
            current = leases_db.lease_is_current(conn, self.repo_id, self.holder, self.epoch)
        if not current:
            raise LeaseLost(f"lease on config repo {self.repo_id} was taken over; not {before}")

    def _heartbeat(self) -> None:
        every = max(0.05, self.seconds / 3)
        while not self._stop.wait(every):
            try:
                with self.ws.transaction() as conn:
                    if not leases_db.renew_lease(
                        conn, self.repo_id, self.holder, self.epoch, seconds=self.seconds
                    ):
                        return  # taken over: the fence stops every write from here on
                    proposals_db.update_proposal_fenced(
                        conn, self.proposal_id, self.fence, job_heartbeat=time.time()
                    )
            except DriftgateError:
                continue  # a store hiccup: the next beat tries again


def _fail(
    ws: Workspace, proposal_id: int, code: str, message: str, *, lease: RepoLease | None = None
) -> OpenPrOutcome:
    error = {"code": code, "message": redact(message)}
    with ws.transaction() as conn:
        if lease is None:
            proposals_db.update_proposal(conn, proposal_id, pr_open_error=error, job_status="failed")
        elif not proposals_db.update_proposal_fenced(
            conn, proposal_id, lease.fence, pr_open_error=error, job_status="failed"
        ):
            return OpenPrOutcome(proposal_id, "lease_lost")
    return OpenPrOutcome(proposal_id, "failed", error=error)


MAX_DELAY = 300.0  # the longest wait between two attempts after a transient failure
CONTENDED_DELAY = 1.0  # seconds (jittered) before a job retries a busy repo


@dataclass(frozen=True)
class JobVerdict:
    """What the queue's actor does next: ``done`` (whatever the outcome, nothing to retry), ``retry``
    in ``retry_in`` seconds (``spends_attempt``: a transient failure, counted against the job's
    attempts; a busy repo or a spent PR budget is not), or ``failed`` (attempts exhausted)."""

    status: Literal["done", "retry", "failed"]
    detail: str
    retry_in: float = 0.0
    spends_attempt: bool = False


def run_open_pr_job(
    ws: Workspace, proposal_id: int, *, attempt: int, attempts_left: int, base_delay: float
) -> JobVerdict:
    """One attempt of the open-PR job, with its job status written here and only here (besides the
    fenced ``done``/``failed`` that ``open_pr`` records with the proposal itself)."""
    with ws.transaction() as conn:  # a duplicate job for a settled proposal leaves it as it is
        running = proposals_db.update_proposal_if_pending(
            conn, proposal_id, job_status="running", job_heartbeat=time.time()
        )
    if not running:
        return JobVerdict("done", "skipped")
    try:
        return JobVerdict("done", open_pr(ws, proposal_id).status)
    except LockContended:  # another job holds this repo: not a failure, come back shortly
        _job_status(ws, proposal_id, "queued")
        return JobVerdict("retry", "contended", retry_in=CONTENDED_DELAY * (0.5 + random.random()))
    except RateLimited as exc:  # wait for the budget without spending the retry budget
        _job_status(ws, proposal_id, "queued", error=exc)
        return JobVerdict("retry", "rate_limited", retry_in=exc.retry_in)
    except TransientError as exc:
        if attempts_left <= 0:
            _job_status(ws, proposal_id, "failed", error=exc)
            return JobVerdict("failed", "failed")
        _job_status(ws, proposal_id, "queued", error=exc)
        delay = min(MAX_DELAY, base_delay * 2 ** (attempt - 1))
        return JobVerdict("retry", "transient", retry_in=delay, spends_attempt=True)


def lapsed_jobs(ws: Workspace) -> list[int]:
    """Open-PR jobs silent for longer than ``job_stale_seconds`` (their worker vanished), marked
    ``queued`` again: the caller enqueues each."""
    now = time.time()
    with ws.transaction() as conn:
        stale = proposals_db.stale_jobs(conn, older_than=now - ws.settings.job_stale_seconds)
    for proposal_id in stale:
        _job_status(ws, proposal_id, "queued")
    return list(stale)


def _job_status(ws: Workspace, proposal_id: int, status: str, *, error: DriftgateError | None = None) -> None:
    values: dict[str, Any] = {"job_status": status, "job_heartbeat": time.time()}
    if error is not None:
        values["pr_open_error"] = {"code": error.code, "message": redact(str(error)), "transient": True}
    with ws.transaction() as conn:
        proposals_db.update_proposal(conn, proposal_id, **values)


def open_pr(ws: Workspace, proposal_id: int) -> OpenPrOutcome:
    with ws.transaction() as conn:
        proposal = proposals_db.get_proposal(conn, proposal_id)
        repo = (
            config_repos_db.get_config_repo(conn, proposal["config_repo_id"])
            if proposal and proposal["config_repo_id"]
            else None
        )
    if proposal is None or proposal["status"] != "pending":
        return OpenPrOutcome(proposal_id, "skipped", proposal["pr_url"] if proposal else None)
    if repo is None:
        return _fail(ws, proposal_id, errors.REPO_NOT_CONFIGURED, "the proposal's config repo is gone")
    try:
        token = ws.secrets().resolve(repo.auth_ref)
    except DriftgateError as exc:
        return _fail(ws, proposal_id, errors.CREDENTIAL_NOT_CONFIGURED, str(exc))
    try:
        with RepoLease(ws, repo.id, proposal_id) as lease:
            try:
                check_budget(ws, repo.id, time.time())
                pr_url, pr_number = _open(
                    ws, proposal, repo, Credential(repo.url, token, git_username(repo.forge)), lease
                )
            except (EditError, TerminalError) as exc:
                code = exc.code if isinstance(exc, EditError) else getattr(exc, "code", errors.INTERNAL)
                return _fail(ws, proposal_id, code, str(exc), lease=lease)
            return _finish(ws, proposal_id, pr_url, pr_number, lease)
    except LeaseLost:
        return OpenPrOutcome(proposal_id, "lease_lost")


def _open(
    ws: Workspace,
    proposal: dict[str, Any],
    repo: config_repos_db.ConfigRepoRow,
    cred: Credential,
    lease: RepoLease,
) -> tuple[str, int]:
    from driftgate.forge import forge_for  # httpx only when a forge is used

    branch = branch_for(proposal)
    clones = ws.settings.home / "clones"
    with (
        forge_for(repo.url, cred.token, repo.forge) as forge,
        cached_checkout(clones, repo.url, branch, credential=cred, timeout=ws.settings.git_timeout) as co,
    ):
        existing = forge.find_open_pull_request(branch)
        if existing is not None:  # an earlier attempt got this far: finish, never duplicate
            return existing.url, existing.number
        if not fetch(co).ok:
            raise TransientError(f"cannot reach {repo.url}")
        if has_remote_branch(co):
            if not _is_ours(co, proposal["id"]):
                raise errors.CodedError(errors.BRANCH_EXISTS, f"branch {branch} already exists on the remote")
            reset_to_remote(co)  # our own push from an interrupted attempt: open its PR now
        else:
            # A new branch, just cut from the base's tip: pushed, and if the remote moved meanwhile
            # replayed and pushed again (never forced).
            published = _publish_edits(co, proposal, repo, before_push=lambda: lease.check(before="pushing"))
            if not published.ok:
                raise TransientError(f"push failed: {published.detail}")
        lease.check(before="opening the pull request")
        pr = forge.open_pull_request(
            head=branch, base=repo.default_branch, title=proposal["title"], body=pr_body(proposal)
        )
        if proposal.get("chart"):
            has_png = (
                read_paths(co.path, co.local, [chart_path(proposal)]).get(chart_path(proposal)) is not None
            )
            image = forge.file_url(branch, chart_path(proposal)) if has_png else None
            forge.comment(pr.number, chart_comment(proposal, image))
        return pr.url, pr.number


def chart_path(proposal: dict[str, Any]) -> str:
    return f".driftgate/charts/proposal-{proposal['id']}.png"


def chart_comment(proposal: dict[str, Any], image_url: str | None) -> str:
    """The chart's PNG, as the forge serves it from the PR branch; or its data, when it has none."""
    title = proposal["chart"].get("title") or "Chart"
    if image_url is not None:
        return f"**{title}**\n\n![{title}]({image_url})\n"
    return f"**{title}** (the image could not be rendered; the data):\n\n{chart_table(proposal['chart'])}\n"


def _is_ours(co: Checkout, proposal_id: int) -> bool:
    tip = resolve(co.path, co.tracking)
    if tip is None:
        return False
    from driftgate.gitops.gitcmd import commit_message

    return f"{PROPOSAL_TRAILER}: {proposal_id}" in commit_message(co.path, tip)


def _publish_edits(
    co: Checkout,
    proposal: dict[str, Any],
    repo: config_repos_db.ConfigRepoRow,
    *,
    before_push: Callable[[], None],
) -> Published:
    try:
        start_at_base(co, repo.default_branch)
    except GitError as exc:
        raise TransientError(str(exc)) from None
    edits = [Edit(e["path"], e["format"], e["pointer"], e["from"], e["to"]) for e in proposal["edits"]]

    def changes(parent: str | None) -> dict[str, bytes | None]:
        assert parent is not None
        files = read_paths(co.path, parent, sorted({e.path for e in edits}))
        changed: dict[str, bytes | None] = dict(apply_edits(files, edits))
        png = render_png(proposal["chart"]) if proposal.get("chart") else None
        if png is not None:
            changed[chart_path(proposal)] = png
        return {path: content for path, content in changed.items() if files.get(path) != content}

    message = f"{proposal['title']}\n\n{proposal['rationale']}\n\n{PROPOSAL_TRAILER}: {proposal['id']}\n"
    published = commit_and_push(co, changes, redact(message), before_push=before_push)
    if not published.committed:
        raise errors.CodedError(
            errors.INVALID_INPUT, "the edits leave every file as they were: nothing to propose"
        )
    return published


def _finish(ws: Workspace, proposal_id: int, pr_url: str, pr_number: int, lease: RepoLease) -> OpenPrOutcome:
    """The final state change, conditional twice: on the proposal still pending (a reject wins)
    and on this job's lease grant still being current (a job that was taken over writes nothing)."""
    with ws.transaction() as conn:
        if not leases_db.lease_is_current(conn, lease.repo_id, lease.holder, lease.epoch):
            raise LeaseLost(f"lease on config repo {lease.repo_id} was taken over; not recording the PR")
        opened = proposals_db.update_proposal_if_pending(
            conn,
            proposal_id,
            fence=lease.fence,
            status="pr_opened",
            pr_url=pr_url,
            pr_number=pr_number,
            pr_state="open",
            pr_open_error=None,
            job_status="done",
            pr_opened_at=time.time(),
        )
        if not opened:  # rejected meanwhile: the rejection stands; record that the PR exists
            proposals_db.update_proposal_fenced(
                conn,
                proposal_id,
                lease.fence,
                pr_url=pr_url,
                pr_number=pr_number,
                pr_state="open",
                job_status="done",
                pr_opened_at=time.time(),
            )
    return OpenPrOutcome(proposal_id, "pr_opened" if opened else "rejected_kept", pr_url)
