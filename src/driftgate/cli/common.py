"""Shared CLI plumbing: the workspace from global options, consoles, JSON output."""

from __future__ import annotations

import json
import sys
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

import typer
from rich.console import Console

from driftgate.errors import TerminalError
from driftgate.spec.model import STACK_FILE
from driftgate.spec.yamlsafe import YamlError, load_yaml

if TYPE_CHECKING:
    from driftgate.services.workspace import Workspace

out = Console(highlight=False, soft_wrap=True)
err = Console(stderr=True, highlight=False, soft_wrap=True)

StackOption = typer.Option(Path("."), "--stack", "-s", help="The stack directory (holding stack.yaml).")
JsonOption = typer.Option(False, "--json", help="Print machine-readable JSON.")


class State:
    home: Path | None = None
    opened: list[Workspace] = []  # noqa: RUF012 - closed by main() when the command ends

    def close_all(self) -> None:
        while self.opened:
            self.opened.pop().close()


state = State()


def workspace() -> Workspace:
    """Open the store named by --home / the settings (imported here: commands load only what they use)."""
    from driftgate.config import load_settings
    from driftgate.services.workspace import Workspace

    ws = Workspace.open(load_settings(home=state.home))
    state.opened.append(ws)
    return ws


def print_rows(columns: Sequence[str], rows: Iterable[Sequence[str]]) -> None:
    """A table on a terminal; piped, plain tab-separated lines that nothing cuts (a header first)."""
    if out.is_terminal:
        from rich.table import Table

        table = Table()
        for column in columns:
            table.add_column(column)
        for row in rows:
            table.add_row(*row)
        out.print(table)
        return
    lines = ["\t".join(columns), *("\t".join(row) for row in rows)]
    sys.stdout.write("\n".join(lines) + "\n")


def print_json(data: Any) -> None:
    sys.stdout.write(json.dumps(data, indent=2, sort_keys=False, default=str) + "\n")


def stack_name(directory: Path) -> str:
    """The stack's name from its stack.yaml, without loading its modules."""
    path = directory / STACK_FILE
    try:
        data = load_yaml(path.read_bytes(), max_bytes=1 << 20).data
    except (OSError, YamlError) as exc:
        raise TerminalError(f"{path}: {exc}") from None
    name = data.get("name") if isinstance(data, dict) else None
    if not isinstance(name, str):
        raise TerminalError(f"{path}: no stack name")
    return name
