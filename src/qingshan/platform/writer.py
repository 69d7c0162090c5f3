"""The store writer: the one thread of the platform that writes the measurement store.

DuckDB allows one writing process per file; inside the platform process, every write — import jobs, the HJ 212
loader, later review marks — runs on this single thread (:attr:`StoreWriter.executor`), one after another, on
its own cursor of the connection the console reads through (requests read through cursors of their own, as
before). After each write the console's store state is read again on the writer thread
(:meth:`qingshan.web.store.MeasurementStore.reload`), so requests find it ready and cached results are recomputed.

**The evaluation cache.** The store notes the station-days every write to ``air_hourly`` and every review mark
touches (:mod:`qingshan.store.eval_cache`); after each job, and after each HJ 212 load, the writer recomputes them
(:func:`qingshan.evaluate.incremental.refresh`) before the console is told, so the cached daily values, month
blocks and month/year to date equal a full evaluation whenever a reader looks. At start it catches up what was
written while no platform ran (a ``qingshan import`` from the command line). Should a refresh fail, the cache is
dropped (the next use rebuilds it) rather than left stale.
"""

from __future__ import annotations

import asyncio
import logging
import threading
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from pathlib import Path
from typing import Any, TypeVar

import duckdb

from ..evaluate import incremental
from ..store import eval_cache
from ..store.workspace import Workspace

T = TypeVar("T")
log = logging.getLogger("qingshan.platform.writer")


class SharedWorkspace(Workspace):
    """A :class:`~qingshan.store.workspace.Workspace` on a cursor of an open connection (the store is already
    open and migrated by the platform; closing it closes only the cursor)."""

    def __init__(self, path: Path, con: duckdb.DuckDBPyConnection) -> None:  # noqa: D107 - no super(): no open
        self.path = Path(path)
        self.con = con


class StoreWriter:
    """A single-thread executor owning the write cursor of the store."""

    def __init__(self, workspace: Path, con: duckdb.DuckDBPyConnection,
                 on_write: Callable[[], None] | None = None) -> None:
        self.workspace = Path(workspace)
        self.con = con  # the platform's connection: the HJ 212 receiver takes its own cursor of it, on this thread
        self.executor = ThreadPoolExecutor(1, thread_name_prefix="store-writer")
        self.on_write = on_write or (lambda: None)
        self._ws: SharedWorkspace | None = None
        self._thread: threading.Thread | None = None
        self.executor.submit(self._refresh_and_notify)  # what was written while no platform ran

    def _workspace(self) -> SharedWorkspace:
        if self._ws is None:
            self._ws = SharedWorkspace(self.workspace, self.con.cursor())
            self._thread = threading.current_thread()
        return self._ws

    def _run(self, fn: Callable[[Workspace], T]) -> T:
        try:
            return fn(self._workspace())
        finally:
            self.refresh_cache()
            self.on_write()

    def refresh_cache(self) -> None:
        """On the writer thread: recompute the evaluation cache's noted station-days; drop the cache if that fails
        (never leave it stale)."""
        con = self._workspace().con
        try:
            incremental.refresh(con)
        except Exception:  # noqa: BLE001 - the write itself succeeded; the cache is derived
            log.exception("evaluation cache refresh failed; the cache is dropped and rebuilt on next use")
            try:
                con.execute("ROLLBACK")
            except Exception:  # noqa: BLE001 - no transaction open
                pass
            eval_cache.clear(con)

    def _refresh_and_notify(self) -> None:
        if eval_cache.has_pending(self._workspace().con):
            self.refresh_cache()
            self.on_write()

    def submit(self, fn: Callable[[Workspace], T]) -> Future[T]:
        """Run ``fn(workspace)`` on the writer thread."""
        return self.executor.submit(self._run, fn)

    async def run(self, fn: Callable[[Workspace], T]) -> T:
        return await asyncio.wrap_future(self.submit(fn))

    def shutdown(self) -> None:
        def close() -> None:
            if self._ws is not None:
                self._ws.con.close()
                self._ws = None

        self.executor.submit(close).result()
        self.executor.shutdown(wait=True)

    def notify(self, *_: Any) -> None:
        """For writers that run on the executor by themselves (the HJ 212 loader and its quality feed): mark the
        store changed, and recompute the evaluation cache's noted days on the writer right after."""
        self.on_write()
        try:
            self.executor.submit(self._refresh_and_notify)
        except RuntimeError:  # shutting down: the next start catches up
            pass
