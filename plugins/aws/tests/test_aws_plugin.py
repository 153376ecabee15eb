"""The AWS plugin through the plugin boundary against moto's server: the conformance kit, and a
stack's plan, apply, drift from changes made with boto3, an output reference, discovery."""

from __future__ import annotations

import json
import shutil
import sys
from pathlib import Path

import pytest

from conftest import Moto
from driftgate.cli import exitcodes as codes
from driftgate.testing.cli import run
from driftgate.testing.stacks import write_stack

_BESIDE = Path(sys.executable).parent / "driftgate-provider-aws"  # the venv's, like driftgate's own
PLUGIN = str(_BESIDE) if _BESIDE.exists() else shutil.which("driftgate-provider-aws")


@pytest.fixture(autouse=True)
def installed() -> None:
    assert PLUGIN, "driftgate-provider-aws is not installed: ./scripts/venv test installs it"


def test_the_plugin_passes_the_conformance_kit(moto: Moto, capsys: pytest.CaptureFixture[str]) -> None:
    config = {
        **moto.config(),
        "access_key_id": "AKIAMOTOTESTKEY00000",
        "secret_access_key": "moto-test-secret",
    }
    code, out, _ = run(capsys, "plugin", "check", "--config", json.dumps(config), "--json", "--", str(PLUGIN))
    report = json.loads(out)
    assert code == 0 and report["passed"], [c for c in report["checks"] if not c["passed"]]
    assert len(report["checks"]) >= 20


def aws_stack(tmp_path: Path, moto: Moto) -> Path:
    bucket = {
        "type": "aws.s3_bucket",
        "name": "assets",
        "spec": {"name": "acme-assets", "tags": {"team": "web"}},
    }
    resources = [
        {"type": "aws.sqs_queue", "name": "dead", "spec": {"name": "orders-dead"}},
        {
            "type": "aws.sqs_queue",
            "name": "orders",
            "spec": {
                "name": "orders",
                "visibility_timeout": 60,
                "redrive_policy": {
                    "dead_letter_target_arn": "${aws.sqs_queue.dead.arn}",
                    "max_receive_count": 5,
                },
            },
        },
    ]
    providers = {"aws": {"plugin": str(PLUGIN), "version": ">=0.1", "config": moto.config()}}
    # a bucket is data-bearing: its module is stateful, applied on its own
    modules = {"storage": [bucket], "app": resources}
    return write_stack(tmp_path / "stack", name="cloud", modules=modules, providers=providers)


def test_plan_apply_drift_and_discovery_on_moto(
    tmp_path: Path, moto: Moto, capsys: pytest.CaptureFixture[str]
) -> None:
    stack = aws_stack(tmp_path, moto)
    code, out, _ = run(capsys, "plan", "-s", str(stack))
    assert code == codes.CHANGES and "Plan: 3 to add" in out
    code, out, err = run(capsys, "apply", "-s", str(stack), "--auto-approve", "--module", "app", "--json")
    assert code == 0, out + err
    gate = ("--module", "storage", "--allow-stateful", "--confirm", "storage")
    code, out, err = run(capsys, "apply", "-s", str(stack), "--auto-approve", *gate, "--json")
    assert code == 0, out + err
    sqs = moto.client("sqs")
    url = sqs.get_queue_url(QueueName="orders")["QueueUrl"]
    redrive = json.loads(
        sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["RedrivePolicy"])["Attributes"][
            "RedrivePolicy"
        ]
    )
    assert redrive["deadLetterTargetArn"].endswith(":orders-dead") and int(redrive["maxReceiveCount"]) == 5
    assert "AKIAMOTOTESTKEY00000" not in out and "moto-test-secret" not in out
    code, _, _ = run(capsys, "plan", "-s", str(stack))
    assert code == 0

    moto.client("s3").put_bucket_versioning(
        Bucket="acme-assets", VersioningConfiguration={"Status": "Enabled"}
    )
    moto.client("s3").delete_bucket_tagging(Bucket="acme-assets")
    sqs.set_queue_attributes(QueueUrl=url, Attributes={"VisibilityTimeout": "5"})
    sqs.create_queue(QueueName="made-by-hand")
    code, out, _ = run(capsys, "drift", "-s", str(stack), "--json")
    report = json.loads(out)
    assert code == codes.CHANGES
    items = {i["address"]: i for i in report["items"]}
    assert {c["attribute"] for c in items["storage/aws.s3_bucket.assets"]["changes"]} == {
        "versioning",
        "tags",
    }
    assert [c["attribute"] for c in items["app/aws.sqs_queue.orders"]["changes"]] == ["visibility_timeout"]
    assert items["(unmanaged)/aws.sqs_queue[made-by-hand]"]["drift"] == "unmanaged"
    code, _, _ = run(capsys, "apply", "-s", str(stack), "--auto-approve", "--module", "app")
    assert code == 0
    assert (
        sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["VisibilityTimeout"])["Attributes"][
            "VisibilityTimeout"
        ]
        == "60"
    )


def test_parameters_roles_and_policies_drift_and_secrets_stay_out(
    tmp_path: Path, moto: Moto, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("DRIFTGATE_SECRET_DB_PASSWORD", "parameter-secret-8812")
    monkeypatch.setenv(
        "DRIFTGATE_SECRET_ENV_ALLOW",
        "DRIFTGATE_SECRET_AWS_KEY_ID,DRIFTGATE_SECRET_AWS_SECRET,DRIFTGATE_SECRET_DB_PASSWORD",
    )
    trust = {
        "Version": "2012-10-17",
        "Statement": [
            {"Effect": "Allow", "Principal": {"Service": "ec2.amazonaws.com"}, "Action": "sts:AssumeRole"}
        ],
    }
    document = {
        "Version": "2012-10-17",
        "Statement": [{"Effect": "Allow", "Action": "sqs:SendMessage", "Resource": "*"}],
    }
    resources = [
        {"type": "aws.ssm_parameter", "name": "level", "spec": {"name": "/app/level", "value": "3"}},
        {
            "type": "aws.ssm_parameter",
            "name": "password",
            "spec": {
                "name": "/app/db-password",
                "type": "SecureString",
                "value": "secret://env/DRIFTGATE_SECRET_DB_PASSWORD",
            },
        },
        {"type": "aws.iam_policy", "name": "send", "spec": {"name": "send-orders", "document": document}},
        {
            "type": "aws.iam_role",
            "name": "worker",
            "spec": {
                "name": "worker",
                "assume_role_policy": json.dumps(trust),
                "managed_policy_arns": ["${aws.iam_policy.send.arn}"],
            },
        },
    ]
    providers = {"aws": {"plugin": str(PLUGIN), "config": moto.config()}}
    stack = write_stack(tmp_path / "stack", name="cloud", modules={"app": resources}, providers=providers)
    code, out, err = run(capsys, "apply", "-s", str(stack), "--auto-approve", "--json")
    assert code == 0, out + err
    assert "parameter-secret-8812" not in out
    ssm, iam = moto.client("ssm"), moto.client("iam")
    assert (
        ssm.get_parameter(Name="/app/db-password", WithDecryption=True)["Parameter"]["Value"]
        == "parameter-secret-8812"
    )
    attached = iam.list_attached_role_policies(RoleName="worker")["AttachedPolicies"]
    assert [p["PolicyName"] for p in attached] == ["send-orders"]
    code, _, _ = run(capsys, "plan", "-s", str(stack))
    assert code == 0  # the trust policy given as a string and read back as an object: the same

    ssm.put_parameter(Name="/app/level", Value="9", Type="String", Overwrite=True)
    ssm.put_parameter(
        Name="/app/db-password", Value="overwritten-by-hand", Type="SecureString", Overwrite=True
    )
    trust["Statement"][0]["Principal"]["Service"] = "lambda.amazonaws.com"
    iam.update_assume_role_policy(RoleName="worker", PolicyDocument=json.dumps(trust))
    arn = attached[0]["PolicyArn"]
    changed = {**document, "Statement": [{**document["Statement"][0], "Action": "sqs:*"}]}
    iam.create_policy_version(PolicyArn=arn, PolicyDocument=json.dumps(changed), SetAsDefault=True)
    code, out, _ = run(capsys, "drift", "-s", str(stack), "--json")
    assert code == codes.CHANGES
    items = {
        i["address"]: {c["attribute"] for c in i["changes"]}
        for i in json.loads(out)["items"]
        if i["drift"] == "changed"
    }
    assert items == {
        "app/aws.ssm_parameter.level": {"value"},
        "app/aws.ssm_parameter.password": {"value"},
        "app/aws.iam_role.worker": {"assume_role_policy"},
        "app/aws.iam_policy.send": {"document"},
    }
    assert "overwritten-by-hand" not in out and "parameter-secret-8812" not in out
    code, out, err = run(capsys, "apply", "-s", str(stack), "--auto-approve")
    assert code == 0, out + err
    assert (
        ssm.get_parameter(Name="/app/db-password", WithDecryption=True)["Parameter"]["Value"]
        == "parameter-secret-8812"
    )
    versions = iam.list_policy_versions(PolicyArn=arn)["Versions"]
    default = next(v for v in versions if v["IsDefaultVersion"])
    live = iam.get_policy_version(PolicyArn=arn, VersionId=default["VersionId"])["PolicyVersion"]["Document"]
    assert (json.loads(live) if isinstance(live, str) else live)["Statement"][0][
        "Action"
    ] == "sqs:SendMessage"


def test_a_table_is_stateful_and_its_capacity_drift_shows(
    tmp_path: Path, moto: Moto, capsys: pytest.CaptureFixture[str]
) -> None:
    table = {
        "type": "aws.dynamodb_table",
        "name": "orders",
        "spec": {
            "name": "orders",
            "hash_key": "id",
            "range_key": "at",
            "attributes": [{"name": "id", "type": "S"}, {"name": "at", "type": "N"}],
            "billing_mode": "PROVISIONED",
            "read_capacity": 5,
            "write_capacity": 5,
            "tags": {"team": "shop"},
        },
    }
    providers = {"aws": {"plugin": str(PLUGIN), "config": moto.config()}}
    stack = write_stack(tmp_path / "stack", name="cloud", modules={"data": [table]}, providers=providers)
    code, out, _ = run(capsys, "plan", "-s", str(stack), "--json")
    assert code == codes.CHANGES and json.loads(out)["stateful_modules"] == ["data"]
    gate = ("--module", "data", "--allow-stateful", "--confirm", "data")
    code, out, err = run(capsys, "apply", "-s", str(stack), "--auto-approve", *gate)
    assert code == 0, out + err
    assert run(capsys, "plan", "-s", str(stack))[0] == 0
    dynamodb = moto.client("dynamodb")
    dynamodb.update_table(
        TableName="orders", ProvisionedThroughput={"ReadCapacityUnits": 9, "WriteCapacityUnits": 5}
    )
    code, out, _ = run(capsys, "drift", "-s", str(stack), "--json")
    (item,) = [i for i in json.loads(out)["items"] if i["address"] == "data/aws.dynamodb_table.orders"]
    assert code == codes.CHANGES and [c["attribute"] for c in item["changes"]] == ["read_capacity"]
    code, out, _ = run(capsys, "apply", "-s", str(stack), "--auto-approve", *gate, "--json")
    assert code == codes.REFUSED and "backup" in out  # a change to a live table needs a backup first


def test_a_failing_call_mid_apply_gives_a_partial_ledger(
    tmp_path: Path, moto: Moto, capsys: pytest.CaptureFixture[str]
) -> None:
    resources = [
        {"type": "aws.sqs_queue", "name": "good", "spec": {"name": "good"}},
        {"type": "aws.sqs_queue", "name": "bad", "spec": {"name": "bad name!"}},  # AWS refuses the characters
    ]
    providers = {"aws": {"plugin": str(PLUGIN), "config": moto.config()}}
    stack = write_stack(tmp_path / "stack", name="cloud", modules={"app": resources}, providers=providers)
    code, out, _ = run(capsys, "apply", "-s", str(stack), "--auto-approve", "--json")
    result = json.loads(out)["result"]
    assert code != 0 and result["full_success"] is False, out
    outcomes = {a["address"]: a for a in result["actions"]}
    assert outcomes["app/aws.sqs_queue.good"]["status"] == "SUCCESS"
    failed = outcomes["app/aws.sqs_queue.bad"]
    assert (
        failed["status"] == "ERROR" and "creating queue 'bad name!': InvalidParameterValue" in failed["error"]
    )
    assert "moto-test-secret" not in out and "AKIAMOTOTESTKEY00000" not in out
