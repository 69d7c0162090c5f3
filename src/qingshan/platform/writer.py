"""The store writer: the one thread of the platform that writes the measurement store.

DuckDB allows one writing process per file; inside the platform process, every write — import jobs, the HJ 212
loader, later review marks — runs on this single thread (:attr:`StoreWriter.executor`), one after another, on
its own cursor of the connection the console reads through (requests read through cursors of their own, as
before). After each write the console's store state is marked stale, so its fingerprint is re-read and cached
results are recomputed (:meth:`qingshan.web.store.MeasurementStore.invalidate`).
"""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from pathlib import Path
from typing import Any, TypeVar

import duckdb

from ..store.workspace import Workspace

T = TypeVar("T")


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

    def _workspace(self) -> SharedWorkspace:
        if self._ws is None:
            self._ws = SharedWorkspace(self.workspace, self.con.cursor())
            self._thread = threading.current_thread()
        return self._ws

    def _run(self, fn: Callable[[Workspace], T]) -> T:
        try:
            return fn(self._workspace())
        finally:
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
        """For writers that run on the executor by themselves (the HJ 212 loader): mark the store changed."""
        self.on_write()
