"""``driftgate apply [PLANFILE]``."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import TYPE_CHECKING

import typer

from driftgate.cli import exitcodes as codes
from driftgate.cli.common import JsonOption, StackOption, err, out, print_json, workspace

if TYPE_CHECKING:
    from driftgate.apply.result import ActionOutcome
    from driftgate.services.runs import ApplyReport, ApplySession


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
            None,
            "--from",
            help="Apply specs that are not in git yet (a stack directory); commit-back then makes git match.",
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
    ) -> int:
        """Apply the specs (or a saved plan), record a per-action ledger, then commit back to git."""
        from driftgate.cli.render import render_commit_back, render_plan, render_result
        from driftgate.errors import TerminalError
        from driftgate.plan.model import read_plan
        from driftgate.services.commitback import Overrides, commit_back_report, resolve_target
        from driftgate.services.runs import apply_session

        saved = read_plan(plan_file) if plan_file is not None else None
        overrides = Overrides(target=target, remote=repo_url, branch=branch)
        directory = from_path or stack
        ws = workspace()
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
                err.print("error: the plan has errors; nothing was applied")
                return codes.ERROR
            if not session.plan.has_changes and not any(a.adopt for a in session.plan.actions):
                if as_json:
                    print_json({"run_id": None, "plan": session.plan.counts(), "result": None})
                return codes.OK
            if saved is None and not auto_approve and not _confirm():
                return codes.ERROR
            report = _execute(session, parallelism=parallelism, quiet=as_json)
            committed = None
            if do_commit_back:
                committed = commit_back_report(ws, session.planned.stack, report, overrides)
        if as_json:
            print_json(
                {
                    "run_id": report.run_id,
                    "plan": report.plan.counts(),
                    "result": report.result.to_dict(),
                    "commit_back": committed.to_dict() if committed else None,
                }
            )
        else:
            render_result(report.result, report.run_id)
            if committed is not None:
                render_commit_back(committed)
        if not report.full_success:
            return codes.PARTIAL
        return codes.DIVERGED if committed is not None and committed.state_diverged else codes.OK


def _confirm() -> bool:
    if not sys.stdin.isatty():
        err.print("error: refusing to apply without confirmation: pass --auto-approve (no terminal to ask)")
        return False
    answer = typer.prompt("Apply these changes? Only 'yes' is accepted", default="", show_default=False)
    if answer.strip() != "yes":
        err.print("Apply cancelled.")
        return False
    return True


def _execute(session: ApplySession, *, parallelism: int | None, quiet: bool) -> ApplyReport:
    total = len(session.plan.actions)
    if quiet or not err.is_terminal:
        return session.execute(parallelism=parallelism)
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

    columns = (TextColumn("applying"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn())
    with Progress(*columns, console=err, transient=True) as progress:
        task = progress.add_task("apply", total=total)

        def advance(_outcome: ActionOutcome) -> None:
            progress.advance(task)

        report = session.execute(parallelism=parallelism, progress=advance)
    out.print()
    return report
