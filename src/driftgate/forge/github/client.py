"""GitHub (and GitHub Enterprise) over REST, with the retry policy and redacted errors."""

from __future__ import annotations

from typing import Any
from urllib.parse import quote

import httpx

from driftgate.forge.base import FORGE_CALLS, ForgeError, ForgeUnavailable, PullRequestInfo
from driftgate.forge.retry import RetryPolicy, is_retryable
from driftgate.forge.urls import parse_repo_url
from driftgate.security.redact import redact, register_secret

API_VERSION = "2022-11-28"


def api_for_repo_url(url: str) -> tuple[str, str, str]:
    """(API base URL, owner, repo) for a GitHub or GitHub Enterprise clone URL."""
    repo = parse_repo_url(url)
    api = "https://api.github.com" if repo.netloc == "github.com" else f"{repo.scheme}://{repo.netloc}/api/v3"
    return api, repo.owner, repo.name


class GitHubClient:
    def __init__(
        self,
        *,
        api_url: str,
        owner: str,
        repo: str,
        token: str,
        policy: RetryPolicy | None = None,
        transport: httpx.BaseTransport | None = None,
        timeout: float = 30.0,
        web_url: str = "",
    ) -> None:
        register_secret(token)
        self.owner, self.repo = owner, repo
        self.web_url = web_url
        self.policy = policy or RetryPolicy()
        self.calls: list[tuple[str, str, int | None]] = []
        self._http = httpx.Client(
            base_url=api_url.rstrip("/"),
            headers={
                "Authorization": f"Bearer {token}",
                "Accept": "application/vnd.github+json",
                "X-GitHub-Api-Version": API_VERSION,
                "User-Agent": "driftgate",
            },
            timeout=timeout,
            transport=transport,
        )

    @classmethod
    def for_repo_url(cls, url: str, token: str, **kwargs: Any) -> GitHubClient:
        api, owner, repo = api_for_repo_url(url)
        web = parse_repo_url(url).web
        return cls(api_url=api, owner=owner, repo=repo, token=token, web_url=web, **kwargs)

    def close(self) -> None:
        self._http.close()

    def __enter__(self) -> GitHubClient:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # -- the one request path --------------------------------------------------

    def _request(self, method: str, path: str, **kwargs: Any) -> httpx.Response:
        url = f"/repos/{self.owner}/{self.repo}{path}"
        response: httpx.Response | None = None
        for attempt in range(1, self.policy.attempts + 1):
            try:
                response = self._http.request(method, url, **kwargs)
            except httpx.TransportError as exc:
                self.calls.append((method, url, None))
                FORGE_CALLS["error"] += 1
                if attempt == self.policy.attempts:
                    raise ForgeUnavailable(redact(f"{method} {url}: {type(exc).__name__}: {exc}")) from None
                self.policy.sleep(self.policy.wait_for(attempt, None))
                continue
            self.calls.append((method, url, response.status_code))
            FORGE_CALLS[str(response.status_code)] += 1
            if not is_retryable(response):
                break
            if attempt < self.policy.attempts:
                self.policy.sleep(self.policy.wait_for(attempt, response))
        assert response is not None
        if response.status_code >= 400:
            message = redact(f"{method} {url}: {response.status_code} {_message(response)}")
            error = ForgeUnavailable if is_retryable(response) else ForgeError
            raise error(message, status=response.status_code)
        return response

    # -- ForgeClient -----------------------------------------------------------

    def open_pull_request(
        self, *, head: str, base: str, title: str, body: str, draft: bool = False
    ) -> PullRequestInfo:
        payload = {"title": redact(title), "head": head, "base": base, "body": redact(body), "draft": draft}
        return _pull(self._request("POST", "/pulls", json=payload).json())

    def find_open_pull_request(self, head: str) -> PullRequestInfo | None:
        found = self._request(
            "GET", "/pulls", params={"head": f"{self.owner}:{head}", "state": "open"}
        ).json()
        return _pull(found[0]) if found else None

    def update_pull_request(
        self, number: int, *, title: str | None = None, body: str | None = None, state: str | None = None
    ) -> PullRequestInfo:
        payload = {
            k: redact(v) for k, v in (("title", title), ("body", body), ("state", state)) if v is not None
        }
        return _pull(self._request("PATCH", f"/pulls/{number}", json=payload).json())

    def comment(self, number: int, body: str) -> None:
        self._request("POST", f"/issues/{number}/comments", json={"body": redact(body)})

    def pull_request_state(self, number: int) -> str:
        pr = _pull(self._request("GET", f"/pulls/{number}").json())
        return pr.state

    def delete_branch(self, branch: str) -> None:
        try:
            self._request("DELETE", f"/git/refs/heads/{quote(branch, safe='/')}")
        except ForgeError as exc:
            if exc.status != 422:  # 422: it is already gone
                raise

    def file_url(self, branch: str, path: str) -> str:
        """GitHub's raw view of a file on a branch (``/blob/<branch>/<path>?raw=true``)."""
        return f"{self.web_url}/blob/{branch}/{path}?raw=true"


def _message(response: httpx.Response) -> str:
    try:
        data = response.json()
    except ValueError:
        return response.text[:200]
    message = str(data.get("message", "")) if isinstance(data, dict) else ""
    errors = data.get("errors") if isinstance(data, dict) else None
    if errors:
        details = "; ".join(str(e.get("message") or e.get("code")) for e in errors if isinstance(e, dict))
        message = f"{message}: {details}"
    return message


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
