"""The alarm rule air.ranking_drag 一个站点拖累全市排名 (qingshan.alerts.ranking_drag): hand-checked vectors, the
engine's own composite indices as the oracle, and the rule run over a store.

The vector: three stations A, B, C of one city, every day SO2 6, NO2 20, PM10 70, CO 0.8, O3 (max 8-h) 80, and
PM2.5 35 at A and B, 70 at C. With the GB 3095-2012 limits (60, 40, 70, 35; CO 4, O3 160):

* city PM2.5 = (35 + 35 + 70) / 3 = 46.67 → 47; I(city) = 0.1 + 0.5 + 1 + 47/35 + 0.2 + 0.5 = 3.642857 → 3.64
* without C: PM2.5 35 → I = 3.30, lift of C = 0.34; without A: (35 + 70) / 2 = 52.5 → 52 (GB/T 8170: 5 after an
  even digit) → I = 3.785714 → 3.79, lift of A = −0.15
* I_C = 0.1 + 0.5 + 1 + 2 + 0.2 + 0.5 = 4.30 ≥ 1.15 × 3.64 = 4.186; I_A = I_B = 3.30
"""

from __future__ import annotations

from dataclasses import replace
from datetime import date

import numpy as np
import pyarrow as pa
import pytest

from qingshan.alerts.config import AlarmRuleError, AlarmRules, load_rules
from qingshan.alerts.ranking_drag import city_daily, period_start, period_statistics, ranking_drag
from qingshan.alerts.run import run_alarm_rules
from qingshan.evaluate.air import evaluate_period, member_daily
from qingshan.evaluate.periods import Period, day_index
from qingshan.standards.air_limits import GB3095_2012
from qingshan.store.alarms import list_alarms
from qingshan.store.workspace import Workspace

DAYS = 6
CODES = np.array(["A", "B", "C"], dtype=object)
CITIES = np.array(["示范市"] * 3, dtype=object)
PM25 = {"A": 35.0, "B": 35.0, "C": 70.0}
CONSTANT = {"so2": 6.0, "no2": 20.0, "pm10": 70.0, "co": 0.8, "o3_8h_max": 80.0}


def daily(pm25: dict[str, float] = PM25, days: int = DAYS) -> dict[str, np.ndarray]:
    out = {c: np.full((3, days), v) for c, v in CONSTANT.items()}
    out["pm25"] = np.array([[pm25[c]] * days for c in CODES])
    return out


def by_station(found):
    return {d.station: d for d in found}


def test_hand_checked_vector_margin() -> None:
    d = daily()
    assert period_statistics({c: v[2] for c, v in d.items()}) == {"so2": 6, "no2": 20, "pm10": 70, "pm25": 70,
                                                                  "co": 0.8, "o3": 80}
    city = city_daily(d, np.array([True, True, True]), 3, 0.5)
    assert city["pm25"].tolist() == [47.0] * DAYS
    found = by_station(ranking_drag(CODES, CITIES, d, GB3095_2012))
    c, a = found["C"], found["A"]
    assert (c.station_index, c.city_index, c.without_index, c.lift) == (4.30, 3.64, 3.30, 0.34)
    assert (a.station_index, a.without_index, a.lift) == (3.30, 3.79, -0.15)
    assert c.by_margin and not c.by_rank and c.city_rank is None
    assert not a.drags and not found["B"].drags
    # a wider margin: 1.2 × 3.64 = 4.368 > 4.30
    assert not by_station(ranking_drag(CODES, CITIES, d, GB3095_2012, margin=0.2))["C"].drags
    # the station must also weigh in the city's figure: a lift of 0.34 is below 0.35
    assert not by_station(ranking_drag(CODES, CITIES, d, GB3095_2012, min_lift=0.35))["C"].drags


def test_hand_checked_vector_rank_among_peers() -> None:
    d = daily()
    # peers 3.50 and 3.60: the city (3.64) is 3rd; without C (3.30) it would be 1st
    found = by_station(ranking_drag(CODES, CITIES, d, GB3095_2012, margin=0.2,
                                    peers={"示范市": {"甲市": 3.50, "乙市": 3.60}}))
    assert (found["C"].city_rank, found["C"].rank_without) == (3, 1) and found["C"].by_rank
    assert not found["A"].drags  # without A the city would be worse (3.79), not better
    # a peer at 3.20: 2nd with C and 2nd without it — no change of rank
    assert not by_station(ranking_drag(CODES, CITIES, d, GB3095_2012, margin=0.2,
                                       peers={"示范市": {"甲市": 3.20}}))["C"].drags
    # a tie with the peer at 3.30 shares the 1st rank: better than 2nd
    assert by_station(ranking_drag(CODES, CITIES, d, GB3095_2012, margin=0.2,
                                   peers={"示范市": {"甲市": 3.30}}))["C"].by_rank


def test_the_city_needs_its_share_of_registered_stations() -> None:
    """Six registered stations, three with data: the city is valid (3 ≥ ceil(0.5 × 6) = 3); the city without C has
    five stations of which two report, fewer than ceil(0.5 × 5) = 3: no value, no lift can be claimed for C."""
    c = by_station(ranking_drag(CODES, CITIES, daily(), GB3095_2012, registered={"示范市": 6}))["C"]
    assert (c.city_index, c.without_index, c.lift, c.drags) == (3.64, None, None, False)
    # five registered: without C, two of four report — enough (ceil(0.5 × 4) = 2)
    assert by_station(ranking_drag(CODES, CITIES, daily(), GB3095_2012, registered={"示范市": 5}))["C"].lift == 0.34


def test_too_few_days_and_percentiles() -> None:
    d = daily()
    d["pm25"][2, 2:] = np.nan  # C has 2 complete days only
    assert "C" not in by_station(ranking_drag(CODES, CITIES, d, GB3095_2012, min_days=5))
    # CO 95th percentile of 1..10 (HJ 663 附录A: k = 1 + 9 × 0.95 = 9.55 → 9 + 0.55 = 9.55 → 9.6)
    assert period_statistics({**{c: np.full(10, v) for c, v in CONSTANT.items()}, "pm25": np.full(10, 30.0),
                              "co": np.arange(1.0, 11.0)})["co"] == 9.6


def test_period_start() -> None:
    assert period_start(date(2023, 3, 10), "month") == date(2023, 3, 1)
    assert period_start(date(2023, 3, 10), "year") == date(2023, 1, 1)


def only(*names: str, **params) -> AlarmRules:
    rules = load_rules()
    return AlarmRules(rules.version, tuple(replace(r, enabled=r.name in names,
                                                   params={**r.params, **params} if r.name in names else r.params)
                                           for r in rules.rules))


@pytest.fixture
def ws(tmp_path):
    with Workspace(tmp_path / "ws") as w:
        w.upsert_stations(pa.table({"code": ["A", "B", "C", "D", "CTRL"],
                                    "name": ["甲站", "乙站", "丙站", "丁站（无数据）", "对照"],
                                    "city": ["示范市"] * 5, "district": ["天宁区"] * 5,
                                    "lon": [120.0, 120.03, 119.97, 120.1, 119.5], "lat": [31.80, 31.80, 31.82, 31.7, 31.5],
                                    "is_control": [False, False, False, False, True], "status": [None] * 5,
                                    "import_id": [0] * 5}))
        day0 = day_index(date(2023, 3, 1))
        first, n = day0 * 24 + 1, DAYS * 24
        rows = {"station": [], "hi": [], "pm25": []}
        for st, v in {**PM25, "CTRL": 300.0}.items():  # a control site never enters city values
            rows["station"] += [st] * n
            rows["hi"] += list(range(first, first + n))
            rows["pm25"] += [v] * n
        table = {**rows, "so2": [6.0] * len(rows["hi"]), "no2": [20.0] * len(rows["hi"]),
                 "pm10": [70.0] * len(rows["hi"]), "co": [0.8] * len(rows["hi"]), "o3": [80.0] * len(rows["hi"]),
                 "import_id": [1] * len(rows["hi"])}
        w.upsert_air_hourly(pa.table(table))
        yield w


def test_the_engine_agrees_with_the_rule(ws) -> None:
    """The rule's station and city indices are the evaluation engine's (the ranking page's) numbers."""
    period = Period(date(2023, 3, 1), date(2023, 3, DAYS), "test")
    table = evaluate_period(ws.con, period, data="raw").table
    engine = dict(zip(table["code"].where(table["level"] == "station", table["name"]), table["composite_index"]))
    md = member_daily(ws.con, period, data="raw")
    assert sorted(md.codes) == ["A", "B", "C"]  # not the control site, not D (no data)
    assert md.registered == {"示范市": 4}  # D counts for the city's share of stations
    found = by_station(ranking_drag(md.codes, md.cities, md.values, md.ruleset.limits, registered=md.registered))
    assert found["C"].station_index == pytest.approx(engine["C"]) == 4.30
    assert found["C"].city_index == pytest.approx(engine["示范市"]) == 3.64


def test_run_raises_the_alarm_for_the_station_that_drags(ws) -> None:
    until = (day_index(date(2023, 3, 1)) + DAYS) * 24  # 24:00 of the last day
    res = run_alarm_rules(ws.con, until, rules=only("air.ranking_drag"))
    assert res.new == 1
    a = list_alarms(ws.con).iloc[0]
    assert (a["subject"], a["rule"], a["level"]) == ("C", "air.ranking_drag", 2)
    assert (a["peak_value"], a["peak_reference"]) == (4.30, 3.64)
    assert run_alarm_rules(ws.con, until, rules=only("air.ranking_drag")).unchanged == 1  # idempotent


def test_peers_raise_the_level_and_bad_peers_are_refused(ws, tmp_path) -> None:
    until = (day_index(date(2023, 3, 1)) + DAYS) * 24
    run_alarm_rules(ws.con, until, rules=only("air.ranking_drag", margin=0.2,
                                              peers={"示范市": {"甲市": 3.50, "乙市": 3.60}}))
    a = list_alarms(ws.con).iloc[0]
    assert (a["subject"], a["level"]) == ("C", 3)
    (tmp_path / "alerts.yaml").write_text("rules:\n  - name: air.ranking_drag\n    peers: {示范市: 3.5}\n",
                                          encoding="utf-8")
    with pytest.raises(AlarmRuleError, match="peers"):
        load_rules(tmp_path)
