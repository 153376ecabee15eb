"""A small GitHub stand-in on 127.0.0.1.

- Git over smart HTTP (``git http-backend``) for ``/<owner>/<repo>.git``, with
  token authentication (HTTP Basic with the token as password, as GitHub takes
  it). Bare repositories refuse non-fast-forward pushes and deletions.
- The REST subset driftgate uses (as GitHub publishes it: the tests validate every answer) under
  ``/api/v3`` (a GitHub Enterprise-style base URL): repositories, pull
  requests, comments, refs, the rate limit. Bodies start from the contract's
  own examples (``templates.json``, extracted from it with the example defects
  its README names fixed: ``requested_teams`` emptied, ``language`` set, the
  optional nested ``source``/``parent``/``template_repository`` dropped), so
  they keep its shape; tests validate every answer against the contract.
  Rate-limit headers on every answer.
- Fault injection: ``forge.inject(Fault(...))`` makes the next matching
  requests answer 5xx, 429 with Retry-After, 403 secondary rate limit, 401, a
  delay, or a rejected push.
"""

from __future__ import annotations

import base64
import copy
import fnmatch
import json
import re
import subprocess
import threading
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

TEMPLATES: dict[str, Any] = json.loads((Path(__file__).parent / "templates.json").read_text())
API = "/api/v3"
DOCS = "https://docs.github.com/rest"


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


@dataclass
class PullRequest:
    number: int
    title: str
    body: str
    head: str
    base: str
    draft: bool
    state: str = "open"
    merged: bool = False
    created_at: str = field(default_factory=lambda: _now())
    updated_at: str = field(default_factory=lambda: _now())
    comments: list[dict[str, Any]] = field(default_factory=list)


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
        self.faults: list[Fault] = []
        self.calls: list[tuple[str, str, int]] = []
        self.pulls: dict[str, dict[int, PullRequest]] = {}
        self.rate_remaining = 5000
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

    def repo_url(self, name: str) -> str:
        return f"{self.base}/{self.owner}/{name}.git"

    def repo_path(self, name: str) -> Path:
        return self.root / self.owner / f"{name}.git"

    # -- repositories ----------------------------------------------------------

    def create_repo(self, name: str, files: dict[str, str] | None = None, *, branch: str = "main") -> str:
        path = self.repo_path(name)
        path.mkdir(parents=True)
        _git(path, "init", "--quiet", "--bare", f"--initial-branch={branch}")
        _git(path, "config", "receive.denyNonFastForwards", "true")
        _git(path, "config", "receive.denyDeletes", "true")
        _git(path, "config", "http.receivepack", "true")
        seed = self.root / f".seed-{name}"
        _git(self.root, "clone", "--quiet", str(path), str(seed))
        for rel, text in (files or {"README.md": f"# {name}\n"}).items():
            (seed / rel).parent.mkdir(parents=True, exist_ok=True)
            (seed / rel).write_text(text)
        _git(seed, "add", "-A")
        _git(seed, "commit", "--quiet", "-m", "initial commit")
        _git(seed, "push", "--quiet", "origin", f"HEAD:refs/heads/{branch}")
        self.pulls[name] = {}
        return self.repo_url(name)

    def adopt_existing(self) -> None:
        """Serve repositories already under ``root`` (a restarted forge keeps its git data)."""
        for path in (self.root / self.owner).glob("*.git"):
            self.pulls.setdefault(path.name.removesuffix(".git"), {})

    def branch_sha(self, repo: str, branch: str) -> str | None:
        try:
            return _git(
                self.repo_path(repo), "rev-parse", "--verify", "--quiet", f"refs/heads/{branch}"
            ).strip()
        except subprocess.CalledProcessError:
            return None

    def show(self, repo: str, ref: str, path: str) -> str:
        return _git(self.repo_path(repo), "show", f"{ref}:{path}")

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

    def _token(self) -> str | None:
        auth = self.headers.get("Authorization", "")
        scheme, _, value = auth.partition(" ")
        if scheme.lower() in ("bearer", "token"):
            return value.strip()
        if scheme.lower() == "basic":
            try:
                return base64.b64decode(value).decode().partition(":")[2]
            except ValueError:
                return None
        return None

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

    def _json(self, status: int, data: Any, extra: dict[str, str] | None = None) -> None:
        headers = {"Content-Type": "application/json; charset=utf-8", **self._rate_headers(), **(extra or {})}
        self._send(status, json.dumps(data).encode() if data is not None else b"", headers)
        self.forge.calls.append((self.command, urlsplit(self.path).path, status))

    def _error(self, status: int, message: str, extra: dict[str, str] | None = None) -> None:
        self._json(status, {"message": message, "documentation_url": DOCS, "status": str(status)}, extra)

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
            self._api(path[len(API) :] or "/", parse_qs(url.query), body)
        else:
            self._git(path, url.query, body)

    # -- git smart HTTP ------------------------------------------------------------

    def _git(self, path: str, query: str, body: bytes) -> None:
        if self._apply_fault(path):
            return
        if self._token() != self.forge.token:
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

    def _api(self, path: str, query: dict[str, list[str]], raw: bytes) -> None:
        if self._apply_fault(path):
            return
        if self._token() != self.forge.token:
            self._error(401, "Bad credentials")
            return
        try:
            payload = json.loads(raw) if raw else {}
        except ValueError:
            self._error(400, "Problems parsing JSON")
            return
        if path == "/rate_limit" and self.command == "GET":
            self._json(200, TEMPLATES["rate_limit"])
            return
        m = re.fullmatch(r"/repos/([^/]+)/([^/]+)(/.*)?", path)
        if m is None or m.group(1) != self.forge.owner or m.group(2) not in self.forge.pulls:
            self._error(404, "Not Found")
            return
        _Api(self, m.group(2), payload, query).route(m.group(3) or "")


class _Api:
    """The REST routes for one repository."""

    def __init__(self, h: _Handler, repo: str, payload: Any, query: dict[str, list[str]]) -> None:
        self.h, self.repo, self.payload, self.query = h, repo, payload, query
        self.forge = h.forge
        self.pulls = self.forge.pulls[repo]

    def route(self, rest: str) -> None:
        method = self.h.command
        routes: list[tuple[str, str, Any]] = [
            ("GET", r"", self.get_repo),
            ("GET", r"/pulls", self.list_pulls),
            ("POST", r"/pulls", self.create_pull),
            ("GET", r"/pulls/(\d+)", self.get_pull),
            ("PATCH", r"/pulls/(\d+)", self.update_pull),
            ("GET", r"/pulls/(\d+)/merge", self.check_merged),
            ("GET", r"/issues/(\d+)/comments", self.list_comments),
            ("POST", r"/issues/(\d+)/comments", self.create_comment),
            ("GET", r"/git/ref/(.+)", self.get_ref),
            ("GET", r"/git/matching-refs/(.+)", self.matching_refs),
            ("DELETE", r"/git/refs/(.+)", self.delete_ref),
        ]
        for want, pattern, handler in routes:
            m = re.fullmatch(pattern, rest)
            if m and want == method:
                handler(*m.groups())
                return
        self.h._error(404, "Not Found")

    # helpers
    def _repo_urls(self) -> dict[str, str]:
        api = f"{self.forge.api_url}/repos/{self.forge.owner}/{self.repo}"
        return {"url": api, "html_url": f"{self.forge.base}/{self.forge.owner}/{self.repo}"}

    def _pull_json(self, pr: PullRequest, template: str = "pull_request") -> dict[str, Any]:
        data: dict[str, Any] = copy.deepcopy(TEMPLATES[template])
        urls = self._repo_urls()
        html = f"{urls['html_url']}/pull/{pr.number}"
        data.update(
            {
                "id": 1000 + pr.number,
                "number": pr.number,
                "title": pr.title,
                "body": pr.body,
                "state": pr.state,
                "draft": pr.draft,
                "url": f"{urls['url']}/pulls/{pr.number}",
                "html_url": html,
                "created_at": pr.created_at,
                "updated_at": pr.updated_at,
                "labels": [],
                "assignees": [],
                "requested_reviewers": [],
                "requested_teams": [],
                "milestone": None,
                "assignee": None,
                "closed_at": None if pr.state == "open" else pr.updated_at,
                "merged_at": pr.updated_at if pr.merged else None,
            }
        )
        if template == "pull_request":
            data.update({"merged": pr.merged, "comments": len(pr.comments), "merged_by": None})
        for side, branch in (("head", pr.head), ("base", pr.base)):
            data[side] = {
                **data[side],
                "ref": branch,
                "label": f"{self.forge.owner}:{branch}",
                "sha": self.forge.branch_sha(self.repo, branch) or "0" * 40,
            }
        return data

    def _pull(self, number: str) -> PullRequest | None:
        pr = self.pulls.get(int(number))
        if pr is None:
            self.h._error(404, "Not Found")
        return pr

    # routes
    def get_repo(self) -> None:
        data = copy.deepcopy(TEMPLATES["repository"])
        data.update(
            {
                "name": self.repo,
                "full_name": f"{self.forge.owner}/{self.repo}",
                "default_branch": "main",
                "clone_url": self.forge.repo_url(self.repo),
                **self._repo_urls(),
            }
        )
        self.h._json(200, data)

    def list_pulls(self) -> None:
        state = self.query.get("state", ["open"])[0]
        head = self.query.get("head", [None])[0]
        found = [
            pr
            for pr in self.pulls.values()
            if (state == "all" or pr.state == state)
            and (head is None or f"{self.forge.owner}:{pr.head}" == head)
        ]
        self.h._json(200, [self._pull_json(pr, "pull_request_simple") for pr in found])

    def create_pull(self) -> None:
        p = self.payload
        missing = [k for k in ("title", "head", "base") if not p.get(k)]
        if missing:
            self.h._json(
                422,
                {
                    "message": "Validation Failed",
                    "documentation_url": DOCS,
                    "errors": [
                        {"resource": "PullRequest", "field": k, "code": "missing_field"} for k in missing
                    ],
                },
            )
            return
        head = str(p["head"]).split(":")[-1]
        if self.forge.branch_sha(self.repo, head) is None:
            self.h._json(
                422,
                {
                    "message": "Validation Failed",
                    "documentation_url": DOCS,
                    "errors": [{"resource": "PullRequest", "field": "head", "code": "invalid"}],
                },
            )
            return
        if any(pr.head == head and pr.state == "open" for pr in self.pulls.values()):
            self.h._json(
                422,
                {
                    "message": "Validation Failed",
                    "documentation_url": DOCS,
                    "errors": [
                        {
                            "resource": "PullRequest",
                            "code": "custom",
                            "message": f"A pull request already exists for {self.forge.owner}:{head}.",
                        }
                    ],
                },
            )
            return
        with self.forge.lock:
            number = max(self.pulls, default=0) + 1
            pr = PullRequest(
                number,
                str(p["title"]),
                str(p.get("body") or ""),
                head,
                str(p["base"]),
                bool(p.get("draft", False)),
            )
            self.pulls[number] = pr
        data = self._pull_json(pr)
        self.h._json(201, data, {"Location": data["url"]})

    def get_pull(self, number: str) -> None:
        pr = self._pull(number)
        if pr is not None:
            self.h._json(200, self._pull_json(pr))

    def update_pull(self, number: str) -> None:
        pr = self._pull(number)
        if pr is None:
            return
        for key in ("title", "body"):
            if key in self.payload:
                setattr(pr, key, str(self.payload[key]))
        if self.payload.get("state") in ("open", "closed"):
            pr.state = self.payload["state"]
        pr.updated_at = _now()
        self.h._json(200, self._pull_json(pr))

    def check_merged(self, number: str) -> None:
        pr = self.pulls.get(int(number))
        if pr is not None and pr.merged:
            self.h._json(204, None)
        else:
            self.h._error(404, "Not Found")

    def list_comments(self, number: str) -> None:
        pr = self._pull(number)
        if pr is not None:
            self.h._json(200, pr.comments)

    def create_comment(self, number: str) -> None:
        pr = self._pull(number)
        if pr is None:
            return
        if not self.payload.get("body"):
            self.h._json(
                422,
                {
                    "message": "Validation Failed",
                    "documentation_url": DOCS,
                    "errors": [{"resource": "IssueComment", "field": "body", "code": "missing_field"}],
                },
            )
            return
        data = copy.deepcopy(TEMPLATES["issue_comment"])
        cid = 5000 + sum(len(p.comments) for p in self.pulls.values()) + 1
        urls = self._repo_urls()
        data.update(
            {
                "id": cid,
                "body": str(self.payload["body"]),
                "created_at": _now(),
                "updated_at": _now(),
                "url": f"{urls['url']}/issues/comments/{cid}",
                "html_url": f"{urls['html_url']}/pull/{pr.number}#issuecomment-{cid}",
                "issue_url": f"{urls['url']}/issues/{pr.number}",
            }
        )
        pr.comments.append(data)
        self.h._json(201, data, {"Location": data["url"]})

    def _ref_json(self, ref: str, sha: str) -> dict[str, Any]:
        data: dict[str, Any] = copy.deepcopy(TEMPLATES["git_ref"])
        url = f"{self._repo_urls()['url']}/git/refs/{ref}"
        data.update({"ref": f"refs/{ref}", "url": url})
        data["object"] = {**data["object"], "sha": sha, "type": "commit", "url": url}
        return data

    def get_ref(self, ref: str) -> None:
        sha = (
            self.forge.branch_sha(self.repo, ref.removeprefix("heads/")) if ref.startswith("heads/") else None
        )
        if sha is None:
            self.h._error(404, "Not Found")
        else:
            self.h._json(200, self._ref_json(ref, sha))

    def matching_refs(self, ref: str) -> None:
        out = _git(
            self.forge.repo_path(self.repo),
            "for-each-ref",
            "--format=%(refname) %(objectname)",
            f"refs/{ref}*" if not ref.endswith("/") else f"refs/{ref}",
        )
        refs = [line.split() for line in out.splitlines() if line.strip()]
        self.h._json(
            200,
            [
                self._ref_json(name.removeprefix("refs/"), sha)
                for name, sha in refs
                if name.startswith(f"refs/{ref}")
            ],
        )

    def delete_ref(self, ref: str) -> None:
        branch = ref.removeprefix("heads/")
        if not ref.startswith("heads/") or self.forge.branch_sha(self.repo, branch) is None:
            self.h._json(422, {"message": "Reference does not exist", "documentation_url": DOCS})
            return
        _git(self.forge.repo_path(self.repo), "update-ref", "-d", f"refs/heads/{branch}")
        self.h._json(204, None)
