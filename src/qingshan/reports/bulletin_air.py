"""The air chapter of the annual bulletin (环境空气质量), from :func:`qingshan.evaluate.air.evaluate_period`.

For the year and the previous year, at city and district level: AQI days by category and the good-days ratio,
each pollutant's annual statistic (PM2.5, PM10, SO2, NO2 annual means, CO 24-h P95, O3 MDA8 P90) with its
compliance, the range of the city's daily values and the daily compliance rate (the engine's ``*_daily_min``,
``*_daily_max``, ``*_daily_compliance``), days by primary pollutant, monthly PM2.5 means (one evaluation per
month) and the district table. This module only selects, compares and words the engine's numbers.
"""

from __future__ import annotations

from dataclasses import dataclass

import duckdb
import pandas as pd

from ..evaluate.air import EvaluationResult, evaluate_period, ranked_stations
from ..evaluate.periods import Period, parse_period
from ..numbers import DASH, finite, fmt, missing, plain, signed
from ..standards.air_aqi import CATEGORIES
from ..standards.air_limits import LIMIT_SETS
from ..standards.pollutants import POLLUTANTS, PRIMARY_CODES, PRIMARY_NAMES_ZH
from ..store import read as store_read
from .bulletin_common import (
    Chapter,
    Figures,
    Log,
    change_words,
    diff,
    join_cn,
    pct_change,
    share,
    yoy,
)
from .model import Cell, Paragraph, Section, Table

UNIT_ZH = {"µg/m³": "微克/立方米", "mg/m³": "毫克/立方米"}


@dataclass(frozen=True)
class AirItem:
    pollutant: str
    key: str  # the engine's annual statistic column
    statistic: str  # how the bulletin names the statistic
    daily: str  # how the bulletin names the daily values
    label: str  # the statistic in the pollutant table (short)

    @property
    def name(self) -> str:
        p = POLLUTANTS[self.pollutant]
        return f"{p.name_zh}（{p.short_zh}）"

    @property
    def short(self) -> str:
        return POLLUTANTS[self.pollutant].short_zh

    @property
    def unit(self) -> str:
        return UNIT_ZH[POLLUTANTS[self.pollutant].unit]

    @property
    def digits(self) -> int:
        return POLLUTANTS[self.pollutant].digits


#: The six annual items of the bulletin, in its order.
ITEMS: tuple[AirItem, ...] = (
    AirItem("pm25", "pm25_mean", "年均浓度", "日均浓度", "年均值"),
    AirItem("pm10", "pm10_mean", "年均浓度", "日均浓度", "年均值"),
    AirItem("so2", "so2_mean", "年均浓度", "日均浓度", "年均值"),
    AirItem("no2", "no2_mean", "年均浓度", "日均浓度", "年均值"),
    AirItem("co", "co_p95", "日均值第95百分位数", "日均浓度", "日均值第95百分位数"),
    AirItem("o3", "o3_8h_p90", "日最大8小时滑动平均值第90百分位数", "日最大8小时平均浓度", "日最大8小时第90百分位数"),
)
LEVELS = ("station", "city", "district")


# --- engine results -----------------------------------------------------------------------------------------------


def year_period(year: int) -> Period:
    return parse_period(str(year))


def evaluate_year(con: duckdb.DuckDBPyConnection, city: str, year: int) -> EvaluationResult:
    return evaluate_period(con, year_period(year), city=city, levels=LEVELS)


def rows(res: EvaluationResult, level: str) -> pd.DataFrame:
    """Rows of one level indexed by code (control sites and sensors left out of the station level)."""
    t = res.table
    if t.empty:
        return pd.DataFrame(columns=["code"]).set_index("code")
    r = t[t["level"] == level]
    if level == "station" and "is_control" in r:
        r = r[ranked_stations(r)]
    return r.set_index("code", drop=False)


def city_row(res: EvaluationResult, city: str) -> pd.Series | None:
    c = rows(res, "city")
    return c.loc[city] if city in c.index else None


def monthly_pm25(con: duckdb.DuckDBPyConnection, city: str, year: int) -> dict[int, float]:
    """The city's monthly PM2.5 means (one engine evaluation per month; months without data left out)."""
    out = {}
    for m in range(1, 13):
        res = evaluate_period(con, parse_period(f"{year}-{m:02d}"), city=city, levels=("city",))
        row = city_row(res, city)
        v = finite(row["pm25_mean"]) if row is not None else None
        if v is not None:
            out[m] = v
    return out


def _flag(v) -> bool:
    return not missing(v) and bool(v)


# --- AQI ----------------------------------------------------------------------------------------------------------


def _aqi_range(i: int) -> str:
    lo = 0 if i == 0 else CATEGORIES[i - 1].upper + 1
    up = CATEGORIES[i].upper
    return f"{lo}~{up}" if up is not None else f">{CATEGORIES[i - 1].upper}"


def aqi_section(cur: pd.Series, prev: pd.Series | None, city: str, year: int, figs: Figures) -> tuple[Section, str]:
    valid, expected, good = int(cur["valid_days"]), int(cur["expected_days"]), int(cur["good_days"])
    ratio = finite(cur["good_ratio"])
    days = [int(cur[f"days_level{c.level}"]) for c in CATEGORIES]
    text = f"{year}年，{city}环境空气质量有效监测{valid}天（全年{expected}天），优良天数{good}天"
    if prev is not None and int(prev["valid_days"]) > 0:
        d = good - int(prev["good_days"])
        text += "，与上年持平" if d == 0 else f"，较上年{'增加' if d > 0 else '减少'}{abs(d)}天"
    text += f"；优良天数比例为{fmt(ratio, 1)}%"
    pp = diff(ratio, finite(prev["good_ratio"])) if prev is not None else None
    text += yoy(pp, "pp")
    parts = [f"{c.name_zh}{n}天" for c, n in zip(CATEGORIES, days) if n]
    polluted = sum(days[2:])
    text += "。全年" + "、".join(parts) + ("" if polluted else "，未出现污染天气") + "。"
    blocks: list = [Paragraph(text)]
    header = ["空气质量类别", "AQI范围", f"{year}年天数", "占有效天数比例（%）"]
    if prev is not None:
        header.append(f"{year - 1}年天数")
    table_rows = []
    for i, (c, n) in enumerate(zip(CATEGORIES, days)):
        r = [Cell(f"{c.level_zh}（{c.name_zh}）"), Cell(_aqi_range(i)), Cell(str(n)), Cell(fmt(share(n, valid), 1))]
        if prev is not None:
            r.append(Cell(str(int(prev[f"days_level{c.level}"]))))
        table_rows.append(r)
    blocks.append(Table(header, table_rows, caption=f"{year}年{city}环境空气质量类别天数"))
    fig = figs.make("aqi_category_days", {c.name_zh: n for c, n in zip(CATEGORIES, days)},
                    f"{year}年{city}空气质量类别天数", caption=f"{year}年{city}环境空气质量类别天数分布")
    if fig is not None:
        blocks.append(fig)
    blocks += primary_blocks(cur, city, year, figs)
    summary = f"空气质量优良天数比例为{fmt(ratio, 1)}%{yoy(pp, 'pp')}"
    return Section("环境空气质量指数（AQI）", blocks, level=2), summary


def primary_blocks(cur: pd.Series, city: str, year: int, figs: Figures) -> list:
    """Days by primary pollutant (only days with AQI > 50 have one; a day may have several)."""
    counts = {c: int(cur[f"primary_days_{c}"]) for c in PRIMARY_CODES if int(cur[f"primary_days_{c}"]) > 0}
    non_excellent = int(cur["valid_days"]) - int(cur["days_level1"])
    if not counts or non_excellent <= 0:
        return [Paragraph(f"{year}年全部有效监测日空气质量均为优，无首要污染物。")]
    order = sorted(counts, key=lambda c: (-counts[c], PRIMARY_CODES.index(c)))
    listed = [f"{PRIMARY_NAMES_ZH[c]}{counts[c]}天" for c in order]
    top = order[0]
    text = (f"全年AQI大于50的天数共{non_excellent}天，按首要污染物统计，{join_cn(listed)}；"
            f"以{PRIMARY_NAMES_ZH[top]}为首要污染物的天数最多，占非优天数的{fmt(share(counts[top], non_excellent), 1)}%")
    if sum(counts.values()) > non_excellent:
        text += "（同一天可有多项首要污染物，各项天数之和大于非优天数）"
    out: list = [Paragraph(text + "。")]
    fig = figs.make("category_share", {PRIMARY_NAMES_ZH[c]: counts[c] for c in order},
                    f"{year}年{city}首要污染物天数",
                    caption=f"{year}年{city}首要污染物天数占比（占各首要污染物天数之和）")
    if fig is not None:
        out.append(fig)
    return out


# --- pollutants ---------------------------------------------------------------------------------------------------


def tri(v) -> bool | None:
    """The engine's compliance flags: True / False, or None when the statistic is missing."""
    return None if missing(v) else bool(v)


def compliance_text(row: pd.Series, item: AirItem) -> str:
    ok = tri(row.get(f"{item.key}_complies"))
    if ok is None:
        return DASH
    mult = finite(row.get(f"{item.key}_exceed_multiple"))
    return "达标" if ok else (f"超标{mult:.2f}倍" if mult is not None else "超标")


def standard_clause(row: pd.Series, item: AirItem) -> str:
    """"，达到国家二级标准（35微克/立方米）" / "，超过国家二级标准（160微克/立方米）0.11倍"; empty if unknown."""
    ok = tri(row.get(f"{item.key}_complies"))
    lim = plain(row.get(f"{item.key}_limit"))
    if ok is None:
        return ""
    if ok:
        return f"，达到国家二级标准（{lim}{item.unit}）"
    mult = finite(row.get(f"{item.key}_exceed_multiple"))
    return f"，超过国家二级标准（{lim}{item.unit}）" + (f"{mult:.2f}倍" if mult is not None else "")


def item_change(cur: pd.Series, prev: pd.Series | None, item: AirItem) -> float | None:
    if prev is None:
        return None
    return pct_change(finite(cur[item.key]), finite(prev[item.key]))


def _validity_note(row: pd.Series, item: AirItem) -> str:
    return "" if _flag(row.get(f"valid_{item.pollutant}")) else "（有效数据不足，不满足年评价要求，仅供参考）"


def pollutant_paragraph(row: pd.Series, item: AirItem, city: str, year: int) -> Paragraph:
    p = item.pollutant
    lo, hi = fmt(row[f"{p}_daily_min"], item.digits), fmt(row[f"{p}_daily_max"], item.digits)
    rate = fmt(row[f"{p}_daily_compliance"], 1)
    exceed = int(finite(row[f"{p}_exceed_days"]) or 0)
    n = int(finite(row[f"n_{p}"]) or 0)
    text = (f"{item.name}：{year}年{city}{item.short}{item.statistic}为{fmt(row[item.key], item.digits)}{item.unit}"
            f"{_validity_note(row, item)}{standard_clause(row, item)}；{item.daily}在{lo}~{hi}{item.unit}之间，"
            f"{n}个有效日中超标{exceed}天，日达标率为{rate}%。")
    return Paragraph(text)


def pollutant_section(con: duckdb.DuckDBPyConnection, res: EvaluationResult, cur: pd.Series, prev: pd.Series | None,
                      city: str, year: int, figs: Figures) -> tuple[Section, str]:
    means = [i for i in ITEMS if i.key.endswith("_mean")]
    co, o3 = ITEMS[4], ITEMS[5]
    limits = LIMIT_SETS.get(res.limits)
    std = f"《环境空气质量标准》（{limits.title_zh}）" if limits else "环境空气质量标准"
    text = (f"{year}年，{city}环境空气中" + "、".join(i.name for i in means) + "年均浓度分别为"
            + "、".join(fmt(cur[i.key], i.digits) for i in means) + f"{means[0].unit}；"
            f"{co.name}{co.statistic}为{fmt(cur[co.key], co.digits)}{co.unit}，"
            f"{o3.name}{o3.statistic}为{fmt(cur[o3.key], o3.digits)}{o3.unit}。")
    states = {i.pollutant: tri(cur.get(f"{i.key}_complies")) for i in ITEMS}
    ok = [i.short for i in ITEMS if states[i.pollutant] is True]
    bad = [i.short for i in ITEMS if states[i.pollutant] is False]
    if ok or bad:
        text += f"对照{std}二级标准，" + (f"{join_cn(ok)}达标" if ok else "") + ("，" if ok and bad else "")
        text += (f"{join_cn(bad)}超标。" if bad else "。")
    changes = {i.pollutant: item_change(cur, prev, i) for i in ITEMS}
    if prev is not None and any(c is not None for c in changes.values()):
        parts = []
        for i in ITEMS:
            c = changes[i.pollutant]
            if c is None:
                continue
            parts.append(f"{i.short}{change_words(c, 'pct')}")
        text += f"与{year - 1}年相比，" + "，".join(parts) + "。"
    blocks: list = [Paragraph(text)]
    header = ["污染物", "评价指标", "单位", f"{year}年", f"{year - 1}年", "同比（%）", "二级标准", "达标情况",
              "日均值范围", "日达标率（%）"]
    trs = []
    for i in ITEMS:
        p = i.pollutant
        c = changes[p]
        trs.append([
            Cell(i.short), Cell(i.label), Cell(POLLUTANTS[p].unit), Cell(fmt(cur[i.key], i.digits)),
            Cell(fmt(prev[i.key], i.digits) if prev is not None else DASH),
            Cell(signed(c), "red" if c is not None and c > 0 else None), Cell(plain(cur[f"{i.key}_limit"])),
            Cell(compliance_text(cur, i)),
            Cell(f"{fmt(cur[f'{p}_daily_min'], i.digits)}~{fmt(cur[f'{p}_daily_max'], i.digits)}"),
            Cell(fmt(cur[f"{p}_daily_compliance"], 1)),
        ])
    blocks.append(Table(header, trs, caption=f"{year}年{city}主要污染物浓度及与上年比较"))
    blocks.append(Paragraph("注：同比变化按两年公布值（修约后）计算，红色底纹表示较上年上升（变差）；"
                            "O₃日均值范围与日达标率按日最大8小时平均值统计。", "note"))
    blocks += [pollutant_paragraph(cur, i, city, year) for i in ITEMS]
    fig = monthly_figure(con, city, year, cur, figs)
    if fig is not None:
        blocks.append(fig)
    pm = ITEMS[0]
    summary = (f"细颗粒物（PM₂.₅）年均浓度为{fmt(cur[pm.key], pm.digits)}{pm.unit}"
               f"{yoy(changes['pm25'], 'pct')}")
    return Section("主要污染物", blocks, level=2), summary


def monthly_figure(con: duckdb.DuckDBPyConnection, city: str, year: int, cur: pd.Series, figs: Figures):
    data = []
    for y in (year - 1, year):
        for m, v in monthly_pm25(con, city, y).items():
            data.append({"month": f"{m}月", "series": f"{y}年", "value": v, "_m": m})
    if not data:
        return None
    data.sort(key=lambda r: (r["_m"], r["series"]))
    for r in data:
        del r["_m"]
    return figs.make("monthly_bars", data, f"{city}细颗粒物（PM₂.₅）月均浓度", "PM₂.₅（微克/立方米）",
                     limit=finite(cur["pm25_mean_limit"]),
                     caption=f"{year}年与{year - 1}年{city}细颗粒物月均浓度对比（虚线为年均二级标准）")


# --- districts ----------------------------------------------------------------------------------------------------


def entity_section(res: EvaluationResult, prev_res: EvaluationResult, cur: pd.Series, city: str, year: int,
                   level: str) -> Section:
    what = "区" if level == "district" else "点位"
    now, before = rows(res, level), rows(prev_res, level)
    header = [what, "有效天数", "优良天数比例（%）", "同比（百分点）", "PM₂.₅", "同比（%）", "PM₁₀", "SO₂", "NO₂",
              "CO", "O₃", "综合指数"]
    trs, invalid = [], []

    def cells(name: str, r: pd.Series, p: pd.Series | None) -> list[Cell]:
        pm_prev = finite(p["pm25_mean"]) if p is not None else None
        pm = finite(r["pm25_mean"])
        ratio = finite(r["good_ratio"])
        out = [Cell(name), Cell(str(int(r["valid_days"]))), Cell(fmt(ratio, 1)),
               Cell(signed(diff(ratio, finite(p["good_ratio"])) if p is not None else None)),
               Cell(fmt(pm, 0), "yellow" if name != city and pm is not None and finite(cur["pm25_mean"]) is not None
                    and pm > finite(cur["pm25_mean"]) else None),
               Cell(signed(pct_change(pm, pm_prev)), "red" if pm is not None and pm_prev is not None and pm > pm_prev
                    else None)]
        out += [Cell(fmt(r[i.key], i.digits)) for i in ITEMS[1:]]
        out.append(Cell(fmt(r["composite_index"], 2)))
        return out

    for code in sorted(now.index, key=str):
        r = now.loc[code]
        name = str(r["name"]) if isinstance(r.get("name"), str) and r.get("name") else str(code)
        if not _flag(r.get("valid_all")):
            invalid.append(name)
        trs.append(cells(name, r, before.loc[code] if code in before.index else None))
    prev_city = rows(prev_res, "city")
    trs.append(cells(city, cur, prev_city.loc[city] if city in prev_city.index else None))
    blocks: list = [Paragraph(_entity_text(now, city, what)),
                    Table(header, trs, caption=f"{year}年各{what}环境空气质量（浓度单位：CO为毫克/立方米，其余为微克/立方米）")]
    note = ("注：PM₂.₅列黄色底纹表示高于全市平均，同比列红色底纹表示较上年上升；PM₂.₅、PM₁₀、SO₂、NO₂为年均浓度，"
            "CO为日均值第95百分位数，O₃为日最大8小时滑动平均值第90百分位数。")
    if invalid:
        note += f"{'、'.join(invalid)}部分项目有效数据不足，结果仅供参考。"
    blocks.append(Paragraph(note, "note"))
    return Section(f"各{what}环境空气质量", blocks, level=2)


def _entity_text(frame: pd.DataFrame, city: str, what: str) -> str:
    ok = frame[[finite(v) is not None for v in frame["pm25_mean"]]]
    if len(ok) < 2:
        return f"各{what}主要指标见下表。"

    def names(sub: pd.DataFrame) -> str:
        return "、".join(str(n) for n in sub["name"])

    pm = ok["pm25_mean"].astype(float)
    gr = ok["good_ratio"].astype(float)
    lo, hi = ok[pm == pm.min()], ok[pm == pm.max()]
    best = ok[gr == gr.max()]
    return (f"各{what}中，细颗粒物年均浓度最低的是{names(lo)}（{fmt(pm.min(), 0)}微克/立方米），最高的是{names(hi)}"
            f"（{fmt(pm.max(), 0)}微克/立方米）；优良天数比例最高的是{names(best)}（{fmt(gr.max(), 1)}%）。")


# --- the chapter --------------------------------------------------------------------------------------------------


def air_import_ids(con: duckdb.DuckDBPyConnection, city: str, years: list[int]) -> list[int]:
    return store_read.air_import_ids(con, city, [(year_period(y).first_day, year_period(y).last_day) for y in years])


def _coverage(res: EvaluationResult, city: str, year: int) -> tuple[str, str]:
    row = city_row(res, city)
    if row is None:
        return (f"{year}年空气质量", "无数据")
    st = rows(res, "station")
    text = f"{len(st)}个评价点位有数据；全市有效监测{int(row['valid_days'])}天，应监测{int(row['expected_days'])}天"
    return (f"{year}年空气质量", text)


def air_chapter(con: duckdb.DuckDBPyConnection, city: str, year: int, note: Log, figs: Figures) -> Chapter | None:
    res, prev_res = evaluate_year(con, city, year), evaluate_year(con, city, year - 1)
    cur = city_row(res, city)
    if cur is None:
        note(f"未生成“环境空气质量”一章：{city}{year}年没有空气质量监测数据（或站点表中没有该城市的评价点位）。")
        return None
    prev = city_row(prev_res, city)
    if prev is None:
        note(f"{city}{year - 1}年没有空气质量监测数据，空气质量各项同比以“—”表示。")
    ch = Chapter("环境空气质量")
    aqi, s1 = aqi_section(cur, prev, city, year, figs)
    pol, s2 = pollutant_section(con, res, cur, prev, city, year, figs)
    ch.sections += [aqi, pol]
    ch.summary += [s2, s1]
    if not rows(res, "district").empty:
        ch.sections.append(entity_section(res, prev_res, cur, city, year, "district"))
    elif not rows(res, "station").empty:
        note("站点表未配置所属区，空气质量分区表改为按评价点位列出。")
        ch.sections.append(entity_section(res, prev_res, cur, city, year, "station"))
    for r in (res, prev_res):
        if not r.table.empty:
            ch.rulesets += [f"空气质量评价：{n}" for n in r.eval_rulesets] + [f"AQI：{n}" for n in r.aqi_rulesets]
            ch.rulesets.append(f"浓度限值：{r.limits}")
        ch.notes += r.notes
    ch.coverage += [_coverage(res, city, year), _coverage(prev_res, city, year - 1)]
    ch.import_ids += air_import_ids(con, city, [year - 1, year])
    return ch
