"""Data safety through the AWS plugin on moto's server: the gate judges a table or a bucket by what
is recorded. The matrix rows (ways to destroy a DynamoDB table's items × lanes of the gate) are walked
by ``driftgate.testing.gate_matrix``."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from conftest import Moto
from driftgate.cli import exitcodes as codes
from driftgate.testing.cli import run
from driftgate.testing.gate_matrix import (
    COMMON_WAYS,
    Lanes,
    backed_up_and_restored,
    backup,
    manual,
    remove_resources,
    walk_the_lanes,
)
from driftgate.testing.stacks import read_module, write_module, write_stack
from test_aws_plugin import PLUGIN

ITEMS = 20
TABLE: dict[str, Any] = {
    "type": "aws.dynamodb_table",
    "name": "orders",
    "spec": {
        "name": "orders",
        "hash_key": "id",
        "attributes": [{"name": "id", "type": "S"}],
        "tags": {"v": "1"},
    },
}


def cloud_stack(tmp_path: Path, moto: Moto, modules: dict[str, list[dict[str, Any]]], **kw: Any) -> Path:
    providers = {"aws": {"plugin": str(PLUGIN), "config": moto.config()}}
    return write_stack(tmp_path / "stack", name="cloud", modules=modules, providers=providers, **kw)


def item_count(moto: Moto) -> int | None:
    dynamodb = moto.client("dynamodb")
    if "orders" not in dynamodb.list_tables()["TableNames"]:
        return None
    count: int = dynamodb.scan(TableName="orders")["Count"]
    return count


def applied_with_items(capsys: pytest.CaptureFixture[str], tmp_path: Path, moto: Moto) -> Lanes:
    stack = cloud_stack(tmp_path, moto, {"data": [TABLE]}, stateful=["data"])
    code, out, err = run(capsys, *manual(stack, "data"))
    assert code == 0, out + err  # only creates: nothing to lose yet
    dynamodb = moto.client("dynamodb")
    for n in range(ITEMS):
        dynamodb.put_item(TableName="orders", Item={"id": {"S": f"order-{n}"}})
    stale = backup(capsys, stack, "data")
    doc = read_module(stack, "data")
    doc["resources"][0]["spec"]["tags"] = {"v": "2"}
    write_module(stack, "data", doc)
    code, out, err = run(capsys, *manual(stack, "data", "--backup-ref", stale))
    assert code == 0, out + err  # a tag change with a valid backup: now that backup is stale
    return Lanes(stack, "data", stale, lambda: item_count(moto) == ITEMS)


def force_new_replace(stack: Path) -> None:
    doc = read_module(stack, "data")
    spec = doc["resources"][0]["spec"]
    spec["range_key"] = "at"  # a table's keys are fixed at creation
    spec["attributes"] = [*spec["attributes"], {"name": "at", "type": "S"}]
    write_module(stack, "data", doc)


WAYS: dict[str, Callable[[Path], None]] = {
    **COMMON_WAYS,
    "force-new replace": force_new_replace,
}


@pytest.mark.parametrize("way", list(WAYS))
def test_the_matrix_on_aws(way: str, tmp_path: Path, moto: Moto, capsys: pytest.CaptureFixture[str]) -> None:
    lanes = applied_with_items(capsys, tmp_path, moto)
    WAYS[way](lanes.stack)
    walk_the_lanes(capsys, lanes)


def test_the_matrix_restore_then_remove(
    tmp_path: Path, moto: Moto, capsys: pytest.CaptureFixture[str]
) -> None:
    lanes = applied_with_items(capsys, tmp_path, moto)
    backed_up_and_restored(capsys, lanes)
    remove_resources(lanes.stack)
    code, out, _ = run(capsys, "plan", "-s", str(lanes.stack), "--json")
    (delete,) = [a for a in json.loads(out)["actions"] if a["action"] == "delete"]
    assert delete["data_bearing"] is True and delete["data_loss"] is True
    walk_the_lanes(capsys, lanes)


def test_an_empty_bucket_removed_from_its_file_is_held(
    tmp_path: Path, moto: Moto, capsys: pytest.CaptureFixture[str]
) -> None:
    """Defect 1: the auto lane dropped an empty bucket whose line was removed (no gate, no backup)."""
    bucket = {"type": "aws.s3_bucket", "name": "assets", "spec": {"name": "acme-empty"}}
    param = {"type": "aws.ssm_parameter", "name": "flag", "spec": {"name": "/app/flag", "value": "on"}}
    stack = cloud_stack(tmp_path, moto, {"storage": [bucket], "app": [param]})
    assert run(capsys, *manual(stack, "storage"))[0] == 0
    assert run(capsys, "apply", "-s", str(stack), "--auto-approve", "--lane", "auto")[0] == 0
    cloud_stack(
        tmp_path, moto, {"storage": [], "app": [{**param, "spec": {**param["spec"], "value": "off"}}]}
    )
    code, out, err = run(capsys, "apply", "-s", str(stack), "--auto-approve", "--lane", "auto")
    assert code == codes.REFUSED, out + err
    assert "held back: module 'storage' deletes or replaces data-bearing storage/aws.s3_bucket.assets" in err
    buckets = [b["Name"] for b in moto.client("s3").list_buckets()["Buckets"]]
    assert "acme-empty" in buckets
    value = moto.client("ssm").get_parameter(Name="/app/flag")["Parameter"]["Value"]
    assert value == "off"  # the stateless module still applied
