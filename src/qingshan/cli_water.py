"""Command line of the water, noise, acid-rain and dustfall engines (DESIGN.md "Interfaces we promise users").

Sub-apps ``water_app`` (``classify``, ``evaluate``), ``noise_app``, ``rain_app`` and ``dust_app`` (``evaluate``:
an input file, or without one what the workspace store holds), the two import commands :func:`import_water_auto`
/ :func:`import_water_samples` and those of :mod:`qingshan.cli_deposition` (``dust``, ``rain``, ``noise-*``) for
the ``import`` group. :func:`register` wires all of them into the main app (``qingshan.cli``) once:

    from .cli_water import register
    register(app, import_app)

The workspace is the one chosen by the main app's ``--workspace`` option (read when a command runs, so this module
never imports ``qingshan.cli`` at import time).
"""

from __future__ import annotations

from pathlib import Path
from typing import Optional

import pandas as pd
import typer
from rich.console import Console
from rich.markup import escape
from rich.table import Table

from .cli_errors import fail, import_errors
from .evaluate.tables import read_table, write_table
from .spreadsheet import write_frames_xlsx

water_app = typer.Typer(help="地表水：GB 3838 定类、地表水环境质量评价办法评价、营养状态", no_args_is_help=True)
noise_app = typer.Typer(help="声环境：区域、道路交通、功能区（GB 3096、HJ 640）", no_args_is_help=True)
rain_app = typer.Typer(help="酸雨：降水量加权 pH、酸雨频率", no_args_is_help=True)
dust_app = typer.Typer(help="降尘：月均、年均与考核目标", no_args_is_help=True)

console = Console()
err = Console(stderr=True)


def _workspace():
    from .cli import _state
    from .store.workspace import Workspace, default_workspace

    return Workspace(_state.get("workspace", default_workspace()))


def _write_sheets(sheets: dict[str, pd.DataFrame], path: Path) -> None:
    """Several tables: sheets of one XLSX, or (CSV/JSON) the first table in ``path`` and the others beside it."""
    path.parent.mkdir(parents=True, exist_ok=True)
    if path.suffix.lower() == ".xlsx":
        write_frames_xlsx(path, {name: df if len(df.columns) else pd.DataFrame({"说明": ["无数据"]})
                                 for name, df in sheets.items()})
        return
    for k, (name, df) in enumerate(sheets.items()):
        target = path if k == 0 else path.with_name(f"{path.stem}-{name}{path.suffix}")
        write_table(df, target)


def _fmt(v) -> str:
    if v is None or (isinstance(v, float) and v != v) or v is pd.NA:
        return "—"
    if isinstance(v, bool):
        return "是" if v else "否"
    if isinstance(v, float) and v.is_integer():
        return str(int(v))
    return str(v)


def _pct(v) -> str:
    return "—" if v is None or v != v else f"{float(v):.1f}"


def _item_names(codes: str) -> str:
    from .standards.water_class import ITEMS

    return "、".join(ITEMS[c].name_zh for c in codes.split(",") if c in ITEMS) if codes else "—"


def _print_problems(q, limit: int = 20) -> None:
    for line, fld, raw, reason in list(zip(q.lines, q.fields, q.raws, q.reasons))[:limit]:
        err.print(f"[yellow]第 {line} 行 {escape(str(fld))}：{escape(repr(raw))} {escape(reason)}[/]")
    if len(q) > limit:
        err.print(f"[yellow]……共 {len(q)} 处问题[/]")


def _fail(message: str) -> None:
    fail(message)


# --- import -----------------------------------------------------------------------------------------------------


def _report(reports, title: str) -> None:
    from .cli import print_import_reports

    print_import_reports(reports, title)


def import_water_auto(files: list[Path] = typer.Argument(..., help="自动站发布数据：YYYY-MM-DD.json[.gz]、扁平快照表 CSV 或按断面的 CSV")) -> None:
    """导入国家地表水自动监测站发布数据（原始 JSON 或 CSV），保留缺测标记、极值过滤说明与站点情况。"""
    from .ingest.water_auto import import_water_auto as run

    with import_errors(), _workspace() as ws:
        reports = run(ws, files)
    _report(reports, "导入结果（water-auto）")


def import_water_samples(file: Path = typer.Argument(..., help="手工监测数据 XLSX（工作表“监测数据”“断面”）或 CSV")) -> None:
    """导入地表水手工监测数据（含 <检出限 写法）与断面信息（水体类型、流域、考核级别、目标类别、区县）。"""
    from .ingest.water_samples import import_water_samples as run

    with import_errors(), _workspace() as ws:
        report = run(ws, file)
    _report([report], "导入结果（water-samples）")


def register(app: typer.Typer, import_app: typer.Typer) -> None:
    """Add the sub-apps and the import commands to the main app (once)."""
    names = {g.name for g in app.registered_groups}
    for sub, name in ((water_app, "water"), (noise_app, "noise"), (rain_app, "rain"), (dust_app, "dust")):
        if name not in names:
            app.add_typer(sub, name=name)
    commands = {c.name for c in import_app.registered_commands}
    if "water-auto" not in commands:
        import_app.command("water-auto")(import_water_auto)
    if "water-samples" not in commands:
        import_app.command("water-samples")(import_water_samples)
    from .cli_deposition import COMMANDS

    for name, command in COMMANDS.items():  # import dust | rain | noise-regional | noise-road | noise-zone
        if name not in commands:
            import_app.command(name)(command)


# --- water --------------------------------------------------------------------------------------------------------


@water_app.command("classify")
def water_classify(
    input: Path = typer.Argument(..., help="CSV/XLSX：每行一个样品，water_body 列为 river 或 lake，项目列 ph, do, codmn … fcoli（mg/L；粪大肠菌群 个/L）"),
    output: Path = typer.Option(..., "-o", "--output", help="输出文件（.csv/.xlsx/.json）"),
    items: str = typer.Option("gb3838", "--items", help="gb3838：表1全部项目定类（总氮仅湖库）；eval21：评价办法21项（不含总氮、粪大肠菌群）"),
) -> None:
    """按 GB 3838-2002 单因子法对每个样品定类：class、class_factors（定类项目）与各项目类别 class_<项目>。"""
    from .evaluate.water import classify_table
    from .ingest.common import ImportError_
    from .standards.water_eval import EVAL_ITEMS

    if items not in ("gb3838", "eval21"):
        _fail("--items 应为 gb3838 或 eval21")
    try:
        df = read_table(input)
        res = classify_table(df, source=str(input), items=EVAL_ITEMS if items == "eval21" else None)
    except (ValueError, ImportError_) as e:
        _fail(str(e))
    write_table(res.table, output)
    _print_problems(res.problems)
    counts = res.table["class"].value_counts()
    dist = "，".join(f"{k} {counts[k]}" for k in ("I", "II", "III", "IV", "V", "劣V") if k in counts)
    console.print(f"已定类 {len(res.table)} 行（{dist or '无可定类的样品'}）；项目：{','.join(res.items)}；结果写入 {output}")


@water_app.command("evaluate")
def water_evaluate(
    period: str = typer.Option(..., "--period", help="2023 | 2023-06 | 2023-01-01:2023-06-30"),
    group: Optional[str] = typer.Option(None, "--group", help="assessment（考核级别）| basin（流域）| district（区县）"),
    ruleset: Optional[str] = typer.Option(None, "--ruleset", help="sw-eval-2011（默认）| sw-eval-2011-p60"),
    output: Optional[Path] = typer.Option(None, "-o", "--output", help="结果（.xlsx 含全部工作表；.csv/.json 为断面表，其余表另存）"),
) -> None:
    """按地表水环境质量评价办法评价时段：断面类别、定类因子、主要污染指标、目标达标、优Ⅲ与劣Ⅴ比例、湖库营养状态。"""
    from .evaluate.periods import parse_period
    from .evaluate.water import GROUPS, evaluate_water
    from .standards.water_eval import get_water_ruleset

    if group is not None and group not in GROUPS:
        _fail("--group 应为 assessment、basin 或 district")
    try:
        p = parse_period(period)
        rule = get_water_ruleset(ruleset)
    except ValueError as e:
        _fail(str(e))
    with _workspace() as ws:
        ev = evaluate_water(ws.con, p, group, rule)
    if ev.sections.empty:
        err.print(f"[yellow]{p.label} 没有地表水监测数据（先用 qingshan import water-samples 导入）[/]")
        raise typer.Exit(1)
    g = Table(title=f"地表水断面水质 {p.label}（{rule.title_zh}）")
    label = ev.groups.columns[0]
    for c in (label, "断面数", "优Ⅲ比例%", "劣Ⅴ比例%", "水质状况", "评价方法", "主要污染指标", "达到目标"):
        g.add_column(c, justify="left" if c in (label, "水质状况", "评价方法", "主要污染指标") else "right")
    for _, r in ev.groups.iterrows():
        g.add_row(str(r[label]), str(r["sections"]), _pct(r["share_good_pct"]), _pct(r["share_worse_than_v_pct"]),
                  r["status"], r["method"], r["main_pollutants"] or "—", f"{r['meets_target']}/{r['with_target']}")
    console.print(g)
    s = Table(title="断面评价")
    for c in ("断面", "级别", "类型", "类别", "水质状况", "定类因子", "主要污染指标（超标倍数）", "目标", "达标", "TLI", "营养状态"):
        s.add_column(c)
    from .standards.water_class import class_roman

    shown = ev.sections.sort_values(["level", "section"], na_position="last")
    for _, r in shown.head(80).iterrows():
        tgt = r.get("target_class")
        s.add_row(str(r.get("name") or r["section"]), _fmt(r.get("level")), {"river": "河流", "lake": "湖库"}.get(r.get("water_body"), "—"),
                  r["class_roman"] or "—", r["status"] or "—", _item_names(r["class_factors"]), r["main_pollutants"] or "—",
                  class_roman(int(tgt)) if tgt == tgt and tgt is not None else "—", _fmt(r["meets_target"]),
                  _fmt(r["tli"]), r["tli_grade"] or "—")
    console.print(s)
    if len(shown) > 80:
        console.print(f"（屏幕仅显示前 80 个断面，共 {len(shown)} 个；完整结果请用 -o 输出）")
    for n in ev.notes:
        console.print(f"注：{n}")
    if output:
        sheets = {"断面评价": ev.sections, "分组统计": ev.groups, "月度评价": ev.months, "样品类别": ev.samples,
                  "湖库营养状态": ev.tli}
        _write_sheets(sheets, output)
        console.print(f"完整结果写入 {output}")


# --- noise, rain, dust -------------------------------------------------------------------------------------------


def _table(title: str, df: pd.DataFrame, headers: dict[str, str]) -> None:
    t = Table(title=title)
    for zh in headers.values():
        t.add_column(zh)
    for _, r in df.iterrows():
        t.add_row(*[_fmt(r[c]) for c in headers])
    console.print(t)


def _stored_noise(year: int | None) -> tuple[int, dict[str, pd.DataFrame]]:
    """The workspace's noise rows of ``year`` (default: the latest stored year) by kind, in the input shape."""
    from .store.noise import TABLES, load_noise, noise_years

    with _workspace() as ws:
        years = sorted({y for k in TABLES for y in noise_years(ws.con, k)})
        if not years:
            err.print("[yellow]工作区没有声环境数据（先用 qingshan import noise-regional|noise-road|noise-zone 导入，"
                      "或用 --regional/--road/--zones 给出文件）[/]")
            raise typer.Exit(1)
        y = years[-1] if year is None else year
        frames = {k: load_noise(ws.con, k, y).drop(columns=["import_id"]) for k in TABLES}
    frames = {k: f for k, f in frames.items() if len(f)}
    if not frames:
        err.print(f"[yellow]工作区没有 {y} 年的声环境数据（已有年份：{'、'.join(map(str, years))}）[/]")
        raise typer.Exit(1)
    return y, frames


@noise_app.command("evaluate")
def noise_evaluate(
    regional: Optional[Path] = typer.Option(None, "--regional", help="区域声环境：point, leq_day, leq_night[, district]"),
    road: Optional[Path] = typer.Option(None, "--road", help="道路交通：segment, length_km, leq_day, leq_night[, district]"),
    zones: Optional[Path] = typer.Option(None, "--zones", help="功能区：point, zone, leq_day, leq_night[, date]"),
    year: Optional[int] = typer.Option(None, "--year", help="不给文件时：评价工作区中该年的数据（默认最近一年）"),
    output: Optional[Path] = typer.Option(None, "-o", "--output", help="结果 .xlsx（或 .csv/.json，各表分文件）"),
) -> None:
    """声环境评价：区域与道路交通噪声均值及 HJ 640 等级、路长分布，功能区昼夜达标率（GB 3096）。
    不给 --regional/--road/--zones 时评价工作区已导入的数据。"""
    from .evaluate import noise as NE
    from .ingest.common import ImportError_

    sheets: dict[str, pd.DataFrame] = {}
    try:
        if regional or road or zones:
            given = {"regional": regional, "road": road, "zone": zones}
            inputs = {k: (read_table(p), str(p)) for k, p in given.items() if p}
        else:
            y, frames = _stored_noise(year)
            console.print(f"评价工作区 {y} 年的声环境数据")
            names = {"regional": "区域声环境", "road": "道路交通声环境", "zone": "功能区声环境"}
            inputs = {k: (f, f"工作区 {y} 年{names[k]}数据") for k, f in frames.items()}
        if "regional" in inputs:
            df, q = NE.evaluate_regional(*inputs["regional"])
            _print_problems(q)
            _table("区域声环境（HJ 640 网格法）", df, {"area": "区域", "period": "时段", "points": "点位数", "mean_db": "均值 dB(A)",
                                                 "grade": "等级", "grade_name": "评价"})
            sheets["区域"] = df
        if "road" in inputs:
            df, bands, q = NE.evaluate_road(*inputs["road"])
            _print_problems(q)
            _table("道路交通声环境（路长加权）", df, {"area": "区域", "period": "时段", "segments": "路段数", "length_km": "路长 km",
                                               "mean_db": "均值 dB(A)", "grade": "等级", "grade_name": "评价"})
            sheets["道路交通"] = df
            sheets["道路声级分布"] = bands
        if "zone" in inputs:
            df, q = NE.evaluate_zones(*inputs["zone"])
            _print_problems(q)
            _table("功能区达标率（GB 3096-2008）", df, {"zone": "功能区", "period": "时段", "limit_db": "限值", "sessions": "点次",
                                                   "compliant": "达标点次", "rate_pct": "达标率%"})
            sheets["功能区"] = df
    except (ValueError, ImportError_) as e:
        _fail(str(e))
    if output:
        _write_sheets(sheets, output)
        console.print(f"结果写入 {output}")


@rain_app.command("evaluate")
def rain_evaluate(
    input: Optional[Path] = typer.Argument(None, help="CSV/XLSX：site, date, ph, rainfall（降水量 mm）；省略时评价工作区已导入的数据"),
    period: Optional[str] = typer.Option(None, "--period", help="只统计该时段（2023、2023-06 …）"),
    output: Optional[Path] = typer.Option(None, "-o", "--output"),
) -> None:
    """酸雨评价：降水量加权 H⁺ 平均 pH、酸雨频率（pH<5.6）、较重（<5.0）/重（<4.5）酸雨等级。"""
    from .evaluate.acid_rain import evaluate_rain
    from .evaluate.periods import parse_period
    from .ingest.common import ImportError_
    from .store.deposition import load_rain

    try:
        p = parse_period(period) if period else None
        if input is None:
            with _workspace() as ws:
                table = load_rain(ws.con, p.start if p else None, p.end if p else None).drop(columns=["import_id"])
            if table.empty:
                err.print(f"[yellow]工作区没有{p.label if p else ''}降水监测数据（先用 qingshan import rain 导入，或给出文件）[/]")
                raise typer.Exit(1)
            df, q = evaluate_rain(table, p, "工作区降水数据")
        else:
            df, q = evaluate_rain(read_table(input), p, str(input))
    except (ValueError, ImportError_) as e:
        _fail(str(e))
    _print_problems(q)
    _table(f"降水酸度{' ' + p.label if p else ''}", df, {"site": "点位", "samples": "样品数", "acid_samples": "酸雨样品",
           "acid_frequency_pct": "酸雨频率%", "mean_ph": "加权平均pH", "grade": "等级", "ph_min": "pH最小", "ph_max": "pH最大",
           "rainfall_mm": "降水量mm"})
    if output:
        write_table(df, output)
        console.print(f"结果写入 {output}")


@dust_app.command("evaluate")
def dust_evaluate(
    input: Optional[Path] = typer.Argument(None, help="CSV/XLSX：site, month, dustfall（吨/(平方千米·30天)）或 site, month, flux, days；"
                                                     "省略时评价工作区已导入的数据"),
    year: Optional[int] = typer.Option(None, "--year", help="评价年份（默认数据中最近一年）"),
    target: float = typer.Option(2.3, "--target", help="考核目标，吨/(平方千米·30天)"),
    output: Optional[Path] = typer.Option(None, "-o", "--output"),
) -> None:
    """降尘评价：城市月均值、各点位年均值、城市年均值与考核目标、同比变化。"""
    from .evaluate.dustfall import evaluate_dust
    from .ingest.common import ImportError_
    from .store.deposition import load_dust

    try:
        if input is None:
            with _workspace() as ws:
                table = load_dust(ws.con, year).drop(columns=["import_id"])
            if table.empty or (year is not None and not table["month"].str.startswith(f"{year:04d}-").any()):
                err.print(f"[yellow]工作区没有{f'{year} 年的' if year else ''}降尘监测数据（先用 qingshan import dust 导入，或给出文件）[/]")
                raise typer.Exit(1)
            ev = evaluate_dust(table, year, target, "工作区降尘数据")
        else:
            ev = evaluate_dust(read_table(input), year, target, str(input))
    except (ValueError, ImportError_) as e:
        _fail(str(e))
    _print_problems(ev.problems)
    _table("降尘年度评价", ev.summary, {"year": "年份", "sites": "点位数", "annual_mean": "年均值", "target": "目标",
           "meets_target": "达标", "site_min": "点位最小", "site_max": "点位最大", "change_pct": "同比%"})
    _table("月均值", ev.monthly, {"month": "月份", "mean": "均值", "count": "点位数", "meets_target": "达标"})
    if output:
        _write_sheets({"年度": ev.summary, "月均值": ev.monthly, "点位": ev.sites}, output)
        console.print(f"结果写入 {output}")
