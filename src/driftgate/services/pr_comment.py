"""A plan as one pull-request comment, updated in place on every push (CI templates post it).

The comment is Markdown built from ``driftgate plan --json``: the summary, then one row per change
(the attribute names that change, never their values: a CI log or a PR is no place for them).
A hidden marker naming the stack finds the comment again, so a pull request holds one per stack.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from driftgate import errors
from driftgate.errors import CodedError
from driftgate.forge import forge_for
from driftgate.forge.base import upsert_comment
from driftgate.plan.model import MAX_PLAN_FILE_BYTES, PLAN_FORMAT
from driftgate.security.limits import InputTooLarge, loads_json, read_bounded
from driftgate.services.forges import forge_kind
from driftgate.services.workspace import Workspace

MARKER = "<!-- driftgate:plan:{stack} -->"
MAX_ROWS = 200
SIGNS = {"create": "+ create", "update": "~ update", "replace": "-/+ replace", "delete": "- delete"}
ORDER = ("create", "update", "replace", "delete")


@dataclass(frozen=True)
class Posted:
    comment_id: int
    created: bool
    forge: str


def read_plan_json(path: Path) -> dict[str, Any]:
    """``driftgate plan --json`` output from a file: INVALID_INPUT naming the file if it is not."""
    try:
        data = loads_json(read_bounded(path, MAX_PLAN_FILE_BYTES))
    except FileNotFoundError:
        raise CodedError(errors.INVALID_INPUT, f"{path}: no such file") from None
    except (InputTooLarge, ValueError, OSError) as exc:
        raise CodedError(errors.INVALID_INPUT, f"{path}: not a plan's JSON ({exc})") from None
    if (
        not isinstance(data, dict)
        or data.get("format") != PLAN_FORMAT
        or not isinstance(data.get("actions"), list)
    ):
        raise CodedError(errors.INVALID_INPUT, f"{path}: not the output of `driftgate plan --json`")
    return data


def _cell(text: object) -> str:
    return str(text).replace("|", "\\|").replace("\n", " ").replace("`", "'")


def plan_markdown(plan: dict[str, Any], *, link: str = "") -> str:
    stack = str(plan.get("stack", "?"))
    summary = plan.get("summary") or {}
    counts = ", ".join(f"{int(summary.get(kind, 0))} to {kind}" for kind in ORDER)
    lines = [MARKER.format(stack=_cell(stack)), f"### driftgate plan: `{_cell(stack)}`", ""]
    plan_errors = [str(e) for e in plan.get("errors") or []]
    changes = [a for a in plan["actions"] if isinstance(a, dict) and a.get("action") != "noop"]
    if plan_errors:
        lines.append(f"**The plan has {len(plan_errors)} error(s)**; apply would refuse it:")
        lines += [f"- {_cell(e)}" for e in plan_errors] + [""]
    lines.append(f"**{counts}** ({int(summary.get('noop', 0))} unchanged)" if changes else "**No changes.**")
    stateful = [str(m) for m in plan.get("stateful_modules") or []]
    if stateful:
        lines.append(
            f"\nStateful modules changed: {', '.join(f'`{_cell(m)}`' for m in stateful)}: the automatic "
            "lane holds them back; an operator applies them with a backup."
        )
    if changes:
        lines += ["", "| | Resource | Attributes | Why |", "|---|---|---|---|"]
        for action in changes[:MAX_ROWS]:
            names = ", ".join(
                _cell(c.get("name"))
                + (
                    " (forces replacement)"
                    if c.get("forces_replace") and action.get("action") == "replace"
                    else ""
                )
                for c in action.get("changes") or []
                if isinstance(c, dict)
            )
            sign = SIGNS.get(str(action.get("action")), _cell(action.get("action")))
            lines.append(
                f"| {sign} | `{_cell(action.get('address'))}` | {names} | {_cell(action.get('reason', ''))} |"
            )
        if len(changes) > MAX_ROWS:
            lines.append(
                f"\n…and {len(changes) - MAX_ROWS} more changes (`driftgate plan --full` shows all)."
            )
    lines.append("")
    lines.append(f"<sub>Edited in place on every push{f' · [the run]({link})' if link else ''}.</sub>")
    return "\n".join(lines)


def post_plan_comment(
    ws: Workspace,
    *,
    url: str,
    number: int,
    token: str,
    plan: dict[str, Any],
    forge: str | None = None,
    link: str = "",
) -> Posted:
    """Post the plan on pull request ``number`` of ``url``, or update the comment posted before."""
    kind = forge_kind(ws, url, token, forge)
    body = plan_markdown(plan, link=link)
    marker = MARKER.format(stack=_cell(plan.get("stack", "?")))
    with forge_for(url, token, kind) as client:
        comment_id, created = upsert_comment(client, number, body, marker)
    return Posted(comment_id, created, kind)
