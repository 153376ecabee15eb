"""The planner on its own: specs and recorded state in, a plan out (no store, no executor)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from driftgate.plan.model import UNKNOWN, ActionKind, Plan
from driftgate.plan.state import RecordedResource
from driftgate.planner.planner import build_plan
from driftgate.services.workspace import Workspace
from driftgate.testing.stacks import write_stack


def plan_of(ws: Workspace, directory: Path, recorded: dict[str, RecordedResource], **kw: Any) -> Plan:
    stack = ws.load_stack(directory)
    return build_plan(
        stack,
        recorded=recorded,
        providers=ws.providers_for(stack),
        secrets=ws.secrets(),
        refresh=kw.get("refresh", False),
        state_serial=kw.get("serial", 7),
    )


def two_modules(tmp_path: Path, greeting: str = "hi") -> Path:
    return write_stack(
        tmp_path / "stack",
        modules={
            "a": [
                {"type": "data.value", "name": "copy", "spec": {"input": "${b/data.value.greeting.output}!"}},
            ],
            "b": [{"type": "data.value", "name": "greeting", "spec": {"input": greeting}}],
        },
    )


def recorded(address: str, value: Any, *, depends_on: tuple[str, ...] = ()) -> RecordedResource:
    module = address.split("/")[0]
    return RecordedResource(
        address=address,
        module=module,
        type="data.value",
        attributes={"input": value},
        outputs={"output": value, "id": f"id-{address}"},
        depends_on=depends_on,
    )


def test_a_new_stack_plans_creates_in_listing_order_with_unknown_outputs(
    ws: Workspace, tmp_path: Path
) -> None:
    plan = plan_of(ws, two_modules(tmp_path), {})
    assert [(a.address, a.kind) for a in plan.actions] == [
        ("a/data.value.copy", ActionKind.CREATE),
        ("b/data.value.greeting", ActionKind.CREATE),
    ]
    assert [a.index for a in plan.actions] == [0, 1]
    copy = plan.actions[0]
    assert copy.depends_on == ("b/data.value.greeting",) and copy.changes[0].new == UNKNOWN
    assert plan.counts()["create"] == 2 and plan.state_serial == 7 and not plan.errors


def test_recorded_state_that_matches_is_a_noop_and_a_change_is_an_update(
    ws: Workspace, tmp_path: Path
) -> None:
    state = {
        "b/data.value.greeting": recorded("b/data.value.greeting", "hi"),
        "a/data.value.copy": recorded("a/data.value.copy", "hi!", depends_on=("b/data.value.greeting",)),
    }
    same = plan_of(ws, two_modules(tmp_path), state)
    assert {a.kind for a in same.actions} == {ActionKind.NOOP} and not same.has_changes
    changed = plan_of(ws, two_modules(tmp_path, greeting="hello"), state)
    kinds = {a.address: a.kind for a in changed.actions}
    assert kinds["b/data.value.greeting"] is ActionKind.UPDATE
    (change,) = [a for a in changed.actions if a.address == "b/data.value.greeting"][0].changes
    assert (change.name, change.old, change.new) == ("input", "hi", "hello")


def test_recorded_resources_no_longer_in_the_specs_are_deleted_last(ws: Workspace, tmp_path: Path) -> None:
    state = {
        "b/data.value.greeting": recorded("b/data.value.greeting", "hi"),
        "a/data.value.copy": recorded("a/data.value.copy", "hi!", depends_on=("b/data.value.greeting",)),
        "gone/data.value.base": recorded("gone/data.value.base", 1),
        "gone/data.value.top": recorded("gone/data.value.top", 2, depends_on=("gone/data.value.base",)),
    }
    plan = plan_of(ws, two_modules(tmp_path), state)
    deletes = [a.address for a in plan.actions if a.kind is ActionKind.DELETE]
    assert deletes == ["gone/data.value.top", "gone/data.value.base"]  # dependents first
    assert [a.address for a in plan.actions][-2:] == deletes


def test_a_delete_without_its_provider_is_a_plan_error(ws: Workspace, tmp_path: Path) -> None:
    d = write_stack(tmp_path / "stack", modules={"m": []}, providers={"file": {"root": "live"}})
    plan = plan_of(ws, d, {"old/data.value.x": recorded("old/data.value.x", 1)})
    assert plan.errors == ("old/data.value.x: cannot delete: provider for data.value is not configured",)
    assert not plan.actions
