"""The surface-water chapter of the annual bulletin (地表水环境质量), from
:func:`qingshan.evaluate.water.evaluate_water` grouped by assessment level.

Shares of sections at Ⅰ–Ⅲ and 劣Ⅴ per level (国考/省考/…) and over all sections, class counts (with a figure),
sections worse than Ⅲ with their main pollutants, target compliance, lakes' trophic state (TLI), and the change
against the previous year when that year has samples. Drinking-water sources appear only when the section
metadata identify them (an assessment level such as ``饮用水水源地``); otherwise the sub-section is left out and
logged. The engine evaluates every section of the workspace: it does not filter by city.
"""

from __future__ import annotations

import duckdb
import pandas as pd

from ..evaluate.periods import parse_period
from ..evaluate.water import GROUPS, WaterEvaluation, evaluate_water
from ..numbers import DASH, finite, fmt, signed
from ..standards.water_class import CLASS_CODES, CLASS_ROMAN
from ..standards.water_eval import EVAL_2011, WaterEvalRuleSet
from ..store import read as store_read
from .bulletin_common import Chapter, Figures, Log, diff, yoy
from .model import Cell, Paragraph, Section, Table

LABEL = GROUPS["assessment"][1]
ALL = "全部"
SOURCE_MARK = "水源"
BODY_ZH = {"river": "河流", "lake": "湖库"}


def is_source_group(name: str) -> bool:
    return SOURCE_MARK in name


def _groups(ev: WaterEvaluation) -> pd.DataFrame:
    return ev.groups.set_index(LABEL) if not ev.groups.empty else pd.DataFrame()


def _group_name(name: str) -> str:
    return "未填考核级别的" if name == "（未填）" else f"{name}"


def _worse_clause(share_worse: float | None, n_worse: int) -> str:
    if n_worse == 0:
        return "无劣Ⅴ类断面"
    return f"劣Ⅴ类断面{n_worse}个，占{fmt(share_worse, 1)}%"


def overview(cur: pd.DataFrame, prev: pd.DataFrame, ev: WaterEvaluation, year: int, rule: WaterEvalRuleSet) -> list[Paragraph]:
    a = cur.loc[ALL]
    secs = ev.sections[ev.sections["water_body"].notna()]
    bodies = secs["water_body"].value_counts()
    kinds = "、".join(f"{BODY_ZH[b]}{int(bodies[b])}个" for b in ("river", "lake") if b in bodies)
    pp = diff(finite(a["share_good_pct"]), finite(prev.loc[ALL, "share_good_pct"])) if ALL in prev.index else None
    text = (f"{year}年，对{int(a['sections'])}个地表水断面（点位）开展了水质监测评价（{kinds}）。按{rule.title_zh}"
            f"评价，年均水质达到或好于Ⅲ类的断面比例为{fmt(a['share_good_pct'], 1)}%{yoy(pp, 'pp')}，"
            f"{_worse_clause(finite(a['share_worse_than_v_pct']), int(a['n_劣V']))}")
    text += f"，总体水质状况为“{a['status']}”。" if a["status"] else "。"
    out = [Paragraph(text)]
    for name, g in cur.iterrows():
        if name == ALL or is_source_group(str(name)):
            continue
        pp = diff(finite(g["share_good_pct"]), finite(prev.loc[name, "share_good_pct"])) if name in prev.index else None
        t = (f"{_group_name(str(name))}断面共{int(g['sections'])}个，年均水质达到或好于Ⅲ类的比例为"
             f"{fmt(g['share_good_pct'], 1)}%{yoy(pp, 'pp')}，{_worse_clause(finite(g['share_worse_than_v_pct']), int(g['n_劣V']))}")
        t += f"，水质状况为“{g['status']}”。" if g["status"] else "。"
        out.append(Paragraph(t))
    return out


def class_table(cur: pd.DataFrame, prev: pd.DataFrame, year: int) -> Table:
    header = [LABEL, "断面数", *[f"{r}类" for r in CLASS_ROMAN], "Ⅰ~Ⅲ类比例（%）", "劣Ⅴ类比例（%）", "水质状况",
              f"{year - 1}年Ⅰ~Ⅲ类比例（%）", "同比（百分点）"]
    trs = []
    for name, g in cur.iterrows():
        p = finite(prev.loc[name, "share_good_pct"]) if name in prev.index else None
        now = finite(g["share_good_pct"])
        c = diff(now, p)
        trs.append([Cell(str(name)), Cell(str(int(g["sections"]))),
                    *[Cell(str(int(g[f"n_{k}"]))) for k in CLASS_CODES],
                    Cell(fmt(now, 1)), Cell(fmt(g["share_worse_than_v_pct"], 1)), Cell(g["status"] or DASH),
                    Cell(fmt(p, 1)), Cell(signed(c), "red" if c is not None and c < 0 else None)])
    return Table(header, trs, caption=f"{year}年地表水断面水质类别统计")


def class_rows(cur: pd.DataFrame) -> list[dict]:
    return [{"group": str(name), "class": f"{r}类", "count": int(g[f"n_{k}"])}
            for name, g in cur.iterrows() for k, r in zip(CLASS_CODES, CLASS_ROMAN)]


def poor_sections(ev: WaterEvaluation) -> Paragraph:
    s = ev.sections
    order = {c: i for i, c in enumerate(CLASS_CODES)}
    worse = s[s["class"].isin(CLASS_CODES[3:])].copy()
    if worse.empty:
        text = "所有断面年均水质均达到或好于Ⅲ类。"
    else:
        worse["_o"] = worse["class"].map(order)
        worse = worse.sort_values(["_o", "name"], ascending=[False, True])
        items = [f"{r['name'] or r['section']}（{r['class_roman']}类"
                 + (f"，主要污染指标为{r['main_pollutants']}" if r["main_pollutants"] else "") + "）"
                 for _, r in worse.iterrows()]
        text = f"年均水质劣于Ⅲ类的断面{len(worse)}个：{'、'.join(items)}（括号内数字为超Ⅲ类标准倍数）。"
    target = s[s["meets_target"].notna()]
    if len(target):
        met = int(target["meets_target"].astype(bool).sum())
        missed = target[~target["meets_target"].astype(bool)]
        text += f"设定水质目标的{len(target)}个断面中，{met}个达到目标"
        text += ("，未达到目标的为" + "、".join(str(n) for n in missed["name"]) + "。") if len(missed) else "，全部达标。"
    return Paragraph(text)


def lake_section(ev: WaterEvaluation, prev: WaterEvaluation, year: int) -> Section | None:
    if ev.tli.empty:
        return None
    now = ev.tli[ev.tli["month"] == ev.period.label].set_index("section")
    now = now[[finite(v) is not None for v in now["tli"]]]
    if now.empty:
        return None
    before = prev.tli[prev.tli["month"] == prev.period.label].set_index("section") if not prev.tli.empty else pd.DataFrame()
    classes = ev.sections.set_index("section")["class_roman"]
    trs, changes = [], []
    for sec, r in now.sort_values("tli").iterrows():
        b = before.loc[sec] if sec in before.index else None
        bt = finite(b["tli"]) if b is not None else None
        trs.append([Cell(str(r["name"])), Cell(f"{classes.get(sec, '')}类" if classes.get(sec) else DASH),
                    Cell(fmt(r["tli"], 2)), Cell(r["tli_grade"] or DASH), Cell(fmt(bt, 2)),
                    Cell(b["tli_grade"] if b is not None and b["tli_grade"] else DASH)])
        if b is not None and b["tli_grade"] and b["tli_grade"] != r["tli_grade"]:
            changes.append(f"{r['name']}由{b['tli_grade']}变为{r['tli_grade']}")
    grades = now["tli_grade"].value_counts()
    parts = [f"{g}{int(grades[g])}个" for g in ("贫营养", "中营养", "轻度富营养", "中度富营养", "重度富营养") if g in grades]
    text = (f"{year}年监测的{len(now)}个湖库点位中，" + "、".join(parts) + "；综合营养状态指数在"
            f"{fmt(now['tli'].min(), 2)}~{fmt(now['tli'].max(), 2)}之间。")
    if changes:
        text += "与上年相比，" + "，".join(changes) + "。"
    header = ["湖库", "水质类别", "综合营养状态指数", "营养状态", f"{year - 1}年指数", f"{year - 1}年营养状态"]
    return Section("湖库营养状态", [Paragraph(text), Table(header, trs, caption=f"{year}年湖库综合营养状态指数")], level=2)


def source_section(ev: WaterEvaluation, cur: pd.DataFrame, year: int, note: Log) -> Section | None:
    names = [n for n in cur.index if is_source_group(str(n))]
    if not names:
        note("未生成“饮用水水源地”一节：断面信息未标识饮用水水源地（考核级别中没有含“水源”的类别）。")
        return None
    blocks = []
    for name in names:
        g = cur.loc[name]
        lv = ev.sections["level"].fillna("").astype(str)
        secs = ev.sections[lv.str.contains(str(name), regex=False)]
        good = secs[secs["class"].isin(CLASS_CODES[:3])]
        text = f"{year}年，监测的{int(g['sections'])}个{name}断面中，年均水质达到或好于Ⅲ类的{len(good)}个"
        text += "，全部达到或好于Ⅲ类。" if len(good) == len(secs) else (
            f"（{fmt(g['share_good_pct'], 1)}%），未达到的为"
            + "、".join(f"{r['name']}（{r['class_roman']}类）" for _, r in secs[~secs.index.isin(good.index)].iterrows()) + "。")
        blocks.append(Paragraph(text))
    return Section("饮用水水源地水质", blocks, level=2)


def water_import_ids(con: duckdb.DuckDBPyConnection, years: list[int]) -> list[int]:
    return store_read.water_import_ids(con, [(p.start, p.end) for p in (parse_period(str(y)) for y in years)])


def _coverage(ev: WaterEvaluation, year: int) -> tuple[str, str]:
    if ev.sections.empty:
        return (f"{year}年地表水", "无数据")
    evaluated = int(ev.sections["water_body"].notna().sum())
    text = f"{len(ev.sections)}个断面有监测数据（{len(ev.samples)}个断面·采样日），其中{evaluated}个参与评价"
    return (f"{year}年地表水", text)


def water_chapter(con: duckdb.DuckDBPyConnection, city: str, year: int, note: Log, figs: Figures,
                  rule: WaterEvalRuleSet = EVAL_2011) -> Chapter | None:
    ev = evaluate_water(con, parse_period(str(year)), "assessment", rule)
    cur = _groups(ev)
    if ev.sections.empty or cur.empty or ALL not in cur.index or int(cur.loc[ALL, "sections"]) == 0:
        note(f"未生成“地表水环境质量”一章：工作区没有{year}年可评价的地表水监测数据。")
        return None
    prev_ev = evaluate_water(con, parse_period(str(year - 1)), "assessment", rule)
    prev = _groups(prev_ev)
    if prev.empty:
        note(f"工作区没有{year - 1}年地表水监测数据，地表水同比以“—”表示。")
    other = store_read.other_water_cities(con, city)
    if other:
        note(f"地表水评价包含工作区全部断面，其中有断面的城市字段为{'、'.join(other)}（评价引擎不按城市筛选）。")
    ch = Chapter("地表水环境质量")
    blocks: list = overview(cur, prev, ev, year, rule)
    blocks.append(class_table(cur, prev, year))
    fig = figs.make("class_share", class_rows(cur), f"{year}年地表水断面水质类别",
                    caption=f"{year}年地表水断面水质类别构成")
    if fig is not None:
        blocks.append(fig)
    blocks.append(poor_sections(ev))
    ch.sections.append(Section("断面水质", blocks, level=2))
    if (src := source_section(ev, cur, year, note)) is not None:
        ch.sections.insert(0, src)
    if (lakes := lake_section(ev, prev_ev, year)) is not None:
        ch.sections.append(lakes)
    else:
        note(f"未生成“湖库营养状态”一节：{year}年没有可计算综合营养状态指数的湖库点位。")
    levels = [f"{_group_name(str(n))}{fmt(g['share_good_pct'], 1)}%" for n, g in cur.iterrows()
              if n != ALL and not is_source_group(str(n))]
    ch.summary.append(f"地表水断面年均水质达到或好于Ⅲ类的比例为{fmt(cur.loc[ALL, 'share_good_pct'], 1)}%"
                      + (f"（{'、'.join(levels)}）" if levels else ""))
    ch.rulesets.append(f"地表水评价：{ev.ruleset}（{rule.title_zh}）")
    ch.coverage += [_coverage(ev, year), _coverage(prev_ev, year - 1)]
    ch.import_ids += water_import_ids(con, [year - 1, year])
    ch.notes += ev.notes
    return ch
