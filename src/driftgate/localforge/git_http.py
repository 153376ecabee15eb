"""Git over smart HTTP for the local forge: ``git http-backend`` behind the token check."""

from __future__ import annotations

import subprocess
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from driftgate.localforge.http import Handler


def serve_git(h: Handler, path: str, query: str, body: bytes) -> None:
    """One smart-HTTP git request, through ``git http-backend`` (token checked first)."""
    if h._apply_fault(path):
        return
    if not h._authorized():
        h._send(
            401,
            b"Authentication failed\n",
            {"WWW-Authenticate": 'Basic realm="local forge"', "Content-Type": "text/plain"},
        )
        return
    env = {
        "GIT_PROJECT_ROOT": str(h.forge.root),
        "GIT_HTTP_EXPORT_ALL": "1",
        "PATH_INFO": path,
        "QUERY_STRING": query,
        "REQUEST_METHOD": h.command,
        "CONTENT_TYPE": h.headers.get("Content-Type", ""),
        "CONTENT_LENGTH": str(len(body)),
        "REMOTE_USER": "driftgate",
        "REMOTE_ADDR": "127.0.0.1",
        "GIT_CONFIG_GLOBAL": "/dev/null",
        "HOME": "/dev/null",
        "PATH": "/usr/local/bin:/usr/bin:/bin",
    }
    if h.headers.get("Content-Encoding"):
        env["HTTP_CONTENT_ENCODING"] = h.headers["Content-Encoding"]
    if h.headers.get("Git-Protocol"):
        env["GIT_PROTOCOL"] = h.headers["Git-Protocol"]
    proc = subprocess.run(["git", "http-backend"], input=body, env=env, capture_output=True, check=False)
    head, _, payload = proc.stdout.partition(b"\r\n\r\n")
    status, headers = 200, {}
    for line in head.decode(errors="replace").split("\r\n"):
        key, _, value = line.partition(":")
        if key.lower() == "status":
            status = int(value.strip().split()[0])
        elif key:
            headers[key.strip()] = value.strip()
    h._send(status, payload, headers)
