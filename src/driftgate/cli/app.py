"""The ``driftgate`` command: global options, command registration, error-to-exit-code mapping."""

import os
import sys
from pathlib import Path
from typing import Any

import typer
from typer.core import TyperOption

from driftgate import __version__, errors
from driftgate.cli import exitcodes as codes
from driftgate.cli.commands import (
    apply,
    backup,
    commitback,
    drift,
    imports,
    init,
    localforge,
    lock,
    output,
    plan,
    plugin,
    prcomment,
    quickstart,
    reconcile,
    runs,
    service,
    state,
    validate,
)
from driftgate.cli.common import err, out
from driftgate.cli.common import state as cli_state
from driftgate.cli.jsonout import diagnostic, from_problems, print_diagnostics, wants_json
from driftgate.errors import DriftgateError, GateRefused, SpecError
from driftgate.security.redact import redact


def _flags_show_no_type() -> None:
    """A flag takes no value, so its help shows no type (typer 0.29 prints ``<bool>`` for every flag,
    ``--help`` included). The one adjustment driftgate makes to typer's help, made here."""
    original = TyperOption.display_type_rich

    def display_type_rich(self: TyperOption, ctx: Any) -> str | None:
        return None if self.is_flag else original(self, ctx)

    TyperOption.display_type_rich = display_type_rich  # type: ignore[method-assign]


_flags_show_no_type()

app = typer.Typer(
    name="driftgate",
    help="driftgate: a closed-loop GitOps control plane. Git stays the single source of truth.",
    no_args_is_help=True,
    rich_markup_mode=None,  # plain help, as git and terraform print it: no rich import for --help
    add_completion=False,
    pretty_exceptions_enable=False,
    context_settings={"help_option_names": ["-h", "--help"]},
)


def _print_version(value: bool) -> None:
    if value:
        print(__version__)
        raise typer.Exit()


@app.callback()
def _global(
    home: Path | None = typer.Option(None, "--home", help="Data directory (default: $DRIFTGATE_HOME)."),
    no_color: bool = typer.Option(False, "--no-color", help="No colour (NO_COLOR=1 does the same)."),
    _version: bool = typer.Option(
        False, "--version", callback=_print_version, is_eager=True, help="Print the version and exit."
    ),
) -> None:
    cli_state.home = home
    if no_color:
        out.no_color = err.no_color = True


@app.command("version")
def version(as_json: bool = typer.Option(False, "--json", help="Print a JSON document.")) -> None:
    """Print driftgate's version."""
    if as_json:
        from driftgate.cli.jsonout import print_json

        print_json({"version": __version__})
        return
    print(__version__)


output.register(app)


@app.command("completion")
def completion(shell: str = typer.Argument(..., help="bash, zsh or fish.")) -> int:
    """Print a shell completion script (e.g. `driftgate completion bash > ~/.driftgate-completion`)."""
    from typer._completion_shared import get_completion_script

    if shell not in ("bash", "zsh", "fish"):
        err.print(f"usage error: completion takes bash, zsh or fish, not {shell!r}", markup=False)
        return codes.USAGE
    print(get_completion_script(prog_name="driftgate", complete_var="_DRIFTGATE_COMPLETE", shell=shell))
    return codes.OK


for module in (
    init,
    validate,
    plan,
    apply,
    output,
    commitback,
    prcomment,
    drift,
    reconcile,
    imports,
    quickstart,
    localforge,
    service,
):
    module.register(app)
app.add_typer(runs.app, name="runs")
app.add_typer(state.app, name="state")
app.add_typer(lock.app, name="lock")
app.add_typer(backup.app, name="backup")
app.add_typer(service.token_app, name="token")
app.add_typer(plugin.app, name="plugin")
service.register_worker(app)


def main(argv: list[str] | None = None) -> int:
    """Run the CLI and turn every error into a one-line message and a distinct exit code.

    With ``--json`` the error comes as JSON diagnostics on stdout instead (docs/json.md), with the
    same exit code."""
    as_json = wants_json(sys.argv[1:] if argv is None else argv)
    try:
        result = _invoke(argv)
    except typer.Exit as exc:
        return int(getattr(exc, "exit_code", 0))
    except typer.Abort:
        return _fail(codes.INTERRUPTED, ["aborted"], as_json)
    except GateRefused as exc:
        reasons = [redact(reason) for reason in exc.reasons]
        if as_json:
            print_diagnostics([diagnostic(r, code=exc.code) for r in reasons])
        else:
            err.print("error: the apply gate refused; nothing was touched:", markup=False)
            for reason in reasons:
                err.print(f"  - {reason}", markup=False)
        return codes.REFUSED
    except SpecError as exc:
        if as_json:
            print_diagnostics(from_problems(exc.problems, exc.code))
        else:
            for problem in exc.problems:
                err.print(str(problem), markup=False)
            err.print(f"{len(exc.problems)} problem(s) found", markup=False)
        return codes.ERROR
    except DriftgateError as exc:
        return _fail(codes.for_error(exc), [redact(str(exc))], as_json, exc.code)
    except KeyboardInterrupt:
        return _fail(codes.INTERRUPTED, ["interrupted"], as_json)
    except Exception as exc:
        if not _is_click_error(exc):
            return _unexpected(exc, as_json)
        # click's protocol (typer may vendor its own copy): usage errors exit 2 there, 64 here.
        usage = getattr(exc, "exit_code", 1) == 2
        message = _without_far_guesses(exc)
        code = errors.USAGE if usage else None
        return _fail(codes.USAGE if usage else codes.ERROR, [message], as_json, code)
    return int(result) if isinstance(result, int) else codes.OK


def _fail(code: int, messages: list[str], as_json: bool, error_code: str | None = None) -> int:
    if as_json:
        print_diagnostics([diagnostic(m, code=error_code) for m in messages])
    else:
        prefix = "usage error" if error_code == errors.USAGE else "error"
        for message in messages:
            shown = message if message in ("aborted", "interrupted") else f"{prefix}: {message}"
            err.print(shown, markup=False)
    return code


def _unexpected(exc: Exception, as_json: bool = False) -> int:
    """A bug or an unforeseen failure: one redacted line (the traceback only with DRIFTGATE_DEBUG=1)."""
    from driftgate.config import environment_value

    if environment_value("DRIFTGATE_DEBUG") == "1":
        import traceback

        err.print(redact("".join(traceback.format_exception(exc))), markup=False)
    message = " ".join(str(exc).split())[:500]
    return _fail(
        codes.ERROR, [f"internal error: {type(exc).__name__}: {redact(message)}"], as_json, "INTERNAL"
    )


def _invoke(argv: list[str] | None) -> object:
    # The shell's completion protocol (click reads this variable itself): not a driftgate setting.
    if argv is None and "_DRIFTGATE_COMPLETE" in os.environ:
        from importlib import import_module

        import_module("typer.completion").completion_init()  # see `driftgate completion`
    try:
        return app(args=argv, standalone_mode=False)
    finally:
        cli_state.close_all()


def _is_click_error(exc: Exception) -> bool:
    return hasattr(exc, "format_message") and hasattr(exc, "exit_code")


def run() -> None:
    sys.exit(main())


if __name__ == "__main__":
    run()


def _without_far_guesses(exc: Exception) -> str:
    """click's message, but a "Possible options" guess only when it is close (``--bogus`` is not a
    misspelt ``--out``)."""
    import difflib

    name, possibilities = getattr(exc, "option_name", None), getattr(exc, "possibilities", None)
    if isinstance(name, str) and possibilities:
        close = difflib.get_close_matches(name, list(possibilities), n=3, cutoff=0.75)
        hint = f" (did you mean {' or '.join(close)}?)" if close else ""
        return f"No such option: {name}{hint}"
    return str(exc.format_message())  # type: ignore[attr-defined]
