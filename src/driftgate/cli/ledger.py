"""A run's ledger as plain lines: what ``runs show`` prints when piped (no rich, nothing cut)."""

from __future__ import annotations

import sys
from typing import Any

LEDGER_COLUMNS = ("#", "address", "action", "status", "ms", "error")


def write_ledger_lines(run: dict[str, Any]) -> None:
    """The run and its ledger as plain lines, one tab-separated line per action (piped: never cut)."""
    head = f"run {run['id']}  stack {run['stack']}  {run['kind']}  {run['status']}  by {run['actor']}"
    rows = ("\t".join(ledger_row(entry)) for entry in run["ledger"])
    sys.stdout.write("\n".join([head, "\t".join(LEDGER_COLUMNS), *rows]) + "\n")


def ledger_row(entry: dict[str, Any]) -> tuple[str, str, str, str, str, str]:
    ms = ""
    if entry["started_at"] and entry["finished_at"]:
        ms = f"{(entry['finished_at'] - entry['started_at']) * 1000:.1f}"
    error = " ".join(str(entry["error"] or "").split())
    return str(entry["index"]), entry["address"], entry["action"], entry["status"] or "", ms, error
