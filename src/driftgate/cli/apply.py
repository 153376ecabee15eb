"""``driftgate apply [PLANFILE]`` and ``driftgate gate``."""

import sys
from pathlib import Path
from typing import TYPE_CHECKING

import typer

from driftgate.cli import exitcodes as codes
from driftgate.cli.common import JsonOption, StackOption, err, out, print_json, workspace

if TYPE_CHECKING:
    from driftgate.apply.result import ActionOutcome
    from driftgate.gate.decision import GateDecision, GateRequest
    from driftgate.services.runs import ApplyReport, ApplySession

LaneOption = typer.Option("manual", "--lane", help="manual (a person) or auto (CI, a push, a schedule).")
ModuleOption = typer.Option([], "--module", help="Limit the apply to this module (repeatable).")
AllowOption = typer.Option(False, "--allow-stateful", help="Allow changing a stateful module.")
ConfirmOption = typer.Option(None, "--confirm", help="Repeat the stateful module's name.")
BackupOption = typer.Option(None, "--backup-ref", help="A verified backup of that module.")


def register(app: typer.Typer) -> None:
    @app.command("apply")
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
        repo_url: str | None = typer.Option(
            None, "--repo", help="Commit-back remote (overrides the stack's)."
        ),
        branch: str | None = typer.Option(
            None, "--branch", help="Commit-back branch (overrides the stack's)."
        ),
        lane: str = LaneOption,
        modules: list[str] = ModuleOption,
        allow_stateful: bool = AllowOption,
        confirm: str | None = ConfirmOption,
        backup_ref: str | None = BackupOption,
        dry_run: bool = typer.Option(False, "--dry-run", help="Print the gate's decision; apply nothing."),
    ) -> int:
        """Apply the specs (or a saved plan) through the gate, record a ledger, then commit back."""
        from driftgate.cli.render import render_commit_back, render_plan, render_result
        from driftgate.errors import TerminalError
        from driftgate.plan.model import read_plan
        from driftgate.services.commitback import Overrides, commit_back_report, resolve_target
        from driftgate.services.runs import apply_session

        ws = workspace()
        saved = read_plan(plan_file, key=ws.plan_key()) if plan_file is not None else None
        overrides = Overrides(target=target, remote=repo_url, branch=branch)
        request = gate_request(lane, modules, allow_stateful, confirm, backup_ref)
        directory = from_path or stack
        if (
            from_path is not None
            and do_commit_back
            and resolve_target(ws, ws.load_stack(directory), overrides) is None
        ):
            raise TerminalError(
                f"{from_path} is not in a git repository: "
                "name the config repo with --repo or commit_back.remote"
            )
        with apply_session(ws, directory, saved_plan=saved, refresh=refresh) as session:
            if not as_json:
                render_plan(session.plan, full=full)
            if session.plan.errors:
                if as_json:
                    from driftgate.cli.jsonout import diagnostic, print_diagnostics

                    print_diagnostics([diagnostic(e, code="PLAN_INVALID") for e in session.plan.errors])
                else:
                    err.print("error: the plan has errors; nothing was applied")
                return codes.ERROR
            decision = session.decide_gate(request)
            if dry_run:
                return show_decision(decision, as_json=as_json)
            if decision.refused:
                session.refuse(decision)
            if not session.plan.has_changes and not any(a.adopt for a in session.plan.actions):
                if as_json:
                    print_json({"run_id": None, "plan": session.plan.counts(), "result": None})
                return codes.OK
            if saved is None and not auto_approve and not _confirm():
                return codes.ERROR
            report = _execute(session, parallelism=parallelism, quiet=as_json, gate=decision)
            committed = (
                commit_back_report(ws, session.planned.stack, report, overrides) if do_commit_back else None
            )
        if as_json:
            print_json(
                {
                    "run_id": report.run_id,
                    "plan": report.plan.counts(),
                    "result": report.result.to_dict(),
                    "gate": decision.to_dict(),
                    "commit_back": committed.to_dict() if committed else None,
                }
            )
        else:
            render_result(report.result, report.run_id)
            if committed is not None:
                render_commit_back(committed)
        return _exit_code(report, decision, committed)

    @app.command("gate")
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
        from driftgate.services.runs import apply_session

        request = gate_request(lane, modules, allow_stateful, confirm, backup_ref)
        with apply_session(workspace(), stack) as session:
            return show_decision(session.decide_gate(request), as_json=as_json)


def _exit_code(report: "ApplyReport", decision: "GateDecision", committed: object) -> int:
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


def _execute(
    session: "ApplySession", *, parallelism: int | None, quiet: bool, gate: "GateDecision"
) -> "ApplyReport":
    total = len(session.plan.actions)
    if quiet or not err.is_terminal:
        return session.execute(parallelism=parallelism, gate=gate)
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

    columns = (TextColumn("applying"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn())
    with Progress(*columns, console=err, transient=True) as progress:
        task = progress.add_task("apply", total=total)

        def advance(_outcome: "ActionOutcome") -> None:
            progress.advance(task)

        report = session.execute(parallelism=parallelism, progress=advance, gate=gate)
    out.print()
    return report
