"""The console's handle on the measurement store: one DuckDB connection owned by the server process.

DuckDB has a single writer per file (docs/design.md#duckdb-one-writer), so the server opens the workspace once and every request
works on its own ``con.cursor()`` (a connection to the same database, safe to use in the request's thread).

**State.** :meth:`MeasurementStore.state` returns a :class:`StoreState`: a fingerprint of what is stored (last
import id, row counts and last hour of ``air_hourly``, water rows, HJ 212 alerts) and the "now" of the console —
the latest stored hour (demo data are a past year) unless pinned by ``as_of``. The fingerprint keys every cached
evaluation, so an import makes the next request recompute; it is re-read at most every ``state_ttl`` seconds, so
a cached request costs no query at all.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import duckdb

from ..errors import QingshanError
from ..evaluate.periods import EPOCH, day_date
from ..store.read import store_counts
from ..store.review import review_version
from ..store.water import ensure_schema as ensure_water_schema
from ..store.workspace import Workspace

BEIJING = ZoneInfo("Asia/Shanghai")
_EPOCH_DT = datetime(EPOCH.year, EPOCH.month, EPOCH.day)


def hour_index(t: datetime) -> int:
    """``hi`` of a datetime (naive = Beijing wall-clock time; aware ones are converted), floored to the hour."""
    if t.tzinfo is not None:
        t = t.astimezone(BEIJING).replace(tzinfo=None)
    return int((t - _EPOCH_DT) // timedelta(hours=1))


def hour_time(hi: int) -> datetime:
    """The naive Beijing datetime labelling hour ``hi`` (hour-ending: 16:00 = 15:00–16:00)."""
    return _EPOCH_DT + timedelta(hours=int(hi))


def hour_day(hi: int) -> date:
    """The natural day an hour belongs to (D 01:00 … D+1 00:00)."""
    return day_date((int(hi) - 1) // 24)


def last_complete_day(hi: int) -> date:
    """The last natural day whose 24 hours end at or before hour ``hi``."""
    d = hour_day(hi)
    return d if hi % 24 == 0 else d - timedelta(days=1)


class StoreBusy(QingshanError, RuntimeError):
    """The DuckDB file is held by another process (DuckDB allows one writer)."""


@dataclass(frozen=True)
class StoreState:
    fingerprint: tuple
    as_of_hi: int | None  # "now": the latest stored hour, or the pinned one
    has_hj212_alerts: bool
    #: The fingerprint without what live HJ 212 traffic moves within an hour (air row count, alerts, the feed's
    #: stamp): equal settled parts and as-of hour = the same data but for the last minutes received
    #: (:meth:`qingshan.web.console.Console.cached` may then serve the previous result while it recomputes).
    settled: tuple = ()

    @property
    def as_of(self) -> datetime | None:
        return hour_time(self.as_of_hi) if self.as_of_hi is not None else None

    @property
    def today(self) -> date | None:
        """The natural day of the as-of hour."""
        return hour_day(self.as_of_hi) if self.as_of_hi is not None else None


class MeasurementStore:
    """The workspace's DuckDB file, opened once (read-write: the server is the store's single owner)."""

    def __init__(self, workspace: Path, *, as_of: datetime | None = None, state_ttl: float = 2.0):
        try:
            self.workspace = Workspace(workspace)
        except duckdb.IOException as e:
            raise StoreBusy(f"无法打开测量库 {Path(workspace) / 'measurements.duckdb'}：它可能正被另一个进程"
                            f"（如正在运行的 qingshan serve 或导入命令）占用。请先结束该进程。（{e}）") from None
        self.con = self.workspace.con
        ensure_water_schema(self.con)  # its pages read the water tables of any workspace
        self.pinned_hi = hour_index(as_of) if as_of is not None else None
        self.state_ttl = state_ttl
        self._state: StoreState | None = None
        self._checked = 0.0
        self._lock = threading.Lock()
        self._cursors: set[duckdb.DuckDBPyConnection] = set()  # open cursors (interrupted by close())
        self._cursors_lock = threading.Lock()

    def close(self, wait_s: float = 10.0) -> None:
        """Close the store. A query still running on a cursor (a warm-up thread that outlived its join on a busy
        machine) is interrupted first: DuckDB refuses to close a connection whose cursor is busy, and a process that
        cannot close its store does not exit."""
        deadline = time.monotonic() + wait_s
        while True:
            with self._cursors_lock:
                busy = list(self._cursors)
            for cur in busy:
                try:
                    cur.interrupt()
                except duckdb.Error:
                    pass
            try:
                self.workspace.close()
                return
            except duckdb.Error:
                if time.monotonic() > deadline:
                    raise
            time.sleep(0.05)  # the interrupted query unwinds in its own thread

    @contextmanager
    def cursor(self) -> Iterator[duckdb.DuckDBPyConnection]:
        cur = self.con.cursor()
        with self._cursors_lock:
            self._cursors.add(cur)
        try:
            yield cur
        finally:
            with self._cursors_lock:
                self._cursors.discard(cur)
            cur.close()

    def reload(self) -> None:
        """The store was written: read its state now. The platform's store writer calls this on its own thread after
        each write, so requests find the new state ready instead of each reading it (under live HJ 212 traffic the
        state changes twice a second, and reading it took 40 % of an overview request's time in the live bench).
        A failed read (the store closing) leaves the next request to read it."""
        with self._lock:
            try:
                self._state = self._read_state()
                self._checked = time.monotonic()
            except duckdb.Error:
                self._checked = float("-inf")

    def state(self) -> StoreState:
        now = time.monotonic()
        st = self._state
        if st is not None and now - self._checked < self.state_ttl:
            return st
        with self._lock:
            if self._state is None or time.monotonic() - self._checked >= self.state_ttl:
                self._state = self._read_state()
                self._checked = time.monotonic()
            return self._state

    def _read_state(self) -> StoreState:
        with self.cursor() as cur:
            row, has_alerts = store_counts(cur)
            review = review_version(cur)  # a review mark changes evaluations without changing the stored rows
        as_of = self.pinned_hi if self.pinned_hi is not None else row[2]
        # row: last import id, air rows, last hour, stations, water samples, sections, HJ 212 alerts, last finish
        settled = (row[0], row[2], row[3], row[4], row[5], *review)
        return StoreState((*row, *review), int(as_of) if as_of is not None else None, has_alerts, settled)

    def refresh(self) -> None:
        """Re-read the state on the next request (after this process wrote to the store, e.g. a review mark)."""
        with self._lock:
            self._checked = float("-inf")
