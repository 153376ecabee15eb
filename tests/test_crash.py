"""Kill a real apply process part-way; the ledger and state must say what happened."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from driftgate.config import Settings
from driftgate.plan.model import ActionKind
from driftgate.services.stacks import history
from driftgate.services.stacks.locking import break_lock
from driftgate.services.stacks.session import apply_session, plan_stack
from driftgate.services.workspace import Workspace
from driftgate.testing.stacks import write_stack

CHAOS = "driftgate.testing.chaos:ChaosProvider"
COUNT = 30


@pytest.mark.slow
def test_kill_mid_apply_leaves_an_honest_ledger_and_the_next_plan_refreshes(
    tmp_path: Path, store_url: str
) -> None:
    resources = [
        {"type": "chaos.file", "name": f"f{i}", "spec": {"path": f"f{i}", "content": str(i)}}
        for i in range(COUNT)
    ]
    stack = write_stack(
        tmp_path / "stack",
        providers={"chaos": {"root": "live", "delay_after": 0.25}},
        modules={"m": resources},
    )
    home = tmp_path / "home"
    env = {
        **os.environ,
        "DRIFTGATE_PROVIDER_PLUGINS": CHAOS,
        "DRIFTGATE_HOME": str(home),
        "DRIFTGATE_DATABASE_URL": store_url,
    }
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "driftgate.cli.app",
            "apply",
            "-s",
            str(stack),
            "--auto-approve",
            "--parallelism",
            "2",
        ],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    live = stack / "live"
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline and len(list(live.glob("f*"))) < 7:
        time.sleep(0.02)
    proc.send_signal(signal.SIGKILL)
    proc.wait(timeout=10)
    written = {p.name for p in live.glob("f*")}
    assert 7 <= len(written) < COUNT, "the kill must land part-way"

    ws = Workspace.open(Settings(home=home, provider_plugins=CHAOS, database_url=store_url))
    try:
        run = history.list_runs(ws)[0]
        assert run["status"] == "interrupted"
        ledger = history.show_run(ws, run["id"])["ledger"]
        assert len(ledger) == COUNT
        statuses = [e["status"] for e in ledger]
        done = [e for e in ledger if e["status"] == "SUCCESS"]
        uncertain = [e for e in ledger if e["status"] == "UNCERTAIN"]
        never = [e for e in ledger if e["status"] == "NOT_STARTED"]
        assert len(done) + len(uncertain) + len(never) == COUNT, statuses
        assert 1 <= len(uncertain) <= 2  # parallelism 2: at most two were in flight
        assert done and never
        for entry in done:  # everything recorded as finished really happened
            assert entry["address"].rsplit(".", 1)[1] in written
        for entry in never:  # nothing recorded as not started was touched
            assert entry["address"].rsplit(".", 1)[1] not in written

        state = {r["address"]: r["status"] for r in history.list_state(ws, "test")}
        for entry in uncertain:
            assert state[entry["address"]] == "uncertain"

        broken = break_lock(ws, "test", force=False)
        assert broken.run_id == run["id"]
        plan = plan_stack(ws, stack, refresh=False).plan  # uncertain ones are read live even so
        actions = {a.address: a for a in plan.actions}
        for entry in uncertain:
            action = actions[entry["address"]]
            name = entry["address"].rsplit(".", 1)[1]
            if name in written:
                assert action.kind is ActionKind.NOOP and action.adopt, action
                assert "read from live state" in action.reason
        creates = {a.address.rsplit(".", 1)[1] for a in plan.actions if a.kind is ActionKind.CREATE}
        assert creates == {f"f{i}" for i in range(COUNT)} - written

        with apply_session(ws, stack) as session:
            assert session.execute().full_success
        assert plan_stack(ws, stack).plan.exit_code() == 0
        assert all(r["status"] == "applied" for r in history.list_state(ws, "test"))
    finally:
        ws.close()
