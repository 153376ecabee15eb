"""`driftgate quickstart` end to end, as a user runs it (a real process)."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest


def driftgate_exe() -> str:
    """The console script installed next to this interpreter (pip install -e .)."""
    beside = Path(sys.executable).parent / "driftgate"
    found = str(beside) if beside.exists() else shutil.which("driftgate")
    assert found, "the driftgate console script must be installed (pip install -e .)"
    return found


@pytest.mark.slow
def test_quickstart_runs_the_main_job_end_to_end(tmp_path: Path) -> None:
    exe = driftgate_exe()
    workdir = tmp_path / "qs"
    proc = subprocess.run(
        [exe, "quickstart", str(workdir)],
        capture_output=True,
        text=True,
        timeout=120,
        env={**os.environ, "COLUMNS": "200"},
        check=False,
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr
    out = proc.stdout
    for step in (
        "1. Created a config repo",
        "2. Validated the specs",
        "4. Applied it as run",
        "5. Changed the greeting",
        "7. Applied it as run",
        "live state is in sync with git (exit code 0)",
        "16. AWS: the driftgate-provider-aws plugin",  # the test venv has moto
        "17. Terraform: the terraform provider",  # CI's machine has terraform
        "net/terraform.root.network[terraform_data.subnet] SUCCESS",  # brackets are not markup
    ):
        assert step in out, f"missing {step!r}"
    assert (workdir / "infra/live/site/index.html").read_text() == "<h1>hello from a hotfix</h1>\n"
    remote_log = subprocess.run(
        ["git", "--git-dir", str(workdir / "remote.git"), "log", "--format=%s", "main"],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    assert "Change the greeting" in remote_log
    assert (workdir / "home/driftgate.db").exists()
    token = re.search(r"log in with this admin token \(shown once\): (dgt_\S+)", out)
    assert token is not None and "http://127.0.0.1:8080/ui/" in out
    from driftgate.services.tokens import authenticate
    from tests.conftest import open_workspace

    ws = open_workspace(workdir / "home")
    try:
        who = authenticate(ws, token.group(1))
        assert who is not None and who.role == "admin"  # the printed token logs in
    finally:
        ws.close()


def test_quickstart_refuses_a_non_empty_directory(tmp_path: Path) -> None:
    (tmp_path / "file").write_text("x")
    exe = driftgate_exe()
    proc = subprocess.run(
        [exe, "quickstart", str(tmp_path)], capture_output=True, text=True, timeout=60, check=False
    )
    assert proc.returncode == 1 and "not empty" in proc.stderr


@pytest.mark.slow
def test_the_quickstart_script_takes_a_relative_dir_and_prints_a_command_that_works(tmp_path: Path) -> None:
    """Issue 9: ``./scripts/quickstart qs`` from any folder; the closing hint runs as printed."""
    script = Path(__file__).resolve().parents[2] / "scripts" / "quickstart"
    env = {k: v for k, v in os.environ.items() if k != "DRIFTGATE_HOME"}
    env["PATH"] = "/usr/bin:/bin"  # a user's shell where the venv is not active
    proc = subprocess.run(
        [str(script), "qs"], cwd=tmp_path, capture_output=True, text=True, timeout=300, env=env, check=False
    )
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    assert (tmp_path / "qs" / "infra" / "stack.yaml").is_file()
    hint = proc.stdout.rsplit("Explore: ", 1)[1].split(" (or:")[0]
    assert hint.split("&& ")[1].startswith("/"), hint  # not a bare `driftgate` that is not on PATH
    shown = subprocess.run(hint, shell=True, capture_output=True, text=True, env=env, check=False)
    assert shown.returncode == 0 and "apply" in shown.stdout, shown.stdout + shown.stderr
    # Issue 23, item 11: every command the hint names works as printed (plan exited 8: the stack was
    # still bound to the quickstart's forge, gone by then); and the output is the quickstart's own
    for verb in ("state list", "plan", "drift"):
        done = subprocess.run(
            hint.replace(" runs list", " " + verb),
            shell=True,
            capture_output=True,
            text=True,
            env=env,
            check=False,
        )
        assert done.returncode in (0, 2), f"{verb}: {done.stdout}{done.stderr}"
    assert "Warning" not in proc.stdout + proc.stderr and "[info" not in proc.stdout + proc.stderr
