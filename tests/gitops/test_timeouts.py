"""A remote that never answers (issue 8, defect 21): bounded wait, nothing left running, honest words."""

from __future__ import annotations

import os
import time
from pathlib import Path

import pytest

from driftgate.gitops.clones import cached_checkout, reset_to_remote
from driftgate.gitops.objects import commit_changes, resolve
from driftgate.gitops.seal import prepare_for_write, publish
from driftgate.testing.gitrepos import Remote, make_remote

MARK = "4711.25"  # a sleep no other process on this machine runs


def hang(remote: Remote) -> None:
    hook = remote.path / "hooks" / "pre-receive"
    hook.write_text(f"#!/bin/sh\nexec sleep {MARK}\n")
    hook.chmod(0o755)


def sleepers() -> list[int]:
    found = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                cmd = (entry / "cmdline").read_bytes().split(b"\0")
            except OSError:
                continue
            if cmd[:2] == [b"sleep", MARK.encode()]:
                found.append(int(entry.name))
    return found


def test_a_hung_push_is_stopped_once_with_its_children_and_says_so(tmp_path: Path) -> None:
    remote = make_remote(tmp_path)
    hang(remote)
    with cached_checkout(tmp_path / "clones", remote.url, "main", timeout=1.5) as co:
        assert prepare_for_write(co).can_write
        reset_to_remote(co)
        commit_changes(
            co.path, branch="main", parent=resolve(co.path, co.local), changes={"a.txt": b"x"}, message="m"
        )
        started = time.monotonic()
        outcome = publish(co)
        elapsed = time.monotonic() - started
    assert not outcome.ok and outcome.timed_out
    assert "remote did not answer in 1.5 s" in outcome.detail
    assert elapsed < 6, f"a timed-out push was retried: {elapsed:.1f}s"
    deadline = time.monotonic() + 5
    while sleepers() and time.monotonic() < deadline:
        time.sleep(0.05)
    assert sleepers() == [], "the hook outlived the push"


def test_rejected_push_names_this_runs_commit(tmp_path: Path) -> None:
    remote = make_remote(tmp_path)
    with cached_checkout(tmp_path / "clones", remote.url, "main") as co:
        assert prepare_for_write(co).can_write
        reset_to_remote(co)
        commit_changes(
            co.path, branch="main", parent=resolve(co.path, co.local), changes={"a.txt": b"x"}, message="m"
        )
        remote.reject()
        outcome = publish(co)
    assert not outcome.ok
    assert "of this run" in outcome.detail and "earlier run" not in outcome.detail


@pytest.mark.slow
def test_apply_against_a_hung_remote_reports_divergence_within_the_timeout(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    from driftgate.cli import exitcodes as codes
    from driftgate.cli.app import main
    from driftgate.testing.stacks import write_stack

    remote = make_remote(tmp_path)
    stack = write_stack(tmp_path / "stack", modules={"m": [{"type": "data.value", "name": "a"}]})
    (stack / "stack.yaml").write_text(
        (stack / "stack.yaml").read_text()
        + f"commit_back:\n  remote: {remote.url}\n  branch: main\n  path: stacks/test\n"
    )
    hang(remote)
    monkeypatch.setenv("DRIFTGATE_GIT_TIMEOUT", "2")
    started = time.monotonic()
    code = main(["apply", "-s", str(stack), "--auto-approve"])
    elapsed = time.monotonic() - started
    out = capsys.readouterr()
    assert code == codes.DIVERGED, out
    assert "remote did not answer in 2 s" in out.out + out.err
    assert elapsed < 15, elapsed
    assert os.getpid() and sleepers() == []
