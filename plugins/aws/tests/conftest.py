"""moto's server over real HTTP (ThreadedMotoServer on 127.0.0.1, a free port), which the plugin
process reaches exactly as it would reach AWS."""

from __future__ import annotations

import logging
import socket
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

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
    monkeypatch.setenv("DRIFTGATE_SECRET_AWS_KEY_ID", "AKIAMOTOTESTKEY00000")
    monkeypatch.setenv("DRIFTGATE_SECRET_AWS_SECRET", "moto-test-secret")
    monkeypatch.setenv(
        "DRIFTGATE_SECRET_ENV_ALLOW", "DRIFTGATE_SECRET_AWS_KEY_ID,DRIFTGATE_SECRET_AWS_SECRET"
    )
    yield Moto(f"http://127.0.0.1:{port}")
    server.stop()
