"""The local forge's REST routes for one repository, each answer built from the forge's state and
recorded with its contract path (``/repos/{owner}/{repo}/...``), lists paged like GitHub's."""

from __future__ import annotations

import math
import re
from functools import cached_property
from typing import TYPE_CHECKING, Any
from urllib.parse import quote, urlencode

from driftgate.localforge import documents as gh
from driftgate.localforge.documents import Pull
from driftgate.localforge.forge import ZERO, Route, dispatch, git, now

if TYPE_CHECKING:
    from driftgate.localforge.http import Handler

DOCS = "https://docs.github.com/rest"
R = "/repos/{owner}/{repo}"


def _validation_failed(resource: str, *errors: dict[str, str]) -> dict[str, Any]:
    return {
        "message": "Validation Failed",
        "documentation_url": DOCS,
        "errors": [{"resource": resource, **e} for e in errors],
        "status": "422",
    }


class RepoRoutes:
    """The REST routes for one repository; each route names its contract path."""

    def __init__(self, h: Handler, repo: str, payload: Any, query: dict[str, list[str]], path: str) -> None:
        self.h, self.repo, self.payload, self.query, self.path = h, repo, payload, query, path
        self.forge = h.forge
        self.site = self.forge.site
        self.pulls = self.forge.repos[repo].pulls
        self.template = ""

    def route(self, rest: str) -> None:
        routes: list[Route] = [
            ("GET", r"", R, self.get_repo),
            ("GET", r"/branches", R + "/branches", self.list_branches),
            ("GET", r"/branches/(.+)", R + "/branches/{branch}", self.get_branch),
            ("GET", r"/pulls", R + "/pulls", self.list_pulls),
            ("POST", r"/pulls", R + "/pulls", self.create_pull),
            ("GET", r"/pulls/(\d+)", R + "/pulls/{pull_number}", self.get_pull),
            ("PATCH", r"/pulls/(\d+)", R + "/pulls/{pull_number}", self.update_pull),
            ("GET", r"/pulls/(\d+)/commits", R + "/pulls/{pull_number}/commits", self.pull_commits),
            ("GET", r"/pulls/(\d+)/files", R + "/pulls/{pull_number}/files", self.pull_files),
            ("GET", r"/pulls/(\d+)/merge", R + "/pulls/{pull_number}/merge", self.check_merged),
            ("GET", r"/issues/(\d+)", R + "/issues/{issue_number}", self.get_issue),
            ("GET", r"/issues/(\d+)/comments", R + "/issues/{issue_number}/comments", self.list_comments),
            ("POST", r"/issues/(\d+)/comments", R + "/issues/{issue_number}/comments", self.create_comment),
            ("PATCH", r"/issues/comments/(\d+)", R + "/issues/comments/{comment_id}", self.update_comment),
            ("GET", r"/git/ref/(.+)", R + "/git/ref/{ref}", self.get_ref),
            ("GET", r"/git/refs/(.+)", R + "/git/ref/{ref}", self.get_ref),  # a ref's own ``url``
            ("GET", r"/git/matching-refs/(.*)", R + "/git/matching-refs/{ref}", self.matching_refs),
            ("POST", r"/git/refs", R + "/git/refs", self.create_ref),
            ("DELETE", r"/git/refs/(.+)", R + "/git/refs/{ref}", self.delete_ref),
        ]
        route = dispatch(routes, self.h.command, rest)
        if route is None:
            self.h._error(404, "Not Found")
            return
        self.template, handler, params = route
        handler(*params)

    # -- answers ---------------------------------------------------------------------

    def ok(self, status: int, data: Any, extra: dict[str, str] | None = None) -> None:
        self.h._json(status, data, extra, self.template)

    def fail(self, status: int, message: str) -> None:
        self.h._error(status, message, route=self.template)

    def invalid(self, resource: str, *errors: dict[str, str]) -> None:
        self.h._json(422, _validation_failed(resource, *errors), route=self.template)

    def page(self, items: list[Any]) -> None:
        """One page of ``items`` with GitHub's ``Link`` header (``per_page`` 30 by default, 100 at most)."""
        try:
            per_page = min(max(int(self.query.get("per_page", ["30"])[0]), 1), 100)
            number = max(int(self.query.get("page", ["1"])[0]), 1)
        except ValueError:
            self.fail(422, "per_page and page must be integers")
            return
        last = max(math.ceil(len(items) / per_page), 1)
        links = {}
        if number < last:
            links["next"], links["last"] = number + 1, last
        if number > 1:
            links["first"], links["prev"] = 1, min(number - 1, last)
        header = ", ".join(f'<{self._page_url(n)}>; rel="{rel}"' for rel, n in links.items())
        chunk = items[(number - 1) * per_page : number * per_page]
        self.ok(200, chunk, {"Link": header} if header else None)

    def _page_url(self, number: int) -> str:
        query = {k: v[0] for k, v in self.query.items()}
        query["page"] = str(number)
        return f"{self.forge.api_url}{quote(self.path)}?{urlencode(query)}"

    @cached_property
    def repo_doc(self) -> dict[str, Any]:
        """The repository's document, built once per request (every pull request embeds it)."""
        state = self.forge.repos[self.repo]
        pushed = self.forge.commit(self.repo, "HEAD").committer["date"]
        doc = gh.repository(self.site, self.repo, state.id, created_at=state.created_at, pushed_at=pushed)
        doc["default_branch"] = self.forge.default_branch(self.repo)
        doc["open_issues"] = doc["open_issues_count"] = sum(p.state == "open" for p in self.pulls.values())
        return doc

    def pull_doc(self, pr: Pull, *, simple: bool = False) -> dict[str, Any]:
        tips = self.forge.pull_git(self.repo, pr, counts=not simple)  # a list shows no diff counts
        if simple:
            return gh.pull_simple(self.site, self.repo, self.repo_doc, pr, tips)
        return gh.pull(self.site, self.repo, self.repo_doc, pr, tips, len(pr.comments))

    def _pull(self, number: str) -> Pull | None:
        pr = self.pulls.get(int(number))
        if pr is None:
            self.fail(404, "Not Found")
        return pr

    # -- repository and branches ---------------------------------------------------------

    def get_repo(self) -> None:
        self.ok(200, self.repo_doc)

    def list_branches(self) -> None:
        default = f"refs/heads/{self.forge.default_branch(self.repo)}"
        heads = self.forge.refs(self.repo, "refs/heads/")
        self.page(
            [
                gh.short_branch(
                    self.site, self.repo, name.removeprefix("refs/heads/"), sha, protected=name == default
                )
                for name, sha in heads
            ]
        )

    def get_branch(self, name: str) -> None:
        if self.forge.branch_sha(self.repo, name) is None:
            self.fail(404, "Branch not found")
            return
        head = self.forge.commit(self.repo, f"refs/heads/{name}")
        protected = name == self.forge.default_branch(self.repo)
        self.ok(200, gh.branch(self.site, self.repo, name, head, protected=protected))

    # -- pull requests and issues ---------------------------------------------------------

    def list_pulls(self) -> None:
        state = self.query.get("state", ["open"])[0]
        head = self.query.get("head", [None])[0]
        base = self.query.get("base", [None])[0]
        found = [
            pr
            for pr in sorted(self.pulls.values(), key=lambda p: -p.number)
            if (state == "all" or pr.state == state)
            and (head is None or f"{self.forge.owner}:{pr.head}" == head)
            and (base is None or pr.base == base)
        ]
        self.page([self.pull_doc(pr, simple=True) for pr in found])

    def create_pull(self) -> None:
        p = self.payload
        missing = [k for k in ("title", "head", "base") if not p.get(k)]
        if missing:
            self.invalid("PullRequest", *({"field": k, "code": "missing_field"} for k in missing))
            return
        head, base = str(p["head"]).split(":")[-1], str(p["base"])
        head_sha, base_sha = self.forge.branch_sha(self.repo, head), self.forge.branch_sha(self.repo, base)
        if head_sha is None or base_sha is None:
            self.invalid("PullRequest", {"field": "head" if head_sha is None else "base", "code": "invalid"})
            return
        ahead = git(self.forge.repo_path(self.repo), "rev-list", "--count", f"{base_sha}..{head_sha}")
        if int(ahead) == 0:
            self.invalid(
                "PullRequest", {"code": "custom", "message": f"No commits between {base} and {head}"}
            )
            return
        if any(pr.head == head and pr.state == "open" for pr in self.pulls.values()):
            message = f"A pull request already exists for {self.forge.owner}:{head}."
            self.invalid("PullRequest", {"code": "custom", "message": message})
            return
        with self.forge.lock:
            number = max(self.pulls, default=0) + 1
            stamp = now()
            pr = Pull(
                number,
                str(p["title"]),
                str(p.get("body") or ""),
                head,
                base,
                bool(p.get("draft", False)),
                stamp,
                stamp,
            )
            self.pulls[number] = pr
        data = self.pull_doc(pr)
        self.ok(201, data, {"Location": data["url"]})

    def get_pull(self, number: str) -> None:
        pr = self._pull(number)
        if pr is not None:
            self.ok(200, self.pull_doc(pr))

    def update_pull(self, number: str) -> None:
        pr = self._pull(number)
        if pr is None:
            return
        base = self.payload.get("base")
        if base is not None and self.forge.branch_sha(self.repo, str(base)) is None:
            self.invalid("PullRequest", {"field": "base", "code": "invalid"})
            return
        for key in ("title", "body"):
            if key in self.payload:
                setattr(pr, key, str(self.payload[key]))
        if self.payload.get("state") in ("open", "closed"):
            pr.state = self.payload["state"]
        if base is not None:
            pr.base = str(base)
        pr.updated_at = now()
        self.ok(200, self.pull_doc(pr))

    def pull_commits(self, number: str) -> None:
        pr = self._pull(number)
        if pr is not None:
            self.page([gh.commit(self.site, self.repo, c) for c in self.forge.pull_commits(self.repo, pr)])

    def pull_files(self, number: str) -> None:
        pr = self._pull(number)
        if pr is not None:
            head = self.forge.branch_sha(self.repo, pr.head) or ZERO
            files = self.forge.pull_files(self.repo, pr)
            self.page([gh.diff_entry(self.site, self.repo, head, f) for f in files])

    def check_merged(self, number: str) -> None:
        pr = self.pulls.get(int(number))
        if pr is not None and pr.merged:
            self.ok(204, None)
        else:
            self.fail(404, "Not Found")

    def get_issue(self, number: str) -> None:
        pr = self._pull(number)
        if pr is not None:
            self.ok(200, gh.issue(self.site, self.repo, self.repo_doc, pr, len(pr.comments)))

    def list_comments(self, number: str) -> None:
        pr = self._pull(number)
        if pr is not None:
            self.page([gh.issue_comment(self.site, self.repo, pr.number, c) for c in pr.comments])

    def create_comment(self, number: str) -> None:
        pr = self._pull(number)
        if pr is None:
            return
        if not self.payload.get("body"):
            self.invalid("IssueComment", {"field": "body", "code": "missing_field"})
            return
        stamp = now()
        record = {
            "id": self.forge.next_comment_id(),
            "body": str(self.payload["body"]),
            "created_at": stamp,
            "updated_at": stamp,
        }
        pr.comments.append(record)
        data = gh.issue_comment(self.site, self.repo, pr.number, record)
        self.ok(201, data, {"Location": data["url"]})

    def update_comment(self, comment_id: str) -> None:
        found = self.forge.find_comment(self.repo, int(comment_id))
        if found is None:
            self.fail(404, "Not Found")
            return
        if not self.payload.get("body"):
            self.invalid("IssueComment", {"field": "body", "code": "missing_field"})
            return
        pr, record = found
        with self.forge.lock:
            record["body"], record["updated_at"] = str(self.payload["body"]), now()
        self.ok(200, gh.issue_comment(self.site, self.repo, pr.number, record))

    # -- git refs ---------------------------------------------------------------------------

    def get_ref(self, ref: str) -> None:
        sha = self.forge.ref_sha(self.repo, f"refs/{ref}") if ref.startswith(("heads/", "tags/")) else None
        if sha is None:
            self.fail(404, "Not Found")
        else:
            self.ok(200, gh.git_ref(self.site, self.repo, f"refs/{ref}", sha))

    def matching_refs(self, ref: str) -> None:
        """Every ref whose name starts with ``refs/<ref>`` (``heads`` matches all branches)."""
        found = self.forge.refs(self.repo, f"refs/{ref}")
        self.page([gh.git_ref(self.site, self.repo, name, sha) for name, sha in found])

    def create_ref(self) -> None:
        ref, sha = str(self.payload.get("ref") or ""), str(self.payload.get("sha") or "")
        if not ref.startswith("refs/") or ref.count("/") < 2:
            self.fail(422, "Reference name must start with 'refs/' and have at least two slashes.")
            return
        if not re.fullmatch(r"[0-9a-f]{40}", sha) or self.forge.ref_sha(self.repo, sha) is None:
            self.fail(422, "Object does not exist")
            return
        if self.forge.ref_sha(self.repo, ref) is not None:
            self.fail(422, "Reference already exists")
            return
        git(self.forge.repo_path(self.repo), "update-ref", ref, sha, "")
        data = gh.git_ref(self.site, self.repo, ref, sha)
        self.ok(201, data, {"Location": data["url"]})

    def delete_ref(self, ref: str) -> None:
        full = f"refs/{ref}"
        if self.forge.ref_sha(self.repo, full) is None:
            self.fail(422, "Reference does not exist")
            return
        if full == f"refs/heads/{self.forge.default_branch(self.repo)}":
            self.fail(422, "Cannot delete the default branch")
            return
        git(self.forge.repo_path(self.repo), "update-ref", "-d", full)
        self.ok(204, None)
