"""Drift scans of a stack: live state against recorded state."""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path

from driftgate.drift.detect import DriftReport, detect_drift
from driftgate.errors import NotFoundError
from driftgate.services.workspace import Workspace
from driftgate.store import repositories as repo


def scan_drift(ws: Workspace, directory: Path, *, modules: Iterable[str] = ()) -> DriftReport:
    stack = ws.load_stack(directory)
    wanted = list(modules)
    unknown = [m for m in wanted if stack.module(m) is None]
    if unknown:
        raise NotFoundError(f"stack {stack.name!r} has no module {unknown[0]!r}")
    providers = ws.providers_for(stack)
    with ws.transaction() as conn:
        row = repo.ensure_stack(conn, stack.name, str(stack.directory))
        recorded = repo.load_state(conn, row.id)
    return detect_drift(stack.name, recorded, providers=providers, secrets=ws.secrets(), modules=wanted)
