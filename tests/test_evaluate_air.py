"""Engine tests on small hand-built stores: every expected value is worked out by hand in the test."""

from __future__ import annotations

from datetime import date

import numpy as np
import pandas as pd
import pyarrow as pa
import pytest

from qingshan.evaluate.air import evaluate_period, rank, station_daily
from qingshan.evaluate.grid import load_grid
from qingshan.evaluate.periods import Period, day_index, parse_period
from qingshan.standards.pollutants import SIX
from qingshan.standards.rulesets import GB3095_2012_EVAL, GB3095_2026_TRANSITIONAL_EVAL

D0 = day_index(date(2023, 1, 20))


def load(ws, rows: pd.DataFrame, stations: list[tuple[str, str, bool]] | None = None) -> None:
    for p in SIX:
        if p not in rows:
            rows[p] = np.nan
    rows = rows.astype({p: float for p in SIX})
    rows["import_id"] = 1
    ws.upsert_air_hourly(pa.Table.from_pandas(rows[["station", "hi", *SIX, "import_id"]], preserve_index=False))
    if stations:
        st = pa.table({"code": [s[0] for s in stations], "name": [s[0] for s in stations], "city": [s[1] for s in stations],
                       "district": [None] * len(stations), "lon": [None] * len(stations), "lat": [None] * len(stations),
                       "is_control": [s[2] for s in stations], "status": [None] * len(stations),
                       "import_id": [1] * len(stations)})
        ws.upsert_stations(st)


def day_hours(day: int) -> np.ndarray:
    """The 24 hour labels of natural day ``day``: D 01:00 … D+1 00:00."""
    return np.arange(day * 24 + 1, day * 24 + 25)


def daily(ws, first: int, last: int, ev=GB3095_2012_EVAL) -> pd.DataFrame:
    table, _ = station_daily(load_grid(ws.con, "air_hourly", first, last), [(first, last, ev)])
    return table.to_pandas().sort_values(["station", "day"]).reset_index(drop=True)


def test_daily_mean_needs_20_hours_and_rounds_half_even(ws):
    hours = day_hours(D0)
    pm = np.full(24, 34.0)
    pm[:12] = 35.0  # mean 34.5 → 34 (half to even)
    a = pd.DataFrame({"station": "A", "hi": hours, "pm25": pm})
    b = pd.DataFrame({"station": "B", "hi": hours[:19], "pm25": 50.0})  # 19 hours → no daily value
    c = pd.DataFrame({"station": "C", "hi": hours[:20], "pm25": 50.0})  # 20 hours → valid
    load(ws, pd.concat([a, b, c]))
    d = daily(ws, D0, D0).set_index("station")
    assert d.loc["A", "pm25"] == 34 and d.loc["A", "n_pm25"] == 24
    assert pd.isna(d.loc["B", "pm25"]) and d.loc["B", "n_pm25"] == 19
    assert d.loc["C", "pm25"] == 50


def test_midnight_label_belongs_to_previous_day(ws):
    load(ws, pd.DataFrame({"station": "A", "hi": np.arange(D0 * 24 + 1, D0 * 24 + 49),
                           "so2": [10.0] * 23 + [100.0] + [20.0] * 24}))
    d = daily(ws, D0, D0 + 1)
    # day D0 holds 01:00 … 24:00 (the 100 at D0+1 00:00): (23·10 + 100)/24 = 13.75 → 14
    assert d.so2.tolist() == [14, 20]


def test_mda8_windows_inside_the_day(ws):
    # O3 = 100 everywhere, except a 300 at D0 03:00: trailing 8-h windows ending 03:00…10:00 contain it, but
    # only those ending 08:00, 09:00, 10:00 lie inside the day → MDA8 = (7·100 + 300)/8 = 125.
    hours = np.arange(D0 * 24 - 23, D0 * 24 + 25)
    o3 = np.where(hours == D0 * 24 + 3, 300.0, 100.0)
    load(ws, pd.DataFrame({"station": "A", "hi": hours, "o3": o3}))
    d = daily(ws, D0, D0).iloc[0]
    assert d.o3_8h_max == 125 and d.n_o3_8h == 17 and d.o3_1h_max == 300


def test_mda8_needs_14_windows_unless_above_limit(ws):
    # Hours 01:00–12:00 only. 8-h windows with ≥ 6 valid hours end at 06…14 (the one ending 14:00 holds 07–12);
    # inside the day that is 08…14: 7 < 14 windows, so the MDA8 is invalid unless above the 160 limit.
    hours = np.arange(D0 * 24 + 1, D0 * 24 + 13)
    low = pd.DataFrame({"station": "L", "hi": hours, "o3": 100.0})
    high = pd.DataFrame({"station": "H", "hi": hours, "o3": 200.0})
    load(ws, pd.concat([low, high]))
    d = daily(ws, D0, D0).set_index("station")
    assert pd.isna(d.loc["L", "o3_8h_max"]) and d.loc["L", "n_o3_8h"] == 7
    assert d.loc["H", "o3_8h_max"] == 200


def test_daily_aqi_and_day_validity(ws):
    hours = day_hours(D0)
    full = pd.DataFrame({"station": "F", "hi": hours, "so2": 10.0, "no2": 20.0, "co": 0.8, "o3": 50.0, "pm10": 60.0, "pm25": 80.0})
    only_pm = pd.DataFrame({"station": "P", "hi": hours, "pm25": 40.0})  # AQI 57 from PM2.5 alone: not a valid day
    heavy = pd.DataFrame({"station": "X", "hi": hours, "pm25": 160.0})  # AQI 210 > 100: valid even though incomplete
    load(ws, pd.concat([full, only_pm, heavy]))
    d = daily(ws, D0, D0).set_index("station")
    assert d.loc["F", "aqi"] == 107 and d.loc["F", "primary_pollutants"] == "pm25" and d.loc["F", "level"] == 3
    assert bool(d.loc["F", "day_valid"])
    assert d.loc["P", "aqi"] == 57 and not bool(d.loc["P", "day_valid"])
    assert d.loc["X", "aqi"] == 210 and bool(d.loc["X", "day_valid"])
    # The same day under the 2026 rules: PM2.5 80 → 119
    assert daily(ws, D0, D0, GB3095_2026_TRANSITIONAL_EVAL).set_index("station").loc["F", "aqi"] == 119


def _full_days(station: str, first: int, n_days: int, pm25: float | np.ndarray, **others) -> pd.DataFrame:
    hours = np.arange(first * 24 + 1, (first + n_days) * 24 + 1)
    pm = np.repeat(pm25, 24) if np.ndim(pm25) else pm25
    base = {"so2": 8.0, "no2": 30.0, "co": 0.8, "o3": 60.0, "pm10": 40.0}  # all IAQI < 50
    base.update(others)
    return pd.DataFrame({"station": station, "hi": hours, "pm25": pm, **base})


def test_city_mean_excludes_control_sites_and_needs_half_the_stations(ws):
    first = day_index(date(2023, 3, 1))
    a = _full_days("A", first, 2, np.array([30.0, 40.0]))
    b = _full_days("B", first, 2, np.array([50.0, 61.0]))
    ctl = _full_days("K", first, 2, np.array([500.0, 500.0]))
    c_missing = _full_days("C", first, 1, np.array([70.0]))  # C only on day 1
    load(ws, pd.concat([a, b, ctl, c_missing]),
         [("A", "城", False), ("B", "城", False), ("C", "城", False), ("K", "城", True)])
    res = evaluate_period(ws.con, Period(date(2023, 3, 1), date(2023, 3, 2), "t"), city="城")
    city = res.table[res.table.level == "city"].iloc[0]
    # day 1: (30+50+70)/3 = 50; day 2: (40+61)/2 = 50.5 → 50 (2 of 3 stations ≥ half) ; period mean (50+50.5)/2
    assert city.pm25_daily_min == 50 and city.pm25_daily_max == 50
    assert city.pm25_mean == 50
    assert city.valid_days == 2


def test_year_validity_and_statistics(ws):
    # A full year of daily PM2.5 = day-of-year (1…365); station B misses 5 days of March (26 valid days).
    first = day_index(date(2023, 1, 1))
    pm = np.arange(1, 366, dtype=float)
    a = _full_days("A", first, 365, pm)
    b = _full_days("B", first, 365, pm)
    march = (b.hi - 1) // 24 - first
    b = b[~march.between(59, 63)]
    load(ws, pd.concat([a, b]), [("A", "城", False), ("B", "城", False)])
    res = evaluate_period(ws.con, parse_period("2023"), city="城")
    t = res.table.set_index(["level", "code"])
    sa, sb = t.loc[("station", "A")], t.loc[("station", "B")]
    assert sa.n_pm25 == 365 and bool(sa.valid_pm25)
    assert sb.n_pm25 == 360 and not bool(sb.valid_pm25)  # March has 26 < 27
    # mean of 1…365 = 183; P95: k = 1 + 364·0.95 = 346.8 → 346 + 0.8 = 346.8 → 347
    assert sa.pm25_mean == 183 and sa.pm25_p95 == 347
    assert sa.pm25_mean_complies is False or sa.pm25_mean_complies == False  # noqa: E712
    assert sa.pm25_mean_exceed_multiple == pytest.approx(round((183 - 35) / 35, 2))
    # good days: daily AQI ≤ 100 ⇔ PM2.5 ≤ 75 (other pollutants are low) → days 1…75
    assert sa.good_days == 75 and sa.valid_days == 365 and sa.good_ratio == pytest.approx(20.5)
    assert sa.days_level1 == 35 and sa.primary_days_pm25 == 365 - 35
    assert res.eval_rulesets == ["gb3095-2012"] and res.limits == "gb3095-2012"


def test_period_across_the_2026_switch_uses_both_rule_sets(ws):
    first = day_index(date(2026, 2, 27))
    load(ws, _full_days("A", first, 4, 80.0), [("A", "城", False)])
    res = evaluate_period(ws.con, parse_period("2026-02-27:2026-03-02"), city="城")
    assert res.eval_rulesets == ["gb3095-2012", "gb3095-2026-transitional"]
    assert res.limits == "gb3095-2026-transitional"
    st = res.table[res.table.level == "station"].iloc[0]
    assert st.days_level3 == 4  # PM2.5 80: IAQI 107 (2012) and 119 (2026), both 轻度污染


def test_ranking_ties():
    t = pd.DataFrame({"code": ["a", "b", "c", "d"], "composite_index": [3.1, 2.9, 3.1, np.nan], "good_ratio": [80.0, 90.1, 80.0, 70.0]})
    r = rank(t, "composite_index")
    assert r.code.tolist() == ["b", "a", "c", "d"] and r.rank_composite_index.tolist()[:3] == [1, 2, 2]
    g = rank(t, "good_ratio")
    assert g.rank_good_ratio.tolist() == [1, 2, 2, 4]


def test_town_stations_rank_their_town_but_stay_out_of_city_and_district(ws, tmp_path):
    """Town stations (站点类别 乡镇) come from the station list; they form the town level only."""
    from qingshan.ingest import import_files

    (tmp_path / "st.csv").write_text(
        "监测点编码,监测点名称,城市,区县,乡镇（街道）,站点类别,对照点\n"
        "A,甲,城,东区,,国控,N\nB,乙,城,东区,,国控,N\n"
        "T1,湖镇一,城,东区,湖镇,乡镇,N\nT2,湖镇二,城,东区,湖镇,乡镇站,N\nT3,山镇,城,西区,山镇,乡镇,N\n",
        encoding="utf-8")
    import_files(ws, "stations", [tmp_path / "st.csv"])
    assert ws.con.execute("SELECT count(*) FROM stations WHERE network = '乡镇'").fetchall()[0][0] == 3
    first = day_index(date(2023, 3, 1))
    rows = pd.concat([_full_days("A", first, 1, 30.0), _full_days("B", first, 1, 50.0),
                      _full_days("T1", first, 1, 100.0), _full_days("T2", first, 1, 120.0),
                      _full_days("T3", first, 1, 7.0)])
    load(ws, rows)
    res = evaluate_period(ws.con, Period(date(2023, 3, 1), date(2023, 3, 1), "t"), city="城",
                          levels=("station", "city", "district", "town"))
    t = res.table.set_index(["level", "code"])["pm25_mean"]
    assert t[("city", "城")] == 40 and t[("district", "东区")] == 40  # A and B only
    assert ("district", "西区") not in t.index  # its only station is a town station
    assert t[("town", "湖镇")] == 110 and t[("town", "山镇")] == 7
    # re-importing the same list changes nothing
    assert import_files(ws, "stations", [tmp_path / "st.csv"])[0].unchanged == 5
