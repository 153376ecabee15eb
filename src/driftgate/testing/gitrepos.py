"""Real git repositories for tests: bare remotes with a recording/rejecting hook, and clones."""

from __future__ import annotations

import subprocess
from dataclasses import dataclass
from pathlib import Path

HOOK = """#!/bin/sh
# Records every push attempt; rejects while a file named REJECT exists beside the repo.
cat >> "{log}"
if [ -e "{reject}" ]; then echo "push rejected by policy hook" >&2; exit 1; fi
exit 0
"""


def git(cwd: Path, *args: str) -> str:
    env = {
        "GIT_AUTHOR_NAME": "Human",
        "GIT_AUTHOR_EMAIL": "human@example.com",
        "GIT_COMMITTER_NAME": "Human",
        "GIT_COMMITTER_EMAIL": "human@example.com",
        "GIT_CONFIG_GLOBAL": "/dev/null",
        "GIT_CONFIG_NOSYSTEM": "1",
        "PATH": "/usr/local/bin:/usr/bin:/bin",
        "HOME": "/dev/null",
    }
    return subprocess.run(["git", *args], cwd=cwd, env=env, capture_output=True, text=True, check=True).stdout


@dataclass
class Remote:
    """A bare repository with a pre-receive hook that logs pushes and can reject them."""

    path: Path

    @property
    def url(self) -> str:
        return str(self.path)

    @property
    def push_log(self) -> Path:
        return self.path.parent / f"{self.path.name}.pushes"

    @property
    def reject_flag(self) -> Path:
        return self.path.parent / f"{self.path.name}.REJECT"

    def pushes(self) -> list[str]:
        return self.push_log.read_text().splitlines() if self.push_log.exists() else []

    def clear_pushes(self) -> None:
        self.push_log.unlink(missing_ok=True)

    def reject(self, on: bool = True) -> None:
        if on:
            self.reject_flag.write_text("")
        else:
            self.reject_flag.unlink(missing_ok=True)

    def head(self, branch: str = "main") -> str:
        return git(self.path, "rev-parse", f"refs/heads/{branch}").strip()

    def has_branch(self, branch: str) -> bool:
        return (
            subprocess.run(
                ["git", "rev-parse", "--verify", "--quiet", f"refs/heads/{branch}"],
                cwd=self.path,
                capture_output=True,
            ).returncode
            == 0
        )

    def show(self, path: str, branch: str = "main") -> str:
        return git(self.path, "show", f"{branch}:{path}")

    def log(self, branch: str = "main") -> list[str]:
        return git(self.path, "log", "--format=%s", branch).splitlines()


def make_remote(root: Path, name: str = "remote.git", *, files: dict[str, str] | None = None) -> Remote:
    """A bare remote on ``main`` with one initial commit (``files``, default a README)."""
    path = root / name
    path.mkdir(parents=True)
    git(path, "init", "--quiet", "--bare", "--initial-branch=main")
    remote = Remote(path)
    hook = path / "hooks" / "pre-receive"
    hook.write_text(HOOK.format(log=remote.push_log, reject=remote.reject_flag))
    hook.chmod(0o755)
    seed = root / f"{name}.seed"
    git(root, "clone", "--quiet", str(path), str(seed))
    for rel, text in (files or {"README.md": "seed\n"}).items():
        (seed / rel).parent.mkdir(parents=True, exist_ok=True)
        (seed / rel).write_text(text)
    git(seed, "add", "-A")
    git(seed, "commit", "--quiet", "-m", "seed")
    git(seed, "push", "--quiet", "origin", "HEAD:refs/heads/main")
    remote.push_log.unlink(missing_ok=True)
    return remote


def human_commit(remote: Remote, root: Path, files: dict[str, str], message: str = "human change") -> str:
    """Commit as a person would, in a separate clone, and push it."""
    work = root / f"human-{abs(hash(message)) % 10**8}"
    if not work.exists():
        git(root, "clone", "--quiet", remote.url, str(work))
    git(work, "pull", "--quiet", "--ff-only")
    for rel, text in files.items():
        (work / rel).parent.mkdir(parents=True, exist_ok=True)
        (work / rel).write_text(text)
    git(work, "add", "-A")
    git(work, "commit", "--quiet", "-m", message)
    git(work, "push", "--quiet", "origin", "HEAD:refs/heads/main")
    return git(work, "rev-parse", "HEAD").strip()


def cloned_stack(
    root: Path, rendered: Path, path: str, *, extra: dict[str, str] | None = None
) -> tuple[Remote, Path]:
    """The stack written at ``rendered`` pushed under ``path`` of a new bare remote (with ``extra``
    files), and cloned: (the remote, the stack's directory in the clone)."""
    files = {f"{path}/{p.relative_to(rendered)}": p.read_text() for p in rendered.rglob("*.yaml")}
    remote = make_remote(root, files={**files, **(extra or {})})
    clone = root / "clone"
    git(root, "clone", "--quiet", remote.url, str(clone))
    return remote, clone / path


def push_forge_branch(
    url: str, token: str, work: Path, branch: str, *, username: str = "x-access-token"
) -> None:
    """Clone ``url`` into ``work`` over HTTPS with ``token`` (the way driftgate's git runner sends it:
    ``username`` and the token as the password), commit one file on a new ``branch`` and push it."""
    from driftgate.gitops.gitcmd import Credential, run_git

    credential = Credential(url=url, token=token, username=username)
    run_git("clone", "-q", url, str(work), cwd=work.parent, credential=credential)
    run_git("checkout", "-qb", branch, cwd=work)
    (work / "change.txt").write_text(branch + "\n")
    run_git("add", "-A", cwd=work)
    run_git("-c", "user.name=t", "-c", "user.email=t@t", "commit", "-qm", branch, cwd=work)
    run_git("push", "-q", "origin", branch, cwd=work, credential=credential)
