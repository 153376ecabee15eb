"""A stack's identity: one name in the store is one stack, in one config repo, at one path.

Two directories that carry the same ``name`` would otherwise share recorded
state, and the second one's plan would delete the first one's resources. The
store binds a name to the place it was first applied from (the config repo's
URL and the stack's path in it, or the directory for a stack outside git); a
plan or apply of that name from anywhere else is refused until the stack is
moved on purpose (``driftgate state move-stack``), which is recorded as a run.
"""

from __future__ import annotations

import os
import time
import uuid
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

from sqlalchemy import Connection

from driftgate.errors import NotFoundError, StackElsewhereError
from driftgate.gitops.gitcmd import remote_url, toplevel
from driftgate.services.workspace import Workspace
from driftgate.spec.model import Stack
from driftgate.store import runs as runs_db
from driftgate.store import stacks as stacks_db


@dataclass(frozen=True)
class Place:
    """Where a run of a stack belongs: its config repo (None: not in git, nothing names one), the
    stack's path in it, and the clone it was found in. One rule for identity and commit-back."""

    url: str | None
    path: str
    top: Path | None


def stack_place(stack: Stack, *, remote: str | None = None, path: str | None = None) -> Place:
    """The repo from the run's ``--repo``, else ``commit_back.remote``, else git's origin; the path
    from the run's, else ``commit_back.path``, else the stack's place in its clone."""
    directory = stack.directory.resolve()
    policy = stack.spec.commit_back
    top = toplevel(directory) if directory.is_dir() else None
    url = remote or policy.remote or (remote_url(top) if top is not None else None)
    where = path or policy.path or (_relative(directory, top) if top is not None else ".")
    return Place(url, where, top)


def stack_location(stack: Stack, *, remote: str | None = None, path: str | None = None) -> str:
    """``<config repo>#<path>`` (see :func:`stack_place`), or the directory for a stack not in git."""
    place = stack_place(stack, remote=remote, path=path)
    if place.url is None:
        directory = stack.directory.resolve()
        base = place.top if place.top is not None else directory
        return f"{directory_url(base)}#{_relative(directory, base)}"
    return f"{normalize_url(place.url)}#{place.path.strip('/') or '.'}"


def directory_url(path: Path) -> str:
    return f"file://{path.resolve()}"


def _relative(directory: Path, base: Path) -> str:
    rel = os.path.relpath(directory, base.resolve())
    return "." if rel == "." else rel


def normalize_url(url: str) -> str:
    """One spelling per repository: no credentials, lower-case scheme and host, no ``.git`` or ``/``."""
    if "://" not in url:
        return directory_url(Path(url)).removesuffix(".git") if url.startswith("/") else url
    parts = urlsplit(url)
    host = (parts.hostname or "").lower() + (f":{parts.port}" if parts.port else "")
    path = parts.path.rstrip("/").removesuffix(".git")
    return urlunsplit((parts.scheme.lower(), host, path, "", ""))


def stack_row(
    conn: Connection, stack: Stack, *, bind: bool, remote: str | None = None, path: str | None = None
) -> stacks_db.StackRow:
    """The stack's row; refuses a name bound to another place, and binds an unbound one on ``bind``.
    ``remote``/``path``: the run's own (``apply --repo``), as commit-back takes them."""
    location = stack_location(stack, remote=remote, path=path)
    row = stacks_db.ensure_stack(conn, stack.name, str(stack.directory))
    if row.location is not None and row.location != location:
        raise StackElsewhereError(
            f"stack {stack.name!r} is bound to {row.location}, not {location}: two places must not share "
            "one stack's state. Give this one another name in stack.yaml, or move the stack on purpose: "
            f"driftgate state move-stack --to {stack.directory}"
        )
    if bind and row.location is None:
        stacks_db.bind_stack(conn, row.id, location)
    return row


def check_name_free(ws: Workspace, name: str, location: str) -> None:
    """For a new stack: refuse a name this store already binds to another place."""
    with ws.transaction() as conn:
        row = stacks_db.find_stack(conn, name)
    if row is not None and row.location is not None and row.location != location:
        raise StackElsewhereError(
            f"stack name {name!r} is already bound to {row.location} in this store; choose another --name"
        )


def move_stack(ws: Workspace, stack: Stack) -> tuple[str, str | None, str]:
    """Bind the stack's name to where ``stack`` is now, on purpose; recorded as a ``move-stack`` run."""
    location = stack_location(stack)
    run_id = str(uuid.uuid4())
    with ws.transaction() as conn:
        row = stacks_db.find_stack(conn, stack.name)
        if row is None:
            raise NotFoundError(f"no stack named {stack.name!r} in this store: nothing to move")
        stacks_db.bind_stack(conn, row.id, location)
        runs_db.record_run(
            conn,
            run_id=run_id,
            stack_id=row.id,
            kind="move-stack",
            actor=ws.settings.actor,
            pid=os.getpid(),
            host=ws.settings.hostname,
            status="succeeded",
            action_count=0,
            summary={"from": row.location, "to": location, "at": time.time()},
            errors=[],
        )
    return run_id, row.location, location
