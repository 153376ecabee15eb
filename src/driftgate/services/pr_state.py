"""Pull-request state: signed webhook deliveries, and a poll for the ones that never arrived."""

from __future__ import annotations

import hashlib
import hmac
import json
from typing import Any

from driftgate.errors import CodedError, DriftgateError
from driftgate.services.workspace import Workspace
from driftgate.store import registry

SIGNATURE_INVALID = "SIGNATURE_INVALID"
REPLAYED = "WEBHOOK_REPLAYED"
UNKNOWN_REPO = "WEBHOOK_UNKNOWN_REPO"


def _same_repo(a: str, b: str) -> bool:
    return a.rstrip("/").removesuffix(".git").lower() == b.rstrip("/").removesuffix(".git").lower()


def pr_state_of(payload: dict[str, Any]) -> str | None:
    action = payload.get("action")
    pr = payload.get("pull_request") or {}
    if action == "closed":
        return "merged" if pr.get("merged") or pr.get("merged_at") else "closed"
    if action in ("opened", "reopened", "ready_for_review", "converted_to_draft", "synchronize", "edited"):
        return "open"
    return None


def receive_github(
    ws: Workspace, *, body: bytes, signature: str | None, event: str | None, delivery: str | None
) -> dict[str, Any]:
    """Verify, de-duplicate and apply one ``pull_request`` delivery."""
    if not signature or not signature.startswith("sha256=") or not delivery:
        raise CodedError(
            SIGNATURE_INVALID, "unsigned delivery (X-Hub-Signature-256 and X-GitHub-Delivery needed)"
        )
    try:
        payload = json.loads(body)
        url = str(payload["repository"]["clone_url"])
    except (ValueError, KeyError, TypeError):
        raise CodedError(SIGNATURE_INVALID, "the delivery is not a repository event") from None
    with ws.transaction() as conn:
        repo = next((r for r in registry.all_config_repos(conn) if _same_repo(r.url, url)), None)
    if repo is None or not repo.webhook_secret_ref:
        raise CodedError(UNKNOWN_REPO, "no config repo with a webhook secret matches this delivery")
    try:
        secret = ws.secrets().resolve(repo.webhook_secret_ref)
    except DriftgateError:
        raise CodedError(UNKNOWN_REPO, f"the webhook secret of {repo.name!r} cannot be read") from None
    expected = "sha256=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()
    if not hmac.compare_digest(expected, signature):
        raise CodedError(SIGNATURE_INVALID, "the signature does not match")
    with ws.transaction() as conn:
        if not registry.record_delivery(conn, delivery):
            raise CodedError(REPLAYED, f"delivery {delivery} was already received")
        state = pr_state_of(payload) if event == "pull_request" else None
        updated = registry.set_pr_state(conn, repo.id, int(payload["number"]), state) if state else 0
    return {"event": event, "state": state, "updated": updated}


def poll_pr_states(ws: Workspace) -> int:
    """Ask the forge for every open PR's state (covers missed deliveries); returns how many changed."""
    from driftgate.forge.github import GitHubClient

    changed = 0
    with ws.transaction() as conn:
        open_prs = registry.proposals_with_open_prs(conn)
        repos = {r.id: r for r in registry.all_config_repos(conn)}
    for proposal in open_prs:
        repo = repos.get(proposal["config_repo_id"])
        if repo is None:
            continue
        try:
            with GitHubClient.for_repo_url(repo.url, ws.secrets().resolve(repo.auth_ref)) as forge:
                state = forge.pull_request_state(int(proposal["pr_number"]))
        except DriftgateError:
            continue  # transient or misconfigured: the next poll tries again
        if state != "open":
            with ws.transaction() as conn:
                changed += registry.set_pr_state(conn, repo.id, int(proposal["pr_number"]), state)
    return changed
