"""The ``aws`` provider: S3 buckets and SQS queues (more kinds to come), through boto3.

Reads are concurrent inside the plugin (up to 16 at once) and answered in batches, so a refresh
of hundreds of resources is not hundreds of round trips one after the other.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from driftgate.errors import ProviderConfigError, ProviderError
from driftgate.providers.base import CAP_IMPORT, CAP_LIST, CAP_READ, BaseProvider, Observed, ProviderContext
from driftgate_provider_aws import s3, sqs
from driftgate_provider_aws.session import Clients, parse_config

READS_AT_ONCE = 16
SAMPLES: dict[str, list[dict[str, Any]]] = {
    s3.BUCKET: [
        {
            "name": "bucket",
            "attributes": {"name": "driftgate-conformance-bucket", "tags": {"team": "platform"}},
            "update": {"versioning": True, "tags": {"team": "data"}},
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
READERS: dict[str, Reader] = {s3.BUCKET: s3.read, sqs.QUEUE: sqs.read}


class AwsProvider(BaseProvider):
    name = "aws"
    capabilities = frozenset({CAP_READ, CAP_LIST, CAP_IMPORT})
    KINDS = (s3.KIND, sqs.KIND)

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
            if type_ not in READERS:
                raise ProviderError(f"aws provider: unknown kind {type_!r}")
        if len(items) == 1:
            type_, attributes, _ = items[0]
            return [READERS[type_](self.aws, attributes)]
        with ThreadPoolExecutor(max_workers=READS_AT_ONCE, thread_name_prefix="driftgate-aws") as pool:
            return list(pool.map(lambda item: READERS[item[0]](self.aws, item[1]), items))

    def diff(self, type_: str, current: Mapping[str, Any], desired: Mapping[str, Any]) -> list[str]:
        changed = []
        for name in self.kinds()[type_].attributes:
            want, have = desired.get(name), current.get(name)
            if name == "policy":
                want, have = s3.normal_policy(want), s3.normal_policy(have)
            elif name == "tags":
                want = {k: str(v) for k, v in (want or {}).items()}
                have = dict(have or {})
            if want != have:
                changed.append(name)
        return changed

    def create(self, type_: str, name: str, attributes: Mapping[str, Any]) -> dict[str, Any]:
        if type_ == s3.BUCKET:
            return s3.create(self.aws, attributes)
        if type_ == sqs.QUEUE:
            return sqs.create(self.aws, attributes)
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
        raise ProviderError(f"aws provider: unknown kind {type_!r}")

    def delete(self, type_: str, attributes: Mapping[str, Any], outputs: Mapping[str, Any]) -> None:
        if type_ == s3.BUCKET:
            s3.delete(self.aws, attributes)
        elif type_ == sqs.QUEUE:
            sqs.delete(self.aws, attributes)
        else:
            raise ProviderError(f"aws provider: unknown kind {type_!r}")

    def list_ids(self, type_: str) -> set[str] | None:
        if type_ == s3.BUCKET:
            return s3.names(self.aws)
        if type_ == sqs.QUEUE:
            return sqs.names(self.aws)
        return None

    def resource_id(self, type_: str, attributes: Mapping[str, Any]) -> str | None:
        return str(attributes["name"]) if attributes.get("name") else None

    def import_resource(self, type_: str, resource_id: str) -> Observed | None:
        return self.read(type_, {"name": resource_id}, {})
