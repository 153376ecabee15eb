"""The config-repo registry: URL rules, forge kind, and credentials referenced, never stored."""

from __future__ import annotations

from dataclasses import asdict
from typing import Any

from driftgate import errors
from driftgate.errors import CodedError, DriftgateError, NotFoundError
from driftgate.forge import check_kind, known_kind
from driftgate.gitops.gitcmd import check_branch_name
from driftgate.services.forges import forge_kind
from driftgate.services.workspace import Workspace
from driftgate.spec.refs import check_secret_ref, is_secret_ref
from driftgate.store import config_repos as config_repos_db


def check_auth_ref(ws: Workspace, auth_ref: str) -> None:
    """The reference must be well-formed and readable now; its value is never kept."""
    if not is_secret_ref(auth_ref) or check_secret_ref(auth_ref):
        reason = (
            check_secret_ref(auth_ref)
            if is_secret_ref(auth_ref)
            else "must be secret://env/NAME or secret://file/PATH"
        )
        raise CodedError(errors.INVALID_INPUT, f"auth_ref: {reason}")
    try:
        ws.secrets().resolve(auth_ref)
    except DriftgateError as exc:
        raise CodedError(errors.CREDENTIAL_NOT_FOUND, f"auth_ref: {exc}") from None


def check_branch(branch: str) -> None:
    reason = check_branch_name(branch)
    if reason is not None:
        raise CodedError(errors.INVALID_INPUT, f"default_branch {branch!r}: {reason}")


def _public(row: config_repos_db.ConfigRepoRow) -> dict[str, Any]:
    return asdict(row)


def create(
    ws: Workspace,
    *,
    name: str,
    url: str,
    default_branch: str,
    auth_ref: str,
    webhook_secret_ref: str | None = None,
    forge: str | None = None,
) -> dict[str, Any]:
    known_kind(url)  # the URL checked (and a forge without a client refused) before anything else
    if forge is not None:
        check_kind(forge)
    check_branch(default_branch)
    check_auth_ref(ws, auth_ref)
    forge = forge_kind(ws, url, ws.secrets().resolve(auth_ref), forge)
    if webhook_secret_ref is not None:
        check_auth_ref(ws, webhook_secret_ref)
    try:
        with ws.transaction() as conn:
            repo_id = config_repos_db.add_config_repo(
                conn,
                name=name,
                url=url,
                default_branch=default_branch,
                forge=forge,
                auth_ref=auth_ref,
                webhook_secret_ref=webhook_secret_ref,
            )
            row = config_repos_db.get_config_repo(conn, repo_id)
    except config_repos_db.NameTaken:
        raise CodedError(
            errors.CONFIG_REPO_NAME_TAKEN, f"a config repo named {name!r} already exists"
        ) from None
    assert row is not None
    return _public(row)


def get(ws: Workspace, repo_id: int) -> dict[str, Any]:
    with ws.transaction() as conn:
        row = config_repos_db.get_config_repo(conn, repo_id)
    if row is None:
        raise NotFoundError(f"no config repo {repo_id}")
    return _public(row)


def list_page(ws: Workspace, *, after: int, limit: int) -> tuple[list[dict[str, Any]], bool, int]:
    with ws.transaction() as conn:
        rows, total = config_repos_db.list_config_repos(conn, after=after, limit=limit)
    return [_public(r) for r in rows[:limit]], len(rows) > limit, total


def patch(ws: Workspace, repo_id: int, changes: dict[str, Any]) -> dict[str, Any]:
    """The same rules as ``create`` for every field given."""
    get(ws, repo_id)
    for key in ("name", "url", "default_branch", "auth_ref"):
        if key in changes and changes[key] is None:
            raise CodedError(errors.INVALID_INPUT, f"{key}: may not be null")
    if "url" in changes or changes.get("forge") is not None:
        url = changes.get("url") or get(ws, repo_id)["url"]
        auth_ref = changes.get("auth_ref") or get(ws, repo_id)["auth_ref"]
        if changes.get("auth_ref") is not None:
            check_auth_ref(ws, auth_ref)
        changes["forge"] = forge_kind(ws, url, ws.secrets().resolve(auth_ref), changes.get("forge"))
    elif "forge" in changes:
        raise CodedError(errors.INVALID_INPUT, "forge: may not be null")
    if "default_branch" in changes:
        check_branch(changes["default_branch"])
    for key in ("auth_ref", "webhook_secret_ref"):
        if changes.get(key) is not None:
            check_auth_ref(ws, changes[key])
    try:
        with ws.transaction() as conn:
            config_repos_db.update_config_repo(conn, repo_id, **changes)
    except config_repos_db.NameTaken:
        raise CodedError(
            errors.CONFIG_REPO_NAME_TAKEN, f"a config repo named {changes.get('name')!r} exists"
        ) from None
    return get(ws, repo_id)


def delete(ws: Workspace, repo_id: int) -> None:
    with ws.transaction() as conn:
        if not config_repos_db.delete_config_repo(conn, repo_id):
            raise NotFoundError(f"no config repo {repo_id}")
