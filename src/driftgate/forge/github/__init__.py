"""GitHub, GitHub Enterprise and driftgate's local forge: the REST client and the webhooks."""

from __future__ import annotations

from driftgate.forge.base import ForgeClient
from driftgate.forge.github.client import GitHubClient, api_for_repo_url
from driftgate.forge.github.webhooks import WEBHOOKS, pr_state_of

__all__ = ["WEBHOOKS", "GitHubClient", "api_for_repo_url", "client_for", "pr_state_of"]


def client_for(url: str, token: str) -> ForgeClient:  # typed so: mypy checks the client keeps the seam
    return GitHubClient.for_repo_url(url, token)
