"""``driftgate quickstart``: the main job end to end, on embedded defaults.

It is a straight list of steps sharing one context, so later loops (commit-back,
drift) add steps without reshaping it. Each step says what it did in plain words
through the ``Narrator`` the edge supplies.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Protocol

from driftgate.errors import DriftgateError
from driftgate.gitops.gitcmd import add_remote, commit_all, init_repo, push
from driftgate.plan.model import Plan
from driftgate.services.runs import ApplyReport, apply_session, plan_stack
from driftgate.services.scaffold import scaffold_repo
from driftgate.services.workspace import Workspace


class Narrator(Protocol):
    def say(self, text: str) -> None: ...
    def plan(self, plan: Plan) -> None: ...
    def result(self, report: ApplyReport) -> None: ...


@dataclass
class QuickstartContext:
    ws: Workspace
    workdir: Path
    narrator: Narrator
    reports: list[ApplyReport] = field(default_factory=list)

    @property
    def repo(self) -> Path:
        return self.workdir / "infra"

    @property
    def remote(self) -> Path:
        return self.workdir / "remote.git"


Step = Callable[[QuickstartContext], None]


def create_repo(ctx: QuickstartContext) -> None:
    init_repo(ctx.remote, bare=True)
    scaffold_repo(ctx.repo, name="quickstart")
    add_remote(ctx.repo, "origin", str(ctx.remote))
    push(ctx.repo, "origin", "main")
    ctx.narrator.say(
        f"1. Created a config repo at {ctx.repo} with one stack (stack.yaml, modules/app.yaml, "
        f"modules/config.yaml) and pushed it to a local bare remote at {ctx.remote}."
    )


def validate(ctx: QuickstartContext) -> None:
    stack = ctx.ws.load_stack(ctx.repo)
    ctx.narrator.say(
        f"2. Validated the specs: {len(stack.modules)} modules, "
        f"{len(stack.resources)} resources, no problems."
    )


def _plan_and_apply(ctx: QuickstartContext, number: int, why: str) -> None:
    planned = plan_stack(ctx.ws, ctx.repo)
    counts = planned.plan.counts()
    ctx.narrator.say(
        f"{number}. Planned {why}: {counts['create']} to create, {counts['update']} to update, "
        f"{counts['replace']} to replace, {counts['delete']} to delete, {counts['noop']} unchanged."
    )
    ctx.narrator.plan(planned.plan)
    with apply_session(ctx.ws, ctx.repo) as session:
        report = session.execute()
    ctx.reports.append(report)
    verdict = "every action succeeded" if report.full_success else "NOT every action succeeded"
    ctx.narrator.say(
        f"{number + 1}. Applied it as run {report.run_id}: {verdict}. "
        "The ledger records one outcome per action:"
    )
    ctx.narrator.result(report)


def first_apply(ctx: QuickstartContext) -> None:
    _plan_and_apply(ctx, 3, "the new stack")
    live = ctx.repo / "live" / "site" / "index.html"
    ctx.narrator.say(f"   The file provider wrote {live}: {live.read_text().strip()!r}")


def change_spec(ctx: QuickstartContext) -> None:
    app = ctx.repo / "modules" / "app.yaml"
    app.write_text(app.read_text().replace("hello from driftgate", "hello again, from git"))
    commit_all(ctx.repo, "Change the greeting")
    push(ctx.repo, "origin", "main")
    ctx.narrator.say("5. Changed the greeting in modules/app.yaml, committed and pushed it.")


def second_apply(ctx: QuickstartContext) -> None:
    _plan_and_apply(ctx, 6, "again: the greeting changes, and so does everything that references it")
    planned = plan_stack(ctx.ws, ctx.repo)
    state = "in sync" if not planned.plan.has_changes else "NOT in sync"
    ctx.narrator.say(
        f"8. Planned once more: live state is {state} with git (exit code {planned.plan.exit_code()})."
    )


STEPS: list[Step] = [create_repo, validate, first_apply, change_spec, second_apply]


def prepare_workdir(workdir: Path) -> None:
    if workdir.exists() and any(workdir.iterdir()):
        raise DriftgateError(f"{workdir}: directory is not empty; choose a new or empty directory")
    workdir.mkdir(parents=True, exist_ok=True)


def run_quickstart(ws: Workspace, workdir: Path, narrator: Narrator, steps: list[Step] | None = None) -> bool:
    """Run every step in a prepared workdir; True when every apply was a full success."""
    ctx = QuickstartContext(ws=ws, workdir=workdir, narrator=narrator)
    for step in steps or STEPS:
        step(ctx)
    return all(r.full_success for r in ctx.reports)
