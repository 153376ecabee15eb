"""``aws.dynamodb_table`` (data-bearing): keys and attribute definitions fixed at creation; billing
mode, capacity, point-in-time recovery and tags changed in place."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from botocore.exceptions import ClientError

from driftgate.errors import ProviderError
from driftgate.providers.base import Observed
from driftgate.spec.schema import AttributeSchema, KindSchema
from driftgate_provider_aws.session import Clients, code_of, errors

TABLE = "aws.dynamodb_table"
KIND = KindSchema(
    type=TABLE,
    description="A DynamoDB table: it holds data an apply can destroy, so its module is gated as stateful.",
    attributes={
        "name": AttributeSchema(required=True, force_new=True),
        "hash_key": AttributeSchema(required=True, force_new=True),
        "range_key": AttributeSchema(force_new=True),
        "attributes": AttributeSchema(
            type="list", required=True, force_new=True, description="[{name, type: S|N|B}]"
        ),
        "billing_mode": AttributeSchema(
            default="PAY_PER_REQUEST", description="PAY_PER_REQUEST | PROVISIONED"
        ),
        "read_capacity": AttributeSchema(type="integer", default=0),
        "write_capacity": AttributeSchema(type="integer", default=0),
        "point_in_time_recovery": AttributeSchema(type="boolean", default=False),
        "tags": AttributeSchema(type="map", default={}),
    },
    outputs=("arn", "stream_arn"),
    data_bearing=True,
)


def read(aws: Clients, attributes: Mapping[str, Any]) -> Observed | None:
    dynamodb, name = aws.get("dynamodb"), str(attributes["name"])
    with errors(f"reading table {name!r}"):
        try:
            table = dynamodb.describe_table(TableName=name)["Table"]
        except ClientError as exc:
            if code_of(exc) == "ResourceNotFoundException":
                return None
            raise
        tags = dynamodb.list_tags_of_resource(ResourceArn=table["TableArn"]).get("Tags", [])
        backups = dynamodb.describe_continuous_backups(TableName=name)["ContinuousBackupsDescription"]
    keys = {k["KeyType"]: k["AttributeName"] for k in table["KeySchema"]}
    mode = table.get("BillingModeSummary", {}).get("BillingMode", "PROVISIONED")
    throughput = table.get("ProvisionedThroughput", {})
    pitr = backups.get("PointInTimeRecoveryDescription", {}).get("PointInTimeRecoveryStatus") == "ENABLED"
    live = {
        "name": name,
        "hash_key": keys.get("HASH"),
        "range_key": keys.get("RANGE"),
        "attributes": sorted(
            ({"name": a["AttributeName"], "type": a["AttributeType"]} for a in table["AttributeDefinitions"]),
            key=lambda a: a["name"],
        ),
        "billing_mode": mode,
        "read_capacity": int(throughput.get("ReadCapacityUnits", 0)) if mode == "PROVISIONED" else 0,
        "write_capacity": int(throughput.get("WriteCapacityUnits", 0)) if mode == "PROVISIONED" else 0,
        "point_in_time_recovery": pitr,
        "tags": {t["Key"]: t["Value"] for t in tags},
    }
    return Observed(live, {"arn": table["TableArn"], "stream_arn": table.get("LatestStreamArn", "")})


def _throughput(attributes: Mapping[str, Any]) -> dict[str, Any]:
    mode = str(attributes.get("billing_mode") or "PAY_PER_REQUEST")
    if mode not in ("PAY_PER_REQUEST", "PROVISIONED"):
        raise ProviderError(
            f"table {attributes['name']!r}: billing_mode must be PAY_PER_REQUEST or PROVISIONED"
        )
    if mode == "PAY_PER_REQUEST":
        return {"BillingMode": mode}
    units = {
        "ReadCapacityUnits": int(attributes.get("read_capacity") or 0),
        "WriteCapacityUnits": int(attributes.get("write_capacity") or 0),
    }
    if min(units.values()) < 1:
        raise ProviderError(
            f"table {attributes['name']!r}: a PROVISIONED table needs read_capacity and write_capacity"
        )
    return {"BillingMode": mode, "ProvisionedThroughput": units}


def create(aws: Clients, attributes: Mapping[str, Any]) -> dict[str, Any]:
    dynamodb, name = aws.get("dynamodb"), str(attributes["name"])
    keys = [{"AttributeName": str(attributes["hash_key"]), "KeyType": "HASH"}]
    if attributes.get("range_key"):
        keys.append({"AttributeName": str(attributes["range_key"]), "KeyType": "RANGE"})
    definitions = [
        {"AttributeName": str(a["name"]), "AttributeType": str(a["type"])} for a in attributes["attributes"]
    ]
    options: dict[str, Any] = {
        "TableName": name,
        "KeySchema": keys,
        "AttributeDefinitions": definitions,
        **_throughput(attributes),
    }
    if attributes.get("tags"):
        options["Tags"] = [{"Key": k, "Value": str(v)} for k, v in sorted(attributes["tags"].items())]
    with errors(f"creating table {name!r}"):
        table = dynamodb.create_table(**options)["TableDescription"]
        dynamodb.get_waiter("table_exists").wait(
            TableName=name, WaiterConfig={"Delay": 1, "MaxAttempts": 120}
        )
        if attributes.get("point_in_time_recovery"):
            _recovery(dynamodb, name, True)
    return {"arn": table["TableArn"], "stream_arn": table.get("LatestStreamArn", "")}


def _recovery(dynamodb: Any, name: str, enabled: bool) -> None:
    dynamodb.update_continuous_backups(
        TableName=name, PointInTimeRecoverySpecification={"PointInTimeRecoveryEnabled": enabled}
    )


def update(aws: Clients, attributes: Mapping[str, Any], current: Observed) -> dict[str, Any]:
    dynamodb, name = aws.get("dynamodb"), str(attributes["name"])
    have = current.attributes
    with errors(f"changing table {name!r}"):
        wanted = _throughput(attributes)
        if (wanted["BillingMode"], wanted.get("ProvisionedThroughput")) != (
            have["billing_mode"],
            {"ReadCapacityUnits": have["read_capacity"], "WriteCapacityUnits": have["write_capacity"]}
            if have["billing_mode"] == "PROVISIONED"
            else None,
        ):
            dynamodb.update_table(TableName=name, **wanted)
        if bool(attributes.get("point_in_time_recovery")) != have["point_in_time_recovery"]:
            _recovery(dynamodb, name, bool(attributes.get("point_in_time_recovery")))
        want = {k: str(v) for k, v in (attributes.get("tags") or {}).items()}
        arn = current.outputs["arn"]
        gone = [k for k in have["tags"] if k not in want]
        if gone:
            dynamodb.untag_resource(ResourceArn=arn, TagKeys=gone)
        if want and want != have["tags"]:
            dynamodb.tag_resource(
                ResourceArn=arn, Tags=[{"Key": k, "Value": v} for k, v in sorted(want.items())]
            )
    return dict(current.outputs)


def delete(aws: Clients, attributes: Mapping[str, Any]) -> None:
    name = str(attributes["name"])
    with errors(f"deleting table {name!r}"):
        try:
            aws.get("dynamodb").delete_table(TableName=name)
        except ClientError as exc:
            if code_of(exc) != "ResourceNotFoundException":
                raise


def names(aws: Clients) -> set[str]:
    with errors("listing tables"):
        pages = aws.get("dynamodb").get_paginator("list_tables").paginate()
        return {name for page in pages for name in page.get("TableNames", [])}
