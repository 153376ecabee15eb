"""Batched per-action providers: independent ready actions go in one call, each outcome as it comes;
an action never answered is an ERROR with its live state uncertain; dependents still wait."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import replace
from pathlib import Path

from driftgate.apply.executor import Executor
from driftgate.apply.hooks import ApplyHooks
from driftgate.apply.result import ActionStatus, ApplyResult, is_full_success
from driftgate.errors import ProviderCrashed
from driftgate.plan.model import Action, ActionKind
from driftgate.providers.base import CAP_BATCH_APPLY, CAP_READ, Change, ChangeResult
from tests.apply.test_executor import RecordingProvider, act, plan_of, secrets


class Batching(RecordingProvider):
    capabilities = frozenset({CAP_READ, CAP_BATCH_APPLY})

    def __init__(self, *, answer_only: int | None = None, crash_after: int | None = None) -> None:
        super().__init__()
        self.batches: list[list[str]] = []
        self.answer_only = answer_only
        self.crash_after = crash_after

    def apply_many(self, changes: Sequence[Change]) -> Iterator[tuple[int, ChangeResult]]:
        self.batches.append([c.name for c in changes])
        for n, change in enumerate(changes):
            if self.crash_after is not None and n == self.crash_after:
                raise ProviderCrashed("plugin mem: the plugin died during the call (exit -9)")
            if self.answer_only is not None and n >= self.answer_only:
                return
            yield change.index, ChangeResult("SUCCESS", None, {"echo": change.attributes.get("value")})


def run(provider: Batching, tmp_path: Path, *actions: Action, hooks: ApplyHooks | None = None) -> ApplyResult:
    ex = Executor(providers={"mem": provider}, secrets=secrets(tmp_path), known_outputs={}, hooks=hooks)
    return ex.run(plan_of(*actions))


def test_ready_actions_go_in_one_batch_and_dependents_in_the_next(tmp_path: Path) -> None:
    applied: list[str] = []
    provider = Batching()
    result = run(
        provider,
        tmp_path,
        act(0, "a"),
        act(1, "b"),
        act(2, "c", deps=["a"], value="after ${mem.thing.a.echo}"),
        hooks=ApplyHooks(on_resource_applied=[lambda a, o: applied.append(a.address)]),
    )
    assert is_full_success(result)
    assert provider.batches == [["a", "b"], ["c"]]
    assert result.actions[2].outputs == {"echo": "after a"}
    assert sorted(applied) == ["m/mem.thing.a", "m/mem.thing.b", "m/mem.thing.c"]


def test_an_unanswered_action_is_an_uncertain_error(tmp_path: Path) -> None:
    result = run(Batching(answer_only=1), tmp_path, act(0, "a"), act(1, "b"))
    statuses = [(o.status, o.attempted) for o in result.actions]
    assert statuses == [(ActionStatus.SUCCESS, True), (ActionStatus.ERROR, True)]
    assert "no outcome reported; live state uncertain" in (result.actions[1].error or "")


def test_a_crash_mid_batch_stops_the_run(tmp_path: Path) -> None:
    later = replace(act(2, "c"), depends_on=("m/mem.thing.a",))
    result = run(Batching(crash_after=1), tmp_path, act(0, "a"), act(1, "b"), later)
    outcomes = result.actions
    assert outcomes[0].status is ActionStatus.SUCCESS
    assert outcomes[1].status is ActionStatus.ERROR and "died during the call" in (outcomes[1].error or "")
    assert outcomes[2].attempted is False and "not attempted" in (outcomes[2].error or "")
    assert any(e.startswith("stopped: ") for e in result.errors)


def test_a_replacement_is_never_batched(tmp_path: Path) -> None:
    provider = Batching()
    result = run(provider, tmp_path, act(0, "a"), act(1, "b", ActionKind.REPLACE))
    assert is_full_success(result)
    assert provider.batches == [["a"]]  # the replacement went as delete then create
    assert provider.calls == [("delete", "b"), ("create", "b")]
