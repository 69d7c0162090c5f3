"""``qingshan import dust|rain|noise-regional|noise-road|noise-zone``: the dustfall, acid-rain and noise files
into the workspace store (:mod:`qingshan.ingest.deposition`, :mod:`qingshan.ingest.noise`).

Registered on the ``import`` group by :func:`qingshan.cli_water.register`. Every file is one import; a file that
cannot be read at all stops the command with a Chinese message after the files before it were stored (their
report is printed first).
"""

from __future__ import annotations

from pathlib import Path
from typing import Callable, Optional

import typer

from .cli_errors import import_errors
from .cli_water import _report, _workspace


def _run(files: list[Path], title: str, store: Callable) -> None:
    reports = []
    try:
        with import_errors(), _workspace() as ws:
            for f in files:
                reports.append(store(ws, f))
    except typer.Exit:
        if reports:  # the files before the failing one are stored: say so
            _report(reports, f"导入结果（{title}）")
        raise
    _report(reports, f"导入结果（{title}）")


def import_dust(files: list[Path] = typer.Argument(..., help="降尘：site, month, dustfall（吨/(平方千米·30天)）"
                                                            "或 site, month, flux, days；CSV（UTF-8/GBK）或 XLSX")) -> None:
    """导入降尘监测数据（按点位、月份入库；同一文件重复导入不改变数据，更正的数值会更新）。"""
    from .ingest.deposition import import_dust as run

    _run(files, "dust", run)


def import_rain(files: list[Path] = typer.Argument(..., help="降水：site, date, ph, rainfall（降水量 mm）；"
                                                            "CSV（UTF-8/GBK）或 XLSX")) -> None:
    """导入降水酸度监测数据（按点位、日期入库，每个点位每天一个样品）。"""
    from .ingest.deposition import import_rain as run

    _run(files, "rain", run)


_YEAR_HELP = "监测年度 YYYY（文件中没有年份，必须指定）"


def import_noise_regional(
    files: list[Path] = typer.Argument(..., help="区域声环境：point, leq_day, leq_night[, district]"),
    year: Optional[int] = typer.Option(None, "--year", help=_YEAR_HELP),
) -> None:
    """导入区域声环境（网格）监测数据，按年份、点位入库。"""
    from .ingest.noise import import_noise

    _run(files, "noise-regional", lambda ws, f: import_noise(ws, "regional", f, year))


def import_noise_road(
    files: list[Path] = typer.Argument(..., help="道路交通声环境：segment, length_km, leq_day, leq_night[, district]"),
    year: Optional[int] = typer.Option(None, "--year", help=_YEAR_HELP),
) -> None:
    """导入道路交通声环境监测数据，按年份、路段入库。"""
    from .ingest.noise import import_noise

    _run(files, "noise-road", lambda ws, f: import_noise(ws, "road", f, year))


def import_noise_zone(
    files: list[Path] = typer.Argument(..., help="功能区声环境：point, zone, leq_day, leq_night[, date]"),
    year: Optional[int] = typer.Option(None, "--year", help="监测年度 YYYY（有可识别的 date 列时可省略）"),
) -> None:
    """导入功能区声环境监测数据，按年份、点位、监测时段（日期）入库。"""
    from .ingest.noise import import_noise

    _run(files, "noise-zone", lambda ws, f: import_noise(ws, "zone", f, year))


COMMANDS: dict[str, Callable] = {
    "dust": import_dust, "rain": import_rain, "noise-regional": import_noise_regional,
    "noise-road": import_noise_road, "noise-zone": import_noise_zone,
}
