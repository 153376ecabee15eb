"""ApplyPlan's result contract, rule by rule: exactly one valid outcome per planned action."""

from __future__ import annotations

import pytest

from driftgate.plugin.contract import check_plan_result
from driftgate.plugin.proto import provider_pb2 as pb


def result(index: int, status: int = pb.SUCCESS, outputs: str = "{}") -> pb.ApplyPlan.ActionResult:
    return pb.ApplyPlan.ActionResult(action_index=index, status=status, outputs_json=outputs)  # type: ignore[arg-type]


def test_a_complete_valid_answer_has_no_violations() -> None:
    answer = pb.ApplyPlan.Response(
        actions=[
            result(3, outputs='{"id": "a"}'),
            pb.ApplyPlan.ActionResult(action_index=5, status=pb.ERROR, error="no"),
        ],
        action_count=2,
    )
    checked = check_plan_result(answer, [3, 5], source="kv")
    assert checked.violations == []
    assert checked.outcome(3).status == "SUCCESS" and checked.outcome(3).outputs == {"id": "a"}
    assert (checked.outcome(5).status, checked.outcome(5).error) == ("ERROR", "kv: no")


@pytest.mark.parametrize(
    ("answer", "violation", "invalid"),
    [
        (pb.ApplyPlan.Response(actions=[result(0), result(1)]), "action_count is missing", []),
        (
            pb.ApplyPlan.Response(actions=[result(0), result(1)], action_count=3),
            "action_count 3 != 2 planned",
            [],
        ),
        (pb.ApplyPlan.Response(actions=[result(0)], action_count=2), "1 results for 2 planned actions", [1]),
        (
            pb.ApplyPlan.Response(actions=[result(0), result(0)], action_count=2),
            "2 results for action 0",
            [0, 1],
        ),
        (
            pb.ApplyPlan.Response(actions=[result(0), result(7)], action_count=2),
            "action 7, which was not planned",
            [1],
        ),
        (
            pb.ApplyPlan.Response(actions=[result(0), result(1, 0)], action_count=2),
            "action 1: status UNSPECIFIED",
            [1],
        ),
        (
            pb.ApplyPlan.Response(actions=[result(0), result(1, 42)], action_count=2),
            "status 42, which is not an outcome",
            [1],
        ),
        (
            pb.ApplyPlan.Response(actions=[result(0), result(1, outputs="[1]")], action_count=2),
            "expected a JSON object",
            [1],
        ),
    ],
)
def test_each_rule_is_a_violation_and_unreported_actions_are_errors(
    answer: pb.ApplyPlan.Response, violation: str, invalid: list[int]
) -> None:
    checked = check_plan_result(answer, [0, 1], source="kv")
    assert any(violation in v for v in checked.violations), checked.violations
    for index in invalid:
        outcome = checked.outcome(index)
        assert outcome.status == "ERROR" and "broke the result contract" in (outcome.error or "")
        assert "live state uncertain" in (outcome.error or "")
