"""Monthly ranking bulletin (月度空气质量排名通报) built from the air engine.

Districts, towns (镇/街道, through their town stations) and stations are ranked on PM2.5 and the good-days ratio, for the month
and the year to date, with the year-on-year change against the same periods of the previous year. Values worse
than the city average are shaded yellow, year-on-year deteriorations red (Changzhou's convention); entities
whose PM2.5 data are invalid in a period are not ranked and are footnoted. Every number is taken from
:func:`qingshan.evaluate.air.evaluate_period` results; this module only compares and formats them.
"""

from __future__ import annotations

import logging
import re
from dataclasses import dataclass
from datetime import date, datetime

import duckdb
import pandas as pd

from ..charts.highlights import HIGHLIGHT_MEANING
from ..evaluate.air import EvaluationResult, city_members, evaluate_period
from ..evaluate.periods import Period, parse_period
from ..evaluate.ranking import RANKING_METRICS, change, ranking_rows
from ..numbers import DASH, finite, fmt, missing, signed
from ..store import read as store_read
from .bulletin_common import yoy
from .errors import ReportError
from .model import (
    CN_NUM,
    Cell,
    Document,
    Footnote,
    Paragraph,
    Provenance,
    Section,
    Table,
)

log = logging.getLogger(__name__)

LEVELS = ("station", "city", "district", "town")
MARKERS = "①②③④⑤⑥⑦⑧⑨⑩⑪⑫⑬⑭⑮⑯⑰⑱⑲⑳"


@dataclass(frozen=True)
class Metric:
    key: str  # column of the engine table
    name: str
    unit: str  # unit in table headers
    digits: int
    higher_is_worse: bool
    change: str  # "pct" (relative change in %) or "pp" (difference in percentage points)


PM25 = Metric("pm25_mean", "细颗粒物（PM2.5）浓度", "微克/立方米", 0, True, "pct")
GOOD = Metric("good_ratio", "优良天数比例", "%", 1, False, "pp")


# --- periods and engine results --------------------------------------------------------------------------------


def month_periods(month: str) -> dict[str, Period]:
    """The month, the year to date, and the same two periods of the previous year."""
    if not re.fullmatch(r"\d{4}-\d{2}", month.strip()):
        raise ReportError(f"月份应为 YYYY-MM 格式：{month!r}")
    try:
        mp = parse_period(month)
    except ValueError as e:
        raise ReportError(str(e)) from None
    y, m = mp.start.year, mp.start.month
    prev = parse_period(f"{y - 1}-{m:02d}")
    return {
        "month": mp,
        "ytd": Period(date(y, 1, 1), mp.end, f"{y}-01-01:{mp.end.isoformat()}"),
        "prev_month": prev,
        "prev_ytd": Period(date(y - 1, 1, 1), prev.end, f"{y - 1}-01-01:{prev.end.isoformat()}"),
    }


def _level(res: EvaluationResult, level: str) -> pd.DataFrame:
    t = res.table
    if t.empty:
        return pd.DataFrame(columns=["code"]).set_index("code")
    rows = t[t["level"] == level]
    if level == "station" and "is_control" in rows:  # control sites are not ranked; town stations rank their towns
        rows = rows[city_members(rows)]
    return rows.set_index("code", drop=False)


def _valid(row) -> bool:
    return row is not None and bool(row.get("valid_pm25", False)) and finite(row.get("pm25_mean")) is not None


def _get(frame: pd.DataFrame, code: str):
    return frame.loc[code] if code in frame.index else None


def _name(row, code: str) -> str:
    name = row.get("name")
    return name if isinstance(name, str) and name else str(code)


def fmt_change(metric: Metric, c: float | None) -> str:
    return signed(c, 1, unit="%" if metric.change == "pct" else "")


def change_phrase(metric: Metric, c: float | None) -> str:
    """"同比上升3.0%" / "同比下降1.2个百分点" / "与上年同期持平"; empty when there is no comparison."""
    return yoy(c, "pct" if metric.change == "pct" else "pp", flat="与上年同期持平")


# --- tables ------------------------------------------------------------------------------------------------------


def _rows(frame: pd.DataFrame, city_row, previous: pd.DataFrame | None, metric: Metric) -> dict[str, dict]:
    """The shared ranking (:func:`qingshan.evaluate.ranking.ranking_rows`: validity, ranks with ties, yellow/red,
    year-on-year change) of one level and period, by entity code."""
    if frame.empty:
        return {}
    return {r["code"]: r for r in ranking_rows(frame.reset_index(drop=True), city_row, previous,
                                               RANKING_METRICS[metric.key])}


def _ranks(frame: pd.DataFrame, metric: Metric) -> dict[str, int]:
    return {c: r["rank"] for c, r in _rows(frame, None, None, metric).items() if r["rank"] is not None}


def ranking_table(metric: Metric, level: str, res: dict[str, EvaluationResult], city: str,
                  markers: dict[str, str], with_district: bool) -> Table:
    """One ranking table: month rank, entity, [district,] month value/YoY, year-to-date value/rank/YoY."""
    rows_by = {k: _rows(_level(res[k], level), _get(_level(res[k], "city"), city),
                        _level(res[f"prev_{k}"], level).reset_index(drop=True), metric) for k in ("month", "ytd")}
    unit = metric.unit
    chg = "同比" if metric.change == "pct" else "同比（百分点）"
    header = ["排名", {"district": "区", "town": "镇（街道）"}.get(level, "点位")] + (["所属区"] if with_district else [])
    header += [f"本月（{unit}）", chg, f"累计（{unit}）", "累计排名", chg]
    month = _level(res["month"], level)
    codes = sorted(month.index, key=lambda c: (rows_by["month"][c]["rank"] or 10**6, str(c)))
    rows = []
    for code in codes:
        r = month.loc[code]
        m = rows_by["month"][code]
        cells = [Cell(str(m["rank"] or DASH)), Cell(_name(r, code) + markers.get(code, ""))]
        if with_district:
            d = r.get("district")
            cells.append(Cell(DASH if missing(d) else str(d)))
        for k in ("month", "ytd"):
            x = rows_by[k].get(code)
            cells.append(Cell(fmt(x and x["value"], metric.digits), "yellow" if x and x["worse_than_city"] else None))
            if k == "ytd":  # the month rank is the first column
                cells.append(Cell(str((x and x["rank"]) or DASH)))
            cells.append(Cell(fmt_change(metric, x and x["change"]),
                              "red" if x and x["worse_than_previous"] else None))
        rows.append(cells)
    return Table(header, rows)


def _legend() -> Paragraph:
    return Paragraph("注：本月与累计数值列中黄色底纹表示" + HIGHLIGHT_MEANING["yellow"] + "，同比列中红色底纹表示"
                     + HIGHLIGHT_MEANING["red"] + "；“—”表示无有效数据或无上年同期数据。", "note")


def _invalid_footnotes(level: str, res: EvaluationResult, start: int) -> tuple[dict[str, str], list[Footnote]]:
    frame = _level(res, level)
    markers, notes = {}, []
    i = start
    for code, row in frame.sort_index().iterrows():
        if _valid(row):
            continue
        mk = MARKERS[i] if i < len(MARKERS) else f"[{i + 1}]"
        i += 1
        n = int(finite(row.get("n_pm25")) or 0)
        name = _name(row, code)
        markers[code] = mk
        notes.append(Footnote(mk, f"{name}：本月PM2.5有效日均值{n}个，不满足数据有效性要求，本月数据无效，不参与排名。"))
    return markers, notes


# --- sentences ---------------------------------------------------------------------------------------------------


def _overview(res: dict[str, EvaluationResult], city: str, periods: dict[str, Period]) -> list[Paragraph]:
    y, m = periods["month"].start.year, periods["month"].start.month
    out = []
    for k, label in (("month", f"{y}年{m}月"), ("ytd", f"{y}年1—{m}月")):
        if k == "ytd" and m == 1:
            continue
        row = _get(_level(res[k], "city"), city)
        if row is None:
            continue
        prow = _get(_level(res[f"prev_{k}"], "city"), city)
        pm, gr = finite(row["pm25_mean"]), finite(row["good_ratio"])
        what = "平均浓度" if k == "month" else "累计平均浓度"
        parts = [f"{label}，{city}细颗粒物（PM2.5）{what}为{fmt(pm, 0)}微克/立方米"]
        if pm is not None and prow is not None and _valid(prow) and _valid(row):
            parts.append(change_phrase(PM25, change(PM25, pm, finite(prow["pm25_mean"]))))
        if pm is not None and not _valid(row):
            parts.append("（有效监测数据不足，仅供参考）")
        parts.append(f"；优良天数比例为{fmt(gr, 1)}%（有效监测{int(row['valid_days'])}天，其中优良{int(row['good_days'])}天）")
        if gr is not None and prow is not None and finite(prow["good_ratio"]) is not None:
            parts.append(change_phrase(GOOD, change(GOOD, gr, finite(prow["good_ratio"]))))
        out.append(Paragraph("".join(parts) + "。"))
    return out


def _extremes(res: EvaluationResult, level: str, what: str) -> Paragraph | None:
    frame = _level(res, level)
    ranks = _ranks(frame, PM25)
    if len(ranks) < 2:
        return None
    best = [c for c, r in ranks.items() if r == min(ranks.values())]
    worst = [c for c, r in ranks.items() if r == max(ranks.values())]

    def names(codes):
        return "、".join(_name(frame.loc[c], c) for c in sorted(codes))

    v_best = fmt(finite(frame.loc[best[0], "pm25_mean"]), 0)
    v_worst = fmt(finite(frame.loc[worst[0], "pm25_mean"]), 0)
    return Paragraph(f"本月各{what}中，PM2.5平均浓度最低的是{names(best)}（{v_best}微克/立方米），"
                     f"最高的是{names(worst)}（{v_worst}微克/立方米）。")


# --- provenance --------------------------------------------------------------------------------------------------


def _import_ids(con: duckdb.DuckDBPyConnection, city: str, periods: list[Period]) -> list[int]:
    return store_read.air_import_ids(con, city, [(p.first_day, p.last_day) for p in periods])


def _provenance(con, city: str, res: dict[str, EvaluationResult], periods: dict[str, Period], now: datetime) -> Provenance:
    rules = []
    for r in res.values():
        if not r.table.empty:
            rules += [f"评价：{n}" for n in r.eval_rulesets] + [f"AQI：{n}" for n in r.aqi_rulesets] + [f"限值：{r.limits}"]
    labels = {"month": "本月", "ytd": "本年累计", "prev_month": "上年同月", "prev_ytd": "上年同期累计"}
    coverage = []
    for k, p in periods.items():
        st = _level(res[k], "station")
        c = _get(_level(res[k], "city"), city)
        span = f"{p.start.isoformat()}至{p.end.isoformat()}"
        if c is None:
            coverage.append((f"{labels[k]}数据覆盖", f"{span}：无数据"))
            continue
        n_valid = sum(_valid(r) for _, r in st.iterrows())
        text = (f"{span}：{len(st)}个评价点位有数据，其中{n_valid}个PM2.5数据有效；"
                f"全市有效监测{int(c['valid_days'])}天，应监测{int(c['expected_days'])}天")
        coverage.append((f"{labels[k]}数据覆盖", text))
    notes = list(dict.fromkeys(n for r in res.values() for n in r.notes))
    return Provenance(list(dict.fromkeys(rules)), coverage, _import_ids(con, city, list(periods.values())), now, notes)


# --- the bulletin ------------------------------------------------------------------------------------------------


def build_monthly(con: duckdb.DuckDBPyConnection, city: str, month: str, now: datetime | None = None, *,
                  ledger_session=None) -> Document:
    """The monthly ranking bulletin of ``city`` for ``month`` (``YYYY-MM``). With ``ledger_session`` (a session
    of the workspace's ledger) it adds the section 指挥调度: the month's dispatch figures (:func:`dispatch_section`)."""
    periods = month_periods(month)
    res = {k: evaluate_period(con, p, city=city, levels=LEVELS) for k, p in periods.items()}
    y, m = periods["month"].start.year, periods["month"].start.month
    if _get(_level(res["month"], "city"), city) is None:
        raise ReportError(f"{city}{y}年{m}月没有空气质量监测数据，无法生成月度排名通报")
    doc = Document(title=f"{city}{y}年{m}月环境空气质量排名通报",
                   subtitle=f"（统计时段：{periods['month'].start.isoformat()}至{periods['month'].end.isoformat()}）")

    def note(msg: str) -> None:
        doc.log.append(msg)
        log.info(msg)

    for k, label in (("prev_month", "上年同月"), ("prev_ytd", "上年同期累计")):
        if _get(_level(res[k], "city"), city) is None:
            note(f"{label}（{periods[k].start.isoformat()}至{periods[k].end.isoformat()}）无数据，同比以“—”表示。")

    n = 0
    doc.sections.append(Section(f"{CN_NUM[n]}、全市空气质量概况", _overview(res, city, periods)))
    n += 1
    marker_start = 0
    why = {"district": "站点未配置所属区", "town": "站点表中没有乡镇站（站点类别“乡镇”及所属镇/街道）",
           "station": "无评价点位数据"}
    for level, what, with_district in (("district", "区", False), ("town", "镇（街道）", False),
                                       ("station", "监测点位", True)):
        if _level(res["month"], level).empty:
            note(f"本月无{what}级评价结果（{why[level]}），略去“各{what}排名”一节。")
            continue
        if level == "station" and "is_control" in res["month"].table:
            ctl = res["month"].table
            ctl = ctl[(ctl["level"] == "station") & ctl["is_control"].fillna(False).astype(bool)]
            if len(ctl):
                note(f"对照点{len(ctl)}个不参与点位排名。")
        markers, footnotes = _invalid_footnotes(level, res["month"], marker_start)
        marker_start += len(footnotes)
        sec = Section(f"{CN_NUM[n]}、各{what}空气质量排名")
        if (p := _extremes(res["month"], level, what)) is not None:
            sec.blocks.append(p)
        doc.sections.append(sec)
        for i, metric in enumerate((PM25, GOOD)):
            sub = Section(f"（{CN_NUM[i]}）{metric.name}排名", level=2)
            sub.blocks.append(ranking_table(metric, level, res, city, markers, with_district))
            sub.blocks.extend(footnotes)
            sub.blocks.append(_legend())
            doc.sections.append(sub)
        n += 1
    if ledger_session is not None:
        doc.sections.extend(dispatch_section(ledger_session, month, n))
    doc.sections.append(Section("附录　数据来源与生成说明",
                                [_provenance(con, city, res, periods, now or datetime.now().replace(microsecond=0))]))
    return doc


# --- 指挥调度 (command and dispatch, docs/ledger.md#指挥调度) ----------------------------------------------------------


def dispatch_section(ledger_session, month: str, n: int) -> list[Section]:
    """The month's dispatch figures from the ledger: events dispatched in ``month``, answered in time, overdue,
    still open, mean time to the first answer — in total and per unit (one row per unit). Empty when no event was
    dispatched that month (the section is then left out)."""
    from ..ledger.rbac import Principal
    from ..ledger.service import LedgerService

    stats = LedgerService(ledger_session, Principal.system("月报生成")).event_stats(month=month)
    t = stats["total"]
    if not t["issued"]:
        return []

    def pct(rate: float | None) -> str:
        return DASH if rate is None else fmt(rate * 100, 1)

    hours = DASH if t["mean_response_hours"] is None else fmt(t["mean_response_hours"], 1)
    text = (f"本月派发调度事件{t['issued']}件，承办单位按时反馈{t['in_time']}件（按时率{pct(t['in_time_rate'])}%），"
            f"超期{t['overdue']}件，尚待反馈{t['open']}件；派发至首次反馈平均{hours}小时。")
    rows = [[Cell(r["unit"]), Cell(str(r["issued"])), Cell(str(r["in_time"])), Cell(str(r["overdue"])),
             Cell(str(r["open"])), Cell(pct(r["in_time_rate"])),
             Cell(DASH if r["mean_response_hours"] is None else fmt(r["mean_response_hours"], 1))]
            for r in stats["by_unit_month"]]
    table = Table(["承办单位", "派发（件）", "按时反馈（件）", "超期（件）", "待反馈（件）", "按时率（%）",
                   "平均首次响应（小时）"], rows, caption="各承办单位调度事件办理情况")
    return [Section(f"{CN_NUM[n]}、指挥调度", [Paragraph(text), table,
                                           Paragraph("按时：首次反馈不晚于反馈期限；超期：反馈晚于期限，或至统计时未反馈且已过期限。",
                                                     "note")])]
