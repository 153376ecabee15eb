"""Bounds on what driftgate reads: file size before reading, nesting depth, non-finite numbers.

Every input that comes from outside (spec files, plan files, secret files, API
bodies) passes through one of these, so a hostile or broken input gets a
one-line reason instead of exhausting memory or the interpreter's stack.
"""

from __future__ import annotations

import json
import math
import os
import stat
from pathlib import Path
from typing import Any

MAX_DEPTH = 64  # nesting of mappings and lists, for specs, plan files and API bodies


class InputTooLarge(ValueError):
    """An input passed one of the bounds; the message is one line naming the bound."""


def read_bounded(path: Path, max_bytes: int, *, dir_fd: int | None = None) -> bytes:
    """Read a regular file of at most ``max_bytes`` without ever holding more than ``max_bytes + 1``.

    The file is opened without blocking and checked on the open descriptor, so a
    FIFO or a device cannot hang the reader and a swap between check and read
    changes nothing.
    """
    fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK | getattr(os, "O_CLOEXEC", 0), dir_fd=dir_fd)
    try:
        info = os.fstat(fd)
        if not stat.S_ISREG(info.st_mode):
            raise InputTooLarge("not a regular file")
        if info.st_size > max_bytes:
            raise InputTooLarge(f"file is larger than the limit of {max_bytes} bytes")
        os.set_blocking(fd, True)
        chunks: list[bytes] = []
        size = 0
        while size <= max_bytes:
            chunk = os.read(fd, min(1 << 20, max_bytes + 1 - size))
            if not chunk:
                break
            chunks.append(chunk)
            size += len(chunk)
        if size > max_bytes:
            raise InputTooLarge(f"file is larger than the limit of {max_bytes} bytes")
        return b"".join(chunks)
    finally:
        os.close(fd)


def depth_of(value: Any, limit: int = MAX_DEPTH) -> int:
    """Nesting depth of JSON-shaped data (a scalar is 0), counted without recursion.

    Stops counting as soon as ``limit`` is passed, so a pathological value costs little.
    """
    deepest = 0
    stack: list[tuple[Any, int]] = [(value, 0)]
    while stack:
        item, depth = stack.pop()
        if isinstance(item, dict):
            children: Any = item.values()
        elif isinstance(item, list | tuple):
            children = item
        else:
            continue
        depth += 1
        deepest = max(deepest, depth)
        if deepest > limit:
            return deepest
        stack.extend((child, depth) for child in children)
    return deepest


def check_depth(value: Any, limit: int = MAX_DEPTH) -> None:
    if depth_of(value, limit) > limit:
        raise InputTooLarge(f"nested more than {limit} levels deep")


def _refuse_constant(name: str) -> Any:
    raise InputTooLarge(f"non-finite number {name} is not allowed")


def loads_json(text: str | bytes, *, max_depth: int = MAX_DEPTH) -> Any:
    """``json.loads`` with a nesting bound and no NaN/Infinity; raises InputTooLarge or ValueError."""
    try:
        data = json.loads(text, parse_constant=_refuse_constant)
    except RecursionError:
        raise InputTooLarge(f"nested more than {max_depth} levels deep") from None
    check_depth(data, max_depth)
    return data


def is_finite_number(value: Any) -> bool:
    return not (isinstance(value, float) and not math.isfinite(value))
