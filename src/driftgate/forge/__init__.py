"""Forges, behind one seam: services ask ``forge_for(url, token, kind)`` and never name a forge.

Each kind is one package (``forge/github/``) exposing ``client_for(url, token)`` and ``WEBHOOKS``;
adding a forge is that package plus one line in ``KINDS``. Packages load on first use (httpx is
imported only when a forge is used).
"""

from __future__ import annotations

from importlib import import_module
from typing import TYPE_CHECKING

from driftgate import errors
from driftgate.errors import CodedError
from driftgate.forge.urls import parse_repo_url

if TYPE_CHECKING:
    from driftgate.forge.base import ForgeClient, Webhooks

KINDS = {
    "github": "driftgate.forge.github",  # github.com, GitHub Enterprise, driftgate's local forge
    "gitea": "driftgate.forge.gitea",
    "forgejo": "driftgate.forge.forgejo",  # Gitea's API, Forgejo's webhook headers
}
NOT_YET = ("gitlab", "bitbucket", "sourcehut", "dev.azure")
BY_HOST = {"codeberg.org": "forgejo", "forgejo": "forgejo", "gitea": "gitea"}  # a name in the host


def kind_of(url: str) -> str:
    """The forge kind for a repository URL (the URL checked first): a host that names its forge
    (codeberg.org, gitea.example.com); other hosts are GitHub-style unless the kind is given."""
    host = parse_repo_url(url).host
    if any(name in host for name in NOT_YET):
        raise CodedError(errors.UNSUPPORTED_PROVIDER, f"{host}: no forge client for this provider yet")
    return next((kind for name, kind in BY_HOST.items() if name in host), "github")


def _package(kind: str) -> object:
    if kind not in KINDS:
        raise CodedError(errors.UNSUPPORTED_PROVIDER, f"no forge client of kind {kind!r}")
    return import_module(KINDS[kind])


def forge_for(url: str, token: str, kind: str | None = None) -> ForgeClient:
    """A client for the repository at ``url`` (a context manager: close it when done)."""
    client: ForgeClient = _package(kind or kind_of(url)).client_for(url, token)  # type: ignore[attr-defined]
    return client


def webhooks_for(kind: str) -> Webhooks:
    """How deliveries of this forge kind are signed and what they say."""
    hooks: Webhooks = _package(kind).WEBHOOKS  # type: ignore[attr-defined]
    return hooks
