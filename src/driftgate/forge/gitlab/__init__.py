"""GitLab (``/api/v4``): the REST client for merge requests and notes, and the webhooks."""

from __future__ import annotations

from driftgate.forge.base import ForgeClient
from driftgate.forge.gitlab.client import GitLabClient, api_for_repo_url
from driftgate.forge.gitlab.webhooks import WEBHOOKS

__all__ = ["WEBHOOKS", "GitLabClient", "api_for_repo_url", "client_for"]


def client_for(url: str, token: str) -> ForgeClient:  # typed so: mypy checks the client keeps the seam
    return GitLabClient.for_repo_url(url, token)
