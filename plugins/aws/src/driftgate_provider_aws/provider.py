"""The ``aws`` provider: S3 buckets, SQS queues, SSM parameters, IAM roles and policies, DynamoDB
tables, through boto3.

Reads are concurrent inside the plugin (up to 16 at once) and answered in batches, so a refresh
of hundreds of resources is not hundreds of round trips one after the other.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from driftgate.errors import ProviderConfigError, ProviderError
from driftgate.providers.base import (
    CAP_BACKUP,
    CAP_BATCH_READ,
    CAP_IMPORT,
    CAP_LIST,
    CAP_READ,
    BaseProvider,
    Observed,
    ProviderContext,
)
from driftgate_provider_aws import dynamodb, iam, s3, sqs, ssm
from driftgate_provider_aws.session import Clients, parse_config

READS_AT_ONCE = 16
SAMPLES: dict[str, list[dict[str, Any]]] = {
    s3.BUCKET: [
        {
            "name": "bucket",
            "attributes": {"name": "driftgate-conformance-bucket", "tags": {"team": "platform"}},
            "update": {
                "versioning": True,
                "tags": {"team": "data"},
                "lifecycle_rules": [{"id": "logs", "prefix": "logs/", "expiration_days": 30}],
                "public_access_block": {"block_public_acls": True, "block_public_policy": True},
                "encryption": {"sse_algorithm": "AES256"},
            },
            "invalid": {"versioning": "sometimes"},
        }
    ],
    sqs.QUEUE: [
        {
            "name": "queue",
            "attributes": {"name": "driftgate-conformance-queue", "visibility_timeout": 40},
            "update": {"visibility_timeout": 50, "tags": {"team": "platform"}},
            "invalid": {"delay_seconds": "soon"},
        }
    ],
}
Reader = Callable[[Clients, Mapping[str, Any]], Observed | None]
TRUST = {
    "Version": "2012-10-17",
    "Statement": [
        {"Effect": "Allow", "Principal": {"Service": "lambda.amazonaws.com"}, "Action": "sts:AssumeRole"}
    ],
}
SAMPLES[ssm.PARAMETER] = [
    {
        "name": "parameter",
        "attributes": {"name": "/driftgate/conformance/level", "value": "1", "description": "a sample"},
        "update": {"value": "2", "tags": {"team": "platform"}},
        "invalid": {"tags": "none"},
    }
]
SAMPLES[iam.ROLE] = [
    {
        "name": "role",
        "attributes": {"name": "driftgate-conformance-role", "assume_role_policy": TRUST},
        "update": {"max_session_duration": 7200, "tags": {"team": "platform"}},
        "invalid": {"max_session_duration": "long"},
    }
]
SAMPLES[iam.POLICY] = [
    {
        "name": "policy",
        "attributes": {
            "name": "driftgate-conformance-policy",
            "document": {
                "Version": "2012-10-17",
                "Statement": [{"Effect": "Allow", "Action": "s3:ListBucket", "Resource": "*"}],
            },
        },
        "update": {
            "document": {
                "Version": "2012-10-17",
                "Statement": [{"Effect": "Allow", "Action": "s3:GetObject", "Resource": "*"}],
            }
        },
        "invalid": {"tags": "none"},
    }
]
SAMPLES[dynamodb.TABLE] = [
    {
        "name": "table",
        "attributes": {
            "name": "driftgate-conformance-table",
            "hash_key": "id",
            "attributes": [{"name": "id", "type": "S"}],
        },
        "update": {
            "point_in_time_recovery": True,
            "tags": {"team": "platform"},
            "attributes": [{"name": "id", "type": "S"}, {"name": "email", "type": "S"}],
            "global_secondary_indexes": [{"name": "by-email", "hash_key": "email"}],
            "ttl": {"attribute_name": "expires_at"},
        },
        "invalid": {"read_capacity": "lots"},
    }
]
READERS: dict[str, Reader] = {
    dynamodb.TABLE: dynamodb.read,
    s3.BUCKET: s3.read,
    sqs.QUEUE: sqs.read,
    ssm.PARAMETER: ssm.read,
    iam.ROLE: iam.read_role,
}


class AwsProvider(BaseProvider):
    name = "aws"
    capabilities = frozenset({CAP_READ, CAP_BATCH_READ, CAP_LIST, CAP_IMPORT, CAP_BACKUP})
    KINDS = (s3.KIND, sqs.KIND, ssm.KIND, iam.ROLE_KIND, iam.POLICY_KIND, dynamodb.KIND)

    def __init__(self) -> None:
        self._aws: Clients | None = None

    @property
    def aws(self) -> Clients:
        if self._aws is None:
            raise ProviderConfigError("aws provider is not configured")
        return self._aws

    def configure(self, config: Mapping[str, Any], ctx: ProviderContext) -> None:
        self._aws = Clients(parse_config(config))

    def read(self, type_: str, attributes: Mapping[str, Any], outputs: Mapping[str, Any]) -> Observed | None:
        return self.read_many([(type_, attributes, outputs)])[0]

    def read_many(
        self, items: Sequence[tuple[str, Mapping[str, Any], Mapping[str, Any]]]
    ) -> list[Observed | None]:
        for type_, _, _ in items:
            if type_ not in READERS and type_ != iam.POLICY:
                raise ProviderError(f"aws provider: unknown kind {type_!r}")
        if len(items) == 1:
            return [self._read_one(items[0])]
        with ThreadPoolExecutor(max_workers=READS_AT_ONCE, thread_name_prefix="driftgate-aws") as pool:
            return list(pool.map(self._read_one, items))

    def _read_one(self, item: tuple[str, Mapping[str, Any], Mapping[str, Any]]) -> Observed | None:
        type_, attributes, outputs = item
        if type_ == iam.POLICY:
            return iam.read_policy(self.aws, attributes, outputs)
        return READERS[type_](self.aws, attributes)

    def diff(self, type_: str, current: Mapping[str, Any], desired: Mapping[str, Any]) -> list[str]:
        changed = []
        for name in self.kinds()[type_].attributes:
            want, have = desired.get(name), current.get(name)
            if type_ == s3.BUCKET:
                differs = s3.differs(name, want, have)
            elif type_ == dynamodb.TABLE:
                differs = dynamodb.differs(name, want, have, desired)
            elif name in ("assume_role_policy", "document"):
                differs = s3.normal_policy(want) != s3.normal_policy(have)
            elif name == "managed_policy_arns":
                differs = sorted(want or []) != sorted(have or [])
            elif name == "tags":
                differs = {k: str(v) for k, v in (want or {}).items()} != dict(have or {})
            else:
                differs = want != have
            if differs:
                changed.append(name)
        return changed

    def create(self, type_: str, name: str, attributes: Mapping[str, Any]) -> dict[str, Any]:
        if type_ == s3.BUCKET:
            return s3.create(self.aws, attributes)
        if type_ == sqs.QUEUE:
            return sqs.create(self.aws, attributes)
        if type_ == ssm.PARAMETER:
            return ssm.put(self.aws, attributes, None)
        if type_ == iam.ROLE:
            return iam.put_role(self.aws, attributes, None)
        if type_ == iam.POLICY:
            return iam.put_policy(self.aws, attributes, None)
        if type_ == dynamodb.TABLE:
            return dynamodb.create(self.aws, attributes)
        raise ProviderError(f"aws provider: unknown kind {type_!r}")

    def update(
        self, type_: str, name: str, attributes: Mapping[str, Any], prior_outputs: Mapping[str, Any]
    ) -> dict[str, Any]:
        current = self.read(type_, attributes, prior_outputs)
        if current is None:
            raise ProviderError(f"{type_} {attributes.get('name')!r}: not found (deleted out of band?)")
        if type_ == s3.BUCKET:
            return s3.update(self.aws, attributes, current)
        if type_ == sqs.QUEUE:
            return sqs.update(self.aws, attributes, current)
        if type_ == ssm.PARAMETER:
            return ssm.put(self.aws, attributes, current)
        if type_ == iam.ROLE:
            return iam.put_role(self.aws, attributes, current)
        if type_ == iam.POLICY:
            return iam.put_policy(self.aws, attributes, current)
        if type_ == dynamodb.TABLE:
            return dynamodb.update(self.aws, attributes, current)
        raise ProviderError(f"aws provider: unknown kind {type_!r}")

    def delete(self, type_: str, attributes: Mapping[str, Any], outputs: Mapping[str, Any]) -> None:
        if type_ == s3.BUCKET:
            s3.delete(self.aws, attributes)
        elif type_ == sqs.QUEUE:
            sqs.delete(self.aws, attributes)
        elif type_ == ssm.PARAMETER:
            ssm.delete(self.aws, attributes)
        elif type_ == iam.ROLE:
            iam.delete_role(self.aws, attributes)
        elif type_ == iam.POLICY:
            iam.delete_policy(self.aws, attributes, outputs)
        elif type_ == dynamodb.TABLE:
            dynamodb.delete(self.aws, attributes)
        else:
            raise ProviderError(f"aws provider: unknown kind {type_!r}")

    def list_ids(self, type_: str) -> set[str] | None:
        if type_ == s3.BUCKET:
            return s3.names(self.aws)
        if type_ == sqs.QUEUE:
            return sqs.names(self.aws)
        if type_ == ssm.PARAMETER:
            return ssm.names(self.aws)
        if type_ == iam.ROLE:
            return iam.role_names(self.aws)
        if type_ == iam.POLICY:
            return iam.policy_names(self.aws)
        if type_ == dynamodb.TABLE:
            return dynamodb.names(self.aws)
        return None

    def resource_id(self, type_: str, attributes: Mapping[str, Any]) -> str | None:
        return str(attributes["name"]) if attributes.get("name") else None

    def import_resource(self, type_: str, resource_id: str) -> Observed | None:
        return self.read(type_, {"name": resource_id}, {})

    # -- backups: buckets (their objects) and tables (DynamoDB backups) --------------------------

    def backup_resource(
        self, type_: str, attributes: Mapping[str, Any], outputs: Mapping[str, Any]
    ) -> dict[str, bytes] | None:
        if type_ == s3.BUCKET:
            return s3.backup(self.aws, attributes)
        if type_ == dynamodb.TABLE:
            return dynamodb.backup(self.aws, attributes)
        return None

    def check_backup(self, type_: str, files: Mapping[str, bytes]) -> None:
        if type_ == s3.BUCKET:
            s3.check_backup(files)
        elif type_ == dynamodb.TABLE:
            dynamodb.check_backup(self.aws, files)

    def restore_resource(
        self, type_: str, attributes: Mapping[str, Any], files: Mapping[str, bytes]
    ) -> Observed:
        if type_ == s3.BUCKET:
            return s3.restore(self.aws, attributes, files)
        if type_ == dynamodb.TABLE:
            return dynamodb.restore(self.aws, attributes, files)
        raise ProviderError(f"{type_} cannot be restored from a backup")
