"""Data review for people: parse a reviewer's input into a mark, confirm or dismiss a pre-check suggestion, and
the XLSX round trip (docs/review.md). The store side (log, fold, reviewed view) is :mod:`qingshan.store.review`;
the command line, the API and the console page all go through here, so they accept and refuse the same input.

Times are the store's hour labels: an hour is named by its **end** (``2025-03-20 09:00`` = 08:00–09:00, Beijing
time); a bare date in "from" means its first hour (01:00) and in "to" its last (24:00).

**Workbook.** :func:`export_workbook` writes the sheet ``审核`` (one row per open suggestion, then one per current
mark) with the columns of :data:`SHEET_COLUMNS`; the reviewer fills ``结论`` (有效 / 无效) and ``原因`` (one of the
fixed reasons; ``其他`` with a ``说明``) and may add rows of their own (station, pollutants, from, to). On import
(:func:`import_workbook`) a row with ``结论`` 无效 becomes an invalidate mark (confirming the suggestion of its
``编号``), 有效 a restore (and dismisses the suggestion); rows without a conclusion are skipped; a bad row is
reported by its line with a Chinese reason and nothing of it is applied. Marks that change nothing are not
logged, so importing the same workbook again changes nothing.
"""

from __future__ import annotations

import io
import re
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Any, BinaryIO

import duckdb
import pandas as pd

from ..errors import QingshanError
from ..spreadsheet import append_row_safe
from ..standards.pollutants import POLLUTANTS
from ..standards.review import INVALIDATE, OTHER, REASONS, RESTORE, parse_pollutants, reason_code
from ..store.review import MarkRequest, ReviewError, current_marks, dismiss, record_mark
from .periods import EPOCH
from .precheck import suggest

_EPOCH = datetime(EPOCH.year, EPOCH.month, EPOCH.day)
_TIME = re.compile(r"^\s*(\d{4})-(\d{1,2})-(\d{1,2})(?:[ T](\d{1,2})(?::(\d{2}))?(?::00)?)?\s*$")


def parse_hour(text: Any, end: bool = False) -> int:
    """The hour index ``hi`` of ``text`` (``YYYY-MM-DD HH:MM``, hour-ending label; ``24:00`` allowed; a bare date:
    its first hour, or its last when ``end``); a datetime or date from a spreadsheet cell works too."""
    if isinstance(text, datetime):
        t = text
    elif isinstance(text, date):
        t = datetime(text.year, text.month, text.day, 0 if end else 1) + (timedelta(days=1) if end else timedelta())
    else:
        m = _TIME.match(str(text or ""))
        if not m:
            raise ReviewError(f"时间 {text!r} 无效，应为 YYYY-MM-DD HH:00（小时结束时刻）或 YYYY-MM-DD")
        y, mo, d, h, mi = m.groups()
        try:
            day = datetime(int(y), int(mo), int(d))
        except ValueError:
            raise ReviewError(f"时间 {text!r} 无效：没有这一天") from None
        if h is None:
            t = day + (timedelta(days=1) if end else timedelta(hours=1))
        else:
            if int(h) > 24 or (mi not in (None, "00")) or (int(h) == 24 and mi not in (None, "00")):
                raise ReviewError(f"时间 {text!r} 无效：应为整点（小时结束时刻，01:00—24:00）")
            t = day + timedelta(hours=int(h))
    if t.minute or t.second:
        raise ReviewError(f"时间 {text} 无效：应为整点（小时结束时刻）")
    return int((t - _EPOCH) // timedelta(hours=1))


def hour_text(hi: int) -> str:
    """The label of hour ``hi`` (``YYYY-MM-DD HH:00``, hour-ending, Beijing time)."""
    return (_EPOCH + timedelta(hours=int(hi))).strftime("%Y-%m-%d %H:00")


def mark_request(action: str, station: str, start: Any, end: Any, reason: str, pollutants: Any = None,
                 note: str | None = None, suggestion: str | None = None) -> MarkRequest:
    """A :class:`~qingshan.store.review.MarkRequest` from a reviewer's text (one Chinese line on bad input)."""
    code = reason_code(reason) if reason else (OTHER if action == RESTORE else "")
    if not code:
        raise ReviewError(f"请选择原因：{'、'.join(REASONS.values())}")
    station = str(station or "").strip()
    if not station:
        raise ReviewError("站点不能为空")
    return MarkRequest(action, station, parse_pollutants(pollutants, code), parse_hour(start),
                       parse_hour(end, end=True), code, (note or "").strip() or None, suggestion)


def parse_suggestion_key(key: str) -> tuple[str, str, str, int, int]:
    """``check, station, pollutants, hi_from, hi_to`` of a suggestion key (:mod:`.precheck`)."""
    m = re.fullmatch(r"([a-z_]+):(.+):([a-z0-9,]+):(\d+)-(\d+)", (key or "").strip())
    if not m:
        raise ReviewError(f"预审建议编号 {key!r} 无效")
    return m.group(1), m.group(2), m.group(3), int(m.group(4)), int(m.group(5))


def confirm_suggestion(con: duckdb.DuckDBPyConnection, key: str, reason: str, by: str, via: str,
                       note: str | None = None) -> dict[str, Any] | None:
    """Confirm suggestion ``key``: its station-hours are marked invalid with ``reason`` (the mark names the key)."""
    _, station, pollutants, lo, hi = parse_suggestion_key(key)
    code = reason_code(reason)
    req = MarkRequest(INVALIDATE, station, parse_pollutants(pollutants, code), lo, hi, code,
                      (note or "").strip() or None, key.strip())
    return record_mark(con, req, by, via)


def dismiss_suggestion(con: duckdb.DuckDBPyConnection, key: str, by: str, via: str, note: str | None = None) -> bool:
    """Dismiss suggestion ``key`` (False when it already was)."""
    parse_suggestion_key(key)
    return dismiss(con, key.strip(), by, via, note)


# --- XLSX round trip ------------------------------------------------------------------------------------------

SHEET = "审核"
SHEET_COLUMNS = ["编号", "站点", "污染物", "起始时间", "结束时间", "预审/现状", "说明", "数值", "结论", "原因", "备注"]
VERDICTS = {"无效": INVALIDATE, "有效": RESTORE}


def _pollutant_text(codes: str) -> str:
    return ",".join(c for c in str(codes).split(","))


def export_workbook(con: duckdb.DuckDBPyConnection, first_hi: int, last_hi: int, stations: list[str] | None = None,
                    target: str | Path | BinaryIO | None = None) -> tuple[bytes | None, int, int]:
    """Write the review workbook for ``first_hi … last_hi`` (open suggestions, then current marks of the range) to
    ``target`` (or return its bytes); returns ``(bytes or None, suggestions, marks)``."""
    from openpyxl import Workbook
    from openpyxl.styles import Font

    sugg = suggest(con, first_hi, last_hi, stations)
    marks = current_marks(con)
    if len(marks):
        marks = marks[(marks["hi_to"] >= first_hi) & (marks["hi_from"] <= last_hi)]
        if stations is not None:
            marks = marks[marks["station"].isin(stations)]
    wb = Workbook()
    ws = wb.active
    ws.title = SHEET
    append_row_safe(ws, SHEET_COLUMNS)
    for cell in ws[1]:
        cell.font = Font(bold=True)
    for r in sugg.itertuples():
        append_row_safe(ws, [r.key, r.station, _pollutant_text(r.pollutants), hour_text(r.hi_from), hour_text(r.hi_to),
                             f"预审：{r.check_label}", r.detail, None if pd.isna(r.value) else float(r.value),
                             None, None, None])
    for r in marks.itertuples() if len(marks) else []:
        state = "沙尘天气影响（考核扣除）" if r.layer == "dust" else "已标记无效"
        append_row_safe(ws, [None, r.station, r.pollutant, hour_text(r.hi_from), hour_text(r.hi_to), f"现状：{state}",
                             f"审核记录 #{int(r.mark_id)}", None, None, None, None])
    help_ws = wb.create_sheet("说明")
    for line in ("“结论”填 无效 或 有效；填“无效”须选“原因”：" + "、".join(REASONS.values()) + "（“其他”须在“备注”中说明）。",
                 "时间为小时结束时刻（09:00 表示 08:00—09:00），北京时间；可整行新增：站点、污染物（逗号分隔，空=全部）、起止时间、结论、原因。",
                 "未填“结论”的行不处理；导入结果逐行报告，有问题的行不会写入任何数据；同一工作簿重复导入不会重复记录。",
                 "污染物代码：" + "、".join(f"{c} {p.short_zh}" for c, p in POLLUTANTS.items())):
        help_ws.append([line])
    if target is None:
        buf = io.BytesIO()
        wb.save(buf)
        return buf.getvalue(), len(sugg), len(marks)
    wb.save(target)
    return None, len(sugg), len(marks)


@dataclass
class ImportReport:
    applied: int = 0  # rows that changed the review state (a mark logged or a suggestion dismissed)
    unchanged: int = 0  # rows already in the requested state
    skipped: int = 0  # rows without a conclusion
    problems: list[tuple[int, str]] = field(default_factory=list)  # (line, reason)
    marks: list[int] = field(default_factory=list)  # ids of the logged marks

    def summary(self) -> str:
        return (f"已应用 {self.applied} 行，无变化 {self.unchanged} 行，未填结论 {self.skipped} 行，"
                f"有问题 {len(self.problems)} 行")


class WorkbookError(QingshanError, ValueError):
    """The file is not a review workbook (one Chinese line)."""


def import_workbook(con: duckdb.DuckDBPyConnection, source: str | Path | bytes | BinaryIO, by: str,
                    via: str = "xlsx") -> ImportReport:
    """Apply the filled-in review workbook (module docstring); bad rows are reported, never half-applied."""
    from openpyxl import load_workbook

    try:
        wb = load_workbook(io.BytesIO(source) if isinstance(source, bytes) else source, read_only=True,
                           data_only=True)
    except Exception as e:  # noqa: BLE001 — openpyxl raises many types for a file that is not a workbook
        raise WorkbookError(f"无法读取审核工作簿：{type(e).__name__}（请使用 qingshan review export 导出的 .xlsx）") from None
    if SHEET not in wb.sheetnames:
        raise WorkbookError(f"工作簿中没有工作表“{SHEET}”（请使用 qingshan review export 导出的 .xlsx）")
    rows = wb[SHEET].iter_rows(values_only=True)
    header = [str(c).strip() if c is not None else "" for c in next(rows, [])]
    missing = [c for c in ("编号", "站点", "污染物", "起始时间", "结束时间", "结论", "原因", "备注") if c not in header]
    if missing:
        raise WorkbookError(f"工作表“{SHEET}”缺少列：{'、'.join(missing)}")
    col = {name: header.index(name) for name in header if name}
    report = ImportReport()
    for line, values in enumerate(rows, start=2):
        cell = {k: (values[i] if i < len(values) else None) for k, i in col.items()}
        verdict = str(cell["结论"] or "").strip()
        if not verdict:
            report.skipped += 1
            continue
        try:
            _apply_row(con, cell, verdict, by, via, report)
        except QingshanError as e:
            report.problems.append((line, str(e)))
    wb.close()
    return report


def _apply_row(con: duckdb.DuckDBPyConnection, cell: dict[str, Any], verdict: str, by: str, via: str,
               report: ImportReport) -> None:
    if verdict not in VERDICTS:
        raise ReviewError(f"结论 {verdict!r} 无效，应为“无效”或“有效”")
    action = VERDICTS[verdict]
    key = str(cell["编号"] or "").strip() or None
    note = str(cell["备注"] or "").strip() or None
    reason = str(cell["原因"] or "").strip()
    if action == INVALIDATE and not reason:
        raise ReviewError("结论为“无效”时须填写原因")
    if key:  # a suggestion: its own station, pollutants and hours
        _, station, pollutants, lo, hi = parse_suggestion_key(key)
        code = reason_code(reason) if reason else OTHER
        req = MarkRequest(action, station, parse_pollutants(pollutants, code), lo, hi, code,
                          note or ("复核为有效" if action == RESTORE and code == OTHER else None),
                          key if action == INVALIDATE else None)
    else:
        if action == RESTORE and not reason:
            note = note or "复核为有效"
        req = mark_request(action, str(cell["站点"] or ""), cell["起始时间"], cell["结束时间"], reason,
                           cell["污染物"], note)
    mark = record_mark(con, req, by, via)
    dismissed_now = bool(key) and action == RESTORE and dismiss(con, key, by, via, note)
    if mark is not None:
        report.marks.append(int(mark["mark_id"]))
    if mark is not None or dismissed_now:
        report.applied += 1
    else:
        report.unchanged += 1
