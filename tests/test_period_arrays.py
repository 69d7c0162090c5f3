"""The numpy period aggregates (evaluate/period_arrays.py) give the statistics of the SQL path, cell for cell."""

from __future__ import annotations

from datetime import date

import duckdb
import numpy as np
import pandas as pd
import pyarrow as pa
import pytest

from qingshan.evaluate.air import period_statistics, statistics_from_aggregates
from qingshan.evaluate.period_arrays import DailyMatrix, month_number, percentile_rows
from qingshan.evaluate.periods import Period, day_index
from qingshan.standards.air_evaluation import percentile_hj663
from qingshan.standards.rulesets import eval_ruleset_for

PRIMARY = [None, "pm25", "pm10", "o3_8h", "pm25,pm10", "no2,o3", "co", "so2,o3_8h,pm25"]


def _daily(seed: int, n_entities: int = 40) -> pa.Table:
    """Random daily rows of 2023 with gaps: some entities lack whole months, some have no value of a column;
    small value ranges give many ties and percentiles on a half."""
    rng = np.random.default_rng(seed)
    first, last = day_index(date(2023, 1, 1)), day_index(date(2023, 12, 31))
    codes, days = [], []
    for i in range(n_entities):
        keep = rng.random(last - first + 1) < (1.0 if i % 2 else rng.uniform(0.2, 1.0))  # odd: complete
        if i % 7 == 3:  # a missing month (March)
            keep[59:90] = False
        d = np.flatnonzero(keep) + first
        codes += [f"S{i:03d}"] * len(d)
        days += d.tolist()
    n = len(days)
    sparse = np.array([int(c[1:]) % 2 == 0 for c in codes])  # values go missing only at even entities

    def col(lo: int, hi: int, digits: int = 0, missing: float = 0.1) -> pa.Array:
        v = np.round(rng.uniform(lo, hi, n), digits)
        v[(rng.random(n) < missing) & sparse] = np.nan
        return pa.array(v, from_pandas=True)

    aqi = rng.integers(10, 300, n).astype(float)
    aqi[(rng.random(n) < 0.05) & sparse] = np.nan
    level = np.where(np.isnan(aqi), 0, np.clip(np.ceil(aqi / 50), 1, 6)).astype(int)
    table = pa.table({
        "station": pa.array(codes, pa.string()), "day": pa.array(days, pa.int64()),
        "so2": col(2, 12), "no2": col(10, 40), "co": col(0, 3, 1), "pm10": col(20, 90), "pm25": col(10, 60),
        "o3_8h_max": col(60, 200), "o3_1h_max": col(60, 250),
        "aqi": pa.array(aqi, pa.int16(), from_pandas=True),
        "level": pa.array([None if x == 0 else int(x) for x in level], pa.int8()),
        "primary_pollutants": pa.array([PRIMARY[k] for k in rng.integers(0, len(PRIMARY), n)], pa.string()),
        "day_valid": pa.array(rng.random(n) < 0.9),
    })
    empty = np.isin(np.array(codes), ["S005"])  # one entity whose rows hold no value at all
    for c in ("so2", "no2", "co", "pm10", "pm25", "o3_8h_max"):
        v = table.column(c).to_numpy(zero_copy_only=False).copy()
        v[empty] = np.nan
        table = table.set_column(table.column_names.index(c), c, pa.array(v, from_pandas=True))
    return table


PERIODS = [
    Period(date(2023, 1, 1), date(2023, 12, 31), "2023"),
    Period(date(2023, 1, 1), date(2023, 8, 17), "2023至08-17"),
    Period(date(2023, 3, 1), date(2023, 3, 31), "2023-03"),
    Period(date(2023, 8, 1), date(2023, 8, 17), "2023-08至08-17"),
]


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_numpy_aggregates_give_the_sql_statistics(seed):
    daily = _daily(seed)
    con = duckdb.connect()
    con.register("_d", daily)
    first, last = day_index(date(2023, 1, 1)), day_index(date(2023, 12, 31))
    matrix = DailyMatrix.from_rows(daily, "station", first, last)
    # the month blocks the cache stores give the same matrix
    blocks = matrix.blocks("station:")
    assert blocks.num_rows <= 40 * 12 and set(blocks.column("month").to_pylist()) == set(range(636, 648))
    again = DailyMatrix.from_blocks(blocks, month_number(first), month_number(last))
    assert (again.codes == np.array(["station:" + c for c in matrix.codes], dtype=object)).all()
    assert (again.flags == matrix.flags).all()
    for c, v in matrix.values.items():
        np.testing.assert_array_equal(again.values[c], v)
    for period in PERIODS:
        ev = eval_ruleset_for(period.end)
        want = period_statistics(con, "SELECT * FROM _d", period, ev)
        agg, monthly, exceed = matrix.aggregates(period, ev)
        got = statistics_from_aggregates(agg, monthly, exceed, period, ev)
        got["code"] = matrix.codes[got["code"].to_numpy()]
        key = "code"
        want = want.sort_values(key).reset_index(drop=True)
        got = got.sort_values(key).reset_index(drop=True)
        assert len(got) and got["code"].tolist() == want["code"].tolist()
        pd.testing.assert_frame_equal(got, want, check_exact=True, check_dtype=False)
        if period.is_calendar_year():  # both outcomes of the validity rules occur
            assert got["valid_all"].any() and not got["valid_all"].all()


def test_percentile_rows_hand_checked():
    """HJ 663 附录A by hand: n = 5, p = 95 → k = 4.8: 40 + 0.8·10 = 48; n = 10 (1…10), p = 90 → k = 9.1:
    9 + 0.1·1 = 9.1; one value → itself; none → NaN; the scalar reference agrees."""
    rows = np.full((4, 10), np.nan)
    rows[0, :5] = [10, 20, 30, 40, 50]
    rows[1] = np.arange(1, 11)
    rows[2, 0] = 7.5
    n = np.array([5, 10, 1, 0])
    got95 = percentile_rows(rows, n, 95)
    got90 = percentile_rows(rows, n, 90)
    assert got95[0] == 48.0 and got90[1] == pytest.approx(9.1, abs=1e-12)
    assert got95[2] == 7.5 and np.isnan(got95[3])
    for i in range(3):
        assert got95[i] == pytest.approx(percentile_hj663(rows[i, : n[i]], 95), abs=1e-12)


def test_blocks_refuse_values_off_the_reporting_precision():
    """The month blocks hold integers in units of the reporting precision; a daily value that is not (a bug
    upstream) is refused rather than silently rounded."""
    daily = _daily(4, n_entities=2)
    first, last = day_index(date(2023, 1, 1)), day_index(date(2023, 12, 31))
    matrix = DailyMatrix.from_rows(daily, "station", first, last)
    matrix.blocks()  # at precision: fine
    matrix.values["so2"][0, 0] = 10.25
    with pytest.raises(ValueError, match="reporting precision"):
        matrix.blocks()
