"""The ``driftgate`` executable: answers ``version``/``--version`` before importing anything else.

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
    from driftgate.cli.app import run as run_app

    run_app()


if __name__ == "__main__":
    run()
