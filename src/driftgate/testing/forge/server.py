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

import base64
import fnmatch
import json
import math
import re
import subprocess
import threading
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, quote, unquote, urlencode, urlsplit

from driftgate.testing.forge import github_json as gh
from driftgate.testing.forge.github_json import Commit, FileChange, Pull, PullGit, Site

API = "/api/v3"
DOCS = "https://docs.github.com/rest"
ZERO = "0" * 40
PullRequest = Pull  # the name tests and callers know the forge's pull requests by

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


@dataclass
class Fault:
    """Answer the next ``times`` requests matching ``match`` (``"METHOD /path-glob"``) this way."""

    match: str
    status: int = 502
    times: int = 1
    retry_after: int | None = None
    secondary_rate_limit: bool = False
    rate_limit_exhausted: bool = False
    delay: float = 0.0
    body: dict[str, Any] | None = None

    def matches(self, method: str, path: str) -> bool:
        want_method, _, pattern = self.match.partition(" ")
        return want_method in (method, "*") and fnmatch.fnmatch(path, pattern)


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


def _now() -> str:
    return datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def _git(cwd: Path, *args: str, input_: bytes | None = None) -> str:
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


class _Server(ThreadingHTTPServer):
    daemon_threads = True

    def handle_error(self, request: Any, client_address: Any) -> None:
        """A client that hung up (a timeout under test) is not an error of the forge."""
        import sys

        if isinstance(sys.exc_info()[1], ConnectionError):
            return
        super().handle_error(request, client_address)


class LocalForge:
    """Start with ``with LocalForge(root, token=...) as forge:``; ``forge.create_repo(name)``."""

    def __init__(self, root: Path, *, token: str, owner: str = "driftgate", port: int = 0) -> None:
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
        self.created_at = _now()
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

        class Handler(_Handler):
            pass

        Handler.forge = forge
        self._server = _Server(("127.0.0.1", self.port), Handler)
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
        return self.base + API

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
        _git(path, "init", "--quiet", "--bare", f"--initial-branch={branch}")
        seed = self.root / f".seed-{name}"
        _git(self.root, "clone", "--quiet", str(path), str(seed))
        for rel, text in (files or {"README.md": f"# {name}\n"}).items():
            (seed / rel).parent.mkdir(parents=True, exist_ok=True)
            (seed / rel).write_text(text)
        _git(seed, "add", "-A")
        _git(seed, "commit", "--quiet", "-m", "initial commit")
        _git(seed, "push", "--quiet", "origin", f"HEAD:refs/heads/{branch}")
        self._serve(name)
        return self.repo_url(name)

    def adopt_existing(self) -> None:
        """Serve repositories already under ``root`` (a restarted forge keeps its git data)."""
        for path in sorted((self.root / self.owner).glob("*.git")):
            self._serve(path.name.removesuffix(".git"))

    def _serve(self, name: str) -> None:
        path = self.repo_path(name)
        _git(path, "config", "receive.denyNonFastForwards", "true")
        _git(path, "config", "receive.denyDeletes", "false")
        _git(path, "config", "http.receivepack", "true")
        hook = path / "hooks" / "pre-receive"
        hook.parent.mkdir(exist_ok=True)
        hook.write_text(_PRE_RECEIVE)
        hook.chmod(0o755)
        with self.lock:
            if name not in self.repos:
                self.repos[name] = RepoState(id=len(self.repos) + 1, created_at=_now())

    def default_branch(self, repo: str) -> str:
        return _git(self.repo_path(repo), "symbolic-ref", "--short", "HEAD").strip()

    def branch_sha(self, repo: str, branch: str) -> str | None:
        return self.ref_sha(repo, f"refs/heads/{branch}")

    def ref_sha(self, repo: str, ref: str) -> str | None:
        try:
            return _git(self.repo_path(repo), "rev-parse", "--verify", "--quiet", f"{ref}^{{commit}}").strip()
        except subprocess.CalledProcessError:
            return None

    def refs(self, repo: str, prefix: str = "refs/") -> list[tuple[str, str]]:
        """``(full name, sha)`` of every ref under ``prefix`` (a plain string prefix, as GitHub matches)."""
        out = _git(self.repo_path(repo), "for-each-ref", "--format=%(refname) %(objectname)", "refs/")
        pairs = [line.split(" ", 1) for line in out.splitlines() if line.strip()]
        return [(name, sha) for name, sha in pairs if name.startswith(prefix)]

    def commit(self, repo: str, rev: str) -> Commit:
        return self.log(repo, "-1", rev)[0]

    def log(self, repo: str, *args: str) -> list[Commit]:
        fmt = "%H%x00%T%x00%P%x00%an%x00%ae%x00%aI%x00%cn%x00%ce%x00%cI%x00%B%x1e"
        out = _git(self.repo_path(repo), "log", f"--format={fmt}", *args)
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

    def pull_git(self, repo: str, pr: Pull) -> PullGit:
        head = self.branch_sha(repo, pr.head) or ZERO
        base = self.branch_sha(repo, pr.base) or ZERO
        if ZERO in (head, base):
            return PullGit(head, base, 0, 0, 0, 0)
        files = self.pull_files(repo, pr)
        count = _git(self.repo_path(repo), "rev-list", "--count", f"{base}..{head}").strip()
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
        numstat = _git(path, "diff", "--numstat", "-M", "-z", spec).split("\x00")
        status = _git(path, "diff", "--name-status", "-M", "-z", spec).split("\x00")
        return _file_changes(path, head, numstat, status)

    def show(self, repo: str, ref: str, path: str) -> str:
        return _git(self.repo_path(repo), "show", f"{ref}:{path}")

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
        blob = ZERO if code == "D" else _git(path, "rev-parse", f"{head}:{new}").strip()
        changes.append(FileChange(new, _STATUS.get(code, "changed"), plus, minus, blob, old))
    return changes


class _Handler(BaseHTTPRequestHandler):
    forge: LocalForge
    protocol_version = "HTTP/1.1"

    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 - the base class's name
        return None

    # -- plumbing ----------------------------------------------------------------

    def _body(self) -> bytes:
        if self.headers.get("Transfer-Encoding", "").lower() == "chunked":
            chunks = []
            while True:
                size = int(self.rfile.readline().strip().split(b";")[0], 16)
                if size == 0:
                    self.rfile.readline()
                    break
                chunks.append(self.rfile.read(size))
                self.rfile.readline()
            return b"".join(chunks)
        length = int(self.headers.get("Content-Length") or 0)
        return self.rfile.read(length) if length else b""

    def _authorized(self) -> bool:
        """The token as a bearer or ``token`` credential, or in HTTP Basic as GitHub takes it: as the
        password (any username), or as the username with an empty or ``x-oauth-basic`` password."""
        scheme, _, value = self.headers.get("Authorization", "").partition(" ")
        if scheme.lower() in ("bearer", "token"):
            return value.strip() == self.forge.token
        if scheme.lower() != "basic":
            return False
        try:
            username, _, password = base64.b64decode(value).decode().partition(":")
        except ValueError:
            return False
        token = self.forge.token
        return password == token or (username == token and password in ("", "x-oauth-basic"))

    def _send(self, status: int, body: bytes, headers: dict[str, str]) -> None:
        self.send_response(status)
        for key, value in headers.items():
            self.send_header(key, value)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def _rate_headers(self) -> dict[str, str]:
        reset = int(time.time()) + 3600
        remaining = self.forge.rate_remaining
        return {
            "X-RateLimit-Limit": "5000",
            "X-RateLimit-Remaining": str(remaining),
            "X-RateLimit-Reset": str(reset),
            "X-RateLimit-Used": str(5000 - remaining),
            "X-RateLimit-Resource": "core",
        }

    def _json(self, status: int, data: Any, extra: dict[str, str] | None = None, route: str = "") -> None:
        headers = {"Content-Type": "application/json; charset=utf-8", **self._rate_headers(), **(extra or {})}
        with (
            self.forge.records_lock
        ):  # recorded before it is sent: a client that has its answer finds it here
            self.forge.calls.append((self.command, urlsplit(self.path).path, status))
            self.forge.answers.append(Answer(self.command, route, status, data))
        self._send(status, json.dumps(data).encode() if data is not None else b"", headers)

    def _error(self, status: int, message: str, extra: dict[str, str] | None = None, route: str = "") -> None:
        body = {"message": message, "documentation_url": DOCS, "status": str(status)}
        self._json(status, body, extra, route)

    def _apply_fault(self, path: str) -> bool:
        fault = self.forge.take_fault(self.command, path)
        if fault is None:
            return False
        if fault.delay:
            time.sleep(fault.delay)
            if fault.status == 200:
                return False
        extra: dict[str, str] = {}
        if fault.retry_after is not None:
            extra["Retry-After"] = str(fault.retry_after)
        if fault.secondary_rate_limit:
            body = {
                "message": "You have exceeded a secondary rate limit. Please wait a few minutes before you "
                "try again.",
                "documentation_url": DOCS,
            }
            self._json(403, body, extra)
        elif fault.rate_limit_exhausted:
            self.forge.rate_remaining = 0
            self._error(403, "API rate limit exceeded", extra)
            self.forge.rate_remaining = 5000
        else:
            self._error(fault.status, (fault.body or {}).get("message", "injected fault"), extra)
        return True

    # -- dispatch ----------------------------------------------------------------

    def do_GET(self) -> None:
        self._dispatch()

    def do_POST(self) -> None:
        self._dispatch()

    def do_PATCH(self) -> None:
        self._dispatch()

    def do_DELETE(self) -> None:
        self._dispatch()

    def _dispatch(self) -> None:
        url = urlsplit(self.path)
        path = url.path
        body = self._body()
        if path.startswith(API):
            self._api(path[len(API) :] or "/", url.query, body)
        else:
            self._git(path, url.query, body)

    # -- git smart HTTP ------------------------------------------------------------

    def _git(self, path: str, query: str, body: bytes) -> None:
        if self._apply_fault(path):
            return
        if not self._authorized():
            self._send(
                401,
                b"Authentication failed\n",
                {"WWW-Authenticate": 'Basic realm="local forge"', "Content-Type": "text/plain"},
            )
            return
        env = {
            "GIT_PROJECT_ROOT": str(self.forge.root),
            "GIT_HTTP_EXPORT_ALL": "1",
            "PATH_INFO": path,
            "QUERY_STRING": query,
            "REQUEST_METHOD": self.command,
            "CONTENT_TYPE": self.headers.get("Content-Type", ""),
            "CONTENT_LENGTH": str(len(body)),
            "REMOTE_USER": "driftgate",
            "REMOTE_ADDR": "127.0.0.1",
            "GIT_CONFIG_GLOBAL": "/dev/null",
            "HOME": "/dev/null",
            "PATH": "/usr/local/bin:/usr/bin:/bin",
        }
        if self.headers.get("Content-Encoding"):
            env["HTTP_CONTENT_ENCODING"] = self.headers["Content-Encoding"]
        if self.headers.get("Git-Protocol"):
            env["GIT_PROTOCOL"] = self.headers["Git-Protocol"]
        proc = subprocess.run(["git", "http-backend"], input=body, env=env, capture_output=True, check=False)
        head, _, payload = proc.stdout.partition(b"\r\n\r\n")
        status, headers = 200, {}
        for line in head.decode(errors="replace").split("\r\n"):
            key, _, value = line.partition(":")
            if key.lower() == "status":
                status = int(value.strip().split()[0])
            elif key:
                headers[key.strip()] = value.strip()
        self._send(status, payload, headers)

    # -- REST ----------------------------------------------------------------------

    def _api(self, path: str, query: str, raw: bytes) -> None:
        if self._apply_fault(path):
            return
        if not self._authorized():
            self._error(401, "Bad credentials")
            return
        try:
            payload = json.loads(raw) if raw else {}
        except ValueError:
            self._error(400, "Problems parsing JSON")
            return
        site = self.forge.site
        if path == "/rate_limit" and self.command == "GET":
            self._json(200, gh.rate_limit(self.forge.rate_remaining, int(time.time()) + 3600), route=path)
        elif path == "/user" and self.command == "GET":
            self._json(200, gh.private_user(site, self.forge.created_at), route=path)
        elif path == f"/users/{self.forge.owner}" and self.command == "GET":
            self._json(200, gh.private_user(site, self.forge.created_at), route="/users/{username}")
        else:
            m = re.fullmatch(r"/repos/([^/]+)/([^/]+)(/.*)?", path)
            if m is None or m.group(1) != self.forge.owner or m.group(2) not in self.forge.repos:
                self._error(404, "Not Found", route=R if m is not None and not m.group(3) else "")
                return
            _Api(self, m.group(2), payload, parse_qs(query), path).route(m.group(3) or "")


R = "/repos/{owner}/{repo}"


def _validation_failed(resource: str, *errors: dict[str, str]) -> dict[str, Any]:
    return {
        "message": "Validation Failed",
        "documentation_url": DOCS,
        "errors": [{"resource": resource, **e} for e in errors],
        "status": "422",
    }


class _Api:
    """The REST routes for one repository; each route names its contract path."""

    def __init__(self, h: _Handler, repo: str, payload: Any, query: dict[str, list[str]], path: str) -> None:
        self.h, self.repo, self.payload, self.query, self.path = h, repo, payload, query, path
        self.forge = h.forge
        self.site = self.forge.site
        self.pulls = self.forge.repos[repo].pulls
        self.template = ""

    def route(self, rest: str) -> None:
        routes: list[tuple[str, str, str, Callable[..., None]]] = [
            ("GET", r"", R, self.get_repo),
            ("GET", r"/branches", R + "/branches", self.list_branches),
            ("GET", r"/branches/(.+)", R + "/branches/{branch}", self.get_branch),
            ("GET", r"/pulls", R + "/pulls", self.list_pulls),
            ("POST", r"/pulls", R + "/pulls", self.create_pull),
            ("GET", r"/pulls/(\d+)", R + "/pulls/{pull_number}", self.get_pull),
            ("PATCH", r"/pulls/(\d+)", R + "/pulls/{pull_number}", self.update_pull),
            ("GET", r"/pulls/(\d+)/commits", R + "/pulls/{pull_number}/commits", self.pull_commits),
            ("GET", r"/pulls/(\d+)/files", R + "/pulls/{pull_number}/files", self.pull_files),
            ("GET", r"/pulls/(\d+)/merge", R + "/pulls/{pull_number}/merge", self.check_merged),
            ("GET", r"/issues/(\d+)", R + "/issues/{issue_number}", self.get_issue),
            ("GET", r"/issues/(\d+)/comments", R + "/issues/{issue_number}/comments", self.list_comments),
            ("POST", r"/issues/(\d+)/comments", R + "/issues/{issue_number}/comments", self.create_comment),
            ("GET", r"/git/ref/(.+)", R + "/git/ref/{ref}", self.get_ref),
            ("GET", r"/git/refs/(.+)", R + "/git/ref/{ref}", self.get_ref),  # a ref's own ``url``
            ("GET", r"/git/matching-refs/(.*)", R + "/git/matching-refs/{ref}", self.matching_refs),
            ("POST", r"/git/refs", R + "/git/refs", self.create_ref),
            ("DELETE", r"/git/refs/(.+)", R + "/git/refs/{ref}", self.delete_ref),
        ]
        for method, pattern, template, handler in routes:
            m = re.fullmatch(pattern, rest)
            if m and method == self.h.command:
                self.template = template
                handler(*(unquote(g) for g in m.groups()))
                return
        self.h._error(404, "Not Found")

    # -- answers ---------------------------------------------------------------------

    def ok(self, status: int, data: Any, extra: dict[str, str] | None = None) -> None:
        self.h._json(status, data, extra, self.template)

    def fail(self, status: int, message: str) -> None:
        self.h._error(status, message, route=self.template)

    def invalid(self, resource: str, *errors: dict[str, str]) -> None:
        self.h._json(422, _validation_failed(resource, *errors), route=self.template)

    def page(self, items: list[Any]) -> None:
        """One page of ``items`` with GitHub's ``Link`` header (``per_page`` 30 by default, 100 at most)."""
        try:
            per_page = min(max(int(self.query.get("per_page", ["30"])[0]), 1), 100)
            number = max(int(self.query.get("page", ["1"])[0]), 1)
        except ValueError:
            self.fail(422, "per_page and page must be integers")
            return
        last = max(math.ceil(len(items) / per_page), 1)
        links = {}
        if number < last:
            links["next"], links["last"] = number + 1, last
        if number > 1:
            links["first"], links["prev"] = 1, min(number - 1, last)
        header = ", ".join(f'<{self._page_url(n)}>; rel="{rel}"' for rel, n in links.items())
        chunk = items[(number - 1) * per_page : number * per_page]
        self.ok(200, chunk, {"Link": header} if header else None)

    def _page_url(self, number: int) -> str:
        query = {k: v[0] for k, v in self.query.items()}
        query["page"] = str(number)
        return f"{self.forge.api_url}{quote(self.path)}?{urlencode(query)}"

    def repo_doc(self) -> dict[str, Any]:
        state = self.forge.repos[self.repo]
        pushed = self.forge.commit(self.repo, "HEAD").committer["date"]
        doc = gh.repository(self.site, self.repo, state.id, created_at=state.created_at, pushed_at=pushed)
        doc["default_branch"] = self.forge.default_branch(self.repo)
        doc["open_issues"] = doc["open_issues_count"] = sum(p.state == "open" for p in self.pulls.values())
        return doc

    def pull_doc(self, pr: Pull, *, simple: bool = False) -> dict[str, Any]:
        git = self.forge.pull_git(self.repo, pr)
        if simple:
            return gh.pull_simple(self.site, self.repo, self.repo_doc(), pr, git)
        return gh.pull(self.site, self.repo, self.repo_doc(), pr, git, len(pr.comments))

    def _pull(self, number: str) -> Pull | None:
        pr = self.pulls.get(int(number))
        if pr is None:
            self.fail(404, "Not Found")
        return pr

    # -- repository and branches ---------------------------------------------------------

    def get_repo(self) -> None:
        self.ok(200, self.repo_doc())

    def list_branches(self) -> None:
        default = f"refs/heads/{self.forge.default_branch(self.repo)}"
        heads = self.forge.refs(self.repo, "refs/heads/")
        self.page(
            [
                gh.short_branch(
                    self.site, self.repo, name.removeprefix("refs/heads/"), sha, protected=name == default
                )
                for name, sha in heads
            ]
        )

    def get_branch(self, name: str) -> None:
        if self.forge.branch_sha(self.repo, name) is None:
            self.fail(404, "Branch not found")
            return
        head = self.forge.commit(self.repo, f"refs/heads/{name}")
        protected = name == self.forge.default_branch(self.repo)
        self.ok(200, gh.branch(self.site, self.repo, name, head, protected=protected))

    # -- pull requests and issues ---------------------------------------------------------

    def list_pulls(self) -> None:
        state = self.query.get("state", ["open"])[0]
        head = self.query.get("head", [None])[0]
        base = self.query.get("base", [None])[0]
        found = [
            pr
            for pr in sorted(self.pulls.values(), key=lambda p: -p.number)
            if (state == "all" or pr.state == state)
            and (head is None or f"{self.forge.owner}:{pr.head}" == head)
            and (base is None or pr.base == base)
        ]
        self.page([self.pull_doc(pr, simple=True) for pr in found])

    def create_pull(self) -> None:
        p = self.payload
        missing = [k for k in ("title", "head", "base") if not p.get(k)]
        if missing:
            self.invalid("PullRequest", *({"field": k, "code": "missing_field"} for k in missing))
            return
        head, base = str(p["head"]).split(":")[-1], str(p["base"])
        head_sha, base_sha = self.forge.branch_sha(self.repo, head), self.forge.branch_sha(self.repo, base)
        if head_sha is None or base_sha is None:
            self.invalid("PullRequest", {"field": "head" if head_sha is None else "base", "code": "invalid"})
            return
        ahead = _git(self.forge.repo_path(self.repo), "rev-list", "--count", f"{base_sha}..{head_sha}")
        if int(ahead) == 0:
            self.invalid(
                "PullRequest", {"code": "custom", "message": f"No commits between {base} and {head}"}
            )
            return
        if any(pr.head == head and pr.state == "open" for pr in self.pulls.values()):
            message = f"A pull request already exists for {self.forge.owner}:{head}."
            self.invalid("PullRequest", {"code": "custom", "message": message})
            return
        with self.forge.lock:
            number = max(self.pulls, default=0) + 1
            now = _now()
            pr = Pull(
                number,
                str(p["title"]),
                str(p.get("body") or ""),
                head,
                base,
                bool(p.get("draft", False)),
                now,
                now,
            )
            self.pulls[number] = pr
        data = self.pull_doc(pr)
        self.ok(201, data, {"Location": data["url"]})

    def get_pull(self, number: str) -> None:
        pr = self._pull(number)
        if pr is not None:
            self.ok(200, self.pull_doc(pr))

    def update_pull(self, number: str) -> None:
        pr = self._pull(number)
        if pr is None:
            return
        base = self.payload.get("base")
        if base is not None and self.forge.branch_sha(self.repo, str(base)) is None:
            self.invalid("PullRequest", {"field": "base", "code": "invalid"})
            return
        for key in ("title", "body"):
            if key in self.payload:
                setattr(pr, key, str(self.payload[key]))
        if self.payload.get("state") in ("open", "closed"):
            pr.state = self.payload["state"]
        if base is not None:
            pr.base = str(base)
        pr.updated_at = _now()
        self.ok(200, self.pull_doc(pr))

    def pull_commits(self, number: str) -> None:
        pr = self._pull(number)
        if pr is not None:
            self.page([gh.commit(self.site, self.repo, c) for c in self.forge.pull_commits(self.repo, pr)])

    def pull_files(self, number: str) -> None:
        pr = self._pull(number)
        if pr is not None:
            head = self.forge.branch_sha(self.repo, pr.head) or ZERO
            files = self.forge.pull_files(self.repo, pr)
            self.page([gh.diff_entry(self.site, self.repo, head, f) for f in files])

    def check_merged(self, number: str) -> None:
        pr = self.pulls.get(int(number))
        if pr is not None and pr.merged:
            self.ok(204, None)
        else:
            self.fail(404, "Not Found")

    def get_issue(self, number: str) -> None:
        pr = self._pull(number)
        if pr is not None:
            self.ok(200, gh.issue(self.site, self.repo, self.repo_doc(), pr, len(pr.comments)))

    def list_comments(self, number: str) -> None:
        pr = self._pull(number)
        if pr is not None:
            self.page([gh.issue_comment(self.site, self.repo, pr.number, c) for c in pr.comments])

    def create_comment(self, number: str) -> None:
        pr = self._pull(number)
        if pr is None:
            return
        if not self.payload.get("body"):
            self.invalid("IssueComment", {"field": "body", "code": "missing_field"})
            return
        now = _now()
        record = {
            "id": self.forge.next_comment_id(),
            "body": str(self.payload["body"]),
            "created_at": now,
            "updated_at": now,
        }
        pr.comments.append(record)
        data = gh.issue_comment(self.site, self.repo, pr.number, record)
        self.ok(201, data, {"Location": data["url"]})

    # -- git refs ---------------------------------------------------------------------------

    def get_ref(self, ref: str) -> None:
        sha = self.forge.ref_sha(self.repo, f"refs/{ref}") if ref.startswith(("heads/", "tags/")) else None
        if sha is None:
            self.fail(404, "Not Found")
        else:
            self.ok(200, gh.git_ref(self.site, self.repo, f"refs/{ref}", sha))

    def matching_refs(self, ref: str) -> None:
        """Every ref whose name starts with ``refs/<ref>`` (``heads`` matches all branches)."""
        found = self.forge.refs(self.repo, f"refs/{ref}")
        self.page([gh.git_ref(self.site, self.repo, name, sha) for name, sha in found])

    def create_ref(self) -> None:
        ref, sha = str(self.payload.get("ref") or ""), str(self.payload.get("sha") or "")
        if not ref.startswith("refs/") or ref.count("/") < 2:
            self.fail(422, "Reference name must start with 'refs/' and have at least two slashes.")
            return
        if not re.fullmatch(r"[0-9a-f]{40}", sha) or self.forge.ref_sha(self.repo, sha) is None:
            self.fail(422, "Object does not exist")
            return
        if self.forge.ref_sha(self.repo, ref) is not None:
            self.fail(422, "Reference already exists")
            return
        _git(self.forge.repo_path(self.repo), "update-ref", ref, sha, "")
        data = gh.git_ref(self.site, self.repo, ref, sha)
        self.ok(201, data, {"Location": data["url"]})

    def delete_ref(self, ref: str) -> None:
        full = f"refs/{ref}"
        if self.forge.ref_sha(self.repo, full) is None:
            self.fail(422, "Reference does not exist")
            return
        if full == f"refs/heads/{self.forge.default_branch(self.repo)}":
            self.fail(422, "Cannot delete the default branch")
            return
        _git(self.forge.repo_path(self.repo), "update-ref", "-d", full)
        self.ok(204, None)
