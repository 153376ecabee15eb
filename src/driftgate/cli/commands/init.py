"""``driftgate init DIR``."""

from pathlib import Path

import typer

from driftgate.cli.common import JsonOption, out, print_json, workspace


def init(
    directory: Path = typer.Argument(..., help="New (or empty) directory for the config repo."),
    name: str | None = typer.Option(
        None, "--name", help="The stack's name (default: from the directory's name)."
    ),
    as_json: bool = JsonOption,
) -> int:
    """Scaffold a config repo (a git repository) with one stack."""
    from driftgate.demo.scaffold import check_stack_name, default_stack_name, scaffold_repo
    from driftgate.services.stacks.identity import check_name_free, directory_url

    directory = directory.absolute()
    name = name if name is not None else default_stack_name(directory)
    check_stack_name(name)
    check_name_free(workspace(), name, f"{directory_url(directory)}#.")
    files = scaffold_repo(directory, name=name)
    if as_json:
        print_json(
            {
                "stack": name,
                "directory": str(directory),
                "files": [str(p.relative_to(directory)) for p in files],
            }
        )
        return 0
    out.print(f"Created a config repo with stack {name!r} in {directory}:")
    for path in files:
        out.print(f"  {path.relative_to(directory)}")
    out.print(f"Next: cd {directory} && driftgate validate && driftgate plan")
    return 0


def register(app: typer.Typer) -> None:
    app.command("init")(init)
