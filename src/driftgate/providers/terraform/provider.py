"""The ``terraform`` provider: ``terraform.root``, a Terraform (or OpenTofu) root module directory in
the config repo, planned and applied by the real binary, each of its resource changes a driftgate
action of its own.

- **Plan**: ``init`` (cached), ``plan -out``, ``show -json``: every ``resource_changes[]`` entry is a
  child action ``<module>/terraform.root.<name>[<terraform address>]``. The Terraform plan file is
  kept (0600, in the provider's data directory, never in git), named by a token the driftgate plan
  carries, so an apply applies exactly what was reviewed.
- **Apply** (whole-plan mode): ``apply -json PLANFILE``, one outcome per child from the stream; the
  root itself succeeds only when every child did, and records Terraform's outputs
  (``${terraform.root.<name>.output.<output>}``; sensitive ones as ``(sensitive)``) and the state's
  serial and lineage. A stale Terraform plan is driftgate's stale plan (exit 6).
- **Gate**: a child that deletes or replaces an address listed in ``data_bearing`` is a stateful
  change: its module is held back by the auto lane and needs a backup in the manual lane.
- **Variables**: secret ones (resolved from ``secret://``) only as ``TF_VAR_<name>``; the others in
  a 0600 JSON var file; none in argv.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import re
import shlex
import shutil
import tempfile
import time
import uuid
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from packaging.specifiers import InvalidSpecifier, SpecifierSet

from driftgate.errors import ProviderConfigError, ProviderError, StalePlanError
from driftgate.plan.model import SENSITIVE, AttributeChange
from driftgate.providers.base import (
    CAP_BACKUP,
    CAP_READ,
    EXPANSION_TOKEN,
    WHOLE_PLAN,
    BaseProvider,
    Change,
    ChangeResult,
    Child,
    ChildDrift,
    Expansion,
    Observed,
    PlanResult,
    ProviderContext,
)
from driftgate.providers.terraform.runner import Running, Terraform
from driftgate.security.redact import redact, scrub_values
from driftgate.spec.schema import AttributeSchema, KindSchema

ROOT = "terraform.root"
FIELDS = frozenset({"binary", "cli_config", "version"})
KIND = KindSchema(
    type=ROOT,
    description="A Terraform or OpenTofu root module directory; each of its resource changes is an action.",
    attributes={
        "dir": AttributeSchema(required=True, description="The root's directory, relative to the stack."),
        "binary": AttributeSchema(description="terraform or tofu (default: the provider's binary)."),
        "workspace": AttributeSchema(default="default"),
        "vars": AttributeSchema(type="map", default={}, description="Secret references go in TF_VAR_*."),
        "data_bearing": AttributeSchema(
            type="list", default=[], description="Terraform addresses that hold data."
        ),
        "backup_command": AttributeSchema(
            type="list",
            default=[],
            description="argv run in the root for `backup create`: its stdout is the data's backup "
            "(a database dump, say), kept with the state in the same artifact",
        ),
    },
    outputs=("serial", "lineage"),
    output_prefixes=("output.",),
    expands=True,
)


class TerraformProvider(BaseProvider):
    name = "terraform"
    capabilities = frozenset({CAP_READ, CAP_BACKUP})
    apply_modes = (WHOLE_PLAN,)
    KINDS = (KIND,)

    def __init__(self) -> None:
        self.binary = "terraform"
        self.cli_config: str | None = None
        self.stack_dir = Path(".")
        self.data_dir: Path | None = None
        self.running = Running()  # Terraform processes under way: stop() interrupts them once
        self.version: SpecifierSet | None = None  # the binary must satisfy it (checked once)
        self._checked: set[str] = set()

    def configure(self, config: Mapping[str, Any], ctx: ProviderContext) -> None:
        unknown = sorted(set(config) - FIELDS)
        if unknown:
            raise ProviderConfigError(f"terraform provider: unknown field(s) {', '.join(unknown)}")
        self.binary = str(config.get("binary") or "terraform")
        self.cli_config = str(config["cli_config"]) if config.get("cli_config") else None
        self.stack_dir = ctx.stack_dir
        self.data_dir = ctx.data_dir
        raw = config.get("version")
        try:
            self.version = SpecifierSet(str(raw)) if raw else None
        except InvalidSpecifier:
            raise ProviderConfigError(f"terraform provider: version {raw!r} is not a constraint") from None

    # -- one root ---------------------------------------------------------------------------------

    def _root_dir(self, attributes: Mapping[str, Any]) -> Path:
        relative = str(attributes.get("dir") or "")
        stack = self.stack_dir.resolve()
        found = (stack / relative).resolve()
        if not relative or Path(relative).is_absolute() or not found.is_relative_to(stack):
            raise ProviderError(f"terraform.root dir {relative!r}: must be a directory inside the stack")
        if not found.is_dir():
            raise ProviderError(f"terraform.root dir {relative!r}: no such directory")
        return found

    def _work(self, root: Path) -> Path:
        """This root's own directory for kept plans and scratch files (by its path: every command
        on a root, whatever asks, finds the same one)."""
        base = self.data_dir or Path(tempfile.gettempdir()) / "driftgate-terraform"
        slug = hashlib.sha256(str(root).encode()).hexdigest()[:16]
        found = base / "terraform" / slug
        found.mkdir(parents=True, exist_ok=True, mode=0o700)
        return found

    def _check_version(self, runner: Terraform) -> None:
        """The binary's version against the provider's ``version`` constraint, once per binary."""
        if self.version is None or runner.binary in self._checked:
            return
        _, out, _ = runner.run("version", "-json")
        try:
            found = str(json.loads(out)["terraform_version"])
        except (ValueError, KeyError, TypeError):
            raise ProviderError(f"{runner.binary} version -json: not the answer Terraform gives") from None
        if not self.version.contains(found, prereleases=True):
            raise ProviderConfigError(
                f"terraform provider: {Path(runner.binary).name} {found} is not version {self.version}"
            )
        self._checked.add(runner.binary)

    def _runner(self, address: str, attributes: Mapping[str, Any]) -> Terraform:
        variables = attributes.get("vars") or {}
        if not isinstance(variables, Mapping):
            raise ProviderError(f"{address}: vars must be a map")
        secret: dict[str, str] = {}
        plain: dict[str, Any] = {}
        for name, value in variables.items():
            text = value if isinstance(value, str) else json.dumps(value)
            if redact(text) != text:  # a resolved secret (or holds one): only ever in the environment
                secret[str(name)] = text
            else:
                plain[str(name)] = value
        root = self._root_dir(attributes)
        runner = Terraform(
            str(attributes.get("binary") or self.binary),
            root,
            self._work(root),
            workspace=str(attributes.get("workspace") or "default"),
            cli_config=self.cli_config,
            secret_vars=secret,
            vars=plain,
            running=self.running,
        )
        self._check_version(runner)
        return runner

    def stop(self) -> None:
        """Ctrl-C: one interrupt to each Terraform under way, which finishes what it is doing and
        stops; its stream still gives every action its outcome."""
        self.running.interrupt()

    def plan_children(
        self, type_: str, address: str, attributes: Mapping[str, Any], outputs: Mapping[str, Any]
    ) -> Expansion:
        runner = self._runner(address, attributes)
        scratch = runner.work / f"planning-{uuid.uuid4().hex}.tfplan"  # concurrent plans: their own
        try:
            plan = runner.plan(scratch)
        except BaseException:
            scratch.unlink(missing_ok=True)  # a failed plan leaves no file holding secrets behind
            raise
        data_bearing = {str(a) for a in attributes.get("data_bearing") or []}
        children = tuple(
            Child(
                key=c.address,
                kind=c.kind,
                changes=c.changes,
                reason=c.reason,
                data_bearing=_holds_data(c.address, data_bearing),
            )
            for c in plan.children
        )
        token = _token(address, attributes, children, plan.outputs)
        _prune(runner.work)
        scratch.replace(runner.work / f"{token}.tfplan")
        planned_outputs = {f"output.{o.name}": o.value for o in plan.outputs if o.kind != "delete"}
        return Expansion(children=children, outputs=planned_outputs, token=token)

    def check_expansion(self, type_: str, address: str, attributes: Mapping[str, Any], token: str) -> None:
        runner = self._runner(address, attributes)
        planfile = runner.work / f"{token}.tfplan"
        if not planfile.is_file():
            raise StalePlanError(
                f"{address}: its Terraform plan is gone (applied already, or made elsewhere)"
            )
        runner.check_fresh(planfile)

    def accept_drift_hint(self, type_: str, attributes: Mapping[str, Any]) -> str:
        """``terraform apply -refresh-only`` in the root, with its variables (a secret one by name:
        the reviewer sets ``TF_VAR_<name>``)."""
        binary = Path(str(attributes.get("binary") or self.binary)).name
        parts: list[str] = []
        for name, value in sorted((attributes.get("vars") or {}).items()):
            if isinstance(value, str) and value.startswith("secret://"):
                parts.insert(0, f"TF_VAR_{name}=<{value}>")
                continue
            text = value if isinstance(value, str) else json.dumps(value)
            parts.append(f"-var {shlex.quote(f'{name}={text}')}")
        env = [p for p in parts if p.startswith("TF_VAR_")]
        flags = [p for p in parts if not p.startswith("TF_VAR_")]
        workspace = str(attributes.get("workspace") or "default")
        prefix = [f"TF_WORKSPACE={workspace}"] if workspace != "default" else []
        command = [*prefix, *env, binary, f"-chdir={shlex.quote(str(attributes.get('dir')))}"]
        return " ".join([*command, "apply", "-refresh-only", *flags])

    def generate_import(
        self, type_: str, attributes: Mapping[str, Any], key: str, resource_id: str
    ) -> dict[str, str]:
        """``imported_<n>.tf`` for the root: an ``import`` block for ``key`` and the configuration
        ``terraform plan -generate-config-out`` writes for it, made in a scratch copy of the root
        (the root itself is not touched), every known secret value taken out."""
        if not ADDRESS.fullmatch(key):
            raise ProviderError(
                f"{key!r} is not a Terraform resource address (type.name, or module.x.type.name)"
            )
        if not resource_id or any(c in resource_id for c in "\n\r\0"):
            raise ProviderError("the import id must be one line of text")
        runner = self._runner("import", attributes)
        scratch = runner.work / f"import-{uuid.uuid4().hex}"
        scratch.mkdir(mode=0o700)
        for path in runner.root.iterdir():
            if path.name == ".terraform":
                (scratch / path.name).symlink_to(path, target_is_directory=True)
            elif path.is_file() and (
                path.suffix in (".tf", ".hcl", ".tfstate") or path.name.endswith(".tf.json")
            ):
                shutil.copy2(path, scratch / path.name)
        number = 1 + max(
            (int(m.group(1)) for p in runner.root.glob("imported_*.tf") if (m := IMPORTED.fullmatch(p.name))),
            default=0,
        )
        block = f"import {{\n  to = {key}\n  id = {json.dumps(resource_id)}\n}}\n"
        (scratch / f"imported_{number}.tf").write_text(block)
        copy = Terraform(
            runner.binary,
            scratch,
            runner.work,
            runner.workspace,
            runner.cli_config,
            runner.secret_vars,
            runner.vars,
        )
        generated = scratch / "generated.tf"
        try:
            copy.init()
            with copy.var_file() as var_args:
                copy.run("plan", "-input=false", "-no-color", f"-generate-config-out={generated}", *var_args)
            code = generated.read_text() if generated.is_file() else ""
        finally:
            shutil.rmtree(scratch, ignore_errors=True)
        text = scrub_values(code, set(runner.secret_vars.values()), whole=SENSITIVE)[0]
        header = (
            "# imported from live state; approximate; does NOT reconstruct your secret:// refs — review "
            "before merge\n"
            f"# driftgate import {key} {json.dumps(resource_id)}: Terraform adopts it on the next apply.\n\n"
        )
        relative = str(runner.root.relative_to(self.stack_dir.resolve()))
        return {f"{relative}/imported_{number}.tf": header + block + "\n" + text}

    def read(self, type_: str, attributes: Mapping[str, Any], outputs: Mapping[str, Any]) -> Observed | None:
        """The root's own record: what it holds live is planned as its children."""
        return Observed(dict(attributes), dict(outputs))

    def create(self, type_: str, name: str, attributes: Mapping[str, Any]) -> dict[str, Any]:
        raise ProviderError("terraform.root is applied as a whole plan, never action by action")

    def update(
        self, type_: str, name: str, attributes: Mapping[str, Any], prior_outputs: Mapping[str, Any]
    ) -> dict[str, Any]:
        raise ProviderError("terraform.root is applied as a whole plan, never action by action")

    def delete(self, type_: str, attributes: Mapping[str, Any], outputs: Mapping[str, Any]) -> None:
        raise ProviderError("terraform.root is applied as a whole plan, never action by action")

    def import_resource(self, type_: str, resource_id: str) -> Observed | None:
        return None

    def apply_plan(self, changes: Sequence[Change]) -> PlanResult:
        results: dict[int, ChangeResult] = {}
        errors: list[str] = []
        roots = [c for c in changes if not c.parent]
        for root in roots:
            if root.kind == "delete":  # out of the specs: driftgate lets go; Terraform's resources stay
                results[root.index] = ChangeResult("SUCCESS")
                continue
            children = [c for c in changes if c.parent == root.address]
            found, problems = self._apply_root(root, children)
            results.update(found)
            errors += problems
        return PlanResult(results=results, errors=tuple(errors))

    def _apply_root(
        self, root: Change, children: Sequence[Change]
    ) -> tuple[dict[int, ChangeResult], list[str]]:
        runner = self._runner(root.address, root.attributes)
        token = str(root.attributes.get(EXPANSION_TOKEN) or "")
        planfile = runner.work / f"{token}.tfplan"
        if not token or not planfile.is_file():
            raise StalePlanError(
                f"{root.address}: its Terraform plan is gone (applied already, or made elsewhere); plan again"
            )
        planned = {str(c.attributes.get("address")): c.kind for c in children}
        try:
            stream = runner.apply(planfile, planned)
        finally:
            planfile.unlink(missing_ok=True)  # never applied twice, never left lying around
        results: dict[int, ChangeResult] = {}
        for child in children:
            outcome = stream.outcomes[str(child.attributes.get("address"))]
            results[child.index] = ChangeResult(outcome.status, outcome.error, attempted=outcome.attempted)
        failed = [c for c in children if results[c.index].status != "SUCCESS"]
        if failed or stream.errors:
            why = f"{len(failed)} of {len(children)} Terraform changes failed" if failed else stream.errors[0]
            results[root.index] = ChangeResult("ERROR", why)
            _remember_applied(runner, json.loads(runner.state_pull() or b"{}"))
        else:
            results[root.index] = ChangeResult("SUCCESS", None, self._outputs(runner, stream.outputs))
        return results, list(stream.errors)

    def _outputs(self, runner: Terraform, reported: Mapping[str, tuple[Any, bool]]) -> dict[str, Any]:
        found: dict[str, Any] = {
            f"output.{name}": SENSITIVE if sensitive else value
            for name, (value, sensitive) in reported.items()
        }
        state = json.loads(runner.state_pull() or b"{}")
        _remember_applied(runner, state)
        found["serial"] = state.get("serial")
        found["lineage"] = state.get("lineage")
        found["resources"] = {a: _digest(v) for a, v in state_resources(state, runner.secret_vars).items()}
        return found

    def drift_children(
        self, type_: str, address: str, attributes: Mapping[str, Any], outputs: Mapping[str, Any]
    ) -> list[ChildDrift]:
        """(1) What Terraform's providers see changed live (``plan -refresh-only``: resource_drift);
        (2) the state changed since driftgate's last apply (someone ran ``terraform apply``)."""
        runner = self._runner(address, attributes)
        found: dict[str, ChildDrift] = {}
        state = json.loads(runner.state_pull() or b"{}")
        moved = (state.get("lineage"), state.get("serial")) != (outputs.get("lineage"), outputs.get("serial"))
        recorded = outputs.get("resources")
        if moved and isinstance(recorded, Mapping):
            now = state_resources(state, runner.secret_vars)
            serial = AttributeChange(
                "state",
                f"serial {state.get('serial')} (applied outside driftgate)",
                f"serial {outputs.get('serial')}",
            )
            for key, values in sorted(now.items()):
                if recorded.get(key) != _digest(values):
                    kind = "changed" if key in recorded else "unmanaged"
                    found[key] = ChildDrift(key, kind, (serial,), values)
            for key in sorted(set(recorded) - set(now)):
                found[key] = ChildDrift(key, "deleted", (serial,))
        scratch = runner.work / f"refresh-only-{uuid.uuid4().hex}.tfplan"
        try:
            plan = runner.plan(scratch, refresh_only=True)
        finally:
            scratch.unlink(missing_ok=True)
        for child in plan.drift:
            live = tuple(
                AttributeChange(c.name, c.new, c.old, c.forces_replace, c.sensitive) for c in child.changes
            )
            found[child.address] = ChildDrift(
                child.address, "deleted" if child.kind == "delete" else "changed", live
            )
        return [found[k] for k in sorted(found)]

    # -- backups: the root's state ----------------------------------------------------------------

    def backup_resource(
        self, type_: str, attributes: Mapping[str, Any], outputs: Mapping[str, Any]
    ) -> dict[str, bytes] | None:
        """``terraform state pull``, the lineage and serial driftgate recorded for it, and the
        output of the root's ``backup_command`` when it declares one."""
        runner = self._runner("backup", attributes)
        state = runner.state_pull()
        pulled = json.loads(state or b"{}")
        now = (pulled.get("lineage"), pulled.get("serial"))
        ours = {(outputs.get("lineage"), outputs.get("serial")), _applied_last(runner)}
        if outputs.get("lineage") and now not in ours:
            raise ProviderError(
                f"terraform root {runner.root.name}: its state (serial {now[1]}) is not the one driftgate "
                f"applied (serial {outputs.get('serial')}): changed outside driftgate; see `driftgate drift`"
            )
        meta = {"lineage": now[0], "serial": now[1]}
        files = {"terraform.tfstate": state, "meta.json": json.dumps(meta).encode()}
        command = [str(a) for a in attributes.get("backup_command") or []]
        if command:
            files["data.backup"] = runner.run_command(command)
        return files

    def restore_resource(
        self, type_: str, attributes: Mapping[str, Any], files: Mapping[str, bytes]
    ) -> Observed:
        raise ProviderError(
            "a Terraform root is not restored by driftgate: pushing an old state over live infrastructure "
            "is a person's decision. The artifact holds terraform.tfstate (review it, then `terraform state "
            "push`) and data.backup (your backup_command's output, for its own restore tool)"
        )

    def check_backup(self, type_: str, files: Mapping[str, bytes]) -> None:
        try:
            state = json.loads(files["terraform.tfstate"])
            meta = json.loads(files["meta.json"])
        except (KeyError, ValueError, TypeError):
            raise ProviderError("terraform backup: no readable state or meta.json") from None
        recorded = (meta.get("lineage"), meta.get("serial")) if isinstance(meta, dict) else None
        if not isinstance(state, dict) or (state.get("lineage"), state.get("serial")) != recorded:
            raise ProviderError("terraform backup: the state's lineage and serial are not the recorded ones")


_APPLIED = "applied-state.json"  # the lineage and serial driftgate's last apply of the root left


def _remember_applied(runner: Terraform, state: Mapping[str, Any]) -> None:
    """What state driftgate's own apply left, even a partial one (whose root records no outputs):
    a root that only driftgate applied is never taken for one changed outside driftgate."""
    data = {"lineage": state.get("lineage"), "serial": state.get("serial")}
    (runner.work / _APPLIED).write_text(json.dumps(data), encoding="utf-8")


def _applied_last(runner: Terraform) -> tuple[Any, Any] | None:
    try:
        data = json.loads((runner.work / _APPLIED).read_text(encoding="utf-8"))
        return data.get("lineage"), data.get("serial")
    except (OSError, ValueError, AttributeError):
        return None


ADDRESS = re.compile(
    r"(?:module\.[A-Za-z0-9_-]+(?:\[[^\]]+\])?\.)*[a-z][a-z0-9_]*\.[A-Za-z_][A-Za-z0-9_-]*(?:\[[^\]]+\])?"
)
IMPORTED = re.compile(r"imported_(\d+)\.tf")
KEEP_PLANS = 7 * 24 * 3600  # seconds a kept Terraform plan file waits for its apply


def _prune(work: Path) -> None:
    """Kept plan files nobody applied within a week (a saved driftgate plan older than that is
    stale anyway): they hold sensitive values, so they do not linger."""
    now = time.time()
    for old in work.glob("*.tfplan"):
        with contextlib.suppress(OSError):
            if now - old.stat().st_mtime > KEEP_PLANS:
                old.unlink()


def _holds_data(address: str, data_bearing: set[str]) -> bool:
    """``aws_db_instance.main`` covers its instances (``aws_db_instance.main[0]``) too."""
    return any(address == a or address.startswith(a + "[") for a in data_bearing)


def _token(
    address: str, attributes: Mapping[str, Any], children: Sequence[Child], outputs: Sequence[Any]
) -> str:
    """A name for the kept plan file: what the plan would do, as the reviewer saw it."""
    seen = {
        "address": address,
        "attributes": {k: v for k, v in attributes.items() if k != "vars"},
        "children": [[c.key, c.kind, [ch.to_dict() for ch in c.changes]] for c in children],
        "outputs": [repr(o) for o in outputs],
    }
    raw = json.dumps(seen, sort_keys=True, default=str)
    return hashlib.sha256(raw.encode()).hexdigest()[:32]


def state_resources(state: Mapping[str, Any], secrets: Mapping[str, str]) -> dict[str, dict[str, Any]]:
    """Each managed resource instance of a raw state (``terraform state pull``) by address, its
    attributes masked: Terraform's sensitive ones, and every secret variable's value anywhere."""
    found: dict[str, dict[str, Any]] = {}
    for resource in state.get("resources") or []:
        if resource.get("mode") != "managed":
            continue
        base = f"{resource['type']}.{resource['name']}"
        if resource.get("module"):
            base = f"{resource['module']}.{base}"
        for instance in resource.get("instances") or []:
            key = instance.get("index_key")
            address = base if key is None else f"{base}[{json.dumps(key)}]"
            hidden = {str(p[0].get("value")) for p in instance.get("sensitive_attributes") or [] if p}
            values = {
                k: SENSITIVE if k in hidden else v for k, v in (instance.get("attributes") or {}).items()
            }
            found[address] = scrub_values(values, set(secrets.values()), whole=SENSITIVE)[0]
    return found


def _digest(values: Mapping[str, Any]) -> str:
    return hashlib.sha256(json.dumps(values, sort_keys=True, default=str).encode()).hexdigest()[:16]
