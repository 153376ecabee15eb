"""Forges, behind one seam: services ask ``forge_for(url, token, kind)`` and never name a forge.

Each kind is one package (``forge/github/``) exposing ``client_for(url, token)`` and ``WEBHOOKS``;
adding a forge is that package plus one line in ``KINDS``. Packages load on first use (httpx is
imported only when a forge is used). Which kind serves a repository: the one named in the config,
a well-known host's, or the one its API answers as (``probe_kind``; callers record it per host).
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
    "gitlab": "driftgate.forge.gitlab",
}
GIT_USERNAMES = {"gitlab": "oauth2"}  # git over HTTPS: this user name, the token as the password
KNOWN_HOSTS = {"github.com": "github", "gitlab.com": "gitlab", "codeberg.org": "forgejo"}
UNSUPPORTED = ("bitbucket.org", "dev.azure.com", "visualstudio.com", "sr.ht")  # hosts (and their subdomains)
PROBES = ("/api/v1/version", "/api/v4/version", "/api/v3/meta")  # Gitea/Forgejo, GitLab, GitHub Enterprise


def host_of(url: str) -> str:
    """The key a forge kind is recorded under: ``host[:port]``, lower-case (the URL checked)."""
    return parse_repo_url(url, nested=True).netloc.lower()


def known_kind(url: str) -> str | None:
    """The kind of a well-known host (github.com, gitlab.com, codeberg.org), None for any other;
    UNSUPPORTED_FORGE for a forge driftgate has no client for. The URL is checked first."""
    host = parse_repo_url(url, nested=True).host
    if any(host == name or host.endswith("." + name) for name in UNSUPPORTED):
        raise CodedError(errors.UNSUPPORTED_FORGE, f"{host}: driftgate has no client for this forge")
    return KNOWN_HOSTS.get(host)


def git_username(kind: str) -> str:
    """The user name a forge of ``kind`` takes beside a token as the password over HTTPS."""
    return GIT_USERNAMES.get(kind, "x-access-token")


def check_kind(kind: str) -> str:
    if kind not in KINDS:
        raise CodedError(errors.UNSUPPORTED_FORGE, f"forge: {kind!r} is not one of {', '.join(KINDS)}")
    return kind


def probe_kind(url: str, token: str | None, *, timeout: float = 10.0) -> str:
    """Ask the repository's host which forge it is: ``/api/v1/version`` answers on Gitea and Forgejo
    (Forgejo's version says ``+gitea``), ``/api/v4/version`` on GitLab (with the token: it needs
    one), ``/api/v3/meta`` on GitHub Enterprise. UNSUPPORTED_FORGE when none answers as expected;
    FORGE_UNAVAILABLE when the host cannot be reached."""
    import httpx

    from driftgate.forge.base import ForgeUnavailable
    from driftgate.security.redact import redact

    repo = parse_repo_url(url, nested=True)
    base = f"{repo.scheme}://{repo.netloc}"
    with httpx.Client(base_url=base, timeout=timeout, headers={"User-Agent": "driftgate"}) as http:
        for path in PROBES:
            headers = {"PRIVATE-TOKEN": token} if token and path == "/api/v4/version" else {}
            try:
                response = http.get(path, headers=headers)
            except httpx.HTTPError as exc:
                raise ForgeUnavailable(redact(f"{base}: {type(exc).__name__}: {exc}")) from None
            if response.status_code >= 500:
                raise ForgeUnavailable(f"{base}{path}: {response.status_code}")
            kind = _answer_kind(path, response)
            if kind is not None:
                return kind
    raise CodedError(
        errors.UNSUPPORTED_FORGE,
        f"{repo.netloc}: not GitHub, Gitea, Forgejo or GitLab as far as its API says (asked "
        f"{', '.join(PROBES)}); name the forge with forge: {' | '.join(KINDS)}",
    )


def _answer_kind(path: str, response: object) -> str | None:
    import httpx

    assert isinstance(response, httpx.Response)
    if response.status_code != 200:
        return None
    try:
        data = response.json()
    except ValueError:
        return None
    if not isinstance(data, dict):
        return None
    if path == "/api/v1/version" and isinstance(data.get("version"), str):
        return "forgejo" if "+gitea" in data["version"] or "forgejo" in data["version"] else "gitea"
    if path == "/api/v4/version" and isinstance(data.get("version"), str) and "revision" in data:
        return "gitlab"
    if path == "/api/v3/meta" and (
        "installed_version" in data or "verifiable_password_authentication" in data
    ):
        return "github"
    return None


def _package(kind: str) -> object:
    return import_module(KINDS[check_kind(kind)])


def forge_for(url: str, token: str, kind: str | None = None) -> ForgeClient:
    """A client for the repository at ``url`` (a context manager: close it when done). Without
    ``kind``, the host must be a well-known one (callers detect and record others first)."""
    if kind is None:
        kind = known_kind(url)
        if kind is None:
            raise CodedError(errors.UNSUPPORTED_FORGE, f"{host_of(url)}: which forge serves it is not known")
    client: ForgeClient = _package(kind).client_for(url, token)  # type: ignore[attr-defined]
    return client


def webhooks_for(kind: str) -> Webhooks:
    """How deliveries of this forge kind are signed and what they say."""
    hooks: Webhooks = _package(kind).WEBHOOKS  # type: ignore[attr-defined]
    return hooks
