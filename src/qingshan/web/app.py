"""The console application: :func:`create_console_app` (``qingshan serve`` runs it with uvicorn, :mod:`.serve`).

One FastAPI app holds

* the ledger API (``/api/v1/auth``, ``/api/v1/ledger``), mounted by :func:`qingshan.ledger.app.mount_ledger`
  exactly as the stand-alone ledger app does;
* the measurement and target API (``/api/v1/overview``, ``/api/v1/air/…``, ``/api/v1/water/…``,
  ``/api/v1/targets``; :mod:`.api`), described in the OpenAPI schema at ``/api/v1/openapi.json``;
* the pages (:mod:`.pages`) and ``/static/`` (our CSS and JS; the Vega bundle at ``/static/vendor/vega-bundle.js``,
  built from the vl-convert wheel on first use and cached on disk).

The workspace's DuckDB file is opened once, here (:class:`.store.MeasurementStore`); the ledger database is
opened (and migrated) as by the ledger app. Interactive API docs are not served: Swagger UI loads its files from a
CDN and bureau networks are offline; the schema itself is.
"""

from __future__ import annotations

import logging
import os
import threading
from collections.abc import AsyncIterator, Callable
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from datetime import date, datetime
from functools import lru_cache
from pathlib import Path

from fastapi import FastAPI, Request, Response
from fastapi.concurrency import run_in_threadpool
from fastapi.staticfiles import StaticFiles
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from ..ledger.api import API_PREFIX
from ..ledger.app import mount_ledger
from ..ledger.db import open_ledger
from . import api, pages
from .api import alerts as alerts_api
from .api import jobs as jobs_api
from .api.events import mount_events
from .api.response import ConsoleJSON
from .cache import ResultCache
from .compressed import cached_response, etag_of
from .console import Console
from .errors import document_errors, error_page, install_console_errors
from .pages import imports as imports_page
from .security import csrf_valid, load_secret
from .store import MeasurementStore

log = logging.getLogger(__name__)

STATIC = Path(__file__).resolve().parent / "static"
BUNDLE_ROUTE = "/static/vendor/vega-bundle.js"

#: Vega compiles expressions with ``new Function``, hence ``'unsafe-eval'``; inline ``style`` attributes colour the
#: AQI cards. Everything else must come from this server: the policy also stops any page from reaching the network.
CSP = ("default-src 'self'; script-src 'self' 'unsafe-eval'; style-src 'self' 'unsafe-inline'; "
       "img-src 'self' data:; connect-src 'self'; font-src 'self'; frame-ancestors 'none'; form-action 'self'; "
       "base-uri 'self'")


def create_console_app(workspace: str | os.PathLike[str], *, today: date | None = None, as_of: datetime | None = None,
                       url: str | None = None, state_ttl: float = 2.0, secure_cookies: bool = False,
                       bundle_cache_dir: Path | None = None, warm: bool = True,
                       max_upload_bytes: int | None = None,
                       services: Callable[[FastAPI], AbstractAsyncContextManager[None]] | None = None) -> FastAPI:
    """The console for ``workspace``.

    ``today`` pins the ledger's date (deadlines); ``as_of`` pins "now" of the measurements (default: the latest
    stored hour); ``url`` is the ledger database (default as :func:`qingshan.ledger.db.open_ledger`);
    ``state_ttl`` how often (seconds) the store's fingerprint is re-read; ``secure_cookies`` marks the session
    cookie Secure (serve over HTTPS); ``warm`` computes the overview and the Vega bundle in the background at
    start-up, so the first visitor does not wait for them; ``services(app)`` is entered once the store is open
    and left before it closes (``qingshan serve`` runs the job queue, the scheduler and the HJ 212 receiver in
    it; they put the job service on ``app.state.jobs``, which the ``/api/v1/jobs`` endpoints and ``/imports``
    need).
    """
    ws = Path(workspace)
    store = MeasurementStore(ws, as_of=as_of, state_ttl=state_ttl)  # first: fails clearly if another process holds it
    ledger = open_ledger(ws, url)
    secret = load_secret(ws)
    console = Console(ws, store, ResultCache(), ledger, secret, today)
    warmer: list[threading.Thread] = []

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        if warm:
            t = threading.Thread(target=_warm, args=(console, bundle_cache_dir), name="qingshan-warm", daemon=True)
            t.start()
            warmer.append(t)
        if services is None:
            yield
        else:
            async with services(app):
                yield
        await app.state.events.stop()  # no state read of the event streams may run into store.close()
        for t in warmer:
            t.join(timeout=30)
        ledger.dispose()
        store.close()

    app = FastAPI(
        title="青山 · 生态环境业务平台 API",
        version="1",
        description="环境空气、地表水、年度目标与治理台账。浏览器页面使用 Cookie 会话（写操作带 X-CSRF-Token），"
                    "程序调用使用令牌：POST /api/v1/auth/token，然后 Authorization: Bearer <token>。详见 docs/console.md。",
        openapi_url=f"{API_PREFIX}/openapi.json",
        docs_url=None,
        redoc_url=None,
        lifespan=lifespan,
        default_response_class=ConsoleJSON,  # JSON never carries a non-finite number (.api.response)
    )
    mount_ledger(app, ledger, today=today, max_upload_bytes=max_upload_bytes, sign_in_paths=("/login",),
                 respond=error_page)
    app.state.console = console
    app.state.secure_cookies = secure_cookies
    app.state.jobs = None  # the platform's job service (``services``)
    app.state.csrf_verify = lambda session_token, supplied: csrf_valid(secret, session_token, supplied)
    for r in api.ROUTERS:
        app.include_router(r)
    app.include_router(alerts_api.router)  # issue 14: the cause note
    for r in pages.ROUTERS:
        app.include_router(r)
    if services is not None:  # the job queue and the upload page exist only in the platform process
        app.include_router(jobs_api.router)
        app.include_router(imports_page.router)
    app.state.platform = services is not None
    mount_events(app, console)  # GET /api/v1/events (server-sent events on store changes)

    @app.get(BUNDLE_ROUTE, include_in_schema=False)
    async def vega_bundle(request: Request) -> Response:
        from ..charts.render import bundle_path

        path = await run_in_threadpool(bundle_path, bundle_cache_dir)
        body, tag = await run_in_threadpool(_bundle_bytes, path)
        return cached_response(request, body, "text/javascript; charset=utf-8", tag)

    app.mount("/static", StaticFiles(directory=STATIC), name="static")
    install_console_errors(app)
    document_errors(app)

    app.add_middleware(SecurityHeaders)

    return app


class SecurityHeaders:
    """nosniff, same-origin referrer, no framing, and the CSP on HTML pages — added to every response.

    A plain ASGI middleware (cheaper per request than ``@app.middleware("http")``)."""

    FIXED = ((b"x-content-type-options", b"nosniff"), (b"referrer-policy", b"same-origin"),
             (b"x-frame-options", b"DENY"))

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = list(message.get("headers", []))
                present = {k.lower() for k, _ in headers}
                headers += [(k, v) for k, v in self.FIXED if k not in present]
                ctype = next((v for k, v in headers if k.lower() == b"content-type"), b"")
                if ctype.startswith(b"text/html") and b"content-security-policy" not in present:
                    headers.append((b"content-security-policy", CSP.encode()))
                message = {**message, "headers": headers}
            await send(message)

        await self.app(scope, receive, send_with_headers)


@lru_cache(maxsize=2)
def _bundle_bytes(path: Path) -> tuple[bytes, str]:
    """The bundle's bytes and ETag (its file name carries the versions; read once per process)."""
    body = path.read_bytes()
    return body, etag_of(body)


def _warm(console: Console, bundle_cache_dir: Path | None) -> None:
    """Fill the caches of the default city's overview panels and build the Vega bundle (errors only logged)."""
    try:
        from ..charts.render import bundle_path

        bundle_path(bundle_cache_dir)
    except Exception:
        log.exception("console: building the Vega bundle failed")
    warm_overview(console)
    from ..charts.geo import city_boundaries
    from .data.air_now import air_now
    from .data.common import DataNotFound

    try:
        city_boundaries(air_now(console)["city"])  # the map's boundaries: ~3 s to read from the package
    except DataNotFound:
        pass
    except Exception:
        log.exception("console: reading the map boundaries failed")
    warm_tables(console)


def warm_tables(console: Console) -> None:
    """The default ranking and evaluation with their 同比/环比 periods (four evaluations on a cold cache): the first
    visitor of those pages does not wait for them (errors only logged)."""
    from .data.air_eval import evaluation, ranking
    from .data.common import DataNotFound

    try:
        ranking(console)
        evaluation(console)
    except DataNotFound:
        pass
    except Exception:
        log.exception("console: warming the ranking and evaluation failed")


def warm_overview(console: Console) -> None:
    """Fill the caches of the default city's overview panels for the store's current state (errors only logged;
    the platform's scheduler calls this after new data)."""
    from .data.air_now import air_now
    from .data.common import DataNotFound
    from .data.targets import targets
    from .data.water import water_summary

    try:
        now = air_now(console)
        water_summary(console)
        try:
            targets(console, now["city"])
        except DataNotFound:
            pass
    except DataNotFound:
        pass
    except Exception:
        log.exception("console: warming the overview failed")
