"""The evaluation cache stays equal to a full evaluation whatever writes ``air_hourly`` (issue 16 with issue 13):
the platform's store writer recomputes the station-days the store noted after an HJ 212 feed write, an import
job and a review mark; a write made while no platform runs is caught up when the next writer starts."""

from __future__ import annotations

from datetime import date, datetime
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pytest

from qingshan.evaluate import incremental
from qingshan.evaluate.air import evaluate_period
from qingshan.evaluate.periods import day_index
from qingshan.ingest import import_files
from qingshan.platform.writer import StoreWriter
from qingshan.standards.pollutants import SIX
from qingshan.standards.review import INVALIDATE
from qingshan.store import eval_cache
from qingshan.store.feed import feed_import, replace_air_hours
from qingshan.store.review import MarkRequest, record_mark
from qingshan.store.workspace import Workspace

STATIONS = [("A", "甲市", "一区"), ("B", "甲市", "一区"), ("C", "甲市", "二区"), ("E", "乙市", "三区")]
FIRST = day_index(date(2023, 1, 29))  # four days across the end of January
LAST = FIRST + 3


def _stations() -> pa.Table:
    n = len(STATIONS)
    return pa.table({"code": [s[0] for s in STATIONS], "name": [s[0] for s in STATIONS],
                     "city": [s[1] for s in STATIONS], "district": [s[2] for s in STATIONS],
                     "lon": [None] * n, "lat": [None] * n, "is_control": [False] * n, "status": [None] * n,
                     "import_id": [1] * n})


def _hours(rng: np.random.Generator, stations: list[str], first_hi: int, last_hi: int) -> pa.Table:
    hi = np.arange(first_hi, last_hi + 1)
    values = np.round(rng.uniform(5, 150, (len(stations) * len(hi), 6)))
    values[:, 2] = np.round(values[:, 2] / 50, 1)  # CO at one decimal
    cols = {"station": pa.array(np.repeat(stations, len(hi)).tolist(), pa.string()),
            "hi": pa.array(np.tile(hi, len(stations)), pa.int64())}
    cols.update({p: pa.array(values[:, i]) for i, p in enumerate(SIX)})
    cols["import_id"] = pa.array([1] * len(cols["hi"]), pa.int64())
    return pa.table(cols)


def _snapshot(con) -> dict[str, pd.DataFrame]:
    out = {}
    for table, keys in ((eval_cache.STATION_TABLE, "station, day"), (eval_cache.GROUP_TABLE, "grp_level, station, day"),
                        (eval_cache.MONTH_TABLE, "key, month")):
        frame = con.sql(f"SELECT * FROM {table} ORDER BY {keys}").df()
        out[table] = frame.map(lambda v: tuple(np.nan_to_num(v, nan=-1.0)) if isinstance(v, np.ndarray) else v)
    return out


def _assert_as_full_evaluation(con) -> None:
    """The cache is current and equals one rebuilt from scratch; its month and year to date equal
    ``evaluate_period`` over the same periods."""
    assert incremental.is_current(con, 2023)
    month, year, month_table, year_table = incremental.to_date(con, LAST)
    for period, got in ((month, month_table), (year, year_table)):
        full = evaluate_period(con, period, levels=("station", "city", "district")).table
        key = ["level", "code"]
        got = got[got["level"].isin(["station", "city", "district"])].sort_values(key).reset_index(drop=True)
        want = full.sort_values(key).reset_index(drop=True)
        assert len(got) == len(want) > 0
        pd.testing.assert_frame_equal(got[list(want.columns)], want, check_exact=True, check_dtype=False)
    cached = _snapshot(con)
    eval_cache.clear(con)
    incremental.build(con, 2023)
    for table, frame in _snapshot(con).items():
        pd.testing.assert_frame_equal(cached[table], frame, check_exact=True)


def _changed(before: dict[str, pd.DataFrame], con) -> bool:
    after = _snapshot(con)
    return any(not before[t].equals(after[t]) for t in before)


@pytest.fixture
def store(tmp_path: Path):
    ws = Workspace(tmp_path / "ws")
    ws.upsert_stations(_stations())
    ws.upsert_air_hourly(_hours(np.random.default_rng(5), [s[0] for s in STATIONS], FIRST * 24 + 1, LAST * 24 + 18))
    incremental.build(ws.con, 2023)
    yield ws
    ws.close()


def test_feed_import_and_review_through_the_writer_keep_the_cache_exact(store: Workspace, tmp_path: Path) -> None:
    rng = np.random.default_rng(11)
    writer = StoreWriter(store.path, store.con)
    try:
        writer.submit(lambda ws: None).result()  # the start-up catch-up has run (the queue is in order)
        # 1. the HJ 212 quality feed writes the day's last hours and corrects two earlier ones
        batch = pa.concat_tables([_hours(rng, ["A", "B"], LAST * 24 + 19, LAST * 24 + 24),
                                  _hours(rng, ["C"], FIRST * 24 + 3, FIRST * 24 + 4)]).drop_columns(["import_id"])
        before = _snapshot(store.con)
        writer.submit(lambda ws: replace_air_hours(ws.con, batch, feed_import(ws.con, datetime(2023, 2, 1)))).result()
        assert _changed(before, store.con) and not eval_cache.has_pending(store.con)
        _assert_as_full_evaluation(store.con)
        # 2. an import job: a long CSV correcting a day of station E
        csv = tmp_path / "late.csv"
        hours = _hours(rng, ["E"], FIRST * 24 + 25, FIRST * 24 + 48).to_pandas()
        ts = pd.to_datetime(hours["hi"] * 3600, unit="s").dt.strftime("%Y-%m-%d %H:%M")
        hours.assign(station=hours["station"], time=ts)[["station", "time", *SIX]].to_csv(csv, index=False)
        before = _snapshot(store.con)
        reports = writer.submit(lambda ws: import_files(ws, "long", [csv])).result()
        assert reports[0].updated == 24 and reports[0].quarantined == 0
        assert _changed(before, store.con) and not eval_cache.has_pending(store.con)
        _assert_as_full_evaluation(store.con)
        # 3. a reviewer invalidates eight PM2.5 hours of A on 30 January: the day's PM2.5 mean goes (< 20 valid)
        day = FIRST + 1
        mark = MarkRequest(INVALIDATE, "A", ("pm25",), day * 24 + 1, day * 24 + 8, "fault")
        before = _snapshot(store.con)
        assert writer.submit(lambda ws: record_mark(ws.con, mark, by="审核员", via="api")).result() is not None
        assert _changed(before, store.con) and not eval_cache.has_pending(store.con)
        a = store.con.execute(f"SELECT pm25 FROM {eval_cache.STATION_TABLE} WHERE station = 'A' AND day = ?",
                              [day]).fetchall()
        assert a == [(None,)]
        _assert_as_full_evaluation(store.con)
    finally:
        writer.shutdown()


def test_a_write_while_no_platform_runs_is_caught_up_at_start(store: Workspace) -> None:
    """``qingshan import`` with no platform: the store notes the days, the cache says it is not current (a reader
    evaluates in full), and the next store writer recomputes them before anything else."""
    store.upsert_air_hourly(_hours(np.random.default_rng(3), ["B"], LAST * 24 + 19, LAST * 24 + 24))
    assert eval_cache.has_pending(store.con) and not incremental.is_current(store.con, 2023)
    assert incremental.to_date(store.con, LAST) is None
    writer = StoreWriter(store.path, store.con)
    try:
        writer.submit(lambda ws: None).result()  # runs after the start-up catch-up
    finally:
        writer.shutdown()
    assert not eval_cache.has_pending(store.con)
    _assert_as_full_evaluation(store.con)


def test_nothing_is_noted_without_a_cache(tmp_path: Path) -> None:
    with Workspace(tmp_path / "ws") as ws:
        ws.upsert_stations(_stations())
        ws.upsert_air_hourly(_hours(np.random.default_rng(1), ["A"], FIRST * 24 + 1, FIRST * 24 + 24))
        assert not eval_cache.has_pending(ws.con)
