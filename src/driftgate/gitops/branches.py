"""Where a branch starts: at the remote base's tip, or where the remote left it."""

from __future__ import annotations

from driftgate.gitops.clones import has_remote_branch, reset_to_remote
from driftgate.gitops.gitcmd import GitError, run_git
from driftgate.gitops.objects import resolve
from driftgate.gitops.seal import Checkout, fetch


def start_at_base(co: Checkout, base_branch: str) -> None:
    """Point the local branch at the remote base branch's tip (a new draft or PR branch)."""
    base = Checkout(
        path=co.path, branch=base_branch, credential=co.credential, identity=co.identity, timeout=co.timeout
    )
    fetched = fetch(base)
    tip = resolve(co.path, base.tracking) if fetched.ok else None
    if tip is None:
        raise GitError(("fetch", base_branch), 1, fetched.detail or f"no branch {base_branch} on the remote")
    run_git("update-ref", co.local, tip, cwd=co.path)


def continue_or_start(co: Checkout, base_branch: str) -> None:
    """Continue the branch where the remote has it, else start it at the base's tip."""
    if has_remote_branch(co):
        reset_to_remote(co)
    else:
        start_at_base(co, base_branch)


def forget_remote_branch(co: Checkout) -> None:
    """Drop the remote-tracking ref of a branch deleted on the remote (the next start is afresh)."""
    run_git("update-ref", "-d", co.tracking, cwd=co.path)
