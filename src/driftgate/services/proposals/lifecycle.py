"""Proposals: created by automation, approved by an operator, opened as a PR by a worker."""

from __future__ import annotations

import json
import time
import uuid
from typing import Any, Protocol

from driftgate import errors
from driftgate.errors import CodedError, DriftgateError, NotFoundError
from driftgate.proposals.edits import parse_pointer
from driftgate.security.paths import check_relative_path
from driftgate.security.redact import redact
from driftgate.services.workspace import Workspace
from driftgate.store import config_repos as config_repos_db
from driftgate.store import proposals as proposals_db

FORMATS = ("json", "yaml", "toml")
MAX_EDITS = 200
MAX_CHART_POINTS = 5000


def _check_edits(edits: list[dict[str, Any]]) -> list[dict[str, Any]]:
    if not edits:
        raise CodedError(errors.INVALID_INPUT, "edits: at least one edit is needed")
    if len(edits) > MAX_EDITS:
        raise CodedError(errors.INVALID_INPUT, f"edits: at most {MAX_EDITS}")
    clean = []
    for index, edit in enumerate(edits):
        where = f"edits[{index}]"
        reason = check_relative_path(str(edit.get("path", "")))
        if reason:
            raise CodedError(errors.INVALID_INPUT, f"{where}.path: {reason}")
        if edit.get("format") not in FORMATS:
            raise CodedError(errors.INVALID_INPUT, f"{where}.format: must be one of {', '.join(FORMATS)}")
        try:
            if not parse_pointer(str(edit.get("pointer", ""))):
                raise CodedError(errors.INVALID_INPUT, f"{where}.pointer: must point inside the document")
        except DriftgateError as exc:
            raise CodedError(errors.INVALID_INPUT, f"{where}.pointer: {exc}") from None
        if "from" not in edit or "to" not in edit:
            raise CodedError(errors.INVALID_INPUT, f"{where}: needs both 'from' and 'to'")
        clean.append({k: edit[k] for k in ("path", "format", "pointer", "from", "to")})
    return clean


def _check_chart(chart: dict[str, Any] | None) -> None:
    if chart is None:
        return
    series = chart.get("series")
    labels = chart.get("x")
    if not isinstance(series, dict) or not isinstance(labels, list) or not series:
        raise CodedError(
            errors.INVALID_INPUT, "chart: needs 'x' (a list) and 'series' (name → list of numbers)"
        )
    for name, points in series.items():
        if not isinstance(points, list) or len(points) != len(labels) or len(points) > MAX_CHART_POINTS:
            raise CodedError(errors.INVALID_INPUT, f"chart.series.{name}: one number per x value")
        if not all(isinstance(p, int | float) and not isinstance(p, bool) for p in points):
            raise CodedError(errors.INVALID_INPUT, f"chart.series.{name}: numbers only")


def create(
    ws: Workspace,
    *,
    config_repo_id: int,
    title: str,
    rationale: str,
    edits: list[dict[str, Any]],
    metrics: dict[str, Any] | None,
    chart: dict[str, Any] | None,
    created_by: str,
) -> dict[str, Any]:
    clean = _check_edits(edits)
    _check_chart(chart)
    with ws.transaction() as conn:
        if config_repos_db.get_config_repo(conn, config_repo_id) is None:
            raise CodedError(
                errors.REPO_NOT_CONFIGURED, f"config_repo_id {config_repo_id}: no such config repo"
            )
        proposal_id = proposals_db.add_proposal(
            conn,
            config_repo_id=config_repo_id,
            title=redact(title),
            rationale=redact(rationale),
            edits=clean,
            metrics=metrics,
            chart=chart,
            created_by=created_by,
        )
        row = proposals_db.get_proposal(conn, proposal_id)
    assert row is not None
    return row


def get(ws: Workspace, proposal_id: int) -> dict[str, Any]:
    with ws.transaction() as conn:
        row = proposals_db.get_proposal(conn, proposal_id)
    if row is None:
        raise NotFoundError(f"no proposal {proposal_id}")
    return row


def list_page(
    ws: Workspace, *, status: str | None, after: int, limit: int
) -> tuple[list[dict[str, Any]], bool, int]:
    with ws.transaction() as conn:
        rows, total = proposals_db.list_proposals(conn, status=status, after=after, limit=limit)
    return rows[:limit], len(rows) > limit, total


def reject(ws: Workspace, proposal_id: int, reason: str) -> dict[str, Any]:
    with ws.transaction() as conn:
        current = proposals_db.get_proposal(conn, proposal_id)
        if current is None:
            raise NotFoundError(f"no proposal {proposal_id}")
        if not proposals_db.update_proposal_if_pending(
            conn, proposal_id, status="rejected", reject_reason=reason
        ):
            raise CodedError(
                errors.INVALID_STATE_TRANSITION, f"proposal {proposal_id} is {current['status']}, not pending"
            )
    return get(ws, proposal_id)


def size_of(payload: Any) -> int:
    return len(json.dumps(payload, default=str))


class JobQueue(Protocol):
    def is_available(self) -> bool: ...

    def enqueue_open_pr(self, proposal_id: int, job_id: str) -> object: ...


def request_open_pr(ws: Workspace, proposal_id: int, jobs: JobQueue) -> str:
    """Preflight, in order, then enqueue after commit; returns the job id (shared by double clicks)."""
    with ws.transaction() as conn:
        row = proposals_db.get_proposal(conn, proposal_id)
        if row is None:
            raise NotFoundError(f"no proposal {proposal_id}")
        if row["status"] != "pending":
            raise CodedError(errors.INVALID_STATE_TRANSITION, f"proposal {proposal_id} is {row['status']}")
        repo = config_repos_db.get_config_repo(conn, row["config_repo_id"]) if row["config_repo_id"] else None
    if repo is None:
        raise CodedError(errors.REPO_NOT_CONFIGURED, f"proposal {proposal_id} has no config repo")
    try:
        ws.secrets().resolve(repo.auth_ref)
    except DriftgateError:
        raise CodedError(
            errors.CREDENTIAL_NOT_CONFIGURED, f"the credential of config repo {repo.name!r} cannot be read"
        ) from None
    if not jobs.is_available():
        raise CodedError(errors.QUEUE_UNAVAILABLE, "the job queue is not reachable; nothing was queued")
    job_id = uuid.uuid4().hex
    with ws.transaction() as conn:
        if not proposals_db.claim_job(conn, proposal_id, job_id, time.time()):
            current = proposals_db.get_proposal(conn, proposal_id)
            if current and current["status"] == "pending" and current["job_id"]:
                return str(current["job_id"])
            raise CodedError(errors.INVALID_STATE_TRANSITION, f"proposal {proposal_id} is no longer pending")
    try:
        jobs.enqueue_open_pr(proposal_id, job_id)  # after the commit above
    except Exception:
        with ws.transaction() as conn:
            proposals_db.update_proposal(conn, proposal_id, job_status=None, job_id=None)
        raise CodedError(
            errors.QUEUE_UNAVAILABLE, "the job queue refused the job; nothing was queued"
        ) from None
    return job_id
