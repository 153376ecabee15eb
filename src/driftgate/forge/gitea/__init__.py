"""Gitea and Forgejo (``/api/v1``; Forgejo keeps Gitea's API): the REST client and the webhooks.
The ``forgejo`` kind is this package too (``forge/forgejo``), with Forgejo's webhook headers."""

from __future__ import annotations

from driftgate.forge.base import ForgeClient
from driftgate.forge.gitea.client import GiteaClient, api_for_repo_url
from driftgate.forge.gitea.webhooks import GITEA as WEBHOOKS

__all__ = ["WEBHOOKS", "GiteaClient", "api_for_repo_url", "client_for"]


def client_for(url: str, token: str) -> ForgeClient:  # typed so: mypy checks the client keeps the seam
    return GiteaClient.for_repo_url(url, token)
