"""The one retry policy for every forge call.

Retry: connection errors, 5xx, 429 (honouring Retry-After, or GitLab's RateLimit-Reset), and a 403 that is
a rate limit (``x-ratelimit-remaining: 0``, a Retry-After header, or a body
that says "secondary rate limit" or "abuse"). Up to 3 attempts, exponential
backoff with jitter, each wait capped at 60 s. Every other 4xx is terminal.
"""

from __future__ import annotations

import random
import time
from collections.abc import Callable
from dataclasses import dataclass, field

import httpx

MAX_WAIT = 60.0


def _header_seconds(response: httpx.Response) -> float | None:
    value = response.headers.get("Retry-After")
    if value is not None:
        try:
            return max(0.0, float(value))
        except ValueError:
            return None
    if response.headers.get("x-ratelimit-remaining") == "0":  # GitHub's
        reset = response.headers.get("x-ratelimit-reset")
        if reset and reset.isdigit():
            return max(0.0, int(reset) - time.time())
    reset = response.headers.get("RateLimit-Reset")  # GitLab's: the epoch second the window resets
    if response.status_code == 429 and reset and reset.isdigit():
        return max(0.0, int(reset) - time.time())
    return None


def is_rate_limited(response: httpx.Response) -> bool:
    if response.status_code == 429:
        return True
    if response.status_code != 403:
        return False
    if response.headers.get("x-ratelimit-remaining") == "0" or "Retry-After" in response.headers:
        return True
    text = response.text.lower()
    return "secondary rate limit" in text or "abuse" in text


def is_retryable(response: httpx.Response) -> bool:
    return response.status_code >= 500 or is_rate_limited(response)


def _sleep(seconds: float) -> None:
    time.sleep(seconds)  # looked up at call time, so tests can replace time.sleep


@dataclass
class RetryPolicy:
    attempts: int = 3
    base_delay: float = 1.0
    max_wait: float = MAX_WAIT
    sleep: Callable[[float], None] = _sleep
    jitter: Callable[[], float] = field(default=random.random)

    def wait_for(self, attempt: int, response: httpx.Response | None) -> float:
        """Seconds to wait before attempt ``attempt + 1``: the server's word, else backoff with jitter."""
        told = _header_seconds(response) if response is not None else None
        if told is None:
            told = self.base_delay * (2 ** (attempt - 1)) * (0.5 + self.jitter())
        return min(told, self.max_wait)
