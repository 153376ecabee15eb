"""Human-readable rendering of plans and ledgers."""

from __future__ import annotations

import json
import sys
from collections import defaultdict
from typing import Any

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


def escape(text: str) -> str:
    """Rich markup escaped (rich loads only for what a terminal shows)."""
    from rich.markup import escape as rich_escape

    return rich_escape(text)


def _plain(text: str) -> str:
    return text


def _value(value: Any, *, full: bool = False, mark: Any = escape) -> str:
    text = value if isinstance(value, str) else json.dumps(value, default=str)
    text = ascii_only(text.replace("\n", "\\n"))
    return str(mark(text if full or len(text) <= _MAX_VALUE else text[: _MAX_VALUE - 1] + "…"))


def ascii_only(text: str) -> str:
    """Non-ASCII escaped (``\\u200b``), so invisible and look-alike characters cannot hide."""
    return text.encode("ascii", "backslashreplace").decode("ascii")


def _change(change: AttributeChange, **how: Any) -> str:
    mark = " (forces replacement)" if change.forces_replace else ""
    if change.old is None:
        return f"{change.name}: {_value(change.new, **how)}{mark}"
    return f"{change.name}: {_value(change.old, **how)} → {_value(change.new, **how)}{mark}"


_SYMBOL = {"create": "+", "update": "~", "replace": "-/+", "delete": "-", "noop": " "}


def _change_lines(action: Action, *, plain: bool = False, full: bool = False) -> list[str]:
    how: dict[str, Any] = {"full": full, "mark": _plain if plain else escape}
    if action.kind is ActionKind.CREATE and action.changes:
        lines = [f"{c.name}: {_value(c.new, **how)}" for c in action.changes]
    elif action.kind is ActionKind.CREATE:
        lines = [f"{k}: {_value(v, **how)}" for k, v in (action.desired or {}).items()]
    elif action.kind is ActionKind.DELETE:
        lines = []
    else:
        lines = [_change(c, **how) for c in action.changes]
    if action.reason:
        lines.append(f"({action.reason})" if plain else f"[dim]({action.reason})[/dim]")
    return lines


def _by_module(changes: list[Action]) -> dict[str, list[Action]]:
    by_module: dict[str, list[Action]] = defaultdict(list)
    for action in changes:
        by_module[action.module].append(action)
    return by_module


def _stateful_note(plan: Plan, module: str, actions: list[Action]) -> tuple[str, str]:
    """(plain text, rich markup) after a module's name."""
    if not (module in plan.stateful_modules or any(a.data_loss for a in actions)):
        return "", ""
    if only_creates(plan, module):
        note = " only creates: nothing exists yet, so no backup is needed"
        return f" (stateful){note}", f" [bold red](stateful)[/bold red] [green]{note.strip()}[/green]"
    return " (stateful)", " [bold red](stateful)[/bold red]"


def _destruction(plan: Plan) -> list[str]:
    """Data-loss actions (a data-bearing resource deleted or replaced), one line each (plain text),
    then the backup command for each module they are in."""
    doomed = plan.data_loss_actions
    lines = []
    for action in doomed:
        verb = "DELETES" if action.kind is ActionKind.DELETE else "REPLACES (deletes, then creates)"
        lines.append(
            f"!! DATA LOSS RISK !! this plan {verb} data-bearing {action.address} (module '{action.module}')"
        )
    for module in dict.fromkeys(a.module for a in doomed):
        lines.append(f"Take a backup first: driftgate backup create {module}")
    return lines


def write_plan_lines(plan: Plan, *, full: bool = False) -> None:
    """The plan as plain text for a pipe or a CI log: Terraform's symbols, no colour, no rich."""
    lines = [f"error: {error}" for error in plan.errors]
    changes = plan.changes
    if not changes:
        lines.append("No changes. Live state matches the specs." if plan.refreshed else "No changes.")
        sys.stdout.write("\n".join(lines) + "\n")
        return
    shown = 0
    for module, actions in _by_module(changes).items():
        if not full and shown >= ROW_LIMIT:
            break  # no empty module headings after the cut
        lines.append(f"module {module}{_stateful_note(plan, module, actions)[0]}")
        for action in actions[: None if full else ROW_LIMIT - shown]:
            shown += 1
            verb = action.kind.value
            lines.append(f"  {_SYMBOL[verb]} {verb} {ascii_only(action.address)}")
            lines.extend(f"      {line}" for line in _change_lines(action, plain=True, full=full))
    if shown < len(changes):
        lines.append(f"… {len(changes) - shown} more changes not shown (use --full, or --json).")
    lines.extend(_destruction(plan))
    lines.append(plan_summary(plan))
    sys.stdout.write("\n".join(lines) + "\n")


def plan_summary(plan: Plan) -> str:
    """Terraform's line: a replacement counts as one to add and one to destroy. What a person counts:
    a Terraform root with resource changes counts as those changes, not as one more of its own (its
    own action only records outputs), so the line agrees with ``terraform plan``'s."""
    parents = {a.parent for a in plan.actions if a.parent}
    counted = [a for a in plan.actions if a.address not in parents]
    c = {kind.value: 0 for kind in ActionKind}
    for action in counted:
        c[action.kind.value] += 1
    add, change, destroy = c["create"] + c["replace"], c["update"], c["delete"] + c["replace"]
    return f"Plan: {add} to add, {change} to change, {destroy} to destroy."


def render_plan(plan: Plan, *, full: bool = False) -> None:
    """On a terminal, a table per module in colour; piped, plain lines (``write_plan_lines``)."""
    if not out.is_terminal:
        write_plan_lines(plan, full=full)
        return
    from rich.table import Table

    for error in plan.errors:
        out.print(f"[red]error:[/red] {error}")
    changes = plan.changes
    if not changes:
        out.print("No changes. Live state matches the specs." if plan.refreshed else "No changes.")
        return
    shown = 0
    for module, actions in _by_module(changes).items():
        if not full and shown >= ROW_LIMIT:
            break  # no empty module tables after the cut
        title = f"module {module}{_stateful_note(plan, module, actions)[1]}"
        table = Table(title=title, title_justify="left", show_lines=False)
        table.add_column("address", no_wrap=True)
        table.add_column("action")
        table.add_column("changes", overflow="fold")
        for action in actions[: None if full else ROW_LIMIT - shown]:
            shown += 1
            style = _STYLE[action.kind.value]
            verb = action.kind.value
            table.add_row(
                escape(ascii_only(action.address)),
                f"[{style}]{escape(_SYMBOL[verb])} {verb}[/{style}]",
                "\n".join(_change_lines(action, full=full)),
            )
        out.print(table)
    if shown < len(changes):
        out.print(f"… {len(changes) - shown} more changes not shown (use --full, or --json).")
    for line in _destruction(plan):
        out.print(f"[bold red]{escape(line)}[/bold red]")
    out.print(plan_summary(plan))


def render_result(result: ApplyResult, run_id: str, *, held: bool = False) -> None:
    failed = [o for o in result.actions if o.status.value != "SUCCESS"]
    if failed and not out.is_terminal:  # a CI log: one line per action, whole addresses, nothing wrapped
        lines = ["actions that did not succeed:"]
        lines += [f"  #{o.index} {o.address} {o.action} {o.status.value}: {o.error or ''}" for o in failed]
        sys.stdout.write("\n".join(lines) + "\n")
    elif failed:
        from rich.table import Table

        table = Table(title="actions that did not succeed", title_justify="left")
        for col in ("#", "address", "action", "status", "reason"):
            table.add_column(col, overflow="fold")
        for o in failed[:ROW_LIMIT]:
            reason = escape(o.error or "")
            table.add_row(str(o.index), escape(o.address), o.action, f"[red]{o.status.value}[/red]", reason)
        out.print(table)
    counts: dict[str, int] = defaultdict(int)
    for o in result.actions:
        if o.action != "noop":  # a no-op is not a change: counted apart
            counts[o.status.value] += 1
    unchanged = sum(1 for o in result.actions if o.action == "noop")
    summary = ", ".join(f"{n} {s}" for s, n in sorted(counts.items())) or "nothing to change"
    if unchanged:
        summary += f" ({unchanged} unchanged)"
    for error in result.errors:
        out.print(f"[red]error:[/red] {error}")
    if held and not any(o.action != "noop" for o in result.actions):
        out.print(f"[yellow]Nothing applied:[/yellow] the gate held back every change. Run {run_id} (held).")
        return
    verdict = "[green]Apply complete.[/green]" if is_full_success(result) else "[red]Apply incomplete.[/red]"
    if held and is_full_success(result):
        verdict = "[yellow]Applied what the gate allowed; the rest was held back.[/yellow]"
    changes = len(result.actions) - unchanged
    out.print(f"{verdict} {changes} change{'' if changes == 1 else 's'}: {summary}. Run {run_id}.")


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
    from rich.table import Table

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
