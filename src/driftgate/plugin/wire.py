"""What both ends of the wire share: the handshake, JSON values, diagnostics, statuses."""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from typing import Any

from driftgate.errors import (
    CompensatedError,
    CompensationFailedError,
    DriftgateError,
    ProviderError,
)
from driftgate.plan.model import UNKNOWN
from driftgate.plugin.proto import provider_pb2 as pb

COOKIE_ENV = "DRIFTGATE_PLUGIN_MAGIC_COOKIE"
COOKIE = "d7f1c2a94e5b4c08-driftgate-provider-plugin"  # not a secret: says "driftgate started me"
DIR_ENV = "DRIFTGATE_PLUGIN_DIR"
CORE_PROTOCOL = 1
CHUNK = 1024 * 1024  # bytes of a backup file per streamed message, both ways
SOCKET_NAME = "plugin.sock"
MAX_MESSAGE = 64 * 1024 * 1024

Diagnostic = pb.Diagnostic


def handshake_line(major: int, socket_path: str) -> str:
    return f"{CORE_PROTOCOL}|{major}|unix|{socket_path}|grpc"


def dumps(value: Mapping[str, Any] | None) -> str:
    return json.dumps(value or {}, separators=(",", ":"))


def dumps_planned(value: Mapping[str, Any] | None) -> str:
    """A planned value, where one not known until apply (an output this plan changes) is the text
    ``(known after apply)``: it differs from any live value, as it should."""
    return json.dumps(value or {}, separators=(",", ":"), default=lambda _: UNKNOWN)


def loads(text: str, *, what: str) -> dict[str, Any]:
    """A JSON object from the wire ("" is an empty object); anything else is a provider error."""
    if not text:
        return {}
    try:
        value = json.loads(text)
    except ValueError as exc:
        raise ProviderError(f"{what}: not JSON ({exc})") from None
    if not isinstance(value, dict):
        raise ProviderError(f"{what}: expected a JSON object, got {type(value).__name__}")
    return value


def error(summary: str, detail: str = "", path: Iterable[str] = ()) -> pb.Diagnostic:
    return pb.Diagnostic(
        severity=pb.Diagnostic.ERROR, summary=summary, detail=detail, attribute_path=list(path)
    )


def from_exception(exc: BaseException) -> pb.Diagnostic:
    """A provider's failure as a diagnostic (what the SDK answers instead of raising)."""
    if isinstance(exc, DriftgateError):
        return error(str(exc), type(exc).__name__)
    return error(f"{type(exc).__name__}: {exc}", "an unexpected error in the provider")


def errors_of(diagnostics: Iterable[pb.Diagnostic]) -> list[str]:
    return [
        d.summary + (f" ({'.'.join(d.attribute_path)})" if d.attribute_path else "")
        for d in diagnostics
        if d.severity != pb.Diagnostic.WARNING
    ]


def raise_for(diagnostics: Iterable[pb.Diagnostic], *, source: str) -> None:
    """Raise a ProviderError for the first error (an unspecified severity counts as one)."""
    found = errors_of(diagnostics)
    if found:
        raise ProviderError(f"{source}: {'; '.join(found)}")


def status_of(exc: BaseException, *, deleting: bool) -> pb.ActionStatus.ValueType:
    if isinstance(exc, CompensationFailedError):
        return pb.COMPENSATION_FAILED
    if isinstance(exc, CompensatedError):
        return pb.COMPENSATED
    return pb.DELETE_FAILED if deleting else pb.ERROR


def raise_status(status: pb.ActionStatus.ValueType, message: str, *, source: str) -> None:
    """The in-process exception for a failed action's status (SUCCESS raises nothing)."""
    if status == pb.SUCCESS:
        return
    text = f"{source}: {message or 'failed without a reason'}"
    if status == pb.COMPENSATED:
        raise CompensatedError(text)
    if status == pb.COMPENSATION_FAILED:
        raise CompensationFailedError(text)
    if status in (pb.ERROR, pb.DELETE_FAILED):
        raise ProviderError(text)
    raise ProviderError(f"{source}: answered action status {status}, which is not a valid outcome")
