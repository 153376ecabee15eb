"""GitLab's webhooks: a shared secret sent as is in ``X-Gitlab-Token`` (compared in constant time;
GitLab signs nothing), the event in ``X-Gitlab-Event``, the delivery in ``X-Gitlab-Event-UUID``
(or ``Idempotency-Key``), JSON bodies whose ``object_attributes`` hold the merge request."""

from __future__ import annotations

import hmac
from collections.abc import Mapping
from datetime import datetime
from typing import Any

from driftgate import errors
from driftgate.errors import CodedError
from driftgate.forge.base import Delivery, WebhookEvent, json_object

TOKEN = "X-Gitlab-Token"
EVENT = "X-Gitlab-Event"
DELIVERY = "X-Gitlab-Event-UUID"
MERGE_REQUEST = "Merge Request Hook"
STATES = {"opened": "open", "locked": "open", "reopened": "open", "closed": "closed", "merged": "merged"}


class GitLabWebhooks:
    def delivery(self, headers: Mapping[str, str]) -> Delivery:
        token = headers.get(TOKEN)
        delivery = headers.get(DELIVERY) or headers.get("Idempotency-Key")
        if not token or not delivery:
            raise CodedError(errors.SIGNATURE_INVALID, f"unsigned delivery ({TOKEN} and {DELIVERY} needed)")
        return Delivery(token, headers.get(EVENT), delivery)

    def verify(self, body: bytes, signature: str, secret: str) -> bool:
        return hmac.compare_digest(signature.encode(), secret.encode())

    def parse(self, body: bytes, content_type: str) -> dict[str, Any]:
        return json_object(body)

    def event(self, delivery: Delivery, payload: Mapping[str, Any]) -> WebhookEvent:
        project = payload.get("project")
        repo_url: str | None = None  # a system or group hook about no project
        if isinstance(project, dict):
            url = project.get("git_http_url")
            repo_url = url if isinstance(url, str) else ""
        is_mr = delivery.event == MERGE_REQUEST or payload.get("object_kind") == "merge_request"
        attributes = payload.get("object_attributes")
        attributes = attributes if isinstance(attributes, dict) else {}
        number = attributes.get("iid")
        if isinstance(number, bool) or not isinstance(number, int):
            number = None
        return WebhookEvent(
            kind="pull_request" if is_mr else delivery.event,
            repo_url=repo_url,
            number=number if is_mr else None,
            state=STATES.get(str(attributes.get("state"))) if is_mr else None,
            updated_at=_timestamp(attributes.get("updated_at")),
            is_ping=False,  # GitLab's "Test" button sends a real event of the chosen kind
        )


def _timestamp(stamp: object) -> float | None:
    """GitLab's ``updated_at``: ISO 8601 (``2024-05-01T10:00:00Z``), or older releases'
    ``2024-05-01 10:00:00 UTC``."""
    if not isinstance(stamp, str):
        return None
    text = stamp.strip().replace(" UTC", "+00:00").replace("Z", "+00:00")
    try:
        return datetime.fromisoformat(text).timestamp()
    except ValueError:
        return None


WEBHOOKS = GitLabWebhooks()
