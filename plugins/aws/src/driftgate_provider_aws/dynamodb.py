"""``aws.dynamodb_table`` (data-bearing): keys fixed at creation; attribute definitions, global
secondary indexes, billing mode, capacity, TTL, point-in-time recovery and tags changed in place.

A table's backup is a DynamoDB on-demand backup (``CreateBackup``): the artifact holds its ARN and
the item count AWS recorded; it is good while ``DescribeBackup`` says AVAILABLE with that count.
A restore replaces the table with ``RestoreTableFromBackup`` and applies the spec's settings again
(a restored table has no tags, TTL or point-in-time recovery of its own).
"""

from __future__ import annotations

import json
import time
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
            type="list",
            required=True,
            description="[{name, type: S|N|B}]: the keys' and the indexes' attributes",
        ),
        "billing_mode": AttributeSchema(
            default="PAY_PER_REQUEST", description="PAY_PER_REQUEST | PROVISIONED"
        ),
        "read_capacity": AttributeSchema(type="integer", default=0),
        "write_capacity": AttributeSchema(type="integer", default=0),
        "global_secondary_indexes": AttributeSchema(
            type="list",
            default=[],
            description="[{name, hash_key, range_key, projection_type (ALL | KEYS_ONLY | INCLUDE), "
            "non_key_attributes, read_capacity, write_capacity}]",
        ),
        "ttl": AttributeSchema(type="map", description="{attribute_name, enabled (true)}"),
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
        ttl = dynamodb.describe_time_to_live(TableName=name).get("TimeToLiveDescription", {})
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
        "global_secondary_indexes": normal_indexes(
            [_index_from_aws(i) for i in table.get("GlobalSecondaryIndexes", [])], mode
        ),
        "ttl": (
            {"attribute_name": ttl.get("AttributeName"), "enabled": True}
            if ttl.get("TimeToLiveStatus") in ("ENABLED", "ENABLING")
            else None
        ),
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


INDEX_FIELDS = frozenset(
    {
        "name",
        "hash_key",
        "range_key",
        "projection_type",
        "non_key_attributes",
        "read_capacity",
        "write_capacity",
    }
)


def normal_indexes(indexes: Any, billing_mode: Any) -> list[dict[str, Any]]:
    """Global secondary indexes with defaults filled in, by name (capacities count only when
    the table is PROVISIONED)."""
    provisioned = billing_mode == "PROVISIONED"
    found = []
    for position, index in enumerate(indexes or []):
        if not isinstance(index, Mapping) or set(index) - INDEX_FIELDS or not index.get("name"):
            raise ProviderError(
                f"global_secondary_indexes[{position}]: give name and hash_key; known fields: "
                + ", ".join(sorted(INDEX_FIELDS))
            )
        projection = str(index.get("projection_type") or "ALL")
        found.append(
            {
                "name": str(index["name"]),
                "hash_key": str(index.get("hash_key") or ""),
                "range_key": str(index["range_key"]) if index.get("range_key") else None,
                "projection_type": projection,
                "non_key_attributes": sorted(str(a) for a in index.get("non_key_attributes") or []),
                "read_capacity": int(index.get("read_capacity") or 0) if provisioned else 0,
                "write_capacity": int(index.get("write_capacity") or 0) if provisioned else 0,
            }
        )
    return sorted(found, key=lambda i: i["name"])


def normal_ttl(value: Any) -> dict[str, Any] | None:
    if not value or not value.get("enabled", True):
        return None
    return {"attribute_name": str(value["attribute_name"]), "enabled": True}


def _index_from_aws(index: Mapping[str, Any]) -> dict[str, Any]:
    keys = {k["KeyType"]: k["AttributeName"] for k in index["KeySchema"]}
    throughput = index.get("ProvisionedThroughput", {})
    return {
        "name": index["IndexName"],
        "hash_key": keys.get("HASH"),
        "range_key": keys.get("RANGE"),
        "projection_type": index.get("Projection", {}).get("ProjectionType", "ALL"),
        "non_key_attributes": index.get("Projection", {}).get("NonKeyAttributes", []),
        "read_capacity": throughput.get("ReadCapacityUnits", 0),
        "write_capacity": throughput.get("WriteCapacityUnits", 0),
    }


def _index_to_aws(index: Mapping[str, Any], provisioned: bool) -> dict[str, Any]:
    keys = [{"AttributeName": index["hash_key"], "KeyType": "HASH"}]
    if index["range_key"]:
        keys.append({"AttributeName": index["range_key"], "KeyType": "RANGE"})
    projection: dict[str, Any] = {"ProjectionType": index["projection_type"]}
    if index["non_key_attributes"]:
        projection["NonKeyAttributes"] = index["non_key_attributes"]
    found: dict[str, Any] = {"IndexName": index["name"], "KeySchema": keys, "Projection": projection}
    if provisioned:
        found["ProvisionedThroughput"] = _units(index)
    return found


def _units(attributes: Mapping[str, Any]) -> dict[str, int]:
    return {
        "ReadCapacityUnits": int(attributes.get("read_capacity") or 0),
        "WriteCapacityUnits": int(attributes.get("write_capacity") or 0),
    }


def differs(name: str, want: Any, have: Any, desired: Mapping[str, Any]) -> bool:
    if name == "attributes":
        return _definitions(want) != _definitions(have)
    if name == "global_secondary_indexes":
        mode = desired.get("billing_mode") or "PAY_PER_REQUEST"
        return normal_indexes(want, mode) != normal_indexes(have, mode)
    if name == "ttl":
        return normal_ttl(want) != normal_ttl(have)
    if name == "tags":
        return {k: str(v) for k, v in (want or {}).items()} != dict(have or {})
    return bool(want != have)


def _definitions(value: Any) -> list[tuple[str, str]]:
    return sorted((str(a.get("name")), str(a.get("type"))) for a in value or [])


def _wait_active(dynamodb: Any, name: str, *, tries: int = 600) -> None:
    """Until the table and every index are ACTIVE (AWS takes minutes for an index; moto none)."""
    for _ in range(tries):
        table = dynamodb.describe_table(TableName=name)["Table"]
        indexes = table.get("GlobalSecondaryIndexes", [])
        if table.get("TableStatus") == "ACTIVE" and all(
            i.get("IndexStatus", "ACTIVE") == "ACTIVE" for i in indexes
        ):
            return
        time.sleep(1)
    raise ProviderError(f"table {name!r}: still not ACTIVE after {tries} s")


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
    indexes = normal_indexes(attributes.get("global_secondary_indexes"), options["BillingMode"])
    if indexes:
        provisioned = options["BillingMode"] == "PROVISIONED"
        options["GlobalSecondaryIndexes"] = [_index_to_aws(i, provisioned) for i in indexes]
    with errors(f"creating table {name!r}"):
        table = dynamodb.create_table(**options)["TableDescription"]
        _wait_active(dynamodb, name)
        if attributes.get("point_in_time_recovery"):
            _recovery(dynamodb, name, True)
        ttl = normal_ttl(attributes.get("ttl"))
        if ttl:
            _ttl(dynamodb, name, ttl["attribute_name"], True)
    return {"arn": table["TableArn"], "stream_arn": table.get("LatestStreamArn", "")}


def _recovery(dynamodb: Any, name: str, enabled: bool) -> None:
    dynamodb.update_continuous_backups(
        TableName=name, PointInTimeRecoverySpecification={"PointInTimeRecoveryEnabled": enabled}
    )


def _ttl(dynamodb: Any, name: str, attribute: str, enabled: bool) -> None:
    dynamodb.update_time_to_live(
        TableName=name, TimeToLiveSpecification={"AttributeName": attribute, "Enabled": enabled}
    )


def _update_indexes(dynamodb: Any, attributes: Mapping[str, Any], have: Mapping[str, Any]) -> None:
    """One index at a time (AWS allows one create or delete per UpdateTable), waiting in between;
    an index whose keys or projection change is dropped and made again."""
    name, mode = str(attributes["name"]), str(attributes.get("billing_mode") or "PAY_PER_REQUEST")
    provisioned = mode == "PROVISIONED"
    want = {i["name"]: i for i in normal_indexes(attributes.get("global_secondary_indexes"), mode)}
    live = {i["name"]: i for i in normal_indexes(have.get("global_secondary_indexes"), mode)}
    shape = ("hash_key", "range_key", "projection_type", "non_key_attributes")
    remade = {n for n in want.keys() & live.keys() if any(want[n][f] != live[n][f] for f in shape)}
    definitions = [
        {"AttributeName": str(a["name"]), "AttributeType": str(a["type"])} for a in attributes["attributes"]
    ]
    for index in sorted((live.keys() - want.keys()) | remade):
        dynamodb.update_table(TableName=name, GlobalSecondaryIndexUpdates=[{"Delete": {"IndexName": index}}])
        _wait_active(dynamodb, name)
    for index in sorted((want.keys() - live.keys()) | remade):
        dynamodb.update_table(
            TableName=name,
            AttributeDefinitions=definitions,
            GlobalSecondaryIndexUpdates=[{"Create": _index_to_aws(want[index], provisioned)}],
        )
        _wait_active(dynamodb, name)
    for index in sorted(want.keys() & live.keys() - remade):
        if provisioned and want[index] != live[index]:
            update = {"IndexName": index, "ProvisionedThroughput": _units(want[index])}
            dynamodb.update_table(TableName=name, GlobalSecondaryIndexUpdates=[{"Update": update}])
            _wait_active(dynamodb, name)


def update(aws: Clients, attributes: Mapping[str, Any], current: Observed) -> dict[str, Any]:
    dynamodb, name = aws.get("dynamodb"), str(attributes["name"])
    have = current.attributes
    with errors(f"changing table {name!r}"):
        if differs(
            "global_secondary_indexes",
            attributes.get("global_secondary_indexes"),
            have.get("global_secondary_indexes"),
            attributes,
        ):
            _update_indexes(dynamodb, attributes, have)
        ttl, had = normal_ttl(attributes.get("ttl")), normal_ttl(have.get("ttl"))
        if ttl != had:
            if had is not None:
                _ttl(dynamodb, name, had["attribute_name"], False)
            if ttl is not None:
                _ttl(dynamodb, name, ttl["attribute_name"], True)
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
        gone = [k for k in have["tags"] if want.get(k) != have["tags"][k]]  # moto appends, never overwrites
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


# -- backups -----------------------------------------------------------------------------------

BACKUP_FILE = "backup.json"


def backup(aws: Clients, attributes: Mapping[str, Any]) -> dict[str, bytes]:
    """An on-demand DynamoDB backup, waited for until AVAILABLE; the artifact holds its ARN."""
    dynamodb, name = aws.get("dynamodb"), str(attributes["name"])
    label = f"driftgate-{name}-{time.strftime('%Y%m%dT%H%M%SZ', time.gmtime())}"[:255]
    with errors(f"backing up table {name!r}"):
        arn = dynamodb.create_backup(TableName=name, BackupName=label)["BackupDetails"]["BackupArn"]
        for _ in range(600):
            described = dynamodb.describe_backup(BackupArn=arn)["BackupDescription"]
            if described["BackupDetails"]["BackupStatus"] == "AVAILABLE":
                break
            time.sleep(1)
        else:
            raise ProviderError(f"backing up table {name!r}: backup {arn} is still not AVAILABLE")
    record = {
        "table": name,
        "backup_arn": arn,
        "backup_name": label,
        "item_count": int(described.get("SourceTableDetails", {}).get("ItemCount", 0)),
    }
    return {BACKUP_FILE: json.dumps(record, sort_keys=True, indent=1).encode()}


def check_backup(aws: Clients, files: Mapping[str, bytes]) -> dict[str, Any]:
    """The recorded backup, if AWS still holds it AVAILABLE with the item count it had; raise else."""
    try:
        record: dict[str, Any] = json.loads(files[BACKUP_FILE])
        arn = str(record["backup_arn"])
    except (KeyError, ValueError, TypeError):
        raise ProviderError(f"table backup: {BACKUP_FILE} is missing or unreadable") from None
    with errors(f"checking table backup {arn}"):
        try:
            described = aws.get("dynamodb").describe_backup(BackupArn=arn)["BackupDescription"]
        except ClientError as exc:
            if code_of(exc) in ("BackupNotFoundException", "ResourceNotFoundException"):
                raise ProviderError(f"table backup {arn} no longer exists in DynamoDB") from None
            raise
    status = described["BackupDetails"]["BackupStatus"]
    if status != "AVAILABLE":
        raise ProviderError(f"table backup {arn} is {status}, not AVAILABLE")
    count = int(described.get("SourceTableDetails", {}).get("ItemCount", 0))
    if count != int(record.get("item_count", -1)):
        raise ProviderError(
            f"table backup {arn} holds {count} items; {record.get('item_count')} were recorded"
        )
    return record


def restore(aws: Clients, attributes: Mapping[str, Any], files: Mapping[str, bytes]) -> Observed:
    """The table replaced by the backup's (``RestoreTableFromBackup``), then the spec's settings."""
    record = check_backup(aws, files)
    dynamodb, name = aws.get("dynamodb"), str(attributes["name"])
    with errors(f"restoring table {name!r}"):
        if read(aws, attributes) is not None:
            dynamodb.delete_table(TableName=name)
            dynamodb.get_waiter("table_not_exists").wait(
                TableName=name, WaiterConfig={"Delay": 1, "MaxAttempts": 600}
            )
        dynamodb.restore_table_from_backup(TargetTableName=name, BackupArn=record["backup_arn"])
        _wait_active(dynamodb, name)
    restored = read(aws, attributes)
    if restored is None:
        raise ProviderError(f"restoring table {name!r}: it is not there after the restore")
    update(aws, attributes, restored)
    found = read(aws, attributes)
    if found is None:
        raise ProviderError(f"restoring table {name!r}: it is gone again after the restore")
    return found
