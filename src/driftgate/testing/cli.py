"""Running the ``driftgate`` command in a test, as a user would: in process, or as the installed
executable (what driftgate itself starts, e.g. ``driftgate plugin serve``)."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Protocol

DRIFTGATE = str(Path(sys.executable).parent / "driftgate")  # the console script beside this Python


class _Captured(Protocol):
    out: str
    err: str


class Capture(Protocol):
    """pytest's ``capsys``."""

    def readouterr(self) -> _Captured: ...


def run(capsys: Capture, *args: str) -> tuple[int, str, str]:
    """``driftgate ARGS`` in process: (exit code, stdout, stderr)."""
    from driftgate.cli.app import main

    code = main(list(args))
    captured = capsys.readouterr()
    return code, captured.out, captured.err
