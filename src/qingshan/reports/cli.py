"""``qingshan report …``: generated reports (a Typer sub-app, wired into the main CLI as ``report``).

Every command writes the same document model in each requested format (``--format docx,pdf`` by default):
``-o 月报`` or ``-o 月报.docx`` gives ``月报.docx`` and ``月报.pdf`` side by side (:mod:`.output`).
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import typer
from rich.console import Console

report_app = typer.Typer(help="生成报告（Word .docx / PDF）", no_args_is_help=True)
console = Console()
err = Console(stderr=True)

FORMAT_HELP = "输出格式，逗号分隔：docx、pdf、html（默认 docx,pdf）"


@report_app.callback()
def _report() -> None:
    """生成报告（Word .docx / PDF）：月度空气质量排名通报、督察整改落实情况公开。"""


def _workspace_path() -> Path:
    from .. import cli as main_cli
    from ..store.workspace import default_workspace

    return Path(main_cli._state.get("workspace") or default_workspace())


def _formats(text: str) -> tuple[str, ...]:
    from .output import parse_formats

    try:
        return parse_formats(text)
    except ValueError as e:
        err.print(f"[red]{e}[/]")
        raise typer.Exit(2) from None


def _write(doc, output: Path, formats: tuple[str, ...]) -> None:
    """Write the report, print the files and the generation log; rendering problems exit with code 2."""
    from ..charts.fonts import FontMissing
    from .convert import ConversionError
    from .output import write_report
    from .pdf_render import PdfRenderError

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
    city: str = typer.Option(..., "--city", help="城市名称（与站点表 city 一致）"),
    month: str = typer.Option(..., "--month", help="月份 YYYY-MM"),
    output: Path = typer.Option(..., "--output", "-o", help="输出文件（可带或不带扩展名，如 月报 或 月报.docx）"),
    fmt: str = typer.Option("docx,pdf", "--format", "-f", help=FORMAT_HELP),
) -> None:
    """月度空气质量排名通报：各区、各点位 PM2.5 浓度与优良天数比例（本月、累计、同比）。"""
    from ..store.workspace import Workspace
    from .monthly import ReportError, build_monthly

    formats = _formats(fmt)
    with Workspace(_workspace_path()) as ws:
        try:
            doc = build_monthly(ws.con, city, month)
        except ReportError as e:
            err.print(f"[red]无法生成报告：[/]{e}")
            raise typer.Exit(2)
    _write(doc, output, formats)


@report_app.command("rectification")
def rectification(
    inspection: str | None = typer.Option(
        None, "--inspection", "-i", help="督察批次（台账“督察来源”，可写其中一段；台账只有一个批次时可省略）"),
    as_of: str | None = typer.Option(None, "--as-of", help="截止日期 YYYY-MM-DD（默认今天）"),
    output: Path | None = typer.Option(None, "--output", "-o", help="输出文件（可带或不带扩展名）"),
    fmt: str = typer.Option("docx,pdf", "--format", "-f", help=FORMAT_HELP),
    units: bool = typer.Option(False, "--units", help="列出责任单位（公开材料通常不列）"),
    list_only: bool = typer.Option(False, "--list", help="只列出台账中已公开的督察批次"),
) -> None:
    """督察整改落实情况公开：整改任务总数、完成数、交办信访件办结情况及各项任务进展（仅含已公开内容）。"""
    from ..ledger.db import open_ledger
    from ..ledger.models import today_beijing
    from .rectification import RectificationReportError, build_rectification, inspections

    try:
        day = dt.date.fromisoformat(as_of) if as_of else today_beijing()
    except ValueError:
        err.print(f"[red]截止日期应为 YYYY-MM-DD：{as_of!r}[/]")
        raise typer.Exit(2) from None
    if output is None and not list_only:
        err.print("[red]请用 -o 指定输出文件[/]")
        raise typer.Exit(2)
    formats = _formats(fmt)
    try:
        ledger = open_ledger(_workspace_path())
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
    assert output is not None
    _write(doc, output, formats)
