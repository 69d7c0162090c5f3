"""``qingshan air …``: hourly AQI of a file, HJ 663 evaluation of a period, rankings."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any, Optional

import typer
from rich.markup import escape
from rich.table import Table

from . import lake as cli_lake
from .choices import DataKind, Engine, Level, RankBy, choice
from .errors import fail
from .output import console, err, fmt_number, shown_of

if TYPE_CHECKING:
    import pandas as pd

    from ..evaluate.periods import Period
    from ..store.workspace import Workspace

air_app = typer.Typer(help="环境空气质量：AQI、HJ 663 评价、排名", no_args_is_help=True)

PERIOD_HELP = "时段：2023 | 2023-01 | 2023-01-01:2023-03-31"
EVAL_RULESET_HELP = "gb3095-2012 | gb3095-2026-transitional | gb3095-2026-final（默认按日期）"


@air_app.command("aqi")
def air_aqi(
    input: Path = typer.Argument(..., help="CSV/XLSX：station,time,so2,no2,co,o3,pm10,pm25（小时值，时段结束，北京时间）"),
    output: Path = typer.Option(..., "-o", "--output", help="输出文件（.csv/.xlsx/.json）"),
    ruleset: Optional[str] = typer.Option(None, "--ruleset", help="cnemc-realtime | hj633-2012 | hj633-2026（默认按日期：2026-03-01 前为 cnemc-realtime）"),
) -> None:
    """计算每个站点小时的 IAQI、AQI、级别、类别与首要污染物。"""
    from ..evaluate.aqi_table import compute_aqi_table
    from ..evaluate.tables import read_table, write_table
    from ..ingest import IngestError
    from ..standards.rulesets import get_aqi_ruleset

    try:
        override = get_aqi_ruleset(ruleset) if ruleset else None
        df = read_table(input)
        result = compute_aqi_table(df, override, source=str(input))
    except (ValueError, IngestError) as e:
        fail(e)
    write_table(result.table, output)
    q = result.problems
    for line, fld, raw, reason in list(zip(q.lines, q.fields, q.raws, q.reasons))[:20]:
        err.print(f"[yellow]第 {line} 行 {escape(str(fld))}：{escape(repr(raw))} {escape(reason)}（该值按缺测处理）[/]")
    if len(q) > 20:
        err.print(f"[yellow]……共 {len(q)} 处问题[/]")
    n = len(result.table)
    n_aqi = int(result.table["aqi"].notna().sum())
    console.print(f"已计算 {n} 行（{n_aqi} 行有 AQI），规则集：{', '.join(result.rulesets) or '-'}；结果写入 {output}")


def period_args(period: str, ruleset: Optional[str]) -> tuple[Period, Any]:
    """Parsed period and evaluation rule-set override, or exit 2 with the reason."""
    from ..evaluate.periods import parse_period
    from ..standards.rulesets import get_eval_ruleset

    try:
        return parse_period(period), (get_eval_ruleset(ruleset) if ruleset else None)
    except ValueError as e:
        fail(e)


def check_city(ws: Workspace, city: Optional[str]) -> None:
    from ..store.read import city_has_stations

    if city is not None and not city_has_stations(ws.con, city):
        fail(f"站点表中没有城市 {city!r}（先用 qingshan import stations 导入站点表）")


#: screen columns: key, header, decimals (the rounding of HJ 663 / GB/T 8170: concentrations whole µg/m³,
#: CO one decimal mg/m³, ratios one decimal, the composite index two)
SCREEN_COLUMNS = [
    ("name", "名称", 0), ("valid_days", "有效天", 0), ("good_ratio", "优良率%", 1), ("pm25_mean", "PM2.5 µg/m³", 0),
    ("pm10_mean", "PM10 µg/m³", 0), ("so2_mean", "SO2 µg/m³", 0), ("no2_mean", "NO2 µg/m³", 0),
    ("co_p95", "CO-95 mg/m³", 1), ("o3_8h_p90", "O3-8h-90 µg/m³", 0), ("composite_index", "综合指数", 2),
]
SCREEN_ROWS = 60
RANK_ROWS = 50


def cell(v: Any, digits: int) -> str:
    return str(v) if isinstance(v, str) else fmt_number(v, digits)


#: options shared by ``air evaluate`` and ``air rank`` (one declaration each)
RULESET_OPTION = typer.Option(None, "--ruleset", help=EVAL_RULESET_HELP)
ENGINE_OPTION = typer.Option(Engine.embedded, "--engine", help=cli_lake.ENGINE_HELP, **choice(Engine, "--engine"))
LAKE_OPTION = typer.Option(None, "--lake", help=cli_lake.LAKE_HELP)
MASTER_OPTION = typer.Option(None, "--master", help=cli_lake.MASTER_HELP)
DATA_OPTION = typer.Option(DataKind.reviewed, "--data", help="数据口径：reviewed 审核后（默认）| raw 原始数据（不应用审核标记）",
                           **choice(DataKind, "--data"))


@air_app.command("evaluate")
def air_evaluate(
    ctx: typer.Context,
    period: str = typer.Option(..., "--period", help=PERIOD_HELP),
    city: Optional[str] = typer.Option(None, "--city", help="城市名称（站点表中的“城市”），缺省为全部"),
    ruleset: Optional[str] = RULESET_OPTION,
    output: Optional[Path] = typer.Option(None, "-o", "--output", help="完整结果表（.csv/.xlsx/.json）"),
    engine: Engine = ENGINE_OPTION,
    lake: Optional[str] = LAKE_OPTION,
    master: Optional[str] = MASTER_OPTION,
    data: DataKind = DATA_OPTION,
    exclude_dust: bool = typer.Option(False, "--exclude-dust/--include-dust",
                                      help="扣除标记为“沙尘天气影响”时段的 PM10、PM2.5（环办监测〔2016〕120号，考核用；默认不扣除）"),
) -> None:
    """按 HJ 663 评价一个时段：各站点与城市的年（期）评价指标、有效性、达标与综合指数。"""
    from ..evaluate.air import ranked_stations

    p, ev = period_args(period, ruleset)
    res = cli_lake.evaluate(ctx, engine, lake, master, p, city, ev, check_city, data=data.value,
                            exclude_dust=exclude_dust)
    console.print(data_line(res))
    table = res.table
    if table.empty:
        err.print(f"[yellow]{p.label} 没有可评价的数据[/]")
        raise typer.Exit(1)
    if city is not None:
        table = table[(table["level"] == "station") | (table["code"] == city)]
    shown = table[(table["level"] != "station") | ranked_stations(table)]
    t = Table(title=f"环境空气质量评价 {p.label}（{'、'.join(res.eval_rulesets)}；限值 {res.limits}）")
    t.add_column("层级")
    for _, zh, _ in SCREEN_COLUMNS:
        t.add_column(zh, justify="right")
    for _, row in shown.head(SCREEN_ROWS).iterrows():
        t.add_row("城市" if row["level"] == "city" else "站点", *[cell(row[c], d) for c, _, d in SCREEN_COLUMNS])
    console.print(t)
    note = shown_of(SCREEN_ROWS, len(shown))
    if note:
        console.print(note)
    for n in res.notes:
        if n != data_line(res):  # already the header line
            console.print(f"注：{n}")
    if output:
        table = table.assign(eval_rulesets=",".join(res.eval_rulesets), limits=res.limits, period=p.label)
        write_result(table, output, "空气质量评价")
        console.print(f"完整结果写入 {output}")


def data_line(res: Any) -> str:
    """The header line naming the data an evaluation used (reviewed or raw, dust hours deducted or not)."""
    from ..store.review import data_label

    return data_label(res.data, res.exclude_dust)


def write_result(table: pd.DataFrame, output: Path, sheet: str) -> None:
    """CSV/JSON with the column keys; XLSX for people: ``sheet`` with Chinese headers and units, then the same
    rows with the keys on the sheet "machine" (:mod:`qingshan.cli.headers`)."""
    from ..evaluate.tables import write_table
    from .headers import people_and_machine
    from .output import write_sheets

    if output.suffix.lower() == ".xlsx":
        write_sheets(people_and_machine(table, sheet), output)
    else:
        write_table(table, output)


def minimum_valid_days(period: Period) -> tuple[int, str]:
    """The fewest valid days an entity needs for its period statistics to be comparable, and the rule in words:
    GB 3095-2012 表4 per month (27 days, February 25; part-months scaled, docs) and 324 for a calendar year;
    a period too short for 表4 to ask anything needs every day."""
    from ..standards.air_validity import GB3095_TABLE4, period_months

    need = sum(GB3095_TABLE4.required_days(y, m, d) for y, m, d in period_months(period.start, period.end))
    if period.is_calendar_year():
        need = max(need, GB3095_TABLE4.year_min_days)
    if need > 0:
        return need, "GB 3095-2012 表4：每月至少 27 个日均值（2 月 25 个），全年至少 324 个"
    return period.n_days, "时段太短，GB 3095 表4 的月度要求不适用：排名要求时段内每天都有效"


def flag_below_minimum(ranked: pd.DataFrame, by: str, period: Period) -> tuple[pd.Series, int, str]:
    """Which ranked entities fall below the validity minimum (too few valid days, or a statistic of the ranking
    not valid per 表4), the minimum and its rule."""
    need, rule = minimum_valid_days(period)
    below = ranked["valid_days"].fillna(0) < need
    flags = {"pm25_mean": ["valid_pm25"], "composite_index": [f"valid_{p}" for p in ("so2", "no2", "co", "o3", "pm10", "pm25")]}
    for col in flags.get(by, []):
        if col in ranked:
            below |= ~ranked[col].fillna(False).astype(bool)
    return below, need, rule


@air_app.command("rank")
def air_rank(
    ctx: typer.Context,
    period: str = typer.Option(..., "--period", help=PERIOD_HELP),
    level: Level = typer.Option(Level.city, "--level", help="排名对象：city 城市 | station 站点 | district 区县",
                                **choice(Level, "--level")),
    by: RankBy = typer.Option(RankBy.composite_index, "--by", help="排名依据：composite_index 综合指数 | pm25_mean PM2.5 | "
                              "good_ratio 优良天数比例", **choice(RankBy, "--by")),
    city: Optional[str] = typer.Option(None, "--city", help="只对该城市的站点/区县排名"),
    ruleset: Optional[str] = RULESET_OPTION,
    output: Optional[Path] = typer.Option(None, "-o", "--output", help="完整排名表（.csv/.xlsx/.json）"),
    engine: Engine = ENGINE_OPTION,
    lake: Optional[str] = LAKE_OPTION,
    master: Optional[str] = MASTER_OPTION,
    data: DataKind = DATA_OPTION,
    exclude_dust: bool = typer.Option(True, "--exclude-dust/--include-dust",
                                      help="扣除标记为“沙尘天气影响”时段的 PM10、PM2.5（环办监测〔2016〕120号：排名默认扣除）"),
) -> None:
    """按综合指数、PM2.5 或优良天数比例排名（并列同名次）；有效天数不足的对象标 *。"""
    from ..evaluate.air import rank, ranked_stations

    p, ev = period_args(period, ruleset)
    res = cli_lake.evaluate(ctx, engine, lake, master, p, city, ev, check_city, levels=(level.value,), data=data.value,
                            exclude_dust=exclude_dust)
    console.print(data_line(res))
    table = res.table
    if level is Level.station:
        table = table[ranked_stations(table)]
    if table.empty:
        console.print(f"{p.label} 没有可排名的{ {'city': '城市', 'station': '站点', 'district': '区县'}[level.value] }。")
        raise typer.Exit(1)
    ranked = rank(table, by.value)
    below, need, rule = flag_below_minimum(ranked, by.value, p)
    what = {"city": "城市", "station": "站点", "district": "区县"}[level.value]
    t = Table(title=f"{what}排名 {p.label}（按 {by.value}）")
    for c in ("名次", "名称", "综合指数", "PM2.5 µg/m³", "优良率%", "有效天"):
        t.add_column(c, justify="right")
    for (_, r), low in zip(ranked.head(RANK_ROWS).iterrows(), below.head(RANK_ROWS)):
        t.add_row(fmt_number(r[f"rank_{by.value}"]) + (" *" if low else ""), escape(str(r["name"])),
                  fmt_number(r["composite_index"], 2), fmt_number(r["pm25_mean"]), fmt_number(r["good_ratio"], 1),
                  fmt_number(r["valid_days"]))
    console.print(t)
    note = shown_of(RANK_ROWS, len(ranked), f"个{what}")
    if note:
        console.print(note)
    if below.any():
        console.print(f"* {int(below.sum())} 个{what}有效天数不足 {need} 天或统计量无效（{rule}），排名仅供参考。")
    if output:
        write_result(ranked.assign(below_validity_minimum=below.to_numpy()), output, f"{what}排名")
        console.print(f"完整排名写入 {output}")


