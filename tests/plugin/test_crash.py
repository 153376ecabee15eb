"""A plugin that dies or hangs mid-apply can never make driftgate report success, and leaves a
ledger and a state the next plan can trust."""

from __future__ import annotations

import os
import signal
import threading
import time
from pathlib import Path

import pytest

from driftgate.gate.decision import GateRequest
from driftgate.services.stacks import history
from driftgate.services.stacks.apply import ApplyOutcome, ApplyRequest, apply_stack
from driftgate.services.stacks.session import plan_stack
from driftgate.services.workspace import Workspace
from driftgate.testing.stacks import write_stack
from tests.plugin.fakes import running_plugins, slow_data_plugin

RESOURCES = [
    {"type": "data.value", "name": "first", "spec": {"input": "fast"}},
    {"type": "data.value", "name": "second", "spec": {"input": "slow"}},
    {"type": "data.value", "name": "third", "spec": {"input": "fast"}, "depends_on": ["data.value.second"]},
    {"type": "data.value", "name": "fourth", "spec": {"input": "fast"}},
]


def slow_stack(tmp_path: Path) -> Path:
    stack = tmp_path / "stack"
    stack.mkdir()
    slow_data_plugin(stack)
    return write_stack(stack, modules={"app": RESOURCES}, providers={"data": {"plugin": "./slow-plugin"}})


def apply_in_background(ws: Workspace, stack: Path) -> tuple[threading.Thread, list[ApplyOutcome]]:
    done: list[ApplyOutcome] = []
    request = ApplyRequest(stack, gate=GateRequest(), parallelism=1, commit_back=False)
    thread = threading.Thread(target=lambda: done.append(apply_stack(ws, request)))
    thread.start()
    return thread, done


def wait_for(path: Path, seconds: float = 20) -> str:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if path.exists() and path.read_text():
            return path.read_text()
        time.sleep(0.02)
    raise AssertionError(f"{path} never appeared")


def test_a_plugin_killed_mid_apply_leaves_a_correct_ledger_and_a_plan_that_reads_it(
    tmp_path: Path, ws: Workspace, monkeypatch: pytest.MonkeyPatch
) -> None:
    mark = tmp_path / "mark"
    monkeypatch.setenv("MARK", str(mark))
    stack = slow_stack(tmp_path)
    thread, done = apply_in_background(ws, stack)
    os.kill(int(wait_for(mark)), signal.SIGKILL)
    thread.join(30)
    (outcome,) = done
    report = outcome.report
    assert report is not None and not report.full_success
    statuses = {o.address: (o.status.value, o.attempted, o.error or "") for o in report.result.actions}
    assert statuses["app/data.value.first"][:2] == ("SUCCESS", True)
    second = statuses["app/data.value.second"]
    assert second[:2] == ("ERROR", True) and "died during the call" in second[2] and "uncertain" in second[2]
    third = statuses["app/data.value.third"]  # waits for second: never sent
    assert third[:2] == ("ERROR", False) and "not attempted" in third[2]
    fourth = statuses["app/data.value.fourth"]  # sent in second's batch, never answered: unknown
    assert fourth[:2] == ("ERROR", True) and "died during the call" in fourth[2] and "uncertain" in fourth[2]
    assert any("stopped: " in e for e in report.result.errors)
    run = history.show_run(ws, report.run_id)
    assert run["status"] != "succeeded"
    states = {r["address"]: r["status"] for r in history.list_state(ws, "test")}
    assert states["app/data.value.first"] == "applied"
    assert states["app/data.value.second"] == states["app/data.value.fourth"] == "uncertain"
    monkeypatch.setenv("HANG", "0")
    ws.close()  # a new run: a new plugin process
    plan = plan_stack(ws, stack).plan
    kinds = {a.address: (a.kind.value, a.adopt) for a in plan.actions}
    assert kinds["app/data.value.second"] == ("noop", True)  # read live and adopted
    assert kinds["app/data.value.fourth"] == ("noop", True)
    assert kinds["app/data.value.third"] == ("create", False)
    assert not plan.errors


def test_a_hung_plugin_is_stopped_at_the_action_timeout(
    tmp_path: Path, ws: Workspace, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("MARK", str(tmp_path / "mark"))
    ws.settings.action_timeout = 1.0
    stack = slow_stack(tmp_path)
    started = time.monotonic()
    outcome = apply_stack(ws, ApplyRequest(stack, parallelism=1, commit_back=False))
    assert time.monotonic() - started < 15
    assert outcome.report is not None and not outcome.report.full_success
    second = next(o for o in outcome.report.result.actions if o.address.endswith("second"))
    assert second.status.value == "ERROR" and "uncertain" in (second.error or "")
    ws.close()
    assert running_plugins("slow-plugin") == []
