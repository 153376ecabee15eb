"""A small GitHub stand-in on 127.0.0.1.

- Git over smart HTTP (``git http-backend``) for ``/<owner>/<repo>.git``, with token
  authentication as GitHub takes it (HTTP Basic with the token as the password, or as the
  username with an empty or ``x-oauth-basic`` password). Non-fast-forward pushes are refused
  everywhere; deleting a branch is allowed except the default branch (a ``pre-receive`` hook).
- The REST routes a GitHub client needs for pull-request work, under ``/api/v3`` (a GitHub
  Enterprise-style base URL): the user, repositories, branches, refs, pull requests with their
  commits and files, issues and their comments, the rate limit. Every answer is built from the
  forge's own state (``github_json``): URLs point at the forge, ids are its own. Lists page as
  GitHub does (``per_page``, default 30, at most 100; ``page``; a ``Link`` header). Every answer
  is recorded with the route's contract path (``forge.answers``) so tests can validate it.
- Fault injection: ``forge.inject(Fault(...))`` makes the next matching requests answer 5xx,
  429 with Retry-After, 403 secondary rate limit, 401, a delay, or a rejected push.
"""

from __future__ import annotations

import re
import subprocess
import threading
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from http.server import ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import unquote

from driftgate.localforge import documents as gh
from driftgate.localforge.documents import Commit, FileChange, Pull, PullGit, Site
from driftgate.localforge.faults import Fault

API = "/api/v3"
KINDS = ("github", "gitea", "forgejo", "gitlab")
ZERO = "0" * 40

_PRE_RECEIVE = """#!/bin/sh
# The local forge: the default branch cannot be deleted (GitHub refuses it too).
default=$(git symbolic-ref HEAD)
while read old new ref; do
  if [ "$ref" = "$default" ] && [ "$new" = "0000000000000000000000000000000000000000" ]; then
    echo "refusing to delete the default branch $ref" >&2
    exit 1
  fi
done
"""


@dataclass(frozen=True)
class Answer:
    """One REST answer, with the contract path of the route that gave it (``/repos/{owner}/...``)."""

    method: str
    route: str
    status: int
    body: Any


@dataclass
class RepoState:
    id: int
    created_at: str
    pulls: dict[int, Pull] = field(default_factory=dict)


Route = tuple[str, str, str, Callable[..., None]]
"""A REST route: method, a pattern for the rest of the path, its contract path, its handler."""


def dispatch(
    routes: list[Route], method: str, rest: str
) -> tuple[str, Callable[..., None], list[str]] | None:
    """The route answering ``method rest``: (its contract path, its handler, the path's decoded
    parameters), or None."""
    for want, pattern, template, handler in routes:
        found = re.fullmatch(pattern, rest)
        if found and want == method:
            return template, handler, [unquote(g) for g in found.groups()]
    return None


def now() -> str:
    return datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def git(cwd: Path, *args: str, input_: bytes | None = None) -> str:
    return subprocess.run(
        ["git", *args],
        cwd=cwd,
        input=input_,
        capture_output=True,
        check=True,
        env={
            "PATH": "/usr/local/bin:/usr/bin:/bin",
            "GIT_CONFIG_GLOBAL": "/dev/null",
            "HOME": "/dev/null",
            "GIT_AUTHOR_NAME": "Forge",
            "GIT_AUTHOR_EMAIL": "forge@localhost",
            "GIT_COMMITTER_NAME": "Forge",
            "GIT_COMMITTER_EMAIL": "forge@localhost",
        },
    ).stdout.decode()


class LocalForge:
    """Start with ``with LocalForge(root, token=...) as forge:``; ``forge.create_repo(name)``."""

    def __init__(
        self, root: Path, *, token: str, owner: str = "driftgate", port: int = 0, kind: str = "github"
    ) -> None:
        if kind not in KINDS:
            raise ValueError(f"a local forge is one of {', '.join(KINDS)}, not {kind!r}")
        self.kind = kind  # which forge's REST API it answers (git over HTTP is the same for all)
        self.root = root
        self.port = port
        self.token = token
        self.owner = owner
        self.lock = threading.Lock()
        self.records_lock = threading.Lock()  # calls and answers, appended by every handler thread
        self.faults: list[Fault] = []
        self.calls: list[tuple[str, str, int]] = []
        self.answers: deque[Answer] = deque(maxlen=5000)  # read through recorded_answers()
        self.repos: dict[str, RepoState] = {}
        self.rate_remaining = 5000
        self.created_at = now()
        self._comment_ids = 0
        self._server: ThreadingHTTPServer | None = None
        self._thread: threading.Thread | None = None

    # -- lifecycle -----------------------------------------------------------

    def __enter__(self) -> LocalForge:
        self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def start(self) -> None:
        forge = self

        from driftgate.localforge.http import Handler, Server

        class Bound(Handler):
            pass

        Bound.forge = forge
        self._server = Server(("127.0.0.1", self.port), Bound)
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True, name="local-forge")
        self._thread.start()

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None

    @property
    def base(self) -> str:
        assert self._server is not None, "the forge is not started"
        return f"http://127.0.0.1:{self._server.server_address[1]}"

    @property
    def api_url(self) -> str:
        from driftgate.localforge.gitea import GITEA_API
        from driftgate.localforge.gitlab import GITLAB_API

        return self.base + {"github": API, "gitlab": GITLAB_API}.get(self.kind, GITEA_API)

    @property
    def site(self) -> Site:
        return Site(api=self.api_url, web=self.base, owner=self.owner)

    @property
    def pulls(self) -> dict[str, dict[int, Pull]]:
        """Each repository's pull requests by number."""
        return {name: repo.pulls for name, repo in self.repos.items()}

    def repo_url(self, name: str) -> str:
        return f"{self.base}/{self.owner}/{name}.git"

    def repo_path(self, name: str) -> Path:
        return self.root / self.owner / f"{name}.git"

    # -- repositories ----------------------------------------------------------

    def create_repo(self, name: str, files: dict[str, str] | None = None, *, branch: str = "main") -> str:
        path = self.repo_path(name)
        path.mkdir(parents=True)
        git(path, "init", "--quiet", "--bare", f"--initial-branch={branch}")
        seed = self.root / f".seed-{name}"
        git(self.root, "clone", "--quiet", str(path), str(seed))
        for rel, text in (files or {"README.md": f"# {name}\n"}).items():
            (seed / rel).parent.mkdir(parents=True, exist_ok=True)
            (seed / rel).write_text(text)
        git(seed, "add", "-A")
        git(seed, "commit", "--quiet", "-m", "initial commit")
        git(seed, "push", "--quiet", "origin", f"HEAD:refs/heads/{branch}")
        self._serve(name)
        return self.repo_url(name)

    def adopt_existing(self) -> None:
        """Serve repositories already under ``root`` (a restarted forge keeps its git data)."""
        for path in sorted((self.root / self.owner).glob("*.git")):
            self._serve(path.name.removesuffix(".git"))

    def _serve(self, name: str) -> None:
        path = self.repo_path(name)
        git(path, "config", "receive.denyNonFastForwards", "true")
        git(path, "config", "receive.denyDeletes", "false")
        git(path, "config", "http.receivepack", "true")
        hook = path / "hooks" / "pre-receive"
        hook.parent.mkdir(exist_ok=True)
        hook.write_text(_PRE_RECEIVE)
        hook.chmod(0o755)
        with self.lock:
            if name not in self.repos:
                self.repos[name] = RepoState(id=len(self.repos) + 1, created_at=now())

    def default_branch(self, repo: str) -> str:
        return git(self.repo_path(repo), "symbolic-ref", "--short", "HEAD").strip()

    def branch_sha(self, repo: str, branch: str) -> str | None:
        return self.ref_sha(repo, f"refs/heads/{branch}")

    def ref_sha(self, repo: str, ref: str) -> str | None:
        try:
            return git(self.repo_path(repo), "rev-parse", "--verify", "--quiet", f"{ref}^{{commit}}").strip()
        except subprocess.CalledProcessError:
            return None

    def refs(self, repo: str, prefix: str = "refs/") -> list[tuple[str, str]]:
        """``(full name, sha)`` of every ref under ``prefix`` (a plain string prefix, as GitHub matches)."""
        out = git(self.repo_path(repo), "for-each-ref", "--format=%(refname) %(objectname)", "refs/")
        pairs = [line.split(" ", 1) for line in out.splitlines() if line.strip()]
        return [(name, sha) for name, sha in pairs if name.startswith(prefix)]

    def commit(self, repo: str, rev: str) -> Commit:
        return self.log(repo, "-1", rev)[0]

    def log(self, repo: str, *args: str) -> list[Commit]:
        fmt = "%H%x00%T%x00%P%x00%an%x00%ae%x00%aI%x00%cn%x00%ce%x00%cI%x00%B%x1e"
        out = git(self.repo_path(repo), "log", f"--format={fmt}", *args)
        commits = []
        for record in out.split("\x1e"):
            parts = record.strip("\n").split("\x00")
            if len(parts) < 10:
                continue
            sha, tree, parents, an, ae, ad, cn, ce, cd, message = parts[:10]
            commits.append(
                Commit(
                    sha=sha,
                    tree=tree,
                    parents=tuple(parents.split()),
                    author=gh.git_user(an, ae, ad),
                    committer=gh.git_user(cn, ce, cd),
                    message=message.rstrip("\n"),
                )
            )
        return commits

    def pull_git(self, repo: str, pr: Pull, *, counts: bool = True) -> PullGit:
        """The two tips and, with ``counts``, the size of the diff (commits, lines, files)."""
        head = self.branch_sha(repo, pr.head) or ZERO
        base = self.branch_sha(repo, pr.base) or ZERO
        if ZERO in (head, base) or not counts:
            return PullGit(head, base, 0, 0, 0, 0)
        files = self.pull_files(repo, pr)
        count = git(self.repo_path(repo), "rev-list", "--count", f"{base}..{head}").strip()
        return PullGit(
            head,
            base,
            int(count),
            sum(f.additions for f in files),
            sum(f.deletions for f in files),
            len(files),
        )

    def pull_commits(self, repo: str, pr: Pull) -> list[Commit]:
        head, base = self.branch_sha(repo, pr.head), self.branch_sha(repo, pr.base)
        if head is None or base is None:
            return []
        return list(reversed(self.log(repo, f"{base}..{head}")))

    def pull_files(self, repo: str, pr: Pull) -> list[FileChange]:
        head, base = self.branch_sha(repo, pr.head), self.branch_sha(repo, pr.base)
        if head is None or base is None:
            return []
        path = self.repo_path(repo)
        spec = f"{base}...{head}"
        numstat = git(path, "diff", "--numstat", "-M", "-z", spec).split("\x00")
        status = git(path, "diff", "--name-status", "-M", "-z", spec).split("\x00")
        return _file_changes(path, head, numstat, status)

    def show(self, repo: str, ref: str, path: str) -> str:
        return git(self.repo_path(repo), "show", f"{ref}:{path}")

    def find_comment(self, repo: str, comment_id: int) -> tuple[Pull, dict[str, Any]] | None:
        """The pull request and record of a comment, by its id (ids are forge-wide)."""
        for pr in self.repos[repo].pulls.values():
            for comment in pr.comments:
                if comment["id"] == comment_id:
                    return pr, comment
        return None

    def next_comment_id(self) -> int:
        with self.lock:
            self._comment_ids += 1
            return 5000 + self._comment_ids

    def recorded_answers(self) -> list[Answer]:
        """The REST answers given so far (the last 5,000), a snapshot safe while requests run."""
        with self.records_lock:
            return list(self.answers)

    def forget_answers(self) -> None:
        with self.records_lock:
            self.answers.clear()

    def inject(self, *faults: Fault) -> None:
        with self.lock:
            self.faults.extend(faults)

    def take_fault(self, method: str, path: str) -> Fault | None:
        with self.lock:
            for fault in self.faults:
                if fault.matches(method, path):
                    fault.times -= 1
                    if fault.times <= 0:
                        self.faults.remove(fault)
                    return fault
        return None


_STATUS = {"A": "added", "D": "removed", "M": "modified", "R": "renamed", "C": "copied", "T": "changed"}


def _file_changes(path: Path, head: str, numstat: list[str], status: list[str]) -> list[FileChange]:
    """Pair ``--numstat -z`` with ``--name-status -z`` (renames carry two names in both)."""
    counts: list[tuple[int, int]] = []
    i = 0
    while i < len(numstat) and numstat[i]:
        added, deleted, name = numstat[i].split("\t", 2)
        counts.append((int(added) if added != "-" else 0, int(deleted) if deleted != "-" else 0))
        i += 1 if name else 3
    changes: list[FileChange] = []
    j = 0
    while j < len(status) and status[j]:
        code = status[j][0]
        if code in "RC":
            old, new, j = status[j + 1], status[j + 2], j + 3
        else:
            old, new, j = None, status[j + 1], j + 2
        plus, minus = counts[len(changes)]
        blob = ZERO if code == "D" else git(path, "rev-parse", f"{head}:{new}").strip()
        changes.append(FileChange(new, _STATUS.get(code, "changed"), plus, minus, blob, old))
    return changes
