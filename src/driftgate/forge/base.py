"""What driftgate needs from a forge, whichever it is."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol

from driftgate import errors
from driftgate.errors import TerminalError, TransientError


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
    def open_pull_request(
        self, *, head: str, base: str, title: str, body: str, draft: bool = False
    ) -> PullRequestInfo: ...

    def find_open_pull_request(self, head: str) -> PullRequestInfo | None: ...

    def update_pull_request(
        self, number: int, *, title: str | None = None, body: str | None = None, state: str | None = None
    ) -> PullRequestInfo: ...

    def comment(self, number: int, body: str) -> None: ...

    def pull_request_state(self, number: int) -> str: ...

    def delete_branch(self, branch: str) -> None: ...
