"""``driftgate state list|show``."""

import sys
from pathlib import Path
from typing import Any

import typer

from driftgate.cli.common import JsonOption, StackOption, out, print_json, print_rows, stack_name, workspace

app = typer.Typer(help="Recorded state.", no_args_is_help=True, rich_markup_mode=None)


@app.command("list")
def list_(stack: Path = StackOption, as_json: bool = JsonOption) -> int:
    """List the resources recorded for a stack."""
    from driftgate.services.stacks import history

    ws, name = workspace(), stack_name(stack)
    rows = history.list_state(ws, name) if as_json else history.list_addresses(ws, name)
    if as_json:
        print_json({"resources": rows})
        return 0
    if not out.is_terminal:  # like `terraform state list`: one full address per line
        sys.stdout.write("".join(f"{r['address']}\n" for r in rows))
        return 0
    print_rows(
        ("address", "type", "status", "last run"),
        ((r["address"], r["type"], r["status"], r["run_id"] or "") for r in rows),
    )
    return 0


@app.command("show")
def show(address: str, stack: Path = StackOption, as_json: bool = JsonOption) -> int:
    """Show one resource's recorded attributes and outputs."""
    from driftgate.services.stacks import history

    row = history.show_state(workspace(), stack_name(stack), address)
    if as_json:
        print_json(row)
        return 0
    out.print(f"# {row['address']} ({row['type']}, {row['status']}, run {row['run_id']})", markup=False)
    out.print(as_yaml({"attributes": row["attributes"], "outputs": row["outputs"]}), markup=False, end="")
    return 0


def as_yaml(data: Any) -> str:
    """Values as YAML (what specs are written in), never as Python reprs."""
    import yaml

    dumper: Any = getattr(yaml, "CSafeDumper", yaml.SafeDumper)
    text: str = yaml.dump(data, Dumper=dumper, sort_keys=False, allow_unicode=False, default_flow_style=False)
    return text


@app.command("move-stack")
def move_stack(
    to: Path = typer.Option(..., "--to", help="The stack's directory in its new place (holding stack.yaml)."),
    as_json: bool = JsonOption,
) -> int:
    """Bind a stack's recorded state to its new config repo or path, on purpose (recorded as a run)."""
    from driftgate.services.stacks.identity import move_stack as move

    ws = workspace()
    run_id, old, new = move(ws, ws.load_stack(to))
    if as_json:
        print_json({"run_id": run_id, "from": old, "to": new})
    else:
        out.print(f"Moved: {old or '(unbound)'} -> {new} (run {run_id}).", markup=False)
    return 0
