"""Faults the local forge can be told to answer with: 5xx, 429 with Retry-After or RateLimit-Reset,
a secondary rate limit, an exhausted quota, 401, a delay, a refused push. From Python
(``forge.inject(Fault(...))``) or from its command line
(``driftgate local-forge --fault 'POST /repos/*/pulls 503 x3'``)."""

from __future__ import annotations

import fnmatch
from dataclasses import dataclass
from typing import Any


@dataclass
class Fault:
    """Answer the next ``times`` requests matching ``match`` (``"METHOD /path-glob"``) this way."""

    match: str
    status: int = 502
    times: int = 1
    retry_after: int | None = None
    reset_after: int | None = None  # GitLab's RateLimit-Reset, this many seconds from now
    secondary_rate_limit: bool = False
    rate_limit_exhausted: bool = False
    delay: float = 0.0
    body: dict[str, Any] | None = None

    def matches(self, method: str, path: str) -> bool:
        want_method, _, pattern = self.match.partition(" ")
        return want_method in (method, "*") and fnmatch.fnmatch(path, pattern)


def parse_fault(text: str) -> Fault:
    """``METHOD PATH-GLOB STATUS [xTIMES] [retry-after=SECONDS] [delay=SECONDS]``.

    The glob matches the path below the API base (``/repos/*/pulls``) or a git path
    (``/driftgate/*.git/git-receive-pack``); ``*`` for any method. ``429 retry-after=2``,
    ``403 secondary`` (a secondary rate limit), ``403 quota`` (the quota spent), ``200 delay=3``,
    ``429 reset=2`` (GitLab's ``RateLimit-Reset``, without Retry-After).
    """
    words = text.split()
    if len(words) < 3 or not words[2].isdigit():
        raise ValueError(f"a fault is METHOD PATH-GLOB STATUS [xTIMES] [options], not {text!r}")
    fault = Fault(f"{words[0].upper()} {words[1]}", status=int(words[2]))
    for word in words[3:]:
        key, _, value = word.partition("=")
        if key.startswith("x") and key[1:].isdigit() and not value:
            fault.times = int(key[1:])
        elif key == "retry-after" and value.isdigit():
            fault.retry_after = int(value)
        elif key == "reset" and value.isdigit():
            fault.reset_after = int(value)
        elif key == "delay":
            fault.delay = float(value)
        elif key == "secondary" and not value:
            fault.secondary_rate_limit = True
        elif key == "quota" and not value:
            fault.rate_limit_exhausted = True
        else:
            raise ValueError(f"unknown fault option {word!r} in {text!r}")
    return fault
