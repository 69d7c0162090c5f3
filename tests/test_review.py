"""Data review (数据审核): pre-checks, the mark log and its fold, reviewed evaluations, dust storms, the XLSX round
trip, the API's roles and the audit log (docs/review.md).

The store holds hand-made hours: stations S1, S2, S3 of 示范市, 2025-03-09 … 2025-03-11; on 2025-03-10 S1's
PM2.5 of hour h (01:00 … 24:00) is 10 + h, so its daily mean is 22.5 → 22 (GB/T 8170) and without hours 1–3 it is
mean(14 … 34) = 24.
"""

from __future__ import annotations

import datetime as dt
import io
import json

import numpy as np
import pandas as pd
import pytest
from openpyxl import load_workbook
from typer.testing import CliRunner

from qingshan.cli import app as cli_app
from qingshan.evaluate.air import evaluate_period
from qingshan.evaluate.periods import parse_period
from qingshan.evaluate.precheck import PrecheckConfig, precheck_frame, suggest
from qingshan.evaluate.review import (
    confirm_suggestion,
    dismiss_suggestion,
    export_workbook,
    hour_text,
    import_workbook,
    mark_request,
    parse_hour,
)
from qingshan.standards.review import ReviewInputError, parse_pollutants
from qingshan.store.review import (
    ReviewError,
    air_source,
    current_marks,
    marks_log,
    record_mark,
)
from qingshan.store.workspace import Workspace

CITY = "示范市"
STATIONS = ("S1", "S2", "S3")
DAY = dt.date(2025, 3, 10)
D = (DAY - dt.date(1970, 1, 1)).days  # day index
H1 = D * 24 + 1  # hi of 2025-03-10 01:00
PERIOD = "2025-03-10"


def day_pm25(h: int) -> float:
    return 10.0 + h


def hours_frame() -> pd.DataFrame:
    rows = []
    for s_i, st in enumerate(STATIONS):
        for hi in range((D - 1) * 24 + 1, (D + 2) * 24 + 1):
            h = (hi - 1) % 24 + 1
            rows.append({"station": st, "hi": hi, "so2": 8.0 + (hi % 5), "no2": 30.0 + (hi % 7) + s_i,
                         "co": round(0.6 + 0.1 * (hi % 4), 1), "o3": 60.0 + 3 * (hi % 9),
                         "pm10": 70.0 + (hi % 6) * 3 + s_i,
                         "pm25": day_pm25(h) if (st == "S1" and (hi - 1) // 24 == D) else 30.0 + (hi % 5) + s_i})
    return pd.DataFrame(rows)


def fill(ws: Workspace) -> None:
    con = ws.con
    for st in STATIONS:
        con.execute("INSERT INTO stations (code, name, city, district, is_control) VALUES (?, ?, ?, '中区', FALSE)",
                    [st, f"站点{st}", CITY])
    f = hours_frame()
    con.register("_f", f)
    con.execute("INSERT INTO air_hourly (station, hi, ts, so2, no2, co, o3, pm10, pm25, import_id) "
                "SELECT station, hi, TIMESTAMP '1970-01-01' + to_hours(hi), so2, no2, co, o3, pm10, pm25, 1 FROM _f")
    con.unregister("_f")


@pytest.fixture
def ws(tmp_path):
    with Workspace(tmp_path / "ws") as w:
        fill(w)
        yield w


def station_value(con, column: str = "pm25_mean", station: str = "S1", **kw):
    res = evaluate_period(con, parse_period(PERIOD), city=CITY, levels=("station", "city"), **kw)
    t = res.table
    return t[(t["level"] == "station") & (t["code"] == station)].iloc[0][column], res


def mark(con, action="invalidate", station="S1", start="2025-03-10 01:00", end="2025-03-10 03:00", reason="故障",
         pollutants=None, note=None, by="审核员甲", via="cli"):
    return record_mark(con, mark_request(action, station, start, end, reason, pollutants, note), by, via)


# --- hours and input ------------------------------------------------------------------------------------------


def test_hours_are_hour_ending_labels_and_bare_dates_cover_the_day():
    assert parse_hour("2025-03-10 01:00") == H1 and parse_hour("2025-03-10") == H1
    assert parse_hour("2025-03-10", end=True) == H1 + 23 == parse_hour("2025-03-10 24:00") == parse_hour("2025-03-11 00:00")
    assert hour_text(H1) == "2025-03-10 01:00"
    for bad in ("2025-03-10 09:30", "2025-02-30", "yesterday", "2025-03-10 25:00"):
        with pytest.raises(ReviewError):
            parse_hour(bad)


def test_reasons_and_pollutants_are_checked():
    assert parse_pollutants(None, "fault") == ("so2", "no2", "co", "o3", "pm10", "pm25")
    assert parse_pollutants("PM2.5, pm10", "fault") == ("pm10", "pm25")
    assert parse_pollutants(None, "dust") == ("pm10", "pm25")  # 环办监测〔2016〕120号: particulate matter only
    with pytest.raises(ReviewInputError, match="只扣除颗粒物"):
        parse_pollutants("so2", "dust")
    with pytest.raises(ReviewInputError, match="不在列表中"):
        mark_request("invalidate", "S1", "2025-03-10", "2025-03-10", "下雨")


def test_a_mark_on_an_unknown_station_or_a_reversed_range_is_refused_and_logs_nothing(ws):
    with pytest.raises(ReviewError, match="没有站点"):
        mark(ws.con, station="XX")
    with pytest.raises(ReviewError, match="早于"):
        mark(ws.con, start="2025-03-10 05:00", end="2025-03-10 04:00")
    with pytest.raises(ReviewError, match="其他"):
        mark(ws.con, reason="其他")
    assert marks_log(ws.con) == []


# --- pre-checks -------------------------------------------------------------------------------------------------


def clean_frame() -> pd.DataFrame:
    rng = np.random.default_rng(7)
    hi = np.arange(1000, 1000 + 24 * 6)
    frames = []
    for st in ("A", "B"):
        base = 60 + 15 * np.sin(hi / 6) + rng.normal(0, 4, len(hi))
        frames.append(pd.DataFrame({"station": st, "hi": hi, "so2": np.round(base / 3), "no2": np.round(base * 0.7),
                                    "co": np.round(base / 60, 1), "o3": np.round(base * 1.4),
                                    "pm10": np.round(base * 1.5), "pm25": np.round(base)}))
    return pd.concat(frames, ignore_index=True)


FIRST, LAST = 1024, 1000 + 24 * 6 - 1


def checks(frame, flags=None, config=PrecheckConfig()):
    res = precheck_frame(frame, FIRST, LAST, flags, config)
    return {(r.check, r.station, r.pollutants, r.hi_from, r.hi_to) for r in res.itertuples()}


def test_clean_data_raise_no_suggestion():
    assert checks(clean_frame()) == set()


def put(frame, station, hours, pollutant, value):
    frame.loc[(frame["station"] == station) & frame["hi"].isin(list(hours)), pollutant] = value
    return frame


def test_negative_value():
    assert checks(put(clean_frame(), "A", [1050], "so2", -2.0)) == {("negative", "A", "so2", 1050, 1050)}


def test_stuck_value_for_six_hours_but_not_five():
    assert checks(put(clean_frame(), "A", range(1060, 1066), "no2", 90.0)) == {("stuck", "A", "no2", 1060, 1065)}
    assert checks(put(clean_frame(), "A", range(1060, 1065), "no2", 90.0)) == set()
    # near zero, equal values are ordinary (below the floor of 20 reporting units)
    assert checks(put(clean_frame(), "A", range(1060, 1070), "so2", 3.0)) == set()


def test_pm25_above_pm10_beyond_the_tolerance():
    f = clean_frame()
    pm10 = float(f.loc[(f["station"] == "B") & (f["hi"] == 1070), "pm10"].iloc[0])
    inside = put(f.copy(), "B", [1070], "pm25", pm10 * 1.1 + 4)  # within 10 % + 5 µg/m³: noise
    assert checks(inside) == set()
    outside = put(f.copy(), "B", [1070], "pm25", pm10 * 1.1 + 6)
    assert checks(outside) == {("pm_ratio", "B", "pm10,pm25", 1070, 1070)}


def test_out_of_the_instrument_range():
    f = put(clean_frame(), "B", range(1080, 1090), "co", 60.0)  # above 57.2 mg/m³ (50 µmol/mol)
    assert ("range", "B", "co", 1080, 1089) in checks(f)


def test_sudden_jump():
    f = put(clean_frame(), "A", [1100], "pm25", 400.0)
    f = put(f, "A", [1100], "pm10", 500.0)  # keep PM2.5 below PM10
    assert checks(f) == {("jump", "A", "pm25", 1100, 1100), ("jump", "A", "pm10", 1100, 1100)}


def test_hj212_flags_other_than_n():
    flags = pd.DataFrame({"station": ["A", "A", "A", "B"], "hi": [1030, 1031, 1032, 1040],
                          "pollutant": ["pm25", "pm25", "pm25", "so2"], "flag": ["C", "C", "C", "D"]})
    assert checks(clean_frame(), flags) == {("flag", "A", "pm25", 1030, 1032), ("flag", "B", "so2", 1040, 1040)}


def test_hj212_flags_are_read_from_source_data_of_registered_stations(ws):
    from qingshan.hj212.store import SCHEMA
    from qingshan.store.review import hj212_flags

    con = ws.con
    con.execute(SCHEMA)
    con.execute("INSERT INTO hj212_devices (mn, station, st) VALUES ('MN-S1', 'S1', '22'), ('MN-X', NULL, '32')")
    t = dt.datetime(2025, 3, 10, 9, 0)  # the hour ending 10:00 is H1 + 9
    rows = [  # mn, cn, data_time, period_end, hi, factor, flag
        ("MN-S1", "2061", t, t + dt.timedelta(hours=1), H1 + 9, "a34004", "C"),  # hourly, calibration
        ("MN-S1", "2051", t, t + dt.timedelta(minutes=5), None, "a34004", "C"),  # a minute of the same hour
        ("MN-S1", "2051", t, t + dt.timedelta(minutes=5), None, "a21026", "N"),  # normal
        ("MN-S1", "2011", t + dt.timedelta(hours=2, minutes=30), None, None, "a21004", "D"),  # real-time, fault
        ("MN-S1", "2031", t, t + dt.timedelta(days=1), None, "a34004", "M"),  # a daily value: not an hour
        ("MN-X", "2061", t, t + dt.timedelta(hours=1), H1 + 9, "a34004", "D"),  # an outlet, no station
    ]
    for i, (mn, cn, data_time, end, hi, factor, flag) in enumerate(rows):
        con.execute("INSERT INTO source_data (packet_key, mn, st, cn, data_time, period_end, hi, factor, factor_raw, "
                    "flag, received_at) VALUES (?, ?, '22', ?, ?, ?, ?, ?, ?, ?, now())",
                    [i, mn, cn, data_time, end, hi, factor, factor, flag])
    got = hj212_flags(con, H1, H1 + 23)
    assert got.to_dict("records") == [{"station": "S1", "hi": H1 + 9, "pollutant": "pm25", "flag": "C"},
                                       {"station": "S1", "hi": H1 + 11, "pollutant": "no2", "flag": "D"}]
    assert list(suggest(con, H1, H1 + 23)["key"]) == [f"flag:S1:pm25:{H1 + 9}-{H1 + 9}",
                                                      f"flag:S1:no2:{H1 + 11}-{H1 + 11}"]


def test_suggestions_only_suggest_and_handled_ones_leave_the_list(ws):
    ws.con.execute("UPDATE air_hourly SET so2 = -1 WHERE station = 'S2' AND hi = ?", [H1 + 4])
    before, _ = station_value(ws.con, "so2_mean", "S2")
    res = suggest(ws.con, H1, H1 + 23)
    assert list(res["key"]) == [f"negative:S2:so2:{H1 + 4}-{H1 + 4}"]
    assert station_value(ws.con, "so2_mean", "S2")[0] == before  # a suggestion changes no evaluation
    key = res["key"].iloc[0]
    assert dismiss_suggestion(ws.con, key, "审核员甲", "cli") and not dismiss_suggestion(ws.con, key, "审核员甲", "cli")
    assert suggest(ws.con, H1, H1 + 23).empty and len(suggest(ws.con, H1, H1 + 23, include_handled=True)) == 1


def test_confirming_a_suggestion_marks_its_hours_and_names_it(ws):
    ws.con.execute("UPDATE air_hourly SET so2 = -1 WHERE station = 'S2' AND hi = ?", [H1 + 4])
    key = suggest(ws.con, H1, H1 + 23)["key"].iloc[0]
    m = confirm_suggestion(ws.con, key, "异常值", "审核员乙", "api")
    assert (m["station"], m["pollutants"], m["hi_from"], m["hi_to"], m["suggestion"]) == ("S2", "so2", H1 + 4, H1 + 4, key)
    assert suggest(ws.con, H1, H1 + 23).empty


# --- marks, the fold and the evaluation -------------------------------------------------------------------------


def test_without_marks_the_engine_reads_air_hourly_itself(ws):
    assert air_source(ws.con) == "air_hourly"
    value, res = station_value(ws.con)
    assert value == 22 and res.data == "reviewed" and "数据口径：审核后数据" in res.notes


def test_three_invalid_hours_change_the_daily_mean_and_restoring_brings_it_back(ws):
    con = ws.con
    before, _ = station_value(con)
    assert before == 22  # mean(11 … 34) = 22.5 → 22 (GB/T 8170)
    m = mark(con, pollutants="pm25")
    assert m is not None
    after, res = station_value(con)
    assert after == 24  # mean(14 … 34)
    assert station_value(con, "so2_mean")[0] == station_value(con, "so2_mean", data="raw")[0]  # only PM2.5 marked
    raw, raw_res = station_value(con, data="raw")
    assert raw == 22 and raw_res.data == "raw" and "数据口径：原始数据（未经审核）" in raw_res.notes
    assert con.execute("SELECT count(pm25) FROM air_hourly WHERE station = 'S1'").fetchone()[0] == 72  # raw stays
    mark(con, action="restore", reason="其他", note="复核：仪器正常", pollutants="pm25")
    assert station_value(con)[0] == before
    assert current_marks(con).empty


def test_too_few_valid_hours_leave_no_daily_value(ws):
    mark(ws.con, start="2025-03-10 01:00", end="2025-03-10 05:00", pollutants="pm25")  # 19 valid hours left
    assert pd.isna(station_value(ws.con)[0])


def test_a_repeated_mark_is_not_logged_twice(ws):
    assert mark(ws.con) is not None and mark(ws.con) is None
    assert len(marks_log(ws.con)) == 1


def test_dust_hours_drop_only_pm_and_only_with_the_option(ws):
    con = ws.con
    no2_before = station_value(con, "no2_mean")[0]
    m = mark(con, reason="沙尘天气影响")
    assert m["pollutants"] == "pm10,pm25"
    assert station_value(con)[0] == 22  # publication: the air as it was
    value, res = station_value(con, exclude_dust=True)
    assert value == 24 and res.exclude_dust and "已扣除沙尘天气影响时段" in res.notes[-1]
    assert station_value(con, "no2_mean", exclude_dust=True)[0] == no2_before
    src = air_source(con, exclude_dust=True)
    got = con.execute(f"SELECT count(pm10), count(pm25), count(so2), count(no2) FROM {src} "
                      f"WHERE station = 'S1' AND hi BETWEEN {H1} AND {H1 + 23}").fetchone()
    assert got == (21, 21, 24, 24)


def test_a_day_without_valid_pm_gets_its_aqi_from_the_other_pollutants(ws):
    from qingshan.evaluate import air
    from qingshan.evaluate.grid import load_grid

    mark(ws.con, start="2025-03-10", end="2025-03-10", reason="沙尘天气影响", station="S1")
    value, res = station_value(ws.con, "pm25_mean", exclude_dust=True)
    assert pd.isna(value)
    segs = air.ruleset_segments(D, D, None)
    daily = {}
    for dust in (False, True):
        grid = load_grid(ws.con, air_source(ws.con, exclude_dust=dust), D, D, "station = 'S1'")
        daily[dust] = air.station_daily(grid, segs)[0].to_pandas().iloc[0]
    assert np.isnan(daily[True]["pm25"]) and np.isnan(daily[True]["pm10"]) and not np.isnan(daily[False]["pm25"])
    assert daily[True]["so2"] == daily[False]["so2"] and daily[True]["no2"] == daily[False]["no2"]
    assert daily[True]["aqi"] > 0 and "pm" not in daily[True]["primary_pollutants"]


def test_restore_clears_dust_and_invalid_layers(ws):
    mark(ws.con, reason="沙尘天气影响")
    mark(ws.con, reason="故障", pollutants="pm25")
    mark(ws.con, action="restore", reason="其他", note="误标", pollutants="pm25")
    assert station_value(ws.con, exclude_dust=True)[0] == 22
    assert list(current_marks(ws.con)["pollutant"]) == ["pm10"]


def test_the_audit_log_records_who_when_why_and_the_counts(ws):
    t0 = dt.datetime.now().replace(microsecond=0)
    mark(ws.con, pollutants="pm25,pm10", note="仪器故障报修单 17 号")
    mark(ws.con, action="restore", start="2025-03-10 02:00", end="2025-03-10 02:00", reason="其他", note="误判",
         by="审核员乙", via="api")
    log = marks_log(ws.con)
    assert [m["action"] for m in log] == ["restore", "invalidate"]  # newest first
    inv, res = log[1], log[0]
    assert (inv["by_user"], inv["via"], inv["reason"], inv["reason_label"], inv["note"]) == (
        "审核员甲", "cli", "fault", "故障", "仪器故障报修单 17 号")
    assert (inv["station"], inv["pollutants"], inv["hi_from"], inv["hi_to"]) == ("S1", "pm10,pm25", H1, H1 + 2)
    assert t0 <= inv["marked_at"] <= dt.datetime.now()
    assert inv["before_counts"] == {p: {"raw": 3, "reviewed": 3, "assessment": 3} for p in ("pm10", "pm25")}
    assert inv["after_counts"] == {p: {"raw": 3, "reviewed": 0, "assessment": 0} for p in ("pm10", "pm25")}
    assert res["by_user"] == "审核员乙" and res["before_counts"]["so2"] == {"raw": 1, "reviewed": 1, "assessment": 1}
    assert res["after_counts"]["pm25"] == {"raw": 1, "reviewed": 1, "assessment": 1}
    assert res["before_counts"]["pm25"] == {"raw": 1, "reviewed": 0, "assessment": 0}
    # the after-counts are what the reviewed view then gives
    src = air_source(ws.con)
    n = ws.con.execute(f"SELECT count(pm25) FROM {src} WHERE station = 'S1' AND hi BETWEEN {H1} AND {H1 + 2}").fetchone()[0]
    assert n == 1 and json.loads(ws.con.execute("SELECT after_counts FROM review_marks WHERE mark_id = 1").fetchone()[0])[
        "pm25"]["reviewed"] == 0


# --- XLSX round trip ---------------------------------------------------------------------------------------------


def test_xlsx_round_trip_with_a_bad_row_and_a_repeat_import(ws, tmp_path):
    con = ws.con
    con.execute("UPDATE air_hourly SET so2 = -1 WHERE station = 'S2' AND hi = ?", [H1 + 4])
    data, n_sugg, n_marks = export_workbook(con, H1, H1 + 23)
    assert (n_sugg, n_marks) == (1, 0)
    wb = load_workbook(io.BytesIO(data))
    sh = wb["审核"]
    header = [c.value for c in sh[1]]
    col = {h: i + 1 for i, h in enumerate(header)}
    assert sh.cell(2, col["编号"]).value == f"negative:S2:so2:{H1 + 4}-{H1 + 4}"
    sh.cell(2, col["结论"]).value = "无效"
    sh.cell(2, col["原因"]).value = "故障"
    new = {"站点": "S1", "污染物": "pm25", "起始时间": "2025-03-10 01:00", "结束时间": "2025-03-10 03:00", "结论": "无效",
           "原因": "停电"}
    bad_station = dict(new, 站点="不存在")
    bad_reason = dict(new, 原因="下雨")
    blank = dict(new, 结论=None)
    for r, row in enumerate((new, bad_station, bad_reason, blank), start=3):
        for k, v in row.items():
            sh.cell(r, col[k]).value = v
    path = tmp_path / "filled.xlsx"
    wb.save(path)

    report = import_workbook(con, path, "审核员丙")
    assert (report.applied, report.unchanged, report.skipped) == (2, 0, 1)
    assert [line for line, _ in report.problems] == [4, 5]
    assert "没有站点" in report.problems[0][1] and "不在列表中" in report.problems[1][1]
    assert station_value(con)[0] == 24
    log = marks_log(con)
    assert {(m["station"], m["reason"], m["via"], m["by_user"]) for m in log} == {
        ("S2", "fault", "xlsx", "审核员丙"), ("S1", "power", "xlsx", "审核员丙")}
    assert next(m for m in log if m["station"] == "S2")["suggestion"] == f"negative:S2:so2:{H1 + 4}-{H1 + 4}"

    again = import_workbook(con, path, "审核员丙")
    assert (again.applied, again.unchanged) == (0, 2) and len(again.problems) == 2
    assert len(marks_log(con)) == 2

    _, n_sugg, n_marks = export_workbook(con, H1, H1 + 23, target=tmp_path / "second.xlsx")
    assert (n_sugg, n_marks) == (0, 2)  # the confirmed suggestion is gone; the two marks are listed


def test_a_file_that_is_not_a_review_workbook_is_refused(ws, tmp_path):
    from qingshan.evaluate.review import WorkbookError

    p = tmp_path / "x.xlsx"
    p.write_bytes(b"not a workbook")
    with pytest.raises(WorkbookError, match="无法读取审核工作簿"):
        import_workbook(ws.con, p, "x")


# --- command line -----------------------------------------------------------------------------------------------


def cli(workspace, *args):
    return CliRunner().invoke(cli_app, ["--workspace", str(workspace), *args])


def test_cli_mark_log_and_air_evaluate_with_raw_and_reviewed_data(tmp_path):
    path = tmp_path / "ws"
    with Workspace(path) as w:
        fill(w)
    r = cli(path, "review", "mark", "--station", "S1", "--from", "2025-03-10 01:00", "--to", "2025-03-10 03:00",
            "--pollutants", "pm25", "--reason", "校准", "--by", "张三")
    assert r.exit_code == 0, r.output
    assert "已记录审核 #1" in r.output and "有效值 3 → 0" in r.output
    r = cli(path, "review", "mark", "--station", "S1", "--from", "2025-03-10 01:00", "--to", "2025-03-10 03:00",
            "--pollutants", "pm25", "--reason", "校准", "--by", "张三")
    assert r.exit_code == 0 and "无变化" in r.output
    r = cli(path, "review", "mark", "--station", "S9", "--from", "2025-03-10", "--to", "2025-03-10", "--reason", "故障")
    assert r.exit_code == 2 and "没有站点" in r.output
    r = cli(path, "review", "log")
    assert r.exit_code == 0 and "张三" in r.output and "校准" in r.output
    reviewed = cli(path, "air", "evaluate", "--period", PERIOD, "--city", CITY, "-o", str(tmp_path / "rev.csv"))
    raw = cli(path, "air", "evaluate", "--period", PERIOD, "--city", CITY, "--data", "raw", "-o", str(tmp_path / "raw.csv"))
    assert reviewed.exit_code == 0 and raw.exit_code == 0, reviewed.output + raw.output
    assert "数据口径：审核后数据" in reviewed.output and "数据口径：原始数据" in raw.output
    rev_t, raw_t = pd.read_csv(tmp_path / "rev.csv"), pd.read_csv(tmp_path / "raw.csv")
    assert rev_t.set_index("code").loc["S1", "pm25_mean"] == 24 and raw_t.set_index("code").loc["S1", "pm25_mean"] == 22
    r = cli(path, "review", "restore", "--station", "S1", "--from", "2025-03-10 01:00", "--to", "2025-03-10 03:00",
            "--pollutants", "pm25", "--reason", "其他", "--note", "复核有效", "--by", "张三")
    assert r.exit_code == 0 and "有效值 0 → 3" in r.output


def test_cli_rank_deducts_dust_by_default(tmp_path):
    path = tmp_path / "ws"
    with Workspace(path) as w:
        fill(w)
    assert cli(path, "review", "mark", "--station", "S1", "--from", PERIOD, "--to", PERIOD, "--reason",
               "沙尘天气影响", "--by", "张三").exit_code == 0
    rank = cli(path, "air", "rank", "--period", PERIOD, "--level", "station", "--city", CITY)
    publ = cli(path, "air", "evaluate", "--period", PERIOD, "--city", CITY)
    assert "已扣除沙尘天气影响时段" in rank.output
    assert "已扣除" not in publ.output and "数据口径：审核后数据" in publ.output


def test_window_quantiles_match_pandas_rolling_quantiles():
    from qingshan.evaluate.precheck import _window_quantiles

    rng = np.random.default_rng(3)
    a = rng.normal(50, 10, (5, 200)).round()
    a[rng.random(a.shape) < 0.3] = np.nan  # gaps: windows with fewer than 12 values give NaN
    got = _window_quantiles(a, 24, (0.25, 0.5, 0.75), block=2)
    roll = pd.DataFrame(a.T).shift(1).rolling(24, min_periods=12)
    for g, q in zip(got, (0.25, 0.5, 0.75)):
        np.testing.assert_allclose(g, roll.quantile(q).to_numpy().T, equal_nan=True)
