"""Backups of the data-bearing kinds through the plugin on moto: a DynamoDB table (CreateBackup,
checked with DescribeBackup, restored with RestoreTableFromBackup) and a bucket's objects; the
gate wanting a verified one before a live table or bucket changes."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from conftest import Moto
from driftgate.cli import exitcodes as codes
from driftgate.testing.cli import run
from driftgate.testing.stacks import write_stack
from test_aws_plugin import PLUGIN

GATE = ("--module", "data", "--allow-stateful", "--confirm", "data")


def data_stack(tmp_path: Path, moto: Moto, resources: list[dict[str, Any]], **config: Any) -> Path:
    providers = {"aws": {"plugin": str(PLUGIN), "config": {**moto.config(), **config}}}
    return write_stack(tmp_path / "stack", name="cloud", modules={"data": resources}, providers=providers)


TABLE = {
    "type": "aws.dynamodb_table",
    "name": "orders",
    "spec": {
        "name": "orders",
        "hash_key": "id",
        "attributes": [{"name": "id", "type": "S"}],
        "point_in_time_recovery": True,
        "tags": {"team": "shop"},
    },
}


def test_a_table_change_needs_a_verified_backup_and_a_restore_brings_items_back(
    tmp_path: Path, moto: Moto, capsys: pytest.CaptureFixture[str]
) -> None:
    stack = data_stack(tmp_path, moto, [TABLE])
    s = ["-s", str(stack)]
    assert run(capsys, "apply", *s, "--auto-approve", *GATE)[0] == 0  # only creates: no backup needed
    dynamodb = moto.client("dynamodb")
    for n in range(5):
        dynamodb.put_item(TableName="orders", Item={"id": {"S": f"order-{n}"}})

    module = stack / "modules" / "data.yaml"
    module.write_text(module.read_text().replace("team: shop", "team: checkout"))
    code, out, _ = run(capsys, "apply", *s, "--auto-approve", *GATE, "--json")
    assert code == codes.REFUSED and "backup" in out

    code, out, err = run(capsys, "backup", "create", "data", *s, "--json")
    assert code == 0, out + err
    ref = json.loads(out)["ref"]
    backups = dynamodb.list_backups(TableName="orders")["BackupSummaries"]
    assert [b["BackupStatus"] for b in backups] == ["AVAILABLE"]
    assert run(capsys, "backup", "verify", ref, *s)[0] == 0

    for n in range(3):  # lost by hand
        dynamodb.delete_item(TableName="orders", Key={"id": {"S": f"order-{n}"}})
    code, out, err = run(capsys, "backup", "restore", ref, *s, "--yes")
    assert code == 0, out + err
    assert dynamodb.scan(TableName="orders")["Count"] == 5
    assert run(capsys, "plan", *s, "--module", "data")[0] == codes.CHANGES  # the tag change, still to apply

    code, out, err = run(capsys, "apply", *s, "--auto-approve", *GATE, "--backup-ref", ref, "--json")
    assert code == codes.REFUSED and "taken before module 'data' last changed" in out  # a restore is a change
    code, out, err = run(capsys, "backup", "create", "data", *s, "--json")
    assert code == 0, out + err
    ref = json.loads(out)["ref"]
    backups = [
        b
        for b in dynamodb.list_backups(TableName="orders")["BackupSummaries"]
        if b["BackupArn"] != backups[0]["BackupArn"]
    ]
    code, out, err = run(capsys, "apply", *s, "--auto-approve", *GATE, "--backup-ref", ref, "--json")
    assert code == 0, out + err
    arn = dynamodb.describe_table(TableName="orders")["Table"]["TableArn"]
    assert dynamodb.list_tags_of_resource(ResourceArn=arn)["Tags"] == [{"Key": "team", "Value": "checkout"}]

    dynamodb.delete_backup(BackupArn=backups[0]["BackupArn"])  # the backup is gone from AWS
    code, _, err = run(capsys, "backup", "verify", ref, *s)
    assert code == codes.BY_CODE["BACKUP_CORRUPT"] and "no longer exists" in err
    module.write_text(module.read_text().replace("team: checkout", "team: shop"))
    code, out, _ = run(capsys, "apply", *s, "--auto-approve", *GATE, "--backup-ref", ref, "--json")
    assert code == codes.REFUSED and "no longer exists" in out  # its checksum alone is not enough


def test_a_bucket_backs_up_its_objects_under_a_cap_and_restores_them(
    tmp_path: Path, moto: Moto, capsys: pytest.CaptureFixture[str]
) -> None:
    bucket = {"type": "aws.s3_bucket", "name": "assets", "spec": {"name": "acme-assets"}}
    stack = data_stack(tmp_path, moto, [bucket], backup_max_bytes=1000)
    s = ["-s", str(stack)]
    assert run(capsys, "apply", *s, "--auto-approve", *GATE)[0] == 0
    s3 = moto.client("s3")
    s3.put_object(Bucket="acme-assets", Key="a/one.txt", Body=b"one", ContentType="text/plain")
    s3.put_object(Bucket="acme-assets", Key="two.bin", Body=b"\x00\x01two", Metadata={"owner": "web"})
    code, out, err = run(capsys, "backup", "create", "data", *s, "--json")
    assert code == 0, out + err
    ref = json.loads(out)["ref"]

    s3.delete_object(Bucket="acme-assets", Key="a/one.txt")
    s3.put_object(Bucket="acme-assets", Key="two.bin", Body=b"overwritten")
    s3.put_object(Bucket="acme-assets", Key="stray.txt", Body=b"made after the backup")
    code, out, err = run(capsys, "backup", "restore", ref, *s, "--yes")
    assert code == 0, out + err
    keys = [o["Key"] for o in s3.list_objects_v2(Bucket="acme-assets")["Contents"]]
    assert keys == ["a/one.txt", "two.bin"]  # as the backup holds them: the stray is gone
    one = s3.get_object(Bucket="acme-assets", Key="a/one.txt")
    two = s3.get_object(Bucket="acme-assets", Key="two.bin")
    assert one["Body"].read() == b"one" and one["ContentType"] == "text/plain"
    assert two["Body"].read() == b"\x00\x01two" and two["Metadata"] == {"owner": "web"}

    s3.put_object(Bucket="acme-assets", Key="big.bin", Body=b"x" * 2000)
    code, out, err = run(capsys, "backup", "create", "data", *s)
    assert code != 0 and "backup_max_bytes (1000)" in out + err  # refused, not cut short
    assert "Traceback" not in out + err
