"""The platform's scheduler: hourly and daily tasks in the platform's event loop, and a registry for more.

A task is registered with :meth:`Scheduler.add` (name, period ``hourly`` or ``daily``, the minute past the hour
— and for daily tasks the hour — it runs at, and a function). The clock is one function (Beijing wall-clock
time; tests pass their own). Each run is recorded as a job of kind ``scheduled`` in the job records (name, state
``done``/``failed``, its result or error), so ``GET /api/v1/jobs?kind=scheduled`` shows the last runs and their
outcome. A task runs in a worker thread; a failing task is recorded and does not stop the others. Issue 14's
alarm rules register here.

A task due while the platform was down is not run late for every period missed: the first tick after start runs
each task once when its last recorded run is older than its period (catch-up), then on the schedule.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from .jobs import JobStore, utc_now

log = logging.getLogger("qingshan.platform.scheduler")
BEIJING = ZoneInfo("Asia/Shanghai")


def beijing_now() -> datetime:
    """The platform's clock: Beijing wall-clock time, naive (as the store labels its hours)."""
    return datetime.now(BEIJING).replace(tzinfo=None)


@dataclass
class Task:
    name: str
    period: str  # hourly | daily
    minute: int
    hour: int
    run: Callable[[], Any]  # returns a JSON-able result (or None)
    next_at: datetime | None = None

    def following(self, now: datetime) -> datetime:
        """The first scheduled time strictly after ``now``."""
        if self.period == "hourly":
            t = now.replace(minute=self.minute, second=0, microsecond=0)
            return t if t > now else t + timedelta(hours=1)
        t = now.replace(hour=self.hour, minute=self.minute, second=0, microsecond=0)
        return t if t > now else t + timedelta(days=1)

    @property
    def length(self) -> timedelta:
        return timedelta(hours=1) if self.period == "hourly" else timedelta(days=1)


class Scheduler:
    def __init__(self, jobs: JobStore, clock: Callable[[], datetime] = beijing_now, tick: float = 1.0) -> None:
        self.jobs = jobs
        self.clock = clock
        self.tick = tick
        self.tasks: dict[str, Task] = {}
        self._task: asyncio.Task[None] | None = None
        self._running: set[asyncio.Future[Any]] = set()  # task functions running in threads

    def add(self, name: str, period: str, run: Callable[[], Any], *, minute: int = 0, hour: int = 0) -> None:
        """Register ``run`` to run every hour at ``minute`` past, or every day at ``hour:minute``."""
        if period not in ("hourly", "daily"):
            raise ValueError(f"period must be hourly or daily, not {period!r}")
        if name in self.tasks:
            raise ValueError(f"a scheduled task {name!r} is registered already")
        self.tasks[name] = Task(name, period, minute, hour, run)

    def last_runs(self) -> dict[str, dict]:
        out: dict[str, dict] = {}
        for j in self.jobs.list("scheduled", limit=500):
            out.setdefault(j["name"], j)
        return out

    def start(self) -> None:
        now = self.clock()
        last = self.last_runs()
        for t in self.tasks.values():
            prev = last.get(t.name)
            overdue = prev is None or prev["params"].get("due") is None or \
                datetime.fromisoformat(prev["params"]["due"]) + t.length <= now
            t.next_at = now if overdue else t.following(now)
        self._task = asyncio.create_task(self._loop(), name="platform-scheduler")

    async def stop(self, wait: float = 120.0) -> None:
        """Stop scheduling; a task function already running in its thread is waited for (up to ``wait`` seconds):
        a thread cannot be cancelled, and it may hold the store, which the platform closes next."""
        if self._task is not None:
            self._task.cancel()
            try:
                await self._task
            except asyncio.CancelledError:
                pass
        if self._running:
            await asyncio.wait(set(self._running), timeout=wait)

    async def run_now(self, name: str) -> dict:
        """Run one task at once (tests, an administrator); returns its record."""
        return await self._run(self.tasks[name], self.clock())

    async def _loop(self) -> None:
        while True:
            now = self.clock()
            for t in list(self.tasks.values()):
                if t.next_at is not None and t.next_at <= now:
                    t.next_at = t.following(now)
                    await self._run(t, now)
            await asyncio.sleep(self.tick)

    async def _run(self, t: Task, due: datetime) -> dict:
        job = self.jobs.create("scheduled", t.name, {"period": t.period, "due": due.isoformat(timespec="seconds")},
                               "定时任务", state="running")
        self.jobs.update(job["id"], started=utc_now(), runs=1)
        fut = asyncio.get_running_loop().run_in_executor(None, t.run)
        self._running.add(fut)
        fut.add_done_callback(self._running.discard)
        try:
            result = await asyncio.shield(fut)
        except asyncio.CancelledError:
            self.jobs.update(job["id"], state="failed", finished=utc_now(), error="平台停止，任务中断")
            raise
        except Exception as e:  # recorded; the scheduler goes on
            log.exception("定时任务 %s 失败", t.name)
            self.jobs.update(job["id"], state="failed", finished=utc_now(), error=" ".join(str(e).split())[:500])
        else:
            self.jobs.update(job["id"], state="done", finished=utc_now(), result=result)
        rec = self.jobs.get(job["id"])
        assert rec is not None
        return rec
