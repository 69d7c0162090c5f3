"""``qingshan report …``: generated reports (monthly ranking, rectification disclosure, annual bulletin).

Every command writes the same document model in each requested format (``--format docx,pdf`` by default):
``-o 月报`` or ``-o 月报.docx`` gives ``月报.docx`` and ``月报.pdf`` side by side (:mod:`qingshan.reports.output`).
Without ``-o`` the files go to the workspace's ``output/`` folder, named after the report.

``report bulletin``: noise, acid-rain and dustfall come from the workspace store (``qingshan import
dust|rain|noise-*``) or, per section, from an input file given as an option (the formats of ``qingshan
noise|rain|dust evaluate``, docs/water.md), which then takes precedence. The workspace's ledger, when there is one,
supplies the governance chapter.
"""

from __future__ import annotations

import datetime as dt
from contextlib import ExitStack
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from .context import cli_context, output_path, workspace_path
from .output import console, err

if TYPE_CHECKING:
    from ..settings import Settings

report_app = typer.Typer(help="生成报告（Word .docx / PDF）", no_args_is_help=True)

FORMAT_HELP = "输出格式，逗号分隔：docx、pdf、html（默认 docx,pdf）"


@report_app.callback()
def _report() -> None:
    """生成报告（Word .docx / PDF）：月度空气质量排名通报、督察整改落实情况公开。"""


def _formats(text: str) -> tuple[str, ...]:
    from ..reports.output import parse_formats

    try:
        return parse_formats(text)
    except ValueError as e:
        err.print(f"[red]{e}[/]")
        raise typer.Exit(2) from None


def _write(doc, output: Path, formats: tuple[str, ...]) -> None:
    """Write the report, print the files and the generation log; rendering problems exit with code 2."""
    from ..charts.fonts import FontMissing
    from ..reports.convert import ConversionError
    from ..reports.output import write_report
    from ..reports.pdf_render import PdfRenderError

    try:
        paths = write_report(doc, output, formats)
    except (FontMissing, PdfRenderError, ConversionError) as e:
        err.print(f"[red]无法写出报告：[/]{e}")
        raise typer.Exit(2) from None
    for line in doc.log:
        err.print(f"[yellow]说明：[/]{line}")
    for p in paths:
        console.print(f"已生成：{p}")


@report_app.command("monthly")
def monthly(
    ctx: typer.Context,
    city: str = typer.Option(..., "--city", help="城市名称（与站点表 city 一致）"),
    month: str = typer.Option(..., "--month", help="月份 YYYY-MM"),
    output: Path | None = typer.Option(None, "--output", "-o", help="输出文件（可带或不带扩展名，如 月报 或 月报.docx；"
                                                                 "缺省写入工作区 output/ 文件夹）"),
    fmt: str = typer.Option("docx,pdf", "--format", "-f", help=FORMAT_HELP),
) -> None:
    """月度空气质量排名通报：各区、各点位 PM2.5 浓度与优良天数比例（本月、累计、同比）。"""
    from ..reports.monthly import ReportError, build_monthly
    from .context import open_workspace

    formats = _formats(fmt)
    run = cli_context(ctx)
    with open_workspace(ctx) as ws, ExitStack() as stack:
        session = None
        if _has_ledger(run.workspace, run.settings):  # the section 指挥调度 (docs/ledger.md#指挥调度)
            from ..ledger.db import open_ledger

            led = open_ledger(run.workspace)
            stack.callback(led.dispose)
            session = stack.enter_context(led.session())
        try:
            doc = build_monthly(ws.con, city, month, ledger_session=session)
        except ReportError as e:
            err.print(f"[red]无法生成报告：[/]{e}")
            raise typer.Exit(2)
    _write(doc, output_path(ctx, output, f"{city}{month}月报"), formats)


@report_app.command("rectification")
def rectification(
    ctx: typer.Context,
    inspection: str | None = typer.Option(
        None, "--inspection", "-i", help="督察批次（台账“督察来源”，可写其中一段；台账只有一个批次时可省略）"),
    as_of: str | None = typer.Option(None, "--as-of", help="截止日期 YYYY-MM-DD（默认今天）"),
    output: Path | None = typer.Option(None, "--output", "-o", help="输出文件（可带或不带扩展名；缺省写入工作区 output/ 文件夹）"),
    fmt: str = typer.Option("docx,pdf", "--format", "-f", help=FORMAT_HELP),
    units: bool = typer.Option(False, "--units", help="列出责任单位（公开材料通常不列）"),
    list_only: bool = typer.Option(False, "--list", help="只列出台账中已公开的督察批次"),
) -> None:
    """督察整改落实情况公开：整改任务总数、完成数、交办信访件办结情况及各项任务进展（仅含已公开内容）。"""
    from ..ledger.db import open_ledger
    from ..ledger.models import today_beijing
    from ..reports.rectification import RectificationReportError, build_rectification, inspections

    try:
        day = dt.date.fromisoformat(as_of) if as_of else today_beijing()
    except ValueError:
        err.print(f"[red]截止日期应为 YYYY-MM-DD：{as_of!r}[/]")
        raise typer.Exit(2) from None
    formats = _formats(fmt)
    try:
        ledger = open_ledger(workspace_path(ctx))
    except Exception as e:  # noqa: BLE001 - a bad URL or an unreachable server: report it, do not trace
        err.print(f"[red]无法打开台账：[/]{e}")
        raise typer.Exit(2) from None
    try:
        with ledger.session() as s:
            if list_only:
                for name in inspections(s):
                    console.print(name)
                return
            try:
                doc = build_rectification(s, inspection, day, include_units=units)
            except RectificationReportError as e:
                err.print(f"[red]无法生成报告：[/]{e}")
                raise typer.Exit(2) from None
    finally:
        ledger.dispose()
    _write(doc, output_path(ctx, output, f"督察整改落实情况{day:%Y%m%d}"), formats)


def _file(flag: str, what: str) -> typer.models.OptionInfo:
    return typer.Option(flag, help=what, exists=True, dir_okay=False, readable=True)


InputFile = Path | None


def _has_ledger(workspace: Path, settings: Settings) -> bool:
    from ..ledger.db import LEDGER_FILE

    return bool(settings.ledger_url) or (workspace / LEDGER_FILE).exists()


@report_app.command("bulletin")
def bulletin(
    ctx: typer.Context,
    city: Annotated[str, typer.Option("--city", help="城市名称（与站点表 city 一致）")],
    year: Annotated[int, typer.Option("--year", help="公报年份 YYYY")],
    output: Annotated[Path | None, typer.Option("--output", "-o", help="输出文件（按 --format 写出同名的 .docx/.pdf；"
                                                                      "缺省写入工作区 output/ 文件夹）")] = None,
    formats: Annotated[str, typer.Option("--format", "-f", help=FORMAT_HELP)] = "docx,pdf",
    noise_regional: Annotated[InputFile, _file("--noise-regional", "区域声环境：point, leq_day, leq_night[, district]")] = None,
    noise_road: Annotated[InputFile, _file("--noise-road", "道路交通声环境：segment, length_km, leq_day, leq_night[, district]")] = None,
    noise_zone: Annotated[InputFile, _file("--noise-zone", "功能区声环境：point, zone, leq_day, leq_night[, date]")] = None,
    rain: Annotated[InputFile, _file("--rain", "降水：site, date, ph, rainfall（可含上年，用于同比）")] = None,
    dust: Annotated[InputFile, _file("--dust", "降尘：site, month, dustfall 或 site, month, flux, days（可含上年）")] = None,
    dust_target: Annotated[float, typer.Option("--dust-target", help="降尘考核目标，吨/(平方千米·30天)")] = 2.3,
    ledger: Annotated[bool, typer.Option("--ledger/--no-ledger", help="工作区有治理台账时统计执法、整改与信访")] = True,
) -> None:
    """年度生态环境状况公报：空气（含酸雨、降尘）、地表水、声环境与治理台账；无数据的章节不生成并说明原因。
    噪声、降水、降尘未给文件时使用工作区已导入的数据。"""
    from ..reports.bulletin import BulletinInputs, ReportError, build_bulletin
    from ..store.workspace import Workspace

    fmts = _formats(formats)
    if not 1900 <= year <= 2200:
        err.print(f"[red]年份无效：[/]{year}")
        raise typer.Exit(2)
    inputs = BulletinInputs(noise_regional, noise_road, noise_zone, rain, dust, dust_target)
    run = cli_context(ctx)
    workspace = run.workspace
    try:
        with Workspace(workspace) as ws:
            if ledger and _has_ledger(workspace, run.settings):
                from ..ledger.db import open_ledger

                led = open_ledger(workspace)
                try:
                    with led.session() as session:
                        doc = build_bulletin(ws, city, year, ledger_session=session, inputs=inputs)
                finally:
                    led.dispose()
            else:
                doc = build_bulletin(ws, city, year, inputs=inputs)
    except ReportError as e:
        err.print(f"[red]无法生成公报：[/]{e}")
        raise typer.Exit(2) from None
    _write(doc, output_path(ctx, output, f"{year}年{city}生态环境状况公报"), fmts)
