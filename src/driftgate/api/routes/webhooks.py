"""Forge webhooks: pull-request events, verified by HMAC with the repo's webhook secret (no bearer token)."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Header, Path, Request, Response

from driftgate.api.deps import WS
from driftgate.api.schemas import WebhookAnswer
from driftgate.forge import KINDS

router = APIRouter(prefix="/api/v1/webhooks", tags=["webhooks"])

# every forge kind the seam registers, and nothing else (a new forge needs no change here)
ForgeKind = Annotated[str, Path(pattern=f"^({'|'.join(sorted(KINDS))})$")]


@router.post(
    "/{forge}",
    response_model=WebhookAnswer,
    response_model_exclude_unset=True,
    responses={202: {"description": "verified, but not an event of a config repo's", "model": WebhookAnswer}},
)
async def webhook(
    forge: ForgeKind,
    request: Request,
    response: Response,
    ws: WS,
    x_hub_signature_256: Annotated[str | None, Header()] = None,
    x_github_event: Annotated[str | None, Header()] = None,
    x_github_delivery: Annotated[str | None, Header()] = None,
) -> dict[str, Any]:
    """Verify, de-duplicate and apply one delivery (the headers are declared for the description)."""
    from driftgate.services.proposals.pr_state import receive_webhook

    del x_hub_signature_256, x_github_event, x_github_delivery
    status, answer = receive_webhook(
        ws,
        kind=forge,
        body=await request.body(),
        headers=request.headers,
        content_type=request.headers.get("content-type", "application/json"),
    )
    response.status_code = status
    return answer
