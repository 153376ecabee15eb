"""The clone cache: one persistent clone per remote, reused across runs, locked per repo."""

from __future__ import annotations

import fcntl
import hashlib
import os
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from driftgate.gitops.gitcmd import BOT, NETWORK_TIMEOUT, Credential, Identity, run_git
from driftgate.gitops.objects import resolve
from driftgate.gitops.seal import Checkout


def clone_dir(root: Path, url: str) -> Path:
    return root / (hashlib.sha256(url.encode()).hexdigest()[:24] + ".git")


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


def _ensure_clone(path: Path, url: str, *, identity: Identity) -> None:
    """A bare repository: commits are built from content, so no working tree is ever written."""
    if (path / "HEAD").is_file():
        return
    path.mkdir(parents=True, exist_ok=True)
    run_git("init", "--quiet", "--bare", cwd=path, identity=identity)
    run_git("remote", "add", "origin", url, cwd=path, identity=identity)


@contextmanager
def cached_checkout(
    root: Path,
    url: str,
    branch: str,
    *,
    credential: Credential | None = None,
    identity: Identity = BOT,
    timeout: float = NETWORK_TIMEOUT,
) -> Iterator[Checkout]:
    """Lock the repo's cached clone and hand it over for ``branch``.

    The caller runs the push seal first (the clone may hold unpushed commits
    from an earlier run) and then ``reset_to_remote`` before committing.
    """
    path = clone_dir(root, url)
    with repo_lock(path):
        _ensure_clone(path, url, identity=identity)
        yield Checkout(path=path, branch=branch, credential=credential, identity=identity, timeout=timeout)


def has_remote_branch(co: Checkout) -> bool:
    return resolve(co.path, co.tracking) is not None


def reset_to_remote(co: Checkout) -> None:
    """Clean base: the local branch at the remote's tip (after the seal, nothing is lost)."""
    tip = resolve(co.path, co.tracking)
    if tip is not None:
        run_git("update-ref", co.local, tip, cwd=co.path, identity=co.identity)
