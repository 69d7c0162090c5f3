"""Alarm rules, episodes and the alarms table (qingshan.alerts.{config,detect,episodes,run}, qingshan.store.alarms)."""

from __future__ import annotations

import json
from dataclasses import replace

import numpy as np
import pandas as pd
import pyarrow as pa
import pytest

from qingshan.alerts.config import AlarmRuleError, AlarmRules, load_rules
from qingshan.alerts.detect import detect, haversine_km
from qingshan.alerts.episodes import episodes
from qingshan.alerts.run import run_alarm_rules
from qingshan.store.alarms import AlarmStateError, alarm_log, change_state, list_alarms, save_episodes
from qingshan.store.workspace import Workspace

H0 = 470_000  # an hour label well inside 2023


def only(*names: str) -> AlarmRules:
    rules = load_rules()
    return AlarmRules(rules.version, tuple(replace(r, enabled=r.name in names) for r in rules.rules))


def frame(series: dict[str, dict[str, list[float]]], start: int = H0) -> pd.DataFrame:
    """station → pollutant → hourly values from ``start`` on (NaN = missing)."""
    parts = []
    for st, cols in series.items():
        n = len(next(iter(cols.values())))
        parts.append(pd.DataFrame({"station": st, "hi": np.arange(start, start + n), **cols}))
    return pd.concat(parts, ignore_index=True)


STATIONS = pd.DataFrame({"code": ["A", "B", "C", "D", "FAR"], "lon": [120.00, 120.03, 119.97, 120.00, 120.60],
                         "lat": [31.80, 31.80, 31.82, 31.76, 31.80]})


def test_spike_against_the_own_baseline():
    a = [30.0] * 30 + [100.0]
    b = [40.0] * 30 + [60.0]  # 1.5 × its baseline: below the ratio
    hits = detect(frame({"A": {"pm25": a}, "B": {"pm25": b}}), STATIONS, only("air.spike_baseline"),
                  (H0 + 24, H0 + 30))
    assert hits[["subject", "pollutant", "hi", "value", "reference", "level"]].values.tolist() == [
        ["A", "pm25", H0 + 30, 100.0, 30.0, 2]]


def test_spike_against_the_neighbours_within_the_radius_only():
    assert haversine_km(np.array(120.0), np.array(31.8), np.array(120.6), np.array(31.8)) == pytest.approx(56.8, abs=0.1)
    pm = {"A": [120.0], "B": [40.0], "C": [44.0], "D": [36.0], "FAR": [500.0]}
    hits = detect(frame({k: {"pm25": v} for k, v in pm.items()}), STATIONS, only("air.spike_neighbours"), (H0, H0))
    assert hits[["subject", "value", "reference"]].values.tolist() == [["A", 120.0, 40.0]]  # FAR is nobody's neighbour


def test_aqi_category_levels():
    data = frame({"A": {"pm25": [1.0] * 4, "aqi": [100.0, 160.0, 210.0, 320.0]}})
    hits = detect(data, STATIONS, only("air.aqi_category"), (H0, H0 + 3))
    assert hits[["hi", "level", "value"]].values.tolist() == [[H0 + 1, 2, 160.0], [H0 + 2, 3, 210.0], [H0 + 3, 4, 320.0]]


def test_sustained_rise_needs_every_step_up_and_the_total():
    up = [20.0, 30, 40, 50, 60]
    dip = [20.0, 30, 29, 50, 60]
    small = [20.0, 21, 22, 23, 24]
    hits = detect(frame({"A": {"pm25": up}, "B": {"pm25": dip}, "C": {"pm25": small}}), STATIONS,
                  only("air.sustained_rise"), (H0, H0 + 4))
    assert hits[["subject", "hi", "value", "reference"]].values.tolist() == [["A", H0 + 4, 60.0, 20.0]]


def test_missing_hours_flat_line_and_pm25_above_pm10():
    nan = float("nan")
    rising = [20.0, 21, 22, 23, 24, 25, 26, 27]
    a = {"pm25": [10.0, nan, nan, nan, 12, 13, 14, 15], "pm10": rising}
    b = {"pm25": [10.0, nan, nan, 11, 12, 13, 14, 15], "pm10": rising}  # two missing: not an alarm
    c = {"pm25": [9.0, 30, 30, 30, 30, 30, 30, 9], "pm10": [40.0, 41, 42, 43, 44, 45, 46, 47]}
    d = {"pm25": [50.0, 50, 56, 50, 50, 51, 52, 53], "pm10": [48.0, 50, 50, 51, 52, 53, 54, 55]}
    data = frame({"A": a, "B": b, "C": c, "D": d})
    rules = only("quality.missing_hours", "quality.flat_line", "quality.pm25_gt_pm10")
    hits = detect(data, STATIONS, rules, (H0, H0 + 7))
    by = {r: g for r, g in hits.groupby("rule")}
    assert by["quality.missing_hours"][["subject", "hi"]].values.tolist() == [["A", H0 + 1], ["A", H0 + 2], ["A", H0 + 3]]
    assert by["quality.flat_line"][["subject", "pollutant"]].drop_duplicates().values.tolist() == [["C", "pm25"]]
    assert by["quality.flat_line"]["hi"].tolist() == list(range(H0 + 1, H0 + 7))  # the six hours at 30
    assert by["quality.pm25_gt_pm10"][["subject", "hi"]].values.tolist() == [["D", H0 + 2]]  # 56 > 50 + 5 only


def test_consecutive_hours_merge_into_one_episode_with_numbers():
    hits = pd.DataFrame({"rule": "r", "subject": "A", "pollutant": "pm25", "hi": [10, 11, 13, 16],
                         "level": [2, 3, 2, 2], "value": [80.0, 120.0, 90.0, 70.0], "reference": [30.0, 31, 32, 33]})
    eps = episodes(hits)
    assert eps[["start_hi", "end_hi", "hours", "level", "peak_hi", "peak_value", "peak_reference"]].values.tolist() == [
        [10, 13, 3, 3, 11, 120.0, 31.0], [16, 16, 1, 2, 16, 70.0, 33.0]]
    assert eps["evidence"].iloc[0]["hours"] == [[10, 80.0, 30.0], [11, 120.0, 31.0], [13, 90.0, 32.0]]


@pytest.fixture
def ws(tmp_path):
    with Workspace(tmp_path / "ws") as w:
        w.upsert_stations(pa.table({"code": ["A", "B", "C"], "name": ["甲站", "乙站", "丙站"], "city": ["示范市"] * 3,
                                    "district": ["天宁区"] * 3, "lon": [120.0, 120.03, 119.97],
                                    "lat": [31.80, 31.80, 31.82], "is_control": [False] * 3,
                                    "status": [None] * 3, "import_id": [0] * 3}))
        yield w


def load_hours(w: Workspace, values: dict[str, list[float]], start: int) -> None:
    rows = [(st, start + i, v) for st, vs in values.items() for i, v in enumerate(vs)]
    w.upsert_air_hourly(pa.table({"station": [r[0] for r in rows], "hi": [r[1] for r in rows],
                                  "pm25": [r[2] for r in rows], "pm10": [r[2] * 1.6 for r in rows],
                                  "import_id": [1] * len(rows)}))


def test_run_is_idempotent_and_a_growing_episode_extends_one_alarm(ws):
    base = [30.0 + (i % 3) for i in range(48)]
    load_hours(ws, {"A": base + [110.0, 130.0], "B": base + [35.0, 36.0], "C": base + [33.0, 34.0]}, H0)
    until = H0 + 49
    rules = only("air.spike_baseline", "air.spike_neighbours")
    first = run_alarm_rules(ws.con, until, rules=rules)
    # PM2.5 and PM10 (1.6 × PM2.5 here), each against the baseline and against the neighbours
    assert (first.new, first.extended, first.unchanged) == (4, 0, 0)
    again = run_alarm_rules(ws.con, until, rules=rules)
    assert (again.new, again.extended, again.unchanged) == (0, 0, 4)
    load_hours(ws, {"A": [150.0], "B": [35.0], "C": [33.0]}, H0 + 50)
    later = run_alarm_rules(ws.con, until + 1, rules=rules)
    assert (later.new, later.extended) == (0, 4)
    alarms = list_alarms(ws.con)
    assert len(alarms) == 4 and set(alarms["subject"]) == {"A"}
    spike = alarms[(alarms["rule"] == "air.spike_baseline") & (alarms["pollutant"] == "pm25")].iloc[0]
    assert (spike["start_hi"], spike["end_hi"], spike["hours"], spike["peak_value"]) == (H0 + 48, H0 + 50, 3, 150.0)
    assert [h[0] for h in json.loads(spike["evidence"])["hours"]] == [H0 + 48, H0 + 49, H0 + 50]
    assert spike["subject_name"] == "甲站" and spike["state"] == "new" and spike["rules_version"] == rules.version


def test_states_follow_the_workflow_and_are_logged(ws):
    eps = episodes(pd.DataFrame({"rule": "r", "subject": "A", "pollutant": "pm25", "hi": [5], "level": [2],
                                 "value": [99.0], "reference": [30.0]}))
    save_episodes(ws.con, eps, "test")
    aid = int(list_alarms(ws.con)["alarm_id"].iloc[0])
    with pytest.raises(AlarmStateError, match="不能改为“已办结”"):
        change_state(ws.con, aid, "closed", "张三", "处理完毕")
    assert change_state(ws.con, aid, "acknowledged", "张三") == "new"
    with pytest.raises(AlarmStateError, match="须写明理由"):
        change_state(ws.con, aid, "false_alarm", "张三", " ")
    change_state(ws.con, aid, "false_alarm", "张三", "仪器校准时段")
    log = alarm_log(ws.con, aid).astype(object).where(lambda f: f.notna(), None)
    assert log[["actor", "from_state", "to_state", "reason"]].values.tolist()[1:] == [
        ["张三", "new", "acknowledged", None], ["张三", "acknowledged", "false_alarm", "仪器校准时段"]]
    with pytest.raises(AlarmStateError, match="无（已结束）"):
        change_state(ws.con, aid, "dispatched", "张三")


def test_a_workspace_overrides_rules_by_name(tmp_path):
    (tmp_path / "alerts.yaml").write_text(
        "version: 本地1\nrules:\n  - name: air.spike_baseline\n    ratio: 3.0\n  - name: quality.flat_line\n"
        "    enabled: false\n", encoding="utf-8")
    rules = load_rules(tmp_path)
    assert rules.version.endswith("+本地1")
    assert rules.by_name("air.spike_baseline").param("ratio") == 3.0
    assert rules.by_name("air.spike_baseline").param("baseline_hours") == 24  # the rest is kept
    assert not rules.by_name("quality.flat_line").enabled
    (tmp_path / "alerts.yaml").write_text("rules:\n  - name: x\n    kind: nonsense\n", encoding="utf-8")
    with pytest.raises(AlarmRuleError, match="规则 x：kind 应为"):
        load_rules(tmp_path)
    (tmp_path / "alerts.yaml").write_text("rules: [\n", encoding="utf-8")
    with pytest.raises(AlarmRuleError, match="YAML 格式错误"):
        load_rules(tmp_path)


def test_hj212_alerts_and_water_stations_raise_alarms_in_the_same_centre(ws):
    from datetime import datetime, timedelta

    from qingshan.hj212.store import Hj212Store
    from qingshan.store.water import ensure_schema

    Hj212Store(ws.con)  # creates the receiver's tables
    t0 = datetime(1970, 1, 1) + timedelta(hours=H0 - 1)  # the hour labelled H0 holds t0 … t0 + 1 h
    for i, (kind, minutes) in enumerate([("exceed", 0), ("exceed", 60), ("silent", 180)]):
        ws.con.execute("INSERT INTO hj212_alerts (alert_key, kind, mn, factor, data_time, value, threshold, message, "
                       "evidence, raised_at) VALUES (?, ?, 'MN01', 'a21026', ?, ?, 35, 'm', '{}', now())",
                       [f"k{i}", kind, t0 + timedelta(minutes=minutes), 80.0 + i])
    ensure_schema(ws.con)
    ws.con.execute("INSERT INTO water_sections (section, name, target_class) VALUES ('S1', '甲断面', 3)")
    samples = [(h, 7.5, 7.0, 3.0, 0.3, 0.08) for h in range(0, 24, 4)] + [(24, 7.4, 6.8, 3.1, 1.2, 0.09)]
    for h, ph, do, codmn, nh3n, tp in samples:
        ws.con.execute('INSERT INTO water_auto (station, section, ts, ph, "do", codmn, nh3n, tp, import_id) '
                       "VALUES ('W1', 'S1', ?, ?, ?, ?, ?, ?, 1)", [t0 + timedelta(hours=h - 23), ph, do, codmn, nh3n, tp])
    rules = only("source", "water.class_below_target", "water.sudden_change")
    res = run_alarm_rules(ws.con, H0 + 3, hours=6, rules=rules)
    alarms = list_alarms(ws.con).sort_values(["rule", "start_hi"])
    got = alarms[["rule", "subject", "pollutant", "start_hi", "end_hi", "level", "peak_value", "peak_reference"]]
    assert got.values.tolist() == [
        ["source.exceed", "MN01", "a21026", H0, H0 + 1, 3, 81.0, 35.0],  # two consecutive hours: one episode
        ["source.silent", "MN01", "a21026", H0 + 3, H0 + 3, 2, 82.0, 35.0],
        ["water.class_below_target", "W1", "", H0, H0, 2, 4.0, 3.0],  # NH3-N 1.2 mg/L = class Ⅳ, at t0 + 1 h = H0
        ["water.sudden_change", "W1", "nh3n", H0, H0, 2, 1.2, 0.3],
    ]
    assert res.new == 4


def test_annual_targets_at_risk_raise_alarms_from_the_targets_engine(ws):
    """A strict workspace target file: the alarm per target equals the targets engine's status."""
    from datetime import date

    from qingshan.evaluate.periods import day_index
    from qingshan.targets.config import find_config
    from qingshan.targets.evaluate import target_status

    targets = ws.path / "targets"
    targets.mkdir()
    (targets / "strict.yaml").write_text(
        "schema: qingshan.targets/1\ncity: 示范市\nyear: 2023\nversion: test\nsource: test\ntargets:\n"
        "  - {id: pm25, indicator: pm25_mean, name: PM2.5 年均浓度, comparison: '≤', value: 20, unit: µg/m³, source: t}\n"
        "  - {id: good_ratio, indicator: good_ratio, name: 优良天数比率, comparison: '≥', value: 50.0, unit: '%', source: t}\n",
        encoding="utf-8")
    day0 = day_index(date(2023, 3, 1))
    values = {st: [40.0 + (h % 5) for h in range(24 * 10)] for st in ("A", "B", "C")}
    load_hours(ws, values, day0 * 24 + 1)
    until = (day0 + 10) * 24  # 24:00 of the tenth day
    as_of = date(2023, 3, 10)
    status = target_status(ws.con, find_config("示范市", 2023, targets), "示范市", as_of)
    expected = status[status["status"].isin(["at_risk", "missed"])]
    assert list(expected["id"]) == ["pm25"]  # 40–44 µg/m³ so far against 20; every day is good (AQI < 100)
    run_alarm_rules(ws.con, until, rules=only("targets.at_risk"), workspace=ws.path)
    run_alarm_rules(ws.con, until + 24, rules=only("targets.at_risk"), workspace=ws.path)  # the next day: same alarm
    alarms = list_alarms(ws.con)
    row = expected.iloc[0]
    assert alarms[["subject", "pollutant", "start_hi", "end_hi"]].values.tolist() == [
        ["示范市", "pm25", until - 23, until + 24]]
    assert alarms["level"].iloc[0] == (3 if row["status"] == "missed" else 2)
    assert alarms["peak_value"].iloc[0] == pytest.approx(float(row["ytd_value"]))


def test_the_command_line_runs_lists_and_moves_alarms(tmp_path):
    from typer.testing import CliRunner

    from qingshan.cli import app

    path = tmp_path / "ws"
    with Workspace(path) as w:
        w.upsert_stations(pa.table({"code": ["A"], "name": ["甲站"], "city": ["示范市"], "district": ["天宁区"],
                                    "lon": [120.0], "lat": [31.8], "is_control": [False], "status": [None],
                                    "import_id": [0]}))
        load_hours(w, {"A": [30.0 + (i % 3) for i in range(48)] + [120.0]}, H0)
    run = CliRunner().invoke
    base = ["--workspace", str(path), "alerts"]
    first = run(app, [*base, "run"])
    assert first.exit_code == 0, first.output
    # PM2.5 and PM10 against the station's own baseline, and the hour's AQI (HJ 633) at 中度污染 or worse
    assert "新增 3" in first.output, first.output
    assert "新增 0" in run(app, [*base, "run"]).output  # the same window again: nothing new
    listed = json.loads(run(app, [*base, "list", "--json"]).output)
    assert {(a["rule"], a["pollutant"], a["state"]) for a in listed} == {
        ("air.spike_baseline", "pm25", "new"), ("air.spike_baseline", "pm10", "new"), ("air.aqi_category", "", "new")}
    aqi = next(a for a in listed if a["rule"] == "air.aqi_category")
    assert aqi["peak_value"] >= 151 and aqi["level"] >= 2
    aid = next(a["alarm_id"] for a in listed if a["pollutant"] == "pm25")
    assert "新报警 → 已确认" in run(app, [*base, "ack", str(aid)]).output
    bad = run(app, [*base, "close", str(aid), "--reason", " "])
    assert bad.exit_code == 2 and "须写明理由" in bad.output
    assert "已确认 → 误报" in run(app, [*base, "false", str(aid), "--reason", "仪器校准"]).output
    table = run(app, [*base, "list", "--state", "false_alarm"]).output
    assert "误报" in table and "甲站" in table and "浓度突增" in table
    assert run(app, [*base, "list", "--state", "nonsense"]).exit_code == 2


def test_hours_as_published_and_sensors_stay_out_of_the_air_rules(ws):
    """``D 24:00`` is D+1 00:00 (the published label of a day's last hour); grid sensors raise no air alarm and are
    nobody's neighbour (raw sensor values are biased; docs/alerts.md)."""
    from datetime import datetime

    from qingshan.alerts.explain import parse_hour

    assert parse_hour("2023-10-31 24:00") == datetime(2023, 11, 1, 0) == parse_hour("2023-11-01T00:00")
    ws.upsert_stations(pa.table({"code": ["G1"], "name": ["微站"], "city": ["示范市"], "district": ["天宁区"],
                                 "lon": [120.001], "lat": [31.80], "is_control": [False], "status": [None],
                                 "import_id": [0], "network": ["网格微站"]}))
    base = [30.0 + (i % 3) for i in range(48)]
    load_hours(ws, {"A": base + [35.0], "B": base + [36.0], "C": base + [33.0], "G1": base + [400.0]}, H0)
    res = run_alarm_rules(ws.con, H0 + 48, rules=only("air.spike_baseline", "air.spike_neighbours"))
    assert res.hits == 0 and list_alarms(ws.con).empty
