"""Validation and containment of relative paths that come from specs and config."""

from __future__ import annotations

import re
from pathlib import Path, PurePosixPath

from driftgate.errors import UnsafePathError

_FORBIDDEN = re.compile(r"[\x00-\x1f\x7f;&|`$<>*?\"'\\!{}\[\]]")


def check_relative_path(value: str) -> str | None:
    """Return why ``value`` is not a safe relative path, or None when it is."""
    if not value:
        return "must not be empty"
    if _FORBIDDEN.search(value):
        return "contains a forbidden character (control or shell metacharacter)"
    posix = PurePosixPath(value)
    if posix.is_absolute() or re.match(r"^[A-Za-z]:", value):
        return "must be relative, not absolute"
    if ".." in posix.parts:
        return "must not contain '..'"
    return None


def contain(root: Path, relative: str) -> Path:
    """Resolve ``relative`` under ``root``; raise if it is unsafe or escapes (symlinks too)."""
    reason = check_relative_path(relative)
    if reason is not None:
        raise UnsafePathError(f"{relative!r}: {reason}")
    base = root.resolve()
    resolved = (base / relative).resolve()
    if not resolved.is_relative_to(base):
        raise UnsafePathError(f"{relative!r}: resolves outside {base}")
    return resolved
