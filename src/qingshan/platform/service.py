"""``qingshan serve``: the one platform process (docs/deployment.md).

One process, one event loop: the console and REST API (uvicorn), the HJ 212 receiver (``--hj212-port``, off by
default), the job queue (:mod:`.jobs`) and the scheduler (:mod:`.scheduler`). The measurement store is opened
once, by the console; every write runs on the single store-writer thread (:mod:`.writer`) — import jobs and the
HJ 212 loader — while requests read through cursors. The workspace's lock file (:mod:`.lock`) keeps a second
platform away and tells writing commands where to hand their work.

Start-up order: lock → store (a store held by another process fails here) → job records, writer, queue (jobs a
crash cut off are queued again) → HJ 212 receiver (its write-ahead log is replayed in the background) →
scheduler → HTTP port bound → lock file names the port. Shutdown (Ctrl+C, SIGTERM) runs it backwards: the HJ 212
receiver flushes its log into the store, the job running on the writer finishes, the store is closed.
"""

from __future__ import annotations

import asyncio
import functools
import logging
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

from ..web.api.reports import build_report_file
from .jobs import JobQueue
from .lock import PlatformLock
from .scheduler import Scheduler, beijing_now
from .writer import StoreWriter

log = logging.getLogger("qingshan.platform")

DRAFTS_DIR = "drafts"
#: With the HJ 212 receiver the console may answer from a result at most this old (seconds) while the new store
#: state's is computed (:meth:`qingshan.web.console.Console.cached`).
LIVE_STALE_S = 30.0


@dataclass
class PlatformOptions:
    """What ``qingshan serve`` was asked for."""

    host: str = "127.0.0.1"
    port: int = 8000
    secure_cookies: bool = False
    limits: Any = None  # qingshan.web.serve.ServeLimits
    hj212_port: int | None = None  # None: no receiver
    hj212_host: str = "0.0.0.0"
    devices: Path | None = None
    accept_unknown: bool = False
    hj212_fsync: bool = True
    log_level: str = "warning"
    clock: Callable[[], datetime] = field(default=beijing_now)
    on_ready: Callable[[str, int | None], None] | None = None  # (console URL, HJ 212 port) once serving


class Platform:
    """The services that run beside the console in its lifespan (``create_console_app(services=…)``)."""

    def __init__(self, workspace: Path, token: str, options: PlatformOptions) -> None:
        self.workspace = Path(workspace)
        self.token = token
        self.options = options
        self.queue: JobQueue | None = None
        self.scheduler: Scheduler | None = None
        self.hj212: Any = None
        self.writer: StoreWriter | None = None
        self._trailing_feed: asyncio.Task[None] | None = None
        self._feed: Any = None  # qingshan.feeds.quality.QualityFeed with the receiver

    @asynccontextmanager
    async def services(self, app: Any) -> AsyncIterator[None]:
        console = app.state.console
        store = console.store
        self.writer = writer = StoreWriter(self.workspace, store.con, on_write=store.reload)
        self.queue = queue = JobQueue(self.workspace, writer, self.token)
        queue.report_builder = functools.partial(build_report_file, console)  # the 报告 page's builds
        hj = None
        scheduler = None
        try:
            await queue.start()
            app.state.jobs = queue
            if self.options.hj212_port is not None:
                console.stale_for = LIVE_STALE_S  # live traffic: answer from the previous state while recomputing
                hj = await self._start_hj212(store.con, writer)
            self.scheduler = scheduler = Scheduler(queue.jobs, self.options.clock)
            register_default_tasks(scheduler, console, self.workspace, writer)
            scheduler.start()
            yield
        finally:
            if scheduler is not None:
                await scheduler.stop()
            if self._trailing_feed is not None:
                self._trailing_feed.cancel()
            if hj is not None:
                await hj.stop()  # flushes its log into the store through the writer
                feed = self._feed
                if feed is not None and feed.behind:  # the last loads' hours, so a restart finds them fed
                    await writer.run(lambda ws: feed.flush(ws.con))
            await queue.stop()
            writer.shutdown()  # waits for the job the writer is running
            queue.close()
            app.state.jobs = None

    async def _start_hj212(self, con: Any, writer: StoreWriter) -> Any:
        from ..feeds.quality import after_load_hook
        from ..hj212.config import ServerConfig
        from ..hj212.server import Hj212Server

        o = self.options
        cfg = ServerConfig(workspace=self.workspace, host=o.hj212_host, port=int(o.hj212_port or 0),
                           devices_file=o.devices, accept_unknown=o.accept_unknown, fsync=o.hj212_fsync,
                           db_memory_limit=None, stats_interval=0)
        # the quality feed after each load (at most every 2 s: queued hours wait in the store, nothing is lost), then
        # the console's state is re-read so new hours reach the pages and their event stream at once
        self._feed = feed = after_load_hook(every=2.0)
        # what a crash left queued is fed soon after start (in the background, like the receiver's log replay), not
        # at the next packet, which may never come
        feed.behind = True

        def after_load(c: Any, res: Any) -> None:
            feed(c, res)
            writer.notify()

        self.hj212 = hj = Hj212Server(cfg, connection=con, executor=writer.executor, after_load=after_load)
        await hj.start()
        self._trailing_feed = asyncio.create_task(self._feed_when_due(feed, writer))
        return hj

    @staticmethod
    async def _feed_when_due(feed: Any, writer: StoreWriter) -> None:
        """The throttled feed's trailing edge: the hours of the last loads of a burst are fed once the window has
        passed, without waiting for another packet."""
        while True:
            await asyncio.sleep(feed.every / 4)
            if feed.due():
                await writer.run(lambda ws: feed.flush(ws.con) if feed.due() else None)


def register_default_tasks(scheduler: Scheduler, console: Any, workspace: Path,
                           writer: StoreWriter | None = None) -> None:
    """The platform's own scheduled tasks: the overview's caches warmed each hour after the new hour has landed,
    the alarm rules over the last 24 hours (docs/alerts.md; on the store writer, they write the alarms table), the
    escalation of overdue dispatch events (docs/ledger.md), and a draft of the monthly ranking report
    (reports/monthly) each morning into ``<workspace>/drafts/``."""
    scheduler.add("overview-warm-up", "hourly", lambda: warm_up(console), minute=2)
    if writer is not None:
        scheduler.add("alarm-rules", "hourly", lambda: alarm_rules(console, workspace, writer), minute=5)
    scheduler.add("dispatch-escalation", "hourly", lambda: escalate_events(console), minute=7)
    scheduler.add("monthly-report-draft", "daily", lambda: monthly_draft(console, workspace), hour=6, minute=10)


def alarm_rules(console: Any, workspace: Path, writer: StoreWriter) -> dict[str, Any]:
    """Run the alarm rules over the 24 hours ending at the store's latest hour, on the writer thread."""
    from ..alerts.run import run_alarm_rules
    from ..store.read import hour_range

    def run(con: Any) -> dict[str, Any]:
        last = hour_range(con)[1]
        if last is None:
            return {"skipped": "测量库中还没有小时数据"}
        r = run_alarm_rules(con, int(last), 24, workspace=workspace, actor="调度程序")
        return {"window": list(r.window), "rules": r.rules_version, "new": r.new, "extended": r.extended,
                "unchanged": r.unchanged}

    return writer.submit(lambda ws: run(ws.con)).result()


def escalate_events(console: Any) -> dict[str, Any]:
    """Escalate the dispatch events whose units did not answer in time (idempotent)."""
    from ..ledger.dispatch import escalate_overdue

    with console.ledger.session() as s:  # committed on success
        codes = [e.code for e in escalate_overdue(s)]
    return {"escalated": codes}


def warm_up(console: Any) -> dict[str, Any]:
    from ..web.app import warm_overview

    state = console.store.state()
    warm_overview(console)
    return {"as_of": state.as_of.isoformat() if state.as_of else None}


def monthly_draft(console: Any, workspace: Path) -> dict[str, Any]:
    """The monthly report of the store's current month for the main city, as .docx in ``drafts/``."""
    from ..reports.monthly import build_monthly
    from ..reports.output import write_report
    from ..web.data.common import resolve_city

    state = console.store.state()
    if state.today is None:
        return {"skipped": "测量库中还没有小时数据"}
    city = resolve_city(console, state, None)
    month = f"{state.today:%Y-%m}"
    with console.store.cursor() as cur:
        doc = build_monthly(cur, city, month)
    folder = workspace / DRAFTS_DIR
    folder.mkdir(mode=0o700, exist_ok=True)
    path = write_report(doc, folder / f"{city}{month}空气质量排名通报（草稿）", ("docx",))[0]
    return {"file": str(path), "city": city, "month": month}


def run_platform(workspace: Path, options: PlatformOptions) -> None:
    """Run the platform on ``workspace`` until interrupted. :class:`.lock.PlatformRunning` when another runs;
    :class:`qingshan.web.store.StoreBusy` when another process holds the store."""
    lock = PlatformLock(workspace)
    lock.acquire()
    try:
        asyncio.run(_serve(workspace, lock, options))
    finally:
        lock.release()


async def _serve(workspace: Path, lock: PlatformLock, options: PlatformOptions) -> None:
    import uvicorn

    from ..web.app import create_console_app
    from ..web.serve import server_config

    platform = Platform(workspace, lock.token, options)
    app = create_console_app(workspace, secure_cookies=options.secure_cookies, services=platform.services)
    server = uvicorn.Server(server_config(app, options.host, options.port, limits=options.limits,
                                         log_level=options.log_level))
    task = asyncio.create_task(server.serve(), name="uvicorn")
    while not server.started:
        if task.done():  # start-up failed (port in use, a service raised): its exception is raised here
            await task
            return
        await asyncio.sleep(0.05)
    port = server.servers[0].sockets[0].getsockname()[1]
    hj_port = platform.hj212.port if platform.hj212 is not None else None
    lock.publish(options.host, port, hj212_port=hj_port)
    if options.on_ready is not None:
        options.on_ready(f"http://{options.host}:{port}/", hj_port)
    await task
