"""The structured attributes (bucket lifecycle rules, public access block, encryption; table
indexes and TTL) through their lifecycle and drift; discovery scoped by path prefixes; unmanaged
resources imported into a reconcile draft, a SecureString's value never among them."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
import yaml

from conftest import Moto
from driftgate.cli import exitcodes as codes
from driftgate.testing.cli import run
from driftgate.testing.gitrepos import cloned_stack, git
from driftgate.testing.stacks import write_stack
from test_aws_plugin import PLUGIN

GATE = ("--module", "data", "--allow-stateful", "--confirm", "data")


def stack_of(tmp_path: Path, moto: Moto, modules: dict[str, list[dict[str, Any]]], **config: Any) -> Path:
    providers = {"aws": {"plugin": str(PLUGIN), "config": {**moto.config(), **config}}}
    return write_stack(tmp_path / "stack", name="cloud", modules=modules, providers=providers)


def drifted(capsys: pytest.CaptureFixture[str], stack: Path) -> dict[str, set[str]]:
    code, out, _ = run(capsys, "drift", "-s", str(stack), "--json")
    assert code == codes.CHANGES, out
    return {
        i["address"]: {c["attribute"] for c in i["changes"]}
        for i in json.loads(out)["items"]
        if i["drift"] == "changed"
    }


def test_bucket_lifecycle_access_block_and_encryption(
    tmp_path: Path, moto: Moto, capsys: pytest.CaptureFixture[str]
) -> None:
    spec = {
        "name": "acme-logs",
        "lifecycle_rules": [
            {"id": "expire-logs", "prefix": "logs/", "expiration_days": 30},
            {"id": "uploads", "abort_incomplete_multipart_upload_days": 2},
        ],
        "public_access_block": {
            "block_public_acls": True,
            "block_public_policy": True,
            "ignore_public_acls": True,
            "restrict_public_buckets": True,
        },
        "encryption": {"sse_algorithm": "AES256"},
    }
    stack = stack_of(tmp_path, moto, {"data": [{"type": "aws.s3_bucket", "name": "logs", "spec": spec}]})
    assert run(capsys, "apply", "-s", str(stack), "--auto-approve", *GATE)[0] == 0
    assert run(capsys, "plan", "-s", str(stack))[0] == 0
    s3 = moto.client("s3")
    rules = s3.get_bucket_lifecycle_configuration(Bucket="acme-logs")["Rules"]
    assert {r["ID"] for r in rules} == {"expire-logs", "uploads"}

    s3.delete_bucket_lifecycle(Bucket="acme-logs")
    s3.put_public_access_block(
        Bucket="acme-logs",
        PublicAccessBlockConfiguration={
            "BlockPublicAcls": False,
            "BlockPublicPolicy": True,
            "IgnorePublicAcls": True,
            "RestrictPublicBuckets": True,
        },
    )
    s3.put_bucket_encryption(
        Bucket="acme-logs",
        ServerSideEncryptionConfiguration={
            "Rules": [{"ApplyServerSideEncryptionByDefault": {"SSEAlgorithm": "aws:kms"}}]
        },
    )
    assert drifted(capsys, stack) == {
        "data/aws.s3_bucket.logs": {"lifecycle_rules", "public_access_block", "encryption"}
    }

    module = stack / "modules" / "data.yaml"
    doc = yaml.safe_load(module.read_text())
    del doc["resources"][0]["spec"]["public_access_block"]  # unset: left as AWS has it
    del doc["resources"][0]["spec"]["encryption"]
    module.write_text(yaml.safe_dump(doc))
    code, out, _ = run(capsys, "plan", "-s", str(stack), "--json")
    (action,) = json.loads(out)["actions"]
    assert code == codes.CHANGES and [c["name"] for c in action["changes"]] == ["lifecycle_rules"]


def test_table_indexes_and_ttl(tmp_path: Path, moto: Moto, capsys: pytest.CaptureFixture[str]) -> None:
    spec: dict[str, Any] = {
        "name": "users",
        "hash_key": "id",
        "attributes": [{"name": "id", "type": "S"}, {"name": "email", "type": "S"}],
        "global_secondary_indexes": [
            {"name": "by-email", "hash_key": "email", "projection_type": "KEYS_ONLY"}
        ],
        "ttl": {"attribute_name": "expires_at"},
    }
    table = {"type": "aws.dynamodb_table", "name": "users", "spec": spec}
    stack = stack_of(tmp_path, moto, {"data": [table]})
    assert run(capsys, "apply", "-s", str(stack), "--auto-approve", *GATE)[0] == 0
    assert run(capsys, "plan", "-s", str(stack))[0] == 0
    dynamodb = moto.client("dynamodb")
    ttl = dynamodb.describe_time_to_live(TableName="users")["TimeToLiveDescription"]
    assert ttl == {"TimeToLiveStatus": "ENABLED", "AttributeName": "expires_at"}

    dynamodb.update_time_to_live(
        TableName="users", TimeToLiveSpecification={"AttributeName": "expires_at", "Enabled": False}
    )
    assert drifted(capsys, stack) == {"data/aws.dynamodb_table.users": {"ttl"}}

    spec["attributes"].append({"name": "team", "type": "S"})
    spec["global_secondary_indexes"] = [{"name": "by-team", "hash_key": "team"}]  # one dropped, one added
    module = stack / "modules" / "data.yaml"
    doc = yaml.safe_load(module.read_text())
    doc["resources"][0]["spec"] = spec
    module.write_text(yaml.safe_dump(doc))
    code, out, _ = run(capsys, "plan", "-s", str(stack), "--json")
    (action,) = json.loads(out)["actions"]
    assert code == codes.CHANGES and action["action"] == "update"  # in place, not a new table
    code, out, err = run(capsys, "backup", "create", "data", "-s", str(stack), "--json")
    assert code == 0, out + err
    ref = json.loads(out)["ref"]
    code, out, err = run(capsys, "apply", "-s", str(stack), "--auto-approve", *GATE, "--backup-ref", ref)
    assert code == 0, out + err
    live = dynamodb.describe_table(TableName="users")["Table"]
    assert [i["IndexName"] for i in live["GlobalSecondaryIndexes"]] == ["by-team"]
    ttl = dynamodb.describe_time_to_live(TableName="users")["TimeToLiveDescription"]
    assert ttl["TimeToLiveStatus"] == "ENABLED"
    assert run(capsys, "plan", "-s", str(stack))[0] == 0


def test_discovery_by_path_prefix_and_import_into_a_draft(
    tmp_path: Path, moto: Moto, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    trust = {
        "Version": "2012-10-17",
        "Statement": [
            {"Effect": "Allow", "Principal": {"Service": "ec2.amazonaws.com"}, "Action": "sts:AssumeRole"}
        ],
    }
    managed = {
        "type": "aws.iam_role",
        "name": "app",
        "spec": {"name": "app", "path": "/team/", "assume_role_policy": trust},
    }
    rendered = stack_of(tmp_path, moto, {"app": [managed]}, iam_path_prefix="/team/", parameter_path="/team/")
    remote, stack = cloned_stack(tmp_path, rendered, "stacks/cloud")
    assert run(capsys, "apply", "-s", str(stack), "--auto-approve")[0] == 0

    iam, ssm = (
        moto.client("iam"),
        moto.client("iam"),
    )
    iam.create_role(RoleName="stray", Path="/team/", AssumeRolePolicyDocument=json.dumps(trust))
    iam.create_role(RoleName="elsewhere", Path="/other/", AssumeRolePolicyDocument=json.dumps(trust))
    ssm = moto.client("ssm")
    ssm.put_parameter(Name="/team/token", Value="never-imported-4471", Type="SecureString")
    ssm.put_parameter(Name="/team/level", Value="7", Type="String")
    ssm.put_parameter(Name="/other/level", Value="8", Type="String")

    code, out, _ = run(capsys, "drift", "-s", str(stack), "--json")
    unmanaged = {i["address"] for i in json.loads(out)["items"] if i["drift"] == "unmanaged"}
    assert unmanaged == {
        "(unmanaged)/aws.iam_role[stray]",
        "(unmanaged)/aws.ssm_parameter[/team/token]",
        "(unmanaged)/aws.ssm_parameter[/team/level]",
    }  # not what lies outside the configured paths

    code, out, _ = run(capsys, "reconcile", "-s", str(stack), "--json")
    result = json.loads(out)
    assert code == codes.CHANGES and result["draft"] is True, out
    branch = result["branch"]
    listing = git(remote.path, "ls-tree", "-r", "--name-only", branch).split()
    texts = "".join(
        git(remote.path, "show", f"{branch}:{name}") for name in listing if name.endswith(".yaml")
    )
    assert "stray" in texts and "/team/level" in texts and "/team/token" in texts
    assert "elsewhere" not in texts and "/other/level" not in texts
    assert "never-imported-4471" not in texts  # a SecureString's value: a placeholder, never the value
    assert "sensitive: not imported" in texts
