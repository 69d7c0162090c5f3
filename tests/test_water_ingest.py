"""Water adapters: manual samples (XLSX/CSV with <DL forms and section metadata) and the automatic stations'
publication (raw JSON, flat table, per-section CSV). Bad input gets a clear Chinese message and a quarantine record
with file/line/field, no good value is lost, re-import is idempotent."""

from __future__ import annotations

import gzip
import json
from datetime import datetime

import pandas as pd
import pytest

from qingshan.ingest import IngestError
from qingshan.ingest.water_auto import decode_cell, import_water_auto, infer_timestamp
from qingshan.ingest.water_auto import parse as parse_auto
from qingshan.ingest.water_samples import import_water_samples


def quarantine(ws, iid):
    return ws.con.execute("SELECT line, field, raw, reason FROM quarantine WHERE import_id = ? ORDER BY line, field",
                          [iid]).fetchall()


def samples(ws):
    return {(r[0], str(r[1]), r[2]): (r[3], r[4], r[5]) for r in
            ws.con.execute("SELECT section, date, item, value, nondetect, dl FROM water_samples").fetchall()}


BAD_CSV = """section,date,ph,do,codmn,nh3n,tp,hg[ug/L],cd[ppm],color,总磷
S1,2023-01-15,7.5,8.2,3.1,<0.025,0.08,<0.04,1,x,0.08
S1,2023-02-15,7.6,-4.2,abc,0.02L,0.09,0.05,1,x,
S2,2023/03/01,8.1,9.0,4.0,＜0.025,0.06,<,1,x,
S2,2023-13-01,8.1,9.0,4.0,0.1,0.06,0.01,1,x,
S3,2023-03,7.0,7.5,ND,0.5,0.1,,1,x,
,2023-03-01,7.0,7.5,2,0.5,0.1,,1,x,
"""
SECTIONS_CSV = """section,name,water_body,basin,level,target,district
S1,断面一,river,太湖流域,国考,Ⅲ,武进区
S2,断面二,湖库,太湖流域,省考,III类,金坛区
S4,断面四,,长江流域,市考,3,新北区
S5,断面五,sea,长江流域,市考,Ⅹ,新北区
"""


def test_samples_bad_input_is_quarantined_and_good_values_kept(ws, tmp_path):
    (tmp_path / "sections.csv").write_text(SECTIONS_CSV, encoding="utf-8")
    rep_s = import_water_samples(ws, tmp_path / "sections.csv")
    assert (rep_s.quarantined, rep_s.rows_read) == (2, 4)
    q = quarantine(ws, rep_s.import_id)
    assert [(r[0], r[1]) for r in q] == [(4, "water_body"), (5, "water_body")]
    assert "水体类型缺失" in q[0][3] and "无法识别" in q[1][3]
    assert ws.con.execute("SELECT section, water_body, target_class FROM water_sections ORDER BY 1").fetchall() == \
        [("S1", "river", 3), ("S2", "lake", 3)]

    (tmp_path / "bad.csv").write_text(BAD_CSV, encoding="gbk")
    rep = import_water_samples(ws, tmp_path / "bad.csv")
    q = quarantine(ws, rep.import_id)
    reasons = {(line, field): reason for line, field, _, reason in q}
    assert "单位 'ppm' 无法识别" in reasons[(1, "cd[ppm]")]
    assert "未知的监测项目" in reasons[(1, "color")]
    assert "重复出现" in reasons[(1, "总磷")]
    assert "负值" in reasons[(3, "do")] and "非数值" in reasons[(3, "codmn")]
    assert "未检出的写法无效" in reasons[(4, "hg")]
    assert "日期无法识别" in reasons[(5, "date")]
    assert "未检出的写法无效" in reasons[(6, "codmn")]  # "ND" without a limit
    assert "缺少断面" in reasons[(7, "section")]
    assert "断面缺少断面信息" in reasons[(6, "section")]  # S3 has no metadata: stored, reported
    assert any("S3" in m and "缺少断面信息" in m for m in rep.messages)
    got = samples(ws)
    assert got[("S1", "2023-01-15", "nh3n")] == (None, True, 0.025)
    assert got[("S1", "2023-01-15", "hg")] == (None, True, pytest.approx(0.00004))
    assert got[("S1", "2023-02-15", "hg")][0] == pytest.approx(0.00005)  # µg/L → mg/L
    assert got[("S1", "2023-02-15", "nh3n")] == (None, True, 0.02)  # 0.02L
    assert got[("S2", "2023-03-01", "nh3n")] == (None, True, 0.025)  # full-width ＜
    assert ("S1", "2023-02-15", "do") not in got and ("S1", "2023-02-15", "codmn") not in got
    assert got[("S1", "2023-02-15", "ph")][0] == 7.6  # the rest of the row is kept
    assert got[("S3", "2023-03-01", "nh3n")][0] == 0.5  # a month is stored as its first day
    assert not any(k[0] == "S2" and k[1].startswith("2023-13") for k in got)
    assert rep.new == len(got)

    again = import_water_samples(ws, tmp_path / "bad.csv")
    assert (again.new, again.updated, again.unchanged) == (0, 0, len(got))
    assert again.previous_import == rep.import_id and samples(ws) == got


def test_samples_xlsx_with_sections_sheet_and_corrections(ws, tmp_path):
    data = pd.DataFrame({"断面": ["A", "A", "B"], "采样日期": ["2023-01-10", "2023-02-10", "2023-01-12"],
                         "溶解氧": ["8", "7", "9"], "总磷(mg/L)": ["0.1", "0.12", "0.04"], "汞(μg/L)": ["0.03", "<0.02", "0.01"],
                         "叶绿素a": ["", "", "12"], "透明度[cm]": ["", "", "80"]})
    secs = pd.DataFrame({"section": ["A", "B"], "水体类型": ["河流", "湖泊"], "考核级别": ["国考,省考", "省考"], "目标": ["Ⅲ", "Ⅳ"]})
    path = tmp_path / "s.xlsx"
    with pd.ExcelWriter(path) as xw:
        data.to_excel(xw, sheet_name="监测数据", index=False)
        secs.to_excel(xw, sheet_name="断面", index=False)
    rep = import_water_samples(ws, path)
    assert rep.quarantined == 0, quarantine(ws, rep.import_id)
    got = samples(ws)
    assert got[("B", "2023-01-12", "sd")][0] == pytest.approx(0.8) and got[("B", "2023-01-12", "chla")][0] == 12
    assert got[("A", "2023-02-10", "hg")] == (None, True, pytest.approx(0.00002))
    assert ws.con.execute("SELECT level, water_body, target_class FROM water_sections WHERE section='B'").fetchall() == [("省考", "lake", 4)]
    data.loc[0, "溶解氧"] = "6.5"
    with pd.ExcelWriter(path) as xw:
        data.to_excel(xw, sheet_name="监测数据", index=False)
        secs.to_excel(xw, sheet_name="断面", index=False)
    again = import_water_samples(ws, path)
    assert (again.new, again.updated) == (0, 1)
    assert samples(ws)[("A", "2023-01-10", "do")][0] == 6.5


def test_samples_file_refused_without_key_columns(ws, tmp_path):
    (tmp_path / "x.csv").write_text("site_name,when,tp\nA,2023-01-01,0.1\n")
    with pytest.raises(IngestError, match="缺少必需列 section"):
        import_water_samples(ws, tmp_path / "x.csv")
    (tmp_path / "y.csv").write_text("section,date,colour\nA,2023-01-01,3\n")
    with pytest.raises(IngestError, match="没有任何可识别的监测项目列"):
        import_water_samples(ws, tmp_path / "y.csv")


# --- automatic stations ------------------------------------------------------------------------------------------

THEAD = ["省份", "流域", "断面名称", "监测时间", "水质类别", "水温<br/><span class='unit'>(℃)</span>",
         "pH<br/><span class='unit'>(无量纲)</span>", "溶解氧<br/><span class='unit'>(mg/L)</span>",
         "电导率<br/><span class='unit'>(μS/cm)</span>", "浊度<br/><span class='unit'>(NTU)</span>",
         "高锰酸盐指数<br/><span class='unit'>(mg/L)</span>", "氨氮<br/><span class='unit'>(mg/L)</span>",
         "总磷<br/><span class='unit'>(mg/L)</span>", "总氮<br/><span class='unit'>(mg/L)</span>",
         "叶绿素α<br/><span class='unit'>(mg/L)</span>", "藻密度<br/><span class='unit'>(cells/L)</span>", "站点情况"]


def span(title, shown):
    return f"<span data-toggle='tooltip' data-placement='right' title='{title}'>{shown}</span>"


def raw(v, shown):
    return span(f"原始值：{v}", shown)


ROWS = [
    ["江苏省", "太湖流域", span("所在地市:无锡市&#10;所属河流:太湖", "沙渚"), "12-31 20:00", "Ⅲ", raw(6.2, "6.2"), raw(8.011, "8.01"),
     raw(10.2, "10.20"), "--", raw(3.3, "3.3"), raw(3.88, "3.88"), raw(0.031, "0.031"), raw(0.0501, "0.050"),
     raw(1.71, "1.71"), raw(0.0123, "0.012"), raw(5000000, "5.0E+06"), "正常"],
    ["江苏省", "太湖流域", span("所在地市:常州市&#10;所属河流:太滆运河", "百渎港桥"), "01-01 08:00", "Ⅱ", raw(6.0, "6.0"), raw(7.9, "7.90"),
     raw(9.1, "9.10"), "--", "--", raw(3.2, "3.20"), span("极值过滤", "--"), raw(0.08, "0.080"), "*", "*", "*", "维护"],
    ["北京市", "海河流域", span("所在地市:密云区&#10;所属河流:潮河", "古北口"), None, "", "--", "--", "--", "--", "--", "--", "--",
     "--", "--", "*", "*", "停站"],
]


def write_json(path, rows=ROWS, gz=True):
    doc = json.dumps({"result": 1, "total": 1, "records": len(rows), "thead": THEAD, "tbody": rows}, ensure_ascii=False).encode()
    path.write_bytes(gzip.compress(doc) if gz else doc)
    return path


def test_decode_cells():
    c = decode_cell(raw(0.0501, "0.050"))
    assert (c.shown, c.title) == ("0.050", "原始值：0.0501")
    assert decode_cell(None).shown == "" and decode_cell("--").shown == "--"
    assert infer_timestamp("12-31 20:00", 2021, 1) == datetime(2020, 12, 31, 20)
    assert infer_timestamp("01-01 08:00", 2021, 1) == datetime(2021, 1, 1, 8)


def test_auto_json_decoded_as_published(ws, tmp_path):
    p = write_json(tmp_path / "2021-01-01.json.gz")
    (rep,) = import_water_auto(ws, [p])
    assert (rep.rows_read, rep.new, rep.quarantined) == (3, 2, 0)
    assert any("1 行没有监测时间" in m and "停站 1" in m for m in rep.messages)
    rows = ws.con.execute("""SELECT station, city, river, ts, official_class, status, ph, ph_shown, tp, nh3n, nh3n_shown,
                             nh3n_note, tn, tn_shown, chla, algae, cond_shown FROM water_auto ORDER BY ts""").fetchall()
    assert rows[0] == ("江苏省/沙渚", "无锡市", "太湖", datetime(2020, 12, 31, 20), "Ⅲ", "正常", 8.011, "8.01", 0.0501, 0.031,
                       "0.031", "", 1.71, "1.71", pytest.approx(12.3), 5000000.0, "--")
    assert rows[1][0] == "江苏省/百渎港桥" and rows[1][5] == "维护"
    assert rows[1][9:14] == (None, "--", "极值过滤", None, "*")
    again = import_water_auto(ws, [p])[0]
    assert (again.new, again.updated, again.unchanged) == (0, 0, 2)


def test_auto_flat_and_by_name_tables(ws, tmp_path):
    flat = tmp_path / "flat.csv"
    flat.write_text(
        "source_file,province,basin,section,city,river,monitor_time_published,datetime_local_inferred,water_class,"
        "ph,ph_raw,ph_note,do_mg_l,do_mg_l_raw,do_mg_l_note,tp_mg_l,tp_mg_l_raw,tp_mg_l_note,station_status\n"
        "2021-01/2021-01-01.json,江苏省,太湖流域,沙渚,无锡市,太湖,12-31 20:00,2020-12-31 20:00,Ⅲ,8.01,8.011,,10.20,10.2,,0.050,0.0501,,正常\n"
        "2021-01/2021-01-01.json,江苏省,太湖流域,沙渚,无锡市,太湖,12-31 20:00,2020-12-31 20:00,Ⅲ,8.01,8.011,,10.20,10.2,,0.050,0.0501,,正常\n"
        "2021-01/2021-01-01.json,北京市,海河流域,古北口,,,,,,--,,,--,,,--,,,停站\n", encoding="utf-8")
    (rep,) = import_water_auto(ws, [flat])
    assert (rep.rows_read, rep.new) == (3, 1) and any("完全相同的重复记录" in m for m in rep.messages)
    by_name = tmp_path / "water_quality_by_name" / "江苏省" / "太湖流域" / "沙渚" / "2021-01" / "沙渚.csv"
    by_name.parent.mkdir(parents=True)
    by_name.write_text(
        "省份,流域,断面名称,监测时间,水质类别,水温(℃),pH(无量纲),溶解氧(mg/L),电导率(μS/cm),浊度(NTU),高锰酸盐指数(mg/L),"
        "氨氮(mg/L),总磷(mg/L),总氮(mg/L),叶绿素α(mg/L),藻密度(cells/L),站点情况\n"
        "江苏省,太湖流域,沙渚,01-01 04:00,Ⅲ,6.1,8.00,10.1,--,--,3.90,0.030,0.050,1.70,*,*,正常\n"
        "江苏省,太湖流域,沙渚,01-01 04:00,Ⅳ,6.1,8.00,10.1,--,--,3.90,0.030,0.060,1.70,*,*,正常\n"
        "江苏省,太湖流域,沙渚,01-01 08:00,Ⅲ,6.1,8.00,10.1,--,--,abc,-0.1,0.050,1.70,*,*,正常\n", encoding="utf-8")
    (rep2,) = import_water_auto(ws, [by_name])
    q = quarantine(ws, rep2.import_id)
    assert [(r[0], r[1]) for r in q] == [(2, "监测时间"), (4, "codmn"), (4, "nh3n")]
    assert "保留文件中最后出现的一条" in q[0][3]
    assert ws.con.execute("SELECT official_class, tp FROM water_auto WHERE ts = '2021-01-01 04:00'").fetchall() == [("Ⅳ", 0.06)]


def test_auto_unknown_format_and_undated_json(tmp_path):
    (tmp_path / "x.csv").write_text("a,b\n1,2\n")
    with pytest.raises(IngestError, match="无法识别的自动站数据格式"):
        parse_auto(tmp_path / "x.csv")
    with pytest.raises(IngestError, match="无法从文件名或路径得到年份"):
        parse_auto(write_json(tmp_path / "latest.json", gz=False))
