"""The built-in providers served as plugins (``driftgate plugin serve data|file``), with the samples
the conformance kit creates, updates and deletes."""

from __future__ import annotations

import sys
from typing import Any

from driftgate.plugin.server import serve
from driftgate.providers.base import Provider
from driftgate.providers.data import VALUE, DataProvider
from driftgate.providers.file import FileProvider

SAMPLES: dict[str, dict[str, list[dict[str, Any]]]] = {
    "data": {
        VALUE: [
            {"name": "greeting", "attributes": {"input": "hello"}, "update": {"input": "hello again"}},
        ]
    },
    "postgres": {
        "postgres.role": [
            {
                "name": "conformance",
                "attributes": {"name": "driftgate_conformance", "login": True, "connection_limit": 3},
                "update": {"connection_limit": 4},
                "invalid": {"connection_limit": "many"},
            }
        ]
    },
    "file": {
        "file.file": [
            {
                "name": "motd",
                "attributes": {"path": "motd.txt", "content": "hello\n"},
                "update": {"content": "hello again\n"},
                "invalid": {"path": 7},
            }
        ]
    },
}


def serve_builtin(name: str) -> int:
    provider: Provider
    if name == "postgres":
        from driftgate.providers.postgres import PostgresProvider

        provider = PostgresProvider()
    else:
        provider = DataProvider() if name == "data" else FileProvider()
    return serve(provider, samples=SAMPLES[name])


def main(name: str) -> int:
    """``driftgate plugin serve NAME`` (the entry point's fast path: no CLI library is loaded)."""
    if name not in SAMPLES:
        print(
            f"usage error: plugin serve takes {' or '.join(sorted(SAMPLES))}, not {name!r}", file=sys.stderr
        )
        return 64
    return serve_builtin(name)
