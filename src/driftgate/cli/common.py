"""Shared CLI plumbing: the workspace from global options, consoles, JSON output."""

from __future__ import annotations

import os
import sys
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

import typer

from driftgate.errors import TerminalError

if TYPE_CHECKING:
    from rich.console import Console

    from driftgate.services.workspace import Workspace


_TERMINAL_OVERRIDES = {"FORCE_TERMINAL", "TTY_COMPATIBLE", "TTY_INTERACTIVE"}  # rich reads these


class LazyConsole:
    """A rich Console made on first use: importing rich costs more than ``--help`` or ``version``
    take in all, and most commands print little (see bench/bench_startup.py)."""

    def __init__(self, **options: Any) -> None:
        object.__setattr__(self, "_options", options)
        object.__setattr__(self, "_console", None)

    def _get(self) -> Console:
        console: Console | None = object.__getattribute__(self, "_console")
        if console is None:
            from rich.console import Console

            console = Console(**object.__getattribute__(self, "_options"))
            object.__setattr__(self, "_console", console)
        return console

    def __getattr__(self, name: str) -> Any:
        return getattr(self._get(), name)

    @property
    def is_terminal(self) -> bool:
        """Asked before printing a listing: answered without loading rich unless rich decides."""
        if object.__getattribute__(self, "_console") is None and not _TERMINAL_OVERRIDES & set(os.environ):
            stderr = object.__getattribute__(self, "_options").get("stderr", False)
            return (sys.stderr if stderr else sys.stdout).isatty()
        return bool(self._get().is_terminal)

    def __setattr__(self, name: str, value: Any) -> None:
        setattr(self._get(), name, value)


def real_console(console: Console) -> Console:
    """The rich Console itself, for what uses it as one: a progress bar enters it as a context, and
    special methods are never looked up through ``LazyConsole.__getattr__``."""
    return console._get() if isinstance(console, LazyConsole) else console


out: Console = LazyConsole(highlight=False, soft_wrap=True)  # type: ignore[assignment]
err: Console = LazyConsole(stderr=True, highlight=False, soft_wrap=True)  # type: ignore[assignment]

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
        from rich.text import Text

        table = Table()
        for column in columns:
            table.add_column(column)
        for row in rows:
            table.add_row(*(Text(cell) for cell in row))  # plain text: addresses hold [brackets]
        out.print(table)
        return
    lines = ["\t".join(columns), *("\t".join(row) for row in rows)]
    sys.stdout.write("\n".join(lines) + "\n")


def print_json(data: Any) -> None:
    """A ``--json`` document (cli/jsonout.py: ``format_version``, RFC 3339 timestamps)."""
    from driftgate.cli.jsonout import print_json as print_document

    print_document(data)


def stack_name(directory: Path) -> str:
    """The stack's name from its stack.yaml, without loading its modules."""
    from driftgate.errors import NotFoundError
    from driftgate.spec import STACK_FILE
    from driftgate.spec.yamlsafe import YamlError, load_yaml

    path = directory / STACK_FILE
    if not path.is_file():  # name the place, not a bare "stack.yaml"
        where = directory.absolute()
        why = "no such directory" if not directory.is_dir() else f"no {STACK_FILE} here"
        raise NotFoundError(f"{where}: {why} (not a stack directory; name one with -s DIR)")
    try:
        data = load_yaml(path.read_bytes(), max_bytes=1 << 20).data
    except (OSError, YamlError) as exc:
        raise TerminalError(f"{path}: {exc}") from None
    name = data.get("name") if isinstance(data, dict) else None
    if not isinstance(name, str):
        raise TerminalError(f"{path}: no stack name")
    return name
