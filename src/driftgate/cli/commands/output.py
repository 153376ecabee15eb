"""``driftgate output``: recorded outputs, like ``terraform output``."""

from collections.abc import Callable
from pathlib import Path
from typing import Any

import typer

from driftgate.cli import exitcodes as codes
from driftgate.cli.common import out
from driftgate.spec.schema import KindSchema


def output(
    address: str | None = typer.Argument(None, help="One resource (default: every resource)."),
    stack: Path = typer.Option(Path("."), "--stack", "-s", help="The stack directory (holding stack.yaml)."),
    as_json: bool = typer.Option(False, "--json", help="Print machine-readable JSON."),
) -> int:
    """Print recorded outputs, like `terraform output`: one resource's, or every resource's by address."""
    from driftgate.cli.commands.state import as_yaml
    from driftgate.cli.common import print_json, stack_name, workspace
    from driftgate.services.stacks import history

    ws, name = workspace(), stack_name(stack)
    rows = [history.show_state(ws, name, address)] if address else history.list_state(ws, name)
    kinds = ws.registry_for(stack).kind  # a plugin's kinds come from its manifest
    outputs = {r["address"]: _shown_outputs(kinds, r) for r in rows}
    shown: Any = outputs[address] if address else outputs
    if as_json:
        print_json({"outputs": outputs})
    else:
        out.print(as_yaml(shown), markup=False, end="")
    return codes.OK


def _shown_outputs(kinds: Callable[[str], KindSchema | None], row: dict[str, Any]) -> dict[str, Any]:
    """A kind's sensitive outputs stay hidden, as in a plan."""
    schema = kinds(row["type"])
    hidden = schema.sensitive_outputs if schema is not None else frozenset()
    return {k: "(sensitive)" if k in hidden else v for k, v in row["outputs"].items()}


def register(app: typer.Typer) -> None:
    app.command("output")(output)
