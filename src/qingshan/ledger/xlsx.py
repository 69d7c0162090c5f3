"""XLSX in and out in the bureau's column layout (docs/ledger.md#xlsx-layout).

Sheet ``整改任务`` — one row per rectification item, a title row, then the header row:

    序号 | 督察来源 | 问题 | 整改时限 | 责任单位 | 配合单位 | 整改措施 | 整改进展 | 完成情况 | 是否公开 | 公开说明 |
    牵头单位 | 分工完成情况 | 台账编号 | 版本

The first eleven columns are what the bureau's own sheets carry (their order may differ, and a sheet may lack
the optional ones); the others are added by our export (after the bureau's, so its column positions stay):
``台账编号`` and ``版本`` so that an edited sheet comes back to the same records, ``牵头单位`` the lead unit
(docs/ledger.md#分工完成情况; a sheet with a 牵头单位 column but no 责任单位 column uses it for the responsible units,
as bureau sheets do), ``分工完成情况`` ("市住建局：已报送 2024-05-01；市水利局：未报送"), which is **export-only**: import
never reads it (a unit reports its part through the ledger). Re-import **updates, never duplicates**:

* a row is matched by ``台账编号``, or else by (督察来源, 序号); unmatched rows create new items (supervisors only);
* each changed field goes through :meth:`.service.LedgerService.update_record` — the same permission checks as
  the API (a department may change only its own items; only the bureau may change 问题, 整改时限, units …);
* a changed ``牵头单位`` sets the lead (bureau staff only, audited; each lead must be one of the row's responsible
  units — a row error on the column otherwise); an unchanged or empty one leaves the lead alone;
* a changed ``整改进展`` appends a progress entry (history is never overwritten);
* ``完成情况`` is a state: a different value is *not* applied (status changes go through the workflow: 申请验收,
  验收, 销号) and is reported;
* **conflicts**: when the sheet's ``版本`` is older than the record's, a field that the sheet changes *and* that was
  changed in the ledger since that version (read from the audit log) is not applied and is reported with both
  values. Fields changed on one side only are merged.

Rows with errors are reported with row number and column and skipped; the good rows are kept (docs/design.md#errors-and-quarantine). The import runs in the caller's transaction (``dry_run`` rolls it back).

Also: a ``重点任务`` sheet (export only, with 牵头单位 and 分工完成情况 too) and the **public disclosure table**
(``export(..., public=True)``): only disclosed items, only public columns (序号, 问题, 整改时限, 责任单位, 整改进展 = the disclosure text, 完成情况).
"""

from __future__ import annotations

import calendar
import datetime as dt
import io
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, BinaryIO

from openpyxl import Workbook, load_workbook
from openpyxl.styles import Alignment, Font, PatternFill
from openpyxl.utils import get_column_letter
from sqlalchemy import select

from ..spreadsheet import append_row_safe
from .models import DEADLINE_KIND_LABELS, AuditEntry, KeyTask, Record, RectificationItem
from .rbac import LedgerError, PermissionDenied, can_see_content
from .service import LedgerService, ValidationFailed, WorkflowError, has_parts, latest_value, lead_names
from .workflow import KEY_TASK, RECTIFICATION

SHEET = "整改任务"
KEY_TASK_SHEET = "重点任务"
COLUMNS = ["序号", "督察来源", "问题", "整改时限", "责任单位", "配合单位", "整改措施", "整改进展", "完成情况", "是否公开",
           "公开说明", "牵头单位", "分工完成情况", "台账编号", "版本"]
KEY_TASK_COLUMNS = ["序号", "类别", "任务", "责任单位", "牵头单位", "配合单位", "量化指标", "完成情况", "分工完成情况", "台账编号"]
#: said in the caption of every sheet that carries the parts column
PARTS_EXPORT_ONLY = "“分工完成情况”列仅供查看，导入时不读取"
PUBLIC_COLUMNS = ["序号", "问题", "整改时限", "责任单位", "整改进展", "完成情况"]

# header synonyms seen in bureau sheets -> our column
SYNONYMS = {
    "序号": "序号", "编号": "序号",
    "督察来源": "督察来源", "来源": "督察来源", "督察批次": "督察来源",
    "问题": "问题", "存在问题": "问题", "问题描述": "问题", "反馈问题": "问题", "整改任务": "问题",
    "整改时限": "整改时限", "完成时限": "整改时限", "整改期限": "整改时限",
    "责任单位": "责任单位", "责任部门": "责任单位",
    "牵头单位": "牵头单位", "牵头部门": "牵头单位",
    "配合单位": "配合单位", "配合部门": "配合单位",
    "整改措施": "整改措施", "措施": "整改措施",
    "整改进展": "整改进展", "进展情况": "整改进展", "工作进展": "整改进展",
    "完成情况": "完成情况", "整改状态": "完成情况", "状态": "完成情况",
    "是否公开": "是否公开", "公开": "是否公开",
    "公开说明": "公开说明", "公开内容": "公开说明",
    "台账编号": "台账编号",
    "版本": "版本",
}
REQUIRED = ("序号", "问题")

STATUS_FROM_TEXT = {
    "已完成整改": "completed", "已完成": "completed", "完成": "completed", "已整改": "completed",
    "已销号": "signed_off", "销号": "signed_off",
    "待验收": "submitted", "申请验收": "submitted",
    "按序时推进": "in_progress", "按序时要求推进": "in_progress", "正在序时推进": "in_progress",
    "序时推进": "in_progress", "推进中": "in_progress", "正在推进": "in_progress", "未完成": "in_progress",
}
UNIT_SPLIT = re.compile(r"[、,，;；/\n]+")
YES = {"是", "公开", "y", "yes", "true", "1", "√"}


class XlsxError(LedgerError):
    pass


@dataclass
class RowIssue:
    row: int
    column: str
    message: str


@dataclass
class Conflict:
    row: int
    code: str
    column: str
    sheet_value: Any
    ledger_value: Any


@dataclass
class ImportReport:
    sheet: str = SHEET
    rows: int = 0
    created: int = 0
    updated: int = 0
    unchanged: int = 0
    progress_added: int = 0
    errors: list[RowIssue] = field(default_factory=list)
    rejected: list[RowIssue] = field(default_factory=list)
    conflicts: list[Conflict] = field(default_factory=list)

    def as_dict(self) -> dict[str, Any]:
        return {
            "sheet": self.sheet, "rows": self.rows, "created": self.created, "updated": self.updated,
            "unchanged": self.unchanged, "progress_added": self.progress_added,
            "errors": [vars(e) for e in self.errors], "rejected": [vars(e) for e in self.rejected],
            "conflicts": [{**vars(c), "sheet_value": str(c.sheet_value), "ledger_value": str(c.ledger_value)}
                          for c in self.conflicts],
        }


# --- deadlines and cells ------------------------------------------------------------------------------------


def parse_deadline(value: Any) -> tuple[str, dt.date | None]:
    """'2025年12月底前' → ('date', 2025-12-31); '立行立改、长期坚持' → ('immediate_long_term', None); ISO dates and
    Excel dates too. Raises ValueError for anything else."""
    if isinstance(value, dt.datetime):
        return "date", value.date()
    if isinstance(value, dt.date):
        return "date", value
    text = re.sub(r"\s+", "", str(value or ""))
    if not text:
        raise ValueError("整改时限为空")
    imm, lt = "立行立改" in text, "长期坚持" in text
    if imm and lt:
        return "immediate_long_term", None
    if imm:
        return "immediate", None
    if lt:
        return "long_term", None
    m = re.fullmatch(r"(\d{4})年(\d{1,2})月(?:底|末)?(?:前|以前|之前)?", text)
    if m:
        y, mo = int(m.group(1)), int(m.group(2))
        return "date", dt.date(y, mo, calendar.monthrange(y, mo)[1])
    m = re.fullmatch(r"(\d{4})年(\d{1,2})月(\d{1,2})日(?:前|以前|之前)?", text)
    if m:
        return "date", dt.date(int(m.group(1)), int(m.group(2)), int(m.group(3)))
    m = re.fullmatch(r"(\d{4})年(?:底|末)(?:前|以前|之前)?", text)
    if m:
        return "date", dt.date(int(m.group(1)), 12, 31)
    m = re.fullmatch(r"(\d{4})[-/.](\d{1,2})[-/.](\d{1,2})(?:前)?", text)
    if m:
        return "date", dt.date(int(m.group(1)), int(m.group(2)), int(m.group(3)))
    raise ValueError(f"无法识别的整改时限 {value!r}（例：2025年12月底前、2024-06-30、立行立改、长期坚持）")


def format_deadline(kind: str | None, deadline: dt.date | None) -> str:
    if kind in (None, "date"):
        if deadline is None:
            return ""
        last = calendar.monthrange(deadline.year, deadline.month)[1]
        if deadline.day == last:
            return f"{deadline.year}年{deadline.month}月底前"
        return f"{deadline.year}年{deadline.month}月{deadline.day}日前"
    return DEADLINE_KIND_LABELS[kind]


def _text(v: Any) -> str:
    if v is None:
        return ""
    if isinstance(v, float) and v.is_integer():
        return str(int(v))
    return str(v).strip()


def _units(v: Any) -> list[str]:
    return [u.strip() for u in UNIT_SPLIT.split(_text(v)) if u.strip()]


# --- export -------------------------------------------------------------------------------------------------

_HEADER_FILL = PatternFill("solid", fgColor="DDEBF7")
_WIDTHS = {"序号": 6, "督察来源": 18, "问题": 48, "整改时限": 14, "责任单位": 20, "牵头单位": 14, "配合单位": 18,
           "整改措施": 48, "整改进展": 48, "完成情况": 12, "分工完成情况": 36, "是否公开": 8, "公开说明": 36, "台账编号": 12,
           "版本": 6}


def _sheet(wb: Workbook, title: str, caption: str, columns: list[str], rows: list[list[Any]]) -> None:
    ws = wb.create_sheet(title)
    append_row_safe(ws, [caption])
    ws.cell(1, 1).font = Font(bold=True, size=14)
    ws.merge_cells(start_row=1, start_column=1, end_row=1, end_column=len(columns))
    append_row_safe(ws, columns)
    for i, name in enumerate(columns, start=1):
        c = ws.cell(2, i)
        c.font, c.fill = Font(bold=True), _HEADER_FILL
        c.alignment = Alignment(horizontal="center", vertical="center", wrap_text=True)
        ws.column_dimensions[get_column_letter(i)].width = _WIDTHS.get(name, 16)
    for r in rows:
        append_row_safe(ws, r)  # users' texts (measures, progress …) never become formulas
    for row in ws.iter_rows(min_row=3):
        for c in row:
            c.alignment = Alignment(vertical="top", wrap_text=True)
    ws.freeze_panes = "A3"


def _latest_progress(item: RectificationItem) -> str:
    return item.progress[-1].text if item.progress else ""


def parts_text(svc: LedgerService, rec: Record) -> str:
    """分工完成情况 of a record with several units, lead first: "市住建局：已报送 2024-05-01；市水利局：未报送" (the notes
    stay in the ledger); empty for a record with one unit."""
    if not has_parts(rec):
        return ""
    return "；".join(f"{ru.unit.name}：{'已报送 ' + ru.part_done_on.isoformat() if ru.part_done_on else '未报送'}"
                    for ru in svc.parts(rec))


def export_workbook(svc: LedgerService, *, public: bool = False) -> Workbook:
    """The ledger as a workbook: the full sheets for signed-in users, the disclosure table with ``public``."""
    page = svc.list_records(kind="rectification", limit=None)
    items: list[RectificationItem] = sorted(page.items, key=lambda r: (r.source_inspection, r.seq))  # type: ignore[arg-type]
    wb = Workbook()
    wb.remove(wb.active)
    if public:
        rows = [[it.seq, it.problem, format_deadline(it.deadline_kind, it.deadline),
                 "、".join(svc.unit_names(it, "responsible")), it.disclosure_text or "",
                 RECTIFICATION.label(it.status)] for it in items if it.disclosed]
        _sheet(wb, SHEET, f"督察整改落实情况公开表（截至{svc.today.year}年{svc.today.month}月{svc.today.day}日）",
               PUBLIC_COLUMNS, rows)
        return wb
    rows = [[it.seq, it.source_inspection, it.problem, format_deadline(it.deadline_kind, it.deadline),
             "、".join(svc.unit_names(it, "responsible")), "、".join(svc.unit_names(it, "cooperating")),
             it.measures or "", _latest_progress(it) if can_see_content(svc.p, it) else "",
             RECTIFICATION.label(it.status), "是" if it.disclosed else "否", it.disclosure_text or "",
             "、".join(lead_names(it)), parts_text(svc, it), it.code, it.version] for it in items]
    _sheet(wb, SHEET, f"督察整改任务台账（导出于{svc.today.isoformat()}；{PARTS_EXPORT_ONLY}）", COLUMNS, rows)
    tasks = sorted(svc.list_records(kind="key_task", limit=None).items, key=lambda r: (r.year, r.seq))  # type: ignore[attr-defined]
    if tasks:
        task_rows = []
        for t in tasks:
            assert isinstance(t, KeyTask)
            inds = "；".join(
                f"{i.name}：目标{'≥' if i.direction == 'min' else '≤'}{_num(i.target_value)}{i.unit}"
                f"，完成{_num(v) if (v := latest_value(i)) is not None else '—'}{i.unit if v is not None else ''}"
                for i in t.indicators)
            task_rows.append([t.seq, t.section or "", t.title, "、".join(svc.unit_names(t, "responsible")),
                              "、".join(lead_names(t)), "、".join(svc.unit_names(t, "cooperating")), inds,
                              KEY_TASK.label(t.status), parts_text(svc, t), t.code])
        _sheet(wb, KEY_TASK_SHEET, f"年度重点任务（仅导出；{PARTS_EXPORT_ONLY}）", KEY_TASK_COLUMNS, task_rows)
    return wb


def _num(d: Any) -> str:
    s = format(d.normalize(), "f") if hasattr(d, "normalize") else str(d)
    return s


def export_xlsx(svc: LedgerService, path: str | Path | BinaryIO, *, public: bool = False) -> int:
    """Write the workbook; return the number of rectification rows written."""
    wb = export_workbook(svc, public=public)
    if isinstance(path, (str, Path)):
        Path(path).parent.mkdir(parents=True, exist_ok=True)
    wb.save(path)
    return wb[SHEET].max_row - 2


# --- import -------------------------------------------------------------------------------------------------


def _find_header(ws) -> tuple[int, dict[str, int]]:
    for r in range(1, min(ws.max_row, 10) + 1):
        mapping: dict[str, int] = {}
        for c in range(1, ws.max_column + 1):
            name = re.sub(r"\s+", "", _text(ws.cell(r, c).value))
            if name in SYNONYMS and SYNONYMS[name] not in mapping:
                mapping[SYNONYMS[name]] = c
        if all(k in mapping for k in REQUIRED):
            if "牵头单位" in mapping and "责任单位" not in mapping:  # a bureau sheet naming its responsible units so
                mapping["责任单位"] = mapping.pop("牵头单位")
            return r, mapping
    raise XlsxError("找不到表头行（前 10 行内需有“序号”和“问题”列）")


def _changed_since(svc: LedgerService, record_id: int, version: int) -> set[str]:
    """Fields of a record changed in the ledger after ``version`` (from the audit log); 'progress' for entries."""
    out: set[str] = set()
    rows = svc.s.execute(select(AuditEntry.action, AuditEntry.after).where(
        AuditEntry.record_id == record_id, AuditEntry.record_version > version)).all()
    for action, after in rows:
        if action == "progress.add":
            out.add("progress")
        elif isinstance(after, dict):
            out.update(after)
    return out


FIELD_OF_COLUMN = {"督察来源": "source_inspection", "问题": "problem", "责任单位": "responsible", "牵头单位": "lead",
                   "配合单位": "cooperating", "整改措施": "measures", "是否公开": "disclosed", "公开说明": "disclosure_text"}


def import_xlsx(svc: LedgerService, source: str | Path | BinaryIO | bytes, *, default_source: str = "",
                start_date: dt.date | None = None) -> ImportReport:
    """Import the rectification sheet (see the module docstring). Runs in ``svc``'s session; the caller commits."""
    if isinstance(source, bytes):
        source = io.BytesIO(source)
    try:
        wb = load_workbook(source, data_only=True)
    except Exception as e:  # openpyxl raises many types for a bad file
        raise XlsxError(f"无法读取 XLSX 文件：{e}") from None
    ws = wb[SHEET] if SHEET in wb.sheetnames else None
    if ws is None:
        for cand in wb.worksheets:
            try:
                _find_header(cand)
            except XlsxError:
                continue
            ws = cand
            break
    if ws is None:
        raise XlsxError("工作簿中没有整改任务表（需有“序号”和“问题”列）")
    header_row, cols = _find_header(ws)
    report = ImportReport(sheet=ws.title)
    for r in range(header_row + 1, ws.max_row + 1):
        raw = {name: ws.cell(r, c).value for name, c in cols.items()}
        if all(_text(v) == "" for v in raw.values()):
            continue
        report.rows += 1
        try:
            _import_row(svc, r, raw, report, default_source, start_date)
        except (ValidationFailed, WorkflowError, ValueError) as e:
            report.errors.append(RowIssue(r, "", str(e)))
        except PermissionDenied as e:
            report.rejected.append(RowIssue(r, "", str(e)))
    return report


class _Skip(Exception):
    """A row left out: its issue goes to the report's ``errors`` (``rejected`` when it is about permission)."""

    def __init__(self, issue: RowIssue, *, rejected: bool = False):
        super().__init__(issue.message)
        self.issue, self.rejected = issue, rejected


@dataclass
class SheetRow:
    """One row of the rectification sheet, checked and typed (``values``: the record fields the sheet sets)."""

    row: int
    seq: int
    source: str
    deadline_kind: str | None
    deadline: dt.date | None
    status: str | None
    status_text: str
    values: dict[str, Any]
    progress_text: str
    code: str
    version_text: str


def _import_row(svc: LedgerService, r: int, raw: dict[str, Any], report: ImportReport, default_source: str,
                start_date: dt.date | None) -> None:
    """Create or update the record of one sheet row; the row's issues go to ``report``."""
    try:
        row = _parse_row(r, raw, default_source)
        rec = _existing(svc, row)
        if rec is None:
            _create(svc, row, report, start_date)
        else:
            _update(svc, rec, row, report)
    except _Skip as skip:
        (report.rejected if skip.rejected else report.errors).append(skip.issue)


def _parse_row(r: int, raw: dict[str, Any], default_source: str) -> SheetRow:
    """The row's cells checked in column order; the first bad one skips the row."""
    seq_text = _text(raw.get("序号"))
    try:
        seq = int(float(seq_text))
    except ValueError:
        raise _Skip(RowIssue(r, "序号", f"序号应为整数：{seq_text!r}")) from None
    problem = _text(raw.get("问题"))
    if not problem:
        raise _Skip(RowIssue(r, "问题", "问题为空"))
    source = _text(raw.get("督察来源")) or default_source
    if not source:
        raise _Skip(RowIssue(r, "督察来源", "缺少督察来源（表中无此列时用 --source 指定）"))
    deadline_kind = deadline = None
    if "整改时限" in raw:
        try:
            deadline_kind, deadline = parse_deadline(raw["整改时限"])
        except ValueError as e:
            raise _Skip(RowIssue(r, "整改时限", str(e))) from None
    status_text = re.sub(r"\s+", "", _text(raw.get("完成情况")))
    status = STATUS_FROM_TEXT.get(status_text) if status_text else None
    if status_text and status is None:
        raise _Skip(RowIssue(r, "完成情况", f"无法识别的完成情况 {status_text!r}"))
    return SheetRow(r, seq, source, deadline_kind, deadline, status, status_text, _field_values(raw, problem, source),
                    _text(raw.get("整改进展")) if "整改进展" in raw else "", _text(raw.get("台账编号")),
                    _text(raw.get("版本")))


def _field_values(raw: dict[str, Any], problem: str, source: str) -> dict[str, Any]:
    """The record fields the row's columns give (a column absent from the sheet leaves its field alone)."""
    values: dict[str, Any] = {"problem": problem, "source_inspection": source}
    for col in ("整改措施", "公开说明"):
        if col in raw:
            values[FIELD_OF_COLUMN[col]] = _text(raw[col]) or None
    for col in ("责任单位", "配合单位"):
        if col in raw:
            values[FIELD_OF_COLUMN[col]] = _units(raw[col])
    if lead := _units(raw.get("牵头单位")):  # an empty cell names no lead: the ledger's stays as it is
        values["lead"] = lead
    if "是否公开" in raw:
        values["disclosed"] = _text(raw["是否公开"]).lower() in YES
    return values


def _existing(svc: LedgerService, row: SheetRow) -> RectificationItem | None:
    """The record a row updates: by its ledger code, else by inspection source and sequence number."""
    rec = svc.find("rectification", row.code) if row.code else None
    if row.code and rec is None:
        raise _Skip(RowIssue(row.row, "台账编号", f"台账中没有编号 {row.code}（或无权查看）"))
    if rec is None:
        rec = svc.s.execute(select(RectificationItem).where(
            RectificationItem.source_inspection == row.source, RectificationItem.seq == row.seq)).scalar_one_or_none()
        if rec is not None and not svc.find("rectification", rec.code):
            raise _Skip(RowIssue(row.row, "序号", "无权查看该整改任务"), rejected=True)
    assert rec is None or isinstance(rec, RectificationItem)
    return rec


def _check_lead(row: SheetRow, lead: list[str], responsible: list[str]) -> None:
    """Each lead the row names must be one of its responsible units (by name or code, as the cells give them)."""
    outside = [u for u in lead if u not in responsible]
    if outside:
        raise _Skip(RowIssue(row.row, "牵头单位", f"牵头单位须是责任单位之一：{'、'.join(outside)} 不在本行的责任单位"
                                               f"（{'、'.join(responsible) or '无'}）中"))


def _create(svc: LedgerService, row: SheetRow, report: ImportReport, start_date: dt.date | None) -> None:
    values = row.values
    if "lead" in values:
        _check_lead(row, values["lead"], values.get("responsible", []))
    item = svc.create_rectification(
        seq=row.seq, source_inspection=row.source, problem=values["problem"],
        deadline_kind=row.deadline_kind or "long_term", deadline=row.deadline, start_date=start_date,
        responsible=values.get("responsible", []), cooperating=values.get("cooperating", []),
        lead=values.get("lead"), measures=values.get("measures"), status=row.status, disclosed=values.get("disclosed", False),
        disclosure_text=values.get("disclosure_text"), note=f"XLSX 导入第 {row.row} 行",
    )
    if row.progress_text:
        svc.add_progress(item.id, row.progress_text)
        report.progress_added += 1
    report.created += 1


def _update(svc: LedgerService, rec: RectificationItem, row: SheetRow, report: ImportReport) -> None:
    """Apply the row's changes except those the ledger changed since the sheet's version (reported as conflicts);
    a status differs only through the workflow, so it is reported, never set."""
    from .audit import jsonable

    values = dict(row.values)
    if row.deadline_kind is not None:
        values["deadline_kind"] = row.deadline_kind
        values["deadline"] = row.deadline
    values["seq"] = row.seq
    current = svc._snapshot(rec, values)
    if "lead" in values and set(values["lead"]) == set(current["lead"]):
        del values["lead"]  # the same leads (in any order): unchanged
    changed = {f: v for f, v in values.items() if jsonable(v) != current[f]}
    if "lead" in changed:
        _check_lead(row, changed["lead"], values.get("responsible", current.get("responsible") or
                                                      svc.unit_names(rec, "responsible")))
    since = _changed_since_sheet(svc, rec, row)
    col_of = {v: k for k, v in FIELD_OF_COLUMN.items()} | {"deadline_kind": "整改时限", "deadline": "整改时限", "seq": "序号"}
    for f in sorted(set(changed) & since):
        report.conflicts.append(Conflict(row.row, rec.code, col_of.get(f, f), jsonable(changed[f]), current[f]))
        del changed[f]
    did_update = False
    if changed:
        svc.update_record(rec.id, changed, note=f"XLSX 导入第 {row.row} 行")
        did_update = True
    if row.progress_text and row.progress_text != _latest_progress(rec):
        if "progress" in since:
            report.conflicts.append(Conflict(row.row, rec.code, "整改进展", row.progress_text, _latest_progress(rec)))
        else:
            svc.add_progress(rec.id, row.progress_text)
            report.progress_added += 1
            did_update = True
    if row.status is not None and row.status != rec.status:
        report.rejected.append(RowIssue(
            row.row, "完成情况", f"表中为“{row.status_text}”，台账为“{RECTIFICATION.label(rec.status)}”：状态须通过申请验收、验收、销号流转变更，未改动"))
    if did_update:
        report.updated += 1
    else:
        report.unchanged += 1


def _changed_since_sheet(svc: LedgerService, rec: RectificationItem, row: SheetRow) -> set[str]:
    """What the ledger changed after the version the sheet was exported at (nothing without a version column)."""
    if not row.version_text:
        return set()
    try:
        v = int(float(row.version_text))
    except ValueError:
        raise _Skip(RowIssue(row.row, "版本", f"版本应为整数：{row.version_text!r}")) from None
    if v > rec.version:
        raise _Skip(RowIssue(row.row, "版本", f"表中版本 {v} 高于台账版本 {rec.version}"))
    return _changed_since(svc, rec.id, v) if v < rec.version else set()
