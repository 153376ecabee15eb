"""A plugin's stderr reaches driftgate's log line by line, through the redactor."""

from __future__ import annotations

import io
import json
import logging
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from driftgate.plugin.client import PluginProcess, PluginProvider
from driftgate.providers.base import ProviderContext
from driftgate.security.logs import configure_logging
from driftgate.spec.refs import SecretResolver
from tests.plugin.fakes import script

CHATTY = """
import sys
from driftgate.plugin import serve
from driftgate.providers.data import DataProvider

class Chatty(DataProvider):
    def configure(self, config, ctx):
        print("configured with", config, "and ghp_" + "Q" * 36, file=sys.stderr, flush=True)

sys.exit(serve(Chatty()))
"""


@pytest.fixture
def log_stream() -> Iterator[io.StringIO]:
    stream = io.StringIO()
    root = logging.getLogger()
    saved = (root.handlers[:], root.level)
    configure_logging("INFO", stream)
    yield stream
    root.handlers, root.level = saved


def test_a_plugin_s_stderr_is_logged_redacted(tmp_path: Path, log_stream: io.StringIO) -> None:
    secret = "plugin-config-secret-9731"
    resolver = SecretResolver(
        env=lambda name: secret if name == "DRIFTGATE_SECRET_KV" else None, files_root=tmp_path
    )
    config = resolver.resolve_all({"password": "secret://env/DRIFTGATE_SECRET_KV"})  # registers the value
    process = PluginProcess([str(script(tmp_path, "chatty", CHATTY))], source="provider 'data' (chatty)")
    process.start()
    provider = PluginProvider(process)
    try:
        provider.configure(config, ProviderContext(stack_dir=tmp_path))
        deadline = time.monotonic() + 5
        while "configured with" not in log_stream.getvalue() and time.monotonic() < deadline:
            time.sleep(0.02)
    finally:
        provider.close()
    text = log_stream.getvalue()
    assert secret not in text and "ghp_" + "Q" * 36 not in text
    (record,) = [json.loads(line) for line in text.splitlines() if "configured with" in line]
    assert record["event"] == "plugin" and record["plugin"] == "provider 'data' (chatty)"
    assert "[REDACTED]" in record["line"]
