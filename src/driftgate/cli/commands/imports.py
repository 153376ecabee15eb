"""``driftgate import``: code that adopts a live object, on a draft branch for review."""

from pathlib import Path

import typer

from driftgate.cli import exitcodes as codes
from driftgate.cli.common import JsonOption, StackOption, out, print_json, workspace


def import_(
    resource: str = typer.Argument(..., help="The terraform.root: its name or address."),
    key: str = typer.Argument(..., help="The address inside it, e.g. aws_s3_bucket.legacy."),
    resource_id: str = typer.Argument(..., help="The live object's id, as its provider knows it."),
    stack: Path = StackOption,
    as_json: bool = JsonOption,
    repo_url: str | None = typer.Option(None, "--repo", help="The config repo (overrides the stack's)."),
    branch: str | None = typer.Option(None, "--branch", help="The base branch (overrides the stack's)."),
) -> int:
    """Write an import block and the configuration Terraform generates for it to a draft branch.

    Exit 2: a draft was produced. 7: no draft could be produced. Nothing is applied.
    """
    from driftgate.services.drift.reconcile import import_into_draft
    from driftgate.services.stacks.commitback import Overrides

    result = import_into_draft(
        workspace(), stack, resource, key, resource_id, overrides=Overrides(remote=repo_url, branch=branch)
    )
    if as_json:
        print_json(result.to_dict())
    elif result.draft:
        out.print(f"Import drafted at {result.pr_url or 'branch ' + str(result.branch)}.", markup=False)
        out.print(f"warning: {result.warning}", markup=False)
    else:
        out.print(f"[red]No draft produced:[/red] {result.reason}")
    return codes.CHANGES if result.draft else codes.DIVERGED


def register(app: typer.Typer) -> None:
    app.command("import")(import_)
