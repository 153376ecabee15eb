"""The result contract of ``ApplyPlan``: exactly one valid outcome per planned action.

The engine rejects, as a contract violation (never as success): an ``UNSPECIFIED`` status, a
status number it does not know, ``len(actions) != len(planned)``, ``action_count`` missing or
different, an index missing, duplicated or not planned. Every planned action still gets exactly
one outcome: the ones the plugin did not report validly are ``ERROR`` with the reason.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

from driftgate.plugin import wire
from driftgate.plugin.proto import provider_pb2 as pb
from driftgate.providers.base import ChangeResult

STATUSES = {
    pb.SUCCESS: "SUCCESS",
    pb.ERROR: "ERROR",
    pb.DELETE_FAILED: "DELETE_FAILED",
    pb.COMPENSATED: "COMPENSATED",
    pb.COMPENSATION_FAILED: "COMPENSATION_FAILED",
}


@dataclass
class CheckedResult:
    """What the engine takes from an ApplyPlan answer: valid outcomes by index, and violations."""

    outcomes: dict[int, ChangeResult] = field(default_factory=dict)
    violations: list[str] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)  # the plugin's own error diagnostics

    def outcome(self, index: int) -> ChangeResult:
        """The outcome of a planned action: its valid report, or ERROR saying why there is none."""
        found = self.outcomes.get(index)
        if found is not None:
            return found
        why = "; ".join(self.violations) or "no outcome reported"
        reason = f"provider broke the result contract: {why}; live state uncertain"
        return ChangeResult("ERROR", reason, {})


def check_plan_result(answer: pb.ApplyPlan.Response, planned: Sequence[int], *, source: str) -> CheckedResult:
    checked = CheckedResult()
    expected = set(planned)
    if not answer.HasField("action_count"):
        checked.violations.append("action_count is missing")
    elif answer.action_count != len(planned):
        checked.violations.append(f"action_count {answer.action_count} != {len(planned)} planned actions")
    if len(answer.actions) != len(planned):
        checked.violations.append(f"{len(answer.actions)} results for {len(planned)} planned actions")
    seen: dict[int, int] = {}
    for result in answer.actions:
        seen[result.action_index] = seen.get(result.action_index, 0) + 1
    for index, count in sorted(seen.items()):
        if index not in expected:
            checked.violations.append(f"a result for action {index}, which was not planned")
        elif count > 1:
            checked.violations.append(f"{count} results for action {index}")
    missing = sorted(expected - set(seen))
    if missing:
        checked.violations.append(f"no result for action(s) {', '.join(map(str, missing[:10]))}")
    for result in answer.actions:
        index = result.action_index
        if index in expected and seen[index] == 1:
            reported = reported_outcome(result, source)
            if isinstance(reported, str):
                checked.violations.append(f"action {index}: {reported}")
            else:
                checked.outcomes[index] = reported
    checked.errors = [f"{source}: {e}" for e in wire.errors_of(answer.errors)]
    return checked


def reported_outcome(result: pb.ApplyPlan.ActionResult, source: str) -> ChangeResult | str:
    """The outcome one result reports, or why it is not a valid one."""
    status = STATUSES.get(result.status)
    if status is None:
        unspecified = result.status == pb.ACTION_STATUS_UNSPECIFIED
        return "status UNSPECIFIED" if unspecified else f"status {result.status}, which is not an outcome"
    if status != "SUCCESS":
        return ChangeResult(status, f"{source}: {result.error or 'failed without a reason'}", {})
    try:
        return ChangeResult(status, None, wire.loads(result.outputs_json, what="outputs"))
    except Exception as exc:  # noqa: BLE001 - bad outputs are a violation, not a crash
        return str(exc)
