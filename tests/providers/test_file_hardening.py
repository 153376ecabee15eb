"""The file provider under attack (issue 8: defects 8, 10, 11, 12)."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
from pathlib import Path

import pytest

from driftgate.errors import ProviderError
from driftgate.providers.base import ProviderContext
from driftgate.providers.file import FileProvider
from driftgate.providers.fsroot import TEMP_PREFIX


def provider_in(tmp_path: Path) -> FileProvider:
    provider = FileProvider()
    provider.configure({"root": "live"}, ProviderContext(stack_dir=tmp_path))
    return provider


def attrs(path: str, content: str = "x") -> dict[str, str]:
    return {"path": path, "content": content, "mode": "0644"}


def test_directory_swapped_for_a_symlink_after_planning_cannot_redirect_the_write(tmp_path: Path) -> None:
    provider = provider_in(tmp_path)
    provider.create("file.file", "a", attrs("dir/a.txt", "v1"))
    assert provider.read("file.file", {"path": "dir/a.txt"}, {}) is not None  # the plan's read
    outside = tmp_path / "outside"
    outside.mkdir()
    shutil.rmtree(tmp_path / "live" / "dir")
    (tmp_path / "live" / "dir").symlink_to(outside)  # swapped while apply waits for "yes"
    with pytest.raises(ProviderError, match="symlink that resolves outside"):
        provider.update("file.file", "a", attrs("dir/a.txt", "v2"), {})
    with pytest.raises(ProviderError, match="symlink that resolves outside"):
        provider.read("file.file", {"path": "dir/a.txt"}, {})
    with pytest.raises(ProviderError, match="symlink that resolves outside"):
        provider.delete("file.file", {"path": "dir/a.txt"}, {})
    assert list(outside.iterdir()) == []


def test_a_symlink_inside_the_root_is_not_followed_either(tmp_path: Path) -> None:
    provider = provider_in(tmp_path)
    provider.create("file.file", "t", attrs("target.txt", "kept"))
    (tmp_path / "live" / "alias.txt").symlink_to(tmp_path / "live" / "target.txt")
    with pytest.raises(ProviderError, match="is a symlink; driftgate does not follow symlinks"):
        provider.create("file.file", "a", attrs("alias.txt", "changed"))
    assert (tmp_path / "live" / "target.txt").read_text() == "kept"


@pytest.mark.parametrize(
    ("path", "reason"),
    [
        (".", "not the root itself"),
        ("./a.txt", "write it as 'a.txt'"),
        ("a.txt/", "write it as 'a.txt'"),
        ("d//a.txt", "write it as 'd/a.txt'"),
        ("a\u200b.txt", "invisible control or format character (U+200B)"),
        ("evil\u202etxt.exe", "(U+202E)"),
        ("a\x85b", "(U+0085)"),
    ],
)
def test_paths_must_be_canonical_and_visible(tmp_path: Path, path: str, reason: str) -> None:
    provider = provider_in(tmp_path)
    with pytest.raises(ProviderError, match=re.escape(reason)):
        provider.create("file.file", "a", attrs(path))
    assert not (tmp_path / "live").exists() or list((tmp_path / "live").iterdir()) == []


def _dead_pid() -> int:
    child = subprocess.Popen(["true"])
    child.wait()
    return child.pid


def test_leftover_temp_files_of_a_killed_run_are_removed_and_never_listed(tmp_path: Path) -> None:
    provider = provider_in(tmp_path)
    provider.create("file.file", "a", attrs("d/a.txt"))
    dead = _dead_pid()
    leftovers = [tmp_path / "live" / "d" / f"{TEMP_PREFIX}{dead}-{i:012x}" for i in range(3)]
    for leftover in leftovers:
        leftover.write_text("half-written")
    mine = tmp_path / "live" / f"{TEMP_PREFIX}{os.getpid()}-00000000abcd"  # a write in progress here
    mine.write_text("in progress")
    assert provider.list_ids("file.file") == {"d/a.txt"}
    assert not any(p.exists() for p in leftovers) and mine.exists()

    again = tmp_path / "live" / "d" / f"{TEMP_PREFIX}{dead}-ffffffffffff"
    again.write_text("half-written")
    fresh = provider_in(tmp_path)  # the next run
    fresh.create("file.file", "b", attrs("d/b.txt"))
    assert not again.exists()
    assert sorted(p.name for p in (tmp_path / "live" / "d").iterdir()) == ["a.txt", "b.txt"]
