"""Domain errors → HTTP: one envelope ``{"error": {"code", "message", "details"}}``."""

from __future__ import annotations

from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException

from driftgate import errors
from driftgate.errors import (
    HTTP_ERROR,
    VALIDATION_FAILED,
)
from driftgate.security.redact import redact

STATUS = {  # every code in errors.CODES (a test checks it)
    # specs, plans and the apply
    errors.SPEC_INVALID: 422,
    errors.UNSAFE_PATH: 400,
    errors.SECRET_INVALID: 400,
    errors.PLAN_STALE: 400,
    errors.PLAN_INVALID: 422,
    errors.CONTRACT_VIOLATION: 400,
    errors.STACK_LOCKED: 409,
    errors.STACK_ELSEWHERE: 409,
    errors.STACK_NOT_FOUND: 404,
    errors.GATE_REFUSED: 409,
    errors.BACKUP_CORRUPT: 400,
    # providers
    errors.PROVIDER_CONFIG: 400,
    errors.PROVIDER_FAILED: 500,
    errors.UNSUPPORTED_FORGE: 400,
    # input and lookups
    errors.NOT_FOUND: 404,
    errors.INVALID_INPUT: 400,
    errors.INVALID_URL: 400,
    errors.INVALID_CURSOR: 400,
    errors.USAGE: 400,
    # config repos, proposals and their edits
    errors.CONFIG_REPO_NAME_TAKEN: 409,
    errors.CREDENTIAL_NOT_FOUND: 422,
    errors.CREDENTIAL_NOT_CONFIGURED: 503,
    errors.REPO_NOT_CONFIGURED: 422,
    errors.INVALID_STATE_TRANSITION: 409,
    errors.VALUE_DRIFT: 400,
    errors.PATH_NOT_FOUND: 400,
    errors.FILE_INVALID: 400,
    errors.PATH_INVALID: 400,
    errors.BRANCH_EXISTS: 400,
    errors.LOCK_CONTENDED: 503,
    errors.PR_RATE_LIMITED: 429,
    # forges and webhooks
    errors.FORGE_REJECTED: 400,
    errors.FORGE_UNAVAILABLE: 503,
    errors.SIGNATURE_INVALID: 401,
    errors.WEBHOOK_REPLAYED: 409,
    errors.WEBHOOK_UNKNOWN_REPO: 404,
    errors.WEBHOOK_INVALID: 422,
    # the API's own
    errors.UNAUTHENTICATED: 401,
    errors.FORBIDDEN: 403,
    errors.VALIDATION_FAILED: 422,
    errors.REQUEST_TOO_LARGE: 413,
    errors.BODY_TOO_DEEP: 422,
    errors.HTTP_ERROR: 400,  # nominal: an HTTP error keeps its own status
    # infrastructure
    errors.QUEUE_UNAVAILABLE: 503,
    errors.STORE_UNAVAILABLE: 503,
    errors.TRANSIENT: 503,
    errors.INTERNAL: 500,
}


class ApiError(Exception):
    def __init__(
        self, status: int, code: str, message: str, details: Any = None, headers: dict[str, str] | None = None
    ) -> None:
        super().__init__(message)
        self.status, self.code, self.message, self.details, self.headers = (
            status,
            code,
            message,
            details,
            headers,
        )


def envelope(
    status: int, code: str, message: str, details: Any = None, headers: dict[str, str] | None = None
) -> JSONResponse:
    body = {"error": {"code": code, "message": redact(message), "details": details}}
    return JSONResponse(body, status_code=status, headers=headers)


def install(app: FastAPI) -> None:
    @app.exception_handler(ApiError)
    async def _api(_: Request, exc: ApiError) -> JSONResponse:
        return envelope(exc.status, exc.code, exc.message, exc.details, exc.headers)

    @app.exception_handler(errors.DriftgateError)
    async def _domain(_: Request, exc: errors.DriftgateError) -> JSONResponse:
        status = STATUS.get(exc.code, 400 if isinstance(exc, errors.TerminalError) else 500)
        return envelope(status, exc.code, str(exc))

    @app.exception_handler(RequestValidationError)
    async def _validation(_: Request, exc: RequestValidationError) -> JSONResponse:
        details = [{"field": ".".join(str(p) for p in e["loc"]), "reason": e["msg"]} for e in exc.errors()]
        return envelope(422, VALIDATION_FAILED, "the request body or parameters are invalid", details)

    @app.exception_handler(StarletteHTTPException)
    async def _http(_: Request, exc: StarletteHTTPException) -> JSONResponse:
        code = getattr(exc, "code", None) or (errors.NOT_FOUND if exc.status_code == 404 else HTTP_ERROR)
        return envelope(exc.status_code, code, str(exc.detail))

    @app.exception_handler(Exception)
    async def _unexpected(_: Request, exc: Exception) -> JSONResponse:
        return envelope(500, errors.INTERNAL, "internal error")
