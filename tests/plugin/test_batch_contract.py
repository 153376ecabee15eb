"""The result contract holds for every way a plugin reports results: batches (ApplyResourceChanges)
as well as whole plans, and a plugin that dies mid-batch loses none of the results it sent."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import pytest

from driftgate.plugin import client
from driftgate.services.stacks import history
from driftgate.services.stacks.session import apply_session
from driftgate.services.workspace import Workspace
from driftgate.testing.stacks import data_values, write_stack
from tests.plugin.fakes import batch_liar_plugin


def batch_stack(tmp_path: Path, values: list[dict[str, object]]) -> Path:
    stack = write_stack(
        tmp_path / "stack", modules={"app": values}, providers={"data": {"plugin": "./batch-liar"}}
    )
    batch_liar_plugin(stack)
    return stack


@pytest.mark.parametrize(
    ("lie", "says"),
    [("duplicate", "2 results for action"), ("unplanned", "a result for action 9999, which was not planned")],
)
def test_a_batch_that_breaks_the_contract_is_never_a_success(
    tmp_path: Path, ws: Workspace, monkeypatch: pytest.MonkeyPatch, lie: str, says: str
) -> None:
    monkeypatch.setenv("BATCH_LIE", lie)
    stack = batch_stack(tmp_path, data_values(5))
    with apply_session(ws, stack) as session:
        report = session.execute()
    assert not report.full_success
    assert any("contract violation" in e and says in e for e in report.result.errors), report.result.errors
    run = history.show_run(ws, report.run_id)
    assert run["status"] == "partial" and any(says in e for e in run["errors"])


@pytest.mark.parametrize("reader", ["fast", "slow"])
def test_a_plugin_dying_mid_batch_keeps_what_it_had_finished(
    tmp_path: Path, ws: Workspace, monkeypatch: pytest.MonkeyPatch, reader: str
) -> None:
    """gRPC drops answers received but not yet read when the call fails: the engine takes them off
    the call as they arrive, even while it is busy with the ones before (the slow reader)."""
    monkeypatch.setenv("BATCH_LIE", "die")
    monkeypatch.setenv("DIE_DELAY", "0.05")
    if reader == "slow":
        real = client.reported_outcome

        def slow(result: Any, source: str) -> Any:
            time.sleep(0.02)  # 92 results: about 2 s, long after the plugin died
            return real(result, source)

        monkeypatch.setattr(client, "reported_outcome", slow)
    values = data_values(92) + [{"type": "data.value", "name": "boom", "spec": {"input": "die"}}]
    stack = batch_stack(tmp_path, values + data_values(7, prefix="after"))
    with apply_session(ws, stack) as session:
        report = session.execute()
    by_address = {o.address: o for o in report.result.actions}
    finished = [o for a, o in by_address.items() if a.startswith("app/data.value.v")]
    assert len(finished) == 92 and all(o.status.value == "SUCCESS" for o in finished), [
        (o.address, o.status.value, o.error) for o in finished if o.status.value != "SUCCESS"
    ][:3]
    assert by_address["app/data.value.boom"].status.value == "ERROR"
    assert "live state uncertain" in (by_address["app/data.value.boom"].error or "")
    states = {r["address"]: r["status"] for r in history.list_state(ws, "test")}
    assert sum(1 for a, s in states.items() if a.startswith("app/data.value.v") and s == "applied") == 92
