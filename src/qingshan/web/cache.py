"""An in-process cache of computed results, keyed by what they depend on.

Keys always contain the store's fingerprint (:class:`.store.StoreState`) or the ledger's (last audit entry), so an
entry never goes stale: a change of data makes new keys, and old ones are evicted least-recently-used. Concurrent
requests for the same missing key wait for the one computation instead of repeating it (no stampede when twenty
clients open the overview at once after an import).
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Callable, Hashable
from typing import Any, TypeVar

from .jsonable import dumps

T = TypeVar("T")


class ResultCache:
    def __init__(self, max_entries: int = 256):
        self.max_entries = max_entries
        self._data: OrderedDict[Hashable, Any] = OrderedDict()
        self._lock = threading.Lock()
        self._pending: dict[Hashable, threading.Lock] = {}
        self.hits = 0
        self.misses = 0

    def get_or_compute(self, key: Hashable, compute: Callable[[], T]) -> T:
        with self._lock:
            if key in self._data:
                self._data.move_to_end(key)
                self.hits += 1
                return self._data[key]
            gate = self._pending.setdefault(key, threading.Lock())
        with gate:
            with self._lock:
                if key in self._data:  # computed by another thread while we waited
                    self._data.move_to_end(key)
                    self.hits += 1
                    return self._data[key]
            self.misses += 1
            try:
                value = compute()
            except BaseException:
                with self._lock:
                    self._pending.pop(key, None)
                raise
            with self._lock:
                self._data[key] = value
                self._pending.pop(key, None)
                while len(self._data) > self.max_entries:
                    self._data.popitem(last=False)
            return value

    def peek(self, key: Hashable) -> Any | None:
        """The cached value of ``key`` or ``None``, computing nothing."""
        with self._lock:
            return self._data.get(key)

    def clear(self) -> None:
        with self._lock:
            self._data.clear()

    def __len__(self) -> int:
        return len(self._data)


class EncodedMemo:
    """The JSON of the last content answered for each slot (a route, its parameters and the caller's role), encoded
    again only when the content changed.

    Under live traffic ten clients polling the overview got the same 2 MB re-encoded for each of them (18 ms of
    CPU, the GIL held, every request; the overview's largest item in the live bench, docs/hj212.md#性能live_bench).
    The content is assembled from cached results, so it is compared with ``==`` first: Python compares the same
    objects by identity, and the cached station cards are the same objects until the store changes. Equal values
    give the same bytes (numbers equal in value, such as ``31`` and ``31.0``, may keep the earlier form); a content
    that cannot be compared (NaN, arrays) is simply encoded again."""

    def __init__(self, max_slots: int = 64) -> None:
        self.max_slots = max_slots
        self._last: OrderedDict[Hashable, tuple[Any, bytes]] = OrderedDict()
        self._lock = threading.Lock()
        self.hits = 0
        self.misses = 0

    def dumps(self, slot: Hashable, content: Any) -> bytes:
        with self._lock:
            prev = self._last.get(slot)
        if prev is not None:
            try:
                same = bool(prev[0] == content)
            except (ValueError, TypeError):  # numpy arrays inside: no single truth value
                same = False
            if same:
                with self._lock:
                    self.hits += 1
                    if slot in self._last:
                        self._last.move_to_end(slot)
                return prev[1]
        body = dumps(content)
        with self._lock:
            self.misses += 1
            self._last[slot] = (content, body)
            self._last.move_to_end(slot)
            while len(self._last) > self.max_slots:
                self._last.popitem(last=False)
        return body
