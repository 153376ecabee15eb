"""``driftgate validate``."""

from pathlib import Path

import typer

from driftgate.cli.common import JsonOption, StackOption, err, out, print_json, workspace


def validate(stack: Path = StackOption, as_json: bool = JsonOption) -> int:
    """Check every spec (plugins check their kinds' values too); report every problem as
    path:line: field: reason (exit 1)."""
    from driftgate.cli.jsonout import from_problems
    from driftgate.errors import SpecError
    from driftgate.services.stacks.providers import plugin_problems

    ws = workspace()
    try:
        loaded = ws.load_stack(stack)
        problems = plugin_problems(ws, loaded)  # plugins check their own kinds' values too
        if problems:
            raise SpecError(problems)
    except SpecError as exc:
        if not as_json:
            raise
        print_json({"valid": False, "diagnostics": from_problems(exc.problems, exc.code)})
        return 1
    if as_json:
        from driftgate.cli.jsonout import diagnostic

        warnings = [diagnostic(w, severity="warning") for w in loaded.warnings]
        print_json(
            {"valid": True, "stack": loaded.name, "resources": len(loaded.resources), "diagnostics": warnings}
        )
    else:
        for warning in loaded.warnings:
            err.print(f"Warning: {warning}", markup=False)
        out.print(
            f"Valid: stack {loaded.name!r}, {len(loaded.modules)} modules, {len(loaded.resources)} resources."
        )
    return 0


def register(app: typer.Typer) -> None:
    app.command("validate")(validate)
