"""The dashboard's routes: every page reads through the services the API uses; every action is a
plain form post (CSRF-checked, role-checked as the API is) that redirects to the page it changed."""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Annotated, Any

from fastapi import APIRouter, FastAPI, Form, Query, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import HTMLResponse, RedirectResponse, Response, StreamingResponse
from fastapi.staticfiles import StaticFiles
from fastapi.templating import Jinja2Templates
from starlette.exceptions import HTTPException as StarletteHTTPException

from driftgate.errors import DriftgateError
from driftgate.gate.decision import GateRequest
from driftgate.services import sessions
from driftgate.services.proposals.lifecycle import JobQueue
from driftgate.services.workspace import Workspace
from driftgate.web.session import (
    COOKIE,
    LOGIN_COOKIE,
    AdminRole,
    AnyRole,
    Forbidden,
    LoginRequired,
    PostAdmin,
    PostOperator,
    PostViewer,
    Viewer,
    cookie_flags,
    current,
    new_login_csrf,
    safe_next,
    workspace_of,
)

HERE = Path(__file__).parent
STATIC = HERE / "static"
RUNS_PAGE = 50
LEDGER_PAGE = 500

templates = Jinja2Templates(directory=str(HERE / "templates"))
templates.env.filters["isotime"] = lambda stamp: datetime.fromtimestamp(float(stamp), UTC).strftime(
    "%Y-%m-%d %H:%M:%S UTC"
)
templates.env.filters["tojson_pretty"] = lambda value: json.dumps(
    value, indent=2, sort_keys=True, default=str
)
templates.env.filters["value"] = lambda value: json.dumps(
    value, ensure_ascii=False, default=str
)  # escaped as HTML
router = APIRouter(prefix="/ui", include_in_schema=False)


def page(
    request: Request, template: str, who: Viewer | None, section: str = "", code: int = 200, **context: Any
) -> HTMLResponse:
    return templates.TemplateResponse(
        request,
        template,
        {
            "who": who.principal if who else None,
            "csrf": who.csrf if who else "",
            "section": section,
            "htmx": (STATIC / "vendor" / "htmx.min.js").is_file(),
            "url": lambda path: path,
            **context,
        },
        status_code=code,
    )


def see(path: str) -> RedirectResponse:
    return RedirectResponse(path, status_code=303)


# -- login ---------------------------------------------------------------------------------------


@router.get("/login", response_class=HTMLResponse)
def login_form(request: Request, next: Annotated[str, Query(max_length=500)] = "/ui/") -> Response:  # noqa: A002
    if current(request) is not None:
        return see(safe_next(next))
    return _login_form(request, next)


def _login_form(request: Request, next_path: str, status: int = 200, error: Any = None) -> Response:
    """The login page with a fresh CSRF token, also set as a cookie the post must match."""
    token = new_login_csrf()
    response = page(
        request, "login.html", None, code=status, login_csrf=token, next=safe_next(next_path), error=error
    )
    response.set_cookie(LOGIN_COOKIE, token, max_age=900, **cookie_flags(request))  # type: ignore[arg-type]
    return response


@router.post("/login", response_class=HTMLResponse)
def login(
    request: Request,
    token: Annotated[str, Form(max_length=500)] = "",
    csrf: Annotated[str, Form(max_length=100)] = "",
    next: Annotated[str, Form(max_length=500)] = "/ui/",  # noqa: A002
) -> Response:
    import hmac

    expected = request.cookies.get(LOGIN_COOKIE, "")
    if not expected or not csrf or not hmac.compare_digest(expected, csrf):
        return _login_form(
            request, next, 403, {"code": "CSRF", "message": "the login form expired: try again"}
        )
    opened = sessions.open_session(workspace_of(request), token.strip()) if token.strip() else None
    if opened is None:
        why = {"code": "UNAUTHENTICATED", "message": "that token is not valid (or was revoked)"}
        return _login_form(request, next, 401, why)
    session_id, _ = opened
    response = see(safe_next(next))
    flags = cookie_flags(request)
    response.set_cookie(COOKIE, session_id, max_age=sessions.SESSION_SECONDS, **flags)  # type: ignore[arg-type]
    response.delete_cookie(LOGIN_COOKIE, path="/ui")
    return response


@router.post("/logout")
def logout(request: Request, who: PostViewer) -> Response:
    sessions.close_session(workspace_of(request), who.session_id)
    response = see("/ui/login")
    response.delete_cookie(COOKIE, path="/ui")
    return response


# -- stacks --------------------------------------------------------------------------------------


@router.get("/", response_class=HTMLResponse)
def stacks_page(request: Request, who: AnyRole, q: Annotated[str, Query(max_length=100)] = "") -> Response:
    from driftgate.services.stacks.overview import stacks_overview

    found = stacks_overview(workspace_of(request), search=q)
    return page(request, "stacks.html", who, "stacks", stacks=found, q=q)


def _stack_directory(request: Request, name: str) -> Path:
    from driftgate.services.stacks.overview import stack_directory

    return stack_directory(workspace_of(request), name)


@router.get("/stacks/{name}", response_class=HTMLResponse)
def stack_page(request: Request, name: str, who: AnyRole) -> Response:
    from driftgate.services.stacks.backups import list_backups
    from driftgate.services.stacks.overview import stack_detail

    ws = workspace_of(request)
    detail = stack_detail(ws, name)
    with ws.run() as running:  # a plugin the specs' kinds needed stops when this page is done
        backups = list_backups(running, Path(detail["directory"])) if detail["has_specs"] else []
    return page(request, "stack.html", who, "stacks", stack=detail, backups=backups)


def _gate_request(module: str, confirm: str, backup_ref: str) -> GateRequest:
    """The automatic lane; with a module, its name typed again and a verified backup chosen, the
    manual lane for that module (as ``--confirm`` and ``--backup-ref`` on the CLI)."""
    if module:
        return GateRequest("manual", (module,), True, confirm or None, backup_ref or None)
    return GateRequest("auto")


def _plan_view(
    request: Request, name: str, who: Viewer, gate: GateRequest, *, stale: str = "", status_code: int = 200
) -> Response:
    """One plan and the gate's decision on it, with an Apply form that carries the plan's digest:
    applying from the page applies this plan or nothing."""
    from driftgate.services.stacks.apply import planned_decision

    ws = workspace_of(request)
    with ws.run() as running:
        plan, decision = planned_decision(running, _stack_directory(request, name), gate)
    return page(
        request,
        "plan.html",
        who,
        "stacks",
        status_code,
        name=name,
        plan=plan.to_dict(),
        gate=decision.to_dict(),
        digest=plan.content_digest(),
        lane={
            "module": gate.modules[0] if gate.modules else "",
            "confirm": gate.confirm or "",
            "backup_ref": gate.backup_ref or "",
        },
        stale=stale,
    )


@router.post("/stacks/{name}/plan", response_class=HTMLResponse)
def plan_page(
    request: Request,
    name: str,
    who: PostOperator,
    module: Annotated[str, Form(max_length=64)] = "",
    confirm: Annotated[str, Form(max_length=64)] = "",
    backup_ref: Annotated[str, Form(max_length=255)] = "",
) -> Response:
    return _plan_view(request, name, who, _gate_request(module, confirm, backup_ref))


@router.post("/stacks/{name}/apply")
def apply_action(
    request: Request,
    name: str,
    who: PostOperator,
    digest: Annotated[str, Form(max_length=64)] = "",
    module: Annotated[str, Form(max_length=64)] = "",
    confirm: Annotated[str, Form(max_length=64)] = "",
    backup_ref: Annotated[str, Form(max_length=255)] = "",
) -> Response:
    """Apply the plan the page showed (its digest came with the form): a plan that changed since is
    refused as stale (409), nothing applied, and the new plan is shown instead."""
    from driftgate.errors import INVALID_INPUT, CodedError, StalePlanError
    from driftgate.services.stacks.apply import ApplyRequest, apply_stack

    if not digest:
        raise CodedError(INVALID_INPUT, "plan first: an apply from the dashboard applies the plan it showed")
    gate = _gate_request(module, confirm, backup_ref)
    ws = workspace_of(request)
    request_ = ApplyRequest(
        _stack_directory(request, name), gate=gate, commit_back=True, skip_no_changes=False, shown_plan=digest
    )
    try:
        with ws.run() as running:
            outcome = apply_stack(running, request_)
    except StalePlanError as exc:
        return _plan_view(request, name, who, gate, stale=str(exc), status_code=409)
    report = outcome.report
    if report is None:
        return see(f"/ui/stacks/{name}")
    return see(f"/ui/runs/{report.run_id}")


@router.post("/stacks/{name}/reconcile")
def reconcile_action(request: Request, name: str, who: PostOperator) -> Response:
    from driftgate.services.drift.reconcile import reconcile

    ws = workspace_of(request)
    directory = _stack_directory(request, name)
    with ws.run() as running:
        run_id, _ = reconcile(running, directory)
    return see(f"/ui/runs/{run_id}")


@router.get("/stacks/{name}/drift", response_class=HTMLResponse)
def drift_page(request: Request, name: str, who: AnyRole) -> Response:
    from driftgate.services.stacks.overview import last_drift, stack_detail

    ws = workspace_of(request)
    found = last_drift(ws, name)
    policies = {m["name"]: m.get("drift") for m in stack_detail(ws, name)["modules"]}
    return page(request, "drift.html", who, "stacks", name=name, found=found, policies=policies)


# -- runs ----------------------------------------------------------------------------------------


@router.get("/runs", response_class=HTMLResponse)
def runs_page(
    request: Request,
    who: AnyRole,
    stack: Annotated[str, Query(max_length=64)] = "",
    status: Annotated[str, Query(max_length=16)] = "",
    actor: Annotated[str, Query(max_length=200)] = "",
    before: Annotated[float | None, Query(ge=0)] = None,
) -> Response:
    from driftgate.services.stacks.history import runs_page as find

    rows, more = find(
        workspace_of(request),
        stack=stack or None,
        status=status or None,
        actor=actor or None,
        before=before,
        limit=RUNS_PAGE,
    )
    older = rows[-1]["started_at"] if more and rows else None
    filters = {"stack": stack, "status": status, "actor": actor}
    return page(request, "runs.html", who, "runs", runs=rows, older=older, filters=filters)


@router.get("/runs/{run_id}", response_class=HTMLResponse)
def run_page(
    request: Request, run_id: str, who: AnyRole, offset: Annotated[int, Query(ge=0)] = 0
) -> Response:
    from driftgate.services.stacks.history import show_run

    run = show_run(workspace_of(request), run_id, outputs=False)
    ledger = run["ledger"]
    done = sum(1 for e in ledger if e["phase"] == "done")
    shown = ledger[offset : offset + LEDGER_PAGE]
    return page(
        request,
        "run.html",
        who,
        "runs",
        run=run,
        ledger=shown,
        offset=offset,
        page_size=LEDGER_PAGE,
        total=len(ledger),
        done=done,
    )


@router.get("/runs/{run_id}/events")
async def run_events(request: Request, run_id: str, who: AnyRole) -> StreamingResponse:
    """Server-sent events: the run's progress (done/total, status) until it ends."""
    from driftgate.services.stacks.history import run_progress

    ws = workspace_of(request)

    async def stream() -> AsyncIterator[str]:
        last = None
        deadline = time.monotonic() + 3600
        while time.monotonic() < deadline:
            if await request.is_disconnected():
                return
            progress = await asyncio.to_thread(run_progress, ws, run_id)
            if progress != last:
                yield f"event: progress\ndata: {json.dumps(progress)}\n\n"
                last = progress
            if progress["status"] != "running":
                yield "event: end\ndata: {}\n\n"
                return
            await asyncio.sleep(0.5)

    return StreamingResponse(stream(), media_type="text/event-stream", headers={"Cache-Control": "no-store"})


# -- proposals -----------------------------------------------------------------------------------


@router.get("/proposals", response_class=HTMLResponse)
def proposals_page(
    request: Request, who: AnyRole, status: Annotated[str, Query(max_length=32)] = ""
) -> Response:
    from driftgate.services.proposals import config_repos, lifecycle

    ws = workspace_of(request)
    rows, _more, total = lifecycle.list_page(ws, status=status or None, after=0, limit=200)
    repos = {r["id"]: r["name"] for r in config_repos.list_page(ws, after=0, limit=1000)[0]}
    return page(
        request, "proposals.html", who, "proposals", proposals=rows, status=status, total=total, repos=repos
    )


@router.get("/proposals/{proposal_id}", response_class=HTMLResponse)
def proposal_page(request: Request, proposal_id: int, who: AnyRole) -> Response:
    from driftgate.services.proposals import lifecycle

    found = lifecycle.get(workspace_of(request), proposal_id)
    return page(request, "proposal.html", who, "proposals", p=found)


@router.post("/proposals/{proposal_id}/approve")
def approve(request: Request, proposal_id: int, who: PostOperator) -> Response:
    from driftgate.jobs.queue import default_jobs
    from driftgate.services.proposals import lifecycle

    jobs = request.app.state.jobs or default_jobs()
    lifecycle.request_open_pr(workspace_of(request), proposal_id, jobs)
    return see(f"/ui/proposals/{proposal_id}")


@router.post("/proposals/{proposal_id}/reject")
def reject(
    request: Request,
    proposal_id: int,
    who: PostOperator,
    reason: Annotated[str, Form(min_length=1, max_length=2000)],
) -> Response:
    from driftgate.services.proposals import lifecycle

    lifecycle.reject(workspace_of(request), proposal_id, reason)
    return see(f"/ui/proposals/{proposal_id}")


# -- admin ---------------------------------------------------------------------------------------


def _admin(request: Request, who: Viewer, **extra: Any) -> HTMLResponse:
    from driftgate.services.proposals import config_repos
    from driftgate.services.stacks.backups import stack_backups
    from driftgate.services.stacks.overview import stacks_overview
    from driftgate.services.tokens import list_tokens

    ws = workspace_of(request)
    repos, _more, _total = config_repos.list_page(ws, after=0, limit=200)
    stacks = stacks_overview(ws)
    locked = [s for s in stacks if s.lock]
    backups = [(s.name, b) for s in stacks for b in stack_backups(ws, s.name)]
    return page(
        request,
        "admin.html",
        who,
        "admin",
        repos=repos,
        locked=locked,
        tokens=list_tokens(ws),
        backups=backups,
        **extra,
    )


@router.get("/admin", response_class=HTMLResponse)
def admin_page(request: Request, who: AdminRole) -> Response:
    return _admin(request, who)


@router.post("/admin/tokens", response_class=HTMLResponse)
def create_token(
    request: Request,
    who: PostAdmin,
    name: Annotated[str, Form(min_length=1, max_length=100)],
    role: Annotated[str, Form(max_length=16)],
) -> Response:
    from driftgate.services.tokens import create_token as make

    token = make(workspace_of(request), name, role)
    response = _admin(request, who, new_token={"name": name, "role": role, "value": token})
    response.headers["Cache-Control"] = "no-store"  # shown once: not kept by the browser
    return response


@router.post("/admin/tokens/{name}/revoke")
def revoke_token(request: Request, name: str, who: PostAdmin) -> Response:
    from driftgate.services.tokens import revoke_token as revoke

    revoke(workspace_of(request), name)
    return see("/ui/admin")


@router.post("/admin/locks/{name}/break")
def break_lock(
    request: Request, name: str, who: PostAdmin, confirm: Annotated[str, Form(max_length=64)] = ""
) -> Response:
    from driftgate.errors import INVALID_INPUT, CodedError
    from driftgate.services.stacks.locking import break_lock as do_break

    if confirm != name:
        raise CodedError(INVALID_INPUT, f"type the stack's name ({name}) to break its lock")
    do_break(workspace_of(request), name, force=False, actor=f"token:{who.principal.name}")
    return see("/ui/admin")


@router.post("/admin/config-repos")
def create_config_repo(
    request: Request,
    who: PostAdmin,
    name: Annotated[str, Form(min_length=1, max_length=100)],
    url: Annotated[str, Form(min_length=1, max_length=500)],
    auth_ref: Annotated[str, Form(min_length=1, max_length=500)],
    default_branch: Annotated[str, Form(max_length=200)] = "main",
    forge: Annotated[str, Form(max_length=16)] = "",
    webhook_secret_ref: Annotated[str, Form(max_length=500)] = "",
) -> Response:
    from driftgate.services.proposals import config_repos

    config_repos.create(
        workspace_of(request),
        name=name,
        url=url,
        default_branch=default_branch or "main",
        auth_ref=auth_ref,
        webhook_secret_ref=webhook_secret_ref or None,
        forge=forge or None,
    )
    return see("/ui/admin")


@router.post("/admin/config-repos/{repo_id}/remove")
def remove_config_repo(
    request: Request, repo_id: int, who: PostAdmin, confirm: Annotated[str, Form(max_length=100)] = ""
) -> Response:
    """Forget a config repo (its proposals go with it), after its name is typed again."""
    from driftgate.errors import INVALID_INPUT, CodedError
    from driftgate.services.proposals import config_repos

    ws = workspace_of(request)
    name = str(config_repos.get(ws, repo_id)["name"])
    if confirm != name:
        raise CodedError(INVALID_INPUT, f"type the config repo's name ({name}) to remove it")
    config_repos.delete(ws, repo_id)
    return see("/ui/admin")


@router.post("/admin/config-repos/{repo_id}")
def patch_config_repo(
    request: Request,
    repo_id: int,
    who: PostAdmin,
    default_branch: Annotated[str, Form(max_length=200)] = "",
    auth_ref: Annotated[str, Form(max_length=500)] = "",
    webhook_secret_ref: Annotated[str, Form(max_length=500)] = "",
) -> Response:
    """Change what is filled in; an empty field is left as it is."""
    from driftgate.services.proposals import config_repos

    fields = {
        "default_branch": default_branch,
        "auth_ref": auth_ref,
        "webhook_secret_ref": webhook_secret_ref,
    }
    changes = {key: value for key, value in fields.items() if value}
    if changes:
        config_repos.patch(workspace_of(request), repo_id, changes)
    return see("/ui/admin")


@router.post("/stacks/{name}/backups/verify", response_class=HTMLResponse)
def verify_backup(
    request: Request, name: str, who: PostOperator, ref: Annotated[str, Form(min_length=1, max_length=255)]
) -> Response:
    from driftgate.services.stacks.backups import verify_backup as verify

    directory = _stack_directory(request, name)
    verify(workspace_of(request), directory, ref)
    return see(f"/ui/stacks/{name}?verified={ref}")


# -- installing it -------------------------------------------------------------------------------


def install(app: FastAPI) -> None:
    """Mount the dashboard on ``app``: its routes, its static files, and the answers for a missing
    login, a role too low and a use case's refusal (a page, never a traceback)."""
    app.include_router(router)
    app.mount("/ui/static", StaticFiles(directory=str(STATIC)), name="ui-static")

    @app.get("/favicon.ico", include_in_schema=False)
    def favicon() -> Response:
        return RedirectResponse("/ui/static/favicon.svg", status_code=308)

    @app.exception_handler(LoginRequired)
    def to_login(request: Request, exc: LoginRequired) -> Response:
        from urllib.parse import urlencode

        return see("/ui/login?" + urlencode({"next": safe_next(exc.next_path)}))

    @app.exception_handler(Forbidden)
    def forbidden(request: Request, exc: Forbidden) -> Response:
        who = current(request)
        return page(request, "error.html", who, code=403, error={"code": "FORBIDDEN", "message": str(exc)})

    for kind in (DriftgateError, RequestValidationError, StarletteHTTPException, Exception):
        _as_page(app, kind)


def _as_page(app: FastAPI, kind: type[Exception]) -> None:
    """On a dashboard path, the API's answer to ``kind`` (same status, same code and message) as a
    page; elsewhere the API's JSON envelope, untouched."""
    api_handler = app.exception_handlers[kind]

    async def handler(request: Request, exc: Exception) -> Response:
        answer: Response = await api_handler(request, exc)  # type: ignore[misc]
        if not request.url.path.startswith("/ui"):
            return answer
        try:
            error = json.loads(bytes(answer.body))["error"]
        except (ValueError, KeyError, TypeError):
            error = {"code": "ERROR", "message": "the request failed"}
        details = error.get("details") or []
        message = str(error.get("message", ""))
        if details:
            message += ": " + "; ".join(f"{d.get('field')}: {d.get('reason')}" for d in details)
        shown = {"code": error.get("code", "ERROR"), "message": message}
        return page(request, "error.html", current(request), code=answer.status_code, error=shown)

    app.add_exception_handler(kind, handler)


def create_site(ws: Workspace, jobs: JobQueue | None = None) -> FastAPI:
    """The API and the dashboard in one app (what ``driftgate serve`` runs)."""
    from driftgate.api.app import create_app

    app = create_app(ws, jobs)
    install(app)
    return app
