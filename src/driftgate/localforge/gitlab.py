"""The local forge as GitLab (``/api/v4``): the REST subset driftgate uses, each answer built from
the same forge state as the other kinds (one repository, one set of merge requests).

A project is addressed by its URL-encoded path (``driftgate%2Finfra``) or its numeric id, as on
GitLab; merge requests by ``iid``; a title starting ``Draft:``, ``[Draft]`` or ``(Draft)`` is a
draft; closing and reopening go through ``state_event``; lists page with GitLab's ``X-Page``/
``X-Next-Page``/``X-Total`` headers and ``Link``; errors are ``{"message": …}`` or ``{"error": …}``.
"""

from __future__ import annotations

import math
import re
from typing import TYPE_CHECKING, Any
from urllib.parse import quote, unquote, urlencode

from driftgate.localforge.documents import Pull
from driftgate.localforge.forge import ZERO, Route, dispatch, git, now

if TYPE_CHECKING:
    from driftgate.localforge.http import Handler

GITLAB_API = "/api/v4"
VERSION = {"version": "17.5.1-ee", "revision": "2a9a7ecd2f3", "kas": {"enabled": False}, "enterprise": True}
DRAFT = re.compile(r"^\s*(\[draft\]|\(draft\)|draft:|draft\s-\s|draft\s)", re.IGNORECASE)
P = "/projects/{id}"
MR = P + "/merge_requests/{merge_request_iid}"


def is_draft(title: str) -> bool:
    return bool(DRAFT.match(title))


class GitLabRoutes:
    """``/api/v4`` for the local forge: version, the user, a project, its merge requests and their
    notes, branch deletion."""

    def __init__(self, h: Handler, payload: Any, query: dict[str, list[str]], raw_path: str) -> None:
        self.h, self.payload, self.query, self.raw_path = h, payload, query, raw_path
        self.forge = h.forge
        self.template = ""

    def route(self, path: str) -> None:
        if path == "/version" and self.h.command == "GET":
            self.template = "/version"
            self.ok(200, VERSION)
            return
        if path == "/user" and self.h.command == "GET":
            self.template = "/user"
            self.ok(
                200,
                {
                    **self.user(),
                    "email": f"{self.forge.owner}@localhost",
                    "created_at": self.forge.created_at,
                },
            )
            return
        m = re.fullmatch(r"/projects/([^/]+)(/.*)?", path)
        repo = self._project(unquote(m.group(1))) if m else None
        if m is None or repo is None:
            self.template = P if m else ""
            self.fail(404, "404 Project Not Found")
            return
        self.repo: str = repo
        self.pulls = self.forge.repos[self.repo].pulls
        routes: list[Route] = [
            ("GET", r"", P, self.get_project),
            ("GET", r"/merge_requests", P + "/merge_requests", self.list_mrs),
            ("POST", r"/merge_requests", P + "/merge_requests", self.create_mr),
            ("GET", r"/merge_requests/(\d+)", MR, self.get_mr),
            ("PUT", r"/merge_requests/(\d+)", MR, self.update_mr),
            ("GET", r"/merge_requests/(\d+)/notes", MR + "/notes", self.list_notes),
            ("POST", r"/merge_requests/(\d+)/notes", MR + "/notes", self.create_note),
            ("GET", r"/merge_requests/(\d+)/notes/(\d+)", MR + "/notes/{note_id}", self.get_note),
            ("PUT", r"/merge_requests/(\d+)/notes/(\d+)", MR + "/notes/{note_id}", self.update_note),
            ("GET", r"/repository/branches/(.+)", P + "/repository/branches/{branch}", self.get_branch),
            ("DELETE", r"/repository/branches/(.+)", P + "/repository/branches/{branch}", self.delete_branch),
        ]
        rest = m.group(2) or ""
        route = dispatch(routes, self.h.command, rest)
        if route is None:
            self.fail(404, "404 Not Found")
            return
        self.template, handler, params = route
        handler(*params)

    def _project(self, ident: str) -> str | None:
        """The repository a project id names: ``owner/name`` or the numeric id."""
        for name, state in self.forge.repos.items():
            if ident in (f"{self.forge.owner}/{name}", str(state.id)):
                return name
        return None

    # -- answers ---------------------------------------------------------------------------------

    def ok(self, status: int, data: Any, extra: dict[str, str] | None = None) -> None:
        self.h._json(status, data, extra, self.template)

    def fail(self, status: int, message: Any, key: str = "message") -> None:
        self.h._json(status, {key: message}, None, self.template)

    def page(self, items: list[Any]) -> None:
        """One page of ``items`` (``per_page`` 20 by default, 100 at most) with GitLab's headers."""
        try:
            per_page = min(max(int(self.query.get("per_page", ["20"])[0]), 1), 100)
            number = max(int(self.query.get("page", ["1"])[0]), 1)
        except ValueError:
            self.fail(400, "per_page and page must be integers", key="error")
            return
        pages = max(math.ceil(len(items) / per_page), 1)
        headers = {
            "X-Page": str(number),
            "X-Per-Page": str(per_page),
            "X-Total": str(len(items)),
            "X-Total-Pages": str(pages),
            "X-Next-Page": str(number + 1) if number < pages else "",
            "X-Prev-Page": str(number - 1) if number > 1 else "",
        }
        links = {"first": 1, "last": pages}
        if number < pages:
            links["next"] = number + 1
        if number > 1:
            links["prev"] = number - 1
        headers["Link"] = ", ".join(f'<{self._page_url(n)}>; rel="{rel}"' for rel, n in links.items())
        self.ok(200, items[(number - 1) * per_page : number * per_page], headers)

    def _page_url(self, number: int) -> str:
        query = {k: v[0] for k, v in self.query.items()}
        query["page"] = str(number)
        return f"{self.forge.api_url}{self.raw_path}?{urlencode(query)}"

    def web(self) -> str:
        return f"{self.forge.base}/{self.forge.owner}/{self.repo}"

    def user(self) -> dict[str, Any]:
        owner = self.forge.owner
        return {
            "id": 1,
            "username": owner,
            "name": owner,
            "state": "active",
            "locked": False,
            "avatar_url": None,
            "web_url": f"{self.forge.base}/{owner}",
        }

    def project_doc(self) -> dict[str, Any]:
        owner, web = self.forge.owner, self.web()
        state = self.forge.repos[self.repo]
        namespace = {"id": 1, "name": owner, "path": owner, "kind": "user", "full_path": owner}
        return {
            "id": state.id,
            "name": self.repo,
            "path": self.repo,
            "path_with_namespace": f"{owner}/{self.repo}",
            "name_with_namespace": f"{owner} / {self.repo}",
            "namespace": namespace,
            "default_branch": self.forge.default_branch(self.repo),
            "visibility": "private",
            "web_url": web,
            "http_url_to_repo": f"{web}.git",
            "ssh_url_to_repo": f"git@127.0.0.1:{owner}/{self.repo}.git",
            "readme_url": f"{web}/-/blob/{self.forge.default_branch(self.repo)}/README.md",
            "created_at": state.created_at,
            "last_activity_at": now(),
            "archived": False,
            "empty_repo": False,
            "merge_requests_enabled": True,
            "_links": {
                "self": f"{self.forge.api_url}/projects/{state.id}",
                "merge_requests": f"{self.forge.api_url}/projects/{state.id}/merge_requests",
                "repo_branches": f"{self.forge.api_url}/projects/{state.id}/repository/branches",
            },
        }

    def mr_doc(self, pr: Pull) -> dict[str, Any]:
        project_id = self.forge.repos[self.repo].id
        state = "merged" if pr.merged else ("closed" if pr.state == "closed" else "opened")
        head = self.forge.branch_sha(self.repo, pr.head) or ZERO
        return {
            "id": project_id * 1000 + pr.number,
            "iid": pr.number,
            "project_id": project_id,
            "title": pr.title,
            "description": pr.body,
            "state": state,
            "created_at": pr.created_at,
            "updated_at": pr.updated_at,
            "merged_at": pr.updated_at if pr.merged else None,
            "closed_at": pr.updated_at if state == "closed" else None,
            "target_branch": pr.base,
            "source_branch": pr.head,
            "source_project_id": project_id,
            "target_project_id": project_id,
            "author": self.user(),
            "assignees": [],
            "reviewers": [],
            "labels": [],
            "draft": pr.draft,
            "work_in_progress": pr.draft,
            "merge_when_pipeline_succeeds": False,
            "merge_status": "can_be_merged",
            "detailed_merge_status": "draft_status" if pr.draft else "mergeable",
            "sha": head,
            "user_notes_count": len(pr.comments),
            "has_conflicts": False,
            "references": {
                "short": f"!{pr.number}",
                "relative": f"!{pr.number}",
                "full": f"{self.forge.owner}/{self.repo}!{pr.number}",
            },
            "web_url": f"{self.web()}/-/merge_requests/{pr.number}",
        }

    def note_doc(self, pr: Pull, note: dict[str, Any]) -> dict[str, Any]:
        return {
            "id": note["id"],
            "type": None,
            "body": note["body"],
            "author": self.user(),
            "created_at": note["created_at"],
            "updated_at": note["updated_at"],
            "system": False,
            "noteable_id": self.forge.repos[self.repo].id * 1000 + pr.number,
            "noteable_type": "MergeRequest",
            "noteable_iid": pr.number,
            "project_id": self.forge.repos[self.repo].id,
            "resolvable": False,
            "confidential": False,
            "internal": False,
        }

    def _mr(self, iid: str) -> Pull | None:
        pr = self.pulls.get(int(iid))
        if pr is None:
            self.fail(404, "404 Not found")
        return pr

    def _note(self, pr: Pull, note_id: str) -> dict[str, Any] | None:
        note = next((c for c in pr.comments if c["id"] == int(note_id)), None)
        if note is None:
            self.fail(404, "404 Note Not Found")
        return note

    def _fields(self) -> dict[str, Any]:
        """The request's parameters: a JSON body, or form fields and the query as python-gitlab
        may send them."""
        fields: dict[str, Any] = {k: v[0] for k, v in self.query.items()}
        if isinstance(self.payload, dict):
            fields.update(self.payload)
        return fields

    # -- routes ----------------------------------------------------------------------------------

    def get_project(self) -> None:
        self.ok(200, self.project_doc())

    def list_mrs(self) -> None:
        state = (self.query.get("state") or ["all"])[0]
        source = self.query["source_branch"][0] if "source_branch" in self.query else None
        target = self.query["target_branch"][0] if "target_branch" in self.query else None
        wanted = {"opened": ("opened",), "closed": ("closed",), "merged": ("merged",)}.get(
            state, ("opened", "closed", "merged")
        )
        found = [
            self.mr_doc(pr)
            for pr in sorted(self.pulls.values(), key=lambda p: -p.number)
            if self.mr_doc(pr)["state"] in wanted
            and (source is None or pr.head == source)
            and (target is None or pr.base == target)
        ]
        self.page(found)

    def create_mr(self) -> None:
        p = self._fields()
        for name in ("source_branch", "target_branch", "title"):
            if not p.get(name):
                self.fail(400, f"{name} is missing", key="error")
                return
        head, base, title = str(p["source_branch"]), str(p["target_branch"]), str(p["title"])
        head_sha, base_sha = self.forge.branch_sha(self.repo, head), self.forge.branch_sha(self.repo, base)
        if head_sha is None or base_sha is None:
            missing = "source_branch" if head_sha is None else "target_branch"
            self.fail(422, {missing: ["is invalid"]})
            return
        if head == base:
            self.fail(422, ["You can't use same project/branch for source and target"])
            return
        open_one = next((pr for pr in self.pulls.values() if pr.head == head and pr.state == "open"), None)
        if open_one is not None and not open_one.merged:
            self.fail(
                409, [f"Another open merge request already exists for this source branch: !{open_one.number}"]
            )
            return
        with self.forge.lock:
            number = max(self.pulls, default=0) + 1
            stamp = now()
            pr = Pull(
                number, title, str(p.get("description") or ""), head, base, is_draft(title), stamp, stamp
            )
            self.pulls[number] = pr
        self.ok(201, self.mr_doc(pr))

    def get_mr(self, iid: str) -> None:
        pr = self._mr(iid)
        if pr is not None:
            self.ok(200, self.mr_doc(pr))

    def update_mr(self, iid: str) -> None:
        pr = self._mr(iid)
        if pr is None:
            return
        p = self._fields()
        event = p.get("state_event")
        if event not in (None, "close", "reopen"):
            self.fail(400, "state_event does not have a valid value", key="error")
            return
        if not any(p.get(k) is not None for k in ("title", "description", "state_event", "target_branch")):
            self.fail(
                400,
                "title, description, state_event, target_branch are missing, "
                "at least one parameter must be provided",
                key="error",
            )
            return
        with self.forge.lock:
            if p.get("title") is not None:
                pr.title = str(p["title"])
                pr.draft = is_draft(pr.title)
            if p.get("description") is not None:
                pr.body = str(p["description"])
            if p.get("target_branch") is not None:
                pr.base = str(p["target_branch"])
            if event is not None and not pr.merged:
                pr.state = "closed" if event == "close" else "open"
            pr.updated_at = now()
        self.ok(200, self.mr_doc(pr))

    def list_notes(self, iid: str) -> None:
        pr = self._mr(iid)
        if pr is None:
            return
        ascending = (self.query.get("sort") or ["desc"])[0] == "asc"
        notes = [self.note_doc(pr, c) for c in pr.comments]
        self.page(notes if ascending else list(reversed(notes)))

    def create_note(self, iid: str) -> None:
        pr = self._mr(iid)
        if pr is None:
            return
        body = self._fields().get("body")
        if not isinstance(body, str) or not body.strip():
            self.fail(400, "body is missing", key="error")
            return
        stamp = now()
        note = {"id": self.forge.next_comment_id(), "body": body, "created_at": stamp, "updated_at": stamp}
        with self.forge.lock:
            pr.comments.append(note)
        self.ok(201, self.note_doc(pr, note))

    def get_note(self, iid: str, note_id: str) -> None:
        pr = self._mr(iid)
        note = self._note(pr, note_id) if pr is not None else None
        if pr is not None and note is not None:
            self.ok(200, self.note_doc(pr, note))

    def update_note(self, iid: str, note_id: str) -> None:
        pr = self._mr(iid)
        note = self._note(pr, note_id) if pr is not None else None
        if pr is None or note is None:
            return
        body = self._fields().get("body")
        if not isinstance(body, str) or not body.strip():
            self.fail(400, "body is missing", key="error")
            return
        with self.forge.lock:
            note["body"], note["updated_at"] = body, now()
        self.ok(200, self.note_doc(pr, note))

    def get_branch(self, branch: str) -> None:
        sha = self.forge.branch_sha(self.repo, branch)
        if sha is None:
            self.fail(404, "404 Branch Not Found")
            return
        default = branch == self.forge.default_branch(self.repo)
        commit = self.forge.commit(self.repo, sha)
        self.ok(
            200,
            {
                "name": branch,
                "merged": False,
                "protected": default,
                "default": default,
                "developers_can_push": False,
                "developers_can_merge": False,
                "can_push": True,
                "web_url": f"{self.web()}/-/tree/{quote(branch)}",
                "commit": {"id": sha, "short_id": sha[:8], "title": commit.message.split("\n")[0]},
            },
        )

    def delete_branch(self, branch: str) -> None:
        if self.forge.branch_sha(self.repo, branch) is None:
            self.fail(404, "404 Branch Not Found")
            return
        if branch == self.forge.default_branch(self.repo):
            self.fail(400, "The default branch of a project cannot be deleted", key="error")
            return
        git(self.forge.repo_path(self.repo), "update-ref", "-d", f"refs/heads/{branch}")
        self.h._send(204, b"", {})
