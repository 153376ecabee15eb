"""Plan and apply use cases: plan a stack, then apply a plan under the stack lock."""

from __future__ import annotations

import os
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from sqlalchemy import Connection

from driftgate.apply.executor import Executor, ProgressCallback
from driftgate.apply.hooks import ApplyHooks
from driftgate.apply.result import ActionStatus, ApplyResult, is_full_success
from driftgate.errors import GateRefused, PlanInvalidError, StalePlanError
from driftgate.gate.decision import GateDecision, GateRequest, ModulePolicy, decide, gated_plan
from driftgate.plan.model import ActionKind, Plan
from driftgate.planner.planner import build_plan, spec_digest
from driftgate.providers.base import EXPANSION_TOKEN, Provider
from driftgate.services.stacks.identity import stack_row
from driftgate.services.stacks.ledger import StoreSink
from driftgate.services.stacks.locking import stack_lock
from driftgate.services.workspace import Workspace
from driftgate.spec.model import Stack
from driftgate.store import runs as runs_db
from driftgate.store import stacks as stacks_db
from driftgate.store import states as states_db


@dataclass(frozen=True)
class PlannedStack:
    stack: Stack
    plan: Plan
    stack_id: int
    providers: dict[str, Provider]


def plan_stack(
    ws: Workspace,
    directory: Path,
    *,
    refresh: bool = True,
    stack: Stack | None = None,
    remote: str | None = None,
    path: str | None = None,
) -> PlannedStack:
    """``remote``/``path``: the run's own config repo and path in it (``apply --repo``), which the
    stack's identity follows as commit-back does."""
    stack = stack or ws.load_stack(directory)
    providers = ws.providers_for(stack)
    with ws.transaction() as conn:
        row = stack_row(conn, stack, bind=False, remote=remote, path=path)
        recorded = states_db.load_state(conn, row.id)
        serial = stacks_db.state_serial(conn, row.id)
    plan = build_plan(
        stack,
        recorded=recorded,
        providers=providers,
        secrets=ws.secrets(),
        refresh=refresh,
        state_serial=serial,
    )
    return PlannedStack(stack, plan, row.id, providers)


@dataclass(frozen=True)
class ApplyReport:
    run_id: str
    plan: Plan
    result: ApplyResult
    gate: GateDecision | None = None

    @property
    def whole_stack(self) -> bool:
        """Did this run apply every change the plan had (nothing held back or out of scope)?"""
        if self.plan.scope:
            return False  # a targeted plan (plan --module) left the rest of the stack unplanned
        return self.gate is None or not (self.gate.blocks_anything or self.gate.out_of_scope)

    @property
    def full_success(self) -> bool:
        return is_full_success(self.result)


class ApplySession:
    """Holds the stack lock from planning (or checking a saved plan) to the end of apply."""

    def __init__(self, ws: Workspace, planned: PlannedStack, run_id: str) -> None:
        self.ws = ws
        self.planned = planned
        self.run_id = run_id

    @property
    def plan(self) -> Plan:
        return self.planned.plan

    def decide_gate(self, request: GateRequest) -> GateDecision:
        """The gate's decision for this plan (pure rules; backups checked on disk now)."""
        from driftgate.services.stacks.backups import backup_records

        stack = self.planned.stack
        policies = {
            m.name: ModulePolicy(m.name, m.spec.stateful, m.spec.stateful_mode, m.spec.backup_max_age_hours)
            for m in stack.modules
        }
        stack_id = self.planned.stack_id
        refs = [request.backup_ref] if request.backup_ref else []
        records = backup_records(self.ws, stack_id, refs, self.planned.providers)
        gated = {m for m, p in policies.items() if p.stateful} | {
            a.module for a in self.plan.data_loss_actions
        }
        with self.ws.transaction() as conn:
            last = {m: states_db.last_module_change(conn, stack_id, m) for m in gated}
        return decide(
            self.plan,
            policies,
            request,
            backups=records,
            last_changes=last,
            now=time.time(),
            must_hold=self._must_hold(),
        )

    def _must_hold(self) -> dict[str, frozenset[str]]:
        """By module, what a backup must hold for this plan's data-loss actions: each resource that
        holds data by its kind (a database, a table, a bucket, a schema with cascade), or the
        expanding resource a part belongs to (a Terraform root's state). Resources gated only
        because their module is stateful (a grant, a role) need a backup of the module, not of them."""
        kinds = {t: k for p in self.planned.providers.values() for t, k in p.kinds().items()}
        found: dict[str, set[str]] = {}
        for action in self.plan.data_loss_actions:
            kind = kinds.get(action.type)
            flag = kind.data_bearing_when if kind is not None else None
            values = {**(action.prior or {}), **(action.desired or {})}
            holds = kind is not None and (
                kind.data_bearing or bool(flag and values.get(flag) not in (None, False)) or kind.expands
            )
            if holds:
                found.setdefault(action.module, set()).add(action.parent or action.address)
        return {m: frozenset(a) for m, a in found.items()}

    def record_data_bearing(self) -> None:
        """Before anything is applied, the record learns what the specs say holds data now (a module
        just made stateful, with nothing to apply): a later commit that flips it back and removes a
        resource is then judged by it. A saved plan made before a record rose goes stale."""
        with self.ws.transaction() as conn:
            if _record_data_bearing(conn, self.planned.stack_id, self.plan, None):
                stacks_db.bump_serial(conn, self.planned.stack_id)

    def refuse(self, decision: GateDecision) -> None:
        """Record the refusal as a run (nothing touched) and raise GateRefused."""
        self._record_untouched(decision, "refused")
        raise GateRefused(list(decision.reasons))

    def _record_untouched(self, decision: GateDecision, status: str) -> None:
        with self.ws.transaction() as conn:
            runs_db.create_run(
                conn,
                run_id=self.run_id,
                stack_id=self.planned.stack_id,
                kind="apply",
                actor=self.ws.settings.actor,
                pid=os.getpid(),
                host=self.ws.settings.hostname,
            )
            runs_db.finish_run(
                conn,
                self.run_id,
                status=status,
                action_count=0,
                summary={"gate": decision.to_dict()},
                errors=list(decision.reasons),
            )

    def execute(
        self,
        *,
        parallelism: int | None = None,
        hooks: ApplyHooks | None = None,
        progress: ProgressCallback | None = None,
        gate: GateDecision | None = None,
    ) -> ApplyReport:
        plan = self.plan
        if gate is not None:
            if gate.refused:
                self.refuse(gate)
            plan = gated_plan(plan, gate)  # what is left out takes its errors with it
        if plan.errors:
            raise PlanInvalidError("the plan has errors; fix them and plan again")
        stack_id = self.planned.stack_id
        with self.ws.transaction() as conn:
            runs_db.create_run(
                conn,
                run_id=self.run_id,
                stack_id=stack_id,
                kind="apply",
                actor=self.ws.settings.actor,
                pid=os.getpid(),
                host=self.ws.settings.hostname,
            )
            planned = [
                runs_db.PlannedRow(a.index, a.address, a.kind.value, a.prior_outputs or {})
                for a in plan.actions
            ]
            runs_db.insert_planned_outcomes(conn, self.run_id, planned, now=time.time())
            known = {a: r.outputs for a, r in states_db.load_state(conn, stack_id).items()}
        executor = Executor(
            providers=self.planned.providers,
            secrets=self.ws.secrets(),
            known_outputs=known,
            parallelism=parallelism or self.ws.settings.parallelism,
            action_timeout=self.ws.settings.action_timeout,
            sink=StoreSink(self.ws, stack_id=stack_id, run_id=self.run_id),
            hooks=hooks,
            progress=progress,
        )
        result = executor.run(plan)
        status = (
            "partial" if not is_full_success(result) else ("held" if gate and gate.blocked else "succeeded")
        )
        summary = _summary(plan, result)
        if gate is not None:
            summary["gate"] = gate.to_dict()
        with self.ws.transaction() as conn:
            _record_data_bearing(conn, stack_id, plan, result)
            runs_db.finish_run(
                conn,
                self.run_id,
                status=status,
                action_count=result.action_count,
                summary=summary,
                errors=list(result.errors),
            )
        return ApplyReport(self.run_id, plan, result, gate)


def _record_data_bearing(conn: Connection, stack_id: int, plan: Plan, result: ApplyResult | None) -> int:
    """Raise the record of every data-bearing resource of ``plan`` (no-ops too: a module made stateful
    since), and keep the parts of expanding resources: what was recorded, plus the data-bearing parts
    planned now, less those ``result`` deleted. Without a result (before anything is applied), only
    raises. Returns how many records rose."""
    ok = {o.index for o in result.actions if o.status is ActionStatus.SUCCESS} if result else set()
    addresses = [a.address for a in plan.actions if a.data_bearing and not a.parent]
    parents = {a.parent for a in plan.actions if a.parent}
    recorded = {a: r for a, r in states_db.load_state(conn, stack_id).items() if a in parents}
    parts: dict[str, set[str]] = {a: set(r.data_bearing_parts) for a, r in recorded.items()}
    for action in plan.actions:
        if action.parent in parts:
            key = action.address[len(action.parent) + 1 : -1]
            if action.kind is ActionKind.DELETE and action.index in ok:
                parts[action.parent].discard(key)
            elif action.data_bearing:
                parts[action.parent].add(key)
    changed = {a: sorted(keys) for a, keys in parts.items() if set(recorded[a].data_bearing_parts) != keys}
    return states_db.mark_data_bearing(conn, stack_id, addresses, changed)


def _summary(plan: Plan, result: ApplyResult) -> dict[str, object]:
    statuses: dict[str, int] = {}
    for outcome in result.actions:
        statuses[outcome.status.value] = statuses.get(outcome.status.value, 0) + 1
    return {"planned": plan.counts(), "outcomes": statuses, "full_success": is_full_success(result)}


@contextmanager
def apply_session(
    ws: Workspace,
    directory: Path,
    *,
    saved_plan: Plan | None = None,
    refresh: bool = True,
    stack: Stack | None = None,
    remote: str | None = None,
    path: str | None = None,
) -> Iterator[ApplySession]:
    """Lock the stack, then plan it (or check that the saved plan is still current). ``remote``: the
    run's own config repo (``apply --repo``): the stack's identity and commit-back follow it alike."""
    stack = stack or ws.load_stack(directory)
    with ws.transaction() as conn:
        row = stack_row(conn, stack, bind=True, remote=remote, path=path)
    run_id = str(uuid.uuid4())
    with stack_lock(ws, stack_id=row.id, stack_name=stack.name, run_id=run_id):
        if saved_plan is None:
            planned = plan_stack(ws, directory, refresh=refresh, stack=stack, remote=remote, path=path)
        else:
            planned = _saved(ws, stack, row.id, saved_plan)
        yield ApplySession(ws, planned, run_id)


def _saved(ws: Workspace, stack: Stack, stack_id: int, saved: Plan) -> PlannedStack:
    """A saved plan, if it still matches the specs and the recorded state (no plan is rebuilt)."""
    if saved.stack != stack.name:
        raise StalePlanError(f"the plan is for stack {saved.stack!r}, not {stack.name!r}")
    if saved.spec_digest != spec_digest(stack):
        raise StalePlanError("the specs changed since this plan was made; plan again")
    with ws.transaction() as conn:
        serial = stacks_db.state_serial(conn, stack_id)
    if saved.state_serial != serial:
        raise StalePlanError(
            "the recorded state changed since this plan was made (another apply ran); plan again"
        )
    providers = ws.providers_for(stack)
    for action in saved.actions:  # what providers kept of the plan (a Terraform plan file) still holds
        token = (action.desired or {}).get(EXPANSION_TOKEN)
        if token and not action.parent and action.kind is not ActionKind.NOOP:
            attributes = ws.secrets().resolve_all(action.desired or {})
            providers[action.type.split(".", 1)[0]].check_expansion(
                action.type, action.address, attributes, token
            )
    return PlannedStack(stack, saved, stack_id, providers)
