"""The service's foundation: errors, editable-field tables, input coercion and the helpers every part uses
(session, principal, audit, unit and record lookups, record initialisation)."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import func, or_, select, update
from sqlalchemy.orm import Session

from .. import audit
from ..files import FileStore
from ..limits import TEXT_MAX, ValidationFailed, check_date, install_length_check, to_decimal, to_int, to_text, valid_id
from ..models import (
    BEIJING,
    DEADLINE_KINDS,
    SATISFACTION,
    AuditEntry,
    OrgUnit,
    Record,
    RecordUnit,
    now_beijing,
    today_beijing,
)
from ..rbac import LedgerError, NotFound, Principal, can_edit, can_see_content, can_supervise, can_view, require
from ..workcal import DEFAULT_CALENDAR, WorkCalendar
from ..workflow import MACHINES


class AlreadyExists(LedgerError):
    """A user name, display name, unit code or name is taken (the API answers 409)."""


class WorkflowError(LedgerError):
    """The transition is not allowed from the current state, or its evidence is missing."""


class VersionConflict(LedgerError):
    """The record changed since the caller read it (optimistic locking)."""


# Fields a responsible editor may change, per kind; supervisors may change these plus SUPERVISOR_FIELDS.
COMMON_SUPERVISOR_FIELDS = frozenset(
    {"code", "title", "district_id", "start_date", "deadline_kind", "deadline", "disclosed", "disclosure_text",
     "responsible", "cooperating", "lead"}
)
RESPONSIBLE_FIELDS: dict[str, frozenset[str]] = {
    "rectification": frozenset({"measures"}),
    "key_task": frozenset(),
    "project": frozenset({"completed_investment", "percent_complete"}),
    "campaign": frozenset(),
    "petition": frozenset(),
    "case": frozenset({"legal_basis", "order_served_on", "stop_measure_on"}),
    "event": frozenset(),
}
SUPERVISOR_FIELDS: dict[str, frozenset[str]] = {
    "rectification": frozenset({"seq", "source_inspection", "problem"}),
    "key_task": frozenset({"seq", "plan", "year", "section", "description"}),
    "project": frozenset({"category", "planned_investment", "description"}),
    "campaign": frozenset({"description"}),
    "petition": frozenset({"category", "content", "complainant", "contact"}),
    "case": frozenset({"case_no", "party", "violation"}),
    "event": frozenset({"description", "station", "location"}),
}
DATE_FIELDS = frozenset({"start_date", "deadline", "order_served_on", "stop_measure_on"})
# texts that may not be emptied (NOT NULL columns)
REQUIRED_TEXT_FIELDS = frozenset({"code", "title", "source_inspection", "problem", "plan", "content", "party",
                                  "violation", "description"})
DECIMAL_FIELDS = frozenset({"planned_investment", "completed_investment", "percent_complete"})
INT_FIELDS = frozenset({"seq", "year"})


def to_date(value: Any, field: str = "日期") -> dt.date | None:
    """A date from a date, datetime or ``YYYY-MM-DD`` text, within 1950–2100 (limits.check_date)."""
    if value is None or value == "":
        return None
    if isinstance(value, dt.datetime):
        return check_date(value.date(), field)
    if isinstance(value, dt.date):
        return check_date(value, field)
    if not isinstance(value, str):
        raise ValidationFailed(f"{field}：应为日期 YYYY-MM-DD，收到 {value!r}"[:120])
    try:
        d = dt.date.fromisoformat(value.strip()[:10])
    except ValueError:
        raise ValidationFailed(f"{field}：无法识别的日期 {value[:40]!r}（应为 YYYY-MM-DD）") from None
    return check_date(d, field)


def clean_code(code: Any) -> str | None:
    return to_text(code, "编号", max_len=64)


def to_flag(value: Any, label: str) -> bool:
    if value is None:
        return False
    if not isinstance(value, bool):
        raise ValidationFailed(f"{label}：应为 true 或 false，收到 {value!r}"[:120])
    return value


#: text evidence of transitions and their maximum lengths (decision_no is a String(64) column)
PAYLOAD_TEXTS = {"completion_note": TEXT_MAX, "reason": TEXT_MAX, "acceptance_evidence": TEXT_MAX,
                 "signoff_evidence": TEXT_MAX, "disclosure_text": TEXT_MAX, "note": TEXT_MAX,
                 "reply_text": TEXT_MAX, "decision_no": 64, "findings": TEXT_MAX, "party": 200,
                 "violation": TEXT_MAX, "legal_basis": TEXT_MAX, "case_no": 64}


def clean_payload(payload: Any) -> dict[str, Any]:
    """A transition's payload with every known field typed and in range (texts stripped, empty ones None)."""
    if payload is None:
        return {}
    if not isinstance(payload, dict):
        raise ValidationFailed("流转材料（payload）应为对象")
    out = dict(payload)
    for key, value in payload.items():
        if key in PAYLOAD_TEXTS:
            out[key] = to_text(value, EVIDENCE_LABELS.get(key, key), max_len=PAYLOAD_TEXTS[key])
        elif key == "days":
            out[key] = to_int(value, "days", allow_none=True)
        elif key == "penalty_amount":
            out[key] = to_decimal(value, "penalty_amount")
        elif key == "satisfaction":
            if value is not None and value not in SATISFACTION:
                raise ValidationFailed(f"满意度应为 {'/'.join(SATISFACTION)}")
        elif key == "unit_ids":
            out[key] = unit_refs(value)
        elif key == "host_unit_id":
            if isinstance(value, (list, tuple)) or isinstance(value, bool):
                raise ValidationFailed("主办单位（host_unit_id）只能是一个单位")
            out[key] = None if value in (None, "") else value
        elif key == "on":
            out[key] = to_date(value, "办理日期")
    return out


def unit_refs(value: Any) -> list[Any]:
    """Unit references: one id/code/name or a list of them."""
    if value is None:
        return []
    if isinstance(value, (str, int, OrgUnit)) and not isinstance(value, bool):
        return [value]
    if not isinstance(value, (list, tuple)):
        raise ValidationFailed(f"单位应为编号、编码、名称或其列表，收到 {value!r}"[:120])
    return list(value)


def object_rows(rows: Any, label: str) -> list[dict[str, Any]]:
    """A list of objects (indicators, milestones, enterprises) from user input."""
    if rows is None:
        return []
    if not isinstance(rows, (list, tuple)) or not all(isinstance(r, dict) for r in rows):
        raise ValidationFailed(f"{label}应为对象列表")
    return list(rows)


def lead_names(rec: Record) -> list[str]:
    """The lead units (牵头单位) of a record, in the order of its responsible units."""
    return [ru.unit.name for ru in sorted(rec.units, key=lambda x: x.position) if ru.role == "responsible" and ru.lead]


@dataclass
class Page:
    total: int
    items: list[Record]


class ServiceBase:
    """Session, principal and the helpers shared by every part of :class:`LedgerService`."""

    def __init__(self, session: Session, principal: Principal, *, today: dt.date | None = None,
                 files: FileStore | None = None, calendar: WorkCalendar = DEFAULT_CALENDAR,
                 now: dt.datetime | None = None):
        self.s = session
        self.p = principal
        self.today = today or (now.astimezone(BEIJING).date() if now is not None else today_beijing())
        self._now = now
        self.files = files
        self.cal = calendar
        audit.install_guard(session)
        install_length_check(session)  # texts longer than their column: a 422 naming the field, not a DB error

    @property
    def now(self) -> dt.datetime:
        """The current instant for hour-level clocks (dispatch deadlines): the pinned ``now``, else the real time —
        on the pinned ``today`` when only the date is pinned (a demo or test ledger lives on its own date)."""
        if self._now is not None:
            return self._now
        real = now_beijing()
        if real.date() == self.today:
            return real
        return dt.datetime.combine(self.today, real.time(), tzinfo=BEIJING)

    # --- helpers -------------------------------------------------------------------------------------------------

    def _audit(self, action: str, entity_type: str, entity_id: int | None, *, before: Any = None, after: Any = None,
               note: str | None = None, record: Record | None = None) -> AuditEntry:
        if record is not None:
            self.s.flush()
        return audit.record(self.s, self.p, action, entity_type, entity_id, before=before, after=after, note=note,
                            record_id=record.id if record is not None else None,
                            record_version=record.version if record is not None else None)

    def unit(self, ref: int | str | OrgUnit) -> OrgUnit:
        """A unit by id, code or exact name."""
        if isinstance(ref, OrgUnit):
            return ref
        if isinstance(ref, bool) or not isinstance(ref, (int, str)):
            raise ValidationFailed(f"单位应为编号、编码或名称，收到 {ref!r}"[:120])
        u: OrgUnit | None = None
        if isinstance(ref, int) or (ref.isascii() and ref.strip().isdigit()):
            n = int(ref)
            u = self.s.get(OrgUnit, n) if valid_id(n) else None
        elif ref.strip():
            name = ref.strip()
            u = self.s.execute(select(OrgUnit).where(or_(OrgUnit.name == name, OrgUnit.code == name))).scalar()
        if u is None:
            raise ValidationFailed(f"未知单位：{str(ref)[:60]}（单位不存在）")
        return u

    def district(self, ref: int | str | OrgUnit) -> OrgUnit:
        """A unit of kind ``district`` (辖市区) by id, code or name."""
        d = self.unit(ref)
        if d.kind != "district":
            raise ValidationFailed(f"{d.name} 不是辖市区（只能选择辖市区类单位）")
        return d

    def _get(self, model: type[Any], row_id: Any) -> Any:
        """A row by id; None for an id that cannot exist (not a positive 32-bit int)."""
        return self.s.get(model, row_id) if valid_id(row_id) else None

    def units(self) -> list[OrgUnit]:
        return list(self.s.execute(select(OrgUnit).order_by(OrgUnit.id)).scalars())

    def _record(self, record_id: int) -> Record:
        rec = self.s.get(Record, record_id) if valid_id(record_id) else None
        if rec is None or not can_view(self.p, rec):
            raise NotFound(f"台账记录 {record_id} 不存在或无权查看")
        return rec

    def _editable(self, record_id: int) -> Record:
        rec = self._record(record_id)
        require(can_edit(self.p, rec), f"无权修改“{rec.title}”：只有责任单位及局机关可以修改")
        return rec

    def _touch(self, rec: Record) -> None:
        """Mark a field change: the flush bumps ``version`` only if nobody else changed the record meanwhile
        (optimistic locking — a concurrent edit fails with StaleDataError, the API answers 409)."""
        rec.updated_at = now_beijing()

    def _bump(self, rec: Record) -> None:
        """Bump ``version`` for an append (progress, files, values, stages): appends never conflict with each
        other, so the increment is done in SQL (serialised by the row lock) instead of by optimistic check."""
        self.s.flush()
        self.s.execute(update(Record).where(Record.id == rec.id)
                       .values(version=Record.version + 1, updated_at=now_beijing())
                       .execution_options(synchronize_session=False))
        self.s.refresh(rec, ["version", "updated_at"])

    def _set_units(self, rec: Record, role: str, refs: Any) -> None:
        wanted: list[OrgUnit] = []
        for r in unit_refs(refs):
            u = self.unit(r)
            if u not in wanted:
                wanted.append(u)
        existing = {ru.unit_id: ru for ru in rec.units if ru.role == role}
        others = [ru for ru in rec.units if ru.role != role]
        mine = []
        for i, u in enumerate(wanted):
            ru = existing.get(u.id) or RecordUnit(unit_id=u.id, unit=u, role=role)
            ru.position = i
            mine.append(ru)
        rec.units = others + mine

    def _set_leads(self, rec: Record, refs: Any = None) -> None:
        """Mark the lead units (牵头单位) among the responsible ones. ``refs`` None keeps the marks and applies the
        default: a record's only responsible unit is its lead (several without a mark stay co-responsible)."""
        resp = [ru for ru in rec.units if ru.role == "responsible"]
        if refs is not None:
            chosen = [self.unit(r) for r in unit_refs(refs)]
            ids = {ru.unit_id for ru in resp}
            outside = [u.name for u in chosen if u.id not in ids]
            if outside:
                if MACHINES[rec.kind].hosted:
                    raise ValidationFailed(f"主办单位须是承办单位之一：{'、'.join(outside)} 不是本件的承办单位")
                raise ValidationFailed(f"牵头单位须是责任单位之一：{'、'.join(outside)} 不是本记录的责任单位")
            for ru in resp:
                ru.lead = ru.unit_id in {u.id for u in chosen}
        elif len(resp) == 1 and not resp[0].lead:
            resp[0].lead = True
        for ru in rec.units:
            if ru.role != "responsible" or ru.lead is None:
                ru.lead = bool(ru.lead) and ru.role == "responsible"

    @staticmethod
    def unit_names(rec: Record, role: str) -> list[str]:
        return [ru.unit.name for ru in sorted(rec.units, key=lambda x: x.position) if ru.role == role]

    def _snapshot(self, rec: Record, fields: Iterable[str]) -> dict[str, Any]:
        out: dict[str, Any] = {}
        for f in fields:
            if f in ("responsible", "cooperating"):
                out[f] = self.unit_names(rec, f)
            elif f == "lead":
                out[f] = lead_names(rec)
            else:
                out[f] = getattr(rec, f)
        return audit.jsonable(out)

    def _on(self, payload: dict[str, Any], name: str = "on") -> dt.date:
        d = to_date(payload.get(name), "日期") or self.today
        if d > self.today:
            raise ValidationFailed(f"日期 {d.isoformat()} 晚于今天，不能预先登记")
        return d

    # --- creating records (supervisors) ---------------------------------------------------------------------

    def _check_deadline(self, deadline_kind: str | None, deadline: dt.date | None) -> None:
        if deadline_kind is None:
            return
        if deadline_kind not in DEADLINE_KINDS:
            raise ValidationFailed(f"整改时限类型应为 {'/'.join(DEADLINE_KINDS)}")
        if deadline_kind == "date" and deadline is None:
            raise ValidationFailed("整改时限为日期时必须给出日期")

    def _init_record(self, rec: Record, *, status: str | None, responsible: Sequence[int | str] = (),
                     cooperating: Sequence[int | str] = (), district: int | str | None = None,
                     note: str | None = None, lead: Sequence[int | str] | None = None) -> Record:
        require(can_supervise(self.p), "只有局机关人员或管理员可以新建台账记录")
        m = MACHINES[rec.kind]
        if status is not None and status not in m.states:
            raise ValidationFailed(f"状态 {status!r} 不属于{rec.kind}（可选：{'、'.join(m.states)}）")
        rec.status = status or m.initial
        self._check_deadline(rec.deadline_kind, rec.deadline)
        if rec.deadline_kind not in (None, "date"):
            rec.deadline = None
        if district is not None:
            rec.district_id = self.district(district).id
        if rec.disclosed and rec.kind == "petition":
            raise ValidationFailed("信访件含个人信息，不能公开")
        now = now_beijing()
        rec.created_at = rec.updated_at = now
        if rec.status in m.finished:
            rec.closed_at = now
        self._set_units(rec, "responsible", responsible)
        self._set_units(rec, "cooperating", cooperating)
        self._set_leads(rec, lead)
        self.s.add(rec)
        self.s.flush()
        after = {c.key: getattr(rec, c.key) for c in rec.__mapper__.column_attrs
                 if c.key not in ("created_at", "updated_at", "closed_at", "version")}
        after["responsible"] = self.unit_names(rec, "responsible")
        after["cooperating"] = self.unit_names(rec, "cooperating")
        after["lead"] = lead_names(rec)
        if rec.kind == "petition":
            after.pop("complainant", None)
            after.pop("contact", None)
        self._audit("record.create", rec.kind, rec.id, after=after, note=note, record=rec)
        return rec

    def _next_code(self, kind: str, prefix: str) -> str:
        n = self.s.execute(select(func.count()).select_from(Record).where(Record.kind == kind)).scalar() or 0
        while True:
            n += 1
            code = f"{prefix}-{n:04d}"
            if not self.s.execute(select(Record.id).where(Record.kind == kind, Record.code == code)).first():
                return code

    def _content(self, record_id: int, what: str) -> Record:
        """A record whose full content (progress, files, timeline) the principal may see (:func:`can_see_content`)."""
        rec = self._record(record_id)
        if self.p.is_public:
            require(False, f"公众不能查看{what}")
        require(can_see_content(self.p, rec),
                f"“{rec.title}”含个人信息，其{what}仅局机关和承办单位可以查看")
        return rec


EVIDENCE_LABELS = {
    "completion_note": "完成情况说明",
    "reason": "理由",
    "acceptance_evidence": "验收材料（验收意见、文号）",
    "signoff_evidence": "销号材料（审批、归档）",
    "disclosure_text": "公开说明",
    "note": "说明",
    "unit_ids": "承办单位",
    "host_unit_id": "主办单位",
    "days": "延期天数",
    "reply_text": "答复内容",
    "satisfaction": "回访满意度",
    "decision_no": "处罚决定书文号",
    "penalty_amount": "罚款金额",
    "findings": "办理情况（核查结果）",
    "party": "当事人",
    "violation": "违法行为",
}

ACTION_LABELS = {
    "record.create": "登记",
    "record.update": "修改",
    "progress.add": "报送进展",
    "attachment.add": "上传材料",
    "indicator.value": "填报指标",
    "milestone.done": "节点完成",
    "campaign.enterprises.add": "登记整治企业",
    "enterprise.stage": "企业整治阶段",
    "case.transfer_police": "移送公安",
    "case.recheck": "复查",
    "event.escalate": "超期升级",
    "event.evidence_to_case": "证据移交案件",
    "part.report": "报送本单位完成情况",
    "part.withdraw": "撤回本单位完成情况",
}
