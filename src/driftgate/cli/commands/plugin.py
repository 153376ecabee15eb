"""``driftgate plugin list|serve``: the providers a stack can use, and providers out of process."""

from pathlib import Path

import typer

from driftgate.cli import exitcodes as codes
from driftgate.cli.common import JsonOption, StackOption, err, print_json, print_rows, workspace

app = typer.Typer(
    help="Provider plugins (protocol 2, over gRPC).", no_args_is_help=True, rich_markup_mode=None
)

BUILT_INS = ("data", "file", "postgres")


@app.command("serve")
def serve(name: str = typer.Argument(..., help="A built-in provider: data, file or postgres.")) -> int:
    """Serve a built-in provider as a plugin (driftgate starts this; it is not run by hand)."""
    if name not in BUILT_INS:
        err.print(f"usage error: plugin serve takes {' or '.join(BUILT_INS)}, not {name!r}", markup=False)
        return codes.USAGE
    from driftgate.plugin.builtin import serve_builtin

    return serve_builtin(name)


@app.command("list")
def list_(stack: Path = StackOption, as_json: bool = JsonOption) -> int:
    """Every provider the stack can use: source, version, protocol, capabilities (plugins are started)."""
    from driftgate.services.stacks.providers import list_providers

    found = list_providers(workspace(), stack)
    if as_json:
        print_json({"providers": found})
        return codes.OK
    rows = [
        (
            p["name"],
            p["source"],
            p["version"],
            p["protocol"],
            ", ".join(p["capabilities"]),
            ", ".join(p["kinds"]),
        )
        for p in found
    ]
    print_rows(("PROVIDER", "SOURCE", "VERSION", "PROTOCOL", "CAPABILITIES", "KINDS"), rows)
    return codes.OK


@app.command("check", context_settings={"allow_extra_args": True, "ignore_unknown_options": True})
def check(
    ctx: typer.Context,
    config: str = typer.Option("{}", "--config", help="The provider config, as JSON (default {})."),
    as_json: bool = JsonOption,
) -> int:
    """Run the provider contract against a plugin: driftgate plugin check -- COMMAND [ARGS]."""
    import json

    from driftgate.plugin.check import run_check

    command = list(ctx.args)
    if not command:
        err.print("usage error: name the plugin: driftgate plugin check -- COMMAND [ARGS]", markup=False)
        return codes.USAGE
    try:
        parsed = json.loads(config)
    except ValueError as exc:
        err.print(f"usage error: --config is not JSON: {exc}", markup=False)
        return codes.USAGE
    if not isinstance(parsed, dict):
        err.print("usage error: --config must be a JSON object", markup=False)
        return codes.USAGE
    report = run_check(command, config=parsed)
    if as_json:
        print_json(report.to_dict())
    else:
        for line in report.lines():
            print(line)
    return codes.OK if report.passed else codes.ERROR
