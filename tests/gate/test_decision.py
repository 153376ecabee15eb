"""The gate, table-driven: every refusal and every allow."""

from __future__ import annotations

from dataclasses import replace

import pytest

from driftgate.gate.decision import BackupRecord, GateRequest, ModulePolicy, decide, gated_plan
from driftgate.plan.model import Action, ActionKind, Plan

NOW = 1_000_000.0
HOUR = 3600.0


def plan(*changes: tuple[str, ActionKind]) -> Plan:
    actions = tuple(
        Action(index=i, address=f"{m}/data.value.r{i}", module=m, type="data.value", kind=k)
        for i, (m, k) in enumerate(changes)
    )
    return Plan(stack="s", spec_digest="d", state_serial=0, refreshed=True, created_at="t", actions=actions)


POLICIES = {
    "web": ModulePolicy("web", stateful=False),
    "db": ModulePolicy("db", stateful=True),
    "smoke": ModulePolicy("smoke", stateful=True, mode="noop-only"),
    "aged": ModulePolicy("aged", stateful=True, backup_max_age_hours=1),
}
BACKUPS = {
    "db-ok": BackupRecord("db-ok", "db", created_at=NOW - 60, exists=True, checksum_ok=True),
    "db-old": BackupRecord("db-old", "db", created_at=NOW - 10 * HOUR, exists=True, checksum_ok=True),
    "db-corrupt": BackupRecord("db-corrupt", "db", created_at=NOW - 60, exists=True, checksum_ok=False),
    "db-missing": BackupRecord("db-missing", "db", created_at=NOW - 60, exists=False, checksum_ok=False),
    "web-ok": BackupRecord("web-ok", "web", created_at=NOW - 60, exists=True, checksum_ok=True),
    "aged-2h": BackupRecord("aged-2h", "aged", created_at=NOW - 2 * HOUR, exists=True, checksum_ok=True),
    "aged-ok": BackupRecord("aged-ok", "aged", created_at=NOW - 60, exists=True, checksum_ok=True),
}
LAST_CHANGES = {"db": NOW - 5 * HOUR, "aged": None}
FULL = GateRequest("manual", ("db",), allow_stateful=True, confirm="db", backup_ref="db-ok")
DB = plan(("db", ActionKind.UPDATE))
MIXED = plan(("web", ActionKind.CREATE), ("db", ActionKind.UPDATE), ("web", ActionKind.NOOP))

CASES = [
    # id, plan, request, refused, applied modules, reason fragments
    ("manual-stateless", plan(("web", ActionKind.UPDATE)), GateRequest(), False, ("web",), []),
    ("manual-stateful-all-pieces", DB, FULL, False, ("db",), []),
    ("manual-stateful-delete-all-pieces", plan(("db", ActionKind.DELETE)), FULL, False, ("db",), []),
    ("manual-missing-module", DB, replace(FULL, modules=()), True, (), ["apply it alone with --module db"]),
    ("manual-two-modules", MIXED, replace(FULL, modules=("db", "web")), True, (), ["apply it alone"]),
    ("manual-no-allow", DB, replace(FULL, allow_stateful=False), True, (), ["pass --allow-stateful"]),
    ("manual-unconfirmed", DB, replace(FULL, confirm=None), True, (), ["confirm with --confirm db"]),
    ("manual-wrong-confirm", DB, replace(FULL, confirm="web"), True, (), ["confirm with --confirm db"]),
    ("manual-no-backup", DB, replace(FULL, backup_ref=None), True, (), ["needs --backup-ref"]),
    ("manual-unknown-backup", DB, replace(FULL, backup_ref="nope"), True, (), ["not a recorded backup"]),
    (
        "manual-wrong-module-backup",
        DB,
        replace(FULL, backup_ref="web-ok"),
        True,
        (),
        ["backup of module 'web'"],
    ),
    ("manual-corrupt-backup", DB, replace(FULL, backup_ref="db-corrupt"), True, (), ["fails its checksum"]),
    (
        "manual-missing-artifact",
        DB,
        replace(FULL, backup_ref="db-missing"),
        True,
        (),
        ["artifact is missing"],
    ),
    (
        "manual-backup-before-change",
        DB,
        replace(FULL, backup_ref="db-old"),
        True,
        (),
        ["taken before module"],
    ),
    (
        "manual-backup-too-old",
        plan(("aged", ActionKind.UPDATE)),
        GateRequest("manual", ("aged",), True, "aged", "aged-2h"),
        True,
        (),
        ["older than 1 h"],
    ),
    (
        "manual-backup-young-enough",
        plan(("aged", ActionKind.UPDATE)),
        GateRequest("manual", ("aged",), True, "aged", "aged-ok"),
        False,
        ("aged",),
        [],
    ),
    (
        "manual-everything-missing",
        DB,
        GateRequest(),
        True,
        (),
        ["--module db", "--allow-stateful", "--confirm db", "--backup-ref"],
    ),
    (
        "noop-only-with-changes",
        plan(("smoke", ActionKind.UPDATE)),
        GateRequest("manual", ("smoke",), True, "smoke", None),
        True,
        (),
        ["noop-only"],
    ),
    ("noop-only-in-sync", plan(("smoke", ActionKind.NOOP)), GateRequest("manual", ("smoke",)), False, (), []),
    (
        "stateful-in-sync-needs-nothing",
        plan(("db", ActionKind.NOOP), ("web", ActionKind.UPDATE)),
        GateRequest(),
        False,
        ("web",),
        [],
    ),
    ("scope-limits-stateless", MIXED, GateRequest("manual", ("web",)), False, ("web",), []),
    ("unknown-module", DB, GateRequest("manual", ("nope",)), True, (), ["'nope' is not a module"]),
    ("auto-stateless", plan(("web", ActionKind.UPDATE)), GateRequest("auto"), False, ("web",), []),
    (
        "auto-mixed-blocks-stateful-only",
        MIXED,
        GateRequest("auto"),
        False,
        ("web",),
        ["'db' is never applied by the auto lane"],
    ),
    (
        "auto-ignores-stateful-pieces",
        DB,
        replace(FULL, lane="auto"),
        False,
        (),
        ["never applied by the auto lane"],
    ),
]


@pytest.mark.parametrize(
    ("plan_", "request_", "refused", "applied", "fragments"),
    [c[1:] for c in CASES],
    ids=[c[0] for c in CASES],
)
def test_gate(
    plan_: Plan, request_: GateRequest, refused: bool, applied: tuple[str, ...], fragments: list[str]
) -> None:
    decision = decide(plan_, POLICIES, request_, backups=BACKUPS, last_changes=LAST_CHANGES, now=NOW)
    assert decision.refused is refused
    assert decision.applied_modules == applied
    text = "\n".join(decision.reasons)
    for fragment in fragments:
        assert fragment in text, text
    if not fragments:
        assert decision.reasons == ()
    if refused:
        assert not any(decision.allows(a) for a in plan_.actions)


def test_auto_lane_names_each_blocked_module_and_the_gated_plan_keeps_the_rest() -> None:
    p = plan(("web", ActionKind.CREATE), ("db", ActionKind.UPDATE), ("aged", ActionKind.DELETE))
    decision = decide(p, POLICIES, GateRequest("auto"), backups=BACKUPS, last_changes=LAST_CHANGES, now=NOW)
    assert set(decision.blocked) == {"db", "aged"} and decision.blocks_anything
    kept = gated_plan(p, decision)
    assert [(a.index, a.module) for a in kept.actions] == [(0, "web")]
    assert decision.to_dict()["blocked"]["db"].startswith("stateful module 'db'")
