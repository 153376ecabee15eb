"""Running the ``terraform`` (or ``tofu``) binary for one root module: a clean environment, its own
process group, one interrupt forwarded on Ctrl-C, an init cache, variables kept out of argv.

- The environment is built, not inherited: PATH, HOME and locale, ``TF_IN_AUTOMATION=1``,
  ``CHECKPOINT_DISABLE=1``, ``TF_INPUT=0``, an empty ``TF_CLI_CONFIG_FILE`` unless one is
  configured, and ``TF_VAR_<name>`` for each secret variable (the only place a secret goes).
- Other variables go in a temporary 0600 JSON var file, removed after the call.
- ``init`` runs once per state of the root's files and backend configuration: with only built-in
  providers it writes no lock file, so the cache key is a digest of the files themselves.
- Ctrl-C: Terraform gets exactly one SIGINT (a second makes it abort at once and can lose state)
  and is waited for; the interrupt then goes on up.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import signal
import subprocess
import tempfile
import threading
import zipfile
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from driftgate.errors import DriftgateError, ProviderError, StackLockedError, StalePlanError
from driftgate.providers.terraform.applystream import ApplyStream, parse_apply
from driftgate.providers.terraform.planjson import TerraformPlan, parse_plan
from driftgate.security.redact import redact

INIT_MARK = "driftgate-init.sha256"
KEPT_ENV = ("PATH", "HOME", "LANG", "LC_ALL", "TMPDIR", "SSL_CERT_FILE", "SSL_CERT_DIR")


class TerraformLocked(StackLockedError):
    """Terraform's own state lock is held by someone else (exit 5, like driftgate's stack lock)."""


class Running:
    """Terraform processes under way, so a Ctrl-C can reach them: each gets exactly one SIGINT
    (a second would make Terraform abort at once and can lose state)."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._procs: dict[int, subprocess.Popen[str]] = {}
        self._interrupted: set[int] = set()

    def add(self, proc: subprocess.Popen[str]) -> None:
        with self._lock:
            self._procs[proc.pid] = proc

    def discard(self, proc: subprocess.Popen[str]) -> None:
        with self._lock:
            self._procs.pop(proc.pid, None)

    def interrupt(self) -> None:
        with self._lock:
            procs = [p for pid, p in self._procs.items() if pid not in self._interrupted]
            self._interrupted.update(p.pid for p in procs)
        for proc in procs:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(proc.pid, signal.SIGINT)


@dataclass
class Terraform:
    binary: str
    root: Path
    work: Path  # where plan files and var files live (0700, under driftgate's data directory)
    workspace: str = "default"
    cli_config: str | None = None
    secret_vars: Mapping[str, str] = field(default_factory=dict)
    vars: Mapping[str, Any] = field(default_factory=dict)
    running: Running = field(default_factory=Running)

    def env(self) -> dict[str, str]:
        found = {k: os.environ[k] for k in KEPT_ENV if k in os.environ}
        found.update(
            TF_IN_AUTOMATION="1",
            CHECKPOINT_DISABLE="1",
            TF_INPUT="0",
            TF_CLI_CONFIG_FILE=self.cli_config or "",
        )
        if self.workspace != "default":
            found["TF_WORKSPACE"] = self.workspace
        found.update({f"TF_VAR_{name}": value for name, value in self.secret_vars.items()})
        return found

    # -- processes ------------------------------------------------------------------------------

    def run(
        self, *args: str, on_line: Callable[[str], None] | None = None, check: bool = True
    ) -> tuple[int, str, str]:
        """``terraform <args>`` in the root, in its own process group: (exit code, stdout, stderr).
        stdout is read line by line as it comes (``on_line``); stderr goes to a file meanwhile."""
        with tempfile.TemporaryFile("w+") as errors:
            try:
                proc = subprocess.Popen(  # noqa: S603
                    [self.binary, *args],
                    cwd=self.root,
                    env=self.env(),
                    stdin=subprocess.DEVNULL,
                    stdout=subprocess.PIPE,
                    stderr=errors,
                    text=True,
                    start_new_session=True,
                )
            except OSError as exc:
                raise ProviderError(f"cannot run {self.binary!r}: {exc.strerror}") from None
            out: list[str] = []
            self.running.add(proc)
            with proc:
                try:
                    for line in proc.stdout or ():
                        out.append(line)
                        if on_line is not None:
                            on_line(line)
                    code = proc.wait()
                except KeyboardInterrupt:
                    interrupt(proc)
                    raise
                finally:
                    self.running.discard(proc)
            errors.seek(0)
            err = errors.read()
        if check and code not in (0, 2):
            raise self.failure(args[0], "".join(out), err)
        return code, "".join(out), err

    def failure(self, command: str, out: str, err: str) -> DriftgateError:
        """Terraform's error, one line and redacted; a held state lock and a stale plan by name."""
        text = " ".join((err or out).split())
        messages = _diagnostics(out)
        if messages:
            text = " ".join(messages)
        if "Error acquiring the state lock" in text or "state lock" in text.lower() and "ID:" in text:
            return TerraformLocked(
                redact(f"terraform {command}: Terraform's state lock is held: {_lock_info(err or out)}")
            )
        if "Saved plan is stale" in text:
            return StalePlanError(
                redact(
                    f"terraform {command}: the Terraform plan is stale (the state changed since); plan again"
                )
            )
        return ProviderError(redact(f"terraform {command} failed in {self.root.name}: {text[:2000]}"))

    # -- commands -------------------------------------------------------------------------------

    def init(self) -> bool:
        """``terraform init``, unless it already ran for these files; True when it ran."""
        key = self.init_key()
        mark = self.root / ".terraform" / INIT_MARK
        if mark.is_file() and mark.read_text().strip() == key:
            return False
        self.run("init", "-input=false", "-no-color")
        mark.parent.mkdir(parents=True, exist_ok=True)
        mark.write_text(key + "\n")
        return True

    def init_key(self) -> str:
        """A digest of what init depends on: the root's configuration and lock files."""
        digest = hashlib.sha256(self.binary.encode())
        for path in sorted(self.root.iterdir()):
            if path.is_file() and (
                path.suffix in (".tf", ".hcl", ".tfbackend") or path.name.endswith(".tf.json")
            ):
                digest.update(path.name.encode() + b"\0" + path.read_bytes() + b"\0")
        return digest.hexdigest()

    def plan(self, planfile: Path, *, refresh_only: bool = False) -> TerraformPlan:
        """A saved plan (``-detailed-exitcode``) and its JSON, parsed and masked."""
        self.init()
        planfile.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
        mode = ["-refresh-only"] if refresh_only else []
        with self.var_file() as var_args:
            self.run(
                "plan",
                "-input=false",
                "-no-color",
                "-detailed-exitcode",
                f"-out={planfile}",
                *mode,
                *var_args,
            )
        planfile.chmod(0o600)
        return self.show_plan(planfile)

    def show_plan(self, planfile: Path) -> TerraformPlan:
        _, out, _ = self.run("show", "-json", "-no-color", str(planfile))
        try:
            document = json.loads(out)
        except ValueError:
            raise ProviderError(f"terraform show -json {planfile.name}: not JSON") from None
        return parse_plan(document, source=f"terraform root {self.root.name}")

    def apply(
        self, planfile: Path, planned: Mapping[str, str], *, on_line: Callable[[str], None] | None = None
    ) -> ApplyStream:
        """``terraform apply -json PLANFILE``: one outcome per planned address. A stale plan raises."""
        lines: list[str] = []

        def seen(line: str) -> None:
            lines.append(line)
            if on_line is not None:
                on_line(line)

        code, out, err = self.run("apply", "-json", "-input=false", str(planfile), on_line=seen, check=False)
        text = " ".join(_diagnostics(out)) + " " + err
        if code != 0 and ("Saved plan is stale" in text or "state lock" in text.lower()):
            raise self.failure("apply", out, err)
        return parse_apply(lines, planned)

    def planned_on(self, planfile: Path) -> tuple[str, int]:
        """(lineage, serial) of the state a saved plan was made against (its ``tfstate`` member)."""
        try:
            with zipfile.ZipFile(planfile) as archive:
                state = json.loads(archive.read("tfstate"))
            return str(state.get("lineage") or ""), int(state.get("serial") or 0)
        except (OSError, KeyError, ValueError, zipfile.BadZipFile):
            raise StalePlanError(f"{planfile.name}: not a readable Terraform plan file; plan again") from None

    def check_fresh(self, planfile: Path) -> None:
        """Raise StalePlanError when the state moved since the plan (an apply by hand, say), as
        ``terraform apply`` would, before anything is applied."""
        lineage, serial = self.planned_on(planfile)
        current = json.loads(self.state_pull() or b"{}")
        now_lineage, now_serial = str(current.get("lineage") or ""), int(current.get("serial") or 0)
        if (lineage and (lineage, serial) != (now_lineage, now_serial)) or (not lineage and now_serial > 0):
            raise StalePlanError(
                f"terraform root {self.root.name}: its state changed since the plan (serial {serial} -> "
                f"{now_serial}): Terraform was applied outside this plan; plan again"
            )

    def run_command(self, argv: Sequence[str]) -> bytes:
        """A root's own command (its ``backup_command``), in the root, with Terraform's environment:
        its stdout; a failure is a one-line error."""
        try:
            done = subprocess.run(  # noqa: S603
                list(argv), cwd=self.root, env=self.env(), capture_output=True, check=False, timeout=3600
            )
        except (OSError, subprocess.TimeoutExpired) as exc:
            raise ProviderError(redact(f"backup_command {argv[0]!r} in {self.root.name}: {exc}")) from None
        if done.returncode != 0:
            why = " ".join(done.stderr.decode(errors="replace").split())[:500]
            raise ProviderError(redact(f"backup_command {argv[0]!r} exited {done.returncode}: {why}"))
        return done.stdout

    def state_pull(self) -> bytes:
        self.init()
        _, out, _ = self.run("state", "pull")
        return out.encode()

    def show_state(self) -> dict[str, Any]:
        self.init()
        _, out, _ = self.run("show", "-json", "-no-color")
        try:
            found = json.loads(out)
        except ValueError:
            raise ProviderError(f"terraform show -json in {self.root.name}: not JSON") from None
        return found if isinstance(found, dict) else {}

    @contextmanager
    def var_file(self) -> Iterator[list[str]]:
        """The non-secret variables in a 0600 JSON file for the call's length (never in argv)."""
        if not self.vars:
            yield []
            return
        self.work.mkdir(parents=True, exist_ok=True, mode=0o700)
        fd, name = tempfile.mkstemp(prefix="vars-", suffix=".tfvars.json", dir=self.work)
        try:
            with os.fdopen(fd, "w") as handle:
                json.dump(dict(self.vars), handle)
            yield [f"-var-file={name}"]
        finally:
            Path(name).unlink(missing_ok=True)


def interrupt(proc: subprocess.Popen[str]) -> None:
    """One SIGINT to Terraform's process group, then wait for it to finish what it was doing."""
    try:
        os.killpg(proc.pid, signal.SIGINT)
    except ProcessLookupError:
        return
    while True:
        try:
            proc.wait()
            return
        except KeyboardInterrupt:
            continue  # a second Ctrl-C is not passed on: Terraform would abort and could lose state


def _diagnostics(out: str) -> list[str]:
    """Error diagnostics of a -json stream (empty when the output is not JSON)."""
    found = []
    for line in out.splitlines():
        try:
            message = json.loads(line)
        except ValueError:
            continue
        if isinstance(message, dict) and message.get("type") == "diagnostic":
            diagnostic = message.get("diagnostic") or {}
            if diagnostic.get("severity") == "error":
                detail = " ".join(str(diagnostic.get("detail") or "").split())
                found.append(f"{diagnostic.get('summary')}: {detail}".rstrip(": "))
    return found


def _lock_info(text: str) -> str:
    fields = {}
    for line in text.splitlines():
        key, _, value = line.strip().partition(":")
        if key in ("ID", "Who", "Operation", "Created") and value.strip():
            fields[key] = value.strip()
    return ", ".join(f"{k} {v}" for k, v in fields.items()) or "(no lock details)"
