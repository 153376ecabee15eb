"""``driftgate lock status|break``."""

from pathlib import Path

import typer

from driftgate.cli.common import JsonOption, StackOption, out, print_json, stack_name, workspace

app = typer.Typer(help="The stack lock.", no_args_is_help=True, rich_markup_mode=None)


@app.command("status")
def status(stack: Path = StackOption, as_json: bool = JsonOption) -> int:
    """Show who holds the stack's lock, if anyone."""
    from driftgate.services.stacks.locking import lock_status

    name = stack_name(stack)
    holder = lock_status(workspace(), name)
    if as_json:
        print_json({"stack": name, "locked": holder is not None, "holder": holder})
        return 0
    out.print(f"locked by {holder}" if holder else "not locked", markup=False)
    return 0


@app.command("break")
def break_(
    name: str = typer.Argument(..., help="The stack's name."),
    force: bool = typer.Option(False, "--force", help="Break it even if its holder is alive on this host."),
) -> int:
    """Break a stale lock; the holder's run is marked interrupted."""
    from driftgate.services.stacks.locking import break_lock, describe_holder

    ws = workspace()
    lock = break_lock(ws, name, force=force)
    out.print(f"Broke the lock held by {describe_holder(ws, lock)}.", markup=False)
    out.print("Its in-flight actions are UNCERTAIN; the next plan reads their live state.")
    return 0
