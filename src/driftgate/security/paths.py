"""Validation and containment of relative paths that come from specs and config."""

from __future__ import annotations

import re
import unicodedata
from pathlib import Path

from driftgate.errors import UnsafePathError

_DRIVE = re.compile(r"^[A-Za-z]:")
_ASCII_CONTROL = re.compile(r"[\x00-\x1f\x7f]")
_FORBIDDEN = re.compile(r"[\x00-\x1f\x7f;&|`$<>*?\"'\\!{}\[\]]")


def invisible_character(value: str) -> str | None:
    """The first control or format character (Unicode Cc/Cf: zero-width, bidi overrides) in ``value``."""
    if value.isascii():
        found = _ASCII_CONTROL.search(value)
        return f"U+{ord(found.group(0)):04X}" if found else None
    for char in value:
        if unicodedata.category(char) in ("Cc", "Cf"):
            return f"U+{ord(char):04X}"
    return None


def check_relative_path(value: str) -> str | None:
    """Return why ``value`` is not a safe relative path, or None when it is."""
    if not value:
        return "must not be empty"
    if _FORBIDDEN.search(value):
        return "contains a forbidden character (control or shell metacharacter)"
    hidden = invisible_character(value)
    if hidden is not None:
        return f"contains an invisible control or format character ({hidden})"
    if value.startswith("/") or _DRIVE.match(value):
        return "must be relative, not absolute"
    if ".." in value.split("/"):
        return "must not contain '..'"
    return None


def check_canonical_path(value: str) -> str | None:
    """Like check_relative_path, and the path must be written one way only.

    ``a.txt``, ``./a.txt`` and ``a.txt/`` name one file; letting all three through
    would make three resources of it. ``.`` (the root itself) is not a resource.
    """
    reason = check_relative_path(value)
    if reason is not None:
        return reason
    canonical = canonical_path(value)
    if canonical in ("", "."):
        return "must name something under the root, not the root itself"
    if canonical != value:
        return f"write it as {canonical!r}"
    return None


def canonical_path(value: str) -> str:
    """``./a//b/`` -> ``a/b``: the one spelling of a relative path."""
    return "/".join(part for part in value.split("/") if part not in ("", "."))


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
