"""Station blocks on a thread pool: numpy releases the GIL in its loops, so blocks of the station axis evaluated
in threads use every core without copying the grid into other processes."""

from __future__ import annotations

import math
import os
from collections import deque
from concurrent.futures import ThreadPoolExecutor
from typing import Callable, Iterable, Iterator, TypeVar

T = TypeVar("T")
R = TypeVar("R")

#: stations per block at most: bounds the float64 temporaries of a block (≈ 85 MB of values for a year)
MAX_BLOCK = 200


def cores() -> int:
    """Cores this process may run on."""
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # not on Linux
        return os.cpu_count() or 1


def block_size(n_stations: int, workers: int) -> int:
    """Stations per block: every worker gets at least one block, no block exceeds :data:`MAX_BLOCK`."""
    return max(1, min(MAX_BLOCK, math.ceil(n_stations / max(1, workers))))


def map_ordered(fn: Callable[[T], R], items: Iterable[T], workers: int) -> Iterator[R]:
    """``map(fn, items)`` on ``workers`` threads, results in input order, at most ``workers`` items in flight (so
    memory stays bounded however many blocks there are). One worker runs inline, without a pool."""
    if workers <= 1:
        yield from map(fn, items)
        return
    with ThreadPoolExecutor(workers, thread_name_prefix="qingshan-block") as pool:
        pending: deque = deque()
        for item in items:
            if len(pending) >= workers:
                yield pending.popleft().result()
            pending.append(pool.submit(fn, item))
        while pending:
            yield pending.popleft().result()
