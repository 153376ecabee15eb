"""``driftgate runs list|show``."""

from datetime import UTC, datetime
from pathlib import Path

import typer

from driftgate.cli.common import JsonOption, out, print_json, print_rows, stack_name, workspace

app = typer.Typer(help="Past runs and their ledgers.", no_args_is_help=True, rich_markup_mode=None)


def _when(ts: float | None) -> str:
    return datetime.fromtimestamp(ts, UTC).strftime("%Y-%m-%d %H:%M:%S") if ts else ""


@app.command("list")
def list_(
    stack: Path | None = typer.Option(
        None, "--stack", "-s", help="Only runs of the stack in this directory (default: the current one's)."
    ),
    every: bool = typer.Option(False, "--all", help="Every stack's runs, wherever this is run."),
    limit: int = typer.Option(50, "--limit", min=1, max=1000),
    as_json: bool = JsonOption,
) -> int:
    """List recent runs, newest first: the stack of the current directory's, or --all."""
    from driftgate.services.stacks import history
    from driftgate.spec import STACK_FILE

    if stack is None and not every and Path(STACK_FILE).is_file():
        stack = Path(".")  # inside a stack, as every other stack command: its runs
    rows = history.list_runs(
        workspace(), stack=stack_name(stack) if stack and not every else None, limit=limit
    )
    if as_json:
        print_json({"runs": rows})
        return 0
    print_rows(
        ("run", "stack", "kind", "status", "actions", "started (UTC)", "by"),
        (
            (
                r["id"],
                r["stack"],
                r["kind"],
                r["status"],
                str(r["action_count"] or ""),
                _when(r["started_at"]),
                r["actor"],
            )
            for r in rows
        ),
    )
    return 0


@app.command("show")
def show(
    run_id: str = typer.Argument(..., help="A run id (or a unique prefix)."),
    as_json: bool = JsonOption,
    full: bool = typer.Option(False, "--full", help="On a terminal, show every action (default: 200)."),
) -> int:
    """Show one run and its per-action ledger."""
    from driftgate.services.stacks import history

    if as_json:
        print_json(history.show_run(workspace(), run_id))
    elif not out.is_terminal:  # piped: plain lines, without the outputs or rich
        from driftgate.cli.ledger import write_ledger_lines

        write_ledger_lines(history.show_run(workspace(), run_id, outputs=False))
    else:
        from driftgate.cli.render import render_ledger

        render_ledger(history.show_run(workspace(), run_id), full=full)
    return 0
