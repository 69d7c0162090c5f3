"""Incremental evaluation (issue 16): after random late and corrected hours, :func:`qingshan.evaluate.incremental.update`
leaves the cache and returns statistics equal to a full recomputation."""

from __future__ import annotations

import tempfile
from datetime import date
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from qingshan.evaluate import incremental
from qingshan.evaluate.air import evaluate_hourly, evaluate_period
from qingshan.evaluate.periods import day_index
from qingshan.standards.pollutants import SIX
from qingshan.store import eval_cache
from qingshan.store.workspace import Workspace

D0 = day_index(date(2023, 1, 30))  # the data cross the end of January: month and year to date differ
STATIONS = [  # code, city, district, control
    ("A", "甲市", "一区", False), ("B", "甲市", "一区", False), ("C", "甲市", "二区", False),
    ("K", "甲市", "二区", True), ("E", "乙市", "三区", False),
]
HOURS = (D0 * 24 - 23, (D0 + 4) * 24)  # hour labels of days D0−1 … D0+3


def _stations() -> pa.Table:
    n = len(STATIONS)
    return pa.table({"code": [s[0] for s in STATIONS], "name": [s[0] for s in STATIONS],
                     "city": [s[1] for s in STATIONS], "district": [s[2] for s in STATIONS],
                     "lon": [None] * n, "lat": [None] * n, "is_control": [s[3] for s in STATIONS],
                     "status": [None] * n, "import_id": [1] * n})


def _rows(station: list[str], hi: list[int], values: np.ndarray) -> pa.Table:
    cols = {"station": pa.array(station, pa.string()), "hi": pa.array(hi, pa.int64())}
    cols.update({p: pa.array(values[:, i], from_pandas=True) for i, p in enumerate(SIX)})
    cols["import_id"] = pa.array([1] * len(hi), pa.int64())
    return pa.table(cols)


def _initial(rng: np.random.Generator) -> pa.Table:
    """Three of the four days for every station, ~10 % of values missing."""
    hi = np.arange(D0 * 24 - 23, (D0 + 3) * 24 + 1)
    codes = [s[0] for s in STATIONS]
    station = np.repeat(codes, len(hi)).tolist()
    his = np.tile(hi, len(codes)).tolist()
    values = np.round(rng.uniform(1, 250, (len(his), 6)))
    values[:, 2] = np.round(values[:, 2] / 40, 1)  # CO at one decimal
    values[rng.random(values.shape) < 0.1] = np.nan
    return _rows(station, his, values)


def _cache(con, table: str) -> pd.DataFrame:
    keys = ["grp_level", "station", "day"] if table == eval_cache.GROUP_TABLE else ["station", "day"]
    return con.sql(f"SELECT * FROM {table} ORDER BY {', '.join(keys)}").df()


def _blocks(con) -> pa.Table:
    return con.sql(f"SELECT * FROM {eval_cache.MONTH_TABLE} ORDER BY key, month").to_arrow_table()


def _assert_blocks_equal(got: pa.Table, want: pa.Table) -> None:
    assert got.column("key").to_pylist() == want.column("key").to_pylist()
    assert got.column("month").to_pylist() == want.column("month").to_pylist()
    for c in got.column_names[2:]:
        np.testing.assert_array_equal(got.column(c).combine_chunks().values.to_numpy(zero_copy_only=False),
                                      want.column(c).combine_chunks().values.to_numpy(zero_copy_only=False))


batch = st.lists(
    st.tuples(st.sampled_from([s[0] for s in STATIONS]), st.integers(*HOURS),
              st.lists(st.one_of(st.none(), st.integers(0, 400)), min_size=6, max_size=6)),
    min_size=1, max_size=30,
)


@settings(max_examples=3, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(seed=st.integers(0, 2**16), batches=st.lists(batch, min_size=1, max_size=3))
def test_incremental_equals_full_recomputation(seed, batches):
    check_incremental(seed, batches)


@pytest.mark.slow
@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(seed=st.integers(0, 2**16), batches=st.lists(batch, min_size=1, max_size=4))
def test_incremental_equals_full_recomputation_many(seed, batches):
    check_incremental(seed, batches)


def check_incremental(seed: int, batches) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        ws = Workspace(Path(tmp) / "ws")
        try:
            ws.upsert_stations(_stations())
            ws.upsert_air_hourly(_initial(np.random.default_rng(seed)))
            incremental.build(ws.con, 2023)
            for b in batches:  # late hours (day D0+3 had none) and corrections, then one update per batch
                values = np.array([[np.nan if v is None else float(v) for v in vals] for _, _, vals in b])
                values[:, 2] = np.round(values[:, 2] / 40, 1)
                ws.upsert_air_hourly(_rows([s for s, _, _ in b], [h for _, h, _ in b], values))
                summary = incremental.update(ws.con, [(s, h) for s, h, _ in b])
            # the last batch's hours corrected once more: the same stations, so the update takes the year's month
            # blocks from memory (the platform's steady state)
            values = np.array([[np.nan if v is None else float(v) + 7 for v in vals] for _, _, vals in batches[-1]])
            values[:, 2] = np.round(values[:, 2] / 40, 1)
            ws.upsert_air_hourly(_rows([s for s, _, _ in batches[-1]], [h for _, h, _ in batches[-1]], values))
            summary = incremental.update(ws.con, [(s, h) for s, h, _ in batches[-1]])
            cached = {t: _cache(ws.con, t) for t in (eval_cache.STATION_TABLE, eval_cache.GROUP_TABLE)}
            blocks = _blocks(ws.con)
            assert not eval_cache.has_pending(ws.con)
            # the full recomputation: the cache rebuilt from scratch, and the evaluation of the same period
            eval_cache.clear(ws.con)
            incremental.build(ws.con, 2023)
            for t, frame in cached.items():
                pd.testing.assert_frame_equal(frame, _cache(ws.con, t), check_exact=True)
            _assert_blocks_equal(blocks, _blocks(ws.con))
            month, year = summary.periods
            for period, got in ((month, summary.month), (year, summary.year)):
                full = evaluate_period(ws.con, period, levels=("station", "city", "district")).table
                key = ["level", "code"]
                want = full.merge(got[key], on=key).sort_values(key).reset_index(drop=True)
                got = got.sort_values(key).reset_index(drop=True)[list(want.columns)]
                assert len(got) == len(got.drop_duplicates(key))
                pd.testing.assert_frame_equal(got, want, check_exact=True, check_dtype=False)
            # the hourly results of the last batch's station-hours equal the full hourly evaluation's
            touched = pd.DataFrame(sorted({(s, h) for s, h, _ in batches[-1]}), columns=["station", "hi"])
            hourly = evaluate_hourly(ws.con, year).to_pandas()
            hourly["station"] = hourly["station"].astype(str)
            want = hourly.merge(touched, on=["station", "hi"]).sort_values(["station", "hi"]).reset_index(drop=True)
            got = summary.hourly.to_pandas()
            got["station"] = got["station"].astype(str)
            want["primary_pollutants"] = want["primary_pollutants"].astype(str)
            got["primary_pollutants"] = got["primary_pollutants"].astype(str)
            want["aqi_ruleset"] = want["aqi_ruleset"].astype(str)
            got["aqi_ruleset"] = got["aqi_ruleset"].astype(str)
            assert len(got) == len(touched)
            pd.testing.assert_frame_equal(got[list(want.columns)], want, check_exact=True, check_dtype=False)
        finally:
            ws.close()


def _day_rows(station: str, day: int, values: list[float]) -> pa.Table:
    """24 hours of ``day`` with constant values (SIX order)."""
    return _rows([station] * 24, list(range(day * 24 + 1, day * 24 + 25)), np.tile(np.array(values, float), (24, 1)))


def _block(con, key: str, month: int) -> dict[str, list]:
    row = con.sql(f"SELECT * FROM {eval_cache.MONTH_TABLE} WHERE key = '{key}' AND month = {month}").to_arrow_table()
    assert row.num_rows == 1, (key, month)
    return {c: row.column(c)[0].as_py() for c in row.column_names[2:]}


def test_month_blocks_and_to_date_by_hand():
    """Two stations of 甲市 (of its three evaluation stations: the city value needs two) with constant hours on
    30 January and 1 February 2023. Hand-checked: the month blocks hold the daily values in the day-of-month
    column (station A: SO2 10; city: (10 + 13)/2 = 11.5 → 12, PM2.5 30.5 → 30, CO 0.65 → 0.6 by GB/T 8170, stored
    as 6 tenths) and
    the day flags (a row, valid, good, level 1: 0b1111; AQI 43 has no primary pollutant); after one corrected hour
    (SO2 10 → 34 at 12:00 on 1 February: A's daily mean 264/24 = 11) the year to date of A is SO2 mean
    (10 + 11)/2 = 10.5 → 10 and P98 10 + 0.98·1 = 10.98 → 11, the month to date 11, the city's 12 both."""
    jan30, feb1 = day_index(date(2023, 1, 30)), day_index(date(2023, 2, 1))
    jan, feb = (2023 - 1970) * 12, (2023 - 1970) * 12 + 1
    with tempfile.TemporaryDirectory() as tmp:
        ws = Workspace(Path(tmp) / "ws")
        try:
            ws.upsert_stations(_stations())
            a, b = [10, 20, 0.5, 50, 40, 30], [13, 20, 0.8, 50, 60, 31]
            for day in (jan30, feb1):
                ws.upsert_air_hourly(pa.concat_tables([_day_rows("A", day, a), _day_rows("B", day, b)]))
            incremental.build(ws.con, 2023)
            st = _block(ws.con, "station:A", jan)
            # values in units of the reporting precision (CO in tenths), NULL where no value
            assert st["so2"][29] == 10 and st["co"][29] == 5 and st["o3_8h_max"][29] == 50
            assert st["flags"][29] == 0b1111 and st["flags"][28] == 0 and st["so2"][28] is None
            assert st["so2"][30] is None and st["flags"][30] == 0  # 31 January: no data
            city = _block(ws.con, "city:甲市", jan)
            assert (city["so2"][29], city["pm25"][29], city["co"][29], city["pm10"][29]) == (12, 30, 6, 50)
            assert _block(ws.con, "station:B", feb)["so2"][0] == 13
            fix = _rows(["A"], [feb1 * 24 + 12], np.array([[34, 20, 0.5, 50, 40, 30]], float))
            ws.upsert_air_hourly(fix)
            summary = incremental.update(ws.con, [("A", feb1 * 24 + 12)])
            assert _block(ws.con, "station:A", feb)["so2"][0] == 11
            assert _block(ws.con, "city:甲市", feb)["so2"][0] == 12
            year = summary.year.set_index(["level", "code"])
            month = summary.month.set_index(["level", "code"])
            assert (year.loc[("station", "A"), "so2_mean"], year.loc[("station", "A"), "so2_p98"]) == (10, 11)
            assert month.loc[("station", "A"), "so2_mean"] == 11
            assert year.loc[("city", "甲市"), "so2_mean"] == 12 == month.loc[("city", "甲市"), "so2_mean"]
            assert year.loc[("station", "A"), "valid_days"] == 2 == year.loc[("station", "A"), "good_days"]
            # a second correction of the same hour: the update takes the year's blocks from memory (not read again)
            # and still gives the values by hand: SO2 34 → 58, daily (23·10 + 58)/24 = 12, year (10 + 12)/2 = 11
            reads = []
            real = eval_cache.month_blocks
            eval_cache.month_blocks = lambda *a, **k: reads.append(a) or real(*a, **k)
            try:
                ws.upsert_air_hourly(_rows(["A"], [feb1 * 24 + 12], np.array([[58, 20, 0.5, 50, 40, 30]], float)))
                again = incremental.update(ws.con, [("A", feb1 * 24 + 12)])
            finally:
                eval_cache.month_blocks = real
            assert reads == []
            year = again.year.set_index(["level", "code"])
            assert (year.loc[("station", "A"), "so2_mean"], year.loc[("station", "A"), "so2_p98"]) == (11, 12)
            assert _block(ws.con, "station:A", feb)["so2"][0] == 12
            blocks = _blocks(ws.con)
            eval_cache.clear(ws.con)
            incremental.build(ws.con, 2023)
            _assert_blocks_equal(blocks, _blocks(ws.con))
        finally:
            ws.close()
