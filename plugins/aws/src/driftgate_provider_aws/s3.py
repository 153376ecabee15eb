"""``aws.s3_bucket`` (data-bearing): versioning, tags, policy (JSON, compared normalized), lifecycle
rules, the public access block and default encryption; backups of its objects.

A bucket's backup is its objects' current versions (key, content, content type, metadata) in the
artifact, up to the provider's ``backup_max_bytes`` (refused above it, before anything is read);
a restore puts them back and removes objects the backup did not hold.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping
from typing import Any

from botocore.exceptions import ClientError

from driftgate.errors import ProviderError
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
        "lifecycle_rules": AttributeSchema(
            type="list",
            default=[],
            description="[{id, enabled (true), prefix, expiration_days, "
            "noncurrent_version_expiration_days, abort_incomplete_multipart_upload_days}]",
        ),
        "public_access_block": AttributeSchema(
            type="map",
            description="{block_public_acls, block_public_policy, ignore_public_acls, "
            "restrict_public_buckets}; unset: left as AWS has it",
        ),
        "encryption": AttributeSchema(
            type="map",
            description="{sse_algorithm: AES256 | aws:kms, kms_master_key_id}; unset: left as AWS has it",
        ),
    },
    outputs=("arn", "region"),
    data_bearing=True,
)
GONE = frozenset({"404", "NoSuchBucket", "NotFound"})
ACCESS_FLAGS = {
    "block_public_acls": "BlockPublicAcls",
    "block_public_policy": "BlockPublicPolicy",
    "ignore_public_acls": "IgnorePublicAcls",
    "restrict_public_buckets": "RestrictPublicBuckets",
}
RULE_FIELDS = frozenset(
    {
        "id",
        "enabled",
        "prefix",
        "expiration_days",
        "noncurrent_version_expiration_days",
        "abort_incomplete_multipart_upload_days",
    }
)
SERVER_CHOSEN = frozenset({"public_access_block", "encryption"})  # unset in the spec: not a difference
MANIFEST = "objects.json"


def normal_policy(value: Any) -> str | None:
    """A policy document in one canonical spelling (key order and whitespace do not matter)."""
    if value in (None, "", {}):
        return None
    document = json.loads(value) if isinstance(value, str) else value
    return json.dumps(document, sort_keys=True, separators=(",", ":"))


def normal_rules(rules: Any) -> list[dict[str, Any]]:
    """Lifecycle rules with their defaults filled in, in id order."""
    found = []
    for index, rule in enumerate(rules or []):
        if not isinstance(rule, Mapping) or set(rule) - RULE_FIELDS:
            unknown = sorted(set(rule) - RULE_FIELDS) if isinstance(rule, Mapping) else ["(not a map)"]
            raise ProviderError(f"lifecycle_rules[{index}]: unknown field(s) {', '.join(unknown)}")
        found.append(
            {
                "id": str(rule.get("id") or f"rule-{index}"),
                "enabled": bool(rule.get("enabled", True)),
                "prefix": str(rule.get("prefix") or ""),
                **{
                    name: int(rule[name])
                    for name in sorted(RULE_FIELDS - {"id", "enabled", "prefix"})
                    if rule.get(name) is not None
                },
            }
        )
    return sorted(found, key=lambda r: r["id"])


def _rule_to_aws(rule: Mapping[str, Any]) -> dict[str, Any]:
    found: dict[str, Any] = {
        "ID": rule["id"],
        "Status": "Enabled" if rule["enabled"] else "Disabled",
        "Filter": {"Prefix": rule["prefix"]},
    }
    if "expiration_days" in rule:
        found["Expiration"] = {"Days": rule["expiration_days"]}
    if "noncurrent_version_expiration_days" in rule:
        found["NoncurrentVersionExpiration"] = {"NoncurrentDays": rule["noncurrent_version_expiration_days"]}
    if "abort_incomplete_multipart_upload_days" in rule:
        days = rule["abort_incomplete_multipart_upload_days"]
        found["AbortIncompleteMultipartUpload"] = {"DaysAfterInitiation": days}
    return found


def _rule_from_aws(rule: Mapping[str, Any]) -> dict[str, Any]:
    prefix = rule.get("Filter", {}).get("Prefix", rule.get("Prefix", ""))
    found: dict[str, Any] = {"id": rule.get("ID", ""), "enabled": rule.get("Status") == "Enabled"}
    found["prefix"] = prefix or ""
    if "Days" in rule.get("Expiration", {}):
        found["expiration_days"] = int(rule["Expiration"]["Days"])
    if "NoncurrentDays" in rule.get("NoncurrentVersionExpiration", {}):
        found["noncurrent_version_expiration_days"] = int(
            rule["NoncurrentVersionExpiration"]["NoncurrentDays"]
        )
    if "DaysAfterInitiation" in rule.get("AbortIncompleteMultipartUpload", {}):
        days = rule["AbortIncompleteMultipartUpload"]["DaysAfterInitiation"]
        found["abort_incomplete_multipart_upload_days"] = int(days)
    return found


def normal_access(value: Any) -> dict[str, bool] | None:
    if value is None:
        return None
    if not isinstance(value, Mapping) or set(value) - set(ACCESS_FLAGS):
        raise ProviderError(f"public_access_block: only {', '.join(ACCESS_FLAGS)}")
    return {name: bool(value.get(name, False)) for name in ACCESS_FLAGS}


def normal_encryption(value: Any) -> dict[str, str] | None:
    if value is None:
        return None
    if not isinstance(value, Mapping) or set(value) - {"sse_algorithm", "kms_master_key_id"}:
        raise ProviderError("encryption: only sse_algorithm and kms_master_key_id")
    algorithm = str(value.get("sse_algorithm") or "AES256")
    if algorithm not in ("AES256", "aws:kms", "aws:kms:dsse"):
        raise ProviderError(f"encryption: sse_algorithm {algorithm!r} is not AES256, aws:kms or aws:kms:dsse")
    found = {"sse_algorithm": algorithm}
    if value.get("kms_master_key_id"):
        found["kms_master_key_id"] = str(value["kms_master_key_id"])
    return found


def _absent(call: Any, codes: tuple[str, ...], **kwargs: Any) -> Any:
    """``call(**kwargs)``, or None when AWS says the configuration is not there."""
    try:
        return call(**kwargs)
    except ClientError as exc:
        if code_of(exc) not in codes:
            raise
        return None


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
        tagging = _absent(s3.get_bucket_tagging, ("NoSuchTagSet", "NoSuchTagSetError"), Bucket=name)
        policy = _absent(s3.get_bucket_policy, ("NoSuchBucketPolicy",), Bucket=name)
        lifecycle = _absent(
            s3.get_bucket_lifecycle_configuration, ("NoSuchLifecycleConfiguration",), Bucket=name
        )
        access = _absent(s3.get_public_access_block, ("NoSuchPublicAccessBlockConfiguration",), Bucket=name)
        encryption = _absent(
            s3.get_bucket_encryption, ("ServerSideEncryptionConfigurationNotFoundError",), Bucket=name
        )
    default = None
    if encryption:
        rules = encryption["ServerSideEncryptionConfiguration"].get("Rules", [])
        applied = rules[0].get("ApplyServerSideEncryptionByDefault", {}) if rules else {}
        if applied:
            default = {"sse_algorithm": applied["SSEAlgorithm"]}
            if applied.get("KMSMasterKeyID"):
                default["kms_master_key_id"] = applied["KMSMasterKeyID"]
    flags = (access or {}).get("PublicAccessBlockConfiguration")
    live = {
        "name": name,
        "versioning": versioning,
        "tags": {t["Key"]: t["Value"] for t in (tagging or {}).get("TagSet", [])},
        "policy": json.loads(policy["Policy"]) if policy else None,
        "lifecycle_rules": sorted(
            (_rule_from_aws(r) for r in (lifecycle or {}).get("Rules", [])), key=lambda r: str(r["id"])
        ),
        "public_access_block": (
            {ours: bool(flags.get(theirs, False)) for ours, theirs in ACCESS_FLAGS.items()} if flags else None
        ),
        "encryption": default,
    }
    return Observed(live, {"arn": f"arn:aws:s3:::{name}", "region": aws.config.region})


def differs(name: str, want: Any, have: Any) -> bool:
    if name in SERVER_CHOSEN and want is None:
        return False
    if name == "policy":
        return normal_policy(want) != normal_policy(have)
    if name == "lifecycle_rules":
        return normal_rules(want) != normal_rules(have)
    if name == "public_access_block":
        return normal_access(want) != normal_access(have)
    if name == "encryption":
        return normal_encryption(want) != normal_encryption(have)
    if name == "tags":
        return {k: str(v) for k, v in (want or {}).items()} != dict(have or {})
    return bool(want != have)


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
    have: Mapping[str, Any] = current.attributes if current is not None else {}

    def changed(attribute: str) -> bool:
        return current is None or differs(attribute, attributes.get(attribute), have.get(attribute))

    rules = normal_rules(attributes.get("lifecycle_rules"))
    access = normal_access(attributes.get("public_access_block"))
    encryption = normal_encryption(attributes.get("encryption"))
    with errors(f"configuring bucket {name!r}"):
        enabled = bool(attributes.get("versioning"))
        if changed("versioning") and (enabled or current is not None):
            status = "Enabled" if enabled else "Suspended"
            s3.put_bucket_versioning(Bucket=name, VersioningConfiguration={"Status": status})
        tags = {k: str(v) for k, v in (attributes.get("tags") or {}).items()}
        if changed("tags"):
            if tags:
                tagset = [{"Key": k, "Value": v} for k, v in sorted(tags.items())]
                s3.put_bucket_tagging(Bucket=name, Tagging={"TagSet": tagset})
            elif have.get("tags"):
                s3.delete_bucket_tagging(Bucket=name)
        policy = normal_policy(attributes.get("policy"))
        if changed("policy"):
            if policy is not None:
                s3.put_bucket_policy(Bucket=name, Policy=policy)
            elif have.get("policy") is not None:
                s3.delete_bucket_policy(Bucket=name)
        if changed("lifecycle_rules"):
            if rules:
                s3.put_bucket_lifecycle_configuration(
                    Bucket=name, LifecycleConfiguration={"Rules": [_rule_to_aws(r) for r in rules]}
                )
            elif have.get("lifecycle_rules"):
                s3.delete_bucket_lifecycle(Bucket=name)
        if access is not None and changed("public_access_block"):
            s3.put_public_access_block(
                Bucket=name,
                PublicAccessBlockConfiguration={ACCESS_FLAGS[k]: v for k, v in access.items()},
            )
        if encryption is not None and changed("encryption"):
            default: dict[str, str] = {"SSEAlgorithm": encryption["sse_algorithm"]}
            if "kms_master_key_id" in encryption:
                default["KMSMasterKeyID"] = encryption["kms_master_key_id"]
            s3.put_bucket_encryption(
                Bucket=name,
                ServerSideEncryptionConfiguration={
                    "Rules": [{"ApplyServerSideEncryptionByDefault": default}]
                },
            )
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


# -- backups -----------------------------------------------------------------------------------


def _objects(aws: Clients, name: str) -> list[dict[str, Any]]:
    pages = aws.get("s3").get_paginator("list_objects_v2").paginate(Bucket=name)
    return [o for page in pages for o in page.get("Contents", [])]


def backup(aws: Clients, attributes: Mapping[str, Any]) -> dict[str, bytes]:
    """The bucket's objects (current versions) as files ``object-<n>`` and a manifest of their keys,
    content types, metadata, sizes and sha256; refused, before any object is read, above the cap."""
    s3, name = aws.get("s3"), str(attributes["name"])
    with errors(f"backing up bucket {name!r}"):
        listed = _objects(aws, name)
        total = sum(int(o["Size"]) for o in listed)
        cap = aws.config.backup_max_bytes
        if total > cap:
            raise ProviderError(
                f"backing up bucket {name!r}: its {len(listed)} objects hold {total} bytes, above the "
                f"provider's backup_max_bytes ({cap}); raise it, or back the bucket up another way"
            )
        files: dict[str, bytes] = {}
        entries = []
        for index, listed_object in enumerate(sorted(listed, key=lambda o: str(o["Key"]))):
            got = s3.get_object(Bucket=name, Key=listed_object["Key"])
            body = got["Body"].read()
            file = f"object-{index:06d}"
            files[file] = body
            entries.append(
                {
                    "key": listed_object["Key"],
                    "file": file,
                    "size": len(body),
                    "sha256": hashlib.sha256(body).hexdigest(),
                    "content_type": got.get("ContentType", ""),
                    "metadata": got.get("Metadata", {}),
                }
            )
    manifest = {"bucket": name, "objects": entries}
    files[MANIFEST] = json.dumps(manifest, sort_keys=True, indent=1).encode()
    return files


def check_backup(files: Mapping[str, bytes]) -> list[dict[str, Any]]:
    """The manifest's objects, each file present with its recorded sha256; raise otherwise."""
    try:
        objects: list[dict[str, Any]] = json.loads(files[MANIFEST])["objects"]
    except (KeyError, ValueError, TypeError):
        raise ProviderError(f"bucket backup: {MANIFEST} is missing or unreadable") from None
    for entry in objects:
        body = files.get(str(entry.get("file")))
        if body is None or hashlib.sha256(body).hexdigest() != entry.get("sha256"):
            raise ProviderError(f"bucket backup: object {entry.get('key')!r} is missing or altered")
    return objects


def restore(aws: Clients, attributes: Mapping[str, Any], files: Mapping[str, bytes]) -> Observed:
    """Every backed-up object put back as it was; objects the backup did not hold removed."""
    objects = check_backup(files)
    s3, name = aws.get("s3"), str(attributes["name"])
    if read(aws, attributes) is None:
        create(aws, attributes)
    with errors(f"restoring bucket {name!r}"):
        for entry in objects:
            extra: dict[str, Any] = {"Metadata": dict(entry.get("metadata") or {})}
            if entry.get("content_type"):
                extra["ContentType"] = entry["content_type"]
            s3.put_object(Bucket=name, Key=entry["key"], Body=files[entry["file"]], **extra)
        kept = {e["key"] for e in objects}
        extra_keys = [o["Key"] for o in _objects(aws, name) if o["Key"] not in kept]
        for start in range(0, len(extra_keys), 1000):
            batch = [{"Key": k} for k in extra_keys[start : start + 1000]]
            s3.delete_objects(Bucket=name, Delete={"Objects": batch, "Quiet": True})
    found = read(aws, attributes)
    if found is None:
        raise ProviderError(f"restoring bucket {name!r}: it is not there after the restore")
    return found
