"""``driftgate quickstart [DIR]``."""

import shutil
import sys
import tempfile
from pathlib import Path
from typing import TYPE_CHECKING

import typer

from driftgate.cli import exitcodes as codes
from driftgate.cli.common import out, state

if TYPE_CHECKING:
    from driftgate.services.workspace import Workspace


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
    token, stacks = dashboard_check(ws)
    out.print(
        f"\nThe dashboard shows these {stacks} stack(s), their runs and ledgers, drift and proposals:\n"
        f"  {own_command()} --home {home} serve --port 8080\n"
        f"  then open http://127.0.0.1:8080/ui/ and log in with this admin token (shown once): {token}",
        markup=False,
        soft_wrap=True,
    )
    out.print(
        f"\nDone. Explore: cd {workdir / 'infra'} && {own_command()} --home {home} runs list"
        f" (or: state list, plan, apply).",
        markup=False,
        soft_wrap=True,
    )
    return codes.OK if ok else codes.PARTIAL


def dashboard_check(ws: "Workspace") -> tuple[str, int]:
    """An admin token for the dashboard, checked by logging in with it and reading the stacks page
    in process (the same app ``driftgate serve`` runs): (the token, how many stacks it lists)."""
    import re
    import secrets
    import warnings

    from structlog.testing import capture_logs

    with warnings.catch_warnings():  # starlette's note about its test client is not the reader's business
        warnings.simplefilter("ignore")
        from fastapi.testclient import TestClient

    from driftgate.services.stacks.overview import stacks_overview
    from driftgate.services.tokens import create_token
    from driftgate.web import create_site

    token = create_token(ws, f"quickstart-admin-{secrets.token_hex(3)}", "admin")
    with capture_logs(), TestClient(create_site(ws), base_url="http://127.0.0.1") as client:  # no request log
        form = client.get("/ui/login").text
        csrf = re.search(r'name="csrf" value="([^"]+)"', form)
        assert csrf is not None, "the login page has no CSRF field"
        client.post("/ui/login", data={"token": token, "csrf": csrf.group(1), "next": "/ui/"})
        listed = client.get("/ui/")
        assert listed.status_code == 200 and "<h1>Stacks</h1>" in listed.text, listed.status_code
    return token, len(stacks_overview(ws))


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
