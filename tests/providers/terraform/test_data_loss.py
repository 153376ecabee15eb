"""Data safety on a Terraform root: the gate judges by what is recorded, and every Terraform event
lands on its own child in the ledger.

The matrix rows (ways to destroy a listed ``data_bearing`` address × lanes) are walked by
``driftgate.testing.gate_matrix``; restore is a person's decision for a Terraform root, so the
applied cell checks the resource is gone instead of restoring it.
"""

from __future__ import annotations

import json
import os
import stat
import textwrap
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from driftgate.cli import exitcodes as codes
from driftgate.providers.terraform.runner import Terraform
from driftgate.testing.cli import run
from driftgate.testing.gate_matrix import Lanes, backup, manual, walk_the_lanes
from driftgate.testing.stacks import read_module, write_module, write_stack

ROOT = """
variable "greeting" { type = string }
variable "generation" {
  type    = string
  default = "1"
}
resource "terraform_data" "keep" { input = var.greeting }
resource "terraform_data" "store" {
  input            = "rows"
  triggers_replace = [var.generation]
}
"""
NET = "net/terraform.root.network"
STORE = "terraform_data.store"


def tf_stack(tmp_path: Path, terraform: str, *, stateful: bool, data_bearing: list[str], **var: str) -> Path:
    spec: dict[str, Any] = {"dir": "root", "vars": {"greeting": "hello", **var}, "data_bearing": data_bearing}
    stack = write_stack(
        tmp_path / "stack",
        name="tfsafe",
        modules={"net": [{"type": "terraform.root", "name": "network", "spec": spec}]},
        providers={"terraform": {"binary": terraform}},
        stateful=["net"] if stateful else [],
    )
    root = stack / "root"
    if not root.exists():
        root.mkdir()
        (root / "main.tf").write_text(textwrap.dedent(ROOT))
    return stack


def resource_ids(terraform: str, stack: Path, tmp_path: Path) -> dict[str, str]:
    state = Terraform(terraform, stack / "root", tmp_path / "look").show_state()
    resources = (state.get("values") or {}).get("root_module", {}).get("resources", [])
    return {r["address"]: r["values"]["id"] for r in resources}


def applied(capsys: pytest.CaptureFixture[str], tmp_path: Path, terraform: str, *, stateful: bool) -> Lanes:
    """The root applied, ``store`` listed as data-bearing, and a backup made stale by a later change."""
    stack = tf_stack(tmp_path, terraform, stateful=stateful, data_bearing=[STORE])
    first = (
        manual(stack, "net") if stateful else ["apply", "-s", str(stack), "--auto-approve", "--lane", "auto"]
    )
    code, out, err = run(capsys, *first)
    assert code == 0, out + err  # only creates: nothing to lose yet
    store_id = resource_ids(terraform, stack, tmp_path)[STORE]
    stale = backup(capsys, stack, "net")
    doc = read_module(stack, "net")
    doc["resources"][0]["spec"]["vars"]["greeting"] = "changed"
    write_module(stack, "net", doc)
    again = [*manual(stack, "net", "--backup-ref", stale)] if stateful else first
    code, out, err = run(capsys, *again)
    assert code == 0, out + err  # an update of keep only: now the backup is stale

    def there() -> bool:
        return resource_ids(terraform, stack, tmp_path).get(STORE) == store_id

    return Lanes(stack, "net", stale, there)


def remove_from_main_tf(stack: Path) -> None:
    main = stack / "root" / "main.tf"
    source = main.read_text()
    start = source.index('resource "terraform_data" "store"')
    main.write_text(source[:start] + source[source.index("}\n", start) + 2 :])


def drop_listing_and_remove(stack: Path) -> None:
    doc = read_module(stack, "net")
    doc["resources"][0]["spec"]["data_bearing"] = []
    write_module(stack, "net", doc)
    remove_from_main_tf(stack)


def flip_stateful_and_remove(stack: Path) -> None:
    doc = read_module(stack, "net")
    doc["stateful"] = False
    doc["resources"][0]["spec"]["data_bearing"] = []
    write_module(stack, "net", doc)
    remove_from_main_tf(stack)


def force_new_replace(stack: Path) -> None:
    doc = read_module(stack, "net")
    doc["resources"][0]["spec"]["vars"]["generation"] = "2"  # triggers_replace
    write_module(stack, "net", doc)


WAYS: dict[str, tuple[Callable[[Path], None], bool]] = {
    "remove the resource": (remove_from_main_tf, False),
    "remove it from data_bearing": (drop_listing_and_remove, False),
    "flip stateful: false and remove": (flip_stateful_and_remove, True),
    "force-new replace": (force_new_replace, False),
}


@pytest.mark.parametrize("way", list(WAYS))
def test_the_matrix_on_a_terraform_root(
    way: str, tmp_path: Path, terraform: str, capsys: pytest.CaptureFixture[str]
) -> None:
    edit, stateful = WAYS[way]
    lanes = applied(capsys, tmp_path, terraform, stateful=stateful)
    edit(lanes.stack)
    code, out, _ = run(capsys, "plan", "-s", str(lanes.stack), "--json")
    child = next(a for a in json.loads(out)["actions"] if a["address"] == f"{NET}[{STORE}]")
    assert child["data_loss"] is True, child
    walk_the_lanes(capsys, lanes, restore=False)
    assert not lanes.data_is_there()  # applied on purpose, with a fresh backup
    code, out, _ = run(capsys, "runs", "list", "--json")
    last = json.loads(out)["runs"][0]
    assert last["status"] == "succeeded", last  # Terraform's delete/replace is recorded as it happened
    code, out, _ = run(capsys, "runs", "show", last["id"], "--json")
    outcomes = {e["address"]: (e["action"], e["status"]) for e in json.loads(out)["ledger"]}
    assert outcomes[f"{NET}[{STORE}]"][1] == "SUCCESS" and outcomes[NET][1] == "SUCCESS", outcomes
    assert run(capsys, "plan", "-s", str(lanes.stack))[0] == codes.OK
    backup(capsys, lanes.stack, "net")  # never "changed outside driftgate" after its own apply


def test_removing_the_module_file_lets_go_and_destroys_nothing(
    tmp_path: Path, terraform: str, capsys: pytest.CaptureFixture[str]
) -> None:
    lanes = applied(capsys, tmp_path, terraform, stateful=False)
    (lanes.stack / "modules" / "net.yaml").unlink()
    code, out, err = run(capsys, "apply", "-s", str(lanes.stack), "--auto-approve", "--lane", "auto")
    assert code == 0, out + err
    assert "DATA LOSS" not in out and lanes.data_is_there()  # Terraform's resources stay


def test_every_terraform_event_lands_on_its_child(
    tmp_path: Path, terraform: str, capsys: pytest.CaptureFixture[str]
) -> None:
    """Defect 6: deletes were "ERROR, not attempted" although Terraform destroyed them."""
    stack = tf_stack(tmp_path, terraform, stateful=False, data_bearing=[])
    main = stack / "root" / "main.tf"
    main.write_text(
        main.read_text()
        + textwrap.dedent(
            """
            resource "terraform_data" "cbd" {
              input            = "x"
              triggers_replace = [var.generation]
              lifecycle { create_before_destroy = true }
            }
            resource "terraform_data" "gone" { input = "g" }
            resource "terraform_data" "forgotten" { input = "f" }
            """
        )
    )
    auto = ["apply", "-s", str(stack), "--auto-approve", "--lane", "auto", "--json"]
    code, out, err = run(capsys, *auto)
    assert code == 0, out + err
    source = main.read_text()
    source = source.replace('resource "terraform_data" "gone" { input = "g" }\n', "")
    source = source.replace(
        'resource "terraform_data" "forgotten" { input = "f" }\n',
        "removed {\n  from = terraform_data.forgotten\n  lifecycle { destroy = false }\n}\n",
    )
    main.write_text(source)
    doc = read_module(stack, "net")
    doc["resources"][0]["spec"]["vars"]["generation"] = (
        "2"  # store: destroy then create; cbd: the other order
    )
    write_module(stack, "net", doc)
    code, out, err = run(capsys, *auto)
    assert code == 0, out + err
    actions = {a["address"]: (a["action"], a["status"]) for a in json.loads(out)["result"]["actions"]}
    assert actions[f"{NET}[terraform_data.gone]"] == ("delete", "SUCCESS")
    assert actions[f"{NET}[terraform_data.forgotten]"] == ("delete", "SUCCESS")
    assert actions[f"{NET}[{STORE}]"] == ("replace", "SUCCESS")
    assert actions[f"{NET}[terraform_data.cbd]"] == ("replace", "SUCCESS")
    assert actions[NET][1] == "SUCCESS"
    assert json.loads(out)["result"]["full_success"] is True
    ids = resource_ids(terraform, stack, tmp_path)
    assert "terraform_data.gone" not in ids and "terraform_data.forgotten" not in ids
    code, out, _ = run(capsys, "state", "list", "-s", str(stack), "--json")
    assert [(r["address"], r["status"]) for r in json.loads(out)["resources"]] == [(NET, "applied")]
    assert run(capsys, "plan", "-s", str(stack))[0] == codes.OK


def test_applying_a_saved_plan_does_not_plan_the_root_again(
    tmp_path: Path, terraform: str, capsys: pytest.CaptureFixture[str]
) -> None:
    log = tmp_path / "terraform-calls.log"
    wrapper = tmp_path / "bin" / "terraform"
    wrapper.parent.mkdir()
    wrapper.write_text(f'#!/bin/sh\necho "$1" >> {log}\nexec {terraform} "$@"\n')
    wrapper.chmod(wrapper.stat().st_mode | stat.S_IXUSR)
    stack = tf_stack(tmp_path, str(wrapper), stateful=False, data_bearing=[])
    planfile = tmp_path / "p.json"
    code, out, err = run(capsys, "plan", "-s", str(stack), "--out", str(planfile))
    assert code == codes.CHANGES, out + err
    assert "plan" in log.read_text().split()
    log.unlink()
    code, out, err = run(capsys, "apply", str(planfile), "-s", str(stack))
    assert code == 0, out + err
    calls = log.read_text().split()
    assert "apply" in calls and "plan" not in calls, calls
    assert os.path.exists(stack / "root" / "terraform.tfstate")


def test_the_plan_line_counts_what_terraform_counts(
    tmp_path: Path, terraform: str, capsys: pytest.CaptureFixture[str]
) -> None:
    """Issue 23, item 9: "Plan: 3 to add" counted the terraform.root itself (Terraform says 2)."""
    stack = tf_stack(tmp_path, terraform, stateful=False, data_bearing=[])
    code, out, _ = run(capsys, "plan", "-s", str(stack))
    assert code == codes.CHANGES and out.rstrip().endswith("Plan: 2 to add, 0 to change, 0 to destroy."), out


def test_the_drift_line_counts_resources_and_a_roots_addresses_apart() -> None:
    """Issue 23, item 9: "3 drifted of 2 scanned" (a root's drifted addresses against resources)."""
    from driftgate.cli.commands.drift import _summary
    from driftgate.drift.detect import DriftItem, DriftReport

    items = (
        DriftItem(f"{NET}[terraform_data.keep]", "net", "terraform.root", "changed"),
        DriftItem(f"{NET}[terraform_data.store]", "net", "terraform.root", "deleted"),
        DriftItem("app/file.file.page", "app", "file.file", "changed"),
        DriftItem("(unmanaged)/file.file[x]", "", "file.file", "unmanaged", resource_id="x"),
    )
    line = _summary(DriftReport("tf", items, (), 2))
    assert line == (
        f"2 of 2 managed resource(s) drifted ({NET}: 2 of its addresses); 1 found live that nothing manages."
    )
