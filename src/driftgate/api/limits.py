"""Limits on request bodies, enforced on the bytes as they stream in, for every route.

``Content-Length`` alone proves nothing: a chunked body has none. The
middleware counts every received chunk and answers 413 the moment the limit
is passed, and scans JSON bodies for nesting depth and non-finite numbers as
they arrive, so nothing oversized or unservable is ever parsed or stored.
"""

from __future__ import annotations

import re
from typing import Any

from starlette.exceptions import HTTPException
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from driftgate import errors
from driftgate.api.errors import envelope
from driftgate.errors import BODY_TOO_DEEP, REQUEST_TOO_LARGE

_TOKENS = re.compile(rb'["\\\[\]{}NI]')
_QUOTE, _BACKSLASH = ord('"'), ord("\\")
_OPEN, _CLOSE = (ord("["), ord("{")), (ord("]"), ord("}"))


class BodyRefused(HTTPException):
    """A body broke a limit; ``code`` is the envelope's error code."""

    def __init__(self, status: int, code: str, message: str) -> None:
        super().__init__(status_code=status, detail=message)
        self.code = code


class JsonScan:
    """Tracks nesting depth across chunks of JSON text, without parsing it."""

    def __init__(self, max_depth: int) -> None:
        self.max_depth = max_depth
        self.depth = 0
        self.in_string = False
        self.escaped = False

    def feed(self, chunk: bytes) -> None:
        index = 0
        if self.escaped and chunk:
            index, self.escaped = 1, False
        while (found := _TOKENS.search(chunk, index)) is not None:
            char = chunk[found.start()]
            index = found.start() + 1
            if self.in_string:
                if char == _BACKSLASH:
                    if chunk[index : index + 5] == b"u0000":
                        raise BodyRefused(
                            400, errors.INVALID_INPUT, "NUL characters (\\u0000) are not allowed"
                        )
                    self.escaped = index >= len(chunk)
                    index += 1
                elif char == _QUOTE:
                    self.in_string = False
            elif char == _QUOTE:
                self.in_string = True
            elif char in _OPEN:
                self.depth += 1
                if self.depth > self.max_depth:
                    raise BodyRefused(
                        422, BODY_TOO_DEEP, f"request bodies nest at most {self.max_depth} levels"
                    )
            elif char in _CLOSE:
                self.depth -= 1
            else:
                raise BodyRefused(422, BODY_TOO_DEEP, "non-finite numbers (NaN, Infinity) are not allowed")


class BodyLimits:
    """ASGI middleware: size and JSON nesting limits on every request body, streamed or not."""

    def __init__(self, app: ASGIApp, *, max_bytes: int, max_depth: int) -> None:
        self.app = app
        self.max_bytes = max_bytes
        self.max_depth = max_depth

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        headers = dict(scope.get("headers") or [])
        length = headers.get(b"content-length")
        if length is not None and (not length.isdigit() or int(length) > self.max_bytes):
            await self._refuse(scope, receive, send, self._too_large())
            return
        content_type = headers.get(b"content-type", b"")
        scan = JsonScan(self.max_depth) if not content_type or b"json" in content_type else None
        seen = 0
        started = False

        async def guarded() -> Message:
            nonlocal seen
            message = await receive()
            if message["type"] == "http.request":
                body = message.get("body", b"")
                seen += len(body)
                if seen > self.max_bytes:
                    raise self._too_large()
                if scan is not None:
                    scan.feed(body)
            return message

        async def tracked(message: Message) -> None:
            nonlocal started
            started = started or message["type"] == "http.response.start"
            await send(message)

        try:
            await self.app(scope, guarded, tracked)
        except BodyRefused as exc:
            if started:
                raise
            await self._refuse(scope, receive, send, exc)

    def _too_large(self) -> BodyRefused:
        return BodyRefused(413, REQUEST_TOO_LARGE, f"request bodies are limited to {self.max_bytes} bytes")

    @staticmethod
    async def _refuse(scope: Scope, receive: Receive, send: Send, exc: BodyRefused) -> None:
        response: Any = envelope(exc.status_code, exc.code, str(exc.detail))
        await response(scope, receive, send)
