"""``driftgate plan``."""

from pathlib import Path

import typer

from driftgate.cli.common import JsonOption, StackOption, err, out, print_json, workspace
from driftgate.errors import NotFoundError


def plan(
    stack: Path = StackOption,
    as_json: bool = JsonOption,
    out_file: Path | None = typer.Option(None, "--out", help="Save the plan to this file for `apply`."),
    refresh: bool = typer.Option(True, "--refresh/--no-refresh", help="Read live state first."),
    full: bool = typer.Option(False, "--full", help="Show every change, however many."),
    modules: list[str] = typer.Option(
        [], "--module", help="Plan only this module and what it depends on (repeatable; like -target)."
    ),
) -> int:
    """Show what apply would do. Exit 0 in sync, 2 changes present, 1 error."""
    from driftgate.cli.render import render_plan
    from driftgate.plan.model import write_plan
    from driftgate.services.stacks.session import plan_stack

    ws = workspace()
    planned = plan_stack(ws, stack, refresh=refresh)
    plan = planned.plan
    if modules:
        known = {m.name for m in planned.stack.modules} | {a.module for a in plan.actions}  # removed too
        unknown = [m for m in modules if m not in known]
        if unknown:
            raise NotFoundError(f"stack {planned.stack.name!r} has no module {unknown[0]!r}")
        plan = plan.targeted(tuple(modules))
        err.print(TARGETING_WARNING, markup=False)
    if out_file is not None:
        write_plan(plan, out_file, key=ws.plan_key())
    if as_json:
        from driftgate.cli.jsonout import diagnostic

        print_json(
            {**plan.to_dict(), "diagnostics": [diagnostic(e, code="PLAN_INVALID") for e in plan.errors]}
        )
    else:
        render_plan(plan, full=full)
        if out_file is not None:
            out.print(f"Saved the plan to {out_file}. Apply it with: driftgate apply {out_file}")
    return plan.exit_code()


def register(app: typer.Typer) -> None:
    app.command("plan")(plan)


TARGETING_WARNING = (
    "Note: this plan covers only the module(s) named with --module and what they depend on, as the "
    "manual lane for a stateful module needs. An apply of it does not commit back: the rest of the "
    "stack's changes wait for a whole-stack apply, which then commits the specs back."
)
