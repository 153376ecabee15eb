"""The provider's configuration and boto3 clients: region, a custom endpoint (moto, LocalStack),
explicit keys (resolved secrets) or the standard AWS chain; botocore's standard retry mode."""

from __future__ import annotations

import threading
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

import boto3
from botocore.config import Config
from botocore.exceptions import BotoCoreError, ClientError

from driftgate.errors import ProviderConfigError, ProviderError
from driftgate.security.redact import redact, register_secret

FIELDS = frozenset(
    {
        "region",
        "endpoint_url",
        "access_key_id",
        "secret_access_key",
        "session_token",
        "parameter_path",
        "iam_path_prefix",
        "backup_max_bytes",
        "max_attempts",
    }
)
BACKUP_MAX_BYTES = 256 * 1024 * 1024  # a bucket's objects held in one backup artifact, at most


@dataclass(frozen=True)
class AwsConfig:
    region: str
    endpoint_url: str | None
    keys: Mapping[str, str]
    parameter_path: str = "/"  # unmanaged discovery of parameters: under this path
    iam_path_prefix: str = "/"  # unmanaged discovery of roles and policies: under this path
    backup_max_bytes: int = BACKUP_MAX_BYTES
    max_attempts: int = 5  # botocore's standard retry mode: a throttled call is tried this often


def parse_config(config: Mapping[str, Any]) -> AwsConfig:
    unknown = sorted(set(config) - FIELDS)
    if unknown:
        raise ProviderConfigError(f"aws provider: unknown field(s) {', '.join(unknown)}")
    region = config.get("region")
    if not isinstance(region, str) or not region:
        raise ProviderConfigError("aws provider: 'region' is required (e.g. eu-west-1)")
    endpoint = config.get("endpoint_url")
    if endpoint is not None and (
        not isinstance(endpoint, str) or not endpoint.startswith(("http://", "https://"))
    ):
        raise ProviderConfigError("aws provider: 'endpoint_url' must be an http(s) URL")
    keys = {}
    for ours, theirs in (
        ("access_key_id", "aws_access_key_id"),
        ("secret_access_key", "aws_secret_access_key"),
        ("session_token", "aws_session_token"),
    ):
        if config.get(ours):
            keys[theirs] = str(config[ours])
            register_secret(keys[theirs])
    if bool("aws_access_key_id" in keys) != bool("aws_secret_access_key" in keys):
        raise ProviderConfigError("aws provider: give both access_key_id and secret_access_key, or neither")
    paths: dict[str, str] = {}
    for name in ("parameter_path", "iam_path_prefix"):
        path = config.get(name, "/")
        if not isinstance(path, str) or not path.startswith("/"):
            raise ProviderConfigError(f"aws provider: '{name}' must be a path starting with /")
        paths[name] = path
    numbers: dict[str, int] = {}
    for name, default, least in (("backup_max_bytes", BACKUP_MAX_BYTES, 0), ("max_attempts", 5, 1)):
        value = config.get(name, default)
        if not isinstance(value, int) or isinstance(value, bool) or value < least:
            raise ProviderConfigError(f"aws provider: '{name}' must be a whole number, at least {least}")
        numbers[name] = value
    return AwsConfig(
        region,
        endpoint,
        keys,
        parameter_path=paths["parameter_path"],
        iam_path_prefix=paths["iam_path_prefix"],
        backup_max_bytes=numbers["backup_max_bytes"],
        max_attempts=numbers["max_attempts"],
    )


class Clients:
    """One boto3 session; clients per service, per thread (boto3 clients are thread-safe, sessions not)."""

    def __init__(self, config: AwsConfig) -> None:
        self.config = config
        self._lock = threading.Lock()
        self._session = boto3.session.Session(region_name=config.region, **config.keys)
        self._clients: dict[str, Any] = {}

    def get(self, service: str) -> Any:
        with self._lock:
            client = self._clients.get(service)
            if client is None:
                retries = {"mode": "standard", "total_max_attempts": self.config.max_attempts}
                options: dict[str, Any] = {"retries": retries}
                if service == "s3":
                    options["s3"] = {"addressing_style": "path"}
                client = self._session.client(
                    service, endpoint_url=self.config.endpoint_url, config=Config(**options)
                )
                self._clients[service] = client
            return client


def code_of(exc: ClientError) -> str:
    return str(exc.response.get("Error", {}).get("Code", ""))


@contextmanager
def errors(doing: str) -> Iterator[None]:
    """AWS's failures as one-line provider errors naming the resource and AWS's error code."""
    try:
        yield
    except ClientError as exc:
        message = str(exc.response.get("Error", {}).get("Message", "")) or str(exc)
        raise ProviderError(redact(f"{doing}: {code_of(exc)}: {' '.join(message.split())}")) from None
    except BotoCoreError as exc:
        raise ProviderError(redact(f"{doing}: {' '.join(str(exc).split())}")) from None
