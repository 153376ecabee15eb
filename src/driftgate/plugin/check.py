"""The conformance kit: ``driftgate plugin check -- COMMAND [ARGS]`` runs the provider contract
against any plugin executable, in any language, and reports each check.

It starts the plugin as driftgate does, checks the handshake and the manifest, configures it on a
scratch directory, and for every sample config its manifest provides: validates it (and refuses
the sample's ``invalid`` attributes), creates, reads back, checks the plan is then empty
(idempotence), updates, imports (where the plugin can), backs up and restores (where it can),
deletes and reads the resource gone; sends bad input and expects diagnostics, not a crash;
checks ``ApplyPlan`` against the result contract (where the plugin applies whole plans) and that
the engine rejects an UNSPECIFIED status and a short result; and ends with ``Stop`` and
``Close``, after which the plugin must exit by itself.
"""

from __future__ import annotations

import shutil
import tempfile
import time
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from driftgate.errors import DriftgateError
from driftgate.plugin import wire
from driftgate.plugin.client import CALL_TIMEOUT, PluginProcess, PluginProvider
from driftgate.plugin.contract import check_plan_result
from driftgate.plugin.proto import provider_pb2 as pb
from driftgate.providers.base import CAP_BACKUP, CAP_IMPORT, CAP_LIST, WHOLE_PLAN, ProviderContext


@dataclass(frozen=True)
class Check:
    name: str
    passed: bool
    detail: str = ""
    seconds: float = 0.0


@dataclass
class Report:
    command: list[str]
    checks: list[Check] = field(default_factory=list)

    @property
    def passed(self) -> bool:
        return bool(self.checks) and all(c.passed for c in self.checks)

    def lines(self) -> list[str]:
        shown = [
            f"{'PASS' if c.passed else 'FAIL'}  {c.name}" + (f": {c.detail}" if c.detail else "")
            for c in self.checks
        ]
        failed = sum(not c.passed for c in self.checks)
        verdict = "conforms" if self.passed else f"does NOT conform ({failed} failed)"
        return [*shown, f"{len(self.checks)} checks, {failed} failed: the plugin {verdict}"]

    def to_dict(self) -> dict[str, Any]:
        return {
            "command": self.command,
            "passed": self.passed,
            "checks": [
                {"name": c.name, "passed": c.passed, "detail": c.detail, "seconds": round(c.seconds, 3)}
                for c in self.checks
            ],
        }


class _Failed(Exception):
    pass


class _Kit:
    def __init__(self, report: Report) -> None:
        self.report = report

    @contextmanager
    def check(self, name: str) -> Iterator[None]:
        started = time.perf_counter()
        try:
            yield
        except (_Failed, DriftgateError, AssertionError) as exc:
            self.report.checks.append(Check(name, False, str(exc), time.perf_counter() - started))
        else:
            self.report.checks.append(Check(name, True, "", time.perf_counter() - started))

    def passed(self, name: str) -> bool:
        return any(c.name == name and c.passed for c in self.report.checks)


def _expect(condition: bool, why: str) -> None:
    if not condition:
        raise _Failed(why)


def run_check(command: Sequence[str], *, config: Mapping[str, Any] | None = None) -> Report:
    """Run every check against the plugin ``command``; never raises for the plugin's faults."""
    report = Report(list(command))
    kit = _Kit(report)
    scratch = Path(tempfile.mkdtemp(prefix="driftgate-plugin-check-"))
    process = PluginProcess(command, source="plugin", cwd=scratch)
    try:
        with kit.check("handshake and manifest"):
            manifest = process.start()
            _expect(manifest.kinds != {}, "the manifest declares no kinds")
        if not kit.passed("handshake and manifest"):
            return report
        provider = PluginProvider(process, action_timeout=CALL_TIMEOUT)
        with kit.check("configure"):
            provider.configure(dict(config or {}), ProviderContext(stack_dir=scratch))
        if not kit.passed("configure"):
            return report
        samples = [(t, s) for t, found in provider.manifest.samples.items() for s in found]
        with kit.check("samples"):
            _expect(bool(samples), "the manifest gives no sample configs (kinds[].samples) to test with")
        for type_, sample in samples:
            _sample_checks(kit, provider, type_, sample)
        _bad_input_checks(kit, provider)
        _plan_contract_checks(kit, provider, samples)
        _stop_checks(kit, process)
    finally:
        process.stop()
        shutil.rmtree(scratch, ignore_errors=True)
    return report


def _differs(
    provider: PluginProvider, type_: str, current: Mapping[str, Any], desired: Mapping[str, Any]
) -> list[str]:
    request = pb.PlanResourceChange.Request(
        type=type_, current_json=wire.dumps(current), desired_json=wire.dumps(desired)
    )
    answer = provider.process.call(lambda s: s.PlanResourceChange(request, timeout=CALL_TIMEOUT))
    wire.raise_for(answer.diagnostics, source="plugin")
    return list(answer.changed)


def _sample_checks(kit: _Kit, provider: PluginProvider, type_: str, sample: Mapping[str, Any]) -> None:
    label = f"{type_} {sample['name']}"
    schema = provider.kinds()[type_]
    desired = schema.with_defaults(dict(sample["attributes"]))
    state: dict[str, Any] = {}
    with kit.check(f"{label}: validate"):
        problems = provider.validate(type_, desired)
        _expect(not problems, f"the sample is refused: {'; '.join(problems)}")
        if "invalid" in sample:
            refused = provider.validate(type_, {**desired, **sample["invalid"]})
            _expect(bool(refused), "attributes the sample calls invalid were accepted")
    with kit.check(f"{label}: create and read back"):
        state["outputs"] = provider.create(type_, sample["name"], desired)
        live = provider.read(type_, desired, state["outputs"])
        _expect(live is not None, "read after create finds nothing")
        assert live is not None
        state["live"] = live
    if "live" not in state:
        return
    with kit.check(f"{label}: idempotent (no change planned after create)"):
        changed = _differs(provider, type_, state["live"].attributes, desired)
        _expect(changed == [], f"a plan right after create changes {changed}")
        again = provider.read(type_, desired, state["outputs"])
        _expect(again == state["live"], "two reads of an unchanged resource differ")
    if sample.get("update"):
        updated = {**desired, **sample["update"]}
        with kit.check(f"{label}: update"):
            changed = _differs(provider, type_, state["live"].attributes, updated)
            _expect(set(changed) >= set(sample["update"]), f"the update plans {changed}")
            state["outputs"] = provider.update(type_, sample["name"], updated, state["outputs"])
            live = provider.read(type_, updated, state["outputs"])
            _expect(
                live is not None and _differs(provider, type_, live.attributes, updated) == [],
                "the resource does not hold the updated values",
            )
            desired = updated
    if CAP_IMPORT in provider.capabilities and not schema.virtual:
        with kit.check(f"{label}: import by id"):
            resource_id = provider.resource_id(type_, desired)
            _expect(bool(resource_id), "no resource id for the sample's attributes")
            assert resource_id is not None
            imported = provider.import_resource(type_, resource_id)
            _expect(imported is not None, f"import of {resource_id!r} finds nothing")
            assert imported is not None
            _expect(_differs(provider, type_, imported.attributes, desired) == [], "the import differs")
            if CAP_LIST in provider.capabilities:
                listed = provider.list_ids(type_)
                _expect(listed is not None and resource_id in listed, f"{resource_id!r} is not listed")
    if CAP_BACKUP in provider.capabilities:
        with kit.check(f"{label}: backup and restore"):
            files = provider.backup_resource(type_, desired, state["outputs"])
            if files is not None:  # None: this kind holds nothing to back up (others of the provider may)
                restored = provider.restore_resource(type_, desired, files)
                _expect(_differs(provider, type_, restored.attributes, desired) == [], "the restore differs")
    with kit.check(f"{label}: delete" + ("" if schema.virtual else " and read gone")):
        provider.delete(type_, desired, state["outputs"])
        if not schema.virtual:
            gone = provider.read(type_, desired, state["outputs"])
            _expect(gone is None, "read after delete still finds it")
            found = provider.read_many([(type_, desired, state["outputs"])] * 3)
            _expect(found == [None] * 3, "a batch of 3 reads of the deleted resource")


def _bad_input_checks(kit: _Kit, provider: PluginProvider) -> None:
    with kit.check("bad input: an unknown kind is an error, not a success or a crash"):
        request = pb.ApplyResourceChange.Request(
            kind=pb.CREATE,
            resource=pb.Resource(type=f"{provider.name}.no_such_kind", name="x", attributes_json="{}"),
        )
        answer = provider.process.call(lambda s: s.ApplyResourceChange(request, timeout=CALL_TIMEOUT))
        _expect(
            answer.status not in (pb.SUCCESS, pb.ACTION_STATUS_UNSPECIFIED) or bool(answer.diagnostics),
            f"status {pb.ActionStatus.Name(answer.status)} without a diagnostic",
        )
    with kit.check("bad input: attributes that are not JSON get a diagnostic"):
        type_ = next(iter(provider.kinds()))
        bad = pb.ReadResources.Request(resources=[pb.Resource(type=type_, attributes_json="{not json")])
        read = provider.process.call(lambda s: s.ReadResources(bad, timeout=CALL_TIMEOUT))
        diagnostics = list(read.diagnostics) + [d for r in read.results for d in r.diagnostics]
        _expect(bool(wire.errors_of(diagnostics)), "no error diagnostic")
    with kit.check("bad input: the plugin is still serving"):
        _expect(provider.process.alive, "the plugin exited")


def _plan_contract_checks(
    kit: _Kit, provider: PluginProvider, samples: Sequence[tuple[str, Mapping[str, Any]]]
) -> None:
    with kit.check("engine rejects an UNSPECIFIED status and a short result"):
        unspecified = pb.ApplyPlan.Response(
            actions=[pb.ApplyPlan.ActionResult(action_index=0, status=pb.ACTION_STATUS_UNSPECIFIED)],
            action_count=1,
        )
        checked = check_plan_result(unspecified, [0], source="plugin")
        _expect(0 not in checked.outcomes and bool(checked.violations), "UNSPECIFIED was accepted")
        short = pb.ApplyPlan.Response(
            actions=[pb.ApplyPlan.ActionResult(action_index=0, status=pb.SUCCESS)], action_count=2
        )
        checked = check_plan_result(short, [0, 1], source="plugin")
        _expect(bool(checked.violations) and checked.outcome(1).status == "ERROR", "a short result passed")
    if WHOLE_PLAN not in provider.manifest.apply_modes or not samples:
        return
    with kit.check("ApplyPlan: one valid result per planned action"):
        actions = [
            pb.ApplyResourceChange.Request(
                action_index=i,
                kind=pb.CREATE,
                resource=pb.Resource(
                    type=t, name=f"plan-{s['name']}", attributes_json=wire.dumps(s["attributes"])
                ),
            )
            for i, (t, s) in enumerate(samples)
        ]
        answer = provider.process.call(
            lambda st: st.ApplyPlan(pb.ApplyPlan.Request(actions=actions), timeout=CALL_TIMEOUT)
        )
        checked = check_plan_result(answer, list(range(len(actions))), source="plugin")
        _expect(not checked.violations, "; ".join(checked.violations))
        for i, (t, s) in enumerate(samples):
            provider.delete(t, s["attributes"], checked.outcome(i).outputs)


def _stop_checks(kit: _Kit, process: PluginProcess) -> None:
    with kit.check("stop and close, then the plugin exits by itself"):
        stub = process.stub
        _expect(stub is not None, "not running")
        assert stub is not None
        wire.raise_for(stub.Stop(pb.Stop.Request(), timeout=5).diagnostics, source="plugin")
        wire.raise_for(stub.Close(pb.Close.Request(), timeout=5).diagnostics, source="plugin")
        assert process.proc is not None
        deadline = time.monotonic() + 5
        while process.proc.poll() is None and time.monotonic() < deadline:
            time.sleep(0.05)
        _expect(process.proc.poll() is not None, "still running 5 s after Close")
