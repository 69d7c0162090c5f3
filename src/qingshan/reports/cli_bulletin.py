"""``qingshan report bulletin``: the annual environment status bulletin (:func:`.bulletin.build_bulletin`).

Registers the command on :data:`qingshan.reports.cli.report_app` when imported (``from . import cli_bulletin``
in ``qingshan/cli.py``). Noise, acid-rain and dustfall come from the workspace store (``qingshan import
dust|rain|noise-*``) or, per section, from an input file given as an option (the formats of ``qingshan
noise|rain|dust evaluate``, docs/water.md), which then takes precedence. The workspace's ledger, when there is one,
supplies the governance chapter.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Annotated

import typer

from .cli import _formats, _workspace_path, _write, err, report_app


def _file(flag: str, what: str) -> typer.models.OptionInfo:
    return typer.Option(flag, help=what, exists=True, dir_okay=False, readable=True)


InputFile = Path | None


def _has_ledger(workspace: Path) -> bool:
    from ..ledger.db import LEDGER_FILE, URL_ENV

    return bool(os.environ.get(URL_ENV, "").strip()) or (workspace / LEDGER_FILE).exists()


@report_app.command("bulletin")
def bulletin(
    city: Annotated[str, typer.Option("--city", help="城市名称（与站点表 city 一致）")],
    year: Annotated[int, typer.Option("--year", help="公报年份 YYYY")],
    output: Annotated[Path, typer.Option("--output", "-o", help="输出文件（按 --format 写出同名的 .docx/.pdf）")],
    formats: Annotated[str, typer.Option("--format", "-f", help="输出格式，逗号分隔：docx、pdf、html")] = "docx,pdf",
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
    from ..store.workspace import Workspace
    from .bulletin import BulletinInputs, ReportError, build_bulletin

    fmts = _formats(formats)
    if not 1900 <= year <= 2200:
        err.print(f"[red]年份无效：[/]{year}")
        raise typer.Exit(2)
    inputs = BulletinInputs(noise_regional, noise_road, noise_zone, rain, dust, dust_target)
    workspace = _workspace_path()
    try:
        with Workspace(workspace) as ws:
            if ledger and _has_ledger(workspace):
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
    _write(doc, output, fmts)
