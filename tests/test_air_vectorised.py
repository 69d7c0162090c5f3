"""The vectorised, multi-threaded air engine (issue 16) gives exactly the results of the engine before it.

* the annual tables of a generated year equal, as exact CSV text, those of the engine before issue 16
  (tests/golden/air_annual_demo_2023.csv was written by that engine from the same generated year);
* the number of threads does not change a value;
* the compact grid holds float32 only where float32 is exact (CO at one decimal stays float64), the same values;
* the period validity per month (now one grouped reduction) follows the per-row rule it replaced;
* city sums by scatter-add equal the membership matrix product.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from qingshan.evaluate.air import group_sum, month_validity
from qingshan.evaluate.grid import load_grid
from qingshan.evaluate.periods import parse_period
from qingshan.standards.air_validity import period_months
from qingshan.standards.pollutants import SIX
from qingshan.standards.rulesets import GB3095_2012_EVAL
from qingshan.store.workspace import Workspace

from .air_year_fixtures import GOLDEN, annual_csv, build_demo_year


@pytest.fixture(scope="module")
def demo_ws(tmp_path_factory):
    folder = tmp_path_factory.mktemp("demo-year")
    w = Workspace(folder / "ws")
    build_demo_year(w, folder)
    yield w
    w.close()


def test_annual_tables_equal_those_of_the_engine_before(demo_ws):
    assert annual_csv(demo_ws.con) == GOLDEN.read_text()


def test_threads_do_not_change_a_value(demo_ws):
    # 16 stations on 3 workers: blocks of 6, 6 and 4 stations evaluated concurrently, results joined in order
    assert annual_csv(demo_ws.con, workers=3) == annual_csv(demo_ws.con, workers=1)


def test_compact_grid_is_float32_only_where_exact(demo_ws):
    p = parse_period("2023-02")
    wide = load_grid(demo_ws.con, "air_hourly", p.first_day, p.last_day)
    compact = load_grid(demo_ws.con, "air_hourly", p.first_day, p.last_day, compact=True)
    for q in SIX:
        # the generated data are integers except CO (one decimal, not a float32)
        assert compact.values[q].dtype == (np.float64 if q == "co" else np.float32), q
        np.testing.assert_array_equal(compact.values[q].astype(np.float64), wide.values[q])
    np.testing.assert_array_equal(compact.present, wide.present)
    block = next(compact.blocks(5))
    assert all(v.dtype == np.float64 for v in block.values.values())


def _rowwise_validity(monthly: pd.DataFrame, codes, months, v) -> dict[str, np.ndarray]:
    """The rule as the engine applied it before issue 16, row by row."""
    required = {(y, m): v.required_days(y, m, d) for y, m, d in months}
    out = {}
    for p, src in {"so2": "so2", "no2": "no2", "co": "co", "pm10": "pm10", "pm25": "pm25", "o3": "o3_8h_max"}.items():
        flags = []
        for code in codes:
            rows = monthly[monthly["code"] == code]
            ok = sum(int(r[f"n_{src}"] >= required[(int(r.y), int(r.m))]) for _, r in rows.iterrows())
            flags.append(ok == len(months) and len(rows) == len(months))
        if all(required[(y, m)] == 0 for y, m, _ in months):
            flags = [True] * len(codes)
        out[p] = np.array(flags, dtype=bool)
    return out


@settings(max_examples=15, deadline=None)
@given(st.data())
def test_month_validity_follows_the_rule_per_row(data):
    period = parse_period(data.draw(st.sampled_from(["2023", "2023-02", "2024-02", "2023-03-05:2023-05-20"])))
    months = period_months(period.start, period.end)
    codes = ["A", "B", "C"]
    rows = []
    for code in codes:
        for y, m, d in months:
            if data.draw(st.booleans()) or data.draw(st.booleans()):  # some entity-months have no row
                rows.append({"code": code, "y": y, "m": m,
                             **{f"n_{c}": data.draw(st.integers(0, d))
                                for c in ("so2", "no2", "co", "pm10", "pm25", "o3_8h_max")}})
    monthly = pd.DataFrame(rows, columns=["code", "y", "m", *[f"n_{c}" for c in ("so2", "no2", "co", "pm10", "pm25", "o3_8h_max")]])
    got = month_validity(monthly, np.array(codes, dtype=object), months, GB3095_2012_EVAL.validity)
    want = _rowwise_validity(monthly, codes, months, GB3095_2012_EVAL.validity)
    for p in want:
        np.testing.assert_array_equal(got[p], want[p], err_msg=p)


def testgroup_sums_equal_the_membership_product():
    rng = np.random.default_rng(3)
    groups = np.zeros((7, 50))
    groups[rng.integers(0, 7, 50), np.arange(50)] = 1.0
    groups[:, rng.choice(50, 10, replace=False)] = 0.0  # stations in no group (control sites, sensors)
    x = np.round(rng.uniform(0, 300, (50, 365)))
    np.testing.assert_array_equal(group_sum(groups)(x), groups @ x)
    overlapping = groups.copy()
    overlapping[0, :] = 1.0  # a station in two groups: the product itself
    np.testing.assert_array_equal(group_sum(overlapping)(x), overlapping @ x)
