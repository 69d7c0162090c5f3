"""Hand-checked vectors (standards.md §10) and properties of the HJ 633 / HJ 663 functions."""

from __future__ import annotations

from datetime import date

import duckdb
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from qingshan.standards.air_aqi import (
    CNEMC_REALTIME,
    HJ633_2012,
    HJ633_2026,
    TABLES_2012,
    TABLES_2026,
    aqi_arrays,
    aqi_of,
    category,
    iaqi,
    iaqi_array,
    primary_text,
)
from qingshan.standards.air_evaluation import exceedance_multiple, percentile_hj663
from qingshan.standards.air_limits import GB3095_2012, GB3095_2026_FINAL, GB3095_2026_TRANSITIONAL
from qingshan.standards.air_ranking import composite_index, rank_with_ties
from qingshan.standards.air_validity import GB3095_TABLE4, period_months
from qingshan.standards.rounding import round_gbt8170, round_gbt8170_array
from qingshan.standards.rulesets import aqi_ruleset_for, eval_ruleset_for


@pytest.mark.parametrize(
    "table,conc,expected",
    [("pm25_24h", 40, 57), ("pm25_24h", 80, 107), ("pm10_24h", 180, 115), ("o3_8h", 170, 110),
     ("no2_24h", 85, 103), ("co_24h", 1.5, 38), ("so2_24h", 10, 10), ("o3_1h", 210, 105),
     ("pm25_24h", 35, 50), ("pm25_24h", 75, 100), ("co_24h", 0.8, 20), ("co_24h", 3.9, 98),
     ("pm25_24h", 500, 500), ("pm25_24h", 501, 500), ("pm10_24h", 1800, 500), ("so2_24h", 0, 0)],
)
def test_iaqi_vectors_2012(table, conc, expected):
    assert iaqi(TABLES_2012[table], conc) == expected


@pytest.mark.parametrize("table,conc,expected", [("pm25_24h", 40, 60), ("pm25_24h", 80, 119), ("pm10_24h", 180, 124)])
def test_iaqi_vectors_2026(table, conc, expected):
    assert iaqi(TABLES_2026[table], conc) == expected


def test_concentration_rounded_before_iaqi():
    # 75.5 µg/m³ is reported as 76 (GB/T 8170: half to even → 76), 74.5 as 74.
    assert iaqi(TABLES_2012["pm25_24h"], 75.5) == iaqi(TABLES_2012["pm25_24h"], 76) == 102
    assert iaqi(TABLES_2012["pm25_24h"], 74.5) == iaqi(TABLES_2012["pm25_24h"], 74) == 99
    assert iaqi(TABLES_2012["co_1h"], None) is None and iaqi(TABLES_2012["co_1h"], -1) is None


def test_hourly_vector_all_150_and_primary():
    r = aqi_of(dict(pm25=250, pm10=350, so2=650, no2=700, co=35, o3=300), CNEMC_REALTIME, "hourly")
    assert r.iaqi == {"so2": 150, "no2": 150, "co": 150, "o3": 150, "pm10": 200, "pm25": 300}
    assert (r.aqi, r.primary, r.category.name_zh, r.category.colour) == (300, ("pm25",), "重度污染", "#99004C")


def test_all_fifty_gives_no_primary():
    r = aqi_of(dict(pm25=35, pm10=50, so2=150, no2=100, co=5, o3=160), CNEMC_REALTIME, "hourly")
    assert set(r.iaqi.values()) == {50} and r.aqi == 50 and r.primary == () and r.category.name_zh == "优"


def test_primary_ties_listed_in_order():
    r = aqi_of(dict(pm25=115, pm10=250, so2=5, no2=5, co=0.2, o3=20), CNEMC_REALTIME, "hourly")
    assert r.aqi == 150 and r.primary == ("pm10", "pm25")


def test_so2_above_800_rules():
    v = dict(so2=952, so2_24h=131, pm25=10, no2=10, co=0.5, o3=10, pm10=20)
    assert aqi_of(v, CNEMC_REALTIME, "hourly").iaqi["so2"] == 200
    assert aqi_of(v, HJ633_2026, "hourly").iaqi["so2"] == 200
    lit = aqi_of({**v, "pm10_24h": 20, "pm25_24h": 10}, HJ633_2012, "hourly")
    assert lit.iaqi["so2"] == iaqi(TABLES_2012["so2_24h"], 131) == 91


def test_o3_8h_above_800_rules():
    d = dict(so2=5, no2=5, co=0.5, pm10=20, pm25=10, o3_1h_max=900, o3_8h_max=810)
    r2012 = aqi_of(d, CNEMC_REALTIME, "daily")
    assert r2012.iaqi["o3_8h"] is None and r2012.iaqi["o3"] == iaqi(TABLES_2012["o3_1h"], 900) == 350
    assert aqi_of(d, HJ633_2026, "daily").iaqi["o3_8h"] == 300


def test_2026_publication_rule():
    partial = dict(so2=5, no2=5, co=0.5, o3=10, pm10=20)  # PM2.5 missing
    assert aqi_of(partial, HJ633_2026, "hourly").aqi is None
    assert aqi_of({**partial, "pm10": 300}, HJ633_2026, "hourly").aqi == 175
    assert aqi_of(partial, CNEMC_REALTIME, "hourly").aqi == 20


def test_categories_boundaries():
    assert [category(a).level for a in (0, 50, 51, 100, 101, 150, 151, 200, 201, 300, 301, 500)] == [
        1, 1, 2, 2, 3, 3, 4, 4, 5, 5, 6, 6]


@given(st.sampled_from(sorted(TABLES_2012)), st.floats(0, 4000, allow_nan=False), st.floats(0, 50, allow_nan=False))
def test_iaqi_monotone(table, c, d):
    t = TABLES_2012[table]
    assert iaqi(t, c) <= iaqi(t, c + d)


@given(st.sampled_from(sorted(TABLES_2026)), st.data())
def test_iaqi_continuous_and_exact_at_breakpoints(table, data):
    t = TABLES_2026[table]
    i = data.draw(st.integers(0, len(t.conc) - 1))
    assert iaqi(t, t.conc[i]) == t.iaqi[i]
    if 0 < i:
        step = 10.0 ** -t.digits
        assert t.iaqi[i] - iaqi(t, t.conc[i] - step) <= (t.iaqi[i] - t.iaqi[i - 1]) / (t.conc[i] - t.conc[i - 1]) * step + 1


@given(st.sampled_from(sorted(TABLES_2012)), st.integers(0, 40000))
def test_iaqi_is_ceiling_of_exact_interpolation(table, units):
    from fractions import Fraction

    t = TABLES_2012[table]
    c = units / 10**t.digits
    got = iaqi(t, c)
    if c >= t.top:
        assert got == t.top_iaqi
        return
    j = next(k for k in range(1, len(t.conc)) if c <= t.conc[k])
    exact = Fraction(t.iaqi[j] - t.iaqi[j - 1]) / (Fraction(t.conc[j]) - Fraction(t.conc[j - 1])) * (
        Fraction(units, 10**t.digits) - Fraction(t.conc[j - 1])) + t.iaqi[j - 1]
    assert got - 1 < exact <= got


_conc = st.one_of(st.none(), st.floats(0, 4000, allow_nan=False), st.integers(0, 4000).map(float),
                  st.integers(0, 1500).map(lambda u: u / 10))


@settings(max_examples=200, deadline=None)
@given(st.lists(st.fixed_dictionaries({k: _conc for k in
                ("so2", "no2", "co", "o3", "pm10", "pm25", "so2_24h", "pm10_24h", "pm25_24h", "o3_8h")}),
                min_size=1, max_size=30),
       st.sampled_from(["hourly", "daily"]))
def test_vectorised_kernel_equals_scalar_reference(rows, kind):
    """The numpy kernels the engine runs give exactly the scalar reference's IAQIs, AQI, level and primary."""
    for r in rows:
        r["o3_1h_max"], r["o3_8h_max"] = r["o3"], r["o3_8h"]
    cols = {k: np.array([np.nan if r[k] is None else r[k] for r in rows]) for k in rows[0]}
    for rs in (CNEMC_REALTIME, HJ633_2012, HJ633_2026):
        got = aqi_arrays(cols, rs, kind)
        for i, r in enumerate(rows):
            want = aqi_of(r, rs, kind)
            for code, v in want.iaqi.items():
                g = got[f"iaqi_{code}"][i]
                assert (v is None and np.isnan(g)) or g == v, (rs.name, code, r)
            assert (want.aqi is None and np.isnan(got["aqi"][i])) or got["aqi"][i] == want.aqi
            assert got["level"][i] == (want.category.level if want.category else 0)
            assert primary_text(got["primary_mask"])[i] == ",".join(want.primary)


@given(st.sampled_from(sorted(TABLES_2026)), st.lists(st.floats(0, 5000, allow_nan=False), min_size=1, max_size=50))
def test_iaqi_array_equals_iaqi(table, xs):
    t = TABLES_2026[table]
    assert iaqi_array(t, np.array(xs)).tolist() == [float(iaqi(t, x)) for x in xs]
    assert np.isnan(iaqi_array(t, np.array([-0.3, np.nan]))).all()


def test_chunked_kernel_equals_single_pass(monkeypatch):
    import qingshan.standards.air_aqi as aq

    rng = np.random.default_rng(3)
    vals = {p: np.where(rng.random(5000) < 0.1, np.nan, rng.gamma(2, 60, 5000)) for p in ("so2", "no2", "o3", "pm10", "pm25")}
    vals["co"] = rng.gamma(2, 1.5, 5000)
    whole = aq.aqi_arrays(vals, HJ633_2026, "hourly")
    monkeypatch.setattr(aq, "CHUNK_ROWS", 777)
    chunked = aq.aqi_arrays(vals, HJ633_2026, "hourly")
    for k in whole:
        assert np.array_equal(whole[k], chunked[k], equal_nan=True), k


@given(st.floats(0, 1e5, allow_nan=False), st.integers(0, 2))
def test_array_rounding_equals_decimal_rounding(x, digits):
    from decimal import Decimal

    exact = round_gbt8170(Decimal(repr(x)), digits)
    assert round_gbt8170_array(np.array([x]), digits)[0] == pytest.approx(exact, abs=1e-9)


def test_gbt8170_half_even():
    assert [round_gbt8170(v) for v in (0.5, 1.5, 2.5, 34.5, 35.5, 34.51)] == [0, 2, 2, 34, 36, 35]
    assert round_gbt8170(1.05, 1) == 1.0 and round_gbt8170(1.15, 1) == 1.2 and round_gbt8170(2.675, 2) == 2.68
    assert round_gbt8170(13.2 / 24, 1) == 0.6  # 0.55 computed in floating point is still the half case


def test_percentile_vectors_and_numpy():
    assert percentile_hj663(range(1, 11), 90) == pytest.approx(9.1)
    assert percentile_hj663([10, 20, 30, 40, 50], 95) == pytest.approx(48.0)
    assert percentile_hj663([], 90) is None and percentile_hj663([7], 98) == 7


@given(st.lists(st.floats(0, 1000, allow_nan=False), min_size=1, max_size=400), st.sampled_from([90, 95, 98]))
@settings(deadline=None, max_examples=50)
def test_percentile_equals_numpy_and_duckdb(xs, p):
    ours = percentile_hj663(xs, p)
    assert ours == pytest.approx(float(np.percentile(xs, p, method="linear")), rel=1e-12, abs=1e-9)
    con = duckdb.connect()
    con.execute("CREATE TABLE v(x DOUBLE)")
    con.executemany("INSERT INTO v VALUES (?)", [[x] for x in xs])
    (dq,) = con.execute(f"SELECT quantile_cont(x, {p / 100}) FROM v").fetchall()[0]
    assert ours == pytest.approx(dq, rel=1e-12, abs=1e-9)


def test_limits_and_exceedance():
    assert GB3095_2012.limit("pm25", "annual") == 35 and GB3095_2026_TRANSITIONAL.limit("pm25", "annual") == 30
    assert GB3095_2026_FINAL.limit("pm25", "24h") == 50 and GB3095_2026_FINAL.limit("no2", "annual") == 30
    assert GB3095_2012.limit("o3", "8h", grade=1) == 100
    assert exceedance_multiple(42, 35) == 0.2 and exceedance_multiple(35, 35) is None


def test_composite_index_and_ties():
    stats = {"so2": 9, "no2": 33, "pm10": 58, "pm25": 34, "co": 1.1, "o3": 170}
    # 9/60 + 33/40 + 58/70 + 34/35 + 1.1/4 + 170/160 = 0.15 + 0.825 + 0.828571 + 0.971429 + 0.275 + 1.0625
    assert composite_index(stats, GB3095_2012) == 4.11
    assert rank_with_ties([3.2, 4.1, 3.2, None, 2.9]) == [2, 4, 2, None, 1]
    assert rank_with_ties([80.0, 90.0, 90.0], ascending=False) == [3, 1, 1]


def test_validity_months():
    v = GB3095_TABLE4
    assert v.month_minimum(2023, 2) == 25 and v.month_minimum(2023, 3) == 27
    assert v.required_days(2023, 1, 31) == 27 and v.required_days(2023, 1, 10) == 6 and v.required_days(2023, 2, 3) == 0
    assert period_months(date(2023, 1, 20), date(2023, 3, 5)) == [(2023, 1, 12), (2023, 2, 28), (2023, 3, 5)]


def test_ruleset_switch_by_date():
    assert aqi_ruleset_for(date(2026, 2, 28)).name == "cnemc-realtime"
    assert aqi_ruleset_for(date(2026, 3, 1)).name == "hj633-2026"
    assert eval_ruleset_for(date(2025, 12, 31)).name == "gb3095-2012"
    assert eval_ruleset_for(date(2026, 3, 1)).name == "gb3095-2026-transitional"
    assert eval_ruleset_for(date(2031, 1, 1)).name == "gb3095-2026-final"
