"""Annual environment status bulletin (生态环境状况公报), modelled on Changzhou's 2023 bulletin (seed 004).

:func:`build_bulletin` produces the chapters the platform has data for, each from its engine:

* **环境空气质量** — :mod:`.bulletin_air` (air engine, the year and the previous year), with the **酸雨** and
  **降尘** sub-sections from their input files (:class:`BulletinInputs`) or, when a file is not given, from the
  store's ``rain_samples`` / ``dustfall`` tables;
* **地表水环境质量** — :mod:`.bulletin_water` (water engine on the store's samples);
* **声环境质量** — regional, road-traffic and functional-zone noise from input files or the store's ``noise_*``
  tables of the year;
* **生态环境治理** — enforcement cases, rectification progress and petitions from the ledger, when a ledger
  session is given;

then an overview (综述) assembled from the chapters' key figures, and a provenance appendix (rule sets, coverage,
import batches, generation time). A chapter or section without data is left out and a line says so in
``Document.log`` — never placeholder text. Year-on-year changes are computed from the reported (rounded) values
(see :mod:`.bulletin_common`).
"""

from __future__ import annotations

from datetime import date, datetime

import duckdb

from ..evaluate.periods import day_date, day_index
from ..store.read import last_hour_of_city
from ..store.workspace import Workspace
from .bulletin_air import air_chapter
from .bulletin_common import (
    BulletinInputs,
    Chapter,
    Figures,
    Log,
    numbered,
)
from .bulletin_other import (
    dust_section,
    governance_chapter,
    noise_chapter,
    rain_section,
    stored_dust,
    stored_rain,
)
from .bulletin_water import water_chapter
from .errors import ReportError
from .model import Document, Paragraph, Provenance, Section

__all__ = ["BulletinInputs", "ReportError", "build_bulletin"]

CHANGE_NOTE = ("同比变化由两年的公布值（按GB/T 8170修约后）计算：浓度等为相对变化（%，保留一位小数），比例为"
               "百分点差，pH与声级为差值；降尘同比同样按公布的年均值计算。")


def _deposition(con: duckdb.DuckDBPyConnection, year: int, inputs: BulletinInputs, note: Log) -> Chapter:
    """Acid-rain and dustfall sections from their input files, else from the store (evaluated first: a bad file
    fails fast)."""
    ch = Chapter("降水酸度与降尘")
    rain = inputs.rain if inputs.rain is not None else stored_rain(con, year)
    if rain is not None:
        if (sec := rain_section(rain, year, note, ch)) is not None:
            ch.sections.append(sec)
    else:
        note("未生成“酸雨”一节：工作区无酸雨数据，且未提供降水监测文件（--rain）。")
    dust = inputs.dust if inputs.dust is not None else stored_dust(con, year)
    if dust is not None:
        if (sec := dust_section(dust, year, inputs.dust_target, note, ch)) is not None:
            ch.sections.append(sec)
    else:
        note("未生成“降尘”一节：工作区无降尘数据，且未提供降尘监测文件（--dust）。")
    return ch


def _merge(air: Chapter | None, deposition: Chapter) -> Chapter | None:
    """The air chapter with the acid-rain and dustfall sections (a chapter of their own when air has no data)."""
    if air is None:
        return deposition if deposition.sections else None
    air.sections += deposition.sections
    air.summary += deposition.summary
    air.rulesets += deposition.rulesets
    air.coverage += deposition.coverage
    air.notes += deposition.notes
    return air


def _overview(chapters: list[Chapter], city: str, year: int) -> Section:
    clauses = [s for ch in chapters for s in ch.summary]
    return Section("综述", [Paragraph(f"{year}年，{city}" + "；".join(clauses) + "。")])


def _provenance(chapters: list[Chapter], now: datetime) -> Provenance:
    rules = list(dict.fromkeys(r for ch in chapters for r in ch.rulesets))
    coverage = [c for ch in chapters for c in ch.coverage]
    ids = sorted({i for ch in chapters for i in ch.import_ids})
    notes = list(dict.fromkeys([CHANGE_NOTE, *(n for ch in chapters for n in ch.notes)]))
    return Provenance(rules, coverage, ids, now, notes)


def _require_complete_year(con: duckdb.DuckDBPyConnection, city: str, year: int) -> None:
    """An annual bulletin describes a finished year: refuse when the city's air data stop inside ``year``.

    Comparing ten months with a whole previous year would mislead; the monthly bulletin covers a year to date.
    Data that reach 24:00 of 31 December, or any later hour, mean the year is over (gaps are then gaps, handled by
    the validity rules).
    """
    row = last_hour_of_city(con, city)
    first, year_end = day_index(date(year, 1, 1)) * 24 + 1, day_index(date(year + 1, 1, 1)) * 24  # 1 Jan 01:00 … 31 Dec 24:00
    if row is not None and first <= row < year_end:
        last = day_date((int(row) - 1) // 24)
        raise ReportError(f"{year}年的监测数据截至{last.isoformat()}，年度尚未结束，不能生成年度公报；"
                          f"年内进展请用月度通报（qingshan report monthly）或目标进度（qingshan targets status）。")


def build_bulletin(ws_or_con: Workspace | duckdb.DuckDBPyConnection, city: str, year: int, *, ledger_session=None,
                   inputs: BulletinInputs | None = None, now: datetime | None = None) -> Document:
    """The annual bulletin of ``city`` for ``year`` (see the module docstring).

    ``ws_or_con``: the workspace or its DuckDB connection; ``ledger_session``: a SQLAlchemy session of the
    workspace's ledger (read with the system principal); ``inputs``: noise, rain and dustfall input files (a
    section without its file uses the store's data, when there are any).
    Raises :class:`ReportError` when no chapter has data or an input file cannot be read.
    """
    con = ws_or_con.con if isinstance(ws_or_con, Workspace) else ws_or_con
    _require_complete_year(con, city, year)
    inputs = inputs or BulletinInputs()
    note = Log()
    figs = Figures(note)
    deposition = _deposition(con, year, inputs, note)
    noise = noise_chapter(inputs, year, note, con)
    chapters = [ch for ch in (_merge(air_chapter(con, city, year, note, figs), deposition),
                              water_chapter(con, city, year, note, figs), noise) if ch is not None]
    if ledger_session is not None:
        if (ch := governance_chapter(ledger_session, year, note)) is not None:
            chapters.append(ch)
    else:
        note("未生成“生态环境治理”一章：未连接治理台账。")
    if not chapters:
        raise ReportError(f"{city}{year}年没有可用于生态环境状况公报的数据：" + "；".join(note.lines))
    doc = Document(title=f"{year}年{city}生态环境状况公报", subtitle=f"{city}生态环境局")
    doc.sections.append(_overview(chapters, city, year))
    for i, ch in enumerate(chapters):
        doc.sections.append(Section(f"{numbered(i)}、{ch.title}", list(ch.intro)))
        for j, sec in enumerate(ch.sections):
            doc.sections.append(Section(f"（{numbered(j)}）{sec.heading}", sec.blocks, level=2))
    doc.sections.append(Section("附录　数据来源与生成说明",
                                [_provenance(chapters, now or datetime.now().replace(microsecond=0))]))
    doc.log = list(note.lines)
    return doc
