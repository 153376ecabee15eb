"""GitLab over REST (``/api/v4``), with the shared retry policy and redacted errors.

Differences from GitHub that matter here: merge requests (numbered by ``iid`` within the project)
instead of pull requests, the project addressed by its URL-encoded path (``group%2Fsub%2Fproject``),
``PRIVATE-TOKEN`` auth, a draft marked by the ``Draft:`` title prefix, states ``opened``/``closed``/
``merged``, closing by ``state_event``, comments as notes (system notes left out), raw files at
``/-/raw/<branch>/<path>``, and notes up to 1,000,000 characters.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import quote

from driftgate.forge.base import CommentInfo, ForgeError, PullRequestInfo
from driftgate.forge.rest import RestRepoClient
from driftgate.forge.urls import parse_repo_url
from driftgate.security.redact import redact

DRAFT_PREFIX = "Draft: "
DRAFT_PREFIXES = ("Draft:", "[Draft]", "(Draft)", "WIP:", "[WIP]")
PAGE = 100
STATES = {"opened": "open", "locked": "open", "closed": "closed", "merged": "merged"}
STATE_EVENTS = {"open": "reopen", "closed": "close"}


def api_for_repo_url(url: str) -> tuple[str, str, str]:
    """(API base URL, namespace, project) for a GitLab clone URL (the namespace may be nested)."""
    repo = parse_repo_url(url, nested=True)
    return f"{repo.scheme}://{repo.netloc}/api/v4", repo.owner, repo.name


class GitLabClient(RestRepoClient):
    comment_limit = 1_000_000
    nested = True

    @staticmethod
    def auth_headers(token: str) -> dict[str, str]:
        return {"PRIVATE-TOKEN": token, "Accept": "application/json"}

    @staticmethod
    def repo_prefix(owner: str, repo: str) -> str:
        return "/projects/" + quote(f"{owner}/{repo}", safe="")

    locate = staticmethod(api_for_repo_url)

    # -- ForgeClient -------------------------------------------------------------------------------

    def open_pull_request(
        self, *, head: str, base: str, title: str, body: str, draft: bool = False
    ) -> PullRequestInfo:
        title = redact(title)
        if draft and not title.startswith(DRAFT_PREFIXES):
            title = DRAFT_PREFIX + title
        payload = {
            "source_branch": head,
            "target_branch": base,
            "title": title,
            "description": self._text(body),
            "remove_source_branch": False,
        }
        return _merge_request(self._request("POST", "/merge_requests", json=payload).json())

    def find_open_pull_request(self, head: str) -> PullRequestInfo | None:
        found = self._request(
            "GET", "/merge_requests", params={"state": "opened", "source_branch": head, "per_page": PAGE}
        ).json()
        return _merge_request(found[0]) if found else None

    def update_pull_request(
        self, number: int, *, title: str | None = None, body: str | None = None, state: str | None = None
    ) -> PullRequestInfo:
        payload: dict[str, str] = {}
        if title is not None:
            payload["title"] = redact(title)
        if body is not None:
            payload["description"] = self._text(body)
        if state is not None:
            if state not in STATE_EVENTS:
                raise ForgeError(f"a merge request can be set open or closed, not {state!r}")
            payload["state_event"] = STATE_EVENTS[state]
        return _merge_request(self._request("PUT", f"/merge_requests/{number}", json=payload).json())

    def comment(self, number: int, body: str) -> CommentInfo:
        data = self._request(
            "POST", f"/merge_requests/{number}/notes", json={"body": self._text(body)}
        ).json()
        return CommentInfo(int(data["id"]), str(data["body"]))

    def comments(self, number: int) -> list[CommentInfo]:
        found: list[CommentInfo] = []
        page = 1
        while True:
            params: dict[str, str | int] = {
                "sort": "asc",
                "order_by": "created_at",
                "per_page": PAGE,
                "page": page,
            }
            batch = self._request("GET", f"/merge_requests/{number}/notes", params=params).json()
            found += [
                CommentInfo(int(n["id"]), str(n.get("body") or "")) for n in batch if not n.get("system")
            ]
            if len(batch) < PAGE:
                return found
            page += 1

    def update_comment(self, number: int, comment_id: int, body: str) -> None:
        self._request("PUT", f"/merge_requests/{number}/notes/{comment_id}", json={"body": self._text(body)})

    def pull_request_state(self, number: int) -> str:
        return _merge_request(self._request("GET", f"/merge_requests/{number}").json()).state

    def delete_branch(self, branch: str) -> None:
        self._delete(f"/repository/branches/{quote(branch, safe='')}", gone=404)  # 404: already gone

    def file_url(self, branch: str, path: str) -> str:
        """GitLab's raw view of a file on a branch (``/-/raw/<branch>/<path>``)."""
        return f"{self.web_url}/-/raw/{branch}/{path}"


def _merge_request(data: dict[str, Any]) -> PullRequestInfo:
    title = str(data["title"])
    return PullRequestInfo(
        number=int(data["iid"]),
        url=str(data["web_url"]),
        state=STATES.get(str(data["state"]), str(data["state"])),
        head=str(data["source_branch"]),
        base=str(data["target_branch"]),
        draft=bool(data.get("draft", title.startswith(DRAFT_PREFIXES))),
        title=title,
        body=str(data.get("description") or ""),
    )
