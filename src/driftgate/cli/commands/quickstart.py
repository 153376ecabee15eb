"""``driftgate quickstart [DIR]``."""

import shutil
import sys
import tempfile
from pathlib import Path

import typer

from driftgate.cli import exitcodes as codes
from driftgate.cli.common import out, state


def quickstart(
    directory: Path | None = typer.Argument(
        None, help="A new or empty directory (default: a fresh temp dir)."
    ),
) -> int:
    """Run driftgate's main job end to end on embedded defaults (SQLite, a local git remote)."""
    from driftgate.cli.narrator import ConsoleNarrator
    from driftgate.config import load_settings
    from driftgate.demo.quickstart import prepare_workdir, run_quickstart
    from driftgate.services.workspace import Workspace

    workdir = (directory or Path(tempfile.mkdtemp(prefix="driftgate-quickstart-"))).absolute()
    prepare_workdir(workdir)
    home = (state.home or workdir / "home").absolute()
    out.print(f"driftgate quickstart in {workdir} (store: SQLite under {home})")
    ws = Workspace.open(load_settings(home=home))
    state.opened.append(ws)
    ok = run_quickstart(ws, workdir, ConsoleNarrator(ws))
    out.print(
        f"\nDone. Explore: cd {workdir / 'infra'} && {own_command()} --home {home} runs list"
        f" (or: state list, plan, apply).",
        markup=False,
        soft_wrap=True,
    )
    return codes.OK if ok else codes.PARTIAL


def register(app: typer.Typer) -> None:
    app.command("quickstart")(quickstart)


def own_command() -> str:
    """How to run this very driftgate again: ``driftgate`` when that is on PATH, else its full path."""
    exe = Path(sys.argv[0])
    if exe.name != "driftgate":
        return f"{sys.executable} -m driftgate.cli.app"
    on_path = shutil.which("driftgate")
    if on_path is not None and Path(on_path).resolve() == exe.resolve():
        return "driftgate"
    return str(exe.absolute())
