"""GitHub (and GitHub Enterprise) over REST, with the retry policy and redacted errors."""

from __future__ import annotations

from typing import Any
from urllib.parse import quote

import httpx

from driftgate.forge.base import PullRequestInfo
from driftgate.forge.rest import PullsRepoClient
from driftgate.forge.urls import parse_repo_url
from driftgate.security.redact import redact

API_VERSION = "2022-11-28"


def api_for_repo_url(url: str) -> tuple[str, str, str]:
    """(API base URL, owner, repo) for a GitHub or GitHub Enterprise clone URL."""
    repo = parse_repo_url(url)
    api = "https://api.github.com" if repo.netloc == "github.com" else f"{repo.scheme}://{repo.netloc}/api/v3"
    return api, repo.owner, repo.name


class GitHubClient(PullsRepoClient):
    comment_limit = 65_535

    locate = staticmethod(api_for_repo_url)

    @staticmethod
    def auth_headers(token: str) -> dict[str, str]:
        return {
            "Authorization": f"Bearer {token}",
            "Accept": "application/vnd.github+json",
            "X-GitHub-Api-Version": API_VERSION,
        }

    def _message(self, response: httpx.Response) -> str:
        """GitHub's message, with its validation errors' details."""
        message = super()._message(response)
        try:
            data = response.json()
        except ValueError:
            return message
        errors = data.get("errors") if isinstance(data, dict) else None
        if errors:
            details = "; ".join(str(e.get("message") or e.get("code")) for e in errors if isinstance(e, dict))
            message = f"{message}: {details}"
        return message

    # -- ForgeClient -----------------------------------------------------------

    def open_pull_request(
        self, *, head: str, base: str, title: str, body: str, draft: bool = False
    ) -> PullRequestInfo:
        payload = {
            "title": redact(title),
            "head": head,
            "base": base,
            "body": self._text(body),
            "draft": draft,
        }
        return _pull(self._request("POST", "/pulls", json=payload).json())

    def find_open_pull_request(self, head: str) -> PullRequestInfo | None:
        found = self._request(
            "GET", "/pulls", params={"head": f"{self.owner}:{head}", "state": "open"}
        ).json()
        return _pull(found[0]) if found else None

    @staticmethod
    def read_pull(data: dict[str, Any]) -> PullRequestInfo:
        return _pull(data)

    def delete_branch(self, branch: str) -> None:
        self._delete(f"/git/refs/heads/{quote(branch, safe='/')}", gone=422)  # 422: it is already gone

    def file_url(self, branch: str, path: str) -> str:
        """GitHub's raw view of a file on a branch (``/blob/<branch>/<path>?raw=true``)."""
        return f"{self.web_url}/blob/{branch}/{path}?raw=true"


def _pull(data: dict[str, Any]) -> PullRequestInfo:
    state = "merged" if data.get("merged_at") else str(data["state"])
    return PullRequestInfo(
        number=int(data["number"]),
        url=str(data["html_url"]),
        state=state,
        head=str(data["head"]["ref"]),
        base=str(data["base"]["ref"]),
        draft=bool(data.get("draft")),
        title=str(data["title"]),
        body=str(data.get("body") or ""),
    )
