"""Bounded reads and JSON (issue 8: defects 6, 14, 15, 17)."""

from __future__ import annotations

import os
import threading
from pathlib import Path

import pytest

from driftgate.security.limits import InputTooLarge, loads_json, read_bounded


def test_size_is_checked_before_reading(tmp_path: Path) -> None:
    """A 3 GB sparse file is refused from its size alone: nothing of it is read."""
    sparse = tmp_path / "huge.yaml"
    with sparse.open("wb") as handle:
        handle.truncate(3 * 1024**3)
    with pytest.raises(InputTooLarge, match="larger than the limit of 1024 bytes"):
        read_bounded(sparse, 1024)


def test_a_file_that_grows_after_the_check_is_still_bounded(tmp_path: Path) -> None:
    path = tmp_path / "f"
    path.write_bytes(b"x" * 100)
    assert read_bounded(path, 100) == b"x" * 100
    path.write_bytes(b"x" * 101)
    with pytest.raises(InputTooLarge):
        read_bounded(path, 100)


def test_a_fifo_is_refused_without_blocking(tmp_path: Path) -> None:
    fifo = tmp_path / "pipe"
    os.mkfifo(fifo)
    done = threading.Event()
    failure: list[BaseException] = []

    def read() -> None:
        try:
            read_bounded(fifo, 1024)
        except BaseException as exc:  # noqa: BLE001
            failure.append(exc)
        done.set()

    threading.Thread(target=read, daemon=True).start()
    assert done.wait(5), "reading a FIFO blocked"
    assert isinstance(failure[0], InputTooLarge) and "not a regular file" in str(failure[0])


def test_json_depth_and_non_finite_numbers() -> None:
    assert loads_json('{"a": [1, 2]}') == {"a": [1, 2]}
    with pytest.raises(InputTooLarge, match="nested more than 64"):
        loads_json("[" * 65 + "]" * 65)
    with pytest.raises(InputTooLarge, match="nested more than 64"):
        loads_json("[" * 100_000 + "]" * 100_000)
    with pytest.raises(InputTooLarge, match="non-finite number NaN"):
        loads_json('{"x": NaN}')
