"""The ``driftgate`` executable: answers ``version``/``--version`` before importing anything else,
and serves a built-in provider as a plugin (``plugin serve NAME``) without loading the CLI.

Everything else goes to ``driftgate.cli.app`` (typer, and what each command imports lazily);
``bench/bench_startup.py`` measures both paths.
"""

from __future__ import annotations

import sys


def run() -> None:
    if sys.argv[1:] in (["version"], ["--version"]):
        from driftgate import __version__

        sys.stdout.write(__version__ + "\n")
        sys.exit(0)
    serving = sys.argv[1:3] == ["plugin", "serve"] and len(sys.argv) == 4
    if serving and not sys.argv[3].startswith("-"):  # started by driftgate: no CLI (--help goes to it)
        from driftgate.plugin.builtin import main

        sys.exit(main(sys.argv[3]))
    from driftgate.cli.app import run as run_app

    run_app()


if __name__ == "__main__":
    run()
