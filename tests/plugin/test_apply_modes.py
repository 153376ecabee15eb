"""Plugins applying per action and as whole plans: hooks fire in both, and a plugin that breaks the
result contract is recorded as a violation, with no success and no commit-back."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from driftgate.apply.hooks import ApplyHooks
from driftgate.plugin.client import PluginProcess
from driftgate.services.stacks import history
from driftgate.services.stacks.apply import ApplyRequest, apply_stack
from driftgate.services.stacks.session import apply_session
from driftgate.services.workspace import Workspace
from driftgate.testing.cli import DRIFTGATE
from driftgate.testing.gitrepos import cloned_stack
from driftgate.testing.stacks import data_values, write_stack
from tests.plugin.fakes import lying_plan_plugin, script, whole_data_plugin


def stack_with(tmp_path: Path, plugin: str) -> Path:
    return write_stack(
        tmp_path / "stack", modules={"app": data_values(3)}, providers={"data": {"plugin": plugin}}
    )


@pytest.mark.parametrize("mode", ["per_action", "whole_plan"])
def test_hooks_fire_for_plugin_applied_actions_in_both_modes(
    tmp_path: Path, ws: Workspace, mode: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    (tmp_path / "stack").mkdir()
    if mode == "whole_plan":
        whole_data_plugin(tmp_path / "stack", "plugin")
    else:
        script(
            tmp_path / "stack",
            "plugin",
            f"import os; os.execv({DRIFTGATE!r}, [{DRIFTGATE!r}, 'plugin', 'serve', 'data'])",
        )
    stack = stack_with(tmp_path, "./plugin")
    calls: list[str] = []
    real = PluginProcess.call
    monkeypatch.setattr(PluginProcess, "call", lambda self, fn: _counted(real, self, fn, calls))
    real_stream = PluginProcess.stream

    def streamed(self: PluginProcess, fn: Any) -> Any:  # a stream's answers are read off the call
        for answer in real_stream(self, fn):
            calls.append(type(answer).__qualname__)
            yield answer

    monkeypatch.setattr(PluginProcess, "stream", streamed)
    applied: list[str] = []
    hooks = ApplyHooks(on_resource_applied=[lambda a, o: applied.append(a.address)])
    with apply_session(ws, stack) as session:
        report = session.execute(hooks=hooks)
    assert report.full_success
    assert sorted(applied) == [f"app/data.value.v{i}" for i in range(3)]
    assert calls.count("ApplyPlan.Response") == (1 if mode == "whole_plan" else 0)
    # per action: independent actions go in one batch (ApplyResourceChanges), results streamed back
    assert ("ApplyResourceChanges.Results" in calls) == (mode == "per_action")
    assert calls.count("ApplyResourceChange.Response") == 0
    assert [o.outputs["output"] for o in report.result.actions] == ["x-0", "x-1", "x-2"]


def _counted(real: Callable[..., Any], self: PluginProcess, fn: Any, calls: list[str]) -> Any:
    answer = real(self, fn)
    calls.append(type(answer).__qualname__)
    return answer


@pytest.mark.parametrize(
    ("lie", "says"), [("unspecified", "status UNSPECIFIED"), ("short", "1 results for 3")]
)
def test_a_result_contract_violation_is_recorded_and_never_a_success(
    tmp_path: Path, ws: Workspace, monkeypatch: pytest.MonkeyPatch, lie: str, says: str
) -> None:
    monkeypatch.setenv("LIE", lie)
    (tmp_path / "stack").mkdir()
    lying_plan_plugin(tmp_path / "stack")
    stack = stack_with(tmp_path, "./lying-plugin")
    applied: list[str] = []
    with apply_session(ws, stack) as session:
        report = session.execute(
            hooks=ApplyHooks(on_resource_applied=[lambda a, o: applied.append(a.address)])
        )
    assert not report.full_success
    assert any("contract violation" in e and says in e for e in report.result.errors), report.result.errors
    run = history.show_run(ws, report.run_id)
    assert run["status"] != "succeeded" and any("contract violation" in e for e in run["errors"])
    invalid = [o for o in report.result.actions if o.status.value != "SUCCESS"]
    assert invalid and all("live state uncertain" in (o.error or "") for o in invalid)
    valid = [o.address for o in report.result.actions if o.status.value == "SUCCESS"]
    assert sorted(applied) == sorted(valid)  # hooks fire from validated outcomes only
    states = {r["address"]: r["status"] for r in history.list_state(ws, "test")}
    assert all(states[o.address] == "uncertain" for o in invalid)


def test_a_violating_apply_never_commits_back(
    tmp_path: Path, ws: Workspace, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("LIE", "unspecified")
    rendered = write_stack(
        tmp_path / "render", modules={"app": data_values(2)}, providers={"data": {"plugin": "./lying-plugin"}}
    )
    remote, stack = cloned_stack(tmp_path, rendered, "stacks/s")
    lying_plan_plugin(stack)
    module = stack / "modules" / "app.yaml"
    module.write_text(module.read_text().replace("x-1", "x-1-changed"))  # an authored change to commit back
    before = remote.log()
    outcome = apply_stack(ws, ApplyRequest(stack))
    assert outcome.report is not None and not outcome.report.full_success
    assert outcome.commit_back is not None and not outcome.commit_back.committed
    assert outcome.commit_back.reason == "partial-apply"
    assert remote.log() == before
