"""Config repos: the git repositories proposals are opened against (admin writes, viewer reads)."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Response

from driftgate.api.deps import WS, Admin, Cursor, Id, Limit, Viewer, after, page
from driftgate.api.schemas import ConfigRepo, ConfigRepoIn, ConfigRepoPage, ConfigRepoPatch
from driftgate.services.proposals import config_repos

router = APIRouter(prefix="/api/v1/config-repos", tags=["config repos"])


@router.post("", status_code=201, response_model=ConfigRepo)
def create_config_repo(body: ConfigRepoIn, ws: WS, _: Admin) -> dict[str, Any]:
    return config_repos.create(ws, **body.model_dump())


@router.get("", response_model=ConfigRepoPage)
def list_config_repos(
    response: Response, ws: WS, _: Viewer, cursor: Cursor = None, limit: Limit = 50
) -> dict[str, Any]:
    items, has_more, total = config_repos.list_page(ws, after=after(cursor), limit=limit)
    return page(response, items, has_more, total)


@router.get("/{repo_id}", response_model=ConfigRepo)
def get_config_repo(repo_id: Id, ws: WS, _: Viewer) -> dict[str, Any]:
    return config_repos.get(ws, repo_id)


@router.patch("/{repo_id}", response_model=ConfigRepo)
def patch_config_repo(repo_id: Id, body: ConfigRepoPatch, ws: WS, _: Admin) -> dict[str, Any]:
    return config_repos.patch(ws, repo_id, body.model_dump(exclude_unset=True))


@router.delete("/{repo_id}", status_code=204, response_class=Response)
def delete_config_repo(repo_id: Id, ws: WS, _: Admin) -> Response:
    config_repos.delete(ws, repo_id)
    return Response(status_code=204)
