"""The store's stacks, states and runs (with their ledger) directly, on SQLite and on a real PostgreSQL server."""

from __future__ import annotations

import uuid

from driftgate.services.workspace import Workspace
from driftgate.store import runs as runs_db
from driftgate.store import stacks as stacks_db
from driftgate.store import states as states_db


def a_stack(ws: Workspace, name: str = "s") -> int:
    with ws.transaction() as conn:
        return stacks_db.ensure_stack(conn, name, f"/tmp/{name}").id


def write(address: str, value: object, *, status: str = "applied") -> states_db.StateWrite:
    return states_db.StateWrite(
        address=address,
        module=address.split("/")[0],
        type="data.value",
        attributes={"input": value, "nested": {"list": [1, 2]}},
        outputs={"output": value},
        depends_on=(),
        status=status,
    )


def test_states_round_trip_and_list_by_address_without_values(ws: Workspace) -> None:
    stack = a_stack(ws)
    run = str(uuid.uuid4())
    with ws.transaction() as conn:
        states_db.upsert_states(conn, stack, run, [write("m/data.value.b", 2), write("m/data.value.a", "x")])
        states_db.upsert_states(conn, stack, run, [write("m/data.value.b", 3)])  # an upsert, not a second row
    with ws.transaction() as conn:
        state = states_db.load_state(conn, stack)
        listed = states_db.list_resources(conn, stack)
        one = states_db.get_state(conn, stack, "m/data.value.b")
        assert states_db.count_states(conn, stack) == 2
    assert state["m/data.value.a"].attributes == {"input": "x", "nested": {"list": [1, 2]}}
    assert one is not None and one.outputs == {"output": 3}
    assert listed == [
        ("m/data.value.a", "data.value", "applied", run),
        ("m/data.value.b", "data.value", "applied", run),
    ]
    with ws.transaction() as conn:
        states_db.delete_states(conn, stack, ["m/data.value.a"])
        assert list(states_db.load_state(conn, stack)) == ["m/data.value.b"]


def test_the_state_serial_counts_changes_per_stack(ws: Workspace) -> None:
    first, second = a_stack(ws, "one"), a_stack(ws, "two")
    with ws.transaction() as conn:
        assert stacks_db.state_serial(conn, first) == 0
        stacks_db.bump_serial(conn, first)
        stacks_db.bump_serial(conn, first)
    with ws.transaction() as conn:
        assert (stacks_db.state_serial(conn, first), stacks_db.state_serial(conn, second)) == (2, 0)
        assert stacks_db.ensure_stack(conn, "one", "/elsewhere").id == first  # one row per name


def test_a_run_its_planned_outcomes_and_its_ledger(ws: Workspace) -> None:
    stack = a_stack(ws)
    run = str(uuid.uuid4())
    with ws.transaction() as conn:
        runs_db.create_run(conn, run_id=run, stack_id=stack, kind="apply", actor="me", pid=1, host="h")
        planned = [
            runs_db.PlannedRow(0, "m/data.value.a", "create", {}),
            runs_db.PlannedRow(1, "m/data.value.b", "noop", {"output": 1}),
        ]
        runs_db.insert_planned_outcomes(conn, run, planned, now=1.0)
        runs_db.finish_run(conn, run, status="succeeded", action_count=2, summary={"k": 1}, errors=[])
    with ws.transaction() as conn:
        found = runs_db.find_run(conn, run[:8])
        ledger = runs_db.run_outcomes(conn, run)
        lean = runs_db.run_outcomes(conn, run, outputs=False)
        listed = runs_db.list_runs(conn, stack="s")
    assert found is not None and found.status == "succeeded" and found.summary == {"k": 1}
    assert [r["idx"] for r in ledger] == [0, 1] and ledger[1]["status"] == "SUCCESS"  # a noop is done at once
    assert ledger[1]["outputs"] == {"output": 1} and all(r["outputs"] is None for r in lean)
    assert [r.id for r in listed] == [run]
