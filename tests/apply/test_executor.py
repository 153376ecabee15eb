"""The executor on its own: scheduling, failure paths, and the one-outcome-per-action rule."""

from __future__ import annotations

import threading
import time
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from driftgate.apply.executor import Executor, Finished, Started
from driftgate.apply.hooks import ApplyHooks
from driftgate.apply.result import ActionStatus
from driftgate.errors import CompensatedError, ProviderError
from driftgate.plan.model import Action, ActionKind, Plan
from driftgate.providers.base import BaseProvider, Observed
from driftgate.spec.refs import SecretResolver
from driftgate.spec.schema import AttributeSchema, KindSchema


class RecordingProvider(BaseProvider):
    """An in-memory provider that records call order and concurrency, and fails on demand."""

    name = "mem"
    KINDS = (
        KindSchema(type="mem.thing", attributes={"value": AttributeSchema(type="any")}, outputs=("echo",)),
    )

    def __init__(self, *, fail: Sequence[str] = (), sleep: float = 0.0, hang: Sequence[str] = ()) -> None:
        self.calls: list[tuple[str, str]] = []
        self.fail = set(fail)
        self.hang = set(hang)
        self.sleep = sleep
        self.active = 0
        self.max_active = 0
        self.lock = threading.Lock()
        self.release = threading.Event()

    def _enter(self, verb: str, name: str) -> None:
        with self.lock:
            self.calls.append((verb, name))
            self.active += 1
            self.max_active = max(self.max_active, self.active)
        try:
            if name in self.hang:
                self.release.wait(10)
            time.sleep(self.sleep)
            if name in self.fail:
                raise ProviderError(f"{name} failed")
            if name == "compensated":
                raise CompensatedError("rolled back")
            if name == "bug":
                raise ValueError("provider bug")
        finally:
            with self.lock:
                self.active -= 1

    def read(self, type_: str, attributes: Mapping[str, Any], outputs: Mapping[str, Any]) -> Observed | None:
        return Observed(dict(attributes), dict(outputs))

    def create(self, type_: str, name: str, attributes: Mapping[str, Any]) -> dict[str, Any]:
        self._enter("create", name)
        return {"echo": attributes.get("value")}

    def update(
        self, type_: str, name: str, attributes: Mapping[str, Any], prior: Mapping[str, Any]
    ) -> dict[str, Any]:
        self._enter("update", name)
        return {"echo": attributes.get("value")}

    def delete(self, type_: str, attributes: Mapping[str, Any], outputs: Mapping[str, Any]) -> None:
        self._enter("delete", str(attributes.get("name")))

    def import_resource(self, type_: str, resource_id: str) -> Observed | None:
        return None


def act(
    i: int, name: str, kind: ActionKind = ActionKind.CREATE, deps: Sequence[str] = (), value: Any = None
) -> Action:
    return Action(
        index=i,
        address=f"m/mem.thing.{name}",
        module="m",
        type="mem.thing",
        kind=kind,
        desired=None if kind is ActionKind.DELETE else {"value": value if value is not None else name},
        prior={"name": name} if kind is not ActionKind.CREATE else None,
        prior_outputs={} if kind is not ActionKind.CREATE else None,
        depends_on=tuple(f"m/mem.thing.{d}" for d in deps),
    )


def plan_of(*actions: Action) -> Plan:
    return Plan(
        stack="s", spec_digest="d", state_serial=0, refreshed=False, created_at="now", actions=actions
    )


def secrets(tmp_path: Path) -> SecretResolver:
    return SecretResolver(env=lambda name: {"TOKEN": "s3cr3t-value"}.get(name), files_root=tmp_path)


def executor(provider: RecordingProvider, tmp_path: Path, **kwargs: Any) -> Executor:
    return Executor(providers={"mem": provider}, secrets=secrets(tmp_path), known_outputs={}, **kwargs)


def test_independent_actions_run_in_parallel_up_to_the_limit(tmp_path: Path) -> None:
    provider = RecordingProvider(sleep=0.05)
    plan = plan_of(*(act(i, f"r{i}") for i in range(12)))
    result = executor(provider, tmp_path, parallelism=4).run(plan)
    assert [o.status for o in result.actions] == [ActionStatus.SUCCESS] * 12
    assert provider.max_active == 4


def test_dependents_wait_and_outputs_are_resolved_just_in_time(tmp_path: Path) -> None:
    provider = RecordingProvider(sleep=0.01)
    plan = plan_of(
        act(0, "b", deps=["a"], value="got ${mem.thing.a.echo}"),
        act(1, "a", value="from-a"),
    )
    result = executor(provider, tmp_path).run(plan)
    assert provider.calls == [("create", "a"), ("create", "b")]
    assert result.actions[0].outputs == {"echo": "got from-a"}


def test_failure_skips_dependents_and_keeps_one_outcome_per_action(tmp_path: Path) -> None:
    provider = RecordingProvider(fail=["a"])
    plan = plan_of(act(0, "a"), act(1, "b", deps=["a"]), act(2, "c", deps=["b"]), act(3, "d"))
    result = executor(provider, tmp_path).run(plan)
    statuses = {o.address.rsplit(".", 1)[1]: o for o in result.actions}
    assert statuses["a"].status is ActionStatus.ERROR and statuses["a"].attempted
    assert statuses["b"].status is ActionStatus.ERROR and not statuses["b"].attempted
    assert "dependency m/mem.thing.a did not succeed" in (statuses["b"].error or "")
    assert statuses["c"].status is ActionStatus.ERROR and not statuses["c"].attempted
    assert statuses["d"].status is ActionStatus.SUCCESS
    assert result.action_count == 4 and len(result.actions) == 4
    assert ("create", "b") not in provider.calls


def test_deletes_run_in_reverse_dependency_order(tmp_path: Path) -> None:
    provider = RecordingProvider(sleep=0.01)
    plan = plan_of(
        act(0, "base", ActionKind.DELETE),
        act(1, "mid", ActionKind.DELETE, deps=["base"]),
        act(2, "top", ActionKind.DELETE, deps=["mid"]),
    )
    executor(provider, tmp_path).run(plan)
    assert provider.calls == [("delete", "top"), ("delete", "mid"), ("delete", "base")]


def test_failed_delete_is_delete_failed_and_blocks_what_it_depends_on(tmp_path: Path) -> None:
    provider = RecordingProvider(fail=["top"])
    plan = plan_of(act(0, "base", ActionKind.DELETE), act(1, "top", ActionKind.DELETE, deps=["base"]))
    result = executor(provider, tmp_path).run(plan)
    assert result.actions[1].status is ActionStatus.DELETE_FAILED
    assert result.actions[0].status is ActionStatus.ERROR and not result.actions[0].attempted


def test_compensated_and_unexpected_errors_are_outcomes(tmp_path: Path) -> None:
    provider = RecordingProvider()
    result = executor(provider, tmp_path).run(plan_of(act(0, "compensated"), act(1, "bug")))
    assert result.actions[0].status is ActionStatus.COMPENSATED
    assert result.actions[1].status is ActionStatus.ERROR
    assert "ValueError: provider bug" in (result.actions[1].error or "")


def test_timeout_yields_an_uncertain_error_outcome(tmp_path: Path) -> None:
    provider = RecordingProvider(hang=["slow"])
    plan = plan_of(act(0, "slow"), act(1, "after", deps=["slow"]), act(2, "other"))
    try:
        result = executor(provider, tmp_path, action_timeout=0.3).run(plan)
    finally:
        provider.release.set()
    assert result.actions[0].status is ActionStatus.ERROR
    assert "timed out" in (result.actions[0].error or "")
    assert not result.actions[1].attempted
    assert result.actions[2].status is ActionStatus.SUCCESS


class FailingSink:
    def __init__(self, fail_after: int) -> None:
        self.calls = 0
        self.fail_after = fail_after

    def record(self, *, started: Sequence[Started], finished: Sequence[Finished]) -> None:
        self.calls += 1
        if self.calls > self.fail_after:
            raise OSError("disk full")


def test_an_exception_inside_the_executor_still_yields_a_full_ledger(tmp_path: Path) -> None:
    provider = RecordingProvider()
    plan = plan_of(act(0, "a"), act(1, "b", deps=["a"]), act(2, "c", deps=["b"]))
    result = executor(provider, tmp_path, sink=FailingSink(fail_after=1), parallelism=1).run(plan)
    assert len(result.actions) == 3 and result.action_count == 3
    assert any("executor failure: OSError: disk full" in e for e in result.errors)
    assert any(not o.attempted for o in result.actions)


def test_ctrl_c_finishes_in_flight_actions_and_skips_the_rest(tmp_path: Path) -> None:
    provider = RecordingProvider(sleep=0.05)
    plan = plan_of(*(act(i, f"r{i}") for i in range(20)))

    def interrupt(outcome: Any) -> None:
        if outcome.index == 2:
            raise KeyboardInterrupt

    result = executor(provider, tmp_path, parallelism=2, progress=interrupt).run(plan)
    assert len(result.actions) == 20
    assert "interrupted (Ctrl-C)" in result.errors
    skipped = [o for o in result.actions if not o.attempted]
    assert skipped and all(o.error == "not attempted: run interrupted" for o in skipped)
    assert len(provider.calls) < 20


def test_hooks_are_called_per_action_and_a_failing_hook_changes_nothing(tmp_path: Path) -> None:
    applied: list[str] = []
    deleted: list[str] = []

    def broken(action: Action, outcome: Any) -> None:
        raise RuntimeError("subscriber bug")

    hooks = ApplyHooks(
        on_resource_applied=[lambda a, o: applied.append(a.address), broken],
        on_resource_deleted=[lambda a, o: deleted.append(a.address)],
    )
    plan = plan_of(act(0, "a"), act(1, "b", ActionKind.UPDATE), act(2, "gone", ActionKind.DELETE))
    result = executor(RecordingProvider(), tmp_path, hooks=hooks).run(plan)
    assert all(o.status is ActionStatus.SUCCESS for o in result.actions)
    assert sorted(applied) == ["m/mem.thing.a", "m/mem.thing.b"]
    assert deleted == ["m/mem.thing.gone"]


def test_secret_values_reach_the_provider_but_never_the_outputs(tmp_path: Path) -> None:
    provider = RecordingProvider()
    result = executor(provider, tmp_path).run(plan_of(act(0, "a", value="secret://env/TOKEN")))
    assert result.actions[0].status is ActionStatus.SUCCESS
    assert result.actions[0].outputs == {"echo": "secret://env/TOKEN"}


def test_missing_secret_is_an_error_outcome_with_a_clear_reason(tmp_path: Path) -> None:
    result = executor(RecordingProvider(), tmp_path).run(plan_of(act(0, "a", value="secret://env/NOPE")))
    assert result.actions[0].status is ActionStatus.ERROR
    assert "environment variable NOPE is not set" in (result.actions[0].error or "")


def test_in_flight_actions_finish_when_the_executor_fails(tmp_path: Path) -> None:
    provider = RecordingProvider(sleep=0.2)
    plan = plan_of(act(0, "slow"), act(1, "other"), act(2, "after", deps=["slow"]))
    result = executor(provider, tmp_path, sink=FailingSink(fail_after=1), parallelism=2).run(plan)
    by_name = {o.address.rsplit(".", 1)[1]: o for o in result.actions}
    assert by_name["slow"].status is ActionStatus.SUCCESS  # it was running: its real outcome is kept
    assert by_name["other"].status is ActionStatus.SUCCESS
    assert not by_name["after"].attempted


class SlowInline(RecordingProvider):
    """An inline provider (run on the scheduler's own thread) that takes a while."""

    name = "slow"
    inline = True
    KINDS = (
        KindSchema(type="slow.thing", attributes={"value": AttributeSchema(type="any")}, outputs=("echo",)),
    )


def test_threaded_actions_finishing_during_an_inline_one_end_the_run_cleanly(tmp_path: Path) -> None:
    """Seen once in CI-like load: every threaded action finished while an inline action ran, the
    next non-blocking poll collected them all, and the loop said "dependency graph is stuck"."""
    fast = RecordingProvider()
    slow = SlowInline(sleep=0.3)
    inline_action = Action(
        index=3,
        address="m/slow.thing.s",
        module="m",
        type="slow.thing",
        kind=ActionKind.CREATE,
        desired={"value": "s"},
    )
    plan = plan_of(act(0, "a"), act(1, "b"), act(2, "c"), inline_action)
    for _ in range(3):
        result = Executor(
            providers={"mem": fast, "slow": slow}, secrets=secrets(tmp_path), known_outputs={}
        ).run(plan)
        assert result.errors == () and [o.status for o in result.actions] == [ActionStatus.SUCCESS] * 4


def test_ctrl_c_asks_every_provider_to_stop(tmp_path: Path) -> None:
    class Stoppable(RecordingProvider):
        stopped = 0

        def stop(self) -> None:
            self.stopped += 1

    provider = Stoppable(sleep=0.02)

    def interrupt(outcome: Any) -> None:
        if outcome.index == 1:
            raise KeyboardInterrupt

    result = executor(provider, tmp_path, parallelism=2, progress=interrupt).run(
        plan_of(*(act(i, f"r{i}") for i in range(10)))
    )
    assert "interrupted (Ctrl-C)" in result.errors and provider.stopped == 1
