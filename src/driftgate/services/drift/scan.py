"""Drift scans of a stack: live state against recorded state."""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

from driftgate.drift.detect import DriftReport, detect_drift
from driftgate.errors import DriftgateError, NotFoundError
from driftgate.plan.state import RecordedResource
from driftgate.services.stacks.identity import stack_row
from driftgate.services.workspace import Workspace
from driftgate.spec.model import Stack
from driftgate.spec.refs import secret_refs_in
from driftgate.store import runs as runs_db
from driftgate.store import states as states_db


def scan_drift(
    ws: Workspace, directory: Path, *, modules: Iterable[str] = (), record: bool = True
) -> DriftReport:
    """Live state against recorded state. ``record``: the check is a run (``kind: drift``; ``failed``
    when it could not read everything), so a page shows the latest check, from wherever it ran."""
    stack = ws.load_stack(directory)
    wanted = list(modules)
    unknown = [m for m in wanted if stack.module(m) is None]
    if unknown:
        raise NotFoundError(f"stack {stack.name!r} has no module {unknown[0]!r}")
    providers = ws.providers_for(stack)
    with ws.transaction() as conn:
        row = stack_row(conn, stack, bind=False)
        recorded = states_db.load_state(conn, row.id)
    report = detect_drift(stack.name, recorded, providers=providers, secrets=ws.secrets(), modules=wanted)
    report = report.scrubbed(known_secret_values(ws, stack, recorded))
    if record:
        with ws.transaction() as conn:
            runs_db.record_run(
                conn,
                run_id=str(uuid.uuid4()),
                stack_id=row.id,
                kind="drift",
                actor=ws.settings.actor,
                pid=os.getpid(),
                host=ws.settings.hostname,
                status="failed" if report.errors else "succeeded",
                summary={"drift": report.to_dict()},
                errors=list(report.errors),
            )
    return report


def known_secret_values(ws: Workspace, stack: Stack, recorded: Mapping[str, RecordedResource]) -> set[str]:
    """Every secret value the stack references (specs, recorded state, provider config) that resolves.

    What was found live is scrubbed of these before it is shown, stored or drafted.
    """
    sources: list[Any] = [stack.spec.providers]
    sources += [r.spec for r in stack.resources.values()]
    sources += [r.attributes for r in recorded.values()] + [r.outputs for r in recorded.values()]
    resolver = ws.secrets()
    values: set[str] = set()
    for ref in dict.fromkeys(ref for source in sources for ref in secret_refs_in(source)):
        try:
            values.add(resolver.resolve(ref))
        except DriftgateError:
            continue  # a secret that cannot be read cannot be matched either
    return {v for v in values if v}
