"""Proposals, their open-PR jobs, their pull requests' state and the webhook deliveries that move it.

These functions never commit: the caller owns the transaction.
"""

from __future__ import annotations

import time
from typing import Any

from sqlalchemy import Connection, Row, and_, func, or_, select, update
from sqlalchemy.exc import IntegrityError

from driftgate.store.tables import proposals, webhook_deliveries


def _proposal(r: Row[Any]) -> dict[str, Any]:
    return dict(r._mapping)


def add_proposal(conn: Connection, **values: Any) -> int:
    now = time.time()
    result = conn.execute(
        proposals.insert().values(status="pending", created_at=now, updated_at=now, **values)
    )
    return int(result.inserted_primary_key[0])  # type: ignore[index]


def get_proposal(conn: Connection, proposal_id: int) -> dict[str, Any] | None:
    row = conn.execute(select(proposals).where(proposals.c.id == proposal_id)).first()
    return _proposal(row) if row else None


def list_proposals(
    conn: Connection, *, status: str | None, after: int, limit: int
) -> tuple[list[dict[str, Any]], int]:
    query = select(proposals).where(proposals.c.id > after)
    count = select(func.count()).select_from(proposals)
    if status:
        query = query.where(proposals.c.status == status)
        count = count.where(proposals.c.status == status)
    rows = conn.execute(query.order_by(proposals.c.id).limit(limit + 1)).all()
    return [_proposal(r) for r in rows], int(conn.execute(count).scalar_one())


def update_proposal_fenced(conn: Connection, proposal_id: int, fence: Any, **values: Any) -> bool:
    """Update a proposal only while ``fence`` (a lease_fence) holds."""
    result = conn.execute(
        update(proposals)
        .where(and_(proposals.c.id == proposal_id, fence))
        .values(**values, updated_at=time.time())
    )
    return bool(result.rowcount)


def update_proposal_if_pending(
    conn: Connection, proposal_id: int, *, fence: Any = None, **values: Any
) -> bool:
    """A conditional update (``WHERE status = 'pending'``): an operator's reject mid-flight wins.

    With ``fence`` (a lease_fence), also only while the caller's lease grant is current.
    """
    where = and_(proposals.c.id == proposal_id, proposals.c.status == "pending")
    if fence is not None:
        where = and_(where, fence)
    result = conn.execute(update(proposals).where(where).values(updated_at=time.time(), **values))
    return bool(result.rowcount)


def update_proposal(conn: Connection, proposal_id: int, **values: Any) -> None:
    conn.execute(
        update(proposals).where(proposals.c.id == proposal_id).values(updated_at=time.time(), **values)
    )


def stale_jobs(conn: Connection, *, older_than: float) -> list[int]:
    """Pending proposals whose queued/running job has shown no sign of life since ``older_than``."""
    rows = conn.execute(
        select(proposals.c.id).where(
            and_(
                proposals.c.status == "pending",
                proposals.c.job_status.in_(("queued", "running")),
                proposals.c.job_heartbeat < older_than,
            )
        )
    ).all()
    return [int(r.id) for r in rows]


def claim_job(conn: Connection, proposal_id: int, job_id: str, now: float) -> bool:
    """Mark a new job queued unless one is already queued or running (double clicks share one job)."""
    result = conn.execute(
        update(proposals)
        .where(
            and_(
                proposals.c.id == proposal_id,
                proposals.c.status == "pending",
                (proposals.c.job_status.is_(None)) | (proposals.c.job_status.in_(("done", "failed"))),
            )
        )
        .values(job_id=job_id, job_status="queued", job_heartbeat=now, pr_open_error=None, updated_at=now)
    )
    return bool(result.rowcount)


def record_delivery(conn: Connection, delivery_id: str) -> bool:
    """False when this delivery was seen before (a replay)."""
    try:
        with conn.begin_nested():
            conn.execute(webhook_deliveries.insert().values(delivery_id=delivery_id, received_at=time.time()))
        return True
    except IntegrityError:
        return False


def proposals_with_open_prs(conn: Connection) -> list[dict[str, Any]]:
    rows = conn.execute(
        select(proposals).where(and_(proposals.c.pr_number.is_not(None), proposals.c.pr_state == "open"))
    )
    return [_proposal(r) for r in rows.all()]


def set_pr_state(
    conn: Connection, repo_id: int, pr_number: int, state: str, *, at: float | None = None
) -> int:
    """Record a PR's state. With ``at`` (the forge's time of that state), only moving forward in
    time: a delivery older than the state already recorded changes nothing (a replay under a new
    delivery id cannot flip a PR back)."""
    where = and_(proposals.c.config_repo_id == repo_id, proposals.c.pr_number == pr_number)
    values: dict[str, Any] = {"pr_state": state, "updated_at": time.time()}
    if at is not None:
        where = and_(where, or_(proposals.c.pr_state_at.is_(None), proposals.c.pr_state_at <= at))
        values["pr_state_at"] = at
    result = conn.execute(update(proposals).where(where).values(**values))
    return int(result.rowcount)


def job_counts(conn: Connection) -> dict[str, int]:
    rows = conn.execute(
        select(proposals.c.job_status, func.count())
        .where(proposals.c.job_status.is_not(None))
        .group_by(proposals.c.job_status)
    ).all()
    return {str(r[0]): int(r[1]) for r in rows}


def job_durations(conn: Connection) -> tuple[float, int]:
    """(sum of seconds, count) of finished open-PR jobs: last heartbeat to the final update."""
    row = conn.execute(
        select(func.sum(proposals.c.updated_at - proposals.c.job_heartbeat), func.count()).where(
            proposals.c.job_status.in_(("done", "failed")), proposals.c.job_heartbeat.is_not(None)
        )
    ).one()
    return float(row[0] or 0.0), int(row[1])


def pr_budget(conn: Connection, repo_id: int, *, since: float) -> tuple[int, int, float | None]:
    """(PRs opened since ``since``, PRs open now, the oldest opening time in the window) for a repo."""
    recent = conn.execute(
        select(func.count(), func.min(proposals.c.pr_opened_at)).where(
            and_(proposals.c.config_repo_id == repo_id, proposals.c.pr_opened_at >= since)
        )
    ).one()
    open_now = conn.execute(
        select(func.count()).where(
            and_(proposals.c.config_repo_id == repo_id, proposals.c.pr_state == "open")
        )
    ).scalar_one()
    return int(recent[0]), int(open_now), (float(recent[1]) if recent[1] is not None else None)
