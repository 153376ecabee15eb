"""``terraform apply -json``'s machine-readable stream as one outcome per planned address.

- ``apply_complete`` → SUCCESS (a replacement needs both its halves, in either order:
  destroy-then-create or create-before-destroy);
- a planned delete with no event at all, in an apply that ran to its ``change_summary`` without an
  error → SUCCESS: Terraform *forgot* it (a ``removed`` block with ``destroy = false``) and
  reports nothing for that;
- ``apply_errored`` → ERROR (DELETE_FAILED for a delete), with the text of the error diagnostic
  that names the address (or, failing that, the next error diagnostic);
- a planned address that never reported (dependents of a failure, or an apply stopped early)
  → ERROR, not attempted;
- an error diagnostic about an address that had completed (a postcondition: Terraform names no
  address then, only the resource block in its snippet) → ERROR for it; one about no planned
  address → a run-level error.

The result is then held to the whole-plan contract like any plugin's: one outcome per action.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from driftgate.security.redact import redact

NOT_ATTEMPTED = "not attempted: Terraform never started it (it waits on a change that failed)"


@dataclass
class Outcome:
    status: str  # SUCCESS | ERROR | DELETE_FAILED
    attempted: bool
    error: str | None = None


@dataclass
class ApplyStream:
    outcomes: dict[str, Outcome]
    errors: list[str] = field(default_factory=list)  # run-level: tied to no planned address
    outputs: dict[str, tuple[Any, bool]] = field(default_factory=dict)  # name -> (value, sensitive)
    version: str = ""


def _diagnostic_text(diagnostic: Mapping[str, Any]) -> str:
    summary = str(diagnostic.get("summary") or "error")
    detail = " ".join(str(diagnostic.get("detail") or "").split())
    return redact(f"{summary}: {detail}" if detail else summary)


def parse_apply(lines: Iterable[str], planned: Mapping[str, str]) -> ApplyStream:
    """``planned``: Terraform address → driftgate action kind, for every change sent to apply."""
    started: dict[str, bool] = {}
    state: dict[str, str] = {}  # address -> complete | errored
    halves: dict[str, set[str]] = {}  # address -> the hook actions that completed (create, delete …)
    summarised = False
    errors_for: dict[str, str] = {}
    loose: list[str] = []
    stream = ApplyStream(outcomes={})
    for line in lines:
        try:
            message = json.loads(line)
        except ValueError:
            continue  # Terraform prints only JSON with -json; anything else is not ours to read
        if not isinstance(message, dict):
            continue
        kind = message.get("type")
        hook = message.get("hook") or {}
        address = str((hook.get("resource") or {}).get("addr", ""))
        if kind == "version":
            stream.version = str(message.get("terraform", ""))
        elif kind == "apply_start" and address:
            started[address] = True
        elif kind == "apply_complete" and address:
            state[address] = "complete"
            halves.setdefault(address, set()).add(str(hook.get("action", "")))
        elif kind == "change_summary":
            summarised = (message.get("changes") or {}).get("operation") == "apply"
        elif kind == "apply_errored" and address:
            started[address] = True
            state[address] = "errored"
        elif kind == "diagnostic":
            diagnostic = message.get("diagnostic") or {}
            if diagnostic.get("severity") != "error":
                continue
            text = _diagnostic_text(diagnostic)
            named = _addresses(diagnostic, planned)
            for address in named:
                errors_for.setdefault(address, text)
            if not named:
                loose.append(text)
        elif kind == "outputs":
            for name, raw in (message.get("outputs") or {}).items():
                sensitive = bool(raw.get("sensitive"))
                stream.outputs[name] = (None if sensitive else raw.get("value"), sensitive)
    unclaimed = list(loose)
    clean = summarised and not loose and not errors_for and "errored" not in state.values()
    for address, action in planned.items():
        if state.get(address) == "errored":
            text = errors_for.get(address) or (
                unclaimed.pop(0) if unclaimed else "Terraform reported an error"
            )
            status = "DELETE_FAILED" if action == "delete" else "ERROR"
            stream.outcomes[address] = Outcome(status, True, text)
        elif state.get(address) == "complete":
            if address in errors_for:  # completed, then a postcondition (or check) failed
                stream.outcomes[address] = Outcome("ERROR", True, errors_for[address])
            elif action == "replace" and not _replaced(halves.get(address, set())):
                done = ", ".join(sorted(halves.get(address, set())))
                why = f"Terraform finished only part of its replacement ({done}); live state uncertain"
                stream.outcomes[address] = Outcome("ERROR", True, why)
            else:
                stream.outcomes[address] = Outcome("SUCCESS", True)
        elif clean and action == "delete" and not started.get(address):
            stream.outcomes[address] = Outcome("SUCCESS", False)  # forgotten, not destroyed
        elif address in errors_for:
            stream.outcomes[address] = Outcome("ERROR", started.get(address, False), errors_for[address])
        else:
            attempted = started.get(address, False)
            why = "Terraform started it and never reported an end" if attempted else NOT_ATTEMPTED
            stream.outcomes[address] = Outcome("ERROR", attempted, why)
    claimed = {o.error for o in stream.outcomes.values()}
    stream.errors = [text for text in loose if text not in claimed]
    return stream


def _replaced(halves: set[str]) -> bool:
    return "replace" in halves or {"create", "delete"} <= halves


_RESOURCE_BLOCK = re.compile(r'^resource "([^"]+)" "([^"]+)"$')


def _addresses(diagnostic: Mapping[str, Any], planned: Mapping[str, str]) -> list[str]:
    """The planned addresses a diagnostic is about: its ``address`` when Terraform gives one; else,
    for a condition in a resource block (a postcondition's diagnostic names no address), every
    planned instance of that block (``type.name``, ``type.name[key]``, in any module)."""
    named = str(diagnostic.get("address") or "")
    if named:
        return [named] if named in planned else []
    context = str((diagnostic.get("snippet") or {}).get("context") or "")
    block = _RESOURCE_BLOCK.match(context)
    if block is None:
        return []
    base = f"{block.group(1)}.{block.group(2)}"
    return [
        a
        for a in planned
        if (a == base or a.startswith(base + "[") or a.endswith("." + base) or ("." + base + "[") in a)
    ]
