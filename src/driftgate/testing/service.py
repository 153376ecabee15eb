"""Seed the service for tests and benchmarks: a config repo on a forge, and proposals against it."""

from __future__ import annotations

from typing import Any

from driftgate.services.proposals import config_repos
from driftgate.services.proposals import lifecycle as proposals
from driftgate.services.workspace import Workspace

BUMP_X = {"path": "a.yaml", "format": "yaml", "pointer": "/x", "from": 1, "to": 2}


def seed_repo(
    ws: Workspace, url: str, *, name: str = "infra", auth_env: str = "INFRA_TOKEN", **extra: Any
) -> int:
    """Register ``url`` as a config repo whose token is in the environment variable ``auth_env``."""
    row = config_repos.create(
        ws, name=name, url=url, default_branch="main", auth_ref=f"secret://env/{auth_env}", **extra
    )
    return int(row["id"])


def seed_proposal(
    ws: Workspace,
    repo_id: int,
    *,
    title: str = "Bump x",
    edits: list[dict[str, Any]] | None = None,
    **extra: Any,
) -> int:
    """A pending proposal (by default: ``x: 1`` → ``2`` in ``a.yaml``)."""
    fields: dict[str, Any] = {"rationale": "r", "metrics": None, "chart": None, "created_by": "op", **extra}
    row = proposals.create(ws, config_repo_id=repo_id, title=title, edits=edits or [BUMP_X], **fields)
    return int(row["id"])
