"""``qingshan noise|rain|dust evaluate``: noise (GB 3096, HJ 640), acid rain and dustfall.

Each takes an input file, or without one evaluates what the workspace store holds (``qingshan import
noise-*|rain|dust``). Numbers are printed with the decimals their standard rounds to (noise 0.1 dB(A), pH two
decimals, frequencies and dustfall one decimal) and with their unit.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any, Optional

import typer
from rich.markup import escape
from rich.table import Table

from .context import open_workspace
from .errors import fail
from .output import console, err, fmt_number, write_sheets
from .water import fmt, print_problems

if TYPE_CHECKING:
    import pandas as pd

noise_app = typer.Typer(help="声环境：区域、道路交通、功能区（GB 3096、HJ 640）", no_args_is_help=True)
rain_app = typer.Typer(help="酸雨：降水量加权 pH、酸雨频率", no_args_is_help=True)
dust_app = typer.Typer(help="降尘：月均、年均与考核目标", no_args_is_help=True)

#: the unit of dustfall (吨/(平方千米·30天))
DUST_UNIT = "t/(km²·30d)"


def _table(title: str, df: pd.DataFrame, headers: dict[str, Any]) -> None:
    """A result table with Chinese headers; a column given as (header, digits) is printed with that many decimals."""
    t = Table(title=title)
    for spec in headers.values():
        t.add_column(spec[0] if isinstance(spec, tuple) else spec)
    for _, r in df.iterrows():
        t.add_row(*[escape(fmt_number(r[c], spec[1]) if isinstance(spec, tuple) else fmt(r[c])) for c, spec in headers.items()])
    console.print(t)
    if df.empty:
        console.print("（无数据）")


def _stored_noise(ctx: typer.Context, year: int | None) -> tuple[int, dict[str, pd.DataFrame]]:
    """The workspace's noise rows of ``year`` (default: the latest stored year) by kind, in the input shape."""
    from ..store.noise import TABLES, load_noise, noise_years

    with open_workspace(ctx) as ws:
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
    ctx: typer.Context,
    regional: Optional[Path] = typer.Option(None, "--regional", help="区域声环境：point, leq_day, leq_night[, district]"),
    road: Optional[Path] = typer.Option(None, "--road", help="道路交通：segment, length_km, leq_day, leq_night[, district]"),
    zones: Optional[Path] = typer.Option(None, "--zones", help="功能区：point, zone, leq_day, leq_night[, date]"),
    year: Optional[int] = typer.Option(None, "--year", help="不给文件时：评价工作区中该年的数据（默认最近一年）"),
    output: Optional[Path] = typer.Option(None, "-o", "--output", help="结果 .xlsx（或 .csv/.json，各表分文件）"),
) -> None:
    """声环境评价：区域与道路交通噪声均值及 HJ 640 等级、路长分布，功能区昼夜达标率（GB 3096）。
    不给 --regional/--road/--zones 时评价工作区已导入的数据。"""
    from ..evaluate import noise as NE
    from ..evaluate.tables import read_table
    from ..ingest.common import IngestError
    from ..standards.noise import DIGITS as DB

    sheets: dict[str, pd.DataFrame] = {}
    try:
        if regional or road or zones:
            given = {"regional": regional, "road": road, "zone": zones}
            inputs = {k: (read_table(p), str(p)) for k, p in given.items() if p}
        else:
            y, frames = _stored_noise(ctx, year)
            console.print(f"评价工作区 {y} 年的声环境数据")
            names = {"regional": "区域声环境", "road": "道路交通声环境", "zone": "功能区声环境"}
            inputs = {k: (f, f"工作区 {y} 年{names[k]}数据") for k, f in frames.items()}
        if "regional" in inputs:
            df, q = NE.evaluate_regional(*inputs["regional"])
            print_problems(q)
            _table("区域声环境（HJ 640 网格法）", df, {"area": "区域", "period": "时段", "points": "点位数", "mean_db": ("均值 dB(A)", DB),
                                                 "grade": "等级", "grade_name": "评价"})
            sheets["区域"] = df
        if "road" in inputs:
            df, bands, q = NE.evaluate_road(*inputs["road"])
            print_problems(q)
            _table("道路交通声环境（路长加权）", df, {"area": "区域", "period": "时段", "segments": "路段数", "length_km": ("路长 km", 1),
                                               "mean_db": ("均值 dB(A)", DB), "grade": "等级", "grade_name": "评价"})
            sheets["道路交通"] = df
            sheets["道路声级分布"] = bands
        if "zone" in inputs:
            df, q = NE.evaluate_zones(*inputs["zone"])
            print_problems(q)
            _table("功能区达标率（GB 3096-2008）", df, {"zone": "功能区", "period": "时段", "limit_db": ("限值 dB(A)", 0), "sessions": "点次",
                                                   "compliant": "达标点次", "rate_pct": ("达标率%", 1)})
            sheets["功能区"] = df
    except (ValueError, IngestError) as e:
        fail(e)
    if output:
        write_sheets(sheets, output)
        console.print(f"结果写入 {output}")


@rain_app.command("evaluate")
def rain_evaluate(
    ctx: typer.Context,
    input: Optional[Path] = typer.Argument(None, help="CSV/XLSX：site, date, ph, rainfall（降水量 mm）；省略时评价工作区已导入的数据"),
    period: Optional[str] = typer.Option(None, "--period", help="只统计该时段（2023、2023-06 …）"),
    output: Optional[Path] = typer.Option(None, "-o", "--output", help="结果文件（.csv/.xlsx/.json）"),
) -> None:
    """酸雨评价：降水量加权 H⁺ 平均 pH、酸雨频率（pH<5.6）、较重（<5.0）/重（<4.5）酸雨等级。"""
    from ..evaluate.acid_rain import evaluate_rain
    from ..evaluate.periods import parse_period
    from ..evaluate.tables import read_table, write_table
    from ..ingest.common import IngestError
    from ..standards.acid_rain import FREQ_DIGITS, PH_DIGITS
    from ..store.deposition import load_rain

    try:
        p = parse_period(period) if period else None
        if input is None:
            with open_workspace(ctx) as ws:
                table = load_rain(ws.con, p.start if p else None, p.end if p else None).drop(columns=["import_id"])
            if table.empty:
                err.print(f"[yellow]工作区没有{p.label if p else ''}降水监测数据（先用 qingshan import rain 导入，或给出文件）[/]")
                raise typer.Exit(1)
            df, q = evaluate_rain(table, p, "工作区降水数据")
        else:
            df, q = evaluate_rain(read_table(input), p, str(input))
    except (ValueError, IngestError) as e:
        fail(e)
    print_problems(q)
    _table(f"降水酸度{' ' + p.label if p else ''}", df, {"site": "点位", "samples": "样品数", "acid_samples": "酸雨样品",
           "acid_frequency_pct": ("酸雨频率%", FREQ_DIGITS), "mean_ph": ("加权平均pH", PH_DIGITS), "grade": "等级",
           "ph_min": ("pH最小", PH_DIGITS), "ph_max": ("pH最大", PH_DIGITS), "rainfall_mm": ("降水量 mm", 1)})
    if output:
        write_table(df, output)
        console.print(f"结果写入 {output}")


@dust_app.command("evaluate")
def dust_evaluate(
    ctx: typer.Context,
    input: Optional[Path] = typer.Argument(None, help="CSV/XLSX：site, month, dustfall（吨/(平方千米·30天)）或 site, month, flux, days；"
                                                     "省略时评价工作区已导入的数据"),
    year: Optional[int] = typer.Option(None, "--year", help="评价年份（默认数据中最近一年）"),
    target: float = typer.Option(2.3, "--target", help="考核目标，吨/(平方千米·30天)"),
    output: Optional[Path] = typer.Option(None, "-o", "--output", help="结果文件（.csv/.xlsx/.json）"),
) -> None:
    """降尘评价：城市月均值、各点位年均值、城市年均值与考核目标、同比变化。"""
    from ..evaluate.dustfall import evaluate_dust
    from ..evaluate.tables import read_table
    from ..ingest.common import IngestError
    from ..standards.dustfall import DIGITS as DD
    from ..store.deposition import load_dust

    try:
        if input is None:
            with open_workspace(ctx) as ws:
                table = load_dust(ws.con, year).drop(columns=["import_id"])
            if table.empty or (year is not None and not table["month"].str.startswith(f"{year:04d}-").any()):
                err.print(f"[yellow]工作区没有{f'{year} 年的' if year else ''}降尘监测数据（先用 qingshan import dust 导入，或给出文件）[/]")
                raise typer.Exit(1)
            ev = evaluate_dust(table, year, target, "工作区降尘数据")
        else:
            ev = evaluate_dust(read_table(input), year, target, str(input))
    except (ValueError, IngestError) as e:
        fail(e)
    print_problems(ev.problems)
    _table("降尘年度评价", ev.summary, {"year": "年份", "sites": "点位数", "annual_mean": ("年均值 "+DUST_UNIT, DD),
           "target": ("目标 "+DUST_UNIT, DD), "meets_target": "达标", "site_min": ("点位最小 "+DUST_UNIT, DD),
           "site_max": ("点位最大 "+DUST_UNIT, DD), "change_pct": ("同比%", 1)})
    _table("月均值", ev.monthly, {"month": "月份", "mean": ("均值 "+DUST_UNIT, DD), "count": "点位数", "meets_target": "达标"})
    if output:
        write_sheets({"年度": ev.summary, "月均值": ev.monthly, "点位": ev.sites}, output)
        console.print(f"结果写入 {output}")
