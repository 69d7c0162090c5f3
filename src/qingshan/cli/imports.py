"""``qingshan import …`` and ``qingshan quarantine``: monitoring files into the workspace store.

Air (``quotsoft``, ``cnemc``, ``long``, ``stations``), surface water (``water-auto``, ``water-samples``), dustfall,
acid rain and noise (``dust``, ``rain``, ``noise-regional|road|zone``); the town boundaries of the map
(``boundaries``: a file in the workspace, not the store, so written directly even while a platform runs). Every file is one import; a file that
cannot be read at all stops the command with one Chinese line after the files before it were stored (their report
is printed first). A long import shows a progress bar on a terminal and ends with a summary; the table of one line
per file is printed for a few files, or for any number with ``-v``.
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any, Optional

import typer
from rich.markup import escape
from rich.table import Table

from ..errors import QingshanError
from .context import open_workspace, workspace_path
from .errors import fail, import_errors
from .output import console, err, shown_of

import_app = typer.Typer(help="导入监测数据（quotsoft 站点日文件、CNEMC 接口导出、长表 CSV/XLSX、站点表、地表水、降尘、降水、噪声）",
                         no_args_is_help=True)

#: up to this many files the per-file table is printed without -v
DETAIL_FILES = 20
#: file messages printed without -v
DETAIL_MESSAGES = 20
VERBOSE_HELP = "逐个文件列出导入结果（默认文件较多时只打印汇总）"


def print_import_reports(reports: list[Any], title: str, verbose: bool = False) -> None:
    """The per-file import table (batch, file, rows read, new, updated, unchanged, quarantined) for a few files
    or with ``verbose``, a one-line summary, and the files' messages."""
    if verbose or len(reports) <= DETAIL_FILES:
        t = Table(title=title)
        for col in ("批次", "文件", "读取行", "新增", "更新", "未变", "隔离"):
            t.add_column(col, justify="left" if col == "文件" else "right")
        for r in reports:
            t.add_row(str(r.import_id), escape(Path(r.source).name), str(r.rows_read), str(r.new), str(r.updated),
                      str(r.unchanged), str(r.quarantined))
        console.print(t)
    else:
        console.print(f"{title}：共 {len(reports)} 个文件（逐个列出请加 -v）")
    if len(reports) > 1 or not (verbose or len(reports) <= DETAIL_FILES):
        total = {k: sum(getattr(r, k) for r in reports) for k in ("rows_read", "new", "updated", "unchanged", "quarantined")}
        console.print(f"合计 {len(reports)} 个文件：读取 {total['rows_read']} 行，新增 {total['new']}，更新 {total['updated']}，"
                      f"未变 {total['unchanged']}，隔离 {total['quarantined']}")
    messages = [(Path(r.source).name, m) for r in reports for m in r.messages]
    limit = len(messages) if verbose else DETAIL_MESSAGES
    for name, m in messages[:limit]:  # file names and messages quote the file: never rich markup
        console.print(f"  {escape(name)}: {escape(m)}")
    note = shown_of(limit, len(messages), "条说明", "加 -v 列出全部")
    if note:
        console.print(note)
    failed = sum(r.quarantined for r in reports)
    if failed:
        console.print(f"[yellow]共 {failed} 处数据被隔离，明细见工作区 quarantine 表（qingshan quarantine 列出）[/]")


def _import(ctx: typer.Context, kind: str, files: list[Path], verbose: bool = False, **options: Any) -> None:
    """Import ``files`` of ``kind`` (:func:`qingshan.platform.importing.run_import`) with a progress bar on a
    terminal and print the report. While a platform (``qingshan serve``) runs on the workspace, the files are
    handed to it (:mod:`qingshan.platform.handoff`) and its job's report is printed the same way. A file or store
    that cannot be used ends with one line and exit code 2 (:mod:`qingshan.cli.errors`; ``QINGSHAN_DEBUG=1``
    shows the traceback); the reports of the files stored before it are printed first."""
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

    from ..platform.importing import report_of, run_import, title_of
    from ..platform.lock import wait_running

    title = title_of(kind)
    reports: list[Any] = []
    try:
        with import_errors(), Progress(
            TextColumn("[bold]导入[/] {task.description}"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(),
            console=err, transient=True, disable=not sys.stderr.isatty(),
        ) as progress:
            task = progress.add_task(kind, total=len(files))
            try:
                running = wait_running(workspace_path(ctx))
            except QingshanError as e:  # a platform that never finished starting
                fail(e, 2, "导入失败：")
            if running is not None:
                from ..platform.handoff import HandoffError, hand_import

                try:
                    job = hand_import(running, kind, files, options, lambda n: progress.advance(task, n))
                except HandoffError as e:
                    fail(e, 2, "导入失败：")
                result = job.get("result") or {}
                reports.extend(report_of(d) for d in result.get("reports", []))
                if job["state"] == "failed":
                    fail(job.get("error") or "导入失败", int(result.get("exit_code") or 2), "导入失败：")
            else:
                with open_workspace(ctx) as ws:
                    run_import(ws, kind, files, options, lambda _: progress.advance(task), reports)
    except typer.Exit:
        if reports:  # the files before the failing one are stored: say so
            print_import_reports(reports, title, verbose)
        raise
    print_import_reports(reports, title, verbose)


VerboseOpt = typer.Option(False, "-v", "--verbose", help=VERBOSE_HELP)


# --- air ------------------------------------------------------------------------------------------------------


@import_app.command("quotsoft")
def import_quotsoft(ctx: typer.Context,
                    files: list[Path] = typer.Argument(..., help="china_sites_YYYYMMDD.csv 文件"),
                    verbose: bool = VerboseOpt) -> None:
    """导入 quotsoft/CNEMC 站点日文件（宽表）。"""
    _import(ctx, "quotsoft", files, verbose)


@import_app.command("cnemc")
def import_cnemc(ctx: typer.Context,
                 files: list[Path] = typer.Argument(..., help="timepoint,stationcode,... 格式的 CSV"),
                 verbose: bool = VerboseOpt) -> None:
    """导入 CNEMC 实时接口导出的 CSV（每行一个站点小时）。"""
    _import(ctx, "cnemc", files, verbose)


@import_app.command("long")
def import_long(
    ctx: typer.Context,
    files: list[Path] = typer.Argument(..., help="station,time,so2,no2,co,o3,pm10,pm25 长表（CSV 或 XLSX）"),
    hour_beginning: bool = typer.Option(False, "--hour-beginning", help="时间为时段开始（默认：时段结束，CNEMC 口径）"),
    verbose: bool = VerboseOpt,
) -> None:
    """导入用户自有的小时数据长表（格式见 docs/formats.md）。"""
    _import(ctx, "long", files, verbose, hour_beginning=hour_beginning)


@import_app.command("stations")
def import_stations(ctx: typer.Context, file: Path = typer.Argument(..., help="站点表 CSV/XLSX")) -> None:
    """导入站点表（编码、名称、城市、区县、经纬度、对照点）。"""
    _import(ctx, "stations", [file])


# --- water ----------------------------------------------------------------------------------------------------


@import_app.command("water-auto")
def import_water_auto(
    ctx: typer.Context,
    files: list[Path] = typer.Argument(..., help="自动站发布数据：YYYY-MM-DD.json[.gz]、扁平快照表 CSV 或按断面的 CSV"),
    verbose: bool = VerboseOpt,
) -> None:
    """导入国家地表水自动监测站发布数据（原始 JSON 或 CSV），保留缺测标记、极值过滤说明与站点情况。"""
    _import(ctx, "water-auto", files, verbose)


@import_app.command("water-samples")
def import_water_samples(
    ctx: typer.Context,
    file: Path = typer.Argument(..., help="手工监测数据 XLSX（工作表“监测数据”“断面”）或 CSV"),
) -> None:
    """导入地表水手工监测数据（含 <检出限 写法）与断面信息（水体类型、流域、考核级别、目标类别、区县）。"""
    _import(ctx, "water-samples", [file])


# --- town boundaries ------------------------------------------------------------------------------------------


@import_app.command("boundaries")
def import_boundaries(
    ctx: typer.Context,
    file: Path = typer.Argument(..., help="乡镇（街道）边界 GeoJSON（FeatureCollection，Polygon/MultiPolygon，WGS-84 经纬度）"),
    name_property: Optional[str] = typer.Option(None, "--name-property",
                                                help="名称所在的属性（默认依次尝试 name、名称、乡镇、XZQMC 等）"),
) -> None:
    """导入本局 GIS 导出的乡镇（街道）边界，地图在区县边界之上绘制（存于工作区 boundaries/towns.geojson）。"""
    from ..ingest.boundaries import import_boundaries as store_boundaries

    with import_errors():
        r = store_boundaries(workspace_path(ctx), file, name_property)
    w, s, e, n = r.bbox
    state = "内容与已导入的相同，未改动" if r.unchanged else f"已保存到 {r.path}"
    console.print(f"乡镇边界 {escape(r.source)}：{r.features} 个（名称属性 {escape(r.name_property)}，"
                  f"范围 {w:.3f}–{e:.3f}°E、{s:.3f}–{n:.3f}°N），{escape(state)}", soft_wrap=True)


# --- dust, rain, noise ----------------------------------------------------------------------------------------


@import_app.command("dust")
def import_dust(ctx: typer.Context,
                files: list[Path] = typer.Argument(..., help="降尘：site, month, dustfall（吨/(平方千米·30天)）"
                                                             "或 site, month, flux, days；CSV（UTF-8/GBK）或 XLSX")) -> None:
    """导入降尘监测数据（按点位、月份入库；同一文件重复导入不改变数据，更正的数值会更新）。"""
    _import(ctx, "dust", files)


@import_app.command("rain")
def import_rain(ctx: typer.Context,
                files: list[Path] = typer.Argument(..., help="降水：site, date, ph, rainfall（降水量 mm）；"
                                                             "CSV（UTF-8/GBK）或 XLSX")) -> None:
    """导入降水酸度监测数据（按点位、日期入库，每个点位每天一个样品）。"""
    _import(ctx, "rain", files)


YEAR_HELP = "监测年度 YYYY（文件中没有年份，必须指定）"


def _noise(ctx: typer.Context, kind: str, files: list[Path], year: Optional[int]) -> None:
    _import(ctx, f"noise-{kind}", files, year=year)


@import_app.command("noise-regional")
def import_noise_regional(
    ctx: typer.Context,
    files: list[Path] = typer.Argument(..., help="区域声环境：point, leq_day, leq_night[, district]"),
    year: Optional[int] = typer.Option(None, "--year", help=YEAR_HELP),
) -> None:
    """导入区域声环境（网格）监测数据，按年份、点位入库。"""
    _noise(ctx, "regional", files, year)


@import_app.command("noise-road")
def import_noise_road(
    ctx: typer.Context,
    files: list[Path] = typer.Argument(..., help="道路交通声环境：segment, length_km, leq_day, leq_night[, district]"),
    year: Optional[int] = typer.Option(None, "--year", help=YEAR_HELP),
) -> None:
    """导入道路交通声环境监测数据，按年份、路段入库。"""
    _noise(ctx, "road", files, year)


@import_app.command("noise-zone")
def import_noise_zone(
    ctx: typer.Context,
    files: list[Path] = typer.Argument(..., help="功能区声环境：point, zone, leq_day, leq_night[, date]"),
    year: Optional[int] = typer.Option(None, "--year", help="监测年度 YYYY（有可识别的 date 列时可省略）"),
) -> None:
    """导入功能区声环境监测数据，按年份、点位、监测时段（日期）入库。"""
    _noise(ctx, "zone", files, year)


# --- quarantine -----------------------------------------------------------------------------------------------


def list_quarantine(
    ctx: typer.Context,
    limit: int = typer.Option(50, "--limit", help="最多显示行数"),
    import_id: Optional[int] = typer.Option(None, "--import", help="只列出该导入批次的隔离数据"),
) -> None:
    """列出被隔离的数据（文件、行号、字段、原文、原因）。"""
    from ..store.read import quarantine_count, quarantine_rows

    with open_workspace(ctx) as ws:
        total = quarantine_count(ws.con, import_id)
        rows = quarantine_rows(ws.con, import_id, limit)
    if not rows:
        console.print("没有被隔离的数据" + (f"（导入批次 {import_id}）" if import_id is not None else "") + "。")
        return
    t = Table(title="隔离数据")
    for c in ("批次", "文件", "行", "字段", "原文", "原因"):
        t.add_column(c)
    for r in rows:
        t.add_row(str(r[0]), escape(Path(r[1]).name), str(r[2]), escape(str(r[3])), escape(str(r[4])), escape(str(r[5])))
    console.print(t)
    note = shown_of(len(rows), total, "处", "用 --limit 显示更多")
    if note:
        console.print(note)
