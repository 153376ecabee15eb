"""``aws.s3_bucket`` (data-bearing): versioning, tags, policy (JSON, compared normalized)."""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

from botocore.exceptions import ClientError

from driftgate.providers.base import Observed
from driftgate.spec.schema import AttributeSchema, KindSchema
from driftgate_provider_aws.session import Clients, code_of, errors

BUCKET = "aws.s3_bucket"
KIND = KindSchema(
    type=BUCKET,
    description="An S3 bucket: it holds data an apply can destroy, so its module is gated as stateful.",
    attributes={
        "name": AttributeSchema(required=True, force_new=True),
        "versioning": AttributeSchema(type="boolean", default=False),
        "tags": AttributeSchema(type="map", default={}),
        "policy": AttributeSchema(
            type="any", description="A JSON policy document, as an object or a string."
        ),
    },
    outputs=("arn", "region"),
    data_bearing=True,
)
GONE = frozenset({"404", "NoSuchBucket", "NotFound"})


def normal_policy(value: Any) -> str | None:
    """A policy document in one canonical spelling (key order and whitespace do not matter)."""
    if value in (None, "", {}):
        return None
    document = json.loads(value) if isinstance(value, str) else value
    return json.dumps(document, sort_keys=True, separators=(",", ":"))


def read(aws: Clients, attributes: Mapping[str, Any]) -> Observed | None:
    s3, name = aws.get("s3"), str(attributes["name"])
    with errors(f"reading bucket {name!r}"):
        try:
            s3.head_bucket(Bucket=name)
        except ClientError as exc:
            if code_of(exc) in GONE:
                return None
            raise
        versioning = s3.get_bucket_versioning(Bucket=name).get("Status") == "Enabled"
        try:
            tags = {t["Key"]: t["Value"] for t in s3.get_bucket_tagging(Bucket=name)["TagSet"]}
        except ClientError as exc:
            if code_of(exc) not in ("NoSuchTagSet", "NoSuchTagSetError"):
                raise
            tags = {}
        try:
            policy: Any = json.loads(s3.get_bucket_policy(Bucket=name)["Policy"])
        except ClientError as exc:
            if code_of(exc) != "NoSuchBucketPolicy":
                raise
            policy = None
    live = {"name": name, "versioning": versioning, "tags": tags, "policy": policy}
    return Observed(live, {"arn": f"arn:aws:s3:::{name}", "region": aws.config.region})


def create(aws: Clients, attributes: Mapping[str, Any]) -> dict[str, Any]:
    s3, name = aws.get("s3"), str(attributes["name"])
    options: dict[str, Any] = {"Bucket": name}
    if aws.config.region != "us-east-1":
        options["CreateBucketConfiguration"] = {"LocationConstraint": aws.config.region}
    with errors(f"creating bucket {name!r}"):
        s3.create_bucket(**options)
    return update(aws, attributes, None)


def update(aws: Clients, attributes: Mapping[str, Any], current: Observed | None = None) -> dict[str, Any]:
    s3, name = aws.get("s3"), str(attributes["name"])
    with errors(f"configuring bucket {name!r}"):
        enabled = bool(attributes.get("versioning"))
        if current is None or current.attributes["versioning"] != enabled:
            if enabled or current is not None:
                s3.put_bucket_versioning(
                    Bucket=name, VersioningConfiguration={"Status": "Enabled" if enabled else "Suspended"}
                )
        tags = dict(attributes.get("tags") or {})
        if tags:
            s3.put_bucket_tagging(
                Bucket=name,
                Tagging={"TagSet": [{"Key": k, "Value": str(v)} for k, v in sorted(tags.items())]},
            )
        elif current is not None and current.attributes["tags"]:
            s3.delete_bucket_tagging(Bucket=name)
        policy = normal_policy(attributes.get("policy"))
        if policy is not None:
            s3.put_bucket_policy(Bucket=name, Policy=policy)
        elif current is not None and current.attributes["policy"] is not None:
            s3.delete_bucket_policy(Bucket=name)
    return {"arn": f"arn:aws:s3:::{name}", "region": aws.config.region}


def delete(aws: Clients, attributes: Mapping[str, Any]) -> None:
    name = str(attributes["name"])
    with errors(f"deleting bucket {name!r}"):
        try:
            aws.get("s3").delete_bucket(Bucket=name)
        except ClientError as exc:
            if code_of(exc) not in GONE:
                raise


def names(aws: Clients) -> set[str]:
    with errors("listing buckets"):
        return {b["Name"] for b in aws.get("s3").list_buckets().get("Buckets", [])}
