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
            cached = {t: _cache(ws.con, t) for t in (eval_cache.STATION_TABLE, eval_cache.GROUP_TABLE)}
            # the full recomputation: the cache rebuilt from scratch, and the evaluation of the same period
            eval_cache.clear(ws.con)
            incremental.build(ws.con, 2023)
            for t, frame in cached.items():
                pd.testing.assert_frame_equal(frame, _cache(ws.con, t), check_exact=True)
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
