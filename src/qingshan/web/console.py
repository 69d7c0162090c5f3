"""What a console request needs besides its ledger context: the measurement store, the result cache, the
workspace's target files and the server secret (for CSRF tokens). One :class:`Console` per app, kept in
``app.state.console``; the data functions of :mod:`qingshan.web.data` take it as their first argument."""

from __future__ import annotations

import logging
import threading
import time
from collections import OrderedDict
from collections.abc import Callable, Hashable
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import Any, TypeVar

from fastapi import Request

from ..ledger.db import Ledger
from .cache import EncodedMemo, ResultCache
from .store import MeasurementStore, StoreState

T = TypeVar("T")
log = logging.getLogger(__name__)

#: Target files of a deployment (``<workspace>/targets/*.yaml``) are searched before the shipped ones.
TARGETS_DIR = "targets"


@dataclass
class Console:
    workspace: Path
    store: MeasurementStore
    cache: ResultCache
    ledger: Ledger
    secret: bytes
    today: date | None = None  # pins the ledger's "today" (deadlines); None = the real date
    #: Seconds a result may be served while its successor computes (0: never; the platform with the HJ 212
    #: receiver sets it): see :meth:`cached`.
    stale_for: float = 0.0
    #: A result whose last computation took less than this many seconds is always computed afresh (a station's
    #: series): serving it stale would only add lag. Only slow ones (the overview of 2,000 stations) go stale.
    quick_below: float = 0.25
    clock: Callable[[], float] = time.monotonic  # seconds, for the two rules above (tests inject their own)
    #: The JSON bytes of the last overview per caller's role (encoded again only when its content changed).
    json_memo: EncodedMemo = field(default_factory=EncodedMemo)
    _latest: OrderedDict = field(default_factory=OrderedDict, repr=False)
    _refreshing: set = field(default_factory=set, repr=False)
    _cost: dict = field(default_factory=dict, repr=False)  # (kind, *params) → seconds its last computation took
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    def cached(self, kind: str, params: tuple[Hashable, ...], compute: Callable[[StoreState], T],
               state: StoreState | None = None, *, panel: bool = False) -> T:
        """``compute(state)`` once per store state and ``params`` (see :mod:`.cache`).

        Under live HJ 212 traffic the state changes every few seconds within the same hour (the feed re-aggregates
        the open hour), and each change would make every client wait for a recomputation (the overview of 2,000
        stations). With :attr:`stale_for` > 0 a request for a state not computed yet gets the result of the
        previous state instead — only when that one has the same as-of hour and the same *settled* fingerprint
        (no import, review mark or station change in between: :attr:`.store.StoreState.settled`) and is at most
        ``stale_for`` seconds old — while one background thread computes the new one (once for all clients).
        Results that compute in under :attr:`quick_below` are computed afresh instead, unless ``panel`` is set: the
        overview's panels, which clients poll, are served from the previous state however quick they are (under
        live traffic the state changes twice a second, and a request computing a panel waited for the cores the
        receiver was using)."""
        st = state or self.store.state()
        key = (kind, st.fingerprint, st.as_of_hi, *params)
        live = self.stale_for > 0
        # only the outermost call may answer stale: a result computed for a state is cached under that state's key,
        # so what it reads through nested calls (a year's frame under the series) must be of that state too
        if live and not _computing.depth:
            hit = self.cache.peek(key)
            if hit is not None:
                return hit
            stale = None if not panel and self._quick(kind, params) else self._stale(kind, params, st)
            if stale is not None:
                self._refresh(kind, params, compute, st, key)
                return stale
        value = self.cache.get_or_compute(key, lambda: self._timed(kind, params, compute, st))
        if live:
            self._remember(kind, params, st, value)
        return value

    def _timed(self, kind: str, params: tuple[Hashable, ...], compute: Callable[[StoreState], T],
               st: StoreState) -> T:
        t0 = self.clock()
        value = _nested(compute, st)
        with self._lock:
            k = (kind, *params)
            self._cost.pop(k, None)
            self._cost[k] = self.clock() - t0
            if len(self._cost) > 4 * self.cache.max_entries:  # forget the oldest (dicts keep insertion order)
                del self._cost[next(iter(self._cost))]
        return value

    def _quick(self, kind: str, params: tuple[Hashable, ...]) -> bool:
        with self._lock:
            cost = self._cost.get((kind, *params))
        return cost is not None and cost < self.quick_below

    def _stale(self, kind: str, params: tuple[Hashable, ...], st: StoreState) -> Any | None:
        with self._lock:
            prev = self._latest.get((kind, *params))
        if prev is None:
            return None
        pst, value, at = prev
        if pst.as_of_hi != st.as_of_hi or pst.settled != st.settled or not pst.settled:
            return None
        return value if self.clock() - at <= self.stale_for else None

    def _remember(self, kind: str, params: tuple[Hashable, ...], st: StoreState, value: Any) -> None:
        with self._lock:
            k = (kind, *params)
            self._latest[k] = (st, value, self.clock())
            self._latest.move_to_end(k)
            while len(self._latest) > self.cache.max_entries:
                self._latest.popitem(last=False)

    def _refresh(self, kind: str, params: tuple[Hashable, ...], compute: Callable[[StoreState], Any],
                 st: StoreState, key: tuple) -> None:
        """Compute ``key`` in a background thread unless one already computes this kind and ``params``."""
        slot = (kind, *params)
        with self._lock:
            if slot in self._refreshing:
                return
            self._refreshing.add(slot)

        def run() -> None:
            try:
                value = self.cache.get_or_compute(key, lambda: self._timed(kind, params, compute, st))
                self._remember(kind, params, st, value)
            except Exception:  # the next request computes it in the foreground and reports the error
                log.warning("后台刷新 %s 失败", kind, exc_info=True)
            finally:
                with self._lock:
                    self._refreshing.discard(slot)

        threading.Thread(target=run, name=f"refresh-{kind}", daemon=True).start()

    @property
    def refreshing(self) -> int:
        """How many background refreshes are running now."""
        with self._lock:
            return len(self._refreshing)

    def peek(self, kind: str, params: tuple[Hashable, ...], state: StoreState) -> Any | None:
        """What :meth:`cached` holds for ``kind`` and ``params`` at ``state``, or ``None`` (nothing is computed)."""
        return self.cache.peek((kind, state.fingerprint, state.as_of_hi, *params))

    @property
    def targets_dir(self) -> Path:
        return self.workspace / TARGETS_DIR


class _Depth(threading.local):
    depth = 0


_computing = _Depth()  # per thread: inside a computation of :meth:`Console.cached` (nested calls answer fresh)


def _nested(compute: Callable[[StoreState], T], st: StoreState) -> T:
    _computing.depth += 1
    try:
        return compute(st)
    finally:
        _computing.depth -= 1


def get_console(request: Request) -> Console:
    """FastAPI dependency: the app's :class:`Console`."""
    return request.app.state.console
