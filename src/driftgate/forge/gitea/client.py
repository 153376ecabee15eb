"""Gitea and Forgejo over REST (``/api/v1``), with the shared retry policy and redacted errors.

Differences from GitHub that matter here: no draft flag (a ``WIP:`` title prefix is how both mark
one), token auth as ``Authorization: token …``, a branch deleted by ``DELETE /branches/{name}``,
no head filter on the pull request list (it is paged through), raw files at ``/raw/branch/…``.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import quote

from driftgate.forge.base import PullRequestInfo
from driftgate.forge.rest import PullsRepoClient
from driftgate.forge.urls import parse_repo_url
from driftgate.security.redact import redact

DRAFT_PREFIX = "WIP: "
PAGE = 50  # Gitea's default maximum page size


def api_for_repo_url(url: str) -> tuple[str, str, str]:
    """(API base URL, owner, repo) for a Gitea or Forgejo clone URL."""
    repo = parse_repo_url(url)
    return f"{repo.scheme}://{repo.netloc}/api/v1", repo.owner, repo.name


class GiteaClient(PullsRepoClient):
    page_param, page_size = "limit", PAGE

    @staticmethod
    def auth_headers(token: str) -> dict[str, str]:
        return {"Authorization": f"token {token}", "Accept": "application/json"}

    locate = staticmethod(api_for_repo_url)

    # -- ForgeClient -------------------------------------------------------------------------------

    def open_pull_request(
        self, *, head: str, base: str, title: str, body: str, draft: bool = False
    ) -> PullRequestInfo:
        title = redact(title)
        if draft and not title.startswith(DRAFT_PREFIX):
            title = DRAFT_PREFIX + title
        payload = {"title": title, "head": head, "base": base, "body": self._text(body)}
        return _pull(self._request("POST", "/pulls", json=payload).json())

    def find_open_pull_request(self, head: str) -> PullRequestInfo | None:
        page = 1
        while True:
            found = self._request(
                "GET", "/pulls", params={"state": "open", "page": page, "limit": PAGE}
            ).json()
            for data in found:
                if data["head"]["ref"] == head:
                    return _pull(data)
            if len(found) < PAGE:
                return None
            page += 1

    @staticmethod
    def read_pull(data: dict[str, Any]) -> PullRequestInfo:
        return _pull(data)

    def delete_branch(self, branch: str) -> None:
        self._delete(f"/branches/{quote(branch, safe='')}", gone=404)  # 404: it is already gone

    def file_url(self, branch: str, path: str) -> str:
        """Gitea's raw view of a file on a branch (``/raw/branch/<branch>/<path>``)."""
        return f"{self.web_url}/raw/branch/{branch}/{path}"


def _pull(data: dict[str, Any]) -> PullRequestInfo:
    state = "merged" if data.get("merged") else str(data["state"])
    title = str(data["title"])
    return PullRequestInfo(
        number=int(data["number"]),
        url=str(data["html_url"]),
        state=state,
        head=str(data["head"]["ref"]),
        base=str(data["base"]["ref"]),
        draft=title.startswith(("WIP:", "[WIP]")),
        title=title,
        body=str(data.get("body") or ""),
    )
