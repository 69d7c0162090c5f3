"""Annual bulletin: a workspace with two years of synthetic hourly air data (demo stations, imported through the
long-CSV adapter), two years of surface-water samples (the 51-section workbook of test_water_bulletin), small
noise / rain / dustfall input files and a small ledger. The bulletin is rendered to .docx, read back with
python-docx, and every number of the air and water chapters is checked against the engines run here."""

from __future__ import annotations

import copy
from datetime import date, datetime
from decimal import ROUND_HALF_EVEN, Decimal
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

docx = pytest.importorskip("docx")
from docx.oxml.ns import qn

from qingshan.evaluate.acid_rain import evaluate_rain
from qingshan.evaluate.air import evaluate_period
from qingshan.evaluate.dustfall import evaluate_dust
from qingshan.evaluate.noise import evaluate_regional, evaluate_road, evaluate_zones
from qingshan.evaluate.periods import parse_period
from qingshan.evaluate.tables import read_table
from qingshan.evaluate.water import evaluate_water
from qingshan.ingest import import_files
from qingshan.ingest.water_samples import import_water_samples
from qingshan.reports.bulletin import BulletinInputs, ReportError, build_bulletin
from qingshan.reports.docx_render import render_docx
from qingshan.reports.model import Figure, Paragraph, Provenance
from qingshan.standards.air_aqi import CATEGORIES
from qingshan.standards.pollutants import PRIMARY_CODES, PRIMARY_NAMES_ZH
from qingshan.store.workspace import Workspace
from qingshan.synth import DEMO_CITY, DEMO_STATIONS, generate_hourly, to_long_csv

from .test_water_bulletin import build_workbook

CITY = DEMO_CITY
YEAR = 2023
#: five of the demo stations: one evaluation station in each of the four districts and the control site
STATIONS = DEMO_STATIONS.iloc[[0, 2, 3, 4, 8]].reset_index(drop=True)
NOW = datetime(2024, 5, 6, 7, 8, 9)
#: pollutant, annual statistic column, digits, unit (as printed)
ITEMS = [("pm25", "pm25_mean", 0, "微克/立方米"), ("pm10", "pm10_mean", 0, "微克/立方米"),
         ("so2", "so2_mean", 0, "微克/立方米"), ("no2", "no2_mean", 0, "微克/立方米"),
         ("co", "co_p95", 1, "毫克/立方米"), ("o3", "o3_8h_p90", 0, "微克/立方米")]
SHORT = {"pm25": "PM₂.₅", "pm10": "PM₁₀", "so2": "SO₂", "no2": "NO₂", "co": "CO", "o3": "O₃"}


# --- independent arithmetic (Decimal, half to even) ---------------------------------------------------------------


def q(x: Decimal, digits: int) -> Decimal:
    return x.quantize(Decimal(1).scaleb(-digits), rounding=ROUND_HALF_EVEN)


def d(v) -> Decimal:
    return Decimal(repr(float(v)))


def pct(cur, prev) -> Decimal:
    return q((d(cur) - d(prev)) / d(prev) * 100, 1)


def pp(cur, prev, digits: int = 1) -> Decimal:
    return q(d(cur) - d(prev), digits)


def signed(x: Decimal) -> str:
    return f"+{x}" if x > 0 else f"{x}"


def words(x: Decimal, unit: str) -> str:
    """The bulletin's wording of a change (checked against the expected arithmetic, not the module)."""
    if x == 0:
        return "与上年持平"
    return f"同比{'上升' if x > 0 else '下降'}{abs(x)}{unit}"


def f(v, digits: int) -> str:
    return f"{float(v):.{digits}f}"


# --- the fixture workspace ----------------------------------------------------------------------------------------


def _hourly(year: int, seed: int, pm_factor: float, o3_factor: float) -> pd.DataFrame:
    h = generate_hourly(STATIONS, year, seed=seed)
    for c in ("pm25", "pm10"):
        h[c] = np.round(h[c] * pm_factor)
    h["o3"] = np.round(h["o3"] * o3_factor)
    return to_long_csv(h)


def _previous_year_workbook(book: Path, out: Path) -> None:
    """The same sections one year earlier: 漕桥河 still Ⅲ (no lead, less ammonia), 长荡湖 with more phosphorus."""
    sheets = pd.read_excel(book, sheet_name=None, dtype=str, keep_default_na=False)
    s = sheets["监测数据"]
    s["采样日期"] = s["采样日期"].str.replace("2023-", "2022-", regex=False)
    cq = s["断面编码"] == "CZ05"
    s.loc[cq, "pb"] = "<0.0025"
    s.loc[cq, "nh3n"] = [f"{float(v) * 0.6:.6f}" for v in s.loc[cq, "nh3n"]]
    s.loc[s["断面编码"] == "CZ04", "tp"] = "0.09"
    with pd.ExcelWriter(out) as xw:
        s.to_excel(xw, sheet_name="监测数据", index=False)
        sheets["断面信息"].to_excel(xw, sheet_name="断面信息", index=False)


def _input_files(root: Path) -> BulletinInputs:
    pd.DataFrame({"point": [f"G{i}" for i in range(1, 7)],
                  "leq_day": ["52.1", "54.3", "55.6", "53.0", "57.2", "51.8"],
                  "leq_night": ["44.0", "45.5", "46.1", "43.2", "48.0", "42.9"],
                  "district": ["天宁区", "天宁区", "钟楼区", "钟楼区", "新北区", "新北区"]}).to_csv(root / "regional.csv", index=False)
    pd.DataFrame({"segment": ["延陵路", "劳动路", "龙城大道", "长江路", "常澄路"],
                  "length_km": ["3.2", "2.5", "6.0", "4.1", "1.7"],
                  "leq_day": ["66.2", "69.4", "71.8", "73.5", "67.9"],
                  "leq_night": ["57.1", "59.6", "61.4", "63.8", "58.2"],
                  "district": ["天宁区", "天宁区", "新北区", "新北区", "钟楼区"]}).to_csv(root / "road.csv", index=False)
    zones = []
    for k, (zone, day, night) in enumerate([("1", 52.4, 44.1), ("1", 56.0, 46.3), ("2", 58.8, 49.0), ("2", 59.4, 51.2),
                                            ("3", 63.1, 54.9), ("3", 64.7, 53.3), ("4a", 68.9, 57.5), ("4a", 66.3, 54.0)]):
        for quarter in (1, 2):
            zones.append({"point": f"Z{k}", "zone": f"{zone}类", "leq_day": day + 0.4 * (quarter - 1),
                          "leq_night": night - 0.3 * (quarter - 1), "date": f"2023-0{3 * quarter}-15"})
    pd.DataFrame(zones).to_csv(root / "zones.csv", index=False)
    rng = np.random.default_rng(5)
    rain = []
    for y in (2022, 2023):
        for i in range(40):
            rain.append({"site": "市区" if i % 2 else "溧阳", "date": f"{y}-{1 + i % 12:02d}-{1 + i % 27:02d}",
                         "ph": f"{rng.uniform(4.3 if y == 2023 else 4.6, 7.4):.2f}", "rainfall": f"{rng.uniform(1, 60):.1f}"})
    pd.DataFrame(rain).to_csv(root / "rain.csv", index=False)
    dust = [{"site": s, "month": f"{y}-{m:02d}", "dustfall": f"{base + 0.1 * (m % 4) - (0.2 if y == 2022 else 0):.2f}"}
            for y in (2022, 2023) for s, base in (("天宁", 2.0), ("钟楼", 2.3), ("新北", 2.1)) for m in range(1, 13)]
    pd.DataFrame(dust).to_csv(root / "dust.csv", index=False)
    return BulletinInputs(root / "regional.csv", root / "road.csv", root / "zones.csv", root / "rain.csv",
                          root / "dust.csv")


def _ledger(workspace: Path):
    from qingshan.ledger.db import open_ledger
    from qingshan.ledger.rbac import Principal
    from qingshan.ledger.service import LedgerService

    led = open_ledger(workspace)
    with led.session() as s:
        svc = LedgerService(s, Principal.system(), today=date(2024, 5, 31))
        svc.create_unit("DQ01", "天宁区", "district")
        cases = []
        for i, (filed, amount) in enumerate([("2023-02-01", "120000.50"), ("2023-06-10", "80000"),
                                             ("2023-09-01", None), ("2022-12-20", "15000")]):
            c = svc.create_case(party=f"企业{i}", violation="超标排放", filed_on=filed)
            cases.append(c)
            if amount is None:
                svc.transition(c.id, "dismiss", {"reason": "证据不足", "on": "2023-09-20"})
                continue
            on = date.fromisoformat(filed) if filed.startswith("2023") else date(2023, 1, 5)
            svc.transition(c.id, "investigate", {"note": "调查终结", "on": on})
            svc.transition(c.id, "notify", {"note": "已告知", "on": on})
            svc.transition(c.id, "decide", {"decision_no": f"罚决{i}", "penalty_amount": amount, "on": on})
        svc.transfer_case(cases[0].id, "移送〔2023〕1号", on="2023-03-01")
        for seq in (1, 2, 3):
            r = svc.create_rectification(seq=seq, source_inspection="2023年省级督察", problem=f"问题{seq}",
                                         deadline="2023-12-31", responsible=["DQ01"])
            if seq == 1:
                svc.transition(r.id, "submit", {"completion_note": "已完成", "on": "2023-10-01"})
                svc.transition(r.id, "accept", {"acceptance_evidence": "验收意见", "on": "2023-10-10"})
        for i, (received, fate) in enumerate([("2023-03-01", "closed"), ("2023-04-02", "closed"),
                                              ("2023-05-03", "rejected"), ("2023-11-04", "open"),
                                              ("2022-11-04", "closed")]):
            p = svc.create_petition(channel="hotline_12369" if i % 2 else "letter_visit", received_on=received,
                                    content=f"反映噪声扰民{i}")
            on = date.fromisoformat(received)
            if fate == "rejected":
                svc.transition(p.id, "reject", {"reason": "不属于受理范围", "on": on})
                continue
            svc.transition(p.id, "accept", {"on": on})
            if fate == "closed":
                svc.transition(p.id, "assign", {"unit_ids": ["DQ01"], "on": on})
                svc.transition(p.id, "reply", {"reply_text": "已处理", "on": on})
                svc.transition(p.id, "close", {"satisfaction": "satisfied", "on": on})
    return led


@pytest.fixture(scope="module")
def workspace(tmp_path_factory):
    root = tmp_path_factory.mktemp("bulletin")
    ws = Workspace(root / "ws")
    st = STATIONS.copy()
    st["is_control"] = st["is_control"].map({True: "Y", False: "N"})
    st.to_csv(root / "stations.csv", index=False)
    _hourly(2022, 11, 1.08, 0.95).to_csv(root / "hourly_2022.csv", index=False)
    _hourly(2023, 2023, 1.0, 1.0).to_csv(root / "hourly_2023.csv", index=False)
    import_files(ws, "stations", [root / "stations.csv"])
    reports = import_files(ws, "long", [root / "hourly_2022.csv", root / "hourly_2023.csv"])
    assert all(r.quarantined == 0 for r in reports)
    book = root / "2023年手工监测.xlsx"
    build_workbook(book)
    _previous_year_workbook(book, root / "2022年手工监测.xlsx")
    for b in (book, root / "2022年手工监测.xlsx"):
        rep = import_water_samples(ws, b)
        assert rep.quarantined == 0
    inputs = _input_files(root)
    led = _ledger(ws.path)
    yield ws, inputs, led, root
    led.dispose()
    ws.close()


class Recorder:
    """Wraps the chart spec functions and keeps what each figure was given (the data must be the engine's)."""

    def __init__(self):
        self.calls: list[tuple[str, tuple, dict, dict]] = []

    def wrap(self, name, fn):
        def inner(*args, **kwargs):
            spec = fn(*args, **kwargs)
            self.calls.append((name, args, kwargs, spec))
            return spec
        return inner

    def get(self, name):
        found = [c for c in self.calls if c[0] == name]
        assert found, f"no {name} figure"
        return found[0]


def render(document, path: Path):
    """Render to .docx; a renderer that does not draw figures yet gets the document without its figure blocks."""
    try:
        render_docx(document, path)
    except TypeError:
        stripped = copy.copy(document)
        stripped.sections = [copy.copy(s) for s in document.sections]
        for s in stripped.sections:
            s.blocks = [b for b in s.blocks if not isinstance(b, Figure)]
        render_docx(stripped, path)
    return docx.Document(str(path))


@pytest.fixture(scope="module")
def bulletin(workspace):
    from qingshan.charts import specs

    ws, inputs, led, root = workspace
    rec = Recorder()
    mp = pytest.MonkeyPatch()
    for name in ("aqi_category_days", "category_share", "monthly_bars", "class_share"):
        mp.setattr(specs, name, rec.wrap(name, getattr(specs, name)))
    try:
        with led.session() as s:
            doc = build_bulletin(ws, CITY, YEAR, ledger_session=s, inputs=inputs, now=NOW)
    finally:
        mp.undo()
    d = render(doc, root / "公报.docx")
    return doc, d, rec


@pytest.fixture(scope="module")
def air(workspace):
    ws = workspace[0]
    out = {}
    for y in (YEAR, YEAR - 1):
        t = evaluate_period(ws.con, parse_period(str(y)), city=CITY, levels=("station", "city", "district")).table
        out[y] = t.set_index(["level", "code"])
    return out


@pytest.fixture(scope="module")
def water(workspace):
    ws = workspace[0]
    return {y: evaluate_water(ws.con, parse_period(str(y)), "assessment") for y in (YEAR, YEAR - 1)}


# --- reading the .docx --------------------------------------------------------------------------------------------


def body(d) -> list[tuple[str, object]]:
    """("p", text) and ("t", table) in document order."""
    tables = {id(t._tbl): t for t in d.tables}
    out = []
    for el in d.element.body.iterchildren():
        if el.tag == qn("w:p"):
            out.append(("p", "".join(t.text or "" for t in el.iter(qn("w:t")))))
        elif el.tag == qn("w:tbl"):
            out.append(("t", tables[id(el)]))
    return out


def table(d, caption: str):
    items = body(d)
    for i, (kind, obj) in enumerate(items):
        if kind == "t" and i and items[i - 1] == ("p", caption):
            return obj
    raise AssertionError(f"no table captioned {caption!r}")


def cells(t) -> list[list[str]]:
    return [[c.text for c in r.cells] for r in t.rows]


def text(d) -> str:
    return "\n".join(p.text for p in d.paragraphs)


def headings(d) -> list[str]:
    return [p.text for p in d.paragraphs if p.style.name.startswith("Heading")]


# --- air ----------------------------------------------------------------------------------------------------------


def test_structure_and_title(bulletin):
    doc, d, _ = bulletin
    assert d.paragraphs[0].text == f"{YEAR}年{CITY}生态环境状况公报" == doc.title
    assert headings(d) == [
        "综述", "一、环境空气质量", "（一）环境空气质量指数（AQI）", "（二）主要污染物", "（三）各区环境空气质量",
        "（四）酸雨", "（五）降尘", "二、地表水环境质量", "（一）断面水质", "（二）湖库营养状态", "三、声环境质量",
        "（一）区域声环境", "（二）道路交通声环境", "（三）功能区声环境", "四、生态环境治理", "（一）环境执法",
        "（二）督察整改", "（三）信访投诉", "附录　数据来源与生成说明"]
    assert not any("未提供" in p or "暂无" in p for p in doc.paragraphs())


def test_aqi_days_and_good_ratio(bulletin, air):
    _, d, rec = bulletin
    cur, prev = air[YEAR].loc[("city", CITY)], air[YEAR - 1].loc[("city", CITY)]
    rows = cells(table(d, f"{YEAR}年{CITY}环境空气质量类别天数"))[1:]
    days = [int(cur[f"days_level{c.level}"]) for c in CATEGORIES]
    assert [int(r[2]) for r in rows] == days
    assert sum(days) == int(cur["valid_days"])
    assert [r[3] for r in rows] == [str(q(Decimal(n) / int(cur["valid_days"]) * 100, 1)) for n in days]
    assert [int(r[4]) for r in rows] == [int(prev[f"days_level{c.level}"]) for c in CATEGORIES]
    t = text(d)
    good_change = int(cur["good_days"]) - int(prev["good_days"])
    assert f"优良天数{int(cur['good_days'])}天" in t
    assert (f"较上年{'增加' if good_change > 0 else '减少'}{abs(good_change)}天" if good_change else "与上年持平") in t
    ratio = f"优良天数比例为{cur['good_ratio']:.1f}%"
    assert f"{ratio}，{words(pp(cur['good_ratio'], prev['good_ratio']), '个百分点')}" in t
    assert f"有效监测{int(cur['valid_days'])}天（全年{int(cur['expected_days'])}天）" in t
    _, args, _, _ = rec.get("aqi_category_days")
    assert dict(args[0]) == {c.name_zh: n for c, n in zip(CATEGORIES, days)}


def test_primary_pollutants(bulletin, air):
    _, d, rec = bulletin
    cur = air[YEAR].loc[("city", CITY)]
    expected = {PRIMARY_NAMES_ZH[c]: int(cur[f"primary_days_{c}"]) for c in PRIMARY_CODES if cur[f"primary_days_{c}"] > 0}
    _, args, _, _ = rec.get("category_share")
    assert dict(args[0]) == expected
    non_excellent = int(cur["valid_days"]) - int(cur["days_level1"])
    t = text(d)
    assert f"AQI大于50的天数共{non_excellent}天" in t
    for name, n in expected.items():
        assert f"{name}{n}天" in t
    top = max(expected, key=expected.get)
    assert f"以{top}为首要污染物的天数最多，占非优天数的{q(Decimal(expected[top]) / non_excellent * 100, 1)}%" in t


def test_every_pollutant_number_against_the_engine(bulletin, air):
    _, d, _ = bulletin
    cur, prev = air[YEAR].loc[("city", CITY)], air[YEAR - 1].loc[("city", CITY)]
    rows = {r[0]: r for r in cells(table(d, f"{YEAR}年{CITY}主要污染物浓度及与上年比较"))[1:]}
    t = text(d)
    changed = 0
    for p, key, digits, unit in ITEMS:
        r = rows[SHORT[p]]
        value, before = f(cur[key], digits), f(prev[key], digits)
        lo, hi = f(cur[f"{p}_daily_min"], digits), f(cur[f"{p}_daily_max"], digits)
        rate = f(cur[f"{p}_daily_compliance"], 1)
        change = pct(float(value), float(before))
        changed += change != 0
        assert r[3:6] == [value, before, signed(change)], p
        assert r[8:10] == [f"{lo}~{hi}", rate], p
        # the daily range and compliance rate also agree with the engine's day counts
        n, exceed = int(cur[f"n_{p}"]), int(cur[f"{p}_exceed_days"])
        assert rate == str(q(Decimal(n - exceed) / n * 100, 1))
        assert r[7] == ("达标" if cur[f"{key}_complies"] else f"超标{cur[f'{key}_exceed_multiple']:.2f}倍")
        assert f"为{value}{unit}" in t and f"在{lo}~{hi}{unit}之间，{n}个有效日中超标{exceed}天，日达标率为{rate}%" in t
        assert f"{SHORT[p]}{'持平' if change == 0 else ('上升' if change > 0 else '下降') + str(abs(change)) + '%'}" in t
    assert changed >= 3  # the previous year was generated differently: the comparison is not trivially 0
    o3 = cur["o3_8h_p90"]
    assert ("超过国家二级标准（160微克/立方米）" in t) == (o3 > 160)


def test_monthly_pm25_figure(bulletin, workspace):
    ws = workspace[0]
    _, _, rec = bulletin
    _, args, kwargs, spec = rec.get("monthly_bars")
    got = {(r["series"], r["month"]): r["value"] for r in args[0]}
    assert len(got) == 24
    expected = {}
    for y, months in ((YEAR - 1, (1, 7)), (YEAR, (1, 6, 12))):
        for m in months:
            t = evaluate_period(ws.con, parse_period(f"{y}-{m:02d}"), city=CITY, levels=("city",)).table
            expected[(f"{y}年", f"{m}月")] = float(t.set_index("code").loc[CITY, "pm25_mean"])
    assert {k: got[k] for k in expected} == expected
    assert kwargs["limit"] == 35 and spec["data"]["values"][0]["month"] == "1月"


def test_district_table(bulletin, air):
    _, d, _ = bulletin
    rows = cells(table(d, f"{YEAR}年各区环境空气质量（浓度单位：CO为毫克/立方米，其余为微克/立方米）"))
    assert rows[0][:6] == ["区", "有效天数", "优良天数比例（%）", "同比（百分点）", "PM₂.₅", "同比（%）"]
    by_name = {r[0]: r for r in rows[1:]}
    districts = sorted(c for lv, c in air[YEAR].index if lv == "district")
    assert list(by_name) == [*districts, CITY]
    for name in [*districts, CITY]:
        lv = "city" if name == CITY else "district"
        cur, prev = air[YEAR].loc[(lv, name)], air[YEAR - 1].loc[(lv, name)]
        r = by_name[name]
        assert r[1:6] == [str(int(cur["valid_days"])), f(cur["good_ratio"], 1), signed(pp(cur["good_ratio"], prev["good_ratio"])),
                          f(cur["pm25_mean"], 0), signed(pct(cur["pm25_mean"], prev["pm25_mean"]))]
        assert r[6:] == [f(cur["pm10_mean"], 0), f(cur["so2_mean"], 0), f(cur["no2_mean"], 0), f(cur["co_p95"], 1),
                         f(cur["o3_8h_p90"], 0), f(cur["composite_index"], 2)]


def test_overview_repeats_the_chapter_numbers(bulletin, air, water):
    doc, _, _ = bulletin
    cur = air[YEAR].loc[("city", CITY)]
    overview = doc.sections[0].blocks[0].text
    assert overview.startswith(f"{YEAR}年，{CITY}细颗粒物（PM₂.₅）年均浓度为{cur['pm25_mean']:.0f}微克/立方米")
    assert f"优良天数比例为{cur['good_ratio']:.1f}%" in overview
    g = water[YEAR].groups.set_index("考核级别")
    assert f"地表水断面年均水质达到或好于Ⅲ类的比例为{g.loc['全部', 'share_good_pct']:.1f}%" in overview
    assert f"国考{g.loc['国考', 'share_good_pct']:.1f}%" in overview


# --- water --------------------------------------------------------------------------------------------------------


def test_water_shares_and_classes(bulletin, water):
    _, d, rec = bulletin
    g, gp = water[YEAR].groups.set_index("考核级别"), water[YEAR - 1].groups.set_index("考核级别")
    assert g.loc["国考", "share_good_pct"] == 85.0 and gp.loc["国考", "share_good_pct"] == 90.0  # fixture sanity
    rows = {r[0]: r for r in cells(table(d, f"{YEAR}年地表水断面水质类别统计"))[1:]}
    assert list(rows) == list(g.index)
    for name, r in rows.items():
        e = g.loc[name]
        counts = [str(int(e[f"n_{k}"])) for k in ("I", "II", "III", "IV", "V", "劣V")]
        assert r[1:8] == [str(int(e["sections"])), *counts]
        assert sum(int(x) for x in counts) == int(e["sections"])
        assert r[8:11] == [f(e["share_good_pct"], 1), f(e["share_worse_than_v_pct"], 1), e["status"]]
        assert r[11:] == [f(gp.loc[name, "share_good_pct"], 1),
                          signed(pp(e["share_good_pct"], gp.loc[name, "share_good_pct"]))]
    t = text(d)
    a = g.loc["全部"]
    assert f"年均水质达到或好于Ⅲ类的断面比例为{a['share_good_pct']:.1f}%" in t
    chg = pp(g.loc["国考", "share_good_pct"], gp.loc["国考", "share_good_pct"])
    assert f"国考断面共20个，年均水质达到或好于Ⅲ类的比例为85.0%，{words(chg, '个百分点')}，无劣Ⅴ类断面" in t
    _, args, _, _ = rec.get("class_share")
    got = {(r["group"], r["class"]): r["count"] for r in args[0]}
    assert got[("省考", "Ⅳ类")] == int(g.loc["省考", "n_IV"]) and got[("全部", "Ⅴ类")] == int(g.loc["全部", "n_V"])
    assert sum(v for (grp, _), v in got.items() if grp == "全部") == int(a["sections"])


def test_water_sections_worse_than_iii_and_targets(bulletin, water):
    _, d, _ = bulletin
    s = water[YEAR].sections.set_index("name")
    t = text(d)
    worse = s[s["class"].isin(["IV", "V", "劣V"])]
    assert f"年均水质劣于Ⅲ类的断面{len(worse)}个" in t
    assert f"滆湖（Ⅴ类，主要污染指标为{s.loc['滆湖', 'main_pollutants']}）" in t
    with_target = s[s["meets_target"].notna()]
    assert f"设定水质目标的{len(with_target)}个断面中，{int(with_target['meets_target'].astype(bool).sum())}个达到目标" in t


def test_lake_trophic_state(bulletin, water):
    _, d, _ = bulletin
    tli, before = water[YEAR].tli, water[YEAR - 1].tli
    now = tli[tli["month"] == str(YEAR)].set_index("name")
    prev = before[before["month"] == str(YEAR - 1)].set_index("name")
    rows = {r[0]: r for r in cells(table(d, f"{YEAR}年湖库综合营养状态指数"))[1:]}
    assert set(rows) == set(now.index)
    for name, r in rows.items():
        assert r[2:] == [f(now.loc[name, "tli"], 2), now.loc[name, "tli_grade"], f(prev.loc[name, "tli"], 2),
                         prev.loc[name, "tli_grade"]]
    if now.loc["长荡湖", "tli_grade"] != prev.loc["长荡湖", "tli_grade"]:
        assert f"长荡湖由{prev.loc['长荡湖', 'tli_grade']}变为{now.loc['长荡湖', 'tli_grade']}" in text(d)


def test_drinking_water_left_out_and_logged(bulletin):
    doc, d, _ = bulletin
    assert not any("饮用水" in h for h in headings(d))
    assert any(line.startswith("未生成“饮用水水源地”一节") for line in doc.log)


# --- noise, rain, dust --------------------------------------------------------------------------------------------


def test_noise_numbers(bulletin, workspace):
    _, d, _ = bulletin
    inputs = workspace[1]
    reg, _ = evaluate_regional(read_table(inputs.noise_regional))
    road, bands, _ = evaluate_road(read_table(inputs.noise_road))
    zones, _ = evaluate_zones(read_table(inputs.noise_zone))
    t = text(d)
    city = reg[reg["area"] == "全市"].set_index("period")
    day = city.loc["昼间"]
    assert f"昼间平均等效声级为{day['mean_db']:.1f}分贝（{day['grade']}，{day['grade_name']}）" in t
    rows = {r[0]: r for r in cells(table(d, f"{YEAR}年区域声环境质量"))[1:]}
    for _, r in reg.iterrows():
        col = 1 if r["period"] == "昼间" else 3
        assert rows[r["area"]][col:col + 2] == [f(r["mean_db"], 1), r["grade"]]
    rday = road[(road["area"] == "全市") & (road["period"] == "昼间")].iloc[0]
    assert f"总长{rday['length_km']:.1f}千米，道路交通噪声昼间长度加权平均等效声级为{rday['mean_db']:.1f}分贝" in t
    band_rows = cells(table(d, f"{YEAR}年道路交通噪声昼间等效声级（dB(A)）分布"))
    b = bands[(bands["area"] == "全市") & (bands["period"] == "昼间")]
    assert band_rows[0][2:] == list(b["band"])
    assert band_rows[1][2:] == [f(v, 1) for v in b["length_km"]]
    assert band_rows[2][2:] == [f(v, 1) for v in b["share_pct"]]
    assert sum(float(x) for x in band_rows[1][2:]) == pytest.approx(rday["length_km"], abs=0.06)
    z = zones.set_index(["zone", "period"])
    zt = cells(table(d, f"{YEAR}年各类功能区达标情况"))
    assert zt[0] == ["时段", "1类", "2类", "3类", "4a类", "全部"]
    assert zt[1][1:] == [f(z.loc[(c, "昼间"), "rate_pct"], 1) for c in zt[0][1:]]
    assert zt[3][1:] == [f(z.loc[(c, "夜间"), "rate_pct"], 1) for c in zt[0][1:]]
    night = z.loc[("全部", "夜间")]
    assert f"夜间{int(night['sessions'])}点次、达标{int(night['compliant'])}点次，达标率为{night['rate_pct']:.1f}%" in t


def test_acid_rain_numbers(bulletin, workspace):
    _, d, _ = bulletin
    df = read_table(workspace[1].rain)
    cur = evaluate_rain(df, parse_period(str(YEAR)))[0].set_index("site").loc["全部"]
    prev = evaluate_rain(df, parse_period(str(YEAR - 1)))[0].set_index("site").loc["全部"]
    t = text(d)
    assert (f"共采集降水样品{cur['samples']}个，pH值范围为{cur['ph_min']:.2f}~{cur['ph_max']:.2f}，其中酸雨（pH<5.6）样品"
            f"{cur['acid_samples']}个，酸雨频率为{cur['acid_frequency_pct']:.1f}%，"
            f"{words(pp(cur['acid_frequency_pct'], prev['acid_frequency_pct']), '个百分点')}") in t
    assert f"降水量加权平均pH值为{cur['mean_ph']:.2f}，{words(pp(cur['mean_ph'], prev['mean_ph'], 2), '')}" in t
    assert cur["samples"] == 40 and prev["samples"] == 40


def test_dustfall_numbers(bulletin, workspace):
    _, d, _ = bulletin
    ev = evaluate_dust(read_table(workspace[1].dust), YEAR)
    s = ev.summary.iloc[0]
    t = text(d)
    assert f"{s['sites']}个降尘监测点位的年均降尘量为{s['annual_mean']:.1f}吨/(平方千米·30天)" in t
    assert f"各点位年均值在{s['site_min']:.1f}~{s['site_max']:.1f}吨/(平方千米·30天)之间" in t
    change = pct(s["annual_mean"], s["previous_year_mean"])  # from the reported means, as the bulletin prints them
    assert f"{'上升' if change > 0 else '下降'}{abs(change)}%" in t
    rows = {r[0]: r for r in cells(table(d, f"{YEAR}年各点位降尘量"))[1:]}
    for _, r in ev.sites.iterrows():
        assert rows[r["site"]][1:] == [str(int(r["months"])), f(r["annual_mean"], 1), "是" if r["meets_target"] else "否"]


# --- governance and provenance ------------------------------------------------------------------------------------


def test_governance_counts(bulletin):
    _, d, _ = bulletin
    t = text(d)
    # filed in 2023: three cases (one dismissed); decided in 2023: three (one filed in 2022); fines 215,000.50 yuan
    assert "立案查处环境违法案件3件（其中撤销立案1件），作出行政处罚决定3件，罚款金额合计21.50万元，移送公安机关1件。" in t
    assert "督察整改任务3项，已完成整改1项（含已销号），完成率33.3%；其余2项正在推进，其中2项已超过整改时限。" in t
    assert "共收到信访投诉4件（来信来访2件、12369 热线2件），受理3件、不予受理1件" in t
    assert "已办结2件，办结率66.7%，尚在办理1件。" in t


def test_provenance(bulletin, workspace):
    doc, d, _ = bulletin
    ws = workspace[0]
    pv = doc.sections[-1].blocks[0]
    assert isinstance(pv, Provenance) and pv.generated_at == NOW
    assert "空气质量评价：gb3095-2012" in pv.rulesets and "AQI：cnemc-realtime" in pv.rulesets
    assert any(r.startswith("地表水评价：sw-eval-2011") for r in pv.rulesets)
    air_ids = {r[0] for r in ws.con.execute("SELECT DISTINCT import_id FROM air_hourly").fetchall()}
    water_ids = {r[0] for r in ws.con.execute("SELECT DISTINCT import_id FROM water_samples").fetchall()}
    assert set(pv.import_ids) == air_ids | water_ids and len(pv.import_ids) == 4
    rows = {r[0]: r[1] for r in cells(d.tables[-1])}
    assert rows["数据导入批次"] == "、".join(str(i) for i in sorted(air_ids | water_ids))
    assert rows["生成时间"] == "2024-05-06 07:08:09"
    assert "全市有效监测365天，应监测365天" in rows[f"{YEAR}年空气质量"]
    assert rows[f"{YEAR}年地表水"].startswith("51个断面有监测数据（612个断面·采样日）")


# --- chapters without data ----------------------------------------------------------------------------------------


def test_nothing_to_publish_is_an_error(workspace):
    with pytest.raises(ReportError, match="没有可用于生态环境状况公报的数据"):
        build_bulletin(workspace[0].con, CITY, 2019)


def test_water_only_workspace_with_a_drinking_water_source(tmp_path):
    rows, sections = [], [{"section": "S1", "name": "魏村水厂取水口", "water_body": "river", "level": "省考,饮用水水源地",
                           "target": "Ⅱ"},
                          {"section": "S2", "name": "沙河水库", "water_body": "lake", "level": "饮用水水源地", "target": "Ⅲ"}]
    for m in range(1, 13):
        rows.append({"section": "S1", "date": f"{YEAR}-{m:02d}-05", "ph": 7.5, "do": 7.8, "codmn": 2.5, "nh3n": 0.2,
                     "tp": 0.08})
        rows.append({"section": "S2", "date": f"{YEAR}-{m:02d}-05", "ph": 7.9, "do": 8.0, "codmn": 4.5, "nh3n": 0.3,
                     "tp": 0.06, "tn": 1.2, "chla": 12.0, "sd": 1.1})
    with pd.ExcelWriter(tmp_path / "水源地.xlsx") as xw:
        pd.DataFrame(rows).to_excel(xw, sheet_name="监测数据", index=False)
        pd.DataFrame(sections).to_excel(xw, sheet_name="断面信息", index=False)
    with Workspace(tmp_path / "ws") as ws:
        import_water_samples(ws, tmp_path / "水源地.xlsx")
        doc = build_bulletin(ws, CITY, YEAR, now=NOW)
        ev = evaluate_water(ws.con, parse_period(str(YEAR)), "assessment")
    heads = [s.heading for s in doc.sections]
    # chapters without data are left out, and the log says why
    assert heads == ["综述", "一、地表水环境质量", "（一）饮用水水源地水质", "（二）断面水质", "（三）湖库营养状态",
                     "附录　数据来源与生成说明"]
    for line in ("未生成“环境空气质量”一章", "未生成“酸雨”一节：工作区无酸雨数据", "未生成“降尘”一节",
                 "未生成“声环境质量”一章", "未生成“生态环境治理”一章"):
        assert any(x.startswith(line) for x in doc.log), line
    texts = " ".join(doc.paragraphs())
    assert "酸雨" not in texts and "声环境" not in texts and "空气" not in texts
    s = ev.sections.set_index("name")
    assert s.loc["沙河水库", "class"] == "IV"  # lake TP 0.06 → Ⅳ
    src = doc.sections[2].blocks[0].text
    g = ev.groups.set_index("考核级别").loc["饮用水水源地"]
    assert f"监测的{int(g['sections'])}个饮用水水源地断面中，年均水质达到或好于Ⅲ类的1个（{g['share_good_pct']:.1f}%），未达到的为沙河水库（Ⅳ类）" in src


def test_bad_input_file_is_an_error(workspace, tmp_path):
    ws = workspace[0]
    bad = tmp_path / "rain.csv"
    bad.write_text("foo,bar\n1,2\n", encoding="utf-8")
    with pytest.raises(ReportError, match="降水"):
        build_bulletin(ws.con, CITY, YEAR, inputs=BulletinInputs(rain=bad))


def test_paragraphs_are_sentences_not_placeholders(bulletin):
    doc, _, _ = bulletin
    for s in doc.sections:
        for b in s.blocks:
            if isinstance(b, Paragraph):
                assert b.text.strip() and "None" not in b.text and "nan" not in b.text, b.text


def test_cli_bulletin(workspace, tmp_path, monkeypatch):
    import typer
    from typer.testing import CliRunner

    from qingshan.cli.reports import report_app

    inputs = workspace[1]
    monkeypatch.setenv("QINGSHAN_WORKSPACE", str(tmp_path / "ws"))
    app = typer.Typer()
    app.add_typer(report_app, name="report")
    out = tmp_path / "out" / "公报.docx"
    runner = CliRunner()
    res = runner.invoke(app, ["report", "bulletin", "--city", CITY, "--year", str(YEAR), "-o", str(out),
                              "--format", "docx", "--rain", str(inputs.rain), "--dust", str(inputs.dust),
                              "--noise-zone", str(inputs.noise_zone)])
    assert res.exit_code == 0, res.output
    assert out.exists()
    for line in ("未生成“环境空气质量”一章", "未生成“地表水环境质量”一章", "未生成“区域声环境”一节"):
        assert f"说明：{line}" in res.output
    d = docx.Document(str(out))
    assert d.paragraphs[0].text == f"{YEAR}年{CITY}生态环境状况公报"
    assert headings(d) == ["综述", "一、降水酸度与降尘", "（一）酸雨", "（二）降尘", "二、声环境质量", "（一）功能区声环境",
                           "附录　数据来源与生成说明"]
    bad = runner.invoke(app, ["report", "bulletin", "--city", "无城", "--year", "2019", "-o", str(tmp_path / "x.docx"),
                              "--format", "docx"])
    assert bad.exit_code == 2 and not (tmp_path / "x.docx").exists()
    wrong = runner.invoke(app, ["report", "bulletin", "--city", CITY, "--year", str(YEAR), "-o", str(out),
                                "--format", "odt"])
    assert wrong.exit_code == 2 and "不支持的输出格式" in wrong.output


def test_without_the_chart_module_the_figures_are_left_out_and_logged(monkeypatch):
    import sys

    from qingshan.reports.bulletin_common import Figures, Log

    monkeypatch.setitem(sys.modules, "qingshan.charts.specs", None)  # as if the module were not installed
    note = Log()
    assert Figures(note).make("class_share", [], "标题", caption="地表水类别") is None
    assert note.lines == ["图表模块 qingshan.charts.specs 不可用，公报未插入图表（“地表水类别”等）。"]


def test_a_year_still_in_progress_is_refused(ws, tmp_path):
    """Data that stop on 31 October: the annual bulletin would compare ten months with a whole year — refused."""
    from qingshan.ingest import import_files
    from qingshan.synth import DEMO_STATIONS, generate_hourly, to_long_csv

    st = DEMO_STATIONS.head(3).copy()
    st["is_control"] = "N"
    st.to_csv(tmp_path / "st.csv", index=False)
    frame = generate_hourly(DEMO_STATIONS.head(3), 2023, seed=1)
    last = ((date(2023, 10, 31) - date(1970, 1, 1)).days + 1) * 24
    to_long_csv(frame[frame["hi"] <= last]).to_csv(tmp_path / "h.csv", index=False)
    import_files(ws, "stations", [tmp_path / "st.csv"])
    import_files(ws, "long", [tmp_path / "h.csv"])
    with pytest.raises(ReportError, match="截至2023-10-31，年度尚未结束"):
        build_bulletin(ws, "示范市", 2023)
    ws.con.execute(f"DELETE FROM air_hourly WHERE hi > {last - 24 * 61}")  # now the data end on 31 August …
    with pytest.raises(ReportError, match="截至2023-08-31"):
        build_bulletin(ws, "示范市", 2023)
