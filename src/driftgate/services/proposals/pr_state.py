"""Pull-request state: signed webhook deliveries, and a poll for the ones that never arrived.

How a forge signs and words its deliveries is the forge's (``forge.webhooks_for(kind)``); what a
delivery changes — the proposal's PR state, once per delivery id, forward in time — is here.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from driftgate.errors import SIGNATURE_INVALID, CodedError, DriftgateError
from driftgate.errors import WEBHOOK_INVALID as INVALID_DELIVERY
from driftgate.errors import WEBHOOK_REPLAYED as REPLAYED
from driftgate.errors import WEBHOOK_UNKNOWN_REPO as UNKNOWN_REPO
from driftgate.forge import forge_for, webhooks_for
from driftgate.forge.base import Webhooks
from driftgate.services.workspace import Workspace
from driftgate.store import config_repos as config_repos_db
from driftgate.store import proposals as proposals_db


def _same_repo(a: str, b: str) -> bool:
    return a.rstrip("/").removesuffix(".git").lower() == b.rstrip("/").removesuffix(".git").lower()


def receive_webhook(
    ws: Workspace,
    *,
    kind: str,
    body: bytes,
    headers: Mapping[str, str],
    content_type: str = "application/json",
) -> tuple[int, dict[str, Any]]:
    """Verify, de-duplicate and apply one delivery of a forge of ``kind``.

    The signature is checked over the raw bytes before anything parses them:
    the repo is the one whose webhook secret signed the body. State changes move
    forward in the PR's own time (its ``updated_at``), so an old delivery re-sent
    under a new delivery id cannot undo a newer state.
    """
    hooks = webhooks_for(kind)
    delivery = hooks.delivery(headers)
    repo = _signer(ws, hooks, body, delivery.signature)
    event = hooks.event(delivery, hooks.parse(body, content_type))
    if event.repo_url is None:  # an organization or app hook: verified, nothing of ours
        if event.is_ping:
            return 200, {"event": event.kind, "pong": True}
        return 202, {"event": event.kind, "ignored": True}
    if not _same_repo(repo.url, event.repo_url):
        raise CodedError(UNKNOWN_REPO, "no config repo with a webhook secret matches this delivery")
    if event.is_ping:
        return 200, {"event": event.kind, "pong": True}
    if event.kind == "pull_request" and event.number is None:
        raise CodedError(INVALID_DELIVERY, "a pull_request delivery needs a numeric 'number'")
    with ws.transaction() as conn:
        if not proposals_db.record_delivery(conn, delivery.id):
            raise CodedError(REPLAYED, f"delivery {delivery.id} was already received")
        updated = (
            proposals_db.set_pr_state(conn, repo.id, event.number, event.state, at=event.updated_at)
            if event.state and event.number is not None
            else 0
        )
    return 200, {"event": event.kind, "state": event.state, "updated": updated}


def _signer(ws: Workspace, hooks: Webhooks, body: bytes, signature: str) -> config_repos_db.ConfigRepoRow:
    """The config repo whose webhook secret signed ``body`` (every candidate is checked)."""
    with ws.transaction() as conn:
        candidates = [r for r in config_repos_db.all_config_repos(conn) if r.webhook_secret_ref]
    found = None
    for repo in candidates:
        try:
            secret = ws.secrets().resolve(str(repo.webhook_secret_ref))
        except DriftgateError:
            continue
        if hooks.verify(body, signature, secret):
            found = repo
    if found is None:
        raise CodedError(SIGNATURE_INVALID, "the signature matches no config repo's webhook secret")
    return found


def poll_pr_states(ws: Workspace) -> int:
    """Ask the forge for every open PR's state (covers missed deliveries); returns how many changed."""
    changed = 0
    with ws.transaction() as conn:
        open_prs = proposals_db.proposals_with_open_prs(conn)
        repos = {r.id: r for r in config_repos_db.all_config_repos(conn)}
    for proposal in open_prs:
        repo = repos.get(proposal["config_repo_id"])
        if repo is None:
            continue
        try:
            with forge_for(repo.url, ws.secrets().resolve(repo.auth_ref), repo.forge) as forge:
                state = forge.pull_request_state(int(proposal["pr_number"]))
        except DriftgateError:
            continue  # transient or misconfigured: the next poll tries again
        if state != "open":
            with ws.transaction() as conn:
                changed += proposals_db.set_pr_state(conn, repo.id, int(proposal["pr_number"]), state)
    return changed
