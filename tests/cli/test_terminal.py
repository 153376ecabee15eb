"""The CLI at a terminal, as a person meets it: under a pseudo-terminal (pexpect), answering the
prompts, watching the progress bar, pressing Ctrl-C — and the terminal left sane afterwards (the
cursor shown again, no escape sequence left open)."""

from __future__ import annotations

import os
import re
import signal
import time
from pathlib import Path
from typing import Any

import pexpect
import pytest

from driftgate.cli import exitcodes as codes
from driftgate.testing.cli import DRIFTGATE
from driftgate.testing.stacks import write_stack

HIDE, SHOW = "\x1b[?25l", "\x1b[?25h"
CHAOS = "driftgate.testing.chaos:ChaosProvider"


def spawn(home: Path, *args: str, **env: str) -> Any:
    """``driftgate ARGS`` on a 120x40 terminal, SIGINT as a terminal gives it (a suite run in the
    background inherits it ignored)."""
    environ = {**os.environ, "DRIFTGATE_HOME": str(home), "TERM": "xterm-256color", **env}
    environ.pop("NO_COLOR", None)
    return pexpect.spawn(
        DRIFTGATE,
        list(args),
        env=environ,
        encoding="utf-8",
        timeout=60,
        dimensions=(40, 120),
        preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL),
    )


def finish(child: Any) -> tuple[int, str]:
    """Wait for the end; (exit code, everything it printed after the last expect)."""
    child.expect(pexpect.EOF)
    child.close()
    return child.exitstatus, child.before


def assert_sane(text: str) -> None:
    """The cursor is shown again after every time it was hidden, nothing ends mid-sequence, and no
    Python traceback reached the screen."""
    assert text.rfind(HIDE) <= text.rfind(SHOW), "the cursor was left hidden"
    assert not re.search(r"\x1b\[[0-9;?]*$", text), "an escape sequence was left open"
    assert "Traceback" not in text and "internal error" not in text


def chaos_stack(tmp_path: Path, count: int, **config: Any) -> Path:
    resources = [
        {"type": "chaos.file", "name": f"f{i}", "spec": {"path": f"f{i}.txt", "content": str(i)}}
        for i in range(count)
    ]
    return write_stack(
        tmp_path / "chaos", modules={"app": resources}, providers={"chaos": {"root": "live", **config}}
    )


def test_init_plan_and_apply_answering_yes(tmp_path: Path) -> None:
    """Issue 23, item 1: apply crashed on every terminal (the progress bar's console)."""
    home, infra = tmp_path / "home", tmp_path / "infra"
    code, out = finish(spawn(home, "init", str(infra)))
    assert code == 0 and "Traceback" not in out
    child = spawn(home, "plan", "-s", str(infra))
    code, out = finish(child)
    assert code == codes.CHANGES and "Plan: 4 to add" in out
    child = spawn(home, "apply", "-s", str(infra))
    child.expect("Apply these changes\\? Only 'yes' is accepted")
    seen = child.before + child.after
    child.sendline("yes")
    code, out = finish(child)
    assert code == codes.OK, out
    assert "Apply complete." in out and "4 SUCCESS" in out
    assert_sane(seen + out)
    assert (infra / "live" / "config" / "settings.env").exists()


def test_apply_answering_no_applies_nothing(tmp_path: Path) -> None:
    home, infra = tmp_path / "home", tmp_path / "infra"
    assert finish(spawn(home, "init", str(infra)))[0] == 0
    child = spawn(home, "apply", "-s", str(infra))
    child.expect("Only 'yes' is accepted")
    child.sendline("no")
    code, out = finish(child)
    assert code == codes.ERROR and "Apply cancelled." in out
    assert_sane(out)
    assert not (infra / "live").exists()


def test_auto_approve_shows_progress_then_the_summary(tmp_path: Path) -> None:
    stack = chaos_stack(tmp_path, 4, delay=0.3)
    child = spawn(
        tmp_path / "home", "apply", "-s", str(stack), "--auto-approve", DRIFTGATE_PROVIDER_PLUGINS=CHAOS
    )
    child.expect(r"applying.*\d/4")
    seen = child.before + child.after
    code, out = finish(child)
    assert code == codes.OK, out
    assert "Apply complete." in out and "4 SUCCESS" in out
    assert_sane(seen + out)


def test_a_failed_apply_shows_what_did_not_succeed(tmp_path: Path) -> None:
    stack = chaos_stack(tmp_path, 3, fail_on=["f1"])
    child = spawn(
        tmp_path / "home", "apply", "-s", str(stack), "--auto-approve", DRIFTGATE_PROVIDER_PLUGINS=CHAOS
    )
    code, out = finish(child)
    assert code == codes.PARTIAL, out
    assert "actions that did not succeed" in out and "app/chaos.file.f1" in out
    assert "Apply incomplete." in out
    assert_sane(out)


def test_ctrl_c_during_an_apply_exits_130_and_says_so_once(tmp_path: Path) -> None:
    """Issue 23, item 2: Ctrl-C exited 3 (partial) instead of 130."""
    stack = chaos_stack(tmp_path, 6, delay=1.0)
    child = spawn(
        tmp_path / "home",
        "apply",
        "-s",
        str(stack),
        "--auto-approve",
        DRIFTGATE_PROVIDER_PLUGINS=CHAOS,
        DRIFTGATE_PARALLELISM="1",
    )
    child.expect("applying")
    time.sleep(1.2)
    child.sendintr()
    code, out = finish(child)
    assert code == codes.INTERRUPTED, out
    assert out.count("interrupted (Ctrl-C)") == 1, out
    assert "not attempted: run interrupted" in out
    assert_sane(out)


def test_drift_and_backup_restore_at_a_terminal(tmp_path: Path) -> None:
    home = tmp_path / "home"
    stack = write_stack(
        tmp_path / "stack",
        modules={
            "db": [{"type": "file.file", "name": "rows", "spec": {"path": "rows.txt", "content": "v1"}}]
        },
        stateful=["db"],
    )
    gate = ["--module", "db", "--allow-stateful", "--confirm", "db"]
    assert finish(spawn(home, "apply", "-s", str(stack), "--auto-approve", *gate))[0] == 0
    child = spawn(home, "backup", "create", "db", "-s", str(stack), "--json")
    code, out = finish(child)
    ref = re.search(r'"ref": "([^"]+)"', out)
    assert code == 0 and ref is not None, out
    (stack / "live" / "rows.txt").write_text("edited by hand")
    code, out = finish(spawn(home, "drift", "-s", str(stack)))
    assert code == codes.CHANGES and "db/file.file.rows" in out
    assert_sane(out)
    child = spawn(home, "backup", "restore", ref.group(1), "-s", str(stack))
    child.expect("Only 'yes' is accepted")
    child.sendline("no")
    code, out = finish(child)
    assert code == 1 and "Restore cancelled." in out
    assert (stack / "live" / "rows.txt").read_text() == "edited by hand"
    child = spawn(home, "backup", "restore", ref.group(1), "-s", str(stack))
    child.expect("Only 'yes' is accepted")
    child.sendline("yes")
    code, out = finish(child)
    assert code == 0 and "Restored 1 resource(s)" in out, out
    assert_sane(out)
    assert (stack / "live" / "rows.txt").read_text() == "v1"


@pytest.mark.parametrize("answer", ["yes", "no"])
def test_piped_apply_without_a_terminal_never_prompts(tmp_path: Path, answer: str) -> None:
    """Without a terminal there is no one to ask: refused unless --auto-approve (a CI log)."""
    import subprocess

    infra = tmp_path / "infra"
    env = {**os.environ, "DRIFTGATE_HOME": str(tmp_path / "home")}
    subprocess.run([DRIFTGATE, "init", str(infra)], env=env, check=True, capture_output=True)
    done = subprocess.run(
        [DRIFTGATE, "apply", "-s", str(infra)], env=env, input=answer + "\n", capture_output=True, text=True
    )
    assert done.returncode == codes.ERROR and "no terminal to ask" in done.stderr
    assert "\x1b[" not in done.stdout + done.stderr  # plain text for a log


def test_piped_drift_and_failed_apply_are_plain_lines_with_whole_addresses(tmp_path: Path) -> None:
    """Issue 23, item 3: piped, drift and a failed apply printed box tables wrapped at 80 columns that
    split addresses mid-word; a CI log gets one line per item instead."""
    import subprocess

    long = "a-resource-name-long-enough-that-an-eighty-column-table-would-have-to-split-it"
    resources = [
        {"type": "chaos.file", "name": long, "spec": {"path": "long.txt", "content": "1"}},
        {"type": "chaos.file", "name": "bad", "spec": {"path": "bad.txt", "content": "2"}},
    ]
    stack = write_stack(
        tmp_path / "stack",
        modules={"app": resources},
        providers={"chaos": {"root": "live", "fail_on": ["bad"]}},
    )
    env = {**os.environ, "DRIFTGATE_HOME": str(tmp_path / "home"), "DRIFTGATE_PROVIDER_PLUGINS": CHAOS}
    env.pop("FORCE_COLOR", None)
    done = subprocess.run(
        [DRIFTGATE, "apply", "-s", str(stack), "--auto-approve"], env=env, capture_output=True, text=True
    )
    assert done.returncode == codes.PARTIAL
    assert "┃" not in done.stdout and "\x1b[" not in done.stdout
    failed = done.stdout.split("actions that did not succeed:\n", 1)[1].splitlines()
    assert failed[0].startswith("  #1 app/chaos.file.bad create ERROR: ")
    (stack / "live" / "long.txt").write_text("edited by hand")
    done = subprocess.run([DRIFTGATE, "drift", "-s", str(stack)], env=env, capture_output=True, text=True)
    assert done.returncode == codes.CHANGES, done.stdout + done.stderr
    assert "│" not in done.stdout and "\x1b[" not in done.stdout
    assert f"  app/chaos.file.{long}: changed" in done.stdout.splitlines()
    assert any(x.strip().startswith("content:") for x in done.stdout.splitlines())
