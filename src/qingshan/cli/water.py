"""``qingshan water …``: GB 3838 classification of samples and the evaluation of a period (地表水环境质量评价办法).

The imports (``qingshan import water-auto|water-samples``) are in :mod:`qingshan.cli.imports`.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Optional

import typer
from rich.markup import escape
from rich.table import Table

from .choices import WaterGroup, WaterItems, choice
from .context import open_workspace
from .errors import fail
from .output import console, err, fmt_number, missing, shown_of, write_sheets

water_app = typer.Typer(help="地表水：GB 3838 定类、地表水环境质量评价办法评价、营养状态", no_args_is_help=True)


def fmt(v: Any) -> str:
    """A cell as stored: whole numbers without ".0", yes/no in Chinese, "—" when missing."""
    if missing(v):
        return "—"
    if isinstance(v, bool):
        return "是" if v else "否"
    if isinstance(v, float) and v.is_integer():
        return str(int(v))
    return str(v)


def item_names(codes: str) -> str:
    from ..standards.water_class import ITEMS

    return "、".join(ITEMS[c].name_zh for c in codes.split(",") if c in ITEMS) if codes else "—"


def print_problems(q: Any, limit: int = 20) -> None:
    """The first ``limit`` problems of a quarantine (line, field, raw value, reason) on stderr, and their count."""
    for line, fld, raw, reason in list(zip(q.lines, q.fields, q.raws, q.reasons))[:limit]:
        err.print(f"[yellow]第 {line} 行 {escape(str(fld))}：{escape(repr(raw))} {escape(reason)}[/]")
    if len(q) > limit:
        err.print(f"[yellow]……共 {len(q)} 处问题[/]")


# --- water --------------------------------------------------------------------------------------------------------


@water_app.command("classify")
def water_classify(
    input: Path = typer.Argument(..., help="CSV/XLSX：每行一个样品，water_body 列为 river 或 lake，项目列 ph, do, codmn … fcoli（mg/L；粪大肠菌群 个/L）"),
    output: Path = typer.Option(..., "-o", "--output", help="输出文件（.csv/.xlsx/.json）"),
    items: WaterItems = typer.Option(WaterItems.gb3838, "--items", help="gb3838：表1全部项目定类（总氮仅湖库）；eval21：评价办法21项（不含总氮、粪大肠菌群）",
                                     **choice(WaterItems, "--items")),
) -> None:
    """按 GB 3838-2002 单因子法对每个样品定类：class、class_factors（定类项目）与各项目类别 class_<项目>。"""
    from ..evaluate.tables import read_table, write_table
    from ..evaluate.water import classify_table
    from ..ingest.common import IngestError
    from ..standards.water_eval import EVAL_ITEMS

    try:
        df = read_table(input)
        res = classify_table(df, source=str(input), items=EVAL_ITEMS if items is WaterItems.eval21 else None)
    except (ValueError, IngestError) as e:
        fail(e)
    write_table(res.table, output)
    print_problems(res.problems)
    counts = res.table["class"].value_counts()
    dist = "，".join(f"{k} {counts[k]}" for k in ("I", "II", "III", "IV", "V", "劣V") if k in counts)
    console.print(f"已定类 {len(res.table)} 行（{dist or '无可定类的样品'}）；项目：{','.join(res.items)}；结果写入 {output}")


@water_app.command("evaluate")
def water_evaluate(
    ctx: typer.Context,
    period: str = typer.Option(..., "--period", help="2023 | 2023-06 | 2023-01-01:2023-06-30"),
    group: Optional[WaterGroup] = typer.Option(None, "--group", help="分组：assessment（考核级别）| basin（流域）| district（区县）",
                                               **choice(WaterGroup, "--group")),
    ruleset: Optional[str] = typer.Option(None, "--ruleset", help="sw-eval-2011（默认）| sw-eval-2011-p60"),
    output: Optional[Path] = typer.Option(None, "-o", "--output", help="结果（.xlsx 含全部工作表；.csv/.json 为断面表，其余表另存）"),
) -> None:
    """按地表水环境质量评价办法评价时段：断面类别、定类因子、主要污染指标、目标达标、优Ⅲ与劣Ⅴ比例、湖库营养状态。"""
    from ..evaluate.periods import parse_period
    from ..evaluate.water import evaluate_water
    from ..standards.water_class import class_roman
    from ..standards.water_eval import get_water_ruleset

    try:
        p = parse_period(period)
        rule = get_water_ruleset(ruleset)
    except ValueError as e:
        fail(e)
    with open_workspace(ctx) as ws:
        ev = evaluate_water(ws.con, p, group.value if group else None, rule)
    if ev.sections.empty:
        err.print(f"[yellow]{p.label} 没有地表水监测数据（先用 qingshan import water-samples 导入）[/]")
        raise typer.Exit(1)
    g = Table(title=f"地表水断面水质 {p.label}（{rule.title_zh}）")
    label = ev.groups.columns[0]
    for c in (label, "断面数", "优Ⅲ比例%", "劣Ⅴ比例%", "水质状况", "评价方法", "主要污染指标", "达到目标"):
        g.add_column(c, justify="left" if c in (label, "水质状况", "评价方法", "主要污染指标") else "right")
    for _, r in ev.groups.iterrows():
        g.add_row(str(r[label]), str(r["sections"]), fmt_number(r["share_good_pct"], 1), fmt_number(r["share_worse_than_v_pct"], 1),
                  r["status"], r["method"], r["main_pollutants"] or "—", f"{r['meets_target']}/{r['with_target']}")
    console.print(g)
    s = Table(title="断面评价")
    for c in ("断面", "级别", "类型", "类别", "水质状况", "定类因子", "主要污染指标（超标倍数）", "目标", "达标", "TLI", "营养状态"):
        s.add_column(c)
    shown = ev.sections.sort_values(["level", "section"], na_position="last")
    for _, r in shown.head(80).iterrows():
        tgt = r.get("target_class")
        s.add_row(str(r.get("name") or r["section"]), fmt(r.get("level")), {"river": "河流", "lake": "湖库"}.get(r.get("water_body"), "—"),
                  r["class_roman"] or "—", r["status"] or "—", item_names(r["class_factors"]), r["main_pollutants"] or "—",
                  class_roman(int(tgt)) if tgt == tgt and tgt is not None else "—", fmt(r["meets_target"]),
                  fmt(r["tli"]), r["tli_grade"] or "—")
    console.print(s)
    note = shown_of(80, len(shown), "个断面")
    if note:
        console.print(note)
    for n in ev.notes:
        console.print(f"注：{n}")
    if output:
        sheets = {"断面评价": ev.sections, "分组统计": ev.groups, "月度评价": ev.months, "样品类别": ev.samples,
                  "湖库营养状态": ev.tli}
        write_sheets(sheets, output)
        console.print(f"完整结果写入 {output}")
