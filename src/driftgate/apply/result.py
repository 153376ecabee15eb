"""The ledger contract: one ActionOutcome per planned action.

A skipped action (its dependency did not succeed, or the run was interrupted
before it started) is recorded as ``ERROR`` with ``attempted=False`` and a
reason; the five statuses of ARCHITECTURE.md stay the whole vocabulary.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass, field
from typing import Any

from driftgate.errors import ContractViolation


class ActionStatus(enum.StrEnum):
    UNSPECIFIED = "UNSPECIFIED"
    SUCCESS = "SUCCESS"
    ERROR = "ERROR"
    DELETE_FAILED = "DELETE_FAILED"
    COMPENSATED = "COMPENSATED"
    COMPENSATION_FAILED = "COMPENSATION_FAILED"


@dataclass(frozen=True, slots=True)
class ActionOutcome:
    index: int
    address: str
    action: str
    status: ActionStatus
    error: str | None = None
    outputs: dict[str, Any] = field(default_factory=dict)
    attempted: bool = True
    started_at: float | None = None
    finished_at: float | None = None

    @property
    def duration_ms(self) -> float | None:
        if self.started_at is None or self.finished_at is None:
            return None
        return round((self.finished_at - self.started_at) * 1000, 3)

    def to_dict(self) -> dict[str, Any]:
        return {
            "index": self.index,
            "address": self.address,
            "action": self.action,
            "status": self.status.value,
            "error": self.error,
            "outputs": self.outputs,
            "attempted": self.attempted,
            "started_at": self.started_at,
            "finished_at": self.finished_at,
            "duration_ms": self.duration_ms,
        }


@dataclass(frozen=True)
class ApplyResult:
    actions: tuple[ActionOutcome, ...]
    action_count: int | None
    errors: tuple[str, ...] = ()

    def to_dict(self) -> dict[str, Any]:
        core: dict[str, Any] = {
            "action_count": self.action_count,
            "errors": list(self.errors),
            "actions": [o.to_dict() for o in self.actions],
        }
        return {"full_success": is_full_success(core), **core}


def validate_result(result: ApplyResult, planned_actions: int) -> ApplyResult:
    """Raise ContractViolation unless the ledger has exactly one valid outcome per action."""
    if len(result.actions) != planned_actions:
        raise ContractViolation(
            f"ledger has {len(result.actions)} outcomes for {planned_actions} planned actions"
        )
    if result.action_count != planned_actions:
        raise ContractViolation(f"action_count {result.action_count!r} != {planned_actions}")
    indices = sorted(o.index for o in result.actions)
    if indices != list(range(planned_actions)):
        raise ContractViolation("ledger outcome indices do not cover the plan exactly once")
    for outcome in result.actions:
        if not isinstance(outcome.status, ActionStatus) or outcome.status is ActionStatus.UNSPECIFIED:
            raise ContractViolation(f"{outcome.address}: outcome status is {outcome.status!r}")
    return result


def is_full_success(result: Any) -> bool:
    """ARCHITECTURE.md's "full success": no errors, numeric action_count == outcomes, all SUCCESS.

    Accepts an ApplyResult or its dict form, since later loops read stored results.
    """
    if isinstance(result, ApplyResult):
        return (
            not result.errors
            and isinstance(result.action_count, int)
            and not isinstance(result.action_count, bool)
            and result.action_count == len(result.actions)
            and all(o.status is ActionStatus.SUCCESS for o in result.actions)
        )
    if not isinstance(result, dict) or result.get("errors"):
        return False
    count = result.get("action_count")
    actions = result.get("actions")
    if isinstance(count, bool) or not isinstance(count, int) or not isinstance(actions, list):
        return False
    if count != len(actions):
        return False
    return all(
        (a.get("status") if isinstance(a, dict) else None) == ActionStatus.SUCCESS.value for a in actions
    )
