"""``driftgate commit-back`` and ``driftgate loop-guard``."""

from pathlib import Path

import typer

from driftgate.cli import exitcodes as codes
from driftgate.cli.common import JsonOption, StackOption, print_json, workspace


def commit_back(
    stack: Path = StackOption,
    as_json: bool = JsonOption,
    target: str | None = typer.Option(None, "--target", help="branch-push or pull-request."),
    repo_url: str | None = typer.Option(None, "--repo", help="Commit-back remote (overrides the stack's)."),
    branch: str | None = typer.Option(None, "--branch", help="Commit-back branch (overrides the stack's)."),
    rebuild: bool = typer.Option(
        False,
        "--rebuild",
        help="Give up unpushed commit-backs that conflict with the remote; commit the applied specs "
        "afresh on the remote's tip.",
    ),
) -> int:
    """Re-run commit-back for the last applied run (idempotent; specs must be what was applied)."""
    from driftgate.cli.render import render_commit_back
    from driftgate.services.stacks.commitback import Overrides
    from driftgate.services.stacks.commitback_runs import recommit

    run_id, result = recommit(
        workspace(),
        stack,
        overrides=Overrides(target=target, remote=repo_url, branch=branch),
        rebuild=rebuild,
    )
    if as_json:
        print_json({"run_id": run_id, "commit_back": result.to_dict()})
    else:
        render_commit_back(result)
    return codes.DIVERGED if result.state_diverged else codes.OK


def loop_guard(
    stack: Path = StackOption,
    rev: str = typer.Option("HEAD", "--rev", help="The commit that triggered this run."),
    as_json: bool = JsonOption,
) -> int:
    """Exit 0 if REV is driftgate's own commit-back (skip the apply), 1 if it is not (go ahead)."""
    from driftgate.gitops.gitcmd import commit_message, is_driftgate_commit, toplevel

    top = toplevel(stack)
    own = top is not None and is_driftgate_commit(commit_message(top, rev))
    if as_json:
        print_json({"rev": rev, "own_commit": own, "skip": own})
    elif top is not None:
        print("driftgate's own commit-back: skip" if own else "not a driftgate commit: apply")
    return 0 if own else 1


def register(app: typer.Typer) -> None:
    app.command("commit-back")(commit_back)
    app.command("loop-guard")(loop_guard)
