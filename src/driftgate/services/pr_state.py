"""Pull-request state: signed webhook deliveries, and a poll for the ones that never arrived."""

from __future__ import annotations

import hashlib
import hmac
from datetime import datetime
from typing import Any
from urllib.parse import parse_qs

from driftgate import errors
from driftgate.errors import SIGNATURE_INVALID, CodedError, DriftgateError
from driftgate.errors import WEBHOOK_INVALID as INVALID_DELIVERY
from driftgate.errors import WEBHOOK_REPLAYED as REPLAYED
from driftgate.errors import WEBHOOK_UNKNOWN_REPO as UNKNOWN_REPO
from driftgate.security.limits import loads_json
from driftgate.services.workspace import Workspace
from driftgate.store import registry


def _same_repo(a: str, b: str) -> bool:
    return a.rstrip("/").removesuffix(".git").lower() == b.rstrip("/").removesuffix(".git").lower()


def pr_state_of(payload: dict[str, Any]) -> str | None:
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


def receive_github(
    ws: Workspace,
    *,
    body: bytes,
    signature: str | None,
    event: str | None,
    delivery: str | None,
    content_type: str = "application/json",
) -> tuple[int, dict[str, Any]]:
    """Verify, de-duplicate and apply one ``pull_request`` delivery.

    The signature is checked over the raw bytes before anything parses them:
    the repo is the one whose webhook secret signed the body. State changes move
    forward in the PR's own time (``pull_request.updated_at``), so an old delivery
    re-sent under a new delivery id cannot undo a newer state.
    """
    if not signature or not signature.startswith("sha256=") or not delivery:
        raise CodedError(
            SIGNATURE_INVALID, "unsigned delivery (X-Hub-Signature-256 and X-GitHub-Delivery needed)"
        )
    repo = _signer(ws, body, signature)
    payload = _payload(body, content_type)
    repository = payload.get("repository")
    if not isinstance(repository, dict):  # an organization or app hook: verified, nothing of ours
        if event == "ping":
            return 200, {"event": event, "pong": True}
        return 202, {"event": event, "ignored": True}
    url = repository.get("clone_url")
    if not isinstance(url, str) or not _same_repo(repo.url, url):
        raise CodedError(UNKNOWN_REPO, "no config repo with a webhook secret matches this delivery")
    if event == "ping":
        return 200, {"event": event, "pong": True}
    state = pr_state_of(payload) if event == "pull_request" else None
    number = payload.get("number")
    if event == "pull_request" and (not isinstance(number, int) or isinstance(number, bool)):
        raise CodedError(INVALID_DELIVERY, "a pull_request delivery needs a numeric 'number'")
    with ws.transaction() as conn:
        if not registry.record_delivery(conn, delivery):
            raise CodedError(REPLAYED, f"delivery {delivery} was already received")
        at = _updated_at(payload)
        updated = (
            registry.set_pr_state(conn, repo.id, number, state, at=at)
            if state and isinstance(number, int)
            else 0
        )
    return 200, {"event": event, "state": state, "updated": updated}


def _payload(body: bytes, content_type: str) -> dict[str, Any]:
    """The delivery's JSON: the body itself, or its ``payload`` field (GitHub's form-encoded type)."""
    raw: str | bytes = body
    if content_type.split(";")[0].strip().lower() == "application/x-www-form-urlencoded":
        fields = parse_qs(body.decode("utf-8", "replace"), max_num_fields=10)
        if "payload" not in fields:
            raise CodedError(INVALID_DELIVERY, "a form-encoded delivery needs a 'payload' field")
        raw = fields["payload"][0]
    try:
        payload = loads_json(raw)
    except ValueError as exc:
        raise CodedError(errors.INVALID_INPUT, f"the delivery is not valid JSON: {exc}") from None
    if not isinstance(payload, dict):
        raise CodedError(errors.INVALID_INPUT, "the delivery is not a JSON object")
    return payload


def _signer(ws: Workspace, body: bytes, signature: str) -> registry.ConfigRepoRow:
    """The config repo whose webhook secret signed ``body`` (every candidate is checked)."""
    with ws.transaction() as conn:
        candidates = [r for r in registry.all_config_repos(conn) if r.webhook_secret_ref]
    found = None
    for repo in candidates:
        try:
            secret = ws.secrets().resolve(str(repo.webhook_secret_ref))
        except DriftgateError:
            continue
        expected = "sha256=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()
        if hmac.compare_digest(expected, signature):
            found = repo
    if found is None:
        raise CodedError(SIGNATURE_INVALID, "the signature matches no config repo's webhook secret")
    return found


def _updated_at(payload: dict[str, Any]) -> float | None:
    pr = payload.get("pull_request")
    stamp = pr.get("updated_at") if isinstance(pr, dict) else None
    if not isinstance(stamp, str):
        return None
    try:
        return datetime.fromisoformat(stamp.replace("Z", "+00:00")).timestamp()
    except ValueError:
        return None


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
