"""Proposals: an automated config change an operator approves (or rejects) before a PR is opened."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Query, Response

from driftgate.api.deps import WS, Cursor, Id, Limit, Operator, Queue, Viewer, after, page
from driftgate.api.schemas import OpenPrAccepted, Proposal, ProposalIn, ProposalPage, ProposalStatus, RejectIn
from driftgate.services.proposals import lifecycle

router = APIRouter(prefix="/api/v1/proposals", tags=["proposals"])


@router.post("", status_code=201, response_model=Proposal)
def create_proposal(body: ProposalIn, ws: WS, who: Operator) -> dict[str, Any]:
    return lifecycle.create(ws, created_by=who.name, **body.model_dump(by_alias=True))


@router.get("", response_model=ProposalPage)
def list_proposals(
    response: Response,
    ws: WS,
    _: Viewer,
    cursor: Cursor = None,
    limit: Limit = 50,
    status: Annotated[ProposalStatus | None, Query()] = None,
) -> dict[str, Any]:
    items, has_more, total = lifecycle.list_page(ws, status=status, after=after(cursor), limit=limit)
    return page(response, items, has_more, total)


@router.get("/{proposal_id}", response_model=Proposal)
def get_proposal(proposal_id: Id, ws: WS, _: Viewer) -> dict[str, Any]:
    return lifecycle.get(ws, proposal_id)


@router.post("/{proposal_id}/open_pr", status_code=202)
def open_pull_request(proposal_id: Id, ws: WS, jobs: Queue, _: Operator) -> OpenPrAccepted:
    job_id = lifecycle.request_open_pr(ws, proposal_id, jobs)
    return OpenPrAccepted(proposal_id=proposal_id, job_id=job_id)


@router.post("/{proposal_id}/reject", response_model=Proposal)
def reject_proposal(proposal_id: Id, body: RejectIn, ws: WS, _: Operator) -> dict[str, Any]:
    return lifecycle.reject(ws, proposal_id, body.reason)
