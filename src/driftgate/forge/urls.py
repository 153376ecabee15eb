"""Repository URLs: the rules every forge shares (HTTPS, no credentials, ``/<owner>/<repo>``)."""

from __future__ import annotations

from dataclasses import dataclass
from urllib.parse import urlsplit

from driftgate import errors
from driftgate.forge.base import ForgeError

LOOPBACK = ("127.0.0.1", "localhost", "::1")


class RepoUrlError(ForgeError):
    """A repository URL driftgate will not use."""

    code = errors.INVALID_URL


@dataclass(frozen=True)
class RepoUrl:
    scheme: str
    netloc: str  # host[:port]
    host: str  # lower-case, without the port
    owner: str
    name: str  # without .git

    @property
    def web(self) -> str:
        """The repository's web address (``https://host/owner/name``)."""
        return f"{self.scheme}://{self.netloc}/{self.owner}/{self.name}"


def parse_repo_url(url: str, *, nested: bool = False) -> RepoUrl:
    """Check a clone URL and split it; RepoUrlError (INVALID_URL) names what is wrong. ``nested``:
    the owner may be a path of groups (GitLab's ``group/subgroup/project``)."""
    if url.startswith("git@") or "://" not in url:
        raise RepoUrlError(f"{url!r}: SSH and scp-style URLs are not supported; use HTTPS")
    parts = urlsplit(url)
    if parts.scheme not in ("https", "http") or not parts.hostname:
        raise RepoUrlError(f"{url!r}: only https:// repository URLs are supported")
    if parts.username or parts.password:
        raise RepoUrlError("credentials must not be in the URL; name them with auth_ref")
    if parts.scheme == "http" and parts.hostname not in LOOPBACK:
        raise RepoUrlError(f"{url!r}: plain http:// is only accepted for a local forge")
    if parts.query or parts.fragment:
        raise RepoUrlError(f"{url!r}: a repository URL has no query or fragment")
    segments = [s for s in parts.path.split("/") if s]
    if len(segments) < 2 or (len(segments) > 2 and not nested) or any(s in (".", "..") for s in segments):
        shape = "<group>[/<subgroup>…]/<project>" if nested else "<owner>/<repo>"
        raise RepoUrlError(f"{url!r}: expected https://<host>/{shape}")
    return RepoUrl(
        parts.scheme,
        parts.netloc,
        parts.hostname.lower(),
        "/".join(segments[:-1]),
        segments[-1].removesuffix(".git"),
    )
