"""The quickstart's narrator: plain words, plans and ledgers on the console."""

from __future__ import annotations

from driftgate.cli.common import out
from driftgate.cli.render import escape, render_ledger, render_plan, render_result
from driftgate.plan.model import Plan
from driftgate.services.stacks import history
from driftgate.services.stacks.session import ApplyReport
from driftgate.services.workspace import Workspace


class ConsoleNarrator:
    def __init__(self, ws: Workspace) -> None:
        self._ws = ws

    def say(self, text: str) -> None:
        out.print(f"\n[bold]{escape(text)}[/bold]", markup=True)  # addresses hold [brackets]

    def plan(self, plan: Plan) -> None:
        render_plan(plan)

    def result(self, report: ApplyReport) -> None:
        render_ledger(history.show_run(self._ws, report.run_id))
        render_result(report.result, report.run_id)
