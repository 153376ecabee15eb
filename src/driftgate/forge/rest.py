"""The HTTP half every forge client shares: one httpx client per repository, every call through the
one retry policy, counted for /metrics, and failures as redacted forge errors."""

from __future__ import annotations

from typing import Any, Self

import httpx

from driftgate.forge.base import (
    FORGE_CALLS,
    CommentInfo,
    ForgeError,
    ForgeUnavailable,
    PullRequestInfo,
    fit_text,
)
from driftgate.forge.retry import RetryPolicy, is_retryable
from driftgate.security.redact import redact, register_secret


class RestRepoClient:
    """``_request(method, path)`` on ``{prefix}{path}``; a subclass speaks one forge: how its token
    is sent (``auth_headers``), where a repository's routes start (``repo_prefix``), where its API is
    for a clone URL (``locate``)."""

    comment_limit: int | None = None  # the forge's size limit for a comment or a description
    page_param, page_size = "per_page", 100  # how a list is paged
    nested = False  # whether a repository's owner may be a path of groups (GitLab's)

    @staticmethod
    def auth_headers(token: str) -> dict[str, str]:
        raise NotImplementedError

    @staticmethod
    def repo_prefix(owner: str, repo: str) -> str:
        return f"/repos/{owner}/{repo}"

    @staticmethod
    def locate(url: str) -> tuple[str, str, str]:
        """(API base URL, owner, repo) for a clone URL."""
        raise NotImplementedError

    @classmethod
    def for_repo_url(cls, url: str, token: str, **kwargs: Any) -> Self:
        from driftgate.forge.urls import parse_repo_url

        api, owner, repo = cls.locate(url)
        web = parse_repo_url(url, nested=cls.nested).web
        return cls(api_url=api, owner=owner, repo=repo, token=token, web_url=web, **kwargs)

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
        self.prefix = self.repo_prefix(owner, repo)
        self.web_url = web_url
        headers = self.auth_headers(token)
        self.policy = policy or RetryPolicy()
        self.calls: list[tuple[str, str, int | None]] = []
        self._http = httpx.Client(
            base_url=api_url.rstrip("/"),
            headers={**headers, "User-Agent": "driftgate"},
            timeout=timeout,
            transport=transport,
        )

    def close(self) -> None:
        self._http.close()

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def _text(self, body: str) -> str:
        """A comment or description as sent: redacted, cut to the forge's size limit."""
        return fit_text(redact(body), self.comment_limit)

    def _request(self, method: str, path: str, **kwargs: Any) -> httpx.Response:
        url = f"{self.prefix}{path}"
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
            message = redact(f"{method} {url}: {response.status_code} {self._message(response)}")
            error = ForgeUnavailable if is_retryable(response) else ForgeError
            raise error(message, status=response.status_code)
        return response

    def _message(self, response: httpx.Response) -> str:
        """The forge's own words for a failure (its JSON ``message``, or the start of the body)."""
        try:
            data = response.json()
        except ValueError:
            return response.text[:200]
        return str(data.get("message", "")) if isinstance(data, dict) else ""

    def _delete(self, path: str, *, gone: int) -> None:
        """DELETE ``path``; the forge's ``gone`` status (already deleted) is not an error."""
        try:
            self._request("DELETE", path)
        except ForgeError as exc:
            if exc.status != gone:
                raise


class PullsRepoClient(RestRepoClient):
    """GitHub's shape, which Gitea and Forgejo share: ``/pulls/{number}``, comments on the pull
    request's issue. A subclass reads a pull request document (``read_pull``)."""

    @staticmethod
    def read_pull(data: dict[str, Any]) -> PullRequestInfo:
        raise NotImplementedError

    def update_pull_request(
        self, number: int, *, title: str | None = None, body: str | None = None, state: str | None = None
    ) -> PullRequestInfo:
        payload = {k: redact(v) for k, v in (("title", title), ("state", state)) if v is not None}
        if body is not None:
            payload["body"] = self._text(body)
        return self.read_pull(self._request("PATCH", f"/pulls/{number}", json=payload).json())

    def pull_request_state(self, number: int) -> str:
        return self.read_pull(self._request("GET", f"/pulls/{number}").json()).state

    # -- a pull request's comments (on its issue) ------------------------------------------------

    def comment(self, number: int, body: str) -> CommentInfo:
        data = self._request("POST", f"/issues/{number}/comments", json={"body": self._text(body)}).json()
        return CommentInfo(int(data["id"]), str(data["body"]))

    def comments(self, number: int) -> list[CommentInfo]:
        found: list[CommentInfo] = []
        page = 1
        while True:
            params = {self.page_param: self.page_size, "page": page}
            batch = self._request("GET", f"/issues/{number}/comments", params=params).json()
            found += [CommentInfo(int(c["id"]), str(c.get("body") or "")) for c in batch]
            if len(batch) < self.page_size:
                return found
            page += 1

    def update_comment(self, number: int, comment_id: int, body: str) -> None:
        self._request("PATCH", f"/issues/comments/{comment_id}", json={"body": self._text(body)})
