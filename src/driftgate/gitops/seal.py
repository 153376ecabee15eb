"""The push seal: every automated write is pushed before the run ends; nothing is forced.

Primitives return typed results and never raise on transient network trouble:
the caller decides. Rules for a run that may commit (``prepare_for_write``):

- behind the remote: fast-forward first; if that fails, make no writes;
- ahead with unpushed commits from an earlier run: retry the push first (after
  replaying them on the remote if it moved); if it still fails, make no writes;
- clean and equal to the remote: no git writes at all.

``push`` is a plain fast-forward push. There is no force, no force-with-lease.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from driftgate.errors import UnsafeRefError
from driftgate.gitops.gitcmd import (
    BOT,
    NETWORK_TIMEOUT,
    Credential,
    GitError,
    GitResult,
    GitTimeout,
    Identity,
    check_branch_name,
    run_git,
)
from driftgate.gitops.objects import replay, resolve


@dataclass(frozen=True)
class Checkout:
    """A cached repository (bare: driftgate writes commits, not files), a branch, and its remote."""

    path: Path
    branch: str
    remote: str = "origin"
    credential: Credential | None = None
    identity: Identity = BOT
    timeout: float = NETWORK_TIMEOUT  # for every git command on this checkout (DRIFTGATE_GIT_TIMEOUT)

    def __post_init__(self) -> None:
        reason = check_branch_name(self.branch)
        if reason is not None:
            raise UnsafeRefError(f"branch {self.branch!r}: {reason}")

    @property
    def tracking(self) -> str:
        return f"refs/remotes/{self.remote}/{self.branch}"

    @property
    def local(self) -> str:
        return f"refs/heads/{self.branch}"


@dataclass(frozen=True)
class GitOutcome:
    ok: bool
    detail: str = ""
    timed_out: bool = False  # the remote did not answer: retrying at once would only wait again


@dataclass(frozen=True)
class SealState:
    can_write: bool
    reason: str = ""
    pushed_pending: int = 0  # commits from an earlier run that this run pushed
    timed_out: bool = False
    conflict: bool = False  # unpushed local commits conflict with the remote's new commits


def _git(co: Checkout, *args: str, check: bool = True) -> str:
    return _run(co, *args, check=check).stdout


def _run(co: Checkout, *args: str, check: bool = True) -> GitResult:
    return run_git(
        *args, cwd=co.path, credential=co.credential, identity=co.identity, timeout=co.timeout, check=check
    )


def _failed(exc: GitError) -> GitOutcome:
    return GitOutcome(False, str(exc), timed_out=isinstance(exc, GitTimeout))


def fetch(co: Checkout) -> GitOutcome:
    """Update the remote-tracking ref; a branch the remote does not have is not an error."""
    try:
        result = _run(
            co, "fetch", "--quiet", co.remote, f"+refs/heads/{co.branch}:{co.tracking}", check=False
        )
    except GitError as exc:
        return _failed(exc)
    if result.returncode == 0:
        return GitOutcome(True)
    if "couldn't find remote ref" in result.stderr.lower():
        run_git("update-ref", "-d", co.tracking, cwd=co.path, check=False)
        return GitOutcome(True)
    return GitOutcome(False, str(GitError(result.args, result.returncode, result.stderr)))


def _exists(co: Checkout, ref: str) -> bool:
    return resolve(co.path, ref) is not None


def _rev_count(co: Checkout, *args: str) -> int | None:
    try:
        return int(_git(co, "rev-list", "--count", *args).strip())
    except (GitError, ValueError):
        return None


def count_ahead(co: Checkout) -> int | None:
    """Local commits the remote does not have (None: unknown)."""
    if not _exists(co, co.local):
        return 0
    if _exists(co, co.tracking):
        return _rev_count(co, f"{co.tracking}..{co.local}")
    return _rev_count(co, co.local, "--not", f"--remotes={co.remote}")


def count_behind(co: Checkout) -> int | None:
    """Remote commits the local branch does not have; fetches first (None: unknown)."""
    fetched = fetch(co)
    if not fetched.ok:
        raise _Unreachable(fetched)
    if not _exists(co, co.tracking):
        return 0
    if not _exists(co, co.local):
        return _rev_count(co, co.tracking)
    return _rev_count(co, f"{co.local}..{co.tracking}")


def pull_ff_only(co: Checkout) -> GitOutcome:
    """Move the local branch to the remote's tip, only as a fast-forward."""
    old = resolve(co.path, co.local)
    new = resolve(co.path, co.tracking)
    if new is None:
        return GitOutcome(True)
    if (
        old is not None
        and run_git("merge-base", "--is-ancestor", old, new, cwd=co.path, check=False).returncode
    ):
        return GitOutcome(False, f"{co.local} has commits that {co.tracking} does not")
    try:
        _git(co, "update-ref", co.local, new, *([old] if old else []))
        return GitOutcome(True)
    except GitError as exc:
        return GitOutcome(False, str(exc))


def push(co: Checkout) -> GitOutcome:
    """Fast-forward push of the local branch. A rejection is reported, never forced."""
    try:
        _git(co, "push", "--quiet", "--porcelain", co.remote, f"{co.local}:refs/heads/{co.branch}")
        return GitOutcome(True)
    except GitError as exc:
        return _failed(exc)


def _replay_on_remote(co: Checkout) -> GitOutcome:
    """Replay unpushed local commits onto the moved remote (nothing is rewritten remotely)."""
    commits = _git(co, "rev-list", "--reverse", f"{co.tracking}..{co.local}").split()
    onto = resolve(co.path, co.tracking)
    assert onto is not None
    tip = replay(co.path, commits=commits, onto=onto, identity=co.identity)
    if tip is None:
        return GitOutcome(False, "replaying them on the remote's tip conflicts")
    _git(co, "update-ref", co.local, tip)
    return GitOutcome(True)


class _Unreachable(Exception):
    def __init__(self, outcome: GitOutcome) -> None:
        self.outcome = outcome


def unpushed_paths(co: Checkout) -> set[str]:
    """Files that the unpushed local commits change (since they left the remote's history)."""
    return _changed_since_fork(co, co.tracking, co.local)


def unpulled_paths(co: Checkout) -> set[str]:
    """Files that the remote's new commits change (since the local branch left its history)."""
    return _changed_since_fork(co, co.local, co.tracking)


def _changed_since_fork(co: Checkout, base: str, side: str) -> set[str]:
    if not _exists(co, base) or not _exists(co, side):
        return set()
    listed = _git(co, "diff", "--name-only", "-z", "--no-renames", f"{base}...{side}")
    return {p for p in listed.split("\0") if p}


def drop_unpushed(co: Checkout) -> None:
    """Move the local branch back to the remote's tip: its unpushed commits are given up.

    Only for commits whose content is superseded (the caller checks): never a push, never forced.
    """
    tip = resolve(co.path, co.tracking)
    if tip is not None:
        _git(co, "update-ref", co.local, tip)


def prepare_for_write(co: Checkout, *, whose: str = "from an earlier run") -> SealState:
    """Apply the seal's rules before a run writes; say whether it may.

    ``whose`` names the unpushed commits in messages: before a run writes they can
    only be an earlier run's; when ``publish`` retries, they are this run's own.
    """
    try:
        behind = count_behind(co)
    except _Unreachable as exc:
        detail = exc.outcome.detail if exc.outcome.timed_out else "fetch failed"
        return SealState(False, f"cannot reach the remote: {detail}", timed_out=exc.outcome.timed_out)
    if behind is None:
        return SealState(False, "cannot reach the remote: fetch failed")
    ahead = count_ahead(co) or 0
    if ahead and behind:
        replayed = _replay_on_remote(co)
        if not replayed.ok:
            return SealState(
                False, f"unpushed commits conflict with the remote: {replayed.detail}", conflict=True
            )
        behind = 0
    if ahead:
        pushed = push(co)
        if not pushed.ok:
            return SealState(
                False,
                f"{ahead} unpushed commit(s) {whose} still cannot be pushed: {pushed.detail}",
                timed_out=pushed.timed_out,
            )
        return SealState(True, pushed_pending=ahead)
    if behind:
        pulled = pull_ff_only(co)
        if not pulled.ok:
            return SealState(False, f"cannot fast-forward to the remote: {pulled.detail}")
    return SealState(True)


def publish(co: Checkout, *, attempts: int = 3) -> GitOutcome:
    """Push HEAD; if the remote moved meanwhile, replay on its tip and try again (never force)."""
    last = push(co)
    for _ in range(attempts - 1):
        if last.ok or last.timed_out:
            return last  # a remote that did not answer is not asked again at once
        state = prepare_for_write(co, whose="of this run")  # fetch, replay on the new tip, push
        if state.can_write and count_ahead(co) == 0:
            return GitOutcome(True)
        last = GitOutcome(False, state.reason or last.detail, timed_out=state.timed_out)
    return last
