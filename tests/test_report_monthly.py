"""Monthly ranking bulletin: built from a small store (two districts, a previous year), rendered to .docx and
read back with python-docx. Expected numbers come from the air engine (evaluate_period), a few also by hand."""

from __future__ import annotations

from datetime import date, datetime

import numpy as np
import pandas as pd
import pyarrow as pa
import pytest

docx = pytest.importorskip("docx")
from docx.oxml.ns import qn
from typer.testing import CliRunner

from qingshan.evaluate.air import evaluate_period
from qingshan.evaluate.periods import day_index, parse_period
from qingshan.reports.docx_render import render_docx
from qingshan.reports.model import Cell, Document, Paragraph, Section, Table
from qingshan.reports.monthly import (
    GOOD,
    PM25,
    ReportError,
    build_monthly,
    change,
    fmt_change,
)
from qingshan.standards.pollutants import SIX

CITY = "青城"
STATIONS = [  # code, name, district, control
    ("A", "东区甲站", "东区", False),
    ("B", "东区乙站", "东区", False),
    ("C", "西区甲站", "西区", False),
    ("D", "西区乙站", "西区", False),
    ("K", "山顶对照点", "西区", True),
]


def _days(station: str, first: date, pm25: np.ndarray) -> pd.DataFrame:
    d0 = day_index(first)
    n = len(pm25)
    hours = np.arange(d0 * 24 + 1, (d0 + n) * 24 + 1)
    return pd.DataFrame({"station": station, "hi": hours, "pm25": np.repeat(pm25.astype(float), 24),
                         "so2": 8.0, "no2": 30.0, "co": 0.8, "o3": 60.0, "pm10": 40.0})


def _year(y: int, base: float, may: float | None = None, bad_may_days: int = 0) -> np.ndarray:
    """Daily PM2.5 from 1 January to 31 May: ``base``, May ``may``, the first ``bad_may_days`` of May at 120."""
    n = (date(y, 5, 31) - date(y, 1, 1)).days + 1
    v = np.full(n, base)
    may_first = (date(y, 5, 1) - date(y, 1, 1)).days
    if may is not None:
        v[may_first:] = may
    v[may_first:may_first + bad_may_days] = 120.0
    return v


def build_store(ws, previous_year: bool = True, districts: bool = True) -> None:
    frames = [
        _days("A", date(2023, 1, 1), _year(2023, 30.0, may=40.0)),
        _days("B", date(2023, 1, 1), _year(2023, 50.0, bad_may_days=6)),
        _days("C", date(2023, 1, 1), _year(2023, 20.0)),
        _days("D", date(2023, 5, 20), np.full(10, 60.0)),  # 10 days in May: invalid month
        _days("K", date(2023, 1, 1), _year(2023, 5.0)),
    ]
    if previous_year:
        frames += [_days("A", date(2022, 1, 1), _year(2022, 35.0)),
                   _days("B", date(2022, 1, 1), _year(2022, 45.0)),
                   _days("C", date(2022, 1, 1), _year(2022, 25.0))]
    rows = pd.concat(frames, ignore_index=True)
    rows["import_id"] = 7
    ws.upsert_air_hourly(pa.Table.from_pandas(rows[["station", "hi", *SIX, "import_id"]], preserve_index=False))
    n = len(STATIONS)
    ws.upsert_stations(pa.table({
        "code": [s[0] for s in STATIONS], "name": [s[1] for s in STATIONS], "city": [CITY] * n,
        "district": [s[2] if districts else None for s in STATIONS], "lon": [None] * n, "lat": [None] * n,
        "is_control": [s[3] for s in STATIONS], "status": [None] * n, "import_id": [7] * n}))


def engine(ws, period: str):
    t = evaluate_period(ws.con, parse_period(period), city=CITY, levels=("station", "city", "district")).table
    return t.set_index(["level", "code"])


def tables_after(d, heading_prefix: str):
    """The python-docx tables in body order, each with the heading text preceding it."""
    out, heading = [], None
    body = d.element.body
    for el in body.iterchildren():
        if el.tag == qn("w:p"):
            style = el.find(qn("w:pPr"))
            text = "".join(t.text or "" for t in el.iter(qn("w:t")))
            if style is not None and style.find(qn("w:pStyle")) is not None:
                heading = text
        elif el.tag == qn("w:tbl"):
            out.append((heading, el))
    tbls = {id(t._tbl): t for t in d.tables}
    return [(h, tbls[id(e)]) for h, e in out if h and h.startswith(heading_prefix)]


def fill(cell) -> str | None:
    shd = cell._tc.tcPr.find(qn("w:shd")) if cell._tc.tcPr is not None else None
    return None if shd is None else shd.get(qn("w:fill"))


def row_of(table, name: str):
    for r in table.rows[1:]:
        if r.cells[1].text.startswith(name):
            return r
    raise AssertionError(f"{name} not in table")


@pytest.fixture
def report(ws, tmp_path):
    build_store(ws)
    doc = build_monthly(ws.con, CITY, "2023-05", now=datetime(2024, 1, 2, 3, 4, 5))
    path = tmp_path / "r.docx"
    render_docx(doc, path)
    return doc, docx.Document(str(path))


def test_city_sentences_use_engine_numbers(ws, report):
    model, d = report
    text = "\n".join(p.text for p in d.paragraphs)
    may, prev = engine(ws, "2023-05").loc[("city", CITY)], engine(ws, "2022-05").loc[("city", CITY)]
    # by hand: days with D (20–29 May): (40+50+20+60)/4 = 42.5 → 42; 1–6 May (40+120+20)/3 = 60; others
    # (40+50+20)/3 = 36.7 → 37; the month (6·60 + 10·42 + 15·37)/31 = 43.2 → 43; May 2022: (35+45+25)/3 = 35
    assert may.pm25_mean == 43 and prev.pm25_mean == 35
    pct = change(PM25, may.pm25_mean, prev.pm25_mean)
    assert pct == pytest.approx(22.9)
    assert "2023年5月，青城细颗粒物（PM2.5）平均浓度为43微克/立方米，同比上升22.9%" in text
    assert f"优良天数比例为{may.good_ratio:.1f}%（有效监测{int(may.valid_days)}天，其中优良{int(may.good_days)}天）" in text
    ytd, pytd = engine(ws, "2023-01-01:2023-05-31").loc[("city", CITY)], engine(ws, "2022-01-01:2022-05-31").loc[("city", CITY)]
    assert f"2023年1—5月，青城细颗粒物（PM2.5）累计平均浓度为{ytd.pm25_mean:.0f}微克/立方米" in text
    assert change_text(ytd.pm25_mean, pytd.pm25_mean) in text
    assert model.title == "青城2023年5月环境空气质量排名通报" and d.paragraphs[0].text == model.title


def change_text(cur, prev) -> str:
    c = change(PM25, cur, prev)
    if c == 0:
        return "与上年同期持平"
    return f"同比{'上升' if c > 0 else '下降'}{abs(c):.1f}%"


def test_district_pm25_table_cells_and_highlights(ws, report):
    _, d = report
    t = tables_after(d, "（一）细颗粒物")[0][1]
    assert [c.text for c in t.rows[0].cells] == ["排名", "区", "本月（微克/立方米）", "同比",
                                                "累计（微克/立方米）", "累计排名", "同比"]
    may, prev = engine(ws, "2023-05"), engine(ws, "2022-05")
    east, west, city = may.loc[("district", "东区")], may.loc[("district", "西区")], may.loc[("city", CITY)]
    # 东区 May: days 1–6 (40+120)/2 = 80, others 45 → (6·80 + 25·45)/31 = 51.8 → 52 > city 43: yellow;
    # May 2022 东区 (35+45)/2 = 40 → +30.0 %: red
    assert east.pm25_mean == 52
    r = row_of(t, "东区")
    assert r.cells[0].text == "2" and r.cells[2].text == "52" and fill(r.cells[2]) == "FFFF00"
    assert r.cells[3].text == fmt_change(PM25, change(PM25, 52, prev.loc[("district", "东区")].pm25_mean)) == "+30.0%"
    assert fill(r.cells[3]) == "FF0000"
    ytd = engine(ws, "2023-01-01:2023-05-31")
    assert r.cells[4].text == f"{ytd.loc[('district', '东区')].pm25_mean:.0f}" and r.cells[5].text == "2"
    assert fill(r.cells[4]) == ("FFFF00" if ytd.loc[("district", "东区")].pm25_mean > ytd.loc[("city", CITY)].pm25_mean else None)
    w = row_of(t, "西区")
    assert w.cells[0].text == "1" and w.cells[2].text == f"{west.pm25_mean:.0f}" and fill(w.cells[2]) is None
    assert west.pm25_mean < city.pm25_mean


def test_good_ratio_table_in_percentage_points(ws, report):
    _, d = report
    t = tables_after(d, "（二）优良天数比例")[0][1]
    may, prev = engine(ws, "2023-05"), engine(ws, "2022-05")
    east = may.loc[("district", "东区")]
    assert east.good_ratio == pytest.approx(80.6)  # 25 of 31 days (1–6 May: PM2.5 80 → AQI 107)
    r = row_of(t, "东区")
    assert r.cells[2].text == "80.6" and fill(r.cells[2]) == "FFFF00"  # city: all 31 days good
    assert r.cells[3].text == fmt_change(GOOD, change(GOOD, 80.6, prev.loc[("district", "东区")].good_ratio)) == "-19.4"
    assert fill(r.cells[3]) == "FF0000"
    assert t.rows[0].cells[3].text == "同比（百分点）"
    w = row_of(t, "西区")
    assert w.cells[3].text == "0.0" and fill(w.cells[3]) is None and fill(w.cells[2]) is None


def test_station_table_footnotes_invalid_station_and_skips_control(ws, report):
    model, d = report
    tables = tables_after(d, "（一）细颗粒物")
    st = tables[1][1]
    names = [r.cells[1].text for r in st.rows[1:]]
    assert "山顶对照点" not in " ".join(names)
    r = row_of(st, "西区乙站")
    assert r.cells[1].text == "西区乙站①" and r.cells[2].text == "西区" and r.cells[0].text == "—"
    assert r.cells[3].text == "—" and r.cells[5].text == "—"  # month value and YTD value withheld
    text = "\n".join(p.text for p in d.paragraphs)
    assert "① 西区乙站：本月PM2.5有效日均值10个，不满足数据有效性要求，本月数据无效，不参与排名。" in text
    assert row_of(st, "西区甲站").cells[0].text == "1" and row_of(st, "西区甲站").cells[3].text == "20"
    assert row_of(st, "东区乙站").cells[3].text == "64"  # (6·120 + 25·50)/31 = 63.5 → 64
    assert any("对照点" in line for line in model.log)


def test_east_asian_fonts_and_styles(report):
    _, d = report
    normal = d.styles["Normal"].element.rPr.rFonts
    assert normal.get(qn("w:eastAsia")) == "仿宋" and normal.get(qn("w:ascii")) == "Times New Roman"
    h1 = d.styles["Heading 1"].element.rPr.rFonts
    assert h1.get(qn("w:eastAsia")) == "黑体" and h1.get(qn("w:asciiTheme")) is None
    runs = [r for p in d.paragraphs for r in p.runs if r.text.strip()]
    assert runs and all(r._element.rPr.rFonts.get(qn("w:eastAsia")) for r in runs)
    cell_run = d.tables[0].rows[1].cells[1].paragraphs[0].runs[0]
    assert cell_run._element.rPr.rFonts.get(qn("w:eastAsia")) == "仿宋"
    sec = d.sections[0]
    assert round(sec.top_margin.mm) == 37 and round(sec.left_margin.mm) == 28


def test_provenance_appendix(report):
    _, d = report
    heads = [p.text for p in d.paragraphs if p.style.name.startswith("Heading")]
    assert heads[0] == "一、全市空气质量概况" and heads[-1].startswith("附录")
    prov = d.tables[-1]
    kv = {r.cells[0].text: r.cells[1].text for r in prov.rows[1:]}
    assert "gb3095-2012" in kv["评价规则"]
    assert kv["数据导入批次"] == "7"
    assert kv["生成时间"] == "2024-01-02 03:04:05"
    assert "2023-05-01至2023-05-31：4个评价点位有数据，其中3个PM2.5数据有效" in kv["本月数据覆盖"]
    assert "应监测31天" in kv["本月数据覆盖"]


def test_without_previous_year_and_districts(ws, tmp_path):
    build_store(ws, previous_year=False, districts=False)
    doc = build_monthly(ws.con, CITY, "2023-05")
    assert any("上年同月" in line and "无数据" in line for line in doc.log)
    assert any("略去" in line and "区" in line for line in doc.log)
    assert not any("各区" in s.heading for s in doc.sections)
    text = "\n".join(b.text for b in doc.sections[0].blocks)
    assert "同比" not in text and "平均浓度为43微克/立方米；" in text
    path = tmp_path / "n.docx"
    render_docx(doc, path)
    t = tables_after(docx.Document(str(path)), "（一）细颗粒物")[0][1]
    assert t.rows[0].cells[1].text == "点位" and row_of(t, "东区甲站").cells[4].text == "—"


def test_no_data_and_bad_month(ws):
    build_store(ws)
    with pytest.raises(ReportError, match="没有空气质量监测数据"):
        build_monthly(ws.con, CITY, "2021-05")
    with pytest.raises(ReportError):
        build_monthly(ws.con, CITY, "2023-5-01")


def test_model_rejects_ragged_rows_and_renders_minimal_document(tmp_path):
    with pytest.raises(ValueError):
        Table(["a", "b"], [[Cell("1")]])
    doc = Document("标题", [Section("一、测试", [Paragraph("正文"), Table(["甲"], [[Cell("1", "red")]])])])
    d = render_docx(doc, tmp_path / "m.docx")
    assert fill(d.tables[0].rows[1].cells[0]) == "FF0000"


def test_cli_monthly(ws, tmp_path, monkeypatch):
    import typer

    from qingshan.cli.reports import report_app

    build_store(ws)
    ws.close()
    monkeypatch.setenv("QINGSHAN_WORKSPACE", str(ws.path))
    app = typer.Typer()
    app.add_typer(report_app, name="report")
    out = tmp_path / "out" / "月报.docx"
    runner = CliRunner()
    res = runner.invoke(app, ["report", "monthly", "--city", CITY, "--month", "2023-05", "-o", str(out)])
    assert res.exit_code == 0, res.output
    d = docx.Document(str(out))
    assert d.paragraphs[0].text == "青城2023年5月环境空气质量排名通报"
    bad = runner.invoke(app, ["report", "monthly", "--city", "无城", "--month", "2023-05", "-o", str(tmp_path / "x.docx")])
    assert bad.exit_code == 2 and not (tmp_path / "x.docx").exists()


def test_town_ranking_from_town_stations(ws):
    """Two town stations of 湖镇 and one of 山镇: towns are ranked on their stations' mean; the town stations do
    not change the city or district values, nor appear among the ranked monitoring points."""
    build_store(ws)
    may = _year(2023, 10.0)
    frames = [_days("T1", date(2023, 1, 1), may * 3), _days("T2", date(2023, 1, 1), may * 5),
              _days("T3", date(2023, 1, 1), may * 2)]
    rows = pd.concat(frames, ignore_index=True)
    rows["import_id"] = 8
    ws.upsert_air_hourly(pa.Table.from_pandas(rows[["station", "hi", *SIX, "import_id"]], preserve_index=False))
    ws.upsert_stations(pa.table({
        "code": ["T1", "T2", "T3"], "name": ["湖镇一", "湖镇二", "山镇站"], "city": [CITY] * 3,
        "district": ["东区", "东区", "西区"], "lon": [None] * 3, "lat": [None] * 3, "is_control": [False] * 3,
        "status": [None] * 3, "import_id": [8] * 3, "town": ["湖镇", "湖镇", "山镇"], "network": ["乡镇"] * 3}))
    doc = build_monthly(ws.con, CITY, "2023-05")
    heads = [s.heading for s in doc.sections]
    assert "三、各镇（街道）空气质量排名" in heads
    town_pm = next(b for s in doc.sections for b in s.blocks
                   if isinstance(b, Table) and b.header[1] == "镇（街道）")
    cells = {r[1].text: r for r in town_pm.rows}
    assert cells["山镇"][0].text == "1" and cells["山镇"][2].text == "20"  # 2 × 10
    assert cells["湖镇"][0].text == "2" and cells["湖镇"][2].text == "40"  # (30 + 50) / 2
    point_tables = [b for s in doc.sections for b in s.blocks if isinstance(b, Table) and b.header[1] == "点位"]
    assert point_tables and all(r[1].text[:2] not in ("湖镇", "山镇") for t in point_tables for r in t.rows)
    city = evaluate_period(ws.con, parse_period("2023-05"), city=CITY).table.query("level == 'city'").iloc[0]
    assert any(f"平均浓度为{int(city['pm25_mean'])}微克" in t for t in doc.paragraphs())
