"""GitHub's REST documents, built from the local forge's own state.

Every URL points at the forge (its API base and its web base), at the right repository and number;
ids and node ids are the forge's own; nothing is copied from GitHub's example documents. The shapes
follow GitHub's published OpenAPI description (the tests validate every answer against it).
"""

from __future__ import annotations

import base64
import zlib
from dataclasses import dataclass, field
from typing import Any


def node_id(kind: str, number: int) -> str:
    """A node id in GitHub's legacy form: base64 of ``0<len>:<Kind><id>``, unique per object."""
    raw = f"0{len(kind)}:{kind}{number}"
    return base64.b64encode(raw.encode()).decode()


@dataclass(frozen=True)
class Site:
    """Where the forge answers: ``api`` is the REST base, ``web`` the git and HTML base."""

    api: str
    web: str
    owner: str
    user_id: int = 1

    def repo_api(self, repo: str) -> str:
        return f"{self.api}/repos/{self.owner}/{repo}"

    def repo_web(self, repo: str) -> str:
        return f"{self.web}/{self.owner}/{repo}"


def user(site: Site) -> dict[str, Any]:
    """The one account of the forge: it owns every repository and its token is the forge's token."""
    api = f"{site.api}/users/{site.owner}"
    return {
        "login": site.owner,
        "id": site.user_id,
        "node_id": node_id("User", site.user_id),
        "avatar_url": f"{site.web}/avatars/{site.owner}",
        "gravatar_id": "",
        "url": api,
        "html_url": f"{site.web}/{site.owner}",
        "followers_url": f"{api}/followers",
        "following_url": f"{api}/following{{/other_user}}",
        "gists_url": f"{api}/gists{{/gist_id}}",
        "starred_url": f"{api}/starred{{/owner}}{{/repo}}",
        "subscriptions_url": f"{api}/subscriptions",
        "organizations_url": f"{api}/orgs",
        "repos_url": f"{api}/repos",
        "events_url": f"{api}/events{{/privacy}}",
        "received_events_url": f"{api}/received_events",
        "type": "User",
        "site_admin": False,
        "user_view_type": "private",
    }


def private_user(site: Site, created_at: str) -> dict[str, Any]:
    """``GET /user``: the authenticated account with its private profile fields."""
    return {
        **user(site),
        "name": site.owner,
        "company": None,
        "blog": "",
        "location": None,
        "email": None,
        "hireable": None,
        "bio": None,
        "twitter_username": None,
        "public_repos": 0,
        "public_gists": 0,
        "followers": 0,
        "following": 0,
        "created_at": created_at,
        "updated_at": created_at,
        "private_gists": 0,
        "total_private_repos": 0,
        "owned_private_repos": 0,
        "disk_usage": 0,
        "collaborators": 0,
        "two_factor_authentication": False,
    }


def repository(site: Site, repo: str, repo_id: int, *, created_at: str, pushed_at: str) -> dict[str, Any]:
    """A repository (GitHub's ``full-repository``, which also fits ``repository``)."""
    api, web = site.repo_api(repo), site.repo_web(repo)
    host = site.web.split("://", 1)[1]
    links = {
        name: f"{api}/{path}"
        for name, path in {
            "archive_url": "{archive_format}{/ref}",
            "assignees_url": "assignees{/user}",
            "blobs_url": "git/blobs{/sha}",
            "branches_url": "branches{/branch}",
            "collaborators_url": "collaborators{/collaborator}",
            "comments_url": "comments{/number}",
            "commits_url": "commits{/sha}",
            "compare_url": "compare/{base}...{head}",
            "contents_url": "contents/{+path}",
            "contributors_url": "contributors",
            "deployments_url": "deployments",
            "downloads_url": "downloads",
            "events_url": "events",
            "forks_url": "forks",
            "git_commits_url": "git/commits{/sha}",
            "git_refs_url": "git/refs{/sha}",
            "git_tags_url": "git/tags{/sha}",
            "hooks_url": "hooks",
            "issue_comment_url": "issues/comments{/number}",
            "issue_events_url": "issues/events{/number}",
            "issues_url": "issues{/number}",
            "keys_url": "keys{/key_id}",
            "labels_url": "labels{/name}",
            "languages_url": "languages",
            "merges_url": "merges",
            "milestones_url": "milestones{/number}",
            "notifications_url": "notifications{?since,all,participating}",
            "pulls_url": "pulls{/number}",
            "releases_url": "releases{/id}",
            "stargazers_url": "stargazers",
            "statuses_url": "statuses/{sha}",
            "subscribers_url": "subscribers",
            "subscription_url": "subscription",
            "tags_url": "tags",
            "teams_url": "teams",
            "trees_url": "git/trees{/sha}",
        }.items()
    }
    return {
        "id": repo_id,
        "node_id": node_id("Repository", repo_id),
        "name": repo,
        "full_name": f"{site.owner}/{repo}",
        "owner": user(site),
        "private": True,
        "visibility": "private",
        "description": None,
        "fork": False,
        "url": api,
        "html_url": web,
        "clone_url": f"{web}.git",
        "git_url": f"git://{host}/{site.owner}/{repo}.git",
        "ssh_url": f"git@{host.split(':')[0]}:{site.owner}/{repo}.git",
        "svn_url": web,
        "mirror_url": None,
        "homepage": None,
        "language": None,
        "size": 0,
        "default_branch": "main",
        "forks": 0,
        "forks_count": 0,
        "stargazers_count": 0,
        "watchers": 0,
        "watchers_count": 0,
        "open_issues": 0,
        "open_issues_count": 0,
        "network_count": 0,
        "subscribers_count": 0,
        "has_issues": True,
        "has_projects": False,
        "has_wiki": False,
        "has_pages": False,
        "has_downloads": False,
        "has_discussions": False,
        "archived": False,
        "disabled": False,
        "is_template": False,
        "license": None,
        "topics": [],
        "allow_forking": False,
        "web_commit_signoff_required": False,
        "permissions": {"admin": True, "maintain": True, "push": True, "triage": True, "pull": True},
        "created_at": created_at,
        "updated_at": pushed_at,
        "pushed_at": pushed_at,
        **links,
    }


def git_user(name: str, email: str, date: str) -> dict[str, Any]:
    return {"name": name, "email": email, "date": date}


@dataclass(frozen=True)
class Commit:
    """One commit as git describes it (``git log``)."""

    sha: str
    tree: str
    parents: tuple[str, ...]
    author: dict[str, str]
    committer: dict[str, str]
    message: str


def commit(site: Site, repo: str, c: Commit) -> dict[str, Any]:
    api, web = site.repo_api(repo), site.repo_web(repo)
    return {
        "sha": c.sha,
        "node_id": node_id("Commit", int(c.sha[:12], 16)),
        "url": f"{api}/commits/{c.sha}",
        "html_url": f"{web}/commit/{c.sha}",
        "comments_url": f"{api}/commits/{c.sha}/comments",
        "commit": {
            "url": f"{api}/git/commits/{c.sha}",
            "author": c.author,
            "committer": c.committer,
            "message": c.message,
            "comment_count": 0,
            "tree": {"sha": c.tree, "url": f"{api}/git/trees/{c.tree}"},
            "verification": {
                "verified": False,
                "reason": "unsigned",
                "signature": None,
                "payload": None,
                "verified_at": None,
            },
        },
        # every push reaches the forge with its one account's token: its commits are that account's
        "author": user(site),
        "committer": user(site),
        "parents": [
            {"sha": p, "url": f"{api}/commits/{p}", "html_url": f"{web}/commit/{p}"} for p in c.parents
        ],
    }


@dataclass(frozen=True)
class FileChange:
    """One file of a pull request's diff (``git diff --numstat`` and ``--name-status``)."""

    filename: str
    status: str
    additions: int
    deletions: int
    blob: str
    previous_filename: str | None = None


def diff_entry(site: Site, repo: str, head_sha: str, f: FileChange) -> dict[str, Any]:
    api, web = site.repo_api(repo), site.repo_web(repo)
    entry = {
        "sha": f.blob,
        "filename": f.filename,
        "status": f.status,
        "additions": f.additions,
        "deletions": f.deletions,
        "changes": f.additions + f.deletions,
        "blob_url": f"{web}/blob/{head_sha}/{f.filename}",
        "raw_url": f"{web}/raw/{head_sha}/{f.filename}",
        "contents_url": f"{api}/contents/{f.filename}?ref={head_sha}",
    }
    if f.previous_filename is not None:
        entry["previous_filename"] = f.previous_filename
    return entry


def git_ref(site: Site, repo: str, ref: str, sha: str) -> dict[str, Any]:
    """``ref`` is the full name (``refs/heads/main``)."""
    api = site.repo_api(repo)
    return {
        "ref": ref,
        "node_id": node_id("Ref", zlib.crc32(f"{repo}:{ref}".encode())),
        "url": f"{api}/git/{ref}",
        "object": {"type": "commit", "sha": sha, "url": f"{api}/git/commits/{sha}"},
    }


def short_branch(site: Site, repo: str, name: str, sha: str, *, protected: bool) -> dict[str, Any]:
    api = site.repo_api(repo)
    return {
        "name": name,
        "commit": {"sha": sha, "url": f"{api}/commits/{sha}"},
        "protected": protected,
        "protection_url": f"{api}/branches/{name}/protection",
    }


def branch(site: Site, repo: str, name: str, head: Commit, *, protected: bool) -> dict[str, Any]:
    """One branch with its protection: the default branch refuses deletion and non-fast-forwards."""
    api, web = site.repo_api(repo), site.repo_web(repo)
    return {
        "name": name,
        "commit": commit(site, repo, head),
        "_links": {"html": f"{web}/tree/{name}", "self": f"{api}/branches/{name}"},
        "protected": protected,
        "protection": {
            "enabled": protected,
            "allow_force_pushes": {"enabled": False},
            "allow_deletions": {"enabled": not protected},
        },
        "protection_url": f"{api}/branches/{name}/protection",
    }


@dataclass
class Pull:
    """The state of one pull request (its number is shared with issues, as on GitHub)."""

    number: int
    title: str
    body: str
    head: str
    base: str
    draft: bool
    created_at: str
    updated_at: str
    state: str = "open"
    merged: bool = False
    comments: list[dict[str, Any]] = field(default_factory=list)


@dataclass(frozen=True)
class PullGit:
    """What git says of a pull request: the two tips and the size of its diff."""

    head_sha: str
    base_sha: str
    commits: int
    additions: int
    deletions: int
    changed_files: int


def _issue_urls(site: Site, repo: str, number: int) -> dict[str, str]:
    api = site.repo_api(repo)
    return {
        "issue_url": f"{api}/issues/{number}",
        "comments_url": f"{api}/issues/{number}/comments",
    }


def pull_simple(site: Site, repo: str, repo_doc: dict[str, Any], pr: Pull, git: PullGit) -> dict[str, Any]:
    """A pull request as lists show it (``pull-request-simple``)."""
    api, web = site.repo_api(repo), site.repo_web(repo)
    url, html = f"{api}/pulls/{pr.number}", f"{web}/pull/{pr.number}"
    urls = {
        **_issue_urls(site, repo, pr.number),
        "commits_url": f"{url}/commits",
        "review_comments_url": f"{url}/comments",
        "review_comment_url": f"{api}/pulls/comments{{/number}}",
        "statuses_url": f"{api}/statuses/{git.head_sha}",
    }
    closed = None if pr.state == "open" else pr.updated_at
    return {
        "id": 1000 + pr.number,
        "node_id": node_id("PullRequest", 1000 + pr.number),
        "number": pr.number,
        "url": url,
        "html_url": html,
        "diff_url": f"{html}.diff",
        "patch_url": f"{html}.patch",
        **urls,
        "state": pr.state,
        "locked": False,
        "title": pr.title,
        "body": pr.body,
        "user": user(site),
        "labels": [],
        "milestone": None,
        "active_lock_reason": None,
        "created_at": pr.created_at,
        "updated_at": pr.updated_at,
        "closed_at": closed,
        "merged_at": pr.updated_at if pr.merged else None,
        "merge_commit_sha": None,
        "assignee": None,
        "assignees": [],
        "requested_reviewers": [],
        "requested_teams": [],
        "draft": pr.draft,
        "head": _side(site, repo_doc, pr.head, git.head_sha),
        "base": _side(site, repo_doc, pr.base, git.base_sha),
        "_links": {
            name: {"href": href}
            for name, href in {
                "self": url,
                "html": html,
                "issue": urls["issue_url"],
                "comments": urls["comments_url"],
                "review_comments": urls["review_comments_url"],
                "review_comment": urls["review_comment_url"],
                "commits": urls["commits_url"],
                "statuses": urls["statuses_url"],
            }.items()
        },
        "author_association": "OWNER",
        "auto_merge": None,
    }


def pull(
    site: Site, repo: str, repo_doc: dict[str, Any], pr: Pull, git: PullGit, comments: int
) -> dict[str, Any]:
    """One pull request in full (``pull-request``): its counts come from git and the forge."""
    return {
        **pull_simple(site, repo, repo_doc, pr, git),
        "merged": pr.merged,
        "mergeable": None if pr.state != "open" else True,
        "rebaseable": None if pr.state != "open" else True,
        "mergeable_state": "clean" if pr.state == "open" else "unknown",
        "merged_by": user(site) if pr.merged else None,
        "comments": comments,
        "review_comments": 0,
        "maintainer_can_modify": False,
        "commits": git.commits,
        "additions": git.additions,
        "deletions": git.deletions,
        "changed_files": git.changed_files,
    }


def _side(site: Site, repo_doc: dict[str, Any], branch_name: str, sha: str) -> dict[str, Any]:
    return {
        "label": f"{site.owner}:{branch_name}",
        "ref": branch_name,
        "sha": sha,
        "user": user(site),
        "repo": repo_doc,
    }


def issue(site: Site, repo: str, repo_doc: dict[str, Any], pr: Pull, comments: int) -> dict[str, Any]:
    """A pull request seen as an issue (GitHub shares the numbers): ``GET /issues/{n}``."""
    api, web = site.repo_api(repo), site.repo_web(repo)
    html = f"{web}/pull/{pr.number}"
    return {
        "id": 2000 + pr.number,
        "node_id": node_id("Issue", 2000 + pr.number),
        "number": pr.number,
        "url": f"{api}/issues/{pr.number}",
        "repository_url": api,
        "labels_url": f"{api}/issues/{pr.number}/labels{{/name}}",
        "comments_url": f"{api}/issues/{pr.number}/comments",
        "events_url": f"{api}/issues/{pr.number}/events",
        "html_url": html,
        "state": pr.state,
        "title": pr.title,
        "body": pr.body,
        "user": user(site),
        "labels": [],
        "assignee": None,
        "assignees": [],
        "milestone": None,
        "locked": False,
        "active_lock_reason": None,
        "comments": comments,
        "draft": pr.draft,
        "pull_request": {
            "url": f"{api}/pulls/{pr.number}",
            "html_url": html,
            "diff_url": f"{html}.diff",
            "patch_url": f"{html}.patch",
            "merged_at": pr.updated_at if pr.merged else None,
        },
        "closed_at": None if pr.state == "open" else pr.updated_at,
        "created_at": pr.created_at,
        "updated_at": pr.updated_at,
        "closed_by": None,
        "author_association": "OWNER",
        "repository": repo_doc,
    }


def issue_comment(site: Site, repo: str, number: int, comment: dict[str, Any]) -> dict[str, Any]:
    """``comment`` is the forge's record: ``id``, ``body``, ``created_at``, ``updated_at``."""
    api, web = site.repo_api(repo), site.repo_web(repo)
    cid = int(comment["id"])
    return {
        "id": cid,
        "node_id": node_id("IssueComment", cid),
        "url": f"{api}/issues/comments/{cid}",
        "html_url": f"{web}/pull/{number}#issuecomment-{cid}",
        "issue_url": f"{api}/issues/{number}",
        "body": comment["body"],
        "user": user(site),
        "created_at": comment["created_at"],
        "updated_at": comment["updated_at"],
        "author_association": "OWNER",
    }


def meta() -> dict[str, Any]:
    """``GET /meta`` as GitHub Enterprise Server answers it (the parts a client reads)."""
    return {"verifiable_password_authentication": False, "installed_version": "3.14.0"}


def rate_limit(remaining: int, reset: int) -> dict[str, Any]:
    core = {"limit": 5000, "remaining": remaining, "reset": reset, "used": 5000 - remaining}
    search = {"limit": 30, "remaining": 30, "reset": reset, "used": 0}
    return {"resources": {"core": core, "search": search}, "rate": core}
