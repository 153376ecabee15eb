"""Whole-plan providers: all of a provider's actions in one call, checked against the result
contract; every planned action still gets exactly one outcome, and hooks fire from valid ones."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import replace
from pathlib import Path
from typing import Any

from driftgate.apply.executor import Executor
from driftgate.apply.hooks import ApplyHooks
from driftgate.apply.result import ActionStatus, is_full_success
from driftgate.errors import ProviderError
from driftgate.plan.model import Action, ActionKind
from driftgate.providers.base import WHOLE_PLAN, Change, ChangeResult, PlanResult
from tests.apply.test_executor import RecordingProvider, act, plan_of, secrets

Answer = Callable[[Sequence[Change]], PlanResult]


def applied_all(changes: Sequence[Change]) -> PlanResult:
    return PlanResult(
        {c.index: ChangeResult("SUCCESS", None, {"echo": c.attributes.get("value")}) for c in changes}
    )


class WholePlan(RecordingProvider):
    """Applies whole plans only; answers with ``answer`` (every action applied, by default)."""

    name = "whole"
    apply_modes = (WHOLE_PLAN,)

    def __init__(self, answer: Answer = applied_all) -> None:
        super().__init__()
        self.answer = answer
        self.batches: list[list[tuple[int, str, str]]] = []

    def apply_plan(self, changes: Sequence[Change]) -> PlanResult:
        self.batches.append([(c.index, c.kind, c.name) for c in changes])
        return self.answer(changes)


def whole(i: int, name: str, kind: ActionKind = ActionKind.CREATE, deps: Sequence[str] = ()) -> Action:
    base = act(i, name, kind, deps)
    return Action(
        index=i,
        address=f"m/whole.thing.{name}",
        module="m",
        type="whole.thing",
        kind=kind,
        desired=base.desired,
        prior=base.prior,
        prior_outputs=base.prior_outputs,
        depends_on=tuple(f"m/whole.thing.{d}" if d.startswith("w") else f"m/mem.thing.{d}" for d in deps),
    )


def run(provider: WholePlan, tmp_path: Path, *actions: Action, hooks: ApplyHooks | None = None) -> Any:
    mem = RecordingProvider()
    ex = Executor(
        providers={"whole": provider, "mem": mem}, secrets=secrets(tmp_path), known_outputs={}, hooks=hooks
    )
    return ex.run(plan_of(*actions)), mem


def test_a_whole_plan_provider_gets_its_actions_in_one_call_and_hooks_fire_per_action(tmp_path: Path) -> None:
    applied: list[str] = []
    deleted: list[str] = []
    hooks = ApplyHooks(
        on_resource_applied=[lambda a, o: applied.append(a.address)],
        on_resource_deleted=[lambda a, o: deleted.append(a.address)],
    )
    provider = WholePlan()
    result, _ = run(
        provider,
        tmp_path,
        whole(0, "w1"),
        whole(1, "w2", deps=["w1"]),  # an inner dependency is the provider's to order
        whole(2, "w3", ActionKind.DELETE),
        hooks=hooks,
    )
    assert provider.batches == [[(0, "create", "w1"), (1, "create", "w2"), (2, "delete", "w3")]]
    assert is_full_success(result)
    assert [o.outputs for o in result.actions[:2]] == [{"echo": "w1"}, {"echo": "w2"}]
    assert sorted(applied) == ["m/whole.thing.w1", "m/whole.thing.w2"] and deleted == ["m/whole.thing.w3"]


def test_the_group_waits_for_other_providers_and_their_dependents_wait_for_it(tmp_path: Path) -> None:
    provider = WholePlan()
    result, mem = run(
        provider,
        tmp_path,
        act(0, "a"),
        whole(1, "w1", deps=["a"]),
        whole(2, "w2"),
        replace(act(3, "b"), depends_on=("m/whole.thing.w2",)),
    )
    assert is_full_success(result)
    assert provider.batches == [[(1, "create", "w1"), (2, "create", "w2")]]
    assert mem.calls == [("create", "a"), ("create", "b")]


def test_an_unspecified_status_and_a_short_result_are_violations_never_success(tmp_path: Path) -> None:
    def liar(changes: Sequence[Change]) -> PlanResult:
        first = changes[0]
        return PlanResult(
            {first.index: ChangeResult("UNSPECIFIED")}, violations=("1 results for 3 planned actions",)
        )

    applied: list[str] = []
    result, _ = run(
        WholePlan(liar),
        tmp_path,
        whole(0, "w1"),
        whole(1, "w2"),
        whole(2, "w3"),
        hooks=ApplyHooks(on_resource_applied=[lambda a, o: applied.append(a.address)]),
    )
    assert not is_full_success(result)
    assert [o.status for o in result.actions] == [ActionStatus.ERROR] * 3
    assert all("live state uncertain" in (o.error or "") for o in result.actions)
    assert "status 'UNSPECIFIED'" in (result.actions[0].error or "")
    assert any("contract violation: whole: 1 results for 3 planned actions" in e for e in result.errors)
    assert any("action 0: status 'UNSPECIFIED'" in e for e in result.errors)
    assert applied == []


def test_valid_outcomes_stand_beside_a_violation(tmp_path: Path) -> None:
    def partial(changes: Sequence[Change]) -> PlanResult:
        return PlanResult(
            {
                changes[0].index: ChangeResult("SUCCESS", None, {"echo": 1}),
                changes[1].index: ChangeResult("ERROR", "no"),
            },
            violations=("no result for action(s) 2",),
        )

    result, _ = run(WholePlan(partial), tmp_path, whole(0, "w1"), whole(1, "w2"), whole(2, "w3"))
    statuses = [(o.status, o.error) for o in result.actions]
    assert statuses[0] == (ActionStatus.SUCCESS, None)
    assert statuses[1] == (ActionStatus.ERROR, "no")
    assert statuses[2][0] is ActionStatus.ERROR and "no valid outcome" in (statuses[2][1] or "")
    assert not is_full_success(result)


def test_a_failing_whole_plan_call_fails_every_action_of_it(tmp_path: Path) -> None:
    def broken(changes: Sequence[Change]) -> PlanResult:
        raise ProviderError("the stack is locked by someone else")

    dependent = replace(act(2, "c"), depends_on=("m/whole.thing.w1",))
    result, mem = run(WholePlan(broken), tmp_path, whole(0, "w1"), whole(1, "w2"), dependent)
    assert [o.status for o in result.actions] == [ActionStatus.ERROR] * 3
    assert "locked by someone else" in (result.actions[0].error or "")
    assert result.actions[2].attempted is False and mem.calls == []
