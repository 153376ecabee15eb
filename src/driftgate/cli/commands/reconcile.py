"""``driftgate reconcile``."""

from pathlib import Path

import typer

from driftgate.cli import exitcodes as codes
from driftgate.cli.common import JsonOption, StackOption, out, print_json, workspace


def reconcile(
    stack: Path = StackOption,
    as_json: bool = JsonOption,
    target: str | None = typer.Option(None, "--target", help="branch-push (a draft branch) or pull-request."),
    repo_url: str | None = typer.Option(None, "--repo", help="The config repo (overrides the stack's)."),
    branch: str | None = typer.Option(None, "--branch", help="The base branch (overrides the stack's)."),
) -> int:
    """Drift → approximate snapshot → draft branch or draft PR (heal/ignore by module policy).

    Exit 0: no drift. 2: a draft was produced or updated. 7: drift, but no draft could be produced.
    """
    from driftgate.services.drift.reconcile import reconcile as run_reconcile
    from driftgate.services.stacks.commitback import Overrides

    run_id, result = run_reconcile(
        workspace(), stack, overrides=Overrides(target=target, remote=repo_url, branch=branch)
    )
    if as_json:
        print_json({"run_id": run_id, **result.to_dict()})
    elif result.draft:
        where = result.pr_url or f"branch {result.branch}"
        out.print(f"{result.drifted} drifted resource(s): draft at {where}.", markup=False)
        out.print(f"warning: {result.warning}", markup=False)
    elif result.state_diverged:
        out.print(f"[red]No draft produced:[/red] {result.reason}")
    else:
        out.print(
            "No drift to draft."
            + (" Told the open draft the drift is gone." if result.resolved_comment else "")
        )
    for address in [] if as_json else result.healed:  # --json: in the document, nothing after it
        out.print(f"healed: {address}", markup=False)
    for address in [] if as_json else result.ignored:
        out.print(f"ignored (policy): {address}", markup=False)
    if result.state_diverged:
        return codes.DIVERGED
    return codes.CHANGES if result.draft else codes.OK


def register(app: typer.Typer) -> None:
    app.command("reconcile")(reconcile)
