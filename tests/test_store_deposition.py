"""Dustfall, acid rain and noise in the workspace store: import → store → evaluate equals evaluating the file,
idempotent re-import, corrections, quarantine with line numbers, GBK files, the dustfall target from the store and
the bulletin built from stored data."""

from __future__ import annotations

from datetime import date, datetime
from fractions import Fraction
from pathlib import Path

import pandas as pd
import pytest

from qingshan.evaluate.acid_rain import evaluate_rain
from qingshan.evaluate.dustfall import city_monthly_means, evaluate_dust
from qingshan.evaluate.noise import evaluate_regional, evaluate_road, evaluate_zones
from qingshan.evaluate.periods import parse_period
from qingshan.evaluate.tables import read_table
from qingshan.ingest.common import IngestError
from qingshan.ingest.deposition import import_dust, import_rain
from qingshan.ingest.noise import import_noise
from qingshan.store.deposition import load_dust, load_rain
from qingshan.store.noise import load_noise, noise_years

from .water_helpers import water_cli  # noqa: F401 (fixture)

DUST = ("site,month,dustfall\n"
        "A,2022-11,2.4\nB,2022-11,2.6\n"
        "A,2023-01,2.1\nB,2023-01,2.3\nC,2023-01,2.9\n"
        "A,2023-02,2.5\nB,2023-02,2.7\n"
        "A,2023-03,1.9\nB,2023-03,2.0\nC,2023-03,2.6\n")
RAIN = ("site,date,ph,rainfall\n"
        "市区,2022-06-01,5.2,10.0\n"
        "市区,2023-03-02,4.8,12.5\n郊区,2023-03-02,6.1,8.0\n"
        "市区,2023-05-20,5.9,30.0\n郊区,2023-07-11,5.5,4.5\n")
REGIONAL = "point,leq_day,leq_night,district\nG1,52.1,44.0,天宁区\nG2,55.6,46.1,钟楼区\nG3,53.0,,\n"
ROAD = ("segment,length_km,leq_day,leq_night,district\n延陵路,3.2,66.2,57.1,天宁区\n龙城大道,6.0,71.8,61.4,新北区\n"
        "长江路,4.1,73.5,63.8,新北区\n")
ZONES = ("point,zone,leq_day,leq_night,date\n"
         "Z1,1类,52.4,44.1,2023-03-15\nZ1,1类,56.0,46.3,2023-06-15\n"
         "Z2,4a,68.9,57.5,2023-03-15\nZ2,4a,71.2,54.0,2023-06-15\n")


def write(folder: Path, name: str, text: str, encoding: str = "utf-8") -> Path:
    p = folder / name
    p.write_text(text, encoding=encoding)
    return p


def stored(ws, table: str) -> pd.DataFrame:
    return ws.con.execute(f"SELECT * FROM {table}").df()


# --- import → store → evaluate ------------------------------------------------------------------------------------


def test_dust_from_the_store_equals_the_file(ws, tmp_path):
    path = write(tmp_path, "dust.csv", DUST)
    rep = import_dust(ws, path)
    assert (rep.rows_read, rep.new, rep.updated, rep.unchanged, rep.quarantined) == (10, 10, 0, 0, 0)
    from_store = evaluate_dust(load_dust(ws.con, 2023), 2023)
    from_file = evaluate_dust(read_table(path), 2023)
    for a, b in ((from_store.summary, from_file.summary), (from_store.monthly, from_file.monthly),
                 (from_store.sites, from_file.sites)):
        pd.testing.assert_frame_equal(a, b)
    # site annual means A (2.1+2.5+1.9)/3 = 2.1667, B (2.3+2.7+2.0)/3 = 2.3333, C (2.9+2.6)/2 = 2.75
    # → city (2.1667+2.3333+2.75)/3 = 2.4167 → 2.4; 2022: (2.4+2.6)/2 = 2.5 → change (2.4167−2.5)/2.5 = −3.3 %
    s = from_store.summary.iloc[0]
    assert (s["annual_mean"], s["previous_year_mean"], s["change_pct"], s["sites"]) == (2.4, 2.5, -3.3, 3)
    # load_dust(year) holds the year and the previous one only
    assert sorted(load_dust(ws.con, 2023)["month"].unique()) == ["2022-11", "2023-01", "2023-02", "2023-03"]
    assert load_dust(ws.con, 2025)["month"].tolist() == []


def test_rain_from_the_store_equals_the_file(ws, tmp_path):
    path = write(tmp_path, "rain.csv", RAIN)
    rep = import_rain(ws, path)
    assert (rep.new, rep.quarantined) == (5, 0)
    whole = evaluate_rain(load_rain(ws.con))[0]
    pd.testing.assert_frame_equal(whole, evaluate_rain(read_table(path))[0])
    p = parse_period("2023")
    year = evaluate_rain(load_rain(ws.con, p.start, p.end), p)[0]
    pd.testing.assert_frame_equal(year, evaluate_rain(read_table(path), p)[0])
    a = year.set_index("site").loc["全部"]
    # 2023: 4 samples, acid (pH < 5.6): 4.8 and 5.5 → 2 → 50 %
    assert (a["samples"], a["acid_samples"], a["acid_frequency_pct"], a["rainfall_mm"]) == (4, 2, 50.0, 55.0)


def test_noise_from_the_store_equals_the_files(ws, tmp_path):
    files = {"regional": write(tmp_path, "r.csv", REGIONAL), "road": write(tmp_path, "d.csv", ROAD),
             "zone": write(tmp_path, "z.csv", ZONES)}
    for kind, path in files.items():
        rep = import_noise(ws, kind, path, 2023)
        assert rep.quarantined == 0 and rep.new == {"regional": 3, "road": 3, "zone": 4}[kind]
    reg = evaluate_regional(load_noise(ws.con, "regional", 2023))[0]
    pd.testing.assert_frame_equal(reg, evaluate_regional(read_table(files["regional"]))[0])
    road, bands, _ = evaluate_road(load_noise(ws.con, "road", 2023))
    road_f, bands_f, _ = evaluate_road(read_table(files["road"]))
    pd.testing.assert_frame_equal(road, road_f)
    pd.testing.assert_frame_equal(bands, bands_f)
    zones = evaluate_zones(load_noise(ws.con, "zone", 2023))[0]
    pd.testing.assert_frame_equal(zones, evaluate_zones(read_table(files["zone"]))[0])
    # regional day: (52.1 + 55.6 + 53.0)/3 = 53.57 → 53.6; night: (44.0 + 46.1)/2 = 45.05 → 45.0 (half to even)
    city = reg[reg["area"] == "全市"].set_index("period")
    assert (city.loc["昼间", "mean_db"], city.loc["夜间", "mean_db"], city.loc["夜间", "points"]) == (53.6, 45.0, 2)
    # zones by day: 1类 (limit 55) 52.4 ok, 56.0 fails; 4a类 (limit 70) 68.9 ok, 71.2 fails → 2 of 4
    z = zones.set_index(["zone", "period"])
    assert (z.loc[("全部", "昼间"), "compliant"], z.loc[("全部", "昼间"), "sessions"]) == (2, 4)
    assert noise_years(ws.con, "zone") == [2023] and len(load_noise(ws.con, "zone", 2022)) == 0
    assert ws.con.execute("SELECT district FROM noise_regional WHERE point = 'G3'").fetchall() == [(None,)]
    # the sessions are the dates
    assert load_noise(ws.con, "zone", 2023)["session"].tolist() == ["2023-03-15", "2023-06-15"] * 2


# --- idempotence and corrections ---------------------------------------------------------------------------------


def test_reimport_changes_nothing(ws, tmp_path):
    dust, rain = write(tmp_path, "dust.csv", DUST), write(tmp_path, "rain.csv", RAIN)
    zones = write(tmp_path, "z.csv", ZONES)
    first = [import_dust(ws, dust), import_rain(ws, rain), import_noise(ws, "zone", zones)]
    before = {t: stored(ws, t) for t in ("dustfall", "rain_samples", "noise_zone")}
    again = [import_dust(ws, dust), import_rain(ws, rain), import_noise(ws, "zone", zones)]
    for a, b in zip(first, again):
        assert (b.new, b.updated, b.unchanged) == (0, 0, a.new) and b.previous_import == a.import_id
        assert f"同一文件已于导入批次 #{a.import_id} 导入过" in b.messages
    for t, frame in before.items():  # same rows, still attributed to the first import
        pd.testing.assert_frame_equal(stored(ws, t), frame)
    shas = ws.con.execute("SELECT kind, count(*), count(DISTINCT sha256) FROM imports GROUP BY 1 ORDER BY 1").fetchall()
    assert shas == [("dust", 2, 1), ("noise-zone", 2, 1), ("rain", 2, 1)]


def test_a_corrected_value_updates_and_an_empty_cell_keeps_the_stored_one(ws, tmp_path):
    first = import_dust(ws, write(tmp_path, "dust.csv", DUST))
    corrected = write(tmp_path, "dust2.csv", DUST.replace("B,2023-02,2.7", "B,2023-02,3.1")
                      .replace("A,2023-03,1.9", "A,2023-03,"))
    rep = import_dust(ws, corrected)
    # 10 rows read; A 2023-03 has no value (not stored, not erased); B 2023-02 corrected; 8 unchanged
    assert (rep.rows_read, rep.new, rep.updated, rep.unchanged) == (10, 0, 1, 8)
    assert "1 行没有有效的降尘数值，未导入" in rep.messages
    rows = stored(ws, "dustfall").set_index(["site", "month"])
    assert rows.loc[("B", "2023-02"), "value"] == 3.1 and rows.loc[("B", "2023-02"), "import_id"] == rep.import_id
    assert rows.loc[("A", "2023-03"), "value"] == 1.9 and rows.loc[("A", "2023-03"), "import_id"] == first.import_id
    assert len(rows) == 10
    # noise: a corrected night level updates, an emptied day level stays
    import_noise(ws, "regional", write(tmp_path, "r.csv", REGIONAL), 2023)
    rep = import_noise(ws, "regional", write(tmp_path, "r2.csv", REGIONAL.replace("G2,55.6,46.1", "G2,,47.0")), 2023)
    assert (rep.updated, rep.unchanged) == (1, 2)
    g2 = load_noise(ws.con, "regional", 2023).set_index("point").loc["G2"]
    assert (g2["leq_day"], g2["leq_night"]) == (55.6, 47.0)


# --- bad input ----------------------------------------------------------------------------------------------------


def quarantine(ws, import_id: int) -> list[tuple[int, str, str]]:
    return [(int(a), b, c) for a, b, c in ws.con.execute(
        "SELECT line, field, reason FROM quarantine WHERE import_id = ? ORDER BY line, field", [import_id]).fetchall()]


def test_malformed_dust_rows_are_quarantined_with_line_numbers(ws, tmp_path):
    path = write(tmp_path, "dust.csv", "site,month,dustfall\n"
                 "A,2023-01,2.1\n"      # line 2 ok
                 "A,2023-13,2.2\n"      # line 3 bad month
                 ",2023-02,2.3\n"       # line 4 no site
                 "B,2023-01,abc\n"      # line 5 non-numeric
                 "B,2023-02,-1\n"       # line 6 negative
                 "A,2023-01,2.1\n"      # line 7 exact repeat of line 2
                 "A,2023-01,2.4\n"      # line 8 conflicts with line 2
                 "C,2023-01,2.0\n")     # line 9 ok
    rep = import_dust(ws, path)
    assert (rep.rows_read, rep.new, rep.quarantined) == (8, 2, 5)
    q = quarantine(ws, rep.import_id)
    assert [(line, fld) for line, fld, _ in q] == [(3, "month"), (4, "site"), (5, "dustfall"), (6, "dustfall"),
                                                     (8, "site/month")]
    assert "月份无法识别" in q[0][2] and "缺少点位" in q[1][2] and "非数值" in q[2][2] and "负值" in q[3][2]
    assert "同一点位与月份已有不同的数值" in q[4][2]
    assert ws.con.execute("SELECT source FROM quarantine WHERE import_id = ?", [rep.import_id]).fetchall()[0][0] == str(path)
    assert "1 行完全重复，已去重" in rep.messages
    assert sorted(map(tuple, stored(ws, "dustfall")[["site", "month", "value"]].values.tolist())) == \
        [("A", "2023-01", 2.1), ("C", "2023-01", 2.0)]


def test_malformed_rain_and_noise_rows(ws, tmp_path):
    rain = write(tmp_path, "rain.csv", "site,date,ph,rainfall\n"
                 "市区,2023-03-02,4.8,12.5\n"   # 2 ok
                 "市区,2023-02-30,5.0,3.0\n"    # 3 impossible date
                 "郊区,2023-03-02,15,3.0\n"     # 4 pH > 14: kept as a sample without pH (rainfall stays)
                 ",2023-03-03,5.0,3.0\n"        # 5 no site
                 "郊区,2023-03-04,,\n")         # 6 nothing measured: not stored
    rep = import_rain(ws, rain)
    assert [(line, fld) for line, fld, _ in quarantine(ws, rep.import_id)] == [(3, "date"), (4, "ph"), (5, "site")]
    assert (rep.new, rep.quarantined) == (2, 3) and "1 行既无有效 pH 也无降水量，未导入" in rep.messages
    kept = load_rain(ws.con).set_index("site")
    assert pd.isna(kept.loc["郊区", "ph"]) and kept.loc["郊区", "rainfall"] == 3.0
    with pytest.raises(IngestError, match="date"):  # the store needs the date to identify a sample
        import_rain(ws, write(tmp_path, "nodate.csv", "site,ph,rainfall\n市区,5.0,3.0\n"))
    zones = write(tmp_path, "z.csv", "point,zone,leq_day,leq_night,date\n"
                  "Z1,2类,58,49,2023-03-15\n"      # 2 ok
                  "Z1,6类,58,49,2023-06-15\n"      # 3 unknown zone
                  "Z2,3,60,50,2022-12-15\n"        # 4 outside --year 2023
                  "Z2,3,60,50,一季度\n"            # 5 session text, year from --year
                  "Z3,1,50,40,\n")                 # 6 no date: session 第1次
    rep = import_noise(ws, "zone", zones, 2023)
    assert [(line, fld) for line, fld, _ in quarantine(ws, rep.import_id)] == [(3, "zone"), (4, "date")]
    assert load_noise(ws.con, "zone", 2023)["session"].tolist() == ["2023-03-15", "一季度", "第1次"]
    with pytest.raises(IngestError, match="--year"):
        import_noise(ws, "regional", write(tmp_path, "r.csv", REGIONAL))
    # a zone file without dates needs --year
    rep = import_noise(ws, "zone", write(tmp_path, "z2.csv", "point,zone,leq_day,leq_night\nZ9,2,55,45\n"))
    assert rep.new == 0 and [(line, fld) for line, fld, _ in quarantine(ws, rep.import_id)] == [(2, "date")]


def test_gbk_file_with_chinese_headers(ws, tmp_path):
    path = write(tmp_path, "降尘.csv", "点位,月份,降尘量\n天宁,2023年1月,2.15\n钟楼,2023/1,2.45\n", encoding="gbk")
    rep = import_dust(ws, path)
    assert (rep.new, rep.quarantined) == (2, 0)
    assert sorted(map(tuple, stored(ws, "dustfall")[["site", "month", "value"]].values.tolist())) == \
        [("天宁", "2023-01", 2.15), ("钟楼", "2023-01", 2.45)]
    pd.testing.assert_frame_equal(evaluate_dust(load_dust(ws.con)).summary, evaluate_dust(read_table(path)).summary)
    road = write(tmp_path, "道路.csv", "路段,路长,昼间,夜间\n延陵路,3.2,66.2,57.1\n", encoding="gbk")
    assert import_noise(ws, "road", road, 2023).new == 1
    assert load_noise(ws.con, "road", 2023).iloc[0][["segment", "length_km"]].tolist() == ["延陵路", 3.2]


# --- targets ------------------------------------------------------------------------------------------------------


DUST_TARGET = {"schema": "qingshan.targets/1", "city": "城", "year": 2023, "version": "1", "source": "测试",
               "targets": [{"id": "dust", "indicator": "dustfall_mean", "comparison": "≤", "value": 2.3,
                            "unit": "t/(km²·月)", "source": "测试"}]}
A = [2.1, 2.5, 2.8, 2.6, 2.4, 2.2, 2.0, 1.9, 2.0, 2.1]
B = [2.3, 2.7, 3.0, 2.8, 2.4, 2.2, 2.2, 2.1, 2.0, 2.3]


def _ten_months(folder: Path) -> Path:
    rows = [f"{s},2023-{m + 1:02d},{v}" for s, vs in (("A", A), ("B", B)) for m, v in enumerate(vs)]
    return write(folder, "dust.csv", "site,month,dustfall\n" + "\n".join(rows) + "\n")


def test_dustfall_target_from_the_store(ws, tmp_path):
    from qingshan.targets.config import parse_config
    from qingshan.targets.evaluate import dust_ytd, target_status

    cfg = parse_config(DUST_TARGET)
    assert target_status(ws.con, cfg, "城", date(2023, 10, 31)).iloc[0]["status"] == "no_data"
    import_dust(ws, _ten_months(tmp_path))
    # City monthly means (mean of the two sites): 2.2 2.6 2.9 2.7 2.4 2.2 2.1 2.0 2.0 2.2 → sum 23.3 over 10
    # months; mean 2.33 → 2.3 meets ≤ 2.3 (2.35 would round to 2.4, so the annual mean must stay < 2.35).
    # Remaining 2 months: (2.35·12 − 23.3)/2 = (28.2 − 23.3)/2 = 2.45 → must average < 2.45.
    x = dust_ytd(ws.con, cfg, date(2023, 10, 31))["dust"]
    assert x["sum"] == Fraction(233, 10) and x["n"] == 10 and x["months"]["2023-03"] == pytest.approx(2.9)
    row = target_status(ws.con, cfg, "城", date(2023, 10, 31)).iloc[0]
    assert row["ytd_value"] == 2.3 and row["n"] == 10 and row["expected"] == 10 and row["status"] == "on_track"
    assert row["required"] == pytest.approx(2.45) and row["required_text"] == "剩余 2 个月的平均值须 < 2.45 t/(km²·月)"
    # mid-October: October is not complete → 9 months, sum 21.1, remaining 3: (28.2 − 21.1)/3 = 2.3666…
    # → shown cut down to "≤ 2.36"
    row = target_status(ws.con, cfg, "城", date(2023, 10, 15)).iloc[0]
    assert row["n"] == 9 and row["required"] == pytest.approx(7.1 / 3) and "≤ 2.36" in row["required_text"]
    # extra still overrides the store: 10 months summing 25.0 → (28.2 − 25)/2 = 1.6
    row = target_status(ws.con, cfg, "城", date(2023, 10, 31), extra={"dust": {"sum": 25.0, "n": 10}}).iloc[0]
    assert row["required"] == pytest.approx(1.6) and row["status"] == "at_risk"
    # the monthly rule is the dustfall evaluation's (rounded, they are its published monthly means)
    ev = evaluate_dust(load_dust(ws.con, 2023), 2023)
    means = city_monthly_means(load_dust(ws.con, 2023).rename(columns={"dustfall": "value"}))
    assert [round(v, 1) for v in means] == ev.monthly["mean"].tolist()


def test_targets_status_command_shows_dustfall(ws, tmp_path):
    import json
    import os

    from typer.testing import CliRunner

    from qingshan.cli.targets import targets_app

    import_dust(ws, _ten_months(tmp_path))
    saved = os.environ.get("QINGSHAN_WORKSPACE")
    os.environ["QINGSHAN_WORKSPACE"] = str(ws.path)
    try:
        res = CliRunner().invoke(targets_app, ["status", "--city", "常州市", "--year", "2023", "--as-of", "2023-10-31",
                                               "--json"])
    finally:
        if saved is None:
            os.environ.pop("QINGSHAN_WORKSPACE", None)
        else:
            os.environ["QINGSHAN_WORKSPACE"] = saved
    assert res.exit_code == 0, res.output
    dust = {r["id"]: r for r in json.loads(res.output)["targets"]}["dustfall"]
    assert dust["ytd_value"] == 2.3 and dust["status"] == "on_track" and dust["required"] == pytest.approx(2.45)


# --- bulletin -----------------------------------------------------------------------------------------------------


def test_bulletin_from_the_store_equals_the_bulletin_from_files(tmp_path):
    pytest.importorskip("docx")
    from qingshan.reports.bulletin import build_bulletin
    from qingshan.reports.model import Provenance, Table
    from qingshan.store.workspace import Workspace

    from .test_report_bulletin import _input_files

    inputs = _input_files(tmp_path)
    now = datetime(2024, 5, 6, 7, 8, 9)
    with Workspace(tmp_path / "files") as ws:
        with_files = build_bulletin(ws, "城", 2023, inputs=inputs, now=now)
    with Workspace(tmp_path / "store") as ws:
        ids = [import_rain(ws, inputs.rain).import_id, import_dust(ws, inputs.dust).import_id]
        ids += [import_noise(ws, k, p, 2023).import_id for k, p in
                (("regional", inputs.noise_regional), ("road", inputs.noise_road), ("zone", inputs.noise_zone))]
        from_store = build_bulletin(ws, "城", 2023, now=now)

    def body(doc) -> list:
        out = []
        for s in doc.sections:
            for b in s.blocks:
                if isinstance(b, Table):
                    out.append((s.heading, b.caption, b.header, [[c.text for c in r] for r in b.rows]))
                elif not isinstance(b, Provenance):
                    out.append((s.heading, getattr(b, "text", None)))
        return out

    heads = [s.heading for s in from_store.sections]
    assert heads == ["综述", "一、降水酸度与降尘", "（一）酸雨", "（二）降尘", "二、声环境质量", "（一）区域声环境",
                     "（二）道路交通声环境", "（三）功能区声环境", "附录　数据来源与生成说明"]
    assert heads == [s.heading for s in with_files.sections]
    assert body(from_store) == body(with_files)  # every sentence and table cell, numbers included
    texts = " ".join(from_store.paragraphs())
    ev = evaluate_dust(read_table(inputs.dust), 2023).summary.iloc[0]
    assert f"年均降尘量为{ev['annual_mean']:.1f}" in texts
    prov = from_store.sections[-1].blocks[0]
    assert prov.import_ids == sorted(ids)
    assert any(n.startswith("酸雨：工作区测量库（导入批次 #1）") for n in prov.notes)
    assert not any("输入文件" in n for n in prov.notes)
    assert any(n.startswith("酸雨：输入文件") for n in with_files.sections[-1].blocks[0].notes)


def test_bulletin_logs_when_neither_store_nor_file(tmp_path):
    from qingshan.reports.bulletin import ReportError, build_bulletin
    from qingshan.store.workspace import Workspace

    with Workspace(tmp_path / "ws") as ws:
        import_noise(ws, "regional", write(tmp_path, "r.csv", REGIONAL), 2022)  # another year: not used for 2023
        with pytest.raises(ReportError) as e:
            build_bulletin(ws, "城", 2023)
    msg = str(e.value)
    assert "未生成“酸雨”一节：工作区无酸雨数据" in msg and "未生成“区域声环境”一节：工作区无2023年区域声环境数据" in msg


# --- command line -------------------------------------------------------------------------------------------------


def test_import_and_evaluate_commands(tmp_path, water_cli):  # noqa: F811 (the fixture)
    run, ws = water_cli
    res = run(["import", "dust", write(tmp_path, "dust.csv", DUST)])
    assert res.exit_code == 0, res.output
    assert "导入结果（dust）" in res.output
    res = run(["dust", "evaluate", "--year", "2023"])
    assert res.exit_code == 0, res.output
    assert "2023-03" in res.output and "-3.3" in res.output  # the figures of test_dust_from_the_store_equals_the_file
    again = run(["import", "dust", tmp_path / "dust.csv"])
    assert "同一文件已于导入批次 #1 导入过" in again.output
    assert run(["dust", "evaluate", "--year", "2030"]).exit_code == 1
    assert run(["rain", "evaluate"]).exit_code == 1  # nothing imported yet
    assert run(["import", "rain", write(tmp_path, "rain.csv", RAIN)]).exit_code == 0
    res = run(["rain", "evaluate", "--period", "2023", "-o", tmp_path / "rain-out.csv"])
    assert res.exit_code == 0, res.output
    out = pd.read_csv(tmp_path / "rain-out.csv").set_index("site")
    assert out.loc["全部", "samples"] == 4 and out.loc["全部", "acid_frequency_pct"] == 50.0
    res = run(["import", "noise-regional", write(tmp_path, "r.csv", REGIONAL)])
    assert res.exit_code == 2 and "--year" in res.output
    res = run(["import", "noise-regional", tmp_path / "r.csv", "--year", "2023"])
    assert res.exit_code == 0, res.output
    assert run(["import", "noise-zone", write(tmp_path, "z.csv", ZONES)]).exit_code == 0  # year from the dates
    res = run(["noise", "evaluate", "-o", tmp_path / "n.xlsx"])
    assert res.exit_code == 0, res.output
    assert "评价工作区 2023 年的声环境数据" in res.output and "53.6" in res.output
    assert set(pd.read_excel(tmp_path / "n.xlsx", sheet_name=None)) == {"区域", "功能区"}
    assert run(["noise", "evaluate", "--year", "2019"]).exit_code == 1
    # FILE mode still works and ignores the store
    res = run(["dust", "evaluate", write(tmp_path, "other.csv", "site,month,dustfall\nX,2021-05,3.0\n")])
    assert res.exit_code == 0 and "2021" in res.output
