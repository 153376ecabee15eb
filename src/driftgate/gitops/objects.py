"""Commits built straight from content, without a working tree.

``git fast-import`` writes every blob, tree and the commit in one process and
updates the branch only as a fast-forward (it has no force unless asked, and
driftgate never asks). Current files are read with one ``cat-file --batch``.
Unpushed commits are replayed onto a moved remote with a three-way merge in a
temporary index (a cherry-pick with no checkout; git 2.39 has no
``merge-tree --merge-base``).
"""

from __future__ import annotations

import subprocess
import tempfile
import time
from collections.abc import Mapping
from pathlib import Path

from driftgate.gitops.gitcmd import BOT, GitError, Identity, git_env, run_git

_TIMEOUT = 600.0


def _plumbing(repo: Path, args: list[str], payload: bytes, identity: Identity) -> bytes:
    """Run a git plumbing command that reads a stream on stdin (argv list, clean env, timeout)."""
    try:
        proc = subprocess.run(
            ["git", *args],
            cwd=repo,
            input=payload,
            capture_output=True,
            env=git_env(identity),
            timeout=_TIMEOUT,
            check=False,
        )
    except subprocess.TimeoutExpired:
        raise GitError(args, -1, f"timed out after {_TIMEOUT:g}s") from None
    if proc.returncode != 0:
        raise GitError(args, proc.returncode, proc.stderr.decode(errors="replace"))
    return proc.stdout


def resolve(repo: Path, ref: str) -> str | None:
    found = run_git("rev-parse", "--verify", "--quiet", f"{ref}^{{commit}}", cwd=repo, check=False)
    return found.stdout.strip() or None if found.returncode == 0 else None


def read_files(repo: Path, rev: str | None, prefix: str) -> dict[str, bytes]:
    """Every file under ``prefix`` at ``rev``, by path relative to ``prefix``."""
    if rev is None:
        return {}
    spec = "" if prefix in ("", ".") else prefix.rstrip("/") + "/"
    listing = run_git("ls-tree", "-r", "-z", "--full-tree", rev, "--", spec or ".", cwd=repo).stdout
    entries: list[tuple[str, str]] = []
    for record in filter(None, listing.split("\0")):
        meta, path = record.split("\t", 1)
        _mode, kind, sha = meta.split()
        if kind == "blob" and path.startswith(spec):
            entries.append((path[len(spec) :], sha))
    return dict(zip([rel for rel, _ in entries], _blobs(repo, [sha for _, sha in entries]), strict=True))


def _blobs(repo: Path, shas: list[str]) -> list[bytes]:
    """The contents of ``shas``, in order, from one ``cat-file --batch``."""
    if not shas:
        return []
    out = _plumbing(repo, ["cat-file", "--batch"], "".join(f"{sha}\n" for sha in shas).encode(), BOT)
    contents: list[bytes] = []
    pos = 0
    for _ in shas:
        end = out.index(b"\n", pos)
        size = int(out[pos:end].split()[2])
        contents.append(out[end + 1 : end + 1 + size])
        pos = end + 1 + size + 1
    return contents


def read_paths(repo: Path, rev: str, paths: list[str]) -> dict[str, bytes | None]:
    """The named files at ``rev``: bytes for a regular file, None for anything else; absent: left out."""
    found: dict[str, bytes | None] = {}
    blobs: list[tuple[str, str]] = []
    listing = run_git("ls-tree", "-z", "--full-tree", rev, "--", *paths, cwd=repo).stdout
    for record in filter(None, listing.split("\0")):
        meta, path = record.split("\t", 1)
        mode, kind, sha = meta.split()
        if kind == "blob" and mode in ("100644", "100755"):
            blobs.append((path, sha))
        else:
            found[path] = None  # a directory, symlink or submodule is not a file to edit
    found.update(zip([path for path, _ in blobs], _blobs(repo, [sha for _, sha in blobs]), strict=True))
    return found


def _quote(path: str) -> str:
    return (
        '"' + path.replace("\\", "\\\\").replace('"', '\\"') + '"'
        if path.startswith('"') or "\n" in path
        else path
    )


def commit_changes(
    repo: Path,
    *,
    branch: str,
    parent: str | None,
    changes: Mapping[str, bytes | None],
    message: str,
    identity: Identity = BOT,
) -> str:
    """One commit on ``refs/heads/<branch>`` with ``changes`` (path → content, None deletes)."""
    stamp = f"{int(time.time())} +0000"
    chunks = [
        f"commit refs/heads/{branch}\n".encode(),
        f"author {identity.name} <{identity.email}> {stamp}\n".encode(),
        f"committer {identity.name} <{identity.email}> {stamp}\n".encode(),
    ]
    raw = message.encode()
    chunks.append(f"data {len(raw)}\n".encode() + raw + b"\n")
    if parent is not None:
        chunks.append(f"from {parent}\n".encode())
    for path, content in sorted(changes.items()):
        if content is None:
            chunks.append(f"D {_quote(path)}\n".encode())
        else:
            chunks.append(f"M 100644 inline {_quote(path)}\ndata {len(content)}\n".encode() + content + b"\n")
    chunks.append(b"done\n")
    _plumbing(repo, ["fast-import", "--quiet", "--done", "--date-format=raw"], b"".join(chunks), identity)
    sha = resolve(repo, f"refs/heads/{branch}")
    assert sha is not None
    return sha


def replay(repo: Path, *, commits: list[str], onto: str, identity: Identity = BOT) -> str | None:
    """Cherry-pick ``commits`` (oldest first) onto ``onto`` without a checkout; None on conflict.

    Each pick is a three-way merge in a temporary index (``read-tree -m -i``):
    a path changed on both sides is a conflict; nothing is resolved by guesswork.
    """
    tip = onto
    with tempfile.TemporaryDirectory(prefix="driftgate-replay-") as tmp:
        env = {"GIT_INDEX_FILE": str(Path(tmp) / "index")}
        for commit in commits:
            run_git(
                "read-tree",
                "-m",
                "-i",
                "--aggressive",
                f"{commit}^",
                tip,
                commit,
                cwd=repo,
                env=env,
                identity=identity,
            )
            if run_git("ls-files", "--unmerged", cwd=repo, env=env).stdout.strip():
                return None
            tree = run_git("write-tree", cwd=repo, env=env).stdout.strip()
            message = run_git("log", "-1", "--format=%B", commit, cwd=repo).stdout.rstrip("\n")
            tip = run_git(
                "commit-tree", tree, "-p", tip, "-m", message, cwd=repo, identity=identity
            ).stdout.strip()
    return tip
