"""The import kinds of ``qingshan import`` as one table, and the one function that runs an import.

The command line (when no platform runs) and the platform's job queue (uploads from the console, and commands
handed over by ``qingshan import`` while ``serve`` runs) both call :func:`run_import`, so a file is imported the
same way whichever path it takes, and both print or show the same report.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from ..errors import QingshanError


@dataclass(frozen=True)
class ImportKind:
    name: str  # as on the command line: qingshan import <name>
    label: str  # shown in the console's selector
    single: bool = False  # one file per import command
    options: tuple[str, ...] = ()  # accepted options (hour_beginning, year)


KINDS: dict[str, ImportKind] = {k.name: k for k in (
    ImportKind("quotsoft", "空气 · quotsoft 站点日文件"),
    ImportKind("cnemc", "空气 · CNEMC 实时接口 CSV"),
    ImportKind("long", "空气 · 小时数据长表（CSV/XLSX）", options=("hour_beginning",)),
    ImportKind("stations", "空气 · 站点表", single=True),
    ImportKind("water-auto", "地表水 · 自动站发布数据"),
    ImportKind("water-samples", "地表水 · 手工监测数据", single=True),
    ImportKind("dust", "降尘"),
    ImportKind("rain", "降水酸度"),
    ImportKind("noise-regional", "声环境 · 区域", options=("year",)),
    ImportKind("noise-road", "声环境 · 道路交通", options=("year",)),
    ImportKind("noise-zone", "声环境 · 功能区", options=("year",)),
)}


class BadImportRequest(QingshanError, ValueError):
    """An import asked for with an unknown kind, an option the kind does not take, or the wrong number of files."""


def title_of(kind: str) -> str:
    """The title of the import report table (as the command line has always printed it)."""
    return f"导入结果（{kind}）"


def check_request(kind: str, n_files: int, options: dict[str, Any]) -> dict[str, Any]:
    """The options of a valid request, typed; :class:`BadImportRequest` otherwise."""
    spec = KINDS.get(kind)
    if spec is None:
        raise BadImportRequest(f"未知的导入类型 {kind!r}；可用：{'、'.join(KINDS)}")
    if n_files < 1:
        raise BadImportRequest("没有要导入的文件")
    if spec.single and n_files != 1:
        raise BadImportRequest(f"{kind} 每次只导入一个文件，实际为 {n_files} 个")
    extra = sorted(k for k, v in options.items() if v is not None and k not in spec.options)
    if extra:
        raise BadImportRequest(f"导入类型 {kind} 不接受选项 {'、'.join(extra)}")
    out: dict[str, Any] = {}
    if "hour_beginning" in spec.options:
        out["hour_beginning"] = bool(options.get("hour_beginning") or False)
    if "year" in spec.options and options.get("year") not in (None, ""):
        try:
            out["year"] = int(options["year"])
        except (TypeError, ValueError):
            raise BadImportRequest(f"年份应为整数 YYYY，而不是 {options['year']!r}") from None
    return out


def run_import(ws: Any, kind: str, paths: Sequence[Path], options: dict[str, Any],
               progress: Callable[[str], None] | None = None, reports: list[Any] | None = None) -> list[Any]:
    """Import ``paths`` of ``kind`` into the workspace ``ws`` (each file one import); returns the reports.

    ``reports`` (when given) collects the reports as files are stored, so a caller still has those of the files
    before a file that fails (the exception propagates)."""
    opts = check_request(kind, len(paths), options)
    out: list[Any] = [] if reports is None else reports
    step = progress or (lambda _: None)
    if kind in ("quotsoft", "cnemc", "long", "stations"):
        from ..ingest import import_files

        out.extend(import_files(ws, kind, list(paths), progress=step, **opts))
        return out
    if kind == "water-auto":
        from ..ingest.water_auto import import_water_auto

        for p in paths:  # one by one, so that the reports before a bad file are kept
            out.extend(import_water_auto(ws, [p]))
            step(str(p))
        return out
    store = _per_file(kind, opts)
    for p in paths:
        out.append(store(ws, p))
        step(str(p))
    return out


def _per_file(kind: str, opts: dict[str, Any]) -> Callable[[Any, Path], Any]:
    if kind == "water-samples":
        from ..ingest.water_samples import import_water_samples

        return import_water_samples
    if kind in ("dust", "rain"):
        from ..ingest import deposition

        return deposition.import_dust if kind == "dust" else deposition.import_rain
    from ..ingest.noise import import_noise

    noise_kind = kind.removeprefix("noise-")
    return lambda ws, p: import_noise(ws, noise_kind, p, opts.get("year"))


def report_dict(report: Any) -> dict[str, Any]:
    """An import report as JSON."""
    return asdict(report)


def report_of(d: dict[str, Any]) -> Any:
    """The :class:`~qingshan.ingest.common.ImportReport` of :func:`report_dict`."""
    from ..ingest.common import ImportReport

    return ImportReport(**d)
