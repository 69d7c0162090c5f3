"""``qingshan report …``: generated reports (a Typer sub-app, wired into the main CLI as ``report``)."""

from __future__ import annotations

from pathlib import Path

import typer
from rich.console import Console

report_app = typer.Typer(help="生成报告（Word .docx）", no_args_is_help=True)
console = Console()
err = Console(stderr=True)


@report_app.callback()
def _report() -> None:
    """生成报告（Word .docx）：月度空气质量排名通报。"""


def _workspace_path() -> Path:
    from .. import cli as main_cli
    from ..store.workspace import default_workspace

    return Path(main_cli._state.get("workspace") or default_workspace())


@report_app.command("monthly")
def monthly(
    city: str = typer.Option(..., "--city", help="城市名称（与站点表 city 一致）"),
    month: str = typer.Option(..., "--month", help="月份 YYYY-MM"),
    output: Path = typer.Option(..., "--output", "-o", help="输出的 .docx 文件"),
) -> None:
    """月度空气质量排名通报：各区、各点位 PM2.5 浓度与优良天数比例（本月、累计、同比）。"""
    from ..store.workspace import Workspace
    from .docx_render import render_docx
    from .monthly import ReportError, build_monthly

    if output.suffix.lower() != ".docx":
        err.print("[red]输出文件应以 .docx 结尾[/]")
        raise typer.Exit(2)
    with Workspace(_workspace_path()) as ws:
        try:
            doc = build_monthly(ws.con, city, month)
        except ReportError as e:
            err.print(f"[red]无法生成报告：[/]{e}")
            raise typer.Exit(2)
    render_docx(doc, output)
    for line in doc.log:
        err.print(f"[yellow]说明：[/]{line}")
    console.print(f"已生成：{output}")
