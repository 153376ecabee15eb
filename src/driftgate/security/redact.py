"""Scrub credentials and resolved secret values from any text driftgate emits.

Known token shapes are always scrubbed; values registered at run time (every
resolved ``secret://`` value) are scrubbed for the life of the process, along
with their base64 forms.
"""

from __future__ import annotations

import base64
import re
import threading
from collections.abc import Collection
from typing import Any

REDACTED = "[REDACTED]"

_TOKEN_PATTERNS = re.compile(
    r"(?:gh[pousr]_[A-Za-z0-9]{20,}"
    r"|github_pat_[A-Za-z0-9_]{20,}"
    r"|gl(?:pat|oas)-[A-Za-z0-9_\-]{20,}"  # GitLab personal/project and OAuth application secrets
    r"|(?:AKIA|ASIA)[A-Z0-9]{16})"
)
# Gitea's and Forgejo's tokens are 40 hex digits, the shape of every git commit id: scrubbed only
# where a credential stands (after "token", "password", an Authorization header; a URL's password),
# so commit ids in outputs stay readable. The configured token itself is registered as a secret.
_HEX_TOKEN_IN_CONTEXT = re.compile(
    r"(?i)\b((?:private[-_])?token|bearer|password|passwd|access_token|authorization)"
    r"([\"']?\s*[:=]?\s*[\"']?\s*(?:(?:token|bearer)\s+)?)[0-9a-f]{40}\b"
)
_HEX_TOKEN_IN_URL = re.compile(r"(?i)(://[^/\s:@]*:)[0-9a-f]{40}@")
_MIN_SECRET_LEN = 4


class Redactor:
    """Thread-safe registry of secret values plus the fixed token patterns."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._values: set[str] = set()
        self._pattern: re.Pattern[str] | None = None

    def register(self, value: str) -> None:
        if len(value) < _MIN_SECRET_LEN:
            return
        forms = {value, value.strip()}
        raw = value.encode()
        forms.add(base64.b64encode(raw).decode().rstrip("="))
        forms.add(base64.urlsafe_b64encode(raw).decode().rstrip("="))
        with self._lock:
            self._values |= {f for f in forms if len(f) >= _MIN_SECRET_LEN}
            self._pattern = None

    def redact(self, text: str) -> str:
        text = _TOKEN_PATTERNS.sub(REDACTED, text)
        text = _HEX_TOKEN_IN_CONTEXT.sub(rf"\1\2{REDACTED}", text)
        text = _HEX_TOKEN_IN_URL.sub(rf"\1{REDACTED}@", text)
        pattern = self._compiled()
        return pattern.sub(REDACTED, text) if pattern is not None else text

    def _compiled(self) -> re.Pattern[str] | None:
        with self._lock:
            if self._pattern is None and self._values:
                ordered = sorted(self._values, key=len, reverse=True)
                self._pattern = re.compile("|".join(re.escape(v) for v in ordered))
            return self._pattern


_default = Redactor()


def register_secret(value: str) -> None:
    """Scrub this value (and its base64 forms) from all output from now on."""
    _default.register(value)


def redact(text: str) -> str:
    return _default.redact(text)


SECRET_MARK = "<secret value removed>"
_MIN_EMBEDDED = 4  # shorter secret values are replaced only where a whole value equals them


def scrub_values(value: Any, secrets: Collection[str], *, whole: str) -> tuple[Any, bool]:
    """``value`` (nested data) with the given secret values taken out, and whether any was.

    A string equal to a secret becomes ``whole``; a longer string keeps its text,
    each secret inside it replaced by ``SECRET_MARK``.
    """
    if not secrets:
        return value, False
    ordered = sorted((s for s in secrets if len(s) >= _MIN_EMBEDDED), key=len, reverse=True)
    pattern = re.compile("|".join(re.escape(s) for s in ordered)) if ordered else None
    found = False

    def walk(item: Any) -> Any:
        nonlocal found
        if isinstance(item, str):
            if item in secrets:
                found = True
                return whole
            if pattern is not None and pattern.search(item):
                found = True
                return pattern.sub(SECRET_MARK, item)
            return item
        if isinstance(item, dict):
            return {k: walk(v) for k, v in item.items()}
        if isinstance(item, list):
            return [walk(v) for v in item]
        return item

    return walk(value), found
