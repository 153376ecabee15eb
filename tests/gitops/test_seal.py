"""Push-seal scenarios against real bare remotes."""

from __future__ import annotations

from pathlib import Path

import pytest

from driftgate.gitops.clones import cached_checkout, reset_to_remote
from driftgate.gitops.gitcmd import run_git
from driftgate.gitops.objects import commit_changes, read_files, resolve
from driftgate.gitops.seal import Checkout, count_ahead, count_behind, prepare_for_write, push
from driftgate.testing.gitrepos import Remote, git, human_commit, make_remote


@pytest.fixture
def remote(tmp_path: Path) -> Remote:
    return make_remote(tmp_path)


def checkout(tmp_path: Path, remote: Remote) -> Checkout:
    """A clone-cache checkout at the remote's tip."""
    with cached_checkout(tmp_path / "clones", remote.url, "main") as co:
        prepare_for_write(co)
        reset_to_remote(co)
        return co


def bot_commit(co: Checkout, name: str, text: str) -> None:
    parent = resolve(co.path, co.local)
    commit_changes(
        co.path, branch=co.branch, parent=parent, changes={name: text.encode()}, message=f"bot: {name}"
    )


def local_state(co: Checkout) -> tuple[str, str]:
    refs = run_git("for-each-ref", cwd=co.path).stdout
    reflog = run_git("reflog", "--all", cwd=co.path, check=False).stdout
    return refs, reflog


def test_steady_state_makes_no_git_writes(tmp_path: Path, remote: Remote) -> None:
    co = checkout(tmp_path, remote)
    before_remote, before_local = remote.head(), local_state(co)
    state = prepare_for_write(co)
    assert state.can_write and state.pushed_pending == 0
    assert remote.pushes() == [] and remote.head() == before_remote
    assert local_state(co) == before_local


def test_behind_fast_forwards_first(tmp_path: Path, remote: Remote) -> None:
    co = checkout(tmp_path, remote)
    theirs = human_commit(remote, tmp_path, {"human.txt": "hi"})
    remote.clear_pushes()
    assert count_behind(co) == 1
    state = prepare_for_write(co)
    assert state.can_write
    assert resolve(co.path, co.local) == theirs
    assert remote.pushes() == []


def test_ahead_from_a_failed_earlier_push_is_pushed_first(tmp_path: Path, remote: Remote) -> None:
    co = checkout(tmp_path, remote)
    bot_commit(co, "a.txt", "a")
    remote.reject()
    failed = push(co)
    assert not failed.ok and "rejected" in failed.detail
    assert count_ahead(co) == 1

    still = prepare_for_write(co)
    assert not still.can_write and "cannot be pushed" in still.reason

    remote.reject(False)
    state = prepare_for_write(co)
    assert state.can_write and state.pushed_pending == 1
    assert remote.show("a.txt") == "a"


def test_ahead_and_behind_replays_then_pushes_without_force(tmp_path: Path, remote: Remote) -> None:
    co = checkout(tmp_path, remote)
    bot_commit(co, "bot.txt", "bot")
    theirs = human_commit(remote, tmp_path, {"human.txt": "human"})
    state = prepare_for_write(co)
    assert state.can_write and state.pushed_pending == 1
    assert remote.show("bot.txt") == "bot" and remote.show("human.txt") == "human"
    assert git(remote.path, "merge-base", "--is-ancestor", theirs, "main") == ""  # human commit kept


def test_conflicting_unpushed_commit_blocks_writes_and_leaves_the_remote_alone(
    tmp_path: Path, remote: Remote
) -> None:
    co = checkout(tmp_path, remote)
    bot_commit(co, "same.txt", "bot")
    theirs = human_commit(remote, tmp_path, {"same.txt": "human"})
    state = prepare_for_write(co)
    assert not state.can_write and "conflict" in state.reason
    assert remote.head() == theirs
    assert remote.show("same.txt") == "human"


def test_remote_unreachable(tmp_path: Path, remote: Remote) -> None:
    co = checkout(tmp_path, remote)
    run_git("remote", "set-url", "origin", str(tmp_path / "gone.git"), cwd=co.path)
    state = prepare_for_write(co)
    assert not state.can_write and "cannot reach the remote" in state.reason


def test_non_fast_forward_push_is_reported_never_forced(tmp_path: Path, remote: Remote) -> None:
    co = checkout(tmp_path, remote)
    bot_commit(co, "bot.txt", "bot")
    theirs = human_commit(remote, tmp_path, {"human.txt": "human"})
    outcome = push(co)
    assert not outcome.ok and ("rejected" in outcome.detail or "non-fast-forward" in outcome.detail)
    assert remote.head() == theirs


@pytest.mark.parametrize(
    "args",
    [
        ("--force",),
        ("-f",),
        ("--force-with-lease",),
        ("--force-if-includes",),
        ("--mirror",),
        ("+HEAD:main",),
    ],
)
def test_the_git_runner_refuses_every_forced_push(
    tmp_path: Path, remote: Remote, args: tuple[str, ...]
) -> None:
    co = checkout(tmp_path, remote)
    with pytest.raises(ValueError, match="never force-pushes"):
        run_git("push", "origin", *args, "HEAD:refs/heads/main", cwd=co.path)
    assert remote.pushes() == []


def test_commits_are_built_from_content_without_a_working_tree(tmp_path: Path, remote: Remote) -> None:
    co = checkout(tmp_path, remote)
    assert (co.path / "HEAD").is_file() and not (co.path / "README.md").exists()  # a bare cache
    parent = resolve(co.path, co.local)
    sha = commit_changes(
        co.path,
        branch="main",
        parent=parent,
        message="m",
        changes={"dir/a b.yaml": b"x: 1\n", "README.md": None},
    )
    assert read_files(co.path, sha, "dir") == {"a b.yaml": b"x: 1\n"}
    assert "README.md" not in read_files(co.path, sha, ".")
    assert push(co).ok and remote.show("dir/a b.yaml") == "x: 1\n"
