"""The ``--json`` contract: every document carries ``format_version``; timestamps are RFC 3339.

Documented in docs/json.md, with a JSON Schema per document in docs/json/ (the tests validate
every command's output against them). Within a major ``format_version``, fields are only added;
a field's removal or a change of its meaning bumps the major version.
"""

from __future__ import annotations

import json
import sys
from collections.abc import Iterable, Mapping
from datetime import UTC, datetime
from typing import Any

from driftgate.errors import Problem

FORMAT_VERSION = "1.1"


def rfc3339(seconds: float) -> str:
    """``2026-12-01T21:25:05.123Z``: UTC, millisecond precision."""
    return datetime.fromtimestamp(seconds, UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def with_timestamps(value: Any) -> Any:
    """Every field named ``*_at`` holding epoch seconds becomes an RFC 3339 string, at any depth."""
    if isinstance(value, Mapping):
        return {
            k: rfc3339(v)
            if str(k).endswith("_at") and isinstance(v, int | float) and not isinstance(v, bool)
            else with_timestamps(v)
            for k, v in value.items()
        }
    if isinstance(value, list | tuple):
        return [with_timestamps(v) for v in value]
    return value


def document(data: Mapping[str, Any]) -> dict[str, Any]:
    return {"format_version": FORMAT_VERSION, **with_timestamps(data)}


def print_json(data: Mapping[str, Any]) -> None:
    sys.stdout.write(json.dumps(document(data), indent=2, default=str) + "\n")


def diagnostic(
    summary: str,
    *,
    severity: str = "error",
    file: str | None = None,
    line: int | None = None,
    field: str | None = None,
    code: str | None = None,
) -> dict[str, Any]:
    """One finding, as Terraform's ``-json`` diagnostics carry them (with driftgate's error code)."""
    return {
        "severity": severity,
        "summary": summary,
        "file": file,
        "line": line,
        "field": field,
        "code": code,
    }


def from_problems(problems: Iterable[Problem], code: str | None = None) -> list[dict[str, Any]]:
    return [
        diagnostic(p.reason, file=p.path, line=p.line or None, field=p.field or None, code=code)
        for p in problems
    ]


def print_diagnostics(diagnostics: list[dict[str, Any]], **extra: Any) -> None:
    """An error of a ``--json`` command: the diagnostics on stdout (the exit code stays the same)."""
    print_json({**extra, "diagnostics": diagnostics})


def wants_json(argv: list[str]) -> bool:
    """``--json`` among the options (not after a ``--``)."""
    options = argv[: argv.index("--")] if "--" in argv else argv
    return "--json" in options
