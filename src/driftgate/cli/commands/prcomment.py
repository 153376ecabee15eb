"""``driftgate pr-comment``: a plan as one pull-request comment, edited in place (for CI)."""

from pathlib import Path

import typer

from driftgate.cli.common import JsonOption, out, print_json, workspace


def pr_comment(
    plan_json: Path = typer.Argument(..., metavar="PLAN_JSON", help="What `driftgate plan --json` printed."),
    repo_url: str = typer.Option(..., "--repo", help="The repository's HTTPS URL."),
    number: int = typer.Option(
        ..., "--pr", min=1, help="The pull (merge) request's number (GitLab: its iid)."
    ),
    auth: str = typer.Option(
        ..., "--auth", help="The forge token, as secret://env/NAME or secret://file/PATH (never the value)."
    ),
    forge: str | None = typer.Option(
        None, "--forge", help="github, gitea, forgejo or gitlab (default: asked of the host once)."
    ),
    link: str = typer.Option("", "--link", help="A link to the CI run, shown under the plan."),
    as_json: bool = JsonOption,
) -> int:
    """Post the plan on a pull request as one comment, updated in place on every push."""
    from driftgate.errors import INVALID_INPUT, CodedError
    from driftgate.services.pr_comment import post_plan_comment, read_plan_json
    from driftgate.spec.refs import check_secret_ref, is_secret_ref

    if not is_secret_ref(auth) or check_secret_ref(auth):
        raise CodedError(INVALID_INPUT, "--auth: a secret://env/NAME or secret://file/PATH reference")
    plan = read_plan_json(plan_json)
    ws = workspace()
    token = ws.secrets().resolve(auth)
    posted = post_plan_comment(
        ws, url=repo_url, number=number, token=token, plan=plan, forge=forge, link=link
    )
    if as_json:
        print_json({"comment_id": posted.comment_id, "created": posted.created, "forge": posted.forge})
    else:
        verb = "Posted" if posted.created else "Updated"
        out.print(
            f"{verb} the plan comment ({posted.forge} comment {posted.comment_id}) on #{number}", markup=False
        )
    return 0


def register(app: typer.Typer) -> None:
    app.command("pr-comment")(pr_comment)
