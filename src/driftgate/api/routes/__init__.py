"""The API's routes, one router per resource; ``ROUTERS`` is the order ``create_app`` mounts them in."""

from __future__ import annotations

from fastapi import APIRouter

from driftgate.api.routes import config_repos, health, proposals, runs, stacks, webhooks

ROUTERS: tuple[APIRouter, ...] = (
    health.router,
    config_repos.router,
    proposals.router,
    webhooks.router,
    stacks.router,
    runs.router,
)
