"""bench/live_bench.py in miniature (issue 13 leftovers): a real ``qingshan serve --hj212-port`` under the bench's
traffic — stations and outlets sharing multiplexed connections from two source addresses, console clients on SSE
and polling the overview — for a few compressed minutes.  Every packet acknowledged is stored exactly once, the
probe stations' hour closes in the API with exactly the mean of the minutes sent, and the feed gives the same
hours from its copy as from ``source_data``.  Every wait in the bench has a deadline; nothing here is timed.
Marked slow: run it with ``pytest -m slow tests/test_live_bench_smoke.py``.
"""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path

import pytest

BENCH = Path(__file__).resolve().parents[1] / "bench" / "live_bench.py"


def _bench():
    spec = importlib.util.spec_from_file_location("live_bench", BENCH)
    assert spec is not None and spec.loader is not None
    mod = importlib.util.module_from_spec(spec)
    sys.modules["live_bench"] = mod
    spec.loader.exec_module(mod)
    return mod


@pytest.mark.slow  # a platform start plus ~40 s of traffic; minutes on a busy machine (CI's slow step runs it)
def test_live_bench_in_miniature_stores_every_acknowledged_packet_once(tmp_path):
    lb = _bench()
    # 12 stations (4 of them probes) and 28 outlets; 3 simulated minutes of 4 s; the hour closes in the second
    r = lb.run_bench(devices=40, stations=12, minutes=3, minute_s=4.0, per_connection=8, sources=2, clients=4,
                     poll=1.0, workspace=tmp_path)
    assert r["failed"] == 0, r["failed_examples"]
    assert r["acked"] == 12 * r["warm_up_minutes"] + 40 * 3
    assert r["acked_equals_stored"] and r["stored_not_acked"] == 0 and r["acked_not_stored"] == 0
    assert r["stored"] == r["stored_distinct"]
    rows, distinct = r["air_hours_rows_distinct"]
    assert rows == distinct == 12 * 2  # the hour that closed and the next, once per station
    # each probe saw its closed hour in /api/v1 with the mean of its 60 minutes (within the bench's deadline)
    assert r["hour_close_s"]["n"] == lb.PROBES
    assert r["sse_errors"] == 0 and r["overview_errors"] == 0, r["overview_error_examples"]
    assert r["overview_ms"]["n"] > 0
    feed = r["feed"]
    assert feed["copy"]["station_hours"] == feed["source_data"]["station_hours"] > 0
