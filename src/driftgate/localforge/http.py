"""The local forge's HTTP server: one handler thread per request, plumbing and dispatch (git paths
to ``git_http``, ``/api/v3`` to ``rest``), token authentication as GitHub takes it, fault injection."""

from __future__ import annotations

import base64
import json
import re
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import TYPE_CHECKING, Any
from urllib.parse import parse_qs, urlsplit

from driftgate.localforge import documents as gh
from driftgate.localforge.forge import API, Answer
from driftgate.localforge.git_http import serve_git
from driftgate.localforge.gitea import GITEA_API, GiteaRoutes
from driftgate.localforge.gitlab import GITLAB_API, GitLabRoutes
from driftgate.localforge.rest import DOCS, R, RepoRoutes

if TYPE_CHECKING:
    from driftgate.localforge.forge import LocalForge


class Server(ThreadingHTTPServer):
    daemon_threads = True

    def handle_error(self, request: Any, client_address: Any) -> None:
        """A client that hung up (a timeout under test) is not an error of the forge."""
        import sys

        if isinstance(sys.exc_info()[1], ConnectionError):
            return
        super().handle_error(request, client_address)


class Handler(BaseHTTPRequestHandler):
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
        if self.forge.kind == "gitlab" and self.headers.get("PRIVATE-TOKEN") is not None:
            return self.headers["PRIVATE-TOKEN"].strip() == self.forge.token
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
        if fault.reset_after is not None:  # GitLab's way: when the window resets, in epoch seconds
            extra["RateLimit-Remaining"] = "0"
            extra["RateLimit-Reset"] = str(int(time.time()) + fault.reset_after)
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

    def do_PUT(self) -> None:
        self._dispatch()

    def _dispatch(self) -> None:
        url = urlsplit(self.path)
        path = url.path
        body = self._body()
        if path.startswith(API) and self.forge.kind == "github":
            self._api(path[len(API) :] or "/", url.query, body)
        elif path.startswith(GITEA_API) and self.forge.kind in ("gitea", "forgejo"):
            self._gitea(path[len(GITEA_API) :] or "/", url.query, body)
        elif path.startswith(GITLAB_API) and self.forge.kind == "gitlab":
            self._gitlab(path[len(GITLAB_API) :] or "/", url.query, body)
        else:
            serve_git(self, path, url.query, body)

    # -- REST ----------------------------------------------------------------------

    def _gitea(self, path: str, query: str, raw: bytes) -> None:
        if self._apply_fault(path):
            return
        if not self._authorized() and path != "/version":  # Gitea's version is public
            self._json(401, {"message": "token is required", "url": f"{self.forge.base}/api/swagger"})
            return
        try:
            payload = json.loads(raw) if raw else {}
        except ValueError:
            self._json(400, {"message": "invalid JSON body"})
            return
        GiteaRoutes(self, payload, parse_qs(query)).route(path)

    def _gitlab(self, path: str, query: str, raw: bytes) -> None:
        if self._apply_fault(path):
            return
        if not self._authorized():
            self._json(401, {"message": "401 Unauthorized"})
            return
        payload: Any = {}
        if raw and self.headers.get("Content-Type", "").startswith("application/x-www-form-urlencoded"):
            payload = {k: v[0] for k, v in parse_qs(raw.decode()).items()}
        elif raw:
            try:
                payload = json.loads(raw)
            except ValueError:
                self._json(400, {"error": "body is not valid JSON"})
                return
        GitLabRoutes(self, payload, parse_qs(query), path).route(path)

    def _api(self, path: str, query: str, raw: bytes) -> None:
        if self._apply_fault(path):
            return
        if path == "/meta" and self.command == "GET":  # GitHub Enterprise Server's, public
            self._json(200, gh.meta(), route=path)
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
            RepoRoutes(self, m.group(2), payload, parse_qs(query), path).route(m.group(3) or "")
