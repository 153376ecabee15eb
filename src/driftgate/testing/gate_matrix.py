"""The data-loss matrix: one way of destroying data, walked through every lane of the gate.

Each provider's test builds a stack, applies it, puts data in it, makes a *stale* backup (taken
before the module's last applied change), then edits the specs one way (removes the resource,
removes the module file, flips ``stateful: false``, moves it, forces a replacement …) and calls
:func:`walk_the_lanes`. It asserts the outcome of each lane and checks the live data after each:

| lane | expected |
|---|---|
| auto | held (exit 4), data still there |
| manual, no backup | refused (exit 4, ``--backup-ref``), data still there |
| manual, stale backup | refused (exit 4, ``taken before``), data still there |
| manual, fresh verified backup | applied (exit 0); the fresh backup restores the data |
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from driftgate.testing.cli import Capture, run
from driftgate.testing.stacks import read_module, write_module

REFUSED = 4


@dataclass(frozen=True)
class Lanes:
    """What a matrix row needs: the stack, the module holding the data, a stale backup of it, and
    how to see the data."""

    stack: Path
    module: str
    stale_ref: str
    data_is_there: Callable[[], bool]


def backup(capsys: Capture, stack: Path, module: str) -> str:
    code, out, err = run(capsys, "backup", "create", module, "-s", str(stack), "--json")
    assert code == 0, out + err
    ref: str = json.loads(out)["ref"]
    return ref


def manual(stack: Path, module: str, *extra: str) -> list[str]:
    return [
        "apply",
        "-s",
        str(stack),
        "--auto-approve",
        "--module",
        module,
        "--allow-stateful",
        "--confirm",
        module,
        *extra,
    ]


def walk_the_lanes(capsys: Capture, lanes: Lanes, *, restore: bool = True) -> str:
    """Every lane against the edited specs; returns the fresh backup's ref. With ``restore``, the
    fresh backup is restored after the apply and the data must be back."""
    stack, module = lanes.stack, lanes.module
    assert lanes.data_is_there(), "the matrix starts with data"

    code, out, err = run(capsys, "apply", "-s", str(stack), "--auto-approve", "--lane", "auto")
    assert code == REFUSED and "held back" in err, f"auto lane: exit {code}\n{out}{err}"
    assert lanes.data_is_there(), "auto lane: the data must still be there"
    assert "DATA LOSS RISK" in out, out

    code, out, err = run(capsys, *manual(stack, module))
    assert code == REFUSED and "--backup-ref" in err, f"manual, no backup: exit {code}\n{out}{err}"
    assert lanes.data_is_there(), "manual lane without a backup: the data must still be there"

    code, out, err = run(capsys, *manual(stack, module, "--backup-ref", lanes.stale_ref))
    assert code == REFUSED and "taken before" in err, f"manual, stale backup: exit {code}\n{out}{err}"
    assert lanes.data_is_there(), "manual lane with a stale backup: the data must still be there"

    fresh = backup(capsys, stack, module)
    code, out, err = run(capsys, *manual(stack, module, "--backup-ref", fresh))
    assert code == 0, f"manual, fresh backup: exit {code}\n{out}{err}"
    if restore:
        code, out, err = run(capsys, "backup", "restore", fresh, "-s", str(stack), "--yes")
        assert code == 0, out + err
        assert lanes.data_is_there(), "the fresh backup must bring the data back"
    return fresh


# Spec edits every provider's matrix makes the same way (the module holding the data is "data").


def remove_resources(stack: Path, module: str = "data") -> None:
    """Every resource's line removed from the module file (the file stays)."""
    doc = read_module(stack, module)
    doc["resources"] = []
    write_module(stack, module, doc)


def remove_module_file(stack: Path, module: str = "data") -> None:
    (stack / "modules" / f"{module}.yaml").unlink()


def move_to_another_module(stack: Path, module: str = "data", to: str = "moved") -> None:
    """The module's resources moved, unchanged, to a new module file that does not say stateful."""
    doc = read_module(stack, module)
    remove_module_file(stack, module)
    write_module(stack, to, {**doc, "name": to, "stateful": False})


def backed_up_and_restored(capsys: Capture, lanes: Lanes) -> str:
    """A fresh backup of the module, restored at once (the "restore, then remove" row): its ref."""
    ref = backup(capsys, lanes.stack, lanes.module)
    code, out, err = run(capsys, "backup", "restore", ref, "-s", str(lanes.stack), "--yes")
    assert code == 0, out + err
    return ref


def flip_stateful_and_remove(stack: Path, module: str = "data") -> None:
    """``stateful: false`` and every resource's line removed, in one commit."""
    doc = read_module(stack, module)
    doc["stateful"] = False
    doc["resources"] = []
    write_module(stack, module, doc)


COMMON_WAYS: dict[str, Callable[[Path], None]] = {
    "remove the resource": remove_resources,
    "remove the module file": remove_module_file,
    "flip stateful: false and remove": flip_stateful_and_remove,
    "move it to another module": move_to_another_module,
}
"""The ways to destroy data every provider's matrix walks the same; each adds its own (force-new…)."""
