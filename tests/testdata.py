"""Where the third-party data the tests need is: fetched from its package registry at set-up time by
``scripts/test-data`` (which ``scripts/test`` runs) into ``.cache/npm``, never kept in the repo."""

from __future__ import annotations

import os
from pathlib import Path

FETCHED = Path(__file__).resolve().parents[1] / ".cache" / "npm"


def fetched(variable: str, pattern: str) -> Path | None:
    """``$variable`` when it is set, else the newest match of ``pattern`` under ``.cache/npm``."""
    named = os.environ.get(variable)
    found = [Path(named)] if named else sorted(FETCHED.glob(pattern))
    return found[-1] if found and found[-1].is_file() else None
