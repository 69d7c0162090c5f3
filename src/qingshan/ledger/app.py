"""The FastAPI application of the ledger: :func:`create_app` (``qingshan serve`` will mount the same routers).

``create_app(workspace)`` opens (and migrates) the workspace's ledger — ``<workspace>/ledger.sqlite`` or the URL
in ``QINGSHAN_LEDGER_URL`` — and mounts ``/api/v1/auth/...`` and ``/api/v1/ledger/...``; the OpenAPI schema is at
``/api/v1/openapi.json`` and the interactive docs at ``/api/v1/docs``. Attachments live in
``<workspace>/ledger-files``, which no route serves directly.

Two ASGI middlewares guard every request of the app (the console's too, :func:`mount_ledger`):

* :class:`BodyGuard` — request bodies are counted as they arrive, whether or not a ``Content-Length`` is given,
  and the request is answered 413 (``Connection: close``) the moment the count passes its limit: uploads
  (multipart bodies) five files' worth + 1 MiB, JSON bodies 1 MiB, any other body (sign-in, page forms) 64 KiB. An
  upload is authenticated from its headers (bearer token or session cookie) *before* its body is read: an anonymous
  multipart request is answered 401 without reading a byte of it.
* :class:`LastResort` — an exception that no handler took becomes a response instead of a dropped connection:
  malformed input that reaches a parser (JSON nested thousands deep, a number too large for the database) 4xx with a
  Chinese message, anything else a logged 500; the keep-alive connection stays usable.
"""

from __future__ import annotations

import datetime as dt
import logging
import os
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from pathlib import Path

from fastapi import FastAPI
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import JSONResponse
from sqlalchemy.exc import DataError
from starlette.datastructures import Headers
from starlette.exceptions import HTTPException
from starlette.requests import Request, cookie_parser
from starlette.responses import Response
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from . import auth
from .api import API_PREFIX, SESSION_COOKIE, auth_router, install_error_handlers, router
from .db import Ledger, open_ledger
from .dispatch_api import dispatch_router
from .files import FileStore
from .throttle import LoginThrottle

log = logging.getLogger(__name__)

#: Body limits (bytes) of requests that are not uploads: JSON (the largest legitimate one is a campaign's list of
#: enterprises) and anything else (sign-in, page forms).
JSON_LIMIT = 1024 * 1024
FORM_LIMIT = 64 * 1024

#: ``respond(request, status, detail, headers)``: the error response of the app (JSON, or the console's page).
Responder = Callable[[Request, int, str, dict[str, str] | None], Response]


def json_error(request: Request, status: int, detail: str, headers: dict[str, str] | None = None) -> Response:
    return JSONResponse({"detail": detail}, status_code=status, headers=headers)


def create_app(workspace: str | os.PathLike[str], *, url: str | None = None, max_upload_bytes: int | None = None,
               max_request_bytes: int | None = None, today: dt.date | None = None) -> FastAPI:
    """The ledger API for ``workspace``.

    ``max_upload_bytes``: per file (default 20 MiB or ``QINGSHAN_LEDGER_MAX_UPLOAD``); ``max_request_bytes``: per
    upload request body (default five files' worth + 1 MiB); ``today`` pins the date used for deadlines (tests,
    replays).
    """
    ledger = open_ledger(Path(workspace), url)

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        yield
        ledger.dispose()

    app = FastAPI(
        title="青山 · 治理台账 API",
        version="1",
        description="督察整改、重点任务、项目、专项整治、信访、执法案件；令牌：POST /api/v1/auth/token。",
        openapi_url=f"{API_PREFIX}/openapi.json",
        docs_url=f"{API_PREFIX}/docs",
        redoc_url=None,
        lifespan=lifespan,
    )
    mount_ledger(app, ledger, max_upload_bytes=max_upload_bytes, max_request_bytes=max_request_bytes, today=today)
    return app


def mount_ledger(app: FastAPI, ledger: Ledger, *, max_upload_bytes: int | None = None,
                 max_request_bytes: int | None = None, today: dt.date | None = None,
                 max_json_bytes: int = JSON_LIMIT, max_form_bytes: int = FORM_LIMIT,
                 sign_in_paths: tuple[str, ...] = (), respond: Responder = json_error) -> None:
    """Mount the ledger on ``app``: its state (ledger, file store, pinned date), error handlers, the request guards
    (module docstring; ``respond`` renders their refusals; ``sign_in_paths``: forms the public posts besides
    ``/api/v1/auth/token``) and the ``/api/v1/auth`` and ``/api/v1/ledger`` routers. Shared by :func:`create_app` and the console (:func:`qingshan.web.app.create_console_app`); the
    caller owns ``ledger`` and disposes of it."""
    app.state.ledger = ledger
    app.state.files = FileStore(ledger.files_dir, max_upload_bytes)
    app.state.today = today
    app.state.login_throttle = LoginThrottle()
    install_error_handlers(app)
    upload = max_request_bytes or 5 * app.state.files.max_bytes + 1024 * 1024

    app.add_middleware(LastResort, respond=respond)
    app.add_middleware(BodyGuard, ledger=ledger, upload_limit=upload, json_limit=max_json_bytes,
                       form_limit=max_form_bytes, sign_in_paths=frozenset({f"{API_PREFIX}/auth/token", *sign_in_paths}),
                       respond=respond)

    app.include_router(auth_router)
    app.include_router(router)
    app.include_router(dispatch_router)


def _size(n: int) -> str:
    return f"{n / (1024 * 1024):g} MiB" if n >= 1024 * 1024 else f"{n / 1024:g} KiB"


class BodyTooLarge(HTTPException):
    """Raised from ``receive`` once a body passes its limit: FastAPI's body parsing passes HTTP exceptions on, so
    the route's handlers answer 413 (and :class:`BodyGuard` makes sure of it)."""

    def __init__(self, limit: int) -> None:
        super().__init__(413, f"请求体超过上限 {_size(limit)}，已停止接收")


class BodyGuard:
    """Streaming body limits, and authentication of uploads before their body (module docstring).

    A multipart body is an upload — except at ``sign_in_paths``, where the public posts its credentials (any form
    encoding) under the small limit. An upload is read only from a signed-in caller; which routes take files is not
    looked up, so every upload route, page or API, present or future, is covered. A plain ASGI middleware:
    ``@app.middleware("http")`` would add a task group and a stream to every request."""

    def __init__(self, app: ASGIApp, *, ledger: Ledger, upload_limit: int, json_limit: int, form_limit: int,
                 sign_in_paths: frozenset[str], respond: Responder) -> None:
        self.app, self.ledger, self.respond, self.sign_in_paths = app, ledger, respond, sign_in_paths
        self.upload_limit, self.json_limit, self.form_limit = upload_limit, json_limit, form_limit

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        headers = Headers(scope=scope)
        ctype = headers.get("content-type", "").split(";")[0].strip().lower()
        upload = ctype == "multipart/form-data" and scope["path"].rstrip("/") not in self.sign_in_paths
        limit = self.upload_limit if upload else self.json_limit if ctype.endswith("json") else self.form_limit
        length = headers.get("content-length")
        if length is not None and length.isascii() and length.isdigit() and int(length) > limit:
            await self._refuse(scope, receive, send, 413, BodyTooLarge(limit).detail)
            return
        if upload and (denied := await run_in_threadpool(self._upload_denied, headers)):
            await self._refuse(scope, receive, send, 401, denied, {"WWW-Authenticate": "Bearer"})
            return

        received, cut = 0, False

        async def counted() -> Message:
            nonlocal received, cut
            if cut:  # never read past the limit, whatever the app asks
                raise BodyTooLarge(limit)
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > limit:
                    cut = True
                    raise BodyTooLarge(limit)
            return message

        replaced = False

        async def guarded_send(message: Message) -> None:
            nonlocal replaced
            if replaced:
                return
            if cut and message["type"] == "http.response.start":
                if message["status"] != 413:  # a route that swallowed the exception answers nothing else
                    replaced = True
                    await self._refuse(scope, receive, send, 413, BodyTooLarge(limit).detail)
                    return
                message = {**message, "headers": [*message.get("headers", []), (b"connection", b"close")]}
            await send(message)

        await self.app(scope, counted, guarded_send)

    def _upload_denied(self, headers: Headers) -> str | None:
        """Why the upload's caller is not signed in, or None (the same credentials as
        :func:`qingshan.ledger.api.resolve_ctx`; the route checks the record's permissions later)."""
        scheme, _, token = headers.get("authorization", "").partition(" ")
        cookie = cookie_parser(headers.get("cookie", "")).get(SESSION_COOKIE)
        bearer = token.strip() if scheme.lower() == "bearer" and token.strip() else None
        if bearer is None and not cookie:
            return "上传文件须先登录"
        with self.ledger.sessionmaker() as session:
            if bearer is not None:
                return None if auth.user_for_token(session, bearer) is not None else "令牌无效或已过期"
            return None if auth.user_for_token(session, cookie) is not None else "登录已过期，请重新登录后上传"

    async def _refuse(self, scope: Scope, receive: Receive, send: Send, status: int, detail: str,
                      headers: dict[str, str] | None = None) -> None:
        """Answer before (the rest of) the body is read; the connection is closed after the answer, since the
        unread body cannot be told apart from a next request."""
        response = self.respond(Request(scope), status, detail, headers)
        response.headers["connection"] = "close"
        await response(scope, receive, send)


def classify(exc: Exception) -> tuple[int, str]:
    """Status and Chinese message for an exception no handler took."""
    if isinstance(exc, HTTPException):  # raised outside the routes' handlers (e.g. from a body read by a mount)
        return exc.status_code, str(exc.detail)
    if isinstance(exc, RecursionError):
        return 400, "请求内容嵌套层数过多，无法处理"
    if isinstance(exc, OverflowError | DataError):
        return 422, "请求中的数值超出允许范围"
    return 500, "服务器内部错误，已记录到服务器日志；请稍后重试或联系管理员"


class LastResort:
    """An exception that escaped every handler becomes a response (:func:`classify`) and is logged, so the server
    never drops a keep-alive connection for it (Starlette's outermost handler answers 500 but re-raises, and the
    server then closes the connection). A response that had already started cannot be replaced: re-raised."""

    def __init__(self, app: ASGIApp, *, respond: Responder) -> None:
        self.app, self.respond = app, respond

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = False

        async def watched(message: Message) -> None:
            nonlocal started
            started = started or message["type"] == "http.response.start"
            await send(message)

        try:
            await self.app(scope, receive, watched)
        except Exception as exc:
            if started:
                raise
            status, detail = classify(exc)
            if status >= 500:
                log.error("%s %s → 500", scope.get("method"), scope.get("path"), exc_info=exc)
            else:
                log.warning("%s %s → %d: %s: %s", scope.get("method"), scope.get("path"), status,
                            type(exc).__name__, str(exc)[:200])
            await self.respond(Request(scope), status, detail, None)(scope, receive, send)
