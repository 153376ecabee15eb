"""GitHub's webhooks: HMAC-SHA256 signatures (``X-Hub-Signature-256``), JSON or form-encoded bodies,
and a pull request's state as the delivery's own ``pull_request`` object says it is."""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Mapping
from typing import Any
from urllib.parse import parse_qs

from driftgate import errors
from driftgate.errors import CodedError
from driftgate.forge.base import Delivery, WebhookEvent, json_object, pr_updated_at

SIGNATURE = "X-Hub-Signature-256"
EVENT = "X-GitHub-Event"
DELIVERY = "X-GitHub-Delivery"


def pr_state_of(payload: Mapping[str, Any]) -> str | None:
    """The PR's state as the delivery's own ``pull_request`` object says it is (an ``edited`` delivery
    about a merged PR says merged: the action alone says nothing about the state)."""
    pr = payload.get("pull_request")
    if not isinstance(pr, dict):
        return None
    if pr.get("merged") or pr.get("merged_at"):
        return "merged"
    state = pr.get("state")
    if state in ("open", "closed"):
        return str(state)
    action = payload.get("action")  # a payload without the PR's state: go by what happened
    if action == "closed":
        return "closed"
    return "open" if action in ("opened", "reopened", "ready_for_review", "converted_to_draft") else None


class GitHubWebhooks:
    def delivery(self, headers: Mapping[str, str]) -> Delivery:
        signature, delivery = headers.get(SIGNATURE), headers.get(DELIVERY)
        if not signature or not signature.startswith("sha256=") or not delivery:
            raise CodedError(
                errors.SIGNATURE_INVALID, f"unsigned delivery ({SIGNATURE} and {DELIVERY} needed)"
            )
        return Delivery(signature, headers.get(EVENT), delivery)

    def verify(self, body: bytes, signature: str, secret: str) -> bool:
        expected = "sha256=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()
        return hmac.compare_digest(expected, signature)

    def parse(self, body: bytes, content_type: str) -> dict[str, Any]:
        """The delivery's JSON: the body itself, or its ``payload`` field (GitHub's form-encoded type)."""
        raw: str | bytes = body
        if content_type.split(";")[0].strip().lower() == "application/x-www-form-urlencoded":
            fields = parse_qs(body.decode("utf-8", "replace"), max_num_fields=10)
            if "payload" not in fields:
                raise CodedError(errors.WEBHOOK_INVALID, "a form-encoded delivery needs a 'payload' field")
            raw = fields["payload"][0]
        return json_object(raw)

    def event(self, delivery: Delivery, payload: Mapping[str, Any]) -> WebhookEvent:
        repository = payload.get("repository")
        repo_url: str | None = None  # a hook about no repository (an organization's, an app's)
        if isinstance(repository, dict):
            url = repository.get("clone_url")
            repo_url = url if isinstance(url, str) else ""  # a repository we cannot name: no match
        is_pr = delivery.event == "pull_request"
        number = payload.get("number")
        if isinstance(number, bool):
            number = None
        return WebhookEvent(
            kind=delivery.event,
            repo_url=repo_url,
            number=number if is_pr and isinstance(number, int) else None,
            state=pr_state_of(payload) if is_pr else None,
            updated_at=pr_updated_at(payload),
            is_ping=delivery.event == "ping",
        )


WEBHOOKS = GitHubWebhooks()
