"""Human-readable rendering of plans and ledgers."""

from __future__ import annotations

import json
from collections import defaultdict
from typing import Any

from rich.markup import escape
from rich.table import Table

from driftgate.apply.result import ApplyResult, is_full_success
from driftgate.cli.common import out
from driftgate.cli.ledger import LEDGER_COLUMNS, ledger_row, write_ledger_lines
from driftgate.gate.decision import only_creates
from driftgate.plan.model import Action, ActionKind, AttributeChange, Plan

_STYLE = {
    "create": "green",
    "update": "yellow",
    "replace": "magenta",
    "delete": "red",
    "noop": "dim",
}
_MAX_VALUE = 60
ROW_LIMIT = 200


def _value(value: Any) -> str:
    text = value if isinstance(value, str) else json.dumps(value, default=str)
    text = ascii_only(text.replace("\n", "\\n"))
    return escape(text if len(text) <= _MAX_VALUE else text[: _MAX_VALUE - 1] + "…")


def ascii_only(text: str) -> str:
    """Non-ASCII escaped (``\\u200b``), so invisible and look-alike characters cannot hide."""
    return text.encode("ascii", "backslashreplace").decode("ascii")


def _change(change: AttributeChange) -> str:
    mark = " (forces replacement)" if change.forces_replace else ""
    if change.old is None:
        return f"{change.name}: {_value(change.new)}{mark}"
    return f"{change.name}: {_value(change.old)} → {_value(change.new)}{mark}"


_SYMBOL = {"create": "+", "update": "~", "replace": "-/+", "delete": "-", "noop": " "}


def _changes(action: Action) -> str:
    if action.action is ActionKind.CREATE and action.changes:
        lines = [f"{c.name}: {_value(c.new)}" for c in action.changes]
    elif action.action is ActionKind.CREATE:
        lines = [f"{k}: {_value(v)}" for k, v in (action.desired or {}).items()]
    elif action.action is ActionKind.DELETE:
        lines = []
    else:
        lines = [_change(c) for c in action.changes]
    if action.reason:
        lines.append(f"[dim]({action.reason})[/dim]")
    return "\n".join(lines)


def plan_summary(plan: Plan) -> str:
    """Terraform's line: a replacement counts as one to add and one to destroy."""
    c = plan.counts()
    add, change, destroy = c["create"] + c["replace"], c["update"], c["delete"] + c["replace"]
    return f"Plan: {add} to add, {change} to change, {destroy} to destroy."


def render_plan(plan: Plan, *, full: bool = False) -> None:
    for error in plan.errors:
        out.print(f"[red]error:[/red] {error}")
    changes = plan.changes
    if not changes:
        out.print("No changes. Live state matches the specs." if plan.refreshed else "No changes.")
        return
    by_module: dict[str, list[Action]] = defaultdict(list)
    for action in changes:
        by_module[action.module].append(action)
    shown = 0
    for module, actions in by_module.items():
        is_stateful = module in plan.stateful_modules or any(a.stateful for a in actions)
        stateful = " [bold red](stateful)[/bold red]" if is_stateful else ""
        if is_stateful and only_creates(plan, module):
            stateful += " [green]only creates: nothing exists yet, so no backup is needed[/green]"
        if not full and shown >= ROW_LIMIT:
            break  # no empty module tables after the cut
        table = Table(title=f"module {module}{stateful}", title_justify="left", show_lines=False)
        table.add_column("address", no_wrap=True)
        table.add_column("action")
        table.add_column("changes", overflow="fold")
        for action in actions:
            if not full and shown >= ROW_LIMIT:
                break
            shown += 1
            style = _STYLE[action.action.value]
            verb = action.action.value
            table.add_row(
                escape(ascii_only(action.address)),
                f"[{style}]{escape(_SYMBOL[verb])} {verb}[/{style}]",
                _changes(action),
            )
        out.print(table)
    if shown < len(changes):
        out.print(f"… {len(changes) - shown} more changes not shown (use --full, or --json).")
    _call_out_destruction(plan)
    out.print(plan_summary(plan))


def _call_out_destruction(plan: Plan) -> None:
    """Deletes and replacements in stateful modules: impossible to miss."""
    doomed = [a for a in plan.actions if a.stateful and a.action in (ActionKind.DELETE, ActionKind.REPLACE)]
    for action in doomed:
        verb = "DELETES" if action.action is ActionKind.DELETE else "REPLACES (deletes, then creates)"
        out.print(
            f"[bold white on red] !! DATA LOSS RISK !! [/bold white on red] [bold red]this plan {verb} "
            f"{action.address} in stateful module '{action.module}'[/bold red]"
        )
    if doomed:
        out.print("[bold red]Take a backup first: driftgate backup create <module>[/bold red]")


def render_result(result: ApplyResult, run_id: str) -> None:
    failed = [o for o in result.actions if o.status.value != "SUCCESS"]
    if failed:
        table = Table(title="actions that did not succeed", title_justify="left")
        for col in ("#", "address", "action", "status", "reason"):
            table.add_column(col, overflow="fold")
        for o in failed[:ROW_LIMIT]:
            table.add_row(str(o.index), o.address, o.action, f"[red]{o.status.value}[/red]", o.error or "")
        out.print(table)
    counts: dict[str, int] = defaultdict(int)
    for o in result.actions:
        counts[o.status.value] += 1
    summary = ", ".join(f"{n} {s}" for s, n in sorted(counts.items()))
    for error in result.errors:
        out.print(f"[red]error:[/red] {error}")
    verdict = "[green]Apply complete.[/green]" if is_full_success(result) else "[red]Apply incomplete.[/red]"
    out.print(f"{verdict} {len(result.actions)} actions: {summary}. Run {run_id}.")


def render_commit_back(result: Any) -> None:
    """One or two lines on what commit-back did (a CommitBackResult)."""
    if result.committed:
        out.print(f"Commit-back: committed {result.commit[:12]} to {result.branch} and pushed it.")
    elif result.state_diverged:
        out.print(
            f"[red]STATE DIVERGED:[/red] applied, but git was not updated: {result.reason}\n"
            "Fix the cause, then run `driftgate commit-back` (it is safe to repeat).",
            markup=True,
        )
    elif result.reason == "no-changes":
        out.print("Commit-back: git already matches what was applied (nothing to commit).")
    elif result.reason == "already-in-remote":
        out.print(
            "Commit-back: the remote already holds these specs; an older unpushed commit-back was dropped."
        )
    else:
        out.print(f"Commit-back: skipped ({result.reason}).")
    if result.pushed_pending:
        out.print(
            f"Commit-back: also pushed {result.pushed_pending} commit(s) left unpushed by an earlier run."
        )


def render_ledger(run: dict[str, Any], *, full: bool = False) -> None:
    """The run and its ledger: piped, plain lines (``write_ledger_lines``); on a terminal, a table of
    the first rows (``full`` for all)."""
    if not out.is_terminal:
        write_ledger_lines(run)
        return
    out.print(
        f"run {run['id']}  stack {run['stack']}  {run['kind']}  "
        f"[bold]{run['status']}[/bold]  by {run['actor']}"
    )
    columns = LEDGER_COLUMNS
    rows = [ledger_row(entry) for entry in run["ledger"]]
    table = Table(show_lines=False)
    for col in columns:
        table.add_column(col, overflow="fold")
    for index, address, action, status, ms, error in rows[: None if full else ROW_LIMIT]:
        style = (
            "green" if status == "SUCCESS" else "yellow" if status in ("UNCERTAIN", "NOT_STARTED") else "red"
        )
        table.add_row(index, escape(address), action, f"[{style}]{status}[/{style}]", ms, escape(error))
    out.print(table)
    if not full and len(rows) > ROW_LIMIT:
        out.print(f"… {len(rows) - ROW_LIMIT} more actions not shown (use --full, pipe it, or --json).")
