"""moto's server over real HTTP (ThreadedMotoServer on 127.0.0.1, a free port), which the plugin
process reaches exactly as it would reach AWS."""

from __future__ import annotations

import http.client
import json
import logging
import os
import signal
import socket
import threading
import urllib.request
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import boto3
import pytest
from moto.server import ThreadedMotoServer


@dataclass
class Moto:
    url: str
    region: str = "eu-west-1"

    def config(self) -> dict[str, Any]:
        return {
            "region": self.region,
            "endpoint_url": self.url,
            "access_key_id": "secret://env/DRIFTGATE_SECRET_AWS_KEY_ID",
            "secret_access_key": "secret://env/DRIFTGATE_SECRET_AWS_SECRET",
        }

    def client(self, service: str) -> Any:
        return boto3.client(
            service,
            region_name=self.region,
            endpoint_url=self.url,
            aws_access_key_id="AKIAMOTOTESTKEY00000",
            aws_secret_access_key="moto-test-secret",
        )


@pytest.fixture(autouse=True)
def _isolate(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """No test touches a real data directory or home."""
    monkeypatch.setenv("DRIFTGATE_HOME", str(tmp_path / "driftgate-home"))
    monkeypatch.setenv("HOME", str(tmp_path / "user-home"))
    for name in ("DRIFTGATE_DATABASE_URL", "DRIFTGATE_PROVIDER_PLUGINS", "DRIFTGATE_SECRETS_DIR"):
        monkeypatch.delenv(name, raising=False)


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@pytest.fixture
def moto(monkeypatch: pytest.MonkeyPatch) -> Iterator[Moto]:
    logging.getLogger("werkzeug").setLevel(logging.ERROR)
    port = _free_port()
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=port, verbose=False)
    server.start()
    # moto keeps its state in this process, across servers: each test starts from an empty AWS
    urllib.request.urlopen(urllib.request.Request(f"http://127.0.0.1:{port}/moto-api/reset", method="POST"))
    monkeypatch.setenv("DRIFTGATE_SECRET_AWS_KEY_ID", "AKIAMOTOTESTKEY00000")
    monkeypatch.setenv("DRIFTGATE_SECRET_AWS_SECRET", "moto-test-secret")
    monkeypatch.setenv(
        "DRIFTGATE_SECRET_ENV_ALLOW", "DRIFTGATE_SECRET_AWS_KEY_ID,DRIFTGATE_SECRET_AWS_SECRET"
    )
    yield Moto(f"http://127.0.0.1:{port}")
    server.stop()


@dataclass
class Rule:
    """Requests whose ``X-Amz-Target`` ends with ``action`` and whose body holds ``needle``."""

    action: str
    needle: str
    throttle: int = 0  # answer this many with ThrottlingException (-1: every one)
    hold: Callable[[], None] | None = None  # call this, then never answer
    seen: int = 0


class FaultyAws:
    """An HTTP proxy in front of moto that throttles or holds chosen requests: AWS's failure
    modes, over the same wire the plugin uses."""

    def __init__(self, upstream: str) -> None:
        self.upstream = urlsplit(upstream)
        self.rules: list[Rule] = []
        self.released = threading.Event()
        proxy = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args: Any) -> None:
                return None

            def _forward(self) -> None:
                body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
                target = self.headers.get("X-Amz-Target", "")
                for rule in proxy.rules:
                    if target.endswith("." + rule.action) and rule.needle.encode() in body:
                        rule.seen += 1
                        if rule.hold is not None:
                            rule.hold()
                            proxy.released.wait(60)
                            return
                        if rule.throttle < 0 or rule.seen <= rule.throttle:
                            answer = json.dumps({"__type": "ThrottlingException", "message": "Rate exceeded"})
                            self.send_response(400)
                            self.send_header("Content-Type", "application/x-amz-json-1.0")
                            self.send_header("Content-Length", str(len(answer)))
                            self.end_headers()
                            self.wfile.write(answer.encode())
                            return
                conn = http.client.HTTPConnection(proxy.upstream.hostname, proxy.upstream.port, timeout=60)
                headers = {k: v for k, v in self.headers.items() if k.lower() != "host"}
                conn.request(self.command, self.path, body=body, headers=headers)
                reply = conn.getresponse()
                data = reply.read()
                self.send_response(reply.status)
                for key, value in reply.getheaders():
                    if key.lower() not in ("content-length", "transfer-encoding", "connection"):
                        self.send_header(key, value)
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)
                conn.close()

            do_GET = do_POST = do_PUT = do_DELETE = do_HEAD = _forward

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def close(self) -> None:
        self.released.set()
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def faulty(moto: Moto) -> Iterator[FaultyAws]:
    proxy = FaultyAws(moto.url)
    yield proxy
    proxy.close()


def kill_plugins(name: str = "driftgate-provider-aws") -> list[int]:
    """SIGKILL every child process of this one running ``name`` (the plugin of a CLI run in-process)."""
    killed = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            ppid = int((entry / "stat").read_text().rsplit(")", 1)[1].split()[1])
            cmdline = (entry / "cmdline").read_bytes().decode(errors="replace")
        except (OSError, IndexError, ValueError):
            continue
        if ppid == os.getpid() and name in cmdline:
            os.kill(int(entry.name), signal.SIGKILL)
            killed.append(int(entry.name))
    return killed
