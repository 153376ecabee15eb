"""Logs are JSON and scrubbed everywhere; /metrics speaks Prometheus."""

from __future__ import annotations

import base64
import io
import json
import logging
from collections.abc import Iterator

import pytest
from fastapi.testclient import TestClient

from driftgate.api.app import create_app
from driftgate.security.logs import configure_logging, get_logger
from driftgate.security.redact import register_secret
from driftgate.services.workspace import Workspace


@pytest.fixture
def log_stream() -> Iterator[io.StringIO]:
    stream = io.StringIO()
    root = logging.getLogger()
    saved = (root.handlers[:], root.level)
    configure_logging("INFO", stream)
    yield stream
    root.handlers, root.level = saved


def lines(stream: io.StringIO) -> list[dict[str, object]]:
    return [json.loads(line) for line in stream.getvalue().splitlines() if line.strip()]


def test_every_log_record_is_json_and_redacted(log_stream: io.StringIO) -> None:
    secret = "resolved-secret-value-42"
    register_secret(secret)
    token = "ghp_" + "T" * 36
    b64 = base64.b64encode(secret.encode()).decode().rstrip("=")
    log = get_logger("driftgate.test")
    log.info("ours", nested={"deep": [f"token={token}", {"x": secret}]}, encoded=b64)
    logging.getLogger("httpx").warning("third party says %s and %s", token, secret)
    try:
        raise RuntimeError(f"failed with {secret}")
    except RuntimeError:
        log.exception("with traceback")
    text = log_stream.getvalue()
    assert token not in text and secret not in text and b64 not in text
    records = lines(log_stream)
    assert [r["event"] for r in records] == [
        "ours",
        "third party says [REDACTED] and [REDACTED]",
        "with traceback",
    ]
    assert "RuntimeError: failed with [REDACTED]" in str(records[2]["exception"])


def test_requests_carry_an_id_and_are_counted(ws: Workspace, log_stream: io.StringIO) -> None:
    with TestClient(create_app(ws)) as client:
        response = client.get("/healthz", headers={"X-Request-ID": "abc123"})
        assert response.headers["X-Request-ID"] == "abc123"
        assert client.get("/healthz").headers["X-Request-ID"]
        metrics = client.get("/metrics")
    assert metrics.status_code == 200
    body = metrics.text
    for name in (
        'driftgate_jobs{state="queued"}',
        "driftgate_job_duration_seconds_count",
        'driftgate_http_requests_total{method="GET",route="/healthz",status="200"}',
        "driftgate_up 1.0",
    ):
        assert name in body, body
    access = [r for r in lines(log_stream) if r["event"] == "request"]
    assert access[0]["request_id"] == "abc123" and access[0]["status"] == 200
