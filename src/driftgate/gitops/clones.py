"""The clone cache: one persistent clone per remote, reused across runs, locked per repo."""

from __future__ import annotations

import fcntl
import hashlib
import os
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from driftgate.gitops.gitcmd import BOT, Credential, GitError, Identity, run_git
from driftgate.gitops.seal import Checkout


def clone_dir(root: Path, url: str) -> Path:
    return root / hashlib.sha256(url.encode()).hexdigest()[:24]


@contextmanager
def repo_lock(path: Path) -> Iterator[None]:
    """Exclusive per-repo lock on this host: two runs never share a working tree at once."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(str(path) + ".lock", os.O_CREAT | os.O_RDWR, 0o600)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        yield
    finally:
        fcntl.flock(fd, fcntl.LOCK_UN)
        os.close(fd)


def _ensure_clone(path: Path, url: str, *, credential: Credential | None, identity: Identity) -> None:
    if (path / ".git").is_dir():
        return
    path.mkdir(parents=True, exist_ok=True)
    run_git("init", "--quiet", cwd=path, identity=identity)
    run_git("remote", "add", "origin", url, cwd=path, identity=identity)


@contextmanager
def cached_checkout(
    root: Path,
    url: str,
    branch: str,
    *,
    credential: Credential | None = None,
    identity: Identity = BOT,
) -> Iterator[Checkout]:
    """Lock the repo's clone and hand it over checked out on ``branch`` (created if needed).

    The caller runs the push seal first (it may hold unpushed commits from an
    earlier run) and then calls ``reset_to_remote`` before writing.
    """
    path = clone_dir(root, url)
    with repo_lock(path):
        _ensure_clone(path, url, credential=credential, identity=identity)
        co = Checkout(path=path, branch=branch, credential=credential, identity=identity)
        current = run_git("symbolic-ref", "--quiet", "--short", "HEAD", cwd=path, check=False).stdout.strip()
        if current != branch:
            run_git("checkout", "--quiet", "-B", branch, cwd=path, check=False)
        yield co


def has_remote_branch(co: Checkout) -> bool:
    try:
        return bool(run_git("rev-parse", "--verify", "--quiet", co.tracking, cwd=co.path, check=False).stdout)
    except GitError:
        return False


def reset_to_remote(co: Checkout) -> None:
    """Clean base: the work branch at the remote's tip, no stray files."""
    if has_remote_branch(co):
        run_git("reset", "--quiet", "--hard", co.tracking, cwd=co.path, identity=co.identity)
    run_git("clean", "-fdxq", cwd=co.path, identity=co.identity)
