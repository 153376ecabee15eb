"""Commit from content and push through the seal: the one way driftgate publishes to a branch.

Following Flux's ``CommitAndPush``: the caller has the branch where it should start (see
``gitops/branches.py``); this builds the commit from the changes against the branch's tip (no
working tree is written), never makes an empty commit, and pushes with ``seal.publish`` (replayed
onto a remote that moved, never forced).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass

from driftgate.gitops.objects import commit_changes, resolve
from driftgate.gitops.seal import Checkout, publish

Changes = Mapping[str, bytes | None]
"""Path in the repository → new content (None deletes the file)."""


@dataclass(frozen=True)
class Published:
    """``commit``: what the branch holds now (after a replay), or the local commit when the push
    failed; None when the changes left every file as it was (nothing committed, nothing pushed)."""

    commit: str | None
    ok: bool = True
    detail: str = ""

    @property
    def committed(self) -> bool:
        return self.commit is not None


def commit_and_push(
    co: Checkout,
    changes: Callable[[str | None], Changes],
    message: str,
    *,
    before_push: Callable[[], None] | None = None,
) -> Published:
    """Commit ``changes(tip)`` on the local branch's tip and push it.

    ``changes`` gets the tip's commit id (None on an unborn branch) and returns only what differs;
    ``before_push`` runs between the commit and the push (a lease check).
    """
    parent = resolve(co.path, co.local)
    found = dict(changes(parent))
    if not found:
        return Published(None)
    sha = commit_changes(
        co.path, branch=co.branch, parent=parent, changes=found, message=message, identity=co.identity
    )
    if before_push is not None:
        before_push()
    pushed = publish(co)
    if not pushed.ok:
        return Published(sha, ok=False, detail=pushed.detail)
    return Published(resolve(co.path, co.local) or sha)
