"""Noise: GB 3096-2008 zone limits, HJ 640-2012 grades, length-weighted road mean, functional-zone compliance —
hand-worked examples, and the ``qingshan noise evaluate`` command."""

from __future__ import annotations

import pandas as pd
import pytest

from qingshan.evaluate.noise import evaluate_regional, evaluate_road, evaluate_zones
from qingshan.standards import noise as N

from .water_helpers import water_cli  # noqa: F401 (fixture)


def test_zone_limits():
    assert N.ZONE_LIMITS == {"0": (50, 40), "1": (55, 45), "2": (60, 50), "3": (65, 55), "4a": (70, 55), "4b": (70, 60)}
    assert [N.normalise_zone(t) for t in ("2类", "4A", "4b类", " 0 ", "5")] == ["2", "4a", "4b", "0", None]


@pytest.mark.parametrize("level,period,grade", [
    (50.0, "day", "一级"), (50.1, "day", "二级"), (53.7, "day", "二级"), (55.04, "day", "二级"), (55.06, "day", "三级"),
    (65.0, "day", "四级"), (65.1, "day", "五级"), (40.0, "night", "一级"), (44.8, "night", "二级"), (55.1, "night", "五级"),
])
def test_regional_grades(level, period, grade):
    """HJ 640 表: 一级 ≤ 50.0 … 五级 > 65.0 (night 40/45/50/55); levels rounded to 1 decimal first (55.04 → 55.0)."""
    assert N.regional_grade(level, period)[1] == grade


@pytest.mark.parametrize("level,period,grade", [(65.9, "day", "一级"), (68.0, "day", "一级"), (68.1, "day", "二级"),
                                                (74.0, "day", "四级"), (74.1, "day", "五级"), (58.9, "night", "二级"),
                                                (64.1, "night", "五级")])
def test_road_grades(level, period, grade):
    """Changzhou 2023 bulletin: road day 65.9 → 一级 好, night 58.9 → 二级 较好."""
    assert N.road_grade(level, period)[1] == grade


def test_means():
    assert N.regional_mean([52.0, 54.0, 55.1, 53.7]) == 53.7
    assert N.road_mean([66.0, 70.0, 73.0], [2.0, 1.0, 1.0]) == 68.8  # (132 + 70 + 73) / 4 = 68.75 → 68.8
    assert N.energy_mean([60.0, 70.0]) == pytest.approx(67.4036, abs=1e-4)


def test_regional_table_by_district():
    df = pd.DataFrame({"point": ["a", "b", "c", "d"], "leq_day": ["52.0", "54.0", "55.1", "53.7"],
                       "leq_night": ["44", "45", "", "46"], "district": ["天宁", "天宁", "钟楼", "钟楼"]})
    out, q = evaluate_regional(df)
    city = out[out.area == "全市"].set_index("period")
    assert city.loc["昼间", "mean_db"] == 53.7 and city.loc["昼间", "grade"] == "二级" and city.loc["昼间", "points"] == 4
    assert city.loc["夜间", "mean_db"] == 45.0 and city.loc["夜间", "grade_name"] == "较好" and city.loc["夜间", "points"] == 3
    assert out[(out.area == "钟楼") & (out.period == "昼间")]["mean_db"].item() == pytest.approx(54.4)


def test_road_table_and_length_bands():
    df = pd.DataFrame({"segment": ["s1", "s2", "s3"], "length_km": ["2", "1", "1"], "leq_day": ["66", "70", "73"],
                       "leq_night": ["57", "61", "x"]})
    out, bands, q = evaluate_road(df)
    day = out[out.period == "昼间"].iloc[0]
    assert (day.mean_db, day.grade, day.length_km) == (68.8, "二级", 4.0)
    night = out[out.period == "夜间"].iloc[0]
    assert night.mean_db == pytest.approx((57 * 2 + 61) / 3, abs=0.05) and night.segments == 2
    b = bands[bands.period == "昼间"].set_index("band")["share_pct"].to_dict()
    assert b == {"≤68.0": 50.0, "68.1~70.0": 25.0, "70.1~72.0": 0.0, "72.1~74.0": 25.0, ">74.0": 0.0}
    assert q.reasons == ["非数值"] and q.lines == [4]


def test_functional_zone_compliance():
    df = pd.DataFrame({"point": list("abcdef"), "zone": ["1类", "1", "1", "1", "4a", "bad"],
                       "leq_day": ["50", "55", "55.04", "56", "69", "50"], "leq_night": ["44", "45", "45.04", "46", "56", "40"]})
    out, q = evaluate_zones(df)
    r = out.set_index(["zone", "period"])
    assert r.loc[("1类", "昼间"), "rate_pct"] == 75.0 and r.loc[("1类", "夜间"), "compliant"] == 3
    assert r.loc[("4a类", "夜间"), "rate_pct"] == 0.0 and r.loc[("全部", "昼间"), "sessions"] == 5
    assert q.lines == [7] and "声功能区类别无法识别" in q.reasons[0]


def test_cli_noise_evaluate(tmp_path, water_cli):
    run, _ = water_cli
    (tmp_path / "r.csv").write_text("点位,昼间,夜间\na,53.5,44.0\nb,53.9,45.6\n", encoding="utf-8")
    (tmp_path / "z.csv").write_text("point,zone,leq_day,leq_night\na,2,58,49\nb,2,61,51\n", encoding="gbk")
    res = run(["noise", "evaluate", "--regional", str(tmp_path / "r.csv"), "--zones", str(tmp_path / "z.csv"),
               "-o", str(tmp_path / "n.xlsx")])
    assert res.exit_code == 0, res.output
    assert "53.7" in res.output and "较好" in res.output
    book = pd.read_excel(tmp_path / "n.xlsx", sheet_name=None)
    assert set(book) == {"区域", "功能区"} and book["功能区"]["rate_pct"].tolist()[:2] == [50.0, 50.0]
