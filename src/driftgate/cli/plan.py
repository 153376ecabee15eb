"""``driftgate plan``."""

from __future__ import annotations

from pathlib import Path

import typer

from driftgate.cli.common import JsonOption, StackOption, out, print_json, workspace


def register(app: typer.Typer) -> None:
    @app.command("plan")
    def plan(
        stack: Path = StackOption,
        as_json: bool = JsonOption,
        out_file: Path | None = typer.Option(None, "--out", help="Save the plan to this file for `apply`."),
        refresh: bool = typer.Option(True, "--refresh/--no-refresh", help="Read live state first."),
        full: bool = typer.Option(False, "--full", help="Show every change, however many."),
    ) -> int:
        """Show what apply would do. Exit 0 in sync, 2 changes present, 1 error."""
        from driftgate.cli.render import render_plan
        from driftgate.plan.model import write_plan
        from driftgate.services.runs import plan_stack

        ws = workspace()
        planned = plan_stack(ws, stack, refresh=refresh)
        if out_file is not None:
            write_plan(planned.plan, out_file, key=ws.plan_key())
        if as_json:
            print_json(planned.plan.to_dict())
        else:
            render_plan(planned.plan, full=full)
            if out_file is not None:
                out.print(f"Saved the plan to {out_file}. Apply it with: driftgate apply {out_file}")
        return planned.plan.exit_code()
