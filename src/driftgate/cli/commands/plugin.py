"""``driftgate plugin serve|list``: providers out of process."""

import typer

from driftgate.cli import exitcodes as codes
from driftgate.cli.common import err

app = typer.Typer(
    help="Provider plugins (protocol 2, over gRPC).", no_args_is_help=True, rich_markup_mode=None
)

BUILT_INS = ("data", "file")


@app.command("serve")
def serve(name: str = typer.Argument(..., help="A built-in provider: data or file.")) -> int:
    """Serve a built-in provider as a plugin (driftgate starts this; it is not run by hand)."""
    if name not in BUILT_INS:
        err.print(f"usage error: plugin serve takes {' or '.join(BUILT_INS)}, not {name!r}", markup=False)
        return codes.USAGE
    from driftgate.plugin.builtin import serve_builtin

    return serve_builtin(name)
