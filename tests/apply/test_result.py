from __future__ import annotations

import pytest

from driftgate.apply.result import ActionOutcome, ActionStatus, ApplyResult, is_full_success, validate_result
from driftgate.errors import ContractViolation


def outcome(i: int, status: ActionStatus = ActionStatus.SUCCESS) -> ActionOutcome:
    return ActionOutcome(index=i, address=f"m/data.value.v{i}", action="create", status=status)


def test_full_success_needs_every_condition() -> None:
    ok = ApplyResult(actions=(outcome(0), outcome(1)), action_count=2)
    assert is_full_success(ok)
    assert not is_full_success(
        ApplyResult(actions=(outcome(0), outcome(1, ActionStatus.ERROR)), action_count=2)
    )
    assert not is_full_success(ApplyResult(actions=(outcome(0),), action_count=2))
    assert not is_full_success(ApplyResult(actions=(outcome(0),), action_count=1, errors=("boom",)))
    assert not is_full_success(ApplyResult(actions=(outcome(0),), action_count=None))


@pytest.mark.parametrize("count", [None, "1", 1.0, True])
def test_missing_or_non_numeric_action_count_is_not_full_success(count: object) -> None:
    raw = {"errors": [], "action_count": count, "actions": [{"status": "SUCCESS"}]}
    assert not is_full_success(raw)


def test_full_success_of_stored_dict() -> None:
    assert is_full_success({"errors": [], "action_count": 1, "actions": [{"status": "SUCCESS"}]})
    assert not is_full_success({"errors": [], "action_count": 1, "actions": [{"status": "COMPENSATED"}]})
    assert not is_full_success("nonsense")


def test_validate_rejects_unspecified_and_count_mismatch() -> None:
    with pytest.raises(ContractViolation, match="UNSPECIFIED"):
        validate_result(ApplyResult(actions=(outcome(0, ActionStatus.UNSPECIFIED),), action_count=1), 1)
    with pytest.raises(ContractViolation, match="1 outcomes for 2 planned"):
        validate_result(ApplyResult(actions=(outcome(0),), action_count=2), 2)
    with pytest.raises(ContractViolation, match="indices"):
        validate_result(ApplyResult(actions=(outcome(0), outcome(0)), action_count=2), 2)
    with pytest.raises(ContractViolation, match="action_count"):
        validate_result(ApplyResult(actions=(outcome(0),), action_count=None), 1)
