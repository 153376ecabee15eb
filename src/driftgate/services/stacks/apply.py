"""The apply use case: plan → gate → refuse → (confirm) → execute → commit-back, in one place.

Every edge — the CLI's ``apply`` and ``gate``, the API, the quickstart, reconcile's heal — builds
an :class:`ApplyRequest`, calls :func:`apply_stack` and renders the :class:`ApplyOutcome` (as
Terraform's command → operation → backend). The stack lock is held from planning to the end of
the apply; the callbacks run inside it.
"""

from __future__ import annotations

from collections.abc import Callable
from contextlib import AbstractContextManager, nullcontext
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from driftgate.errors import PlanHasErrors, StalePlanError, TerminalError
from driftgate.gate.decision import GateDecision, GateRequest, gated_plan
from driftgate.plan.model import Plan
from driftgate.services.stacks.session import ApplyReport, apply_session
from driftgate.services.workspace import Workspace

if TYPE_CHECKING:
    from driftgate.apply.executor import ProgressCallback
    from driftgate.services.stacks.commitback import CommitBackResult, Overrides
    from driftgate.spec.model import Stack

Confirm = Callable[[Plan, GateDecision], bool]
"""Asked once the gate allows the plan, before anything is touched; False applies nothing."""

Progress = Callable[[int], AbstractContextManager["ProgressCallback | None"]]
"""Given the number of actions, a context around the execution yielding a per-action callback."""


@dataclass(frozen=True)
class ApplyRequest:
    """What to apply and how. ``from_path``: the specs are not in git yet (``apply --from``), so
    commit-back needs a remote named by ``overrides`` or the stack's ``commit_back.remote``."""

    directory: Path
    gate: GateRequest = field(default_factory=GateRequest)
    saved_plan: Plan | None = None
    refresh: bool = True
    parallelism: int | None = None
    commit_back: bool = True
    overrides: Overrides | None = None
    from_path: bool = False
    dry_run: bool = False
    skip_no_changes: bool = True
    shown_plan: str | None = None  # the content digest of the plan a person saw: apply only that plan


@dataclass(frozen=True)
class ApplyOutcome:
    """``report`` is None when nothing ran: a dry run, a plan without changes, or not confirmed."""

    plan: Plan
    decision: GateDecision
    report: ApplyReport | None = None
    commit_back: CommitBackResult | None = None
    declined: bool = False

    @property
    def applied(self) -> bool:
        return self.report is not None


def apply_stack(
    ws: Workspace,
    request: ApplyRequest,
    *,
    on_plan: Callable[[Plan], None] | None = None,
    confirm: Confirm | None = None,
    progress: Progress | None = None,
) -> ApplyOutcome:
    """Apply one stack through the gate, record the ledger, then commit back after full success.

    Raises PlanHasErrors (the plan has errors: nothing applied), GateRefused (recorded as a
    refused run), StalePlanError (a saved plan no longer matches) and the store's errors.
    """
    stack = ws.load_stack(request.directory)
    if request.from_path and request.commit_back:
        _require_commit_back_target(ws, stack, request)
    remote = request.overrides.remote if request.overrides else None
    with apply_session(
        ws,
        request.directory,
        saved_plan=request.saved_plan,
        refresh=request.refresh,
        stack=stack,
        remote=remote,
    ) as session:
        plan = session.plan
        if request.shown_plan is not None and plan.content_digest() != request.shown_plan:
            raise StalePlanError(
                "the plan changed since it was shown (the specs, the recorded state or the live world "
                "moved): nothing was applied; review the new plan"
            )
        modules = tuple(request.gate.modules)
        errors = plan.targeted(modules).errors if modules else plan.errors  # --module: its own errors
        if errors:
            if on_plan is not None:
                on_plan(plan.targeted(modules) if modules else plan)
            raise PlanHasErrors(list(errors))
        decision = session.decide_gate(request.gate)
        if on_plan is not None:  # with --module, exactly what this apply would do (and asks about)
            on_plan(_shown(plan, decision, modules))
        if request.dry_run:
            return ApplyOutcome(plan, decision)
        session.record_data_bearing()  # even when the gate refuses or there is nothing to do
        if decision.refused:
            session.refuse(decision)
        if request.skip_no_changes and not plan.has_changes and not any(a.adopt for a in plan.actions):
            return ApplyOutcome(plan, decision)
        held_all = decision.blocked and not gated_plan(plan, decision).has_changes
        # every change held back: nothing to confirm, and the run is recorded as held (not succeeded)
        if not held_all and confirm is not None and not confirm(plan, decision):
            return ApplyOutcome(plan, decision, declined=True)
        with progress(len(plan.actions)) if progress is not None else nullcontext() as advance:
            report = session.execute(parallelism=request.parallelism, progress=advance, gate=decision)
        committed = _commit_back(ws, session.planned.stack, report, request) if request.commit_back else None
    return ApplyOutcome(plan, decision, report, committed)


def _shown(plan: Plan, decision: GateDecision, modules: tuple[str, ...]) -> Plan:
    """The plan a person is shown: the whole stack's, or with ``--module`` what the gate lets this
    apply do (what it refuses: the module's own plan, which the reasons are about)."""
    if not modules:
        return plan
    return plan.targeted(modules) if decision.refused else gated_plan(plan, decision)


def gate_decision(ws: Workspace, directory: Path, request: GateRequest) -> GateDecision:
    """The gate's decision for the stack's current plan (``driftgate gate``): nothing is applied."""
    return planned_decision(ws, directory, request)[1]


def planned_decision(ws: Workspace, directory: Path, request: GateRequest) -> tuple[Plan, GateDecision]:
    """The stack's current plan and the gate's decision on it, from one plan: nothing is applied."""
    with apply_session(ws, directory) as session:
        return session.plan, session.decide_gate(request)


def _require_commit_back_target(ws: Workspace, stack: Stack, request: ApplyRequest) -> None:
    from driftgate.services.stacks.commitback import Overrides, resolve_target

    if resolve_target(ws, stack, request.overrides or Overrides()) is None:
        raise TerminalError(
            f"{request.directory} is not in a git repository: "
            "name the config repo with --repo or commit_back.remote"
        )


def _commit_back(ws: Workspace, stack: Stack, report: ApplyReport, request: ApplyRequest) -> CommitBackResult:
    from driftgate.services.stacks.commitback import commit_back_report

    return commit_back_report(ws, stack, report, request.overrides)
