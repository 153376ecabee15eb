"""commit_and_push and the branch verbs: the one way driftgate publishes, against real bare remotes."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

from driftgate.gitops.branches import continue_or_start, forget_remote_branch, start_at_base
from driftgate.gitops.clones import cached_checkout, has_remote_branch
from driftgate.gitops.gitcmd import GitError
from driftgate.gitops.objects import read_files, resolve
from driftgate.gitops.publish import commit_and_push
from driftgate.gitops.seal import Checkout, prepare_for_write
from driftgate.testing.gitrepos import Remote, human_commit, make_remote


@pytest.fixture
def remote(tmp_path: Path) -> Remote:
    return make_remote(tmp_path, files={"a.txt": "one\n"})


def on_branch(tmp_path: Path, remote: Remote, branch: str) -> Checkout:
    with cached_checkout(tmp_path / "clones", remote.url, branch) as co:
        prepare_for_write(co)
        return co


def set_file(co: Checkout, path: str, text: str) -> Callable[[str | None], dict[str, bytes | None]]:
    """The changes that make ``path`` hold ``text`` (none when it already does)."""

    def changes(parent: str | None) -> dict[str, bytes | None]:
        current = read_files(co.path, parent, "")
        return {} if current.get(path) == text.encode() else {path: text.encode()}

    return changes


def test_a_change_is_committed_and_pushed_and_no_change_makes_no_commit(
    tmp_path: Path, remote: Remote
) -> None:
    co = on_branch(tmp_path, remote, "main")
    continue_or_start(co, "main")
    published = commit_and_push(co, set_file(co, "a.txt", "two\n"), "bot: two")
    assert published.committed and published.ok and published.commit == remote.head()
    assert remote.show("a.txt") == "two\n" and len(remote.pushes()) == 1
    again = commit_and_push(co, set_file(co, "a.txt", "two\n"), "bot: two again")
    assert not again.committed and again.ok and remote.log() == ["bot: two", "seed"]
    assert len(remote.pushes()) == 1  # nothing pushed either


def test_a_remote_that_moved_gets_the_commit_replayed_on_its_tip(tmp_path: Path, remote: Remote) -> None:
    co = on_branch(tmp_path, remote, "main")
    continue_or_start(co, "main")
    human_commit(remote, tmp_path, {"b.txt": "theirs\n"})  # lands between our fetch and our push
    published = commit_and_push(co, set_file(co, "a.txt", "ours\n"), "bot: ours")
    assert published.ok and published.commit == remote.head()  # the replayed commit, not the local one
    assert remote.log() == ["bot: ours", "human change", "seed"]
    assert remote.show("b.txt") == "theirs\n" and remote.show("a.txt") == "ours\n"


def test_a_refused_push_keeps_the_local_commit_and_says_why(tmp_path: Path, remote: Remote) -> None:
    co = on_branch(tmp_path, remote, "main")
    continue_or_start(co, "main")
    remote.reject()
    published = commit_and_push(co, set_file(co, "a.txt", "x\n"), "bot: x")
    assert published.committed and not published.ok and published.detail
    assert published.commit == resolve(co.path, co.local) and remote.show("a.txt") == "one\n"


def test_before_push_runs_between_commit_and_push_and_can_stop_it(tmp_path: Path, remote: Remote) -> None:
    co = on_branch(tmp_path, remote, "main")
    continue_or_start(co, "main")

    def lease_lost() -> None:
        raise RuntimeError("lease lost")

    with pytest.raises(RuntimeError, match="lease lost"):
        commit_and_push(co, set_file(co, "a.txt", "late\n"), "bot: late", before_push=lease_lost)
    assert remote.pushes() == [] and remote.show("a.txt") == "one\n"


def test_a_branch_starts_at_the_base_continues_where_the_remote_has_it_or_starts_afresh(
    tmp_path: Path, remote: Remote
) -> None:
    co = on_branch(tmp_path, remote, "feature")
    assert not has_remote_branch(co)
    continue_or_start(co, "main")  # a new branch: at the base's tip
    assert resolve(co.path, co.local) == remote.head()
    first = commit_and_push(co, set_file(co, "f.txt", "1\n"), "bot: f1")
    assert first.ok and remote.head("feature") == first.commit
    human_commit(remote, tmp_path, {"a.txt": "main moved\n"})
    co = on_branch(tmp_path, remote, "feature")
    continue_or_start(co, "main")  # the branch exists on the remote: continued, not restarted
    assert resolve(co.path, co.local) == first.commit
    forget_remote_branch(co)
    start_at_base(co, "main")  # afresh, at the base's new tip
    assert resolve(co.path, co.local) == remote.head("main")
    with pytest.raises(GitError, match="no branch"):
        start_at_base(co, "nope")
