"""What driftgate needs from a forge, whichever it is: a client, and how its webhooks are read."""

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Protocol

from driftgate import errors
from driftgate.errors import TerminalError, TransientError

FORGE_CALLS: Counter[str] = Counter()
"""Every forge client's calls, by status ("error" for no answer): for /metrics."""


@dataclass(frozen=True)
class PullRequestInfo:
    number: int
    url: str
    state: str  # open | closed | merged
    head: str
    base: str
    draft: bool
    title: str
    body: str


@dataclass(frozen=True)
class CommentInfo:
    id: int
    body: str


class ForgeError(TerminalError):
    """The forge refused the request (4xx other than rate limits). Retrying will not help."""

    code = errors.FORGE_REJECTED

    def __init__(self, message: str, *, status: int | None = None) -> None:
        super().__init__(message)
        self.status = status


class ForgeUnavailable(TransientError):
    """The forge could not be reached or kept failing (5xx, rate limits) after every retry."""

    code = errors.FORGE_UNAVAILABLE

    def __init__(self, message: str, *, status: int | None = None) -> None:
        super().__init__(message)
        self.status = status


class ForgeClient(Protocol):
    """One repository on one forge; draft PRs, comments, branch deletion, PR state, file URLs."""

    def __enter__(self) -> ForgeClient: ...

    def __exit__(self, *exc: object) -> None: ...

    def close(self) -> None: ...

    def open_pull_request(
        self, *, head: str, base: str, title: str, body: str, draft: bool = False
    ) -> PullRequestInfo: ...

    def find_open_pull_request(self, head: str) -> PullRequestInfo | None: ...

    def update_pull_request(
        self, number: int, *, title: str | None = None, body: str | None = None, state: str | None = None
    ) -> PullRequestInfo: ...

    def comment(self, number: int, body: str) -> CommentInfo: ...

    def comments(self, number: int) -> list[CommentInfo]:
        """Every comment on the pull request, oldest first."""
        ...

    def update_comment(self, number: int, comment_id: int, body: str) -> None: ...

    def pull_request_state(self, number: int) -> str: ...

    def delete_branch(self, branch: str) -> None: ...

    def file_url(self, branch: str, path: str) -> str:
        """Where a person (or a PR comment's image) reads ``path`` on ``branch``, raw."""
        ...


TRUNCATED = "\n\n---\n*driftgate: {count:,} characters left out here, over this forge's size limit.*"


def fit_text(text: str, limit: int | None) -> str:
    """``text`` cut to a forge's size limit for a comment or description, saying so at its end
    (never rejected for its size)."""
    if limit is None or len(text) <= limit:
        return text
    note = TRUNCATED.format(count=len(text))  # its own length is counted below, with room to spare
    keep = limit - len(note) - 16
    return text[:keep] + TRUNCATED.format(count=len(text) - keep)


def upsert_comment(forge: ForgeClient, number: int, body: str, marker: str) -> tuple[int, bool]:
    """One comment per ``marker`` on a pull request, updated in place: (its id, whether it is new).
    The marker (an HTML comment such as ``<!-- driftgate:plan -->``) is put at the top of ``body``."""
    text = body if body.startswith(marker) else f"{marker}\n{body}"
    for found in forge.comments(number):
        if found.body.startswith(marker):
            forge.update_comment(number, found.id, text)
            return found.id, False
    return forge.comment(number, text).id, True


@dataclass(frozen=True)
class Delivery:
    """A webhook delivery's envelope: its signature, event and id (from the forge's headers)."""

    signature: str
    event: str | None
    id: str


@dataclass(frozen=True)
class WebhookEvent:
    """What driftgate reads in a delivery. ``repo_url`` is None for hooks not about one repository
    (an organization's ``ping``, an app installation); ``state`` None when it says no PR state."""

    kind: str | None
    repo_url: str | None
    number: int | None
    state: str | None
    updated_at: float | None
    is_ping: bool


class Webhooks(Protocol):
    def delivery(self, headers: Mapping[str, str]) -> Delivery:
        """The envelope; raises CodedError(SIGNATURE_INVALID) when the delivery is unsigned."""
        ...

    def verify(self, body: bytes, signature: str, secret: str) -> bool: ...

    def parse(self, body: bytes, content_type: str) -> dict[str, Any]:
        """The delivery's JSON object (CodedError with INVALID_INPUT or WEBHOOK_INVALID if not)."""
        ...

    def event(self, delivery: Delivery, payload: Mapping[str, Any]) -> WebhookEvent: ...


def json_object(raw: str | bytes) -> dict[str, Any]:
    """A delivery's body as the JSON object every forge sends (INVALID_INPUT if it is not one)."""
    from driftgate.errors import CodedError
    from driftgate.security.limits import loads_json

    try:
        payload = loads_json(raw)
    except ValueError as exc:
        raise CodedError(errors.INVALID_INPUT, f"the delivery is not valid JSON: {exc}") from None
    if not isinstance(payload, dict):
        raise CodedError(errors.INVALID_INPUT, "the delivery is not a JSON object")
    return payload


def pr_updated_at(payload: Mapping[str, Any]) -> float | None:
    """The delivery's ``pull_request.updated_at`` as a timestamp (every forge names it so)."""
    pr = payload.get("pull_request")
    stamp = pr.get("updated_at") if isinstance(pr, dict) else None
    if not isinstance(stamp, str):
        return None
    try:
        return datetime.fromisoformat(stamp.replace("Z", "+00:00")).timestamp()
    except ValueError:
        return None
