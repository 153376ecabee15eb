"""The gate: (plan, module policies, request, backup records) -> decision with reasons.

Rules (ARCHITECTURE.md invariant 4):

- ``auto`` lane (CI, a push, a schedule): stateless modules apply; every
  stateful module with changes is blocked, by name, while the rest applies.
- A **data-loss action** (``Action.data_loss``: it deletes or replaces a
  resource that is data-bearing by its record or by the specs) makes its module
  stateful for this decision, whatever the module's file says now: the record
  is what no spec edit can lower (ARCHITECTURE.md invariant 10).
- ``manual`` lane: a change to a stateful module needs exactly one module in
  scope (``--module``), ``--allow-stateful``, ``--confirm`` repeating the
  module's name, and a valid ``--backup-ref`` - unless the plan only creates
  in that module (nothing of it exists yet, so nothing can be lost); in
  ``noop-only`` mode the module must be in sync. A module removed from the
  specs is stateful if its recorded resources were. Any missing piece refuses the whole apply before
  anything is touched.

Pure: no store, no clock of its own (``now`` comes in), no I/O.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass, field, replace
from typing import Any, Literal

from driftgate.plan.model import Action, ActionKind, Plan

Lane = Literal["auto", "manual"]


@dataclass(frozen=True)
class ModulePolicy:
    name: str
    stateful: bool
    mode: str = "backup-required"  # or noop-only
    backup_max_age_hours: float | None = None


@dataclass(frozen=True)
class BackupRecord:
    """What the store and a checksum verification say about one backup."""

    ref: str
    module: str
    created_at: float
    exists: bool
    checksum_ok: bool
    unusable: str | None = None  # the providers' own check failed (a cloud backup gone): why
    resources: frozenset[str] = frozenset()  # the addresses it holds a backup of


@dataclass(frozen=True)
class GateRequest:
    lane: Lane = "manual"
    modules: tuple[str, ...] = ()  # the scope; empty: every module
    allow_stateful: bool = False
    confirm: str | None = None
    backup_ref: str | None = None


@dataclass(frozen=True)
class GateDecision:
    """``refused``: nothing may be applied. ``blocked``: modules held back while others apply."""

    lane: Lane
    refused: bool
    reasons: tuple[str, ...]
    applied_modules: tuple[str, ...]
    blocked: Mapping[str, str] = field(default_factory=dict)
    out_of_scope: tuple[str, ...] = ()

    @property
    def blocks_anything(self) -> bool:
        return self.refused or bool(self.blocked)

    def allows(self, action: Action) -> bool:
        return not self.refused and action.module in self.applied_modules

    def to_dict(self) -> dict[str, Any]:
        data = asdict(self)
        data["blocked"] = dict(self.blocked)
        return data


def _changed_modules(plan: Plan) -> list[str]:
    seen: dict[str, None] = {}
    for action in plan.actions:
        if action.kind is not ActionKind.NOOP:
            seen.setdefault(action.module, None)
    return list(seen)


def _judged_by_record(plan: Plan, policies: Mapping[str, ModulePolicy]) -> dict[str, ModulePolicy]:
    """Each module's policy, with every module that has a data-loss action (its file removed, or
    ``stateful: false`` now) gated as stateful: what the record says holds data is judged so."""
    judged = dict(policies)
    for action in plan.actions:
        policy = judged.get(action.module) or ModulePolicy(action.module, False)
        if action.data_loss and not policy.stateful:
            policy = replace(policy, stateful=True, mode="backup-required")
        judged[action.module] = policy
    return judged


def data_loss_reason(plan: Plan, module: str) -> str | None:
    """Why ``module`` is gated although its file does not say stateful (None when it does not need to)."""
    lost = [a.address for a in plan.actions if a.module == module and a.data_loss]
    if not lost:
        return None
    more = f" and {len(lost) - 1} more" if len(lost) > 1 else ""
    return f"module {module!r} deletes or replaces data-bearing {lost[0]}{more}"


def backup_problem(
    ref: str | None,
    *,
    module: ModulePolicy,
    backups: Mapping[str, BackupRecord],
    last_change: float | None,
    now: float,
    must_hold: frozenset[str] = frozenset(),
) -> str | None:
    """Why ``ref`` is not a valid backup of ``module`` for this apply, or None when it is.
    ``must_hold``: the resources whose data this change destroys; a backup without them is no backup."""
    if not ref:
        return f"stateful module {module.name!r} needs --backup-ref naming a verified backup of it"
    record = backups.get(ref)
    if record is None:
        return f"--backup-ref {ref!r} is not a recorded backup"
    if record.module != module.name:
        return f"--backup-ref {ref!r} is a backup of module {record.module!r}, not {module.name!r}"
    if not record.exists:
        return f"--backup-ref {ref!r}: the backup artifact is missing"
    if not record.checksum_ok:
        return f"--backup-ref {ref!r}: the backup artifact fails its checksum (corrupt)"
    if record.unusable:
        return f"--backup-ref {ref!r}: {record.unusable}"
    missing = sorted(must_hold - record.resources)
    if missing:
        return (
            f"--backup-ref {ref!r} holds no backup of {', '.join(missing)}, whose data this change destroys "
            f"(take one with: driftgate backup create {module.name}; a kind its provider cannot back up "
            "cannot be destroyed through driftgate)"
        )
    if last_change is not None and record.created_at <= last_change:
        return f"--backup-ref {ref!r} was taken before module {module.name!r} last changed; take a new backup"
    if (
        module.backup_max_age_hours is not None
        and now - record.created_at > module.backup_max_age_hours * 3600
    ):
        return f"--backup-ref {ref!r} is older than {module.backup_max_age_hours:g} h"
    return None


def decide(
    plan: Plan,
    policies: Mapping[str, ModulePolicy],
    request: GateRequest,
    *,
    backups: Mapping[str, BackupRecord],
    last_changes: Mapping[str, float | None],
    now: float,
    must_hold: Mapping[str, frozenset[str]] | None = None,
) -> GateDecision:
    """``must_hold``: by module, the resources a backup of it must hold (those this plan destroys
    that hold data by their kind)."""
    changed = _changed_modules(plan)
    declared = {m for m, p in policies.items() if p.stateful}
    policies = _judged_by_record(plan, policies)
    unknown = [m for m in request.modules if m not in policies]
    if unknown:
        return _refuse(request, [f"--module {m!r} is not a module of this stack" for m in unknown])
    in_scope = [m for m in changed if not request.modules or m in request.modules]
    out_of_scope = tuple(m for m in changed if m not in in_scope)
    stateful = [m for m in in_scope if policies[m].stateful]
    if request.lane == "auto":
        blocked = {m: _auto_reason(plan, m, m in declared) for m in stateful}
        applied = tuple(m for m in in_scope if m not in blocked)
        return GateDecision("auto", False, tuple(blocked.values()), applied, blocked, out_of_scope)
    reasons = [
        reason
        for module in stateful
        for reason in _manual_stateful(
            plan,
            policies[module],
            request,
            backups,
            last_changes,
            now,
            declared=module in declared,
            must_hold=(must_hold or {}).get(module, frozenset()),
        )
    ]
    if reasons:
        return _refuse(request, reasons, out_of_scope)
    return GateDecision("manual", False, (), tuple(in_scope), {}, out_of_scope)


def _auto_reason(plan: Plan, module: str, declared: bool) -> str:
    why = None if declared else data_loss_reason(plan, module)
    if why is None:
        return f"stateful module {module!r} is never applied by the auto lane"
    return f"{why}: never applied by the auto lane"


def _manual_stateful(
    plan: Plan,
    module: ModulePolicy,
    request: GateRequest,
    backups: Mapping[str, BackupRecord],
    last_changes: Mapping[str, float | None],
    now: float,
    *,
    declared: bool,
    must_hold: frozenset[str] = frozenset(),
) -> list[str]:
    name = module.name
    if module.mode == "noop-only":
        return [f"stateful module {name!r} is noop-only: its plan must be in sync, and it has changes"]
    what = f"stateful module {name!r} changes" if declared else (data_loss_reason(plan, name) or name)
    reasons: list[str] = []
    if list(request.modules) != [name]:
        reasons.append(f"{what}: apply it alone with --module {name}")
    if not request.allow_stateful:
        reasons.append(f"{what}: pass --allow-stateful")
    if request.confirm != name:
        reasons.append(f"{what}: confirm with --confirm {name}")
    if only_creates(plan, name):
        return reasons  # nothing of it exists yet, so nothing can be lost: no backup to ask for
    problem = backup_problem(
        request.backup_ref,
        module=module,
        backups=backups,
        last_change=last_changes.get(name),
        now=now,
        must_hold=must_hold,
    )
    if problem:
        reasons.append(problem)
    return reasons


def only_creates(plan: Plan, module: str) -> bool:
    """Every action of ``module`` creates something new: the module has no live resource yet."""
    actions = [a for a in plan.actions if a.module == module]
    return bool(actions) and all(a.kind is ActionKind.CREATE and not a.adopt for a in actions)


def _refuse(request: GateRequest, reasons: Sequence[str], out_of_scope: tuple[str, ...] = ()) -> GateDecision:
    return GateDecision(request.lane, True, tuple(reasons), (), {}, out_of_scope)


def gated_plan(plan: Plan, decision: GateDecision) -> Plan:
    """The part of ``plan`` the decision lets apply (re-indexed); no-ops of other modules are dropped too."""
    kept = [a for a in plan.actions if decision.allows(a)]
    actions = tuple(Action.from_dict({**a.to_dict(), "index": i}) for i, a in enumerate(kept))
    left_out = {a.address for a in plan.actions} - {a.address for a in kept}
    return replace(plan, actions=actions, errors=plan.errors_without(left_out))
