"""The ``qingshan`` command line: ``qingshan <area> <verb>`` (DESIGN.md "Interfaces we promise users")."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import TYPE_CHECKING, Optional

import typer
from rich.console import Console
from rich.markup import escape
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

from . import cli_lake
from .cli_errors import fail, import_errors
from .evaluate.tables import read_table, write_table
from .hj212.cli import hj212_app
from .ingest import ImportError_, import_files
from .ledger.cli import ledger_app
from .ledger.cli import set_workspace as set_ledger_workspace
from .reports import cli_bulletin  # noqa: E402,F401  (registers `report bulletin` on report_app)
from .reports.cli import report_app
from .store.workspace import Workspace, default_workspace
from .targets.cli import targets_app

app = typer.Typer(help="青山：城市生态环境局业务平台", no_args_is_help=True, add_completion=False)
import_app = typer.Typer(help="导入监测数据（quotsoft 站点日文件、CNEMC 接口导出、长表 CSV/XLSX、站点表）", no_args_is_help=True)
air_app = typer.Typer(help="环境空气质量：AQI、HJ 663 评价、排名", no_args_is_help=True)
app.add_typer(import_app, name="import")
app.add_typer(air_app, name="air")
app.add_typer(ledger_app, name="ledger")
app.add_typer(hj212_app, name="hj212")
app.add_typer(targets_app, name="targets")
app.add_typer(report_app, name="report")

if TYPE_CHECKING:
    from .web.serve import ServeLimits

console = Console()
err = Console(stderr=True)
_state: dict[str, Path] = {}


@app.callback()
def main(
    workspace: Optional[Path] = typer.Option(
        None, "--workspace", "-w", help="工作区目录（默认 ./qingshan-workspace 或环境变量 QINGSHAN_WORKSPACE）"
    ),
) -> None:
    _state["workspace"] = workspace or default_workspace()
    set_ledger_workspace(_state["workspace"])


def _ws() -> Workspace:
    return Workspace(_state.get("workspace", default_workspace()))


# --- import ---------------------------------------------------------------------------------------------------


def _run_import(kind: str, files: list[Path], **options) -> None:
    """Import ``files``; a file or store that cannot be used stops the command with one line and exit code 2
    (:mod:`qingshan.cli_errors`; ``QINGSHAN_DEBUG=1`` shows the traceback)."""
    with import_errors(), _ws() as ws, Progress(
        TextColumn("[bold]导入[/] {task.description}"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(),
        console=err, transient=True, disable=not sys.stderr.isatty(),
    ) as progress:
        task = progress.add_task(kind, total=len(files))
        reports = import_files(ws, kind, files, progress=lambda _: progress.advance(task), **options)
    print_import_reports(reports, f"导入结果（{kind}）")


def print_import_reports(reports, title: str) -> None:
    """The per-file import table (batch, file, rows read, new, updated, unchanged, quarantined) and messages."""
    t = Table(title=title)
    for col in ("批次", "文件", "读取行", "新增", "更新", "未变", "隔离"):
        t.add_column(col, justify="left" if col == "文件" else "right")
    failed = 0
    for r in reports:
        t.add_row(str(r.import_id), escape(Path(r.source).name), str(r.rows_read), str(r.new), str(r.updated),
                  str(r.unchanged), str(r.quarantined))
        failed += r.quarantined
    console.print(t)
    for r in reports:
        for m in r.messages:  # file names and messages quote the file: never rich markup
            console.print(f"  {escape(Path(r.source).name)}: {escape(m)}")
    if failed:
        console.print(f"[yellow]共 {failed} 处数据被隔离，明细见工作区 quarantine 表（qingshan quarantine 列出）[/]")


@import_app.command("quotsoft")
def import_quotsoft(files: list[Path] = typer.Argument(..., help="china_sites_YYYYMMDD.csv 文件")) -> None:
    """导入 quotsoft/CNEMC 站点日文件（宽表）。"""
    _run_import("quotsoft", files)


@import_app.command("cnemc")
def import_cnemc(files: list[Path] = typer.Argument(..., help="timepoint,stationcode,... 格式的 CSV")) -> None:
    """导入 CNEMC 实时接口导出的 CSV（每行一个站点小时）。"""
    _run_import("cnemc", files)


@import_app.command("long")
def import_long(
    files: list[Path] = typer.Argument(..., help="station,time,so2,no2,co,o3,pm10,pm25 长表（CSV 或 XLSX）"),
    hour_beginning: bool = typer.Option(False, "--hour-beginning", help="时间为时段开始（默认：时段结束，CNEMC 口径）"),
) -> None:
    """导入用户自有的小时数据长表（格式见 docs/formats.md）。"""
    _run_import("long", files, hour_beginning=hour_beginning)


@import_app.command("stations")
def import_stations(file: Path = typer.Argument(..., help="站点表 CSV/XLSX")) -> None:
    """导入站点表（编码、名称、城市、区县、经纬度、对照点）。"""
    _run_import("stations", [file])


@app.command("quarantine")
def list_quarantine(limit: int = typer.Option(50, help="最多显示行数"), import_id: Optional[int] = typer.Option(None, "--import")) -> None:
    """列出被隔离的数据（文件、行号、字段、原文、原因）。"""
    with _ws() as ws:
        sql = "SELECT import_id, source, line, field, raw, reason FROM quarantine"
        sql += f" WHERE import_id = {int(import_id)}" if import_id is not None else ""
        rows = ws.con.execute(sql + f" ORDER BY import_id, line LIMIT {int(limit)}").fetchall()
    t = Table(title="隔离数据")
    for c in ("批次", "文件", "行", "字段", "原文", "原因"):
        t.add_column(c)
    for r in rows:
        t.add_row(str(r[0]), Path(r[1]).name, str(r[2]), str(r[3]), str(r[4]), str(r[5]))
    console.print(t)


# --- air ------------------------------------------------------------------------------------------------------


@air_app.command("aqi")
def air_aqi(
    input: Path = typer.Argument(..., help="CSV/XLSX：station,time,so2,no2,co,o3,pm10,pm25（小时值，时段结束，北京时间）"),
    output: Path = typer.Option(..., "-o", "--output", help="输出文件（.csv/.xlsx/.json）"),
    ruleset: Optional[str] = typer.Option(None, "--ruleset", help="cnemc-realtime | hj633-2012 | hj633-2026（默认按日期：2026-03-01 前为 cnemc-realtime）"),
) -> None:
    """计算每个站点小时的 IAQI、AQI、级别、类别与首要污染物。"""
    from .evaluate.aqi_table import compute_aqi_table
    from .standards.rulesets import get_aqi_ruleset

    try:
        override = get_aqi_ruleset(ruleset) if ruleset else None
        df = read_table(input)
        result = compute_aqi_table(df, override, source=str(input))
    except (ValueError, ImportError_) as e:
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


def _period_args(period: str, ruleset: Optional[str]):
    """Parsed period and evaluation rule-set override, or exit 2 with the reason."""
    from .evaluate.periods import parse_period
    from .standards.rulesets import get_eval_ruleset

    try:
        return parse_period(period), (get_eval_ruleset(ruleset) if ruleset else None)
    except ValueError as e:
        err.print(f"[red]错误：[/]{e}")
        raise typer.Exit(2)


def _check_city(ws: Workspace, city: Optional[str]) -> None:
    if city is not None and not ws.con.execute("SELECT count(*) FROM stations WHERE city = ?", [city]).fetchall()[0][0]:
        err.print(f"[red]错误：[/]站点表中没有城市 {city!r}（先用 qingshan import stations 导入站点表）")
        raise typer.Exit(2)


_SCREEN_COLUMNS = [
    ("name", "名称"), ("valid_days", "有效天"), ("good_ratio", "优良率%"), ("pm25_mean", "PM2.5"), ("pm10_mean", "PM10"),
    ("so2_mean", "SO2"), ("no2_mean", "NO2"), ("co_p95", "CO-95"), ("o3_8h_p90", "O3-8h-90"), ("composite_index", "综合指数"),
]


_DIGITS = {"good_ratio": 1, "composite_index": 2, "co_p95": 1}


def _fmt(v, column: str = "") -> str:
    if v is None or (isinstance(v, float) and v != v):
        return "—"
    if isinstance(v, (int, float)) and not isinstance(v, bool):
        return f"{float(v):.{_DIGITS.get(column, 0)}f}"
    return str(v)


@air_app.command("evaluate")
def air_evaluate(
    period: str = typer.Option(..., "--period", help="2023 | 2023-01 | 2023-01-01:2023-03-31"),
    city: Optional[str] = typer.Option(None, "--city", help="城市名称（站点表中的“城市”），缺省为全部"),
    ruleset: Optional[str] = typer.Option(None, "--ruleset", help="gb3095-2012 | gb3095-2026-transitional | gb3095-2026-final（默认按日期）"),
    output: Optional[Path] = typer.Option(None, "-o", "--output", help="完整结果表（.csv/.xlsx/.json）"),
    engine: str = typer.Option("embedded", "--engine", help=cli_lake.ENGINE_HELP),
    lake: Optional[str] = typer.Option(None, "--lake", help=cli_lake.LAKE_HELP),
    master: Optional[str] = typer.Option(None, "--master", help=cli_lake.MASTER_HELP),
) -> None:
    """按 HJ 663 评价一个时段：各站点与城市的年（期）评价指标、有效性、达标与综合指数。"""
    p, ev = _period_args(period, ruleset)
    res = cli_lake.evaluate(engine, lake, master, p, city, ev, _check_city)
    table = res.table
    if table.empty:
        err.print(f"[yellow]{p.label} 没有可评价的数据[/]")
        raise typer.Exit(1)
    if city is not None:
        table = table[(table["level"] == "station") | (table["code"] == city)]
    shown = table[(table["level"] == "city") | (table.get("is_control", False) != True)]  # noqa: E712
    t = Table(title=f"环境空气质量评价 {p.label}（{'、'.join(res.eval_rulesets)}；限值 {res.limits}）")
    t.add_column("层级")
    for _, zh in _SCREEN_COLUMNS:
        t.add_column(zh, justify="right")
    for _, row in shown.head(60).iterrows():
        t.add_row("城市" if row["level"] == "city" else "站点", *[_fmt(row[c], c) for c, _ in _SCREEN_COLUMNS])
    console.print(t)
    if len(shown) > 60:
        console.print(f"（屏幕仅显示前 60 行，共 {len(shown)} 行；完整结果请用 -o 输出）")
    for n in res.notes:
        console.print(f"注：{n}")
    if output:
        table = table.assign(eval_rulesets=",".join(res.eval_rulesets), limits=res.limits, period=p.label)
        write_table(table, output)
        console.print(f"完整结果写入 {output}")


@air_app.command("rank")
def air_rank(
    period: str = typer.Option(..., "--period"),
    level: str = typer.Option("city", "--level", help="city | station | district"),
    by: str = typer.Option("composite_index", "--by", help="composite_index | pm25_mean | good_ratio"),
    city: Optional[str] = typer.Option(None, "--city", help="只对该城市的站点/区县排名"),
    ruleset: Optional[str] = typer.Option(None, "--ruleset"),
    output: Optional[Path] = typer.Option(None, "-o", "--output"),
    engine: str = typer.Option("embedded", "--engine", help=cli_lake.ENGINE_HELP),
    lake: Optional[str] = typer.Option(None, "--lake", help=cli_lake.LAKE_HELP),
    master: Optional[str] = typer.Option(None, "--master", help=cli_lake.MASTER_HELP),
) -> None:
    """按综合指数、PM2.5 或优良天数比例排名（并列同名次）。"""
    from .evaluate.air import rank

    if level not in ("city", "station", "district") or by not in ("composite_index", "pm25_mean", "good_ratio"):
        err.print("[red]错误：[/]--level 应为 city|station|district，--by 应为 composite_index|pm25_mean|good_ratio")
        raise typer.Exit(2)
    p, ev = _period_args(period, ruleset)
    res = cli_lake.evaluate(engine, lake, master, p, city, ev, _check_city, levels=(level,))
    table = res.table
    if level == "station":
        table = table[table["is_control"] != True]  # noqa: E712
    ranked = rank(table, by)
    t = Table(title=f"{ {'city': '城市', 'station': '站点', 'district': '区县'}[level] }排名 {p.label}（按 {by}）")
    for c in ("名次", "名称", "综合指数", "PM2.5", "优良率%", "有效天"):
        t.add_column(c, justify="right")
    for _, r in ranked.head(50).iterrows():
        t.add_row(_fmt(r[f"rank_{by}"]), str(r["name"]), _fmt(r["composite_index"], "composite_index"),
                  _fmt(r["pm25_mean"]), _fmt(r["good_ratio"], "good_ratio"), _fmt(r["valid_days"]))
    console.print(t)
    if output:
        write_table(ranked, output)
        console.print(f"完整排名写入 {output}")


@app.command("demo")
def demo(
    data: Optional[Path] = typer.Option(None, "--data", help="真实数据目录（quotsoft 日文件、CNEMC 导出、站点表）；缺省使用内置生成数据"),
    city: Optional[str] = typer.Option(None, "--city", help="评价的城市（缺省：数据最多的城市，或内置示范城市）"),
    serve_console: bool = typer.Option(True, "--serve/--no-serve", help="建好工作区后启动 Web 控制台"),
    host: str = typer.Option("127.0.0.1", "--host", help="控制台监听地址"),
    port: int = typer.Option(8000, "--port", help="控制台端口"),
    demo_password: Optional[str] = typer.Option(None, "--demo-password", help="演示账号的密码（缺省随机生成并打印）"),
) -> None:
    """一条命令看到平台的全貌：导入 → 小时 AQI → HJ 663 评价 → 目标进度 → 演示台账 → 启动控制台。"""
    from .demo import run_demo

    workspace = Path(_state.get("workspace", default_workspace()))
    try:
        city_used, accounts = run_demo(workspace, data, city, console, demo_password)
    except ImportError_ as e:
        fail(e, 2, "导入失败：")
    if city_used is None:
        raise typer.Exit(2)
    logins = workspace / "demo-logins.txt"
    if accounts and logins.exists():
        console.print("演示账号（用户名、密码、角色；另存于 " + str(logins) + "）：")
        for line in logins.read_text(encoding="utf-8").splitlines():
            console.print("  " + line.replace("\t", "  "))
    if serve_console:
        _serve(workspace, host, port)


def _serve(workspace: Path, host: str, port: int, secure_cookies: bool = False,
           limits: Optional["ServeLimits"] = None) -> None:
    from .web.serve import serve as run_console
    from .web.store import StoreBusy

    console.print(f"控制台：http://{host}:{port}/ （Ctrl+C 结束）")
    try:
        run_console(workspace, host, port, secure_cookies=secure_cookies, log_level="warning", limits=limits)
    except StoreBusy as e:
        err.print(f"[red]{e}[/]")
        raise typer.Exit(2) from None


@app.command("serve")
def serve(
    host: str = typer.Option("127.0.0.1", "--host", help="监听地址（对外提供服务时用 0.0.0.0，并置于反向代理之后）"),
    port: int = typer.Option(8000, "--port", help="端口"),
    secure_cookies: bool = typer.Option(False, "--secure-cookies", help="会话 Cookie 加 Secure 标记（经 HTTPS 反向代理提供服务时使用）"),
    forwarded_allow_ips: Optional[str] = typer.Option(
        None, "--forwarded-allow-ips",
        help="受信任的反向代理地址（逗号分隔）：只采信这些地址发来的 X-Forwarded-For/-Proto；"
             "缺省取环境变量 QINGSHAN_FORWARDED_ALLOW_IPS，都没有则不采信任何地址"),
    header_timeout: float = typer.Option(10.0, "--header-timeout", min=0.1,
                                         help="请求头须在此秒数内送达，否则关闭连接"),
    max_connections: Optional[int] = typer.Option(
        None, "--max-connections", min=1,
        help="同时打开的连接数上限（缺省：1000 与“可打开文件数 − 128”中较小者）；达到上限时先关闭等待最久的空闲连接"),
    max_header_bytes: int = typer.Option(64 * 1024, "--max-header-bytes", min=1024, help="请求头大小上限（字节），超过答 431"),
    keep_alive: int = typer.Option(5, "--keep-alive", min=1, help="空闲的长连接保留秒数"),
) -> None:
    """启动 Web 控制台与 REST API（/api/v1）；工作区的 DuckDB 文件由本进程独占。"""
    from .settings import current as current_settings
    from .web.serve import ServeLimits

    proxies = current_settings().forwarded_allow_ips if forwarded_allow_ips is None else forwarded_allow_ips
    limits = ServeLimits(header_timeout=header_timeout, max_connections=max_connections,
                         max_header_bytes=max_header_bytes, keep_alive=keep_alive,
                         forwarded_allow_ips=tuple(x.strip() for x in proxies.split(",") if x.strip()))
    _serve(Path(_state.get("workspace", default_workspace())), host, port, secure_cookies, limits)


from .cli_water import register as _register_water  # noqa: E402  (water, noise, rain, dust; import water-*)

_register_water(app, import_app)
cli_lake.register(app)  # export lake

if __name__ == "__main__":  # pragma: no cover
    app()
