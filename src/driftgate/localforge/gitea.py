"""The local forge as Gitea or Forgejo (``/api/v1``): the REST subset driftgate uses, each answer
built from the same forge state as the GitHub routes (one repository, one set of pull requests,
whichever API asks). Gitea has no draft flag: a title starting ``WIP:`` (or ``[WIP]``) is a draft."""

from __future__ import annotations

import re
from typing import TYPE_CHECKING, Any

from driftgate.localforge.documents import Pull
from driftgate.localforge.forge import ZERO, Route, dispatch, git, now

if TYPE_CHECKING:
    from driftgate.localforge.http import Handler

GITEA_API = "/api/v1"
VERSIONS = {"gitea": "1.22.3", "forgejo": "9.0.3+gitea-1.22.0"}
DRAFT = re.compile(r"^\s*(WIP:|\[WIP\])", re.IGNORECASE)
R = "/repos/{owner}/{repo}"


def is_draft(title: str) -> bool:
    return bool(DRAFT.match(title))


class GiteaRoutes:
    """``/api/v1`` for the local forge: version, a repository, its pull requests and their
    comments, branch deletion."""

    def __init__(self, h: Handler, payload: Any, query: dict[str, list[str]]) -> None:
        self.h, self.payload, self.query = h, payload, query
        self.forge = h.forge
        self.template = ""

    def route(self, path: str) -> None:
        if path == "/version" and self.h.command == "GET":
            self.template = "/version"
            self.ok(200, {"version": VERSIONS.get(self.forge.kind, VERSIONS["gitea"])})
            return
        m = re.fullmatch(r"/repos/([^/]+)/([^/]+)(/.*)?", path)
        if m is None or m.group(1) != self.forge.owner or m.group(2) not in self.forge.repos:
            self.h._error(404, "Not Found")
            return
        self.repo = m.group(2)
        self.pulls = self.forge.repos[self.repo].pulls
        routes: list[Route] = [
            ("GET", r"", R, self.get_repo),
            ("GET", r"/pulls", R + "/pulls", self.list_pulls),
            ("POST", r"/pulls", R + "/pulls", self.create_pull),
            ("GET", r"/pulls/(\d+)", R + "/pulls/{index}", self.get_pull),
            ("PATCH", r"/pulls/(\d+)", R + "/pulls/{index}", self.edit_pull),
            ("GET", r"/pulls/(\d+)/merge", R + "/pulls/{index}/merge", self.check_merged),
            ("GET", r"/issues/(\d+)/comments", R + "/issues/{index}/comments", self.list_comments),
            ("POST", r"/issues/(\d+)/comments", R + "/issues/{index}/comments", self.create_comment),
            ("PATCH", r"/issues/comments/(\d+)", R + "/issues/comments/{id}", self.edit_comment),
            ("DELETE", r"/branches/(.+)", R + "/branches/{branch}", self.delete_branch),
        ]
        rest = m.group(3) or ""
        route = dispatch(routes, self.h.command, rest)
        if route is None:
            self.h._error(404, "Not Found")
            return
        self.template, handler, params = route
        handler(*params)

    # -- answers ---------------------------------------------------------------------------------

    def ok(self, status: int, data: Any) -> None:
        self.h._json(status, data, None, self.template)

    def fail(self, status: int, message: str) -> None:
        self.h._json(
            status, {"message": message, "url": f"{self.forge.base}/api/swagger"}, None, self.template
        )

    def user(self) -> dict[str, Any]:
        owner = self.forge.owner
        return {"id": 1, "login": owner, "username": owner, "full_name": owner, "email": f"{owner}@localhost"}

    def repo_doc(self) -> dict[str, Any]:
        web = f"{self.forge.base}/{self.forge.owner}/{self.repo}"
        return {
            "id": sorted(self.forge.repos).index(self.repo) + 1,
            "name": self.repo,
            "full_name": f"{self.forge.owner}/{self.repo}",
            "owner": self.user(),
            "default_branch": self.forge.default_branch(self.repo),
            "html_url": web,
            "clone_url": f"{web}.git",
            "private": False,
            "empty": False,
        }

    def pull_doc(self, pr: Pull) -> dict[str, Any]:
        web = f"{self.forge.base}/{self.forge.owner}/{self.repo}"
        head = self.forge.branch_sha(self.repo, pr.head) or ZERO
        base = self.forge.branch_sha(self.repo, pr.base) or ZERO
        repo = self.repo_doc()
        return {
            "id": pr.number,
            "number": pr.number,
            "url": f"{web}/pulls/{pr.number}",
            "html_url": f"{web}/pulls/{pr.number}",
            "diff_url": f"{web}/pulls/{pr.number}.diff",
            "state": "closed" if pr.state == "closed" else "open",
            "merged": pr.merged,
            "title": pr.title,
            "body": pr.body,
            "user": self.user(),
            "head": {"label": pr.head, "ref": pr.head, "sha": head, "repo_id": repo["id"], "repo": repo},
            "base": {"label": pr.base, "ref": pr.base, "sha": base, "repo_id": repo["id"], "repo": repo},
            "comments": len(pr.comments),
            "mergeable": True,
            "created_at": pr.created_at,
            "updated_at": pr.updated_at,
        }

    def comment_doc(self, pr: Pull, comment: dict[str, Any]) -> dict[str, Any]:
        web = f"{self.forge.base}/{self.forge.owner}/{self.repo}"
        return {
            "id": comment["id"],
            "body": comment["body"],
            "html_url": f"{web}/pulls/{pr.number}#issuecomment-{comment['id']}",
            "pull_request_url": f"{web}/pulls/{pr.number}",
            "user": self.user(),
            "created_at": comment["created_at"],
            "updated_at": comment.get("updated_at", comment["created_at"]),
        }

    def _pull(self, number: str) -> Pull | None:
        pr = self.pulls.get(int(number))
        if pr is None:
            self.fail(404, "pull request does not exist")
        return pr

    # -- routes ----------------------------------------------------------------------------------

    def get_repo(self) -> None:
        self.ok(200, self.repo_doc())

    def list_pulls(self) -> None:
        state = (self.query.get("state") or ["open"])[0]
        page = max(1, int((self.query.get("page") or ["1"])[0]))
        limit = max(1, min(50, int((self.query.get("limit") or ["30"])[0])))
        found = [
            pr
            for pr in sorted(self.pulls.values(), key=lambda p: -p.number)
            if state == "all" or (pr.state == "closed") == (state == "closed")
        ]
        self.ok(200, [self.pull_doc(pr) for pr in found[(page - 1) * limit : page * limit]])

    def create_pull(self) -> None:
        p = self.payload if isinstance(self.payload, dict) else {}
        head, base, title = str(p.get("head") or ""), str(p.get("base") or ""), str(p.get("title") or "")
        if not (head and base and title):
            self.fail(422, "head, base and title are required")
            return
        head_sha, base_sha = self.forge.branch_sha(self.repo, head), self.forge.branch_sha(self.repo, base)
        if head_sha is None or base_sha is None:
            self.fail(404, f"branch {head if head_sha is None else base!r} does not exist")
            return
        if int(git(self.forge.repo_path(self.repo), "rev-list", "--count", f"{base_sha}..{head_sha}")) == 0:
            self.fail(422, f"there are no commits between {base} and {head}")
            return
        if any(pr.head == head and pr.base == base and pr.state == "open" for pr in self.pulls.values()):
            self.fail(409, f"pull request already exists for these targets: {head} -> {base}")
            return
        with self.forge.lock:
            number = max(self.pulls, default=0) + 1
            stamp = now()
            pr = Pull(number, title, str(p.get("body") or ""), head, base, is_draft(title), stamp, stamp)
            self.pulls[number] = pr
        self.ok(201, self.pull_doc(pr))

    def get_pull(self, number: str) -> None:
        pr = self._pull(number)
        if pr is not None:
            self.ok(200, self.pull_doc(pr))

    def edit_pull(self, number: str) -> None:
        pr = self._pull(number)
        if pr is None:
            return
        p = self.payload if isinstance(self.payload, dict) else {}
        state = p.get("state")
        if state not in (None, "open", "closed"):
            self.fail(422, f"state must be open or closed, not {state!r}")
            return
        with self.forge.lock:
            if p.get("title") is not None:
                pr.title = str(p["title"])
                pr.draft = is_draft(pr.title)
            if p.get("body") is not None:
                pr.body = str(p["body"])
            if state is not None and not pr.merged:
                pr.state = str(state)
            pr.updated_at = now()
        self.ok(201, self.pull_doc(pr))

    def check_merged(self, number: str) -> None:
        pr = self._pull(number)
        if pr is not None:
            if pr.merged:
                self.h._send(204, b"", {})
            else:
                self.fail(404, "pull request is not merged")

    def list_comments(self, number: str) -> None:
        pr = self._pull(number)
        if pr is not None:
            self.ok(200, [self.comment_doc(pr, c) for c in pr.comments])

    def create_comment(self, number: str) -> None:
        pr = self._pull(number)
        if pr is None:
            return
        body = self.payload.get("body") if isinstance(self.payload, dict) else None
        if not isinstance(body, str) or not body:
            self.fail(422, "body is required")
            return
        stamp = now()
        comment = {"id": self.forge.next_comment_id(), "body": body, "created_at": stamp, "updated_at": stamp}
        with self.forge.lock:
            pr.comments.append(comment)
        self.ok(201, self.comment_doc(pr, comment))

    def edit_comment(self, comment_id: str) -> None:
        found = self.forge.find_comment(self.repo, int(comment_id))
        body = self.payload.get("body") if isinstance(self.payload, dict) else None
        if found is None:
            self.fail(404, "comment does not exist")
        elif not isinstance(body, str) or not body:
            self.fail(422, "body is required")
        else:
            pr, record = found
            with self.forge.lock:
                record["body"], record["updated_at"] = body, now()
            self.ok(200, self.comment_doc(pr, record))

    def delete_branch(self, branch: str) -> None:
        if self.forge.branch_sha(self.repo, branch) is None:
            self.fail(404, f"branch {branch!r} does not exist")
            return
        if branch == self.forge.default_branch(self.repo):
            self.fail(403, "the default branch cannot be deleted")
            return
        git(self.forge.repo_path(self.repo), "update-ref", "-d", f"refs/heads/{branch}")
        self.h._send(204, b"", {})
