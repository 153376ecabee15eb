"""The only place that starts git: argv lists, no shell, a timeout, a clean environment.

The environment keeps an allow-list of inherited variables, sets a bot
identity from settings, and hides the host's global and system git config.
Errors carry the command, exit code and output, redacted.
"""

from __future__ import annotations

import base64
import os
import re
import signal
import subprocess
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

from driftgate.errors import TransientError
from driftgate.security.redact import redact, register_secret

_INHERITED = ("PATH", "LANG", "LC_ALL", "TMPDIR", "SYSTEMROOT", "TZ")
DEFAULT_TIMEOUT = 120.0
NETWORK_TIMEOUT = 60.0  # fetch and push: a remote that does not answer (DRIFTGATE_GIT_TIMEOUT)


@dataclass(frozen=True)
class Identity:
    name: str = "driftgate"
    email: str = "driftgate@localhost"


BOT = Identity()


@dataclass(frozen=True)
class GitResult:
    args: tuple[str, ...]
    returncode: int
    stdout: str
    stderr: str


class GitError(TransientError):
    """A git command failed; the message is redacted."""

    def __init__(self, args: Sequence[str], returncode: int, output: str) -> None:
        self.returncode = returncode
        text = f"git {' '.join(args)} exited {returncode}: {output.strip()}"
        super().__init__(redact(text))


class GitTimeout(GitError):
    """git did not finish in time; its whole process group was killed."""

    def __init__(self, args: Sequence[str], timeout: float) -> None:
        self.timeout = timeout
        super().__init__(args, -1, f"remote did not answer in {timeout:g} s (timed out; stopped)")


@dataclass(frozen=True)
class Credential:
    """A token for one remote. It reaches git only through the process environment."""

    url: str
    token: str
    username: str = "x-access-token"

    def env(self) -> dict[str, str]:
        """``http.<url>.extraHeader`` via GIT_CONFIG_*: never in argv, a URL, or .git/config."""
        basic = base64.b64encode(f"{self.username}:{self.token}".encode()).decode()
        register_secret(self.token)
        register_secret(basic)
        return {
            "GIT_CONFIG_COUNT": "1",
            "GIT_CONFIG_KEY_0": f"http.{self.url}.extraHeader",
            "GIT_CONFIG_VALUE_0": f"Authorization: Basic {basic}",
        }


def git_env(identity: Identity, extra: Mapping[str, str] | None = None) -> dict[str, str]:
    env = {k: v for k in _INHERITED if (v := os.environ.get(k)) is not None}
    env.update(
        {
            "GIT_TERMINAL_PROMPT": "0",
            "GIT_CONFIG_NOSYSTEM": "1",
            "GIT_CONFIG_GLOBAL": os.devnull,
            "HOME": os.devnull,
            "GIT_AUTHOR_NAME": identity.name,
            "GIT_AUTHOR_EMAIL": identity.email,
            "GIT_COMMITTER_NAME": identity.name,
            "GIT_COMMITTER_EMAIL": identity.email,
        }
    )
    env.update(extra or {})  # an override replaces an inherited variable of the same name
    return env


def run_git(
    *args: str,
    cwd: Path,
    identity: Identity = BOT,
    env: Mapping[str, str] | None = None,
    credential: Credential | None = None,
    timeout: float = DEFAULT_TIMEOUT,
    check: bool = True,
) -> GitResult:
    _refuse_force(args)
    argv = ("git", *args)
    extra = {**(env or {}), **(credential.env() if credential else {})}
    try:
        returncode, stdout, stderr = _run(argv, cwd=cwd, env=git_env(identity, extra), timeout=timeout)
    except subprocess.TimeoutExpired:
        raise GitTimeout(args, timeout) from None
    except OSError as exc:
        raise GitError(args, -1, str(exc)) from None
    result = GitResult(tuple(args), returncode, stdout, stderr)
    if check and returncode != 0:
        raise GitError(args, returncode, stderr or stdout)
    return result


def _run(argv: Sequence[str], *, cwd: Path, env: Mapping[str, str], timeout: float) -> tuple[int, str, str]:
    """Run git in a process group of its own, and kill the whole group on timeout: the helpers it
    started (receive-pack, hooks, remote helpers) must not outlive it."""
    with subprocess.Popen(
        argv,
        cwd=cwd,
        env=dict(env),
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        start_new_session=True,
    ) as proc:
        try:
            stdout, stderr = proc.communicate(timeout=timeout)
        except subprocess.TimeoutExpired:
            _kill_group(proc)
            raise
        return proc.returncode, stdout, stderr


def _kill_group(proc: subprocess.Popen[str]) -> None:
    try:
        os.killpg(proc.pid, signal.SIGKILL)
    except (ProcessLookupError, PermissionError):
        proc.kill()
    proc.communicate()


_FORCE_FLAGS = ("-f", "--force", "--mirror", "--delete", "-d")


def _refuse_force(args: Sequence[str]) -> None:
    """No code path may force-push: forced flags and ``+`` refspecs are refused before git runs."""
    if not args or args[0] != "push":
        return
    for arg in args[1:]:
        if arg in _FORCE_FLAGS or arg.startswith(("--force", "+")):
            raise ValueError(f"driftgate never force-pushes (refused git push argument {arg!r})")


_BAD_REF = re.compile(r"[\x00-\x20\x7f~^:?*\[\\]|\.\.|@\{|//")


def check_branch_name(name: str) -> str | None:
    """Why ``name`` is not a branch name git would accept as a plain ref (``check-ref-format``), or None.

    Names that look like options (``--upload-pack=...``) are refused too: a branch
    name must never be read by git as a flag.
    """
    if not name or name == "@" or len(name) > 200:
        return "must be 1 to 200 characters"
    if name.startswith(("-", "/")) or name.endswith(("/", ".", ".lock")):
        return "must not start with '-' or '/' or end with '/', '.' or '.lock'"
    if _BAD_REF.search(name) or any(part.startswith(".") for part in name.split("/")):
        return "holds a character or sequence git refuses in ref names"
    return None


def init_repo(path: Path, *, branch: str = "main", bare: bool = False) -> None:
    path.mkdir(parents=True, exist_ok=True)
    run_git("init", "-q", f"--initial-branch={branch}", *(["--bare"] if bare else []), cwd=path)


def add_remote(repo: Path, name: str, url: str) -> None:
    run_git("remote", "add", name, url, cwd=repo)


def commit_all(repo: Path, message: str, *, identity: Identity = BOT) -> bool:
    """Stage everything and commit; return False (and commit nothing) when nothing changed."""
    run_git("add", "-A", cwd=repo, identity=identity)
    if run_git("diff", "--cached", "--quiet", cwd=repo, check=False).returncode == 0:
        return False
    run_git("commit", "-q", "-m", message, cwd=repo, identity=identity)
    return True


def push(repo: Path, remote: str, branch: str) -> None:
    """A plain fast-forward push: never --force."""
    run_git("push", "-q", remote, f"HEAD:refs/heads/{branch}", cwd=repo)


def head_rev(repo: Path, ref: str = "HEAD") -> str:
    return run_git("rev-parse", ref, cwd=repo).stdout.strip()


RUN_TRAILER = "Driftgate-Run"


def is_driftgate_commit(message: str) -> bool:
    """A commit-back commit carries the ``Driftgate-Run:`` trailer."""
    return any(line.startswith(f"{RUN_TRAILER}: ") for line in message.splitlines())


def commit_message(repo: Path, rev: str = "HEAD") -> str:
    return run_git("log", "-1", "--format=%B", rev, cwd=repo).stdout


def toplevel(path: Path) -> Path | None:
    """The git working tree holding ``path``, if any."""
    found = run_git("rev-parse", "--show-toplevel", cwd=path, check=False)
    return Path(found.stdout.strip()) if found.returncode == 0 else None


def remote_url(repo: Path, remote: str = "origin") -> str | None:
    found = run_git("remote", "get-url", remote, cwd=repo, check=False)
    return found.stdout.strip() or None if found.returncode == 0 else None


def current_branch(repo: Path) -> str | None:
    found = run_git("symbolic-ref", "--quiet", "--short", "HEAD", cwd=repo, check=False)
    return found.stdout.strip() or None if found.returncode == 0 else None
