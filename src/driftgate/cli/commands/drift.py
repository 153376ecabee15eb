"""``driftgate drift``."""

import json
import sys
from pathlib import Path
from typing import TYPE_CHECKING

import typer

from driftgate.cli.common import JsonOption, StackOption, out, print_json, workspace

if TYPE_CHECKING:
    from driftgate.drift.detect import DriftReport


def drift(
    stack: Path = StackOption,
    modules: list[str] = typer.Option([], "--module", help="Only this module (repeatable)."),
    as_json: bool = JsonOption,
) -> int:
    """Compare live state with recorded state. Exit 0 no drift, 2 drift, 1 error."""
    from driftgate.services.drift.scan import scan_drift

    report = scan_drift(workspace(), stack, modules=modules)
    if as_json:
        print_json(report.to_dict())
        return report.exit_code()
    for error in report.errors:
        out.print(f"[red]error:[/red] {error}")
    if not report.items:
        out.print(f"No drift: {report.scanned} resources match their recorded state.")
        return report.exit_code()
    summary = _summary(report) + " Turn it into a draft for review with: driftgate reconcile"
    if not out.is_terminal:  # a CI log: one line per item and per change, whole addresses
        lines = [f"drift in stack {report.stack}:"]
        for item in report.items:
            lines.append(
                f"  {item.address}: {item.kind}"
                + (f" ({item.resource_id})" if not item.changes and item.kind != "deleted" else "")
            )
            lines += [
                f"      {c.name}: {_short(c.new)} (recorded) -> {_short(c.old)} (live)" for c in item.changes
            ]
        sys.stdout.write("\n".join([*lines, summary]) + "\n")
        return report.exit_code()
    from rich.markup import escape
    from rich.table import Table

    table = Table(title=f"drift in stack {report.stack}", title_justify="left")
    for col in ("address", "drift", "recorded → live"):
        table.add_column(col, overflow="fold")
    for item in report.items:
        details = "\n".join(f"{c.name}: {_short(c.new)} → {_short(c.old)}" for c in item.changes) or (
            "gone from the live world" if item.kind == "deleted" else f"found live: {item.resource_id}"
        )
        table.add_row(escape(item.address), item.kind, escape(details))  # addresses hold [brackets]
    out.print(table)
    out.print(summary)
    return report.exit_code()


def register(app: typer.Typer) -> None:
    app.command("drift")(drift)


def _short(value: object) -> str:
    text = value if isinstance(value, str) else json.dumps(value)
    text = text.replace("\n", "\\n")
    return text if len(text) <= 50 else text[:49] + "…"


def _summary(report: "DriftReport") -> str:
    """Counted as a person counts: managed resources that drifted of those checked (a Terraform root
    once, with how many of its addresses drifted), and apart from them what nobody manages."""
    unmanaged = [i for i in report.items if i.kind == "unmanaged"]
    parts: dict[str, int] = {}
    for item in report.items:
        if item.kind != "unmanaged" and "[" in item.address:
            root = item.address.split("[", 1)[0]
            parts[root] = parts.get(root, 0) + 1
    managed = {i.address.split("[", 1)[0] for i in report.items if i.kind != "unmanaged"}
    line = f"{len(managed)} of {report.scanned} managed resource(s) drifted"
    if parts:
        line += " (" + ", ".join(f"{root}: {n} of its addresses" for root, n in sorted(parts.items())) + ")"
    if unmanaged:
        line += f"; {len(unmanaged)} found live that nothing manages"
    return line + "."
