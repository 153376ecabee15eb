"""Gitea and Forgejo (``/api/v1``; Forgejo keeps Gitea's API): the REST client. Not yet a kind of
``forge_for``: its webhooks and the kind's detection come next (issue 15)."""

from __future__ import annotations

from driftgate.forge.gitea.client import GiteaClient, api_for_repo_url

__all__ = ["GiteaClient", "api_for_repo_url", "client_for"]


def client_for(url: str, token: str) -> GiteaClient:
    return GiteaClient.for_repo_url(url, token)
