"""Pull-request text for a proposal (every string passes through the redactor at the forge client)."""

from __future__ import annotations

import json
from typing import Any


def _cell(value: Any) -> str:
    text = value if isinstance(value, str) else json.dumps(value)
    return text.replace("|", "\\|").replace("\n", " ")[:200]


def edits_table(edits: list[dict[str, Any]]) -> str:
    rows = ["| path | pointer | from | to |", "|---|---|---|---|"]
    rows += [
        f"| `{_cell(e['path'])}` | `{_cell(e['pointer'])}` | {_cell(e['from'])} | {_cell(e['to'])} |"
        for e in edits
    ]
    return "\n".join(rows)


def metric_delta(metrics: dict[str, Any] | None) -> str:
    if not metrics or "baseline" not in metrics or "candidate" not in metrics:
        return ""
    name = metrics.get("name", "metric")
    base, cand = metrics["baseline"], metrics["candidate"]
    unit = f" {metrics['unit']}" if metrics.get("unit") else ""
    line = f"**{_cell(name)}**: {_cell(base)}{unit} → {_cell(cand)}{unit}"
    if isinstance(base, int | float) and isinstance(cand, int | float) and base:
        line += f" ({(cand - base) / abs(base) * 100:+.1f}%)"
    return line


def chart_table(chart: dict[str, Any] | None) -> str:
    """The chart's data as a Markdown table (the fallback when no image can be shown)."""
    if not chart:
        return ""
    names = list(chart.get("series", {}))
    rows = ["| x | " + " | ".join(_cell(n) for n in names) + " |", "|---" * (len(names) + 1) + "|"]
    for i, x in enumerate(chart.get("x", [])[:100]):
        rows.append(f"| {_cell(x)} | " + " | ".join(_cell(chart["series"][n][i]) for n in names) + " |")
    return "\n".join(rows)


def pr_body(proposal: dict[str, Any]) -> str:
    parts = [
        f"## Why\n\n{proposal['rationale'] or '(no rationale given)'}",
        f"## Edits\n\n{edits_table(proposal['edits'])}",
    ]
    delta = metric_delta(proposal.get("metrics"))
    if delta:
        parts.append(f"## Expected effect\n\n{delta}")
    if proposal.get("chart"):
        parts.append(f"## Data\n\n{chart_table(proposal['chart'])}")
    parts.append(f"---\nOpened by driftgate for proposal #{proposal['id']} after an operator approved it.")
    return "\n\n".join(parts) + "\n"
