"""Forgejo: Gitea's API and client, Forgejo's webhook headers (``X-Forgejo-*``, or Gitea's)."""

from __future__ import annotations

from driftgate.forge.gitea import client_for
from driftgate.forge.gitea.webhooks import FORGEJO as WEBHOOKS

__all__ = ["WEBHOOKS", "client_for"]
