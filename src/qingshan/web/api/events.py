"""``GET /api/v1/events`` — server-sent events: one ``state`` event whenever the store changes
(docs/console.md#实时更新与数据获取率).

One :class:`EventHub` per app polls :meth:`qingshan.web.store.MeasurementStore.state` (itself re-read at most every
``state_ttl`` seconds) once per ``poll`` seconds while anybody listens, and wakes every subscriber when the
*version* — the store's fingerprint, its as-of hour and the hour of the console's clock
(:mod:`qingshan.web.clock`) — changes. Every stream starts with the current state (so a page compares it with the
version it was rendered with and catches a change it missed), then sends an event per change and a comment line
every ``heartbeat`` seconds (proxies and the browser keep the connection; a dead client is noticed).

The number of open streams is bounded (``max_subscribers``; one more is answered 503 with ``Retry-After``). The
streams end when the server stops: uvicorn waits for open responses before it shuts down, so the hub watches the
uvicorn server's ``should_exit`` (found through the signal handler uvicorn installs) and :meth:`EventHub.close`
ends every stream at once for an embedding that stops the server otherwise.
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import logging
import signal
from collections.abc import AsyncIterator
from typing import Any

from fastapi import APIRouter, FastAPI, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import JSONResponse, StreamingResponse

from ...ledger.api import API_PREFIX
from ..console import Console
from ..data.capture import console_clock
from ..store import hour_time

log = logging.getLogger(__name__)

router = APIRouter(prefix=API_PREFIX, tags=["总览"])

#: What the browser waits before reconnecting after a dropped stream (EventSource ``retry``), milliseconds.
RETRY_MS = 5000


def _server_exiting() -> bool:
    """Has the uvicorn server of this process been asked to stop? (Its SIGINT/SIGTERM handler is a bound method
    of the server; in a thread other than the main one uvicorn installs none and this says False.)"""
    for sig in (signal.SIGTERM, signal.SIGINT):
        server = getattr(signal.getsignal(sig), "__self__", None)
        if server is not None and getattr(server, "should_exit", False) is True:
            return True
    return False


class EventHub:
    """The app's change signal (module docstring)."""

    def __init__(self, console: Console, *, max_subscribers: int = 200, poll: float = 1.0,
                 heartbeat: float = 15.0) -> None:
        self.console = console
        self.max_subscribers = max_subscribers
        self.poll = poll
        self.heartbeat = heartbeat
        self.subscribers = 0
        self.closing = False
        self._latest: dict[str, Any] | None = None
        self._changed: asyncio.Event | None = None
        self._poller: asyncio.Task[None] | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._stopping: asyncio.Event | None = None  # interrupts the poller's sleep

    def snapshot(self) -> dict[str, Any]:
        """The current state event: ``version`` plus the as-of hour and the clock (blocking: runs a query)."""
        st = self.console.store.state()
        clock = console_clock(self.console, st)
        key = repr((st.fingerprint, st.as_of_hi, clock.now_hi if clock else None))
        return {"version": hashlib.sha256(key.encode()).hexdigest()[:16],
                "as_of": hour_time(st.as_of_hi).isoformat() if st.as_of_hi is not None else None,
                "clock": clock.now.isoformat() if clock else None, "live": bool(clock and clock.live)}

    def close(self) -> None:
        """End every open stream (and refuse new ones); callable from any thread."""
        self.closing = True
        loop = self._loop
        events = [e for e in (self._changed, self._stopping) if e is not None]
        try:
            running = asyncio.get_running_loop()
        except RuntimeError:
            running = None
        for ev in events:
            if loop is None or running is loop:
                ev.set()
            else:
                try:
                    loop.call_soon_threadsafe(ev.set)
                except RuntimeError:  # that loop is closed: nothing waits on it
                    pass

    async def stop(self) -> None:
        """:meth:`close`, then wait until the poller has finished its last state read — call it before the store
        is closed (the console's lifespan does)."""
        self.close()
        task = self._poller
        if task is not None and not task.done() and self._loop is asyncio.get_running_loop():
            try:
                await asyncio.wait_for(asyncio.shield(task), timeout=30)
            except asyncio.TimeoutError:
                log.warning("实时推送：等待状态轮询结束超时")

    async def _poll(self) -> None:
        try:
            while self.subscribers > 0 and not self.closing:
                assert self._stopping is not None
                try:
                    await asyncio.wait_for(self._stopping.wait(), timeout=self.poll)
                    break  # closing
                except asyncio.TimeoutError:
                    pass
                if _server_exiting():
                    self.close()
                    break
                try:
                    snap = await run_in_threadpool(self.snapshot)
                except Exception:  # the store closing under a last stream at shutdown, a busy file …
                    log.warning("实时推送：读取测量库状态失败，稍后重试", exc_info=True)
                    continue
                if self._latest is None or snap["version"] != self._latest["version"]:
                    self._latest = snap
                    self._wake()
        finally:
            self._poller = None

    def _wake(self) -> None:
        ev, self._changed = self._changed, asyncio.Event()
        if ev is not None:
            ev.set()

    async def stream(self, first: dict[str, Any]) -> AsyncIterator[str]:
        """One subscriber's stream (counted in ``subscribers`` by :class:`_CountedStream`)."""
        loop = asyncio.get_running_loop()
        if self._loop is not loop:  # the app served again by a new event loop (tests): its objects are stale
            self._loop, self._changed, self._poller, self._stopping = loop, None, None, asyncio.Event()
        if self._latest is None or first["version"] != self._latest["version"]:
            self._latest = first
            self._wake()
        if self._changed is None:
            self._changed = asyncio.Event()
        if self._poller is None or self._poller.done():
            self._poller = asyncio.create_task(self._poll())
        sent = first["version"]
        yield f"retry: {RETRY_MS}\n" + _event(first)
        while not self.closing:
            # Compare before waiting: a change that landed while this stream was suspended in ``yield`` (its
            # wake-up event already replaced) is sent now rather than missed.
            latest = self._latest
            if latest is not None and latest["version"] != sent:
                sent = latest["version"]
                yield _event(latest)
                continue
            changed = self._changed
            assert changed is not None
            try:
                await asyncio.wait_for(changed.wait(), timeout=self.heartbeat)
            except asyncio.TimeoutError:
                yield ": 心跳\n\n"


class _CountedStream(StreamingResponse):
    """A stream that gives its subscriber slot back however it ends (even if its body never started)."""

    def __init__(self, hub: EventHub, first: dict[str, Any]) -> None:
        super().__init__(hub.stream(first), media_type="text/event-stream",
                         headers={"Cache-Control": "no-store", "X-Accel-Buffering": "no"})
        self.hub = hub

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        try:
            await super().__call__(scope, receive, send)
        finally:
            self.hub.subscribers -= 1


def _event(snap: dict[str, Any]) -> str:
    return f"id: {snap['version']}\nevent: state\ndata: {json.dumps(snap, ensure_ascii=False)}\n\n"


def get_hub(request: Request) -> EventHub:
    return request.app.state.events


@router.get("/events", summary="服务器推送事件（text/event-stream）：测量库有新数据时推送一次 state 事件",
            description="连接后先推送当前状态（version、数据截至 as_of、时钟 clock），此后每当测量库变化推送一次；"
                        "约每 15 秒一行注释作为心跳。同时连接数有上限，超出时返回 503。",
            response_class=StreamingResponse,
            responses={200: {"content": {"text/event-stream": {}}}, 503: {"description": "连接数已达上限"}})
async def events(request: Request) -> Any:
    hub = get_hub(request)
    if hub.closing:
        return JSONResponse({"detail": "服务正在停止"}, status_code=503, headers={"Retry-After": "5"})
    if hub.subscribers >= hub.max_subscribers:
        return JSONResponse({"detail": f"实时推送连接数已达上限（{hub.max_subscribers}），请稍后重试或刷新页面"},
                            status_code=503, headers={"Retry-After": "60"})
    hub.subscribers += 1
    try:
        first = await run_in_threadpool(hub.snapshot)
    except BaseException:
        hub.subscribers -= 1
        raise
    return _CountedStream(hub, first)


def mount_events(app: FastAPI, console: Console, **options: Any) -> EventHub:
    """Add ``GET /api/v1/events`` to ``app`` with its :class:`EventHub` (``app.state.events``)."""
    hub = EventHub(console, **options)
    app.state.events = hub
    app.include_router(router)
    return hub
