"""The FastAPI application of the ledger: :func:`create_app` (``qingshan serve`` will mount the same routers).

``create_app(workspace)`` opens (and migrates) the workspace's ledger — ``<workspace>/ledger.sqlite`` or the URL
in ``QINGSHAN_LEDGER_URL`` — and mounts ``/api/v1/auth/...`` and ``/api/v1/ledger/...``; the OpenAPI schema is at
``/api/v1/openapi.json`` and the interactive docs at ``/api/v1/docs``. Attachments live in
``<workspace>/ledger-files``, which no route serves directly.
"""

from __future__ import annotations

import datetime as dt
import os
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

from fastapi import FastAPI
from fastapi.responses import JSONResponse
from starlette.types import ASGIApp, Receive, Scope, Send

from .api import API_PREFIX, auth_router, install_error_handlers, router
from .db import Ledger, open_ledger
from .files import FileStore
from .throttle import LoginThrottle


def create_app(workspace: str | os.PathLike[str], *, url: str | None = None, max_upload_bytes: int | None = None,
               max_request_bytes: int | None = None, today: dt.date | None = None) -> FastAPI:
    """The ledger API for ``workspace``.

    ``max_upload_bytes``: per file (default 20 MiB or ``QINGSHAN_LEDGER_MAX_UPLOAD``); ``max_request_bytes``: per
    request body (default five files' worth + 1 MiB); ``today`` pins the date used for deadlines (tests, replays).
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
                 max_request_bytes: int | None = None, today: dt.date | None = None) -> None:
    """Mount the ledger on ``app``: its state (ledger, file store, pinned date), error handlers, the request-size
    limit and the ``/api/v1/auth`` and ``/api/v1/ledger`` routers. Shared by :func:`create_app` and the console
    (:func:`qingshan.web.app.create_console_app`); the caller owns ``ledger`` and disposes of it."""
    app.state.ledger = ledger
    app.state.files = FileStore(ledger.files_dir, max_upload_bytes)
    app.state.today = today
    app.state.login_throttle = LoginThrottle()
    install_error_handlers(app)
    limit = max_request_bytes or 5 * app.state.files.max_bytes + 1024 * 1024

    app.add_middleware(RefuseOversized, limit=limit)

    app.include_router(auth_router)
    app.include_router(router)


class RefuseOversized:
    """Refuse a body announced larger than ``limit`` bytes before it is read (a reverse proxy should cap it too).

    A plain ASGI middleware: ``@app.middleware("http")`` would add a task group and a stream to every request.
    """

    def __init__(self, app: ASGIApp, limit: int) -> None:
        self.app, self.limit = app, limit

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http":
            length = dict(scope["headers"]).get(b"content-length", b"")
            if length.isdigit() and int(length) > self.limit:
                response = JSONResponse({"detail": f"请求体超过上限 {self.limit // (1024 * 1024)} MiB"}, status_code=413)
                await response(scope, receive, send)
                return
        await self.app(scope, receive, send)
