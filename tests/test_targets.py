"""Annual targets: every expected figure below is worked out by hand in the comments."""

from __future__ import annotations

import json
from datetime import date
from fractions import Fraction

import numpy as np
import pandas as pd
import pyarrow as pa
import pytest

pytest.importorskip("yaml")

from qingshan.evaluate.periods import day_index
from qingshan.standards.pollutants import SIX
from qingshan.targets.config import (
    TargetConfigError,
    find_config,
    load_config,
    parse_config,
)
from qingshan.targets.progress import (
    days_elapsed,
    days_in_year,
    days_left,
    good_days_progress,
    mean_progress,
    min_count,
    months_completed,
    no_worse_v_progress,
    share_progress,
    threshold,
)

# --- calendar -----------------------------------------------------------------------------------------------------


def test_calendar_leap_years():
    assert days_in_year(2023) == 365 and days_in_year(2024) == 366 and days_in_year(2100) == 365
    # 2024-02-29: 31 + 29 = 60 days elapsed, 366 − 60 = 306 left; 2023-03-01: 31 + 28 + 1 = 60, 365 − 60 = 305
    assert (days_elapsed(date(2024, 2, 29)), days_left(date(2024, 2, 29))) == (60, 306)
    assert (days_elapsed(date(2023, 3, 1)), days_left(date(2023, 3, 1))) == (60, 305)
    assert days_left(date(2024, 12, 31)) == 0 and days_elapsed(date(2024, 12, 31)) == 366
    # a month counts only when as_of is its last day
    assert months_completed(date(2023, 6, 30)) == 6 and months_completed(date(2023, 6, 29)) == 5
    assert months_completed(date(2024, 2, 29)) == 2 and months_completed(date(2023, 2, 28)) == 2


# --- thresholds (GB/T 8170 rounding of the annual value) ------------------------------------------------------


def test_thresholds_follow_half_even_rounding():
    # ≤ 31 (integer): 31.5 rounds to 32 → the raw mean must be < 31.5
    assert threshold("≤", 31, 0) == threshold("≤", 31, 0).__class__(Fraction(63, 2), False, True)
    # ≤ 30: 30.5 rounds to 30 → ≤ 30.5 qualifies
    t30 = threshold("≤", 30, 0)
    assert t30.bound == Fraction(61, 2) and t30.inclusive
    # < 31 is ≤ 30
    assert threshold("<", 31, 0) == t30
    # ≥ 80.0 % (1 decimal): 79.95 → 80.0 (799.5 → 800, even) → ≥ 79.95 qualifies
    t80 = threshold("≥", 80.0, 1)
    assert t80.bound == Fraction(1599, 20) and t80.inclusive and not t80.upper
    # > 80.0 is ≥ 80.1: 80.05 → 80.0 (800.5 → 800) → must be > 80.05
    t = threshold(">", 80.0, 1)
    assert t.bound == Fraction(1601, 20) and not t.inclusive
    # dustfall ≤ 2.3 (1 decimal): 2.35 → 2.4 → must be < 2.35
    td = threshold("≤", 2.3, 1)
    assert td.bound == Fraction(47, 20) and not td.inclusive


# --- PM2.5 annual mean ----------------------------------------------------------------------------------------


def test_pm25_mid_year_at_risk():
    # as of 2023-06-30: 181 days elapsed, 184 left; 181 valid days averaging 34 → sum 6154.
    # Annual mean must be < 31.5 over 365 days: remaining sum < 31.5·365 − 6154 = 11497.5 − 6154 = 5343.5
    # → remaining mean < 5343.5 / 184 = 29.0407… ; shown cut down to 29.0 (so "≤ 29.0").
    p = mean_progress("≤", 31, 0, 6154.0, 181, days_left(date(2023, 6, 30)), 181, "µg/m³")
    assert p.requirement == "needed" and p.required == pytest.approx(5343.5 / 184)
    assert p.status == "at_risk" and p.ytd_value == 34 and p.coverage == 100.0
    assert "≤ 29.0" in p.required_text


def test_pm25_on_track_with_missing_days():
    # 100 valid of 181 elapsed days, mean 30 → sum 3000; N = 100 + 184 = 284 (remaining days assumed valid);
    # remaining mean < (31.5·284 − 3000)/184 = (8946 − 3000)/184 = 32.315…
    p = mean_progress("≤", 31, 0, 3000.0, 100, 184, 181, "µg/m³")
    assert p.status == "on_track" and p.required == pytest.approx(5946 / 184)
    assert p.coverage == pytest.approx(55.2)  # 100/181 = 55.25 → 55.2 (half even)


def test_pm25_impossible():
    # as of 2023-12-01: 335 days elapsed, 30 left; mean 35 → sum 11725 > 11497.5 = 31.5·365:
    # even 0 µg/m³ on each of the 30 remaining days gives 11725/365 = 32.1 → 32 > 31.
    p = mean_progress("≤", 31, 0, 11725.0, 335, days_left(date(2023, 12, 1)), 335, "µg/m³")
    assert days_left(date(2023, 12, 1)) == 30
    assert p.requirement == "impossible" and p.status == "missed" and p.required is None


def test_pm25_boundary_equality():
    # Strict bound: sum exactly 11497.5 over 335 days, 30 left → the remaining mean would have to be < 0 → impossible.
    assert mean_progress("≤", 31, 0, 11497.5, 335, 30, 335).requirement == "impossible"
    # Inclusive bound (target 30: 30.5 rounds to 30): sum 30.5·365 = 11132.5 → remaining mean ≤ 0 is still allowed.
    p = mean_progress("≤", 30, 0, 11132.5, 335, 30, 335)
    assert p.requirement == "needed" and p.required == 0 and "≤ 0.0" in p.required_text
    # Year over: mean exactly 31.5 → 32 → missed; mean 30.5 → 30 → meets ≤ 30.
    assert mean_progress("≤", 31, 0, 63.0, 2, 0, 2).status == "missed"
    assert mean_progress("≤", 30, 0, 61.0, 2, 0, 2).status == "on_track"
    # Exact shown figure keeps the strict operator: 2 days, sum 59, 2 left: (31.5·4 − 59)/2 = 33.5 exactly → "< 33.5"
    assert "< 33.5" in mean_progress("≤", 31, 0, 59.0, 2, 2, 2).required_text


def test_pm25_leap_year():
    # 2024-12-30: 365 days elapsed, 1 left (366-day year). 365 days at 31 → sum 11315.
    # Annual mean < 31.5 over 366 days: last day < 31.5·366 − 11315 = 11529 − 11315 = 214.
    # (Had the year 365 days there would be no day left at all.)
    p = mean_progress("≤", 31, 0, 11315.0, 365, days_left(date(2024, 12, 30)), 365)
    assert p.remaining == 1 and p.required == pytest.approx(214.0) and "< 214.0" in p.required_text


def test_mean_already_secured_for_a_lower_target():
    # A "≥ 10" mean (digits 0: 9.5 rounds to 10, so ≥ 9.5): 10 values summing 200, 10 left:
    # r_min = (9.5·20 − 200)/10 = −1 ≤ 0 → secured whatever comes.
    p = mean_progress("≥", 10, 0, 200.0, 10, 10, 10)
    assert p.requirement == "secured" and p.status == "on_track"
    # An upper target is never secured while days remain (one day could be arbitrarily high) …
    assert mean_progress("≤", 31, 0, 100.0, 10, 1, 10).requirement == "needed"
    # … but is final at year end.
    assert mean_progress("≤", 31, 0, 100.0, 10, 0, 10).requirement == "final"


# --- good-days ratio ------------------------------------------------------------------------------------------


def test_good_days_needed_leap_and_common_year():
    # 2024-02-29 (leap): 60 valid, 40 good, 306 left → N = 366; k = ceil(79.95·366/100) = ceil(292.617) = 293
    # (293/366 = 80.05 % → 80.1 ✓; 292/366 = 79.78 % → 79.8 ✗) → 293 − 40 = 253 of 306 still needed.
    p = good_days_progress("≥", 80.0, 1, 40, 60, days_left(date(2024, 2, 29)), 60)
    assert p.required == 253 and p.status == "at_risk" and p.ytd_value == pytest.approx(66.7)
    # 2023-03-01: same counts, 305 left → N = 365; k = ceil(291.8175) = 292 → 252 needed.
    p = good_days_progress("≥", 80.0, 1, 40, 60, days_left(date(2023, 3, 1)), 60)
    assert p.required == 252 and "252" in p.required_text


def test_good_days_impossible_and_secured():
    # 2023-10-31: 304 elapsed, 61 left; N = 365 → k = 292.
    # 200 good → 92 needed > 61 left → impossible.
    p = good_days_progress("≥", 80.0, 1, 200, 304, 61, 304)
    assert p.requirement == "impossible" and p.status == "missed" and p.required == 92
    # 292 good → 0 needed → secured (good days never decrease).
    p = good_days_progress("≥", 80.0, 1, 292, 304, 61, 304)
    assert p.requirement == "secured" and p.status == "on_track"
    # exactly enough: 231 good, 61 left → 292 − 231 = 61 = days left → still possible, every day must be good.
    p = good_days_progress("≥", 80.0, 1, 231, 304, 61, 304)
    assert p.requirement == "needed" and p.required == 61


def test_good_days_boundary_equality():
    # 1599 / 2000 = 79.95 % → rounds (half even) to 80.0 → meets ≥ 80.0 exactly at the bound.
    assert good_days_progress("≥", 80.0, 1, 1599, 2000, 0, 2000).status == "on_track"
    assert good_days_progress("≥", 80.0, 1, 1598, 2000, 0, 2000).status == "missed"  # 79.90
    assert min_count("≥", 80.0, 1, 2000) == 1599  # ceil(79.95·20) = 1599 exactly
    assert min_count(">", 80.0, 1, 2000) == 1602  # > 80.05 % → > 1601 → 1602


# --- water sections ---------------------------------------------------------------------------------------------


def test_section_share():
    # 国考 ≥ 80 % of 10 sections: k = ceil(79.95·10/100) = ceil(7.995) = 8; 7 meet → 1 more section.
    p = share_progress("≥", 80, 1, 10, 7)
    assert p.required == 1 and p.status == "at_risk"
    # 省考 ≥ 92.2 % of 13: k = ceil(92.15·13/100) = ceil(11.9795) = 12 (12/13 = 92.3 %); 12 meet → on track.
    p = share_progress("≥", 92.2, 1, 13, 12)
    assert p.required == 0 and p.status == "on_track" and p.ytd_value == pytest.approx(92.3)
    # drinking water sources all ≥ Ⅲ: 3 of 3 needed; 2 meet → 1 more; at year end → missed
    assert share_progress("≥", 100, 1, 3, 2).required == 1
    assert share_progress("≥", 100, 1, 3, 2, year_over=True).status == "missed"


def test_no_worse_v_months():
    # 消除劣Ⅴ (max 0 劣Ⅴ months): after 6 months without any, each section can afford 0 more.
    p = no_worse_v_progress({"A": 0, "B": 0}, 6, 0)
    assert p.status == "on_track" and p.required == 0
    p = no_worse_v_progress({"A": 0, "B": 1}, 6, 0)
    assert p.status == "missed" and p.requirement == "impossible"
    # Rule with 2 allowed months: A has 1 (pace 1·12/6 = 2 ≤ 2, can afford 1); B has 2 (pace 4 > 2 → at risk,
    # can afford 0) → the indicator can afford min(1, 0) = 0.
    p = no_worse_v_progress({"A": 1, "B": 2}, 6, 2)
    assert p.status == "at_risk" and p.required == 0 and p.details["affordable"] == {"A": 1, "B": 0}
    # Late in the year the months left cap it: 11 months done, max 2, A has 0 → min(2, 1) = 1.
    assert no_worse_v_progress({"A": 0}, 11, 2).required == 1


def test_dustfall_monthly_mean():
    # as of 2023-06-30: 6 months done, 6 left; monthly values summing 15.0 (mean 2.5).
    # Annual mean must be < 2.35 (2.35 → 2.4): remaining mean < (2.35·12 − 15)/6 = (28.2 − 15)/6 = 2.2.
    p = mean_progress("≤", 2.3, 1, 15.0, 6, 6, 6, "t/(km²·月)", "个月")
    assert p.required == pytest.approx(2.2) and "< 2.20" in p.required_text and p.status == "at_risk"


# --- configuration ----------------------------------------------------------------------------------------------


def test_shipped_changzhou_2023():
    cfg = find_config("常州", 2023)
    t = {x.id: x for x in cfg.targets}
    assert cfg.city == "常州市" and cfg.year == 2023 and cfg.version
    assert (t["pm25"].comparison, t["pm25"].value, t["pm25"].unit) == ("≤", 31, "µg/m³")
    assert (t["good_ratio"].comparison, t["good_ratio"].value, t["good_ratio"].digits) == ("≥", 80.0, 1)
    assert [t[k].value for k in ("water_ge3_national", "water_ge3_provincial", "water_ge3_city")] == [80, 92.2, 92.4]
    assert t["dustfall"].value == 2.3 and t["dustfall"].unit == "t/(km²·月)"


def _doc(**over):
    doc = {"schema": "qingshan.targets/1", "city": "城", "year": 2023, "version": "1", "source": "测试",
           "targets": [{"id": "pm25", "indicator": "pm25_mean", "comparison": "≤", "value": 31, "unit": "µg/m³",
                        "source": "测试"}]}
    doc.update(over)
    return doc


def test_config_validation_collects_chinese_errors():
    bad = _doc(year="二〇二三", targets=[
        {"id": "a", "indicator": "pm25_mean", "comparison": "=", "value": 31, "unit": "mg/m³", "source": "x"},
        {"id": "a", "indicator": "good_ratio", "comparison": "≤", "value": 120, "unit": "%"},
        {"id": "w", "indicator": "water_share_ge3", "comparison": "≥", "value": 80, "unit": "%", "source": "x"},
        {"id": "o", "indicator": "o3_max", "comparison": "≤", "value": "abc", "unit": "µg/m³", "source": "x"},
    ])
    with pytest.raises(TargetConfigError) as e:
        parse_config(bad, "t.yaml")
    msg = str(e.value)
    for part in ("year", "comparison 应为", "unit 应为 µg/m³", "id 重复", "对指标 good_ratio 无意义", "超出合理范围",
                 "source 缺失", "level 缺失", "indicator 未知", "value 应为数值"):
        assert part in msg, part
    assert len(e.value.problems) >= 10
    # ASCII comparisons and unit spellings are accepted
    cfg = parse_config(_doc(targets=[{"id": "p", "indicator": "pm25_mean", "comparison": "<=", "value": 31,
                                      "unit": "ug/m3", "source": "x"}]))
    assert cfg.targets[0].comparison == "≤" and cfg.targets[0].unit == "µg/m³"


def test_config_yaml_syntax_and_missing_file(tmp_path):
    p = tmp_path / "bad.yaml"
    p.write_text("city: [未闭合\n", encoding="utf-8")
    with pytest.raises(TargetConfigError, match="YAML 语法错误"):
        load_config(p)
    with pytest.raises(TargetConfigError, match="文件不存在"):
        load_config(tmp_path / "none.yaml")
    with pytest.raises(TargetConfigError, match="没有找到"):
        find_config("常州", 1999)


# --- end to end -------------------------------------------------------------------------------------------------


def _load_days(ws, station: str, city: str, first: int, pm25: np.ndarray) -> None:
    hours = np.arange(first * 24 + 1, (first + len(pm25)) * 24 + 1)
    rows = pd.DataFrame({"station": station, "hi": hours, "pm25": np.repeat(pm25, 24),
                         "so2": 8.0, "no2": 30.0, "co": 0.8, "o3": 60.0, "pm10": 40.0})  # other IAQIs < 50
    rows = rows.astype({p: float for p in SIX})
    rows["import_id"] = 1
    ws.upsert_air_hourly(pa.Table.from_pandas(rows[["station", "hi", *SIX, "import_id"]], preserve_index=False))
    ws.upsert_stations(pa.table({"code": [station], "name": [station], "city": [city], "district": [None],
                                 "lon": [None], "lat": [None], "is_control": [False], "status": [None],
                                 "import_id": [1]}))


def test_status_cli_end_to_end(ws, tmp_path):
    import os

    from typer.testing import CliRunner

    from qingshan.cli.targets import targets_app

    # Leap year 2024, one station in city 城, 1–10 January: PM2.5 30 on 8 days, 80 on 2 (IAQI 107 → not good).
    _load_days(ws, "A", "城", day_index(date(2024, 1, 1)), np.array([30.0] * 8 + [80.0] * 2))
    cfg = tmp_path / "c.yaml"
    cfg.write_text(
        "schema: qingshan.targets/1\ncity: 城\nyear: 2024\nversion: t\nsource: 测试\ntargets:\n"
        "  - {id: pm25, indicator: pm25_mean, comparison: '≤', value: 31, unit: µg/m³, source: s}\n"
        "  - {id: good, indicator: good_ratio, comparison: '≥', value: 80.0, unit: '%', source: s}\n"
        "  - {id: w, indicator: water_share_ge3, level: 国考, comparison: '≥', value: 80, unit: '%', source: s}\n",
        encoding="utf-8")
    saved = os.environ.get("QINGSHAN_WORKSPACE")
    os.environ["QINGSHAN_WORKSPACE"] = str(ws.path)
    try:
        res = CliRunner().invoke(targets_app, ["status", "--city", "城", "--year", "2024", "--as-of", "2024-01-10",
                                               "--config", str(cfg), "--json"])
        text = CliRunner().invoke(targets_app, ["status", "--city", "城", "--year", "2024", "--as-of", "2024-01-10",
                                                "--config", str(cfg)])
    finally:
        if saved is None:
            os.environ.pop("QINGSHAN_WORKSPACE", None)
        else:
            os.environ["QINGSHAN_WORKSPACE"] = saved
    assert res.exit_code == 0, res.output
    out = {r["id"]: r for r in json.loads(res.output)["targets"]}
    # PM2.5: sum 8·30 + 2·80 = 400 over 10 days, mean 40; 2024 has 366 days, 356 left:
    # remaining mean < (31.5·366 − 400)/356 = (11529 − 400)/356 = 11129/356 = 31.2612… → shown "≤ 31.2".
    pm = out["pm25"]
    assert pm["ytd_value"] == 40 and pm["n"] == 10 and pm["expected"] == 10 and pm["coverage"] == 100.0
    assert pm["status"] == "at_risk" and pm["required"] == pytest.approx(11129 / 356) and "≤ 31.2" in pm["required_text"]
    # Good days: 8 of 10 → 80.0 % → on track; N = 366 → k = ceil(79.95·3.66) = 293 → 285 more of 356.
    g = out["good"]
    assert g["ytd_value"] == pytest.approx(80.0) and g["status"] == "on_track" and g["required"] == 285
    assert out["w"]["status"] == "no_data"
    assert text.exit_code == 0 and "有风险" in text.output and "正常" in text.output


def test_status_cli_rejects_bad_input(tmp_path):
    from typer.testing import CliRunner

    from qingshan.cli.targets import targets_app

    r = CliRunner().invoke(targets_app, ["status", "--city", "常州", "--year", "2023", "--as-of", "2024-01-10"])
    assert r.exit_code == 2
    bad = tmp_path / "b.yaml"
    bad.write_text("schema: x\n", encoding="utf-8")
    r = CliRunner().invoke(targets_app, ["status", "--city", "常州", "--year", "2023", "--as-of", "2023-01-10",
                                         "--config", str(bad)])
    assert r.exit_code == 2


def test_water_targets_from_the_water_engine(ws, tmp_path):
    from qingshan.ingest.water_samples import import_water_samples
    from qingshan.targets.evaluate import target_status

    from .test_water_bulletin import build_workbook

    # The bulletin workbook: 51 省考 sections (20 of them 国考), monthly factors 1.1/0.9 alternate, so the mean of
    # January–June equals the annual mean and the year-to-date classes are the bulletin's: 国考 17/20 ≥ Ⅲ (85 %),
    # 省考 48/51 (94.1 %), no 劣Ⅴ in any month.
    path = tmp_path / "w.xlsx"
    build_workbook(path)
    import_water_samples(ws, path)
    t = target_status(ws.con, find_config("常州市", 2023), "常州市", date(2023, 6, 30)).set_index("id")
    # 国考 ≥ 80 %: k = ceil(79.95·20/100) = ceil(15.99) = 16 ≤ 17 → on track, 0 more sections needed
    assert t.loc["water_ge3_national", "ytd_value"] == pytest.approx(85.0)
    assert t.loc["water_ge3_national", "status"] == "on_track" and t.loc["water_ge3_national", "required"] == 0
    assert "至少 16 个" in t.loc["water_ge3_national", "required_text"]
    # 省考 ≥ 92.2 %: k = ceil(92.15·51/100) = ceil(46.9965) = 47 ≤ 48 → on track
    assert t.loc["water_ge3_provincial", "ytd_value"] == pytest.approx(94.1)
    assert t.loc["water_ge3_provincial", "status"] == "on_track"
    # 市考以上 (all 51 sections) no 劣Ⅴ month in 6 completed months → on track, 0 affordable
    assert t.loc["water_no_worse_v", "status"] == "on_track" and t.loc["water_no_worse_v", "n"] == 51
    assert t.loc["water_no_worse_v", "required"] == 0
    # no 市考-only sections and no air data in this store
    assert t.loc["water_ge3_city", "status"] == "no_data" and t.loc["pm25", "status"] == "no_data"
