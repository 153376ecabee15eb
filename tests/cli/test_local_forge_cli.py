from __future__ import annotations

import signal
import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from driftgate.gitops.gitcmd import BOT, Credential, git_env, run_git


def _ignore_sigint() -> None:
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # as a background job of a non-interactive shell has it


class Running:
    """A ``driftgate local-forge`` process; ``code`` is its exit code once it has stopped."""

    def __init__(self, proc: subprocess.Popen[str]) -> None:
        self.proc = proc
        self.code: int | None = None

    def line(self) -> str:
        assert self.proc.stdout is not None
        return self.proc.stdout.readline()


@contextmanager
def local_forge(root: Path, *args: str) -> Iterator[Running]:
    """Run the command as a background job of a shell would (SIGINT ignored), then stop it with
    Ctrl-C, as a user does."""
    proc = subprocess.Popen(
        [sys.executable, "-m", "driftgate.cli.app", "local-forge", "--root", str(root), *args],
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
        preexec_fn=_ignore_sigint,
    )
    running = Running(proc)
    try:
        yield running
    finally:
        proc.send_signal(signal.SIGINT)
        try:
            running.code = proc.wait(timeout=60)  # generous: a loaded 2-core CI machine is slow to tear down
        finally:
            if proc.poll() is None:
                proc.kill()
                proc.wait()
            if proc.stdout:
                proc.stdout.close()


def test_local_forge_command_serves_git_with_its_token(tmp_path: Path) -> None:
    with local_forge(tmp_path / "lf") as forge:
        first = forge.line()
        assert first.startswith("repository http://127.0.0.1:")
        url = first.split()[1]
        token = (tmp_path / "lf" / "token").read_text().strip()
        assert token not in first
        run_git(
            "clone", "-q", url, str(tmp_path / "c"), cwd=tmp_path, credential=Credential(url=url, token=token)
        )
        assert (tmp_path / "c" / "README.md").exists()
    assert forge.code == 0


def test_git_env_overrides_replace_inherited_values_and_hide_host_config(monkeypatch: object) -> None:
    env = git_env(BOT, {"PATH": "/opt/custom", "GIT_CONFIG_COUNT": "1"})
    assert env["PATH"] == "/opt/custom" and list(env).count("PATH") == 1
    assert env["GIT_CONFIG_GLOBAL"] == "/dev/null" and env["GIT_CONFIG_NOSYSTEM"] == "1"
    assert env["GIT_TERMINAL_PROMPT"] == "0" and env["GIT_AUTHOR_NAME"] == "driftgate"


def test_faults_from_the_command_line_answer_the_next_matching_requests(tmp_path: Path) -> None:
    import httpx

    faults = ("--fault", "GET /rate_limit 503 x2", "--fault", "GET /repos/* 429 retry-after=7")
    with local_forge(tmp_path / "lf", *faults) as forge:
        forge.line()
        api = forge.line().split()[2].rstrip(";")
        token = (tmp_path / "lf" / "token").read_text().strip()
        headers = {"Authorization": f"Bearer {token}"}
        statuses = [httpx.get(f"{api}/rate_limit", headers=headers).status_code for _ in range(3)]
        assert statuses == [503, 503, 200]
        limited = httpx.get(f"{api}/repos/driftgate/infra", headers=headers)
        assert limited.status_code == 429 and limited.headers["Retry-After"] == "7"
        assert httpx.get(f"{api}/repos/driftgate/infra", headers=headers).status_code == 200


def test_a_malformed_fault_is_a_clear_usage_error(tmp_path: Path) -> None:
    done = subprocess.run(
        [
            sys.executable,
            "-m",
            "driftgate.cli.app",
            "local-forge",
            "--root",
            str(tmp_path / "lf"),
            "--fault",
            "POST /repos/*/pulls lots",
        ],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert done.returncode == 1 and "--fault: a fault is METHOD PATH-GLOB STATUS" in done.stderr
    assert "Traceback" not in done.stderr


def test_local_forge_as_gitea_answers_api_v1(tmp_path: Path) -> None:
    import httpx

    with local_forge(tmp_path / "lf", "--kind", "gitea") as forge:
        url = forge.line().split()[1]
        api = forge.line().split()[2].rstrip(";")
        assert api.endswith("/api/v1")
        token = (tmp_path / "lf" / "token").read_text().strip()
        answer = httpx.get(f"{api}/repos/driftgate/infra", headers={"Authorization": f"token {token}"})
        assert answer.status_code == 200 and answer.json()["default_branch"] == "main"
        assert url.endswith("/driftgate/infra.git")
    assert forge.code == 0


def test_local_forge_as_gitlab_answers_api_v4(tmp_path: Path) -> None:
    import httpx

    with local_forge(tmp_path / "lf", "--kind", "gitlab") as forge:
        url = forge.line().split()[1]
        api = forge.line().split()[2].rstrip(";")
        assert api.endswith("/api/v4")
        token = (tmp_path / "lf" / "token").read_text().strip()
        assert token.startswith("glpat-")  # shaped like a GitLab token, so the redactor knows it
        answer = httpx.get(f"{api}/projects/driftgate%2Finfra", headers={"PRIVATE-TOKEN": token})
        assert answer.status_code == 200 and answer.json()["http_url_to_repo"] == url
    assert forge.code == 0


def test_an_unknown_local_forge_kind_is_a_clear_error(tmp_path: Path) -> None:
    done = subprocess.run(
        [
            sys.executable,
            "-m",
            "driftgate.cli.app",
            "local-forge",
            "--root",
            str(tmp_path),
            "--kind",
            "svn",
        ],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert (
        done.returncode != 0 and "--kind: one of github, gitea, forgejo, gitlab" in done.stdout + done.stderr
    )
    assert "Traceback" not in done.stderr
