"""``driftgate apply [PLANFILE]`` and ``driftgate gate``."""

import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING

import typer

from driftgate.cli import exitcodes as codes
from driftgate.cli.common import JsonOption, StackOption, err, out, print_json, real_console, workspace

if TYPE_CHECKING:
    from driftgate.apply.executor import ProgressCallback
    from driftgate.apply.result import ActionOutcome
    from driftgate.gate.decision import GateDecision, GateRequest
    from driftgate.services.stacks.session import ApplyReport

LaneOption = typer.Option("manual", "--lane", help="manual (a person) or auto (CI, a push, a schedule).")
ModuleOption = typer.Option([], "--module", help="Limit the apply to this module (repeatable).")
AllowOption = typer.Option(False, "--allow-stateful", help="Allow changing a stateful module.")
ConfirmOption = typer.Option(None, "--confirm", help="Repeat the stateful module's name.")
BackupOption = typer.Option(None, "--backup-ref", help="A verified backup of that module.")


def apply(
    plan_file: Path | None = typer.Argument(None, help="A plan saved by `plan --out`."),
    stack: Path = StackOption,
    auto_approve: bool = typer.Option(False, "--auto-approve", help="Apply without asking."),
    parallelism: int | None = typer.Option(
        None,
        "--parallelism",
        min=1,
        max=256,
        help="Actions at once (default: $DRIFTGATE_PARALLELISM or 10).",
    ),
    refresh: bool = typer.Option(True, "--refresh/--no-refresh", help="Read live state first."),
    as_json: bool = JsonOption,
    full: bool = typer.Option(False, "--full", help="Show every planned change."),
    from_path: Path | None = typer.Option(
        None, "--from", help="Apply specs that are not in git yet; commit-back then makes git match."
    ),
    do_commit_back: bool = typer.Option(
        True,
        "--commit-back/--no-commit-back",
        help="After full success, commit the authored specs to git.",
    ),
    target: str | None = typer.Option(
        None, "--target", help="Commit-back target: branch-push or pull-request."
    ),
    repo_url: str | None = typer.Option(None, "--repo", help="Commit-back remote (overrides the stack's)."),
    branch: str | None = typer.Option(None, "--branch", help="Commit-back branch (overrides the stack's)."),
    lane: str = LaneOption,
    modules: list[str] = ModuleOption,
    allow_stateful: bool = AllowOption,
    confirm: str | None = ConfirmOption,
    backup_ref: str | None = BackupOption,
    dry_run: bool = typer.Option(False, "--dry-run", help="Print the gate's decision; apply nothing."),
) -> int:
    """Apply the specs (or a saved plan) through the gate, record a ledger, then commit back."""
    from driftgate.cli.render import render_commit_back, render_plan, render_result
    from driftgate.errors import PlanHasErrors
    from driftgate.plan.model import read_plan
    from driftgate.services.stacks.apply import ApplyRequest, apply_stack
    from driftgate.services.stacks.commitback import Overrides

    ws = workspace()
    saved = read_plan(plan_file, key=ws.plan_key()) if plan_file is not None else None
    request = ApplyRequest(
        directory=from_path or stack,
        gate=gate_request(lane, modules, allow_stateful, confirm, backup_ref),
        saved_plan=saved,
        refresh=refresh,
        parallelism=parallelism,
        commit_back=do_commit_back,
        overrides=Overrides(target=target, remote=repo_url, branch=branch),
        from_path=from_path is not None,
        dry_run=dry_run,
    )
    request_progress = not as_json and err.is_terminal
    try:
        outcome = apply_stack(
            ws,
            request,
            on_plan=None if as_json else lambda plan: render_plan(plan, full=full),
            confirm=None if saved is not None or auto_approve else lambda _plan, _gate: _confirm(),
            progress=_progress_bar if request_progress else None,
        )
    except PlanHasErrors as exc:
        if as_json:
            from driftgate.cli.jsonout import diagnostic, print_diagnostics

            print_diagnostics([diagnostic(e, code=exc.code) for e in exc.errors])
        else:
            err.print("error: the plan has errors; nothing was applied")
        return codes.ERROR
    if dry_run:
        return show_decision(outcome.decision, as_json=as_json)
    if outcome.declined:
        return codes.ERROR
    report, committed = outcome.report, outcome.commit_back
    if report is None:  # nothing to do
        if as_json:
            print_json({"run_id": None, "plan": outcome.plan.counts(), "result": None})
        return codes.OK
    if as_json:
        print_json(
            {
                "run_id": report.run_id,
                "plan": report.plan.counts(),
                "result": report.result.to_dict(),
                "gate": outcome.decision.to_dict(),
                "commit_back": committed.to_dict() if committed else None,
            }
        )
    else:
        if request_progress:
            out.print()  # after the bar
        render_result(report.result, report.run_id, held=bool(outcome.decision.blocked))
        if committed is not None:
            render_commit_back(committed)
    return _exit_code(report, outcome.decision, committed)


def gate(
    stack: Path = StackOption,
    as_json: bool = JsonOption,
    lane: str = LaneOption,
    modules: list[str] = ModuleOption,
    allow_stateful: bool = AllowOption,
    confirm: str | None = ConfirmOption,
    backup_ref: str | None = BackupOption,
) -> int:
    """Print the gate's decision for the current plan (like `apply --dry-run`): exit 0 allowed, 4 not."""
    from driftgate.services.stacks.apply import gate_decision

    request = gate_request(lane, modules, allow_stateful, confirm, backup_ref)
    return show_decision(gate_decision(workspace(), stack, request), as_json=as_json)


def register(app: typer.Typer) -> None:
    app.command("apply")(apply)
    app.command("gate")(gate)


def _exit_code(report: "ApplyReport", decision: "GateDecision", committed: object) -> int:
    from driftgate.apply.executor import INTERRUPTED

    if INTERRUPTED in report.result.errors:
        return codes.INTERRUPTED  # Ctrl-C: 130, as the exit-code table says (the ledger says the rest)
    if not report.full_success:
        return codes.PARTIAL
    if decision.blocked:
        for reason in decision.blocked.values():
            err.print(f"held back: {reason}", markup=False)
        return codes.REFUSED
    diverged = getattr(committed, "state_diverged", False)
    return codes.DIVERGED if diverged else codes.OK


def gate_request(
    lane: str, modules: list[str], allow_stateful: bool, confirm: str | None, backup_ref: str | None
) -> "GateRequest":
    from driftgate.errors import TerminalError
    from driftgate.gate.decision import GateRequest

    if lane not in ("manual", "auto"):
        raise TerminalError(f"--lane must be manual or auto, not {lane!r}")
    return GateRequest(
        "auto" if lane == "auto" else "manual",
        tuple(modules),
        allow_stateful=allow_stateful,
        confirm=confirm,
        backup_ref=backup_ref,
    )


def show_decision(decision: "GateDecision", *, as_json: bool) -> int:
    """Print the gate's decision; exit 0 when everything may apply, 4 otherwise."""
    if as_json:
        print_json({"gate": decision.to_dict()})
    elif decision.refused:
        out.print("Gate: REFUSED. Nothing would be applied:", markup=False)
        for reason in decision.reasons:
            out.print(f"  - {reason}", markup=False)
    else:
        applied = ", ".join(decision.applied_modules) or "(no changes)"
        out.print(f"Gate ({decision.lane} lane): would apply modules: {applied}", markup=False)
        for module, reason in decision.blocked.items():
            out.print(f"  held back {module}: {reason}", markup=False)
        for module in decision.out_of_scope:
            out.print(f"  out of scope: {module}", markup=False)
    return codes.REFUSED if decision.blocks_anything else codes.OK


def _confirm() -> bool:
    if not sys.stdin.isatty():
        err.print("error: refusing to apply without confirmation: pass --auto-approve (no terminal to ask)")
        return False
    answer = typer.prompt("Apply these changes? Only 'yes' is accepted", default="", show_default=False)
    if answer.strip() != "yes":
        err.print("Apply cancelled.")
        return False
    return True


@contextmanager
def _progress_bar(total: int) -> Iterator["ProgressCallback"]:
    """A bar on the terminal's stderr while the actions run (gone when they are done)."""
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

    columns = (TextColumn("applying"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn())
    with Progress(*columns, console=real_console(err), transient=True) as progress:
        task = progress.add_task("apply", total=total)

        def advance(_outcome: "ActionOutcome") -> None:
            progress.advance(task)

        yield advance
