"""``Console.cached`` with ``stale_for``: under live HJ 212 traffic a new store state within the same hour is
answered with the previous result while one background thread computes the new one (docs/hj212.md#性能live_bench);
an import, a review mark or a new hour is always computed before answering."""

from __future__ import annotations

import threading
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from qingshan.web.cache import ResultCache
from qingshan.web.console import Console
from qingshan.web.store import StoreState

from .console_server import wait_for


class FakeStore:
    def __init__(self, state: StoreState) -> None:
        self.current = state

    def state(self) -> StoreState:
        return self.current


def live(n: int, hour: int = 100, review: int = 0) -> StoreState:
    """The n-th state of live traffic within ``hour``: air rows and the feed's stamp move, the settled part not."""
    return StoreState((7, 1000 + n, hour, 50, 0, 0, 0, f"stamp{n}", review), hour, False, (7, hour, 50, 0, 0, review))


def console(stale_for: float, state: StoreState, quick_below: float = 0.0, clock=time.monotonic) -> Console:
    """``quick_below=0``: every computation counts as slow, the case these tests are about."""
    return Console(Path("."), FakeStore(state), ResultCache(), None, b"", stale_for=stale_for,  # type: ignore[arg-type]
                   quick_below=quick_below, clock=clock)


def until(cond, what: str, timeout: float = 30.0) -> None:
    wait_for(cond, timeout, what, step=0.01)


def test_a_new_live_state_is_answered_with_the_previous_result_while_it_computes():
    c = console(60.0, live(1))
    assert c.cached("overview", ("城",), lambda st: st.fingerprint[1]) == 1001
    release = threading.Event()
    started = []

    def slow(st: StoreState) -> int:
        started.append(st)
        release.wait(60)
        return st.fingerprint[1]

    c.store.current = live(2)
    with ThreadPoolExecutor(4) as pool:
        # without stale serving these requests would wait for ``slow`` (released only after they answered)
        answers = [pool.submit(c.cached, "overview", ("城",), slow) for _ in range(3)]
        assert [a.result(timeout=30) for a in answers] == [1001, 1001, 1001]
        until(lambda: len(started) == 1, "the background computation")
        assert len(started) == 1  # once for all clients
        release.set()
        until(lambda: c.cached("overview", ("城",), slow) == 1002, "the new result")
    assert len(started) == 1


def test_an_import_a_review_mark_or_a_new_hour_is_computed_before_answering():
    c = console(60.0, live(1))
    assert c.cached("overview", (), lambda st: "old") == "old"
    for changed in (StoreState((8, *live(2).fingerprint[1:]), 100, False, (8, 100, 50, 0, 0, 0)),  # an import
                    live(2, review=1),  # a review mark
                    live(2, hour=101)):  # a new hour
        c.store.current = changed
        assert c.cached("overview", (), lambda st: "new") == "new"
        c._latest.clear()
        c.store.current = live(1)
        c.cache.clear()
        assert c.cached("overview", (), lambda st: "old") == "old"


def test_without_stale_for_every_state_is_computed_before_answering():
    c = console(0.0, live(1))
    assert c.cached("overview", (), lambda st: st.fingerprint[1]) == 1001
    c.store.current = live(2)
    assert c.cached("overview", (), lambda st: st.fingerprint[1]) == 1002


def test_a_result_older_than_stale_for_is_not_served():
    c = console(60.0, live(1))
    assert c.cached("overview", (), lambda st: "old") == "old"
    key = next(iter(c._latest))
    st, value, _ = c._latest[key]
    c._latest[key] = (st, value, time.monotonic() - 61)
    c.store.current = live(2)
    assert c.cached("overview", (), lambda st: "new") == "new"


def test_a_computation_reads_nested_results_of_its_own_state():
    """A result is cached under the state it was computed for, so what it reads through nested calls must be of
    that state too (else a series computed from a stale year frame stays stale under the new state's key: the
    live bench's ingestion lag went from 11 s to 90 s)."""
    c = console(60.0, live(1))
    release = threading.Event()

    def inner(st: StoreState) -> int:
        if st.fingerprint[1] == 1002:
            release.wait(60)
        return st.fingerprint[1]

    def outer(st: StoreState) -> int:
        return c.cached("frame", (), inner, st)

    assert c.cached("series", (), outer) == 1001
    c.store.current = live(2)
    assert c.cached("series", (), outer) == 1001  # stale, while the background thread computes 1002
    release.set()
    until(lambda: c.cached("series", (), outer) == 1002, "the series of the new state")


def test_a_quick_result_is_computed_afresh_and_a_slow_one_served_stale():
    """Serving a result that takes milliseconds stale would only add lag (a station's series: the live bench's
    ingestion lag); only one whose last computation took ``quick_below`` or longer goes stale. The computations
    advance a fake clock by how long they "take"."""
    now = [0.0]
    c = console(60.0, live(1), quick_below=0.25, clock=lambda: now[0])

    def taking(seconds: float):
        def compute(st: StoreState) -> int:
            now[0] += seconds
            return st.fingerprint[1]
        return compute

    assert c.cached("series", ("A",), taking(0.1)) == 1001
    assert c.cached("overview", (), taking(2.0)) == 1001
    release = threading.Event()

    def blocked(st: StoreState) -> int:
        release.wait(60)
        return st.fingerprint[1]

    c.store.current = live(2)
    assert c.cached("series", ("A",), taking(0.1)) == 1002  # quick: the new state's value at once
    assert c.cached("overview", (), blocked) == 1001  # slow: the previous value while it computes
    release.set()
    until(lambda: c.cached("overview", (), blocked) == 1002, "the new overview")


def test_a_panel_is_served_stale_however_quick():
    """The overview's panels (``panel=True``) go stale even when they compute quickly: clients poll them, and a
    request that computed one waited for the cores the receiver used. A station's series stays fresh."""
    now = [0.0]
    c = console(60.0, live(1), quick_below=0.25, clock=lambda: now[0])
    assert c.cached("air_now", ("城",), lambda st: st.fingerprint[1], panel=True) == 1001  # quick (0 s)
    release = threading.Event()

    def blocked(st: StoreState) -> int:
        release.wait(60)
        return st.fingerprint[1]

    c.store.current = live(2)
    assert c.cached("air_now", ("城",), blocked, panel=True) == 1001  # the previous value while it computes
    release.set()
    until(lambda: c.cached("air_now", ("城",), blocked, panel=True) == 1002, "the new panel")
    c.store.current = live(3, hour=101)  # a new hour: computed before answering, panel or not
    assert c.cached("air_now", ("城",), lambda st: st.fingerprint[1], panel=True) == 1003
