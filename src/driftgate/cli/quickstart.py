"""``driftgate quickstart [DIR]``."""

from __future__ import annotations

import tempfile
from pathlib import Path

import typer

from driftgate.cli import exitcodes as codes
from driftgate.cli.common import out, state
from driftgate.cli.render import render_ledger, render_plan, render_result
from driftgate.config import load_settings
from driftgate.plan.model import Plan
from driftgate.services import history
from driftgate.services.quickstart import prepare_workdir, run_quickstart
from driftgate.services.runs import ApplyReport
from driftgate.services.workspace import Workspace


class _ConsoleNarrator:
    def __init__(self, ws: Workspace) -> None:
        self._ws = ws

    def say(self, text: str) -> None:
        out.print(f"\n[bold]{text}[/bold]", markup=True)

    def plan(self, plan: Plan) -> None:
        render_plan(plan)

    def result(self, report: ApplyReport) -> None:
        render_ledger(history.show_run(self._ws, report.run_id))
        render_result(report.result, report.run_id)


def register(app: typer.Typer) -> None:
    @app.command("quickstart")
    def quickstart(
        directory: Path | None = typer.Argument(
            None, help="A new or empty directory (default: a fresh temp dir)."
        ),
    ) -> int:
        """Run driftgate's main job end to end on embedded defaults (SQLite, a local git remote)."""
        workdir = directory or Path(tempfile.mkdtemp(prefix="driftgate-quickstart-"))
        prepare_workdir(workdir)
        home = state.home or workdir / "home"
        out.print(f"driftgate quickstart in {workdir} (store: SQLite under {home})")
        ws = Workspace.open(load_settings(home=home))
        ok = run_quickstart(ws, workdir, _ConsoleNarrator(ws))
        out.print(
            f"\nDone. Explore: cd {workdir / 'infra'} && driftgate --home {home} runs list"
            f" (or: state list, plan, apply)."
        )
        return codes.OK if ok else codes.PARTIAL
