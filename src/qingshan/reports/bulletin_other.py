"""Acid rain, dustfall, noise and governance parts of the annual bulletin.

Noise, rain and dustfall are evaluated with the functions of ``qingshan noise|rain|dust evaluate``, from an input
file when one is given (:func:`qingshan.evaluate.tables.read_table`), else from the workspace store
(:class:`Stored`: the rows of :mod:`qingshan.store.deposition` / :mod:`qingshan.store.noise` read back in the same
table shape; the provenance then lists their import batches instead of a file name). Rain and dustfall may hold
the previous year too (then the bulletin compares); noise files are taken as the bulletin year's monitoring, stored
noise is that of the bulletin year. Governance counts come from the ledger service (system principal).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path

import duckdb
import pandas as pd

from ..evaluate import noise as NE
from ..evaluate.acid_rain import ALIASES as RAIN_ALIASES
from ..evaluate.acid_rain import evaluate_rain
from ..evaluate.dustfall import evaluate_dust
from ..evaluate.periods import parse_period
from ..evaluate.tables import columns, read_table
from ..ingest.common import IngestError, Quarantine
from ..numbers import DASH, finite, fmt, plain
from ..standards.acid_rain import ACID_PH
from ..standards.noise import ROAD_BOUNDS, ZONE_LIMITS, ZONE_NAMES_ZH
from ..standards.rounding import round_gbt8170
from ..store.deposition import import_ids, load_dust, load_rain
from ..store.noise import load_noise
from .bulletin_common import (
    BulletinInputs,
    Chapter,
    Log,
    change_words,
    diff,
    pct_change,
    share,
    yoy,
)
from .errors import ReportError
from .model import Cell, Paragraph, Section, Table

DB = "分贝"
DUST_UNIT = "吨/(平方千米·30天)"


@dataclass(frozen=True)
class Stored:
    """Rows of the workspace store in the input-table shape, standing in for an input file."""

    frame: pd.DataFrame
    import_ids: list[int]

    def __str__(self) -> str:
        return f"工作区测量库（导入批次 {'、'.join(f'#{i}' for i in self.import_ids)}）"


Source = Path | Stored


def _stored(frame: pd.DataFrame) -> Stored | None:
    return Stored(frame.drop(columns=["import_id"]), import_ids(frame)) if len(frame) else None


def stored_rain(con: duckdb.DuckDBPyConnection, year: int) -> Stored | None:
    """The store's rain samples of ``year`` and the year before; None when ``year`` has none."""
    frame = load_rain(con, dt.date(year - 1, 1, 1), dt.date(year, 12, 31))
    return _stored(frame) if frame["date"].str.startswith(f"{year:04d}-").any() else None


def stored_dust(con: duckdb.DuckDBPyConnection, year: int) -> Stored | None:
    """The store's dustfall of ``year`` and the year before; None when ``year`` has none."""
    frame = load_dust(con, year)
    return _stored(frame) if frame["month"].str.startswith(f"{year:04d}-").any() else None


def stored_noise(con: duckdb.DuckDBPyConnection, kind: str, year: int) -> Stored | None:
    """The store's noise rows of ``kind`` (regional, road, zone) for ``year``, or None."""
    return _stored(load_noise(con, kind, year))


def _what(src: Source, what: str) -> str:
    """How a message names the data: "降水文件 x.csv" or "工作区的降水数据"."""
    return f"工作区的{what}数据" if isinstance(src, Stored) else f"{what}文件 {src}"


def _read(path: Source, what: str) -> pd.DataFrame:
    if isinstance(path, Stored):
        return path.frame
    try:
        return read_table(path)
    except (IngestError, OSError, ValueError) as e:
        raise ReportError(f"{what}文件无法读取：{e}") from None


def _problems(q: Quarantine, what: str, note: Log) -> None:
    if len(q):
        first = "；".join(f"第{line}行{fld}“{raw}”{reason}" for line, fld, raw, reason
                         in list(zip(q.lines, q.fields, q.raws, q.reasons))[:3])
        note(f"{what}文件 {q.source} 有{len(q)}处数据问题，已按缺测处理：{first}{'……' if len(q) > 3 else ''}")


def _source_note(path: Source, what: str, ch: Chapter) -> None:
    """Where a section's data came from: the input file, or the store's import batches (also in ``ch.import_ids``)."""
    if isinstance(path, Stored):
        ch.import_ids.extend(path.import_ids)
        ch.notes.append(f"{what}：{path}")
    else:
        ch.notes.append(f"{what}：输入文件 {path}")


# --- acid rain ----------------------------------------------------------------------------------------------------


def rain_section(path: Source, year: int, note: Log, ch: Chapter) -> Section | None:
    df = _read(path, "降水")
    cols = columns(df, RAIN_ALIASES, (), str(path))
    try:
        if "date" in cols:
            cur, q = evaluate_rain(df, parse_period(str(year)), str(path))
            prev, _ = evaluate_rain(df, parse_period(str(year - 1)), str(path))
        else:
            note(f"降水文件 {path} 没有日期列，按{year}年全年数据统计，不作同比。")
            cur, q = evaluate_rain(df, None, str(path))
            prev = None
    except (IngestError, ValueError) as e:
        raise ReportError(f"降水文件无法评价：{e}") from None
    _problems(q, "降水", note)
    a = cur[cur["site"] == "全部"].iloc[0]
    if int(a["samples"]) == 0:
        note(f"未生成“酸雨”一节：{_what(path, '降水')}中没有{year}年的有效样品。")
        return None
    p = prev[prev["site"] == "全部"].iloc[0] if prev is not None else None
    if p is not None and int(p["samples"]) == 0:
        p = None
    freq, ph = a["acid_frequency_pct"], a["mean_ph"]
    text = (f"{year}年，共采集降水样品{int(a['samples'])}个，pH值范围为{fmt(a['ph_min'], 2)}~{fmt(a['ph_max'], 2)}，"
            f"其中酸雨（pH<{ACID_PH}）样品{int(a['acid_samples'])}个，酸雨频率为{fmt(freq, 1)}%"
            f"{yoy(diff(freq, p['acid_frequency_pct']) if p is not None else None, 'pp')}；"
            f"降水量加权平均pH值为{fmt(ph, 2)}"
            f"{yoy(diff(ph, p['mean_ph'], 2) if p is not None else None, 'abs', 2)}")
    if finite(ph) is not None:
        text += f"，属{a['grade']}" if a["grade"] != "非酸雨" else f"，好于酸雨临界值（pH {ACID_PH}）"
    blocks: list = [Paragraph(text + "。")]
    sites = cur[cur["site"] != "全部"]
    if len(sites) > 1:
        header = ["点位", "样品数", "酸雨样品数", "酸雨频率（%）", "加权平均pH", "pH范围", "降水量（毫米）"]
        blocks.append(Table(header, [[Cell(str(r["site"])), Cell(str(int(r["samples"]))), Cell(str(int(r["acid_samples"]))),
                                      Cell(fmt(r["acid_frequency_pct"], 1)), Cell(fmt(r["mean_ph"], 2)),
                                      Cell(f"{fmt(r['ph_min'], 2)}~{fmt(r['ph_max'], 2)}"), Cell(fmt(r["rainfall_mm"], 1))]
                                     for _, r in sites.iterrows()], caption=f"{year}年各点位降水酸度"))
    ch.summary.append(f"酸雨频率为{fmt(freq, 1)}%，降水量加权平均pH值为{fmt(ph, 2)}")
    ch.rulesets.append("酸雨：降水量加权H⁺平均pH，酸雨pH<5.6（GB/T 19117-2017）")
    ch.coverage.append((f"{year}年降水", f"{int(a['samples'])}个样品，{len(sites)}个点位"))
    _source_note(path, "酸雨", ch)
    return Section("酸雨", blocks, level=2)


# --- dustfall -----------------------------------------------------------------------------------------------------


def dust_section(path: Source, year: int, target: float, note: Log, ch: Chapter) -> Section | None:
    try:
        ev = evaluate_dust(_read(path, "降尘"), year, target, str(path))
    except (IngestError, ValueError) as e:
        raise ReportError(f"降尘文件无法评价：{e}") from None
    _problems(ev.problems, "降尘", note)
    s = ev.summary.iloc[0]
    if int(s["sites"]) == 0:
        note(f"未生成“降尘”一节：{_what(path, '降尘')}中没有{year}年的数据。")
        return None
    mean, before = s["annual_mean"], s["previous_year_mean"]
    c = pct_change(mean, before)
    ok = bool(s["meets_target"])
    text = (f"{year}年，{int(s['sites'])}个降尘监测点位的年均降尘量为{fmt(mean, 1)}{DUST_UNIT}，"
            f"{'未超过' if ok else '超过'}考核目标（{plain(target)}{DUST_UNIT}）；各点位年均值在"
            f"{fmt(s['site_min'], 1)}~{fmt(s['site_max'], 1)}{DUST_UNIT}之间")
    text += f"；与上年（{fmt(before, 1)}{DUST_UNIT}）相比{change_words(c, 'pct')}" if c is not None else ""
    blocks: list = [Paragraph(text + "。")]
    header = ["点位", "监测月数", f"年均值（{DUST_UNIT}）", "是否达到考核目标"]
    blocks.append(Table(header, [[Cell(str(r["site"])), Cell(str(int(r["months"]))), Cell(fmt(r["annual_mean"], 1)),
                                  Cell("是" if r["meets_target"] else "否", None if r["meets_target"] else "red")]
                                 for _, r in ev.sites.sort_values("site").iterrows()], caption=f"{year}年各点位降尘量"))
    if finite(before) is None:
        note(f"{_what(path, '降尘')}中没有{year - 1}年数据，降尘不作同比。")
    ch.summary.append(f"年均降尘量为{fmt(mean, 1)}{DUST_UNIT}")
    ch.rulesets.append(f"降尘：点位年均值的算术平均，考核目标{plain(target)}{DUST_UNIT}")
    ch.coverage.append((f"{year}年降尘", f"{int(s['sites'])}个点位，{int(ev.monthly['count'].sum())}个点位·月"))
    _source_note(path, "降尘", ch)
    return Section("降尘", blocks, level=2)


# --- noise --------------------------------------------------------------------------------------------------------


def _level_text(row: pd.Series) -> str:
    return f"{fmt(row['mean_db'], 1)}{DB}（{row['grade']}，{row['grade_name']}）" if row["grade"] else fmt(row["mean_db"], 1) + DB


def _noise(what: str, evaluate: Callable[..., tuple], path: Source, note: Log) -> tuple:
    """The tables of one noise evaluation of ``path`` (its quarantine goes to the log, a file it cannot evaluate
    is a :class:`ReportError`)."""
    try:
        *tables, q = evaluate(_read(path, what), str(path))
    except (IngestError, ValueError) as e:
        raise ReportError(f"{what}文件无法评价：{e}") from None
    _problems(q, what, note)
    return tuple(tables)


def regional_section(path: Source, year: int, note: Log) -> tuple[Section, str]:
    (df,) = _noise("区域声环境", NE.evaluate_regional, path, note)
    city = df[df["area"] == "全市"].set_index("period")
    text = (f"{year}年，全市区域声环境昼间平均等效声级为{_level_text(city.loc['昼间'])}，"
            f"夜间为{_level_text(city.loc['夜间'])}（昼间{int(city.loc['昼间', 'points'])}个网格点位、"
            f"夜间{int(city.loc['夜间', 'points'])}个，按HJ 640—2012评价）。")
    blocks: list = [Paragraph(text)]
    if (df["area"] != "全市").any():
        wide = df.pivot(index="area", columns="period", values="mean_db")
        grades = df.pivot(index="area", columns="period", values="grade")
        order = ["全市"] + sorted(a for a in wide.index if a != "全市")
        blocks.append(Table(["区域", "昼间等效声级（dB(A)）", "昼间等级", "夜间等效声级（dB(A)）", "夜间等级"],
                            [[Cell(a), Cell(fmt(wide.loc[a, "昼间"], 1)), Cell(grades.loc[a, "昼间"] or DASH),
                              Cell(fmt(wide.loc[a, "夜间"], 1)), Cell(grades.loc[a, "夜间"] or DASH)] for a in order],
                            caption=f"{year}年区域声环境质量"))
    summary = f"区域声环境昼间平均等效声级为{fmt(city.loc['昼间', 'mean_db'], 1)}{DB}"
    return Section("区域声环境", blocks, level=2), summary


def road_section(path: Source, year: int, note: Log) -> tuple[Section, str]:
    df, bands = _noise("道路交通声环境", NE.evaluate_road, path, note)
    city = df[df["area"] == "全市"].set_index("period")
    day = city.loc["昼间"]
    text = (f"{year}年，监测道路{int(day['segments'])}条（段），总长{fmt(day['length_km'], 1)}千米，道路交通噪声昼间"
            f"长度加权平均等效声级为{_level_text(day)}，夜间为{_level_text(city.loc['夜间'])}。")
    b = bands[(bands["area"] == "全市") & (bands["period"] == "昼间")]
    if len(b) and b["share_pct"].notna().any():
        low = b.iloc[0]
        text += f"昼间等效声级不高于{plain(ROAD_BOUNDS['day'][0])}{DB}的路段长{fmt(low['length_km'], 1)}千米，占{fmt(low['share_pct'], 1)}%。"
    blocks: list = [Paragraph(text)]
    for period in ("昼间", "夜间"):
        pb = bands[bands["period"] == period]
        labels = list(dict.fromkeys(pb["band"]))
        areas = ["全市"] + sorted(a for a in pb["area"].unique() if a != "全市")
        trs = []
        for a in areas:
            ab = pb[pb["area"] == a].set_index("band")
            trs.append([Cell(a), Cell("路段长度（千米）"), *[Cell(fmt(ab.loc[x, "length_km"], 1)) for x in labels]])
            trs.append([Cell(a), Cell("占总路长比例（%）"), *[Cell(fmt(ab.loc[x, "share_pct"], 1)) for x in labels]])
        blocks.append(Table(["区域", "项目", *[f"{x}" for x in labels]], trs,
                            caption=f"{year}年道路交通噪声{period}等效声级（dB(A)）分布"))
    summary = f"道路交通噪声昼间平均等效声级为{fmt(day['mean_db'], 1)}{DB}"
    return Section("道路交通声环境", blocks, level=2), summary


def zone_section(path: Source, year: int, note: Log) -> tuple[Section, str]:
    (df,) = _noise("功能区声环境", NE.evaluate_zones, path, note)
    idx = df.set_index(["zone", "period"])
    day, night = idx.loc[("全部", "昼间")], idx.loc[("全部", "夜间")]
    text = (f"{year}年，功能区声环境监测昼间{int(day['sessions'])}点次、达标{int(day['compliant'])}点次，"
            f"达标率为{fmt(day['rate_pct'], 1)}%；夜间{int(night['sessions'])}点次、达标{int(night['compliant'])}点次，"
            f"达标率为{fmt(night['rate_pct'], 1)}%。")
    zones = [ZONE_NAMES_ZH[z] for z in ZONE_LIMITS if ZONE_NAMES_ZH[z] in set(df["zone"])]
    header = ["时段", *zones, "全部"]
    trs = []
    for period in ("昼间", "夜间"):
        trs.append([Cell(f"{period}达标率（%）"), *[Cell(fmt(idx.loc[(z, period), "rate_pct"], 1)) for z in [*zones, "全部"]]])
        trs.append([Cell(f"{period}点次（达标/监测）"),
                    *[Cell(f"{int(idx.loc[(z, period), 'compliant'])}/{int(idx.loc[(z, period), 'sessions'])}")
                      for z in [*zones, "全部"]]])
    summary = f"功能区声环境昼间达标率为{fmt(day['rate_pct'], 1)}%、夜间为{fmt(night['rate_pct'], 1)}%"
    return Section("功能区声环境", [Paragraph(text), Table(header, trs, caption=f"{year}年各类功能区达标情况")],
                   level=2), summary


def noise_chapter(inputs: BulletinInputs, year: int, note: Log,
                  con: duckdb.DuckDBPyConnection | None = None) -> Chapter | None:
    """Regional, road and functional-zone sections, each from its input file or else the store's ``year``."""
    files = (("regional", inputs.noise_regional, regional_section, "区域声环境"),
             ("road", inputs.noise_road, road_section, "道路交通声环境"),
             ("zone", inputs.noise_zone, zone_section, "功能区声环境"))
    ch = Chapter("声环境质量")
    for kind, path, build, what in files:
        src = Path(path) if path is not None else stored_noise(con, kind, year) if con is not None else None
        if src is None:
            note(f"未生成“{what}”一节：工作区无{year}年{what}数据，且未提供{what}监测文件。")
            continue
        section, summary = build(src, year, note)
        ch.sections.append(section)
        ch.summary.append(summary)
        _source_note(src, what, ch)
    if not ch.sections:
        note("未生成“声环境质量”一章：工作区无声环境数据，且未提供噪声监测文件（--noise-regional/--noise-road/--noise-zone）。")
        return None
    ch.rulesets.append("声环境：GB 3096-2008（功能区限值）、HJ 640-2012（区域与道路交通等级）")
    return ch


# --- governance ---------------------------------------------------------------------------------------------------


def _in_year(d: dt.date | None, year: int) -> bool:
    return d is not None and d.year == year


def _wan(amount: Decimal) -> str:
    return f"{round_gbt8170(amount / Decimal(10000), 2):.2f}"


def governance_chapter(session, year: int, note: Log) -> Chapter | None:
    from ..ledger.models import PETITION_CHANNEL_LABELS
    from ..ledger.rbac import Principal
    from ..ledger.service import LedgerService

    svc = LedgerService(session, Principal.system("公报生成"))
    ch = Chapter("生态环境治理")
    cases = svc.list_records(kind="case", limit=None).items
    filed = [c for c in cases if _in_year(c.filed_on, year)]
    decided = [c for c in cases if _in_year(c.decided_on, year) and c.penalty_amount is not None]
    transferred = [c for c in cases if _in_year(c.transferred_on, year)]
    if filed or decided:
        total = sum((c.penalty_amount for c in decided), Decimal(0))
        dismissed = sum(1 for c in filed if c.status == "dismissed")
        text = (f"{year}年，立案查处环境违法案件{len(filed)}件" + (f"（其中撤销立案{dismissed}件）" if dismissed else "")
                + f"，作出行政处罚决定{len(decided)}件，罚款金额合计{_wan(total)}万元")
        text += f"，移送公安机关{len(transferred)}件。" if transferred else "。"
        ch.sections.append(Section("环境执法", [Paragraph(text)], level=2))
        ch.summary.append(f"立案查处环境违法案件{len(filed)}件，罚款{_wan(total)}万元")
    else:
        note(f"未生成“环境执法”一节：台账中没有{year}年立案或作出处罚决定的执法案件。")
    st = svc.stats()
    if st["rectification_items"]:
        n, done = int(st["rectification_items"]), int(st["rectification_completed"])
        text = (f"截至{st['as_of']}，台账登记督察整改任务{n}项，已完成整改{done}项（含已销号），完成率"
                f"{fmt(share(done, n), 1)}%；其余{n - done}项正在推进")
        text += f"，其中{int(st['rectification_overdue'])}项已超过整改时限。" if st["rectification_overdue"] else "，均在整改时限内。"
        ch.sections.append(Section("督察整改", [Paragraph(text)], level=2))
    else:
        note("未生成“督察整改”一节：台账中没有督察整改任务。")
    petitions = [p for p in svc.list_records(kind="petition", limit=None).items if _in_year(p.received_on, year)]
    if petitions:
        closed = [p for p in petitions if p.status == "closed"]
        rejected = [p for p in petitions if p.status == "rejected"]
        by_channel = {c: sum(1 for p in petitions if p.channel == c) for c in PETITION_CHANNEL_LABELS}
        chan = "、".join(f"{PETITION_CHANNEL_LABELS[c]}{n}件" for c, n in by_channel.items() if n)
        handled = len(petitions) - len(rejected)
        text = (f"{year}年，共收到信访投诉{len(petitions)}件（{chan}），受理{handled}件"
                + (f"、不予受理{len(rejected)}件" if rejected else "")
                + f"；截至{st['as_of']}已办结{len(closed)}件，办结率{fmt(share(len(closed), handled), 1)}%"
                + (f"，尚在办理{handled - len(closed)}件。" if handled > len(closed) else "。"))
        ch.sections.append(Section("信访投诉", [Paragraph(text)], level=2))
    else:
        note(f"未生成“信访投诉”一节：台账中没有{year}年收到的信访件。")
    if not ch.sections:
        note("未生成“生态环境治理”一章：台账中没有可统计的记录。")
        return None
    counted = f"统计时点{st['as_of']}：执法案件{len(cases)}件、督察整改任务{int(st['rectification_items'])}项、" \
        f"{year}年信访件{len(petitions)}件"
    ch.coverage.append(("治理台账", counted))
    return ch
