"""Editing records: fields (with permissions and optimistic locking), progress entries, attachments."""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from typing import Any

from .. import audit
from ..limits import TEXT_LABELS, TEXT_MAX, ValidationFailed, to_decimal, to_int, to_text
from ..models import DEADLINE_KINDS, Attachment, ProgressEntry, Record, now_beijing
from ..rbac import NotFound, can_edit, can_supervise, require
from .base import (
    COMMON_SUPERVISOR_FIELDS,
    DATE_FIELDS,
    DECIMAL_FIELDS,
    INT_FIELDS,
    REQUIRED_TEXT_FIELDS,
    RESPONSIBLE_FIELDS,
    SUPERVISOR_FIELDS,
    ServiceBase,
    VersionConflict,
    WorkflowError,
    to_date,
    to_flag,
    unit_refs,
)
from .parts import host_marks_problem, hosted


class RecordsMixin(ServiceBase):
    """Changing a record's fields, appending progress and attachments."""

    def editable_fields(self, rec: Record) -> frozenset[str]:
        if can_supervise(self.p):
            return COMMON_SUPERVISOR_FIELDS | SUPERVISOR_FIELDS[rec.kind] | RESPONSIBLE_FIELDS[rec.kind]
        if can_edit(self.p, rec):
            return RESPONSIBLE_FIELDS[rec.kind]
        return frozenset()

    def _coerce(self, rec: Record, field: str, value: Any) -> Any:
        if field in DATE_FIELDS:
            return to_date(value, field)
        if field in DECIMAL_FIELDS:
            return to_decimal(value, field)
        if field in INT_FIELDS:
            return to_int(value, field)
        if field == "district_id":
            n = to_int(value, field, allow_none=True)
            if n is None:
                return None
            try:
                return self.district(n).id
            except ValidationFailed as e:
                raise ValidationFailed(f"辖市区编号 {n}：{e}") from None
        if field == "disclosed":
            if rec.kind == "petition" and value:
                raise ValidationFailed("信访件含个人信息，不能公开")
            return to_flag(value, "是否公开")
        if field in ("responsible", "cooperating", "lead"):
            return [self.unit(v).name for v in unit_refs(value)]
        if field == "deadline_kind":
            if value not in DEADLINE_KINDS:
                raise ValidationFailed(f"整改时限类型应为 {'/'.join(DEADLINE_KINDS)}")
            return value
        label = TEXT_LABELS.get(field, field)
        column = rec.__mapper__.columns.get(field)
        length = getattr(column.type, "length", None) if column is not None else None
        return to_text(value, label, max_len=length or TEXT_MAX, required=field in REQUIRED_TEXT_FIELDS)

    def update_record(self, record_id: int, changes: dict[str, Any], *, expected_version: int | None = None,
                      note: str | None = None) -> Record:
        """Change fields of a record. Raises :class:`PermissionDenied` for fields the principal may not change,
        :class:`VersionConflict` if ``expected_version`` is stale; unchanged values are ignored."""
        rec = self._record(record_id)
        require(can_edit(self.p, rec), f"无权修改“{rec.title}”：只有责任单位及局机关可以修改")
        if "status" in changes:
            raise WorkflowError("状态只能通过流转操作变更（如申请验收、验收、销号）")
        unknown = set(changes) - COMMON_SUPERVISOR_FIELDS - SUPERVISOR_FIELDS[rec.kind] - RESPONSIBLE_FIELDS[rec.kind]
        if unknown:
            raise ValidationFailed(f"不能修改的字段：{'、'.join(sorted(unknown))}")
        allowed = self.editable_fields(rec)
        denied = set(changes) - allowed
        require(not denied, f"无权修改字段：{'、'.join(sorted(denied))}（仅局机关可改）")
        if expected_version is not None and expected_version != rec.version:
            raise VersionConflict(f"记录已被他人修改（当前版本 {rec.version}，提交版本 {expected_version}），请刷新后重试")
        new = {f: self._coerce(rec, f, v) for f, v in changes.items()}
        current = self._snapshot(rec, new)
        changed = {f: v for f, v in new.items() if audit.jsonable(v) != current[f]}
        if not changed:
            return rec
        before = {f: current[f] for f in changed}
        for f, v in changed.items():
            if f in ("responsible", "cooperating"):
                self._set_units(rec, f, v)
            elif f != "lead":
                setattr(rec, f, v)
        if "lead" in changed or "responsible" in changed:
            self._set_leads(rec, changed.get("lead"))
            if hosted(rec) and (problem := host_marks_problem(rec)):  # 主办/协办 (docs/ledger.md#主办协办)
                raise ValidationFailed(f"“{rec.title}”：{problem}（请同时给出 lead=[主办单位]）")
        self._check_deadline(rec.deadline_kind, rec.deadline)
        if rec.deadline_kind not in (None, "date"):
            rec.deadline = None
        if rec.kind == "petition" and rec.disclosed:
            raise ValidationFailed("信访件含个人信息，不能公开")
        self._touch(rec)
        self.s.flush()
        if "district_id" in changed:
            self.s.expire(rec, ["district"])  # the relationship follows the new id on next access
        after = self._snapshot(rec, changed)
        if rec.kind == "petition":
            for k in ("complainant", "contact"):
                if k in before:
                    before[k], after[k] = "***", "***"
        self._audit("record.update", rec.kind, rec.id, before=before, after=after, note=note, record=rec)
        return rec


    def _store_files(self, rec: Record, files: Sequence[tuple[str, bytes]], purpose: str,
                     progress: ProgressEntry | None = None) -> list[Attachment]:
        if files and self.files is None:
            raise ValidationFailed("未配置附件存储")
        out = []
        for name, data in files:
            stored = self.files.put(name, data)  # type: ignore[union-attr]
            att = Attachment(record=rec, progress_entry=progress, purpose=purpose, filename=stored.filename,
                             content_type=stored.content_type, size=stored.size, sha256=stored.sha256,
                             storage_key=stored.storage_key, uploaded_by_id=self.p.user_id, uploaded_at=now_beijing())
            self.s.add(att)
            out.append(att)
        return out

    def add_progress(self, record_id: int, text: str, *, entry_date: dt.date | str | None = None,
                     files: Sequence[tuple[str, bytes]] = ()) -> ProgressEntry:
        """Append a progress entry (with attachments) to a record the principal may edit."""
        rec = self._editable(record_id)
        text = to_text(text, "进展内容", required=True)  # type: ignore[assignment]
        d = to_date(entry_date, "进展日期") or self.today
        if d > self.today:
            raise ValidationFailed("进展日期晚于今天")
        entry = ProgressEntry(record=rec, entry_date=d, author_id=self.p.user_id, author_name=self.p.name,
                              text=text, created_at=now_beijing())
        self.s.add(entry)
        self.s.flush()
        atts = self._store_files(rec, files, "progress", entry)
        self._bump(rec)
        self._audit("progress.add", "progress_entry", entry.id, record=rec,
                    after={"entry_date": d, "text": text,
                           "attachments": [{"filename": a.filename, "sha256": a.sha256, "size": a.size} for a in atts]})
        return entry

    def attach(self, record_id: int, files: Sequence[tuple[str, bytes]], purpose: str = "evidence") -> list[Attachment]:
        """Attach evidence files (acceptance/sign-off material) to a record the principal may edit."""
        if purpose not in ("evidence", "acceptance", "signoff", "progress"):
            raise ValidationFailed("附件用途应为 evidence/acceptance/signoff/progress")
        rec = self._editable(record_id)
        if not files:
            raise ValidationFailed("没有上传文件")
        atts = self._store_files(rec, files, purpose)
        self._bump(rec)
        self._audit("attachment.add", "record", rec.id, record=rec,
                    after={"purpose": purpose,
                           "attachments": [{"id": a.id, "filename": a.filename, "sha256": a.sha256} for a in atts]})
        return atts

    def attachment(self, record_id: int, attachment_id: int) -> Attachment:
        rec = self._content(record_id, "附件")
        att = self._get(Attachment, attachment_id)
        if att is None or att.record_id != rec.id:
            raise NotFound("附件不存在")
        return att
