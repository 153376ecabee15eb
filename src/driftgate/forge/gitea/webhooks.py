"""Gitea's and Forgejo's webhooks: a hex HMAC-SHA256 of the raw body (``X-Gitea-Signature``, or
Forgejo's ``X-Forgejo-Signature``, no ``sha256=`` prefix), the event and delivery id in their
``X-Gitea-*``/``X-Forgejo-*`` headers, JSON bodies, the pull request's state in its own object."""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Mapping
from typing import Any

from driftgate import errors
from driftgate.errors import CodedError
from driftgate.forge.base import Delivery, WebhookEvent, json_object, pr_updated_at


class GiteaWebhooks:
    """``prefix``: ``Gitea`` or ``Forgejo`` (Forgejo also sends Gitea's headers: either is read)."""

    def __init__(self, prefix: str) -> None:
        self.prefixes = (prefix, "Gitea") if prefix != "Gitea" else ("Gitea",)

    def _header(self, headers: Mapping[str, str], name: str) -> str | None:
        for prefix in self.prefixes:
            value = headers.get(f"X-{prefix}-{name}")
            if value:
                return value
        return None

    def delivery(self, headers: Mapping[str, str]) -> Delivery:
        signature, delivery = self._header(headers, "Signature"), self._header(headers, "Delivery")
        if not signature or not delivery:
            wanted = f"X-{self.prefixes[0]}-Signature and X-{self.prefixes[0]}-Delivery"
            raise CodedError(errors.SIGNATURE_INVALID, f"unsigned delivery ({wanted} needed)")
        return Delivery(signature, self._header(headers, "Event"), delivery)

    def verify(self, body: bytes, signature: str, secret: str) -> bool:
        expected = hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()
        return hmac.compare_digest(expected, signature.strip().lower())

    def parse(self, body: bytes, content_type: str) -> dict[str, Any]:
        return json_object(body)

    def event(self, delivery: Delivery, payload: Mapping[str, Any]) -> WebhookEvent:
        repository = payload.get("repository")
        repo_url: str | None = None
        if isinstance(repository, dict):
            url = repository.get("clone_url")
            repo_url = url if isinstance(url, str) else ""
        is_pr = delivery.event in ("pull_request", "pull_request_only")
        number = payload.get("number")
        if isinstance(number, bool) or not isinstance(number, int):
            number = None
        return WebhookEvent(
            kind="pull_request" if is_pr else delivery.event,
            repo_url=repo_url,
            number=number if is_pr else None,
            state=_state(payload) if is_pr else None,
            updated_at=pr_updated_at(payload),
            is_ping=False,  # Gitea and Forgejo send no ping: a test delivery is a push event
        )


def _state(payload: Mapping[str, Any]) -> str | None:
    pr = payload.get("pull_request")
    if not isinstance(pr, dict):
        return None
    if pr.get("merged"):
        return "merged"
    state = pr.get("state")
    return str(state) if state in ("open", "closed") else None


GITEA = GiteaWebhooks("Gitea")
FORGEJO = GiteaWebhooks("Forgejo")
