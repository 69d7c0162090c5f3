"""The ledger's service layer: every read and every change goes through here, with permissions and audit.

:class:`LedgerService` is bound to a session and a :class:`~.rbac.Principal`. It enforces, for every call:

* **visibility** (:func:`.rbac.can_view`): what a principal may not see does not exist for it (:class:`NotFound`);
* **permission** (:func:`.rbac.can_edit`, :func:`.rbac.can_supervise`): changing another unit's record, a
  supervisor-only field or step is :class:`PermissionDenied` — for the API, the CLI and the XLSX import alike;
* **workflow** (:mod:`.workflow`): a status changes only through a named transition from an allowed state, with
  its evidence (:class:`WorkflowError` otherwise);
* **audit** (:mod:`.audit`): each change appends an entry with before/after in the same transaction.

The service never commits; its caller (API request, CLI command) does, so a failed step leaves nothing behind.
"""

from __future__ import annotations

import datetime as dt
import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, replace
from decimal import Decimal
from typing import Any

from sqlalchemy import and_, exists, func, or_, select, update
from sqlalchemy.orm import Session

from . import audit
from .auth import check_username, hash_password, revoke_user_tokens, verify_password
from .files import FileStore
from .fines import DailyFine, Recheck, daily_fine
from .limits import (
    MAX_ENTERPRISES_PER_REQUEST,
    NUMBERS,
    TEXT_LABELS,
    TEXT_MAX,
    ValidationFailed,
    check_date,
    clean_name,
    install_length_check,
    to_decimal,
    to_int,
    to_text,
    valid_id,
)
from .models import (
    BEIJING,
    DEADLINE_KINDS,
    ENTERPRISE_STAGES,
    KINDS,
    PETITION_CHANNEL_LABELS,
    PETITION_CHANNELS,
    ROLES,
    SATISFACTION,
    UNIT_KINDS,
    Attachment,
    AuditEntry,
    Campaign,
    CampaignEnterprise,
    CaseRecheck,
    EnforcementCase,
    Indicator,
    IndicatorValue,
    KeyTask,
    Milestone,
    OrgUnit,
    Petition,
    ProgressEntry,
    Project,
    Record,
    RecordUnit,
    RectificationItem,
    User,
    now_beijing,
    today_beijing,
)
from .rbac import (
    LedgerError,
    NotFound,
    PermissionDenied,
    Principal,
    can_edit,
    can_manage_users,
    can_see_content,
    can_supervise,
    can_view,
    can_view_audit,
    require,
)
from .workcal import DEFAULT_CALENDAR, WorkCalendar
from .workflow import (
    MACHINES,
    POLICIES,
    SUPERVISOR,
    DeadlineState,
    Transition,
    accept_due,
    deadline_state,
    reply_due,
)

__all__ = [
    "AlreadyExists",
    "LedgerError",
    "LedgerService",
    "NotFound",
    "PermissionDenied",
    "ValidationFailed",
    "VersionConflict",
    "WorkflowError",
]


class AlreadyExists(LedgerError):
    """A user name, display name, unit code or name is taken (the API answers 409)."""


class WorkflowError(LedgerError):
    """The transition is not allowed from the current state, or its evidence is missing."""


class VersionConflict(LedgerError):
    """The record changed since the caller read it (optimistic locking)."""


# Fields a responsible editor may change, per kind; supervisors may change these plus SUPERVISOR_FIELDS.
COMMON_SUPERVISOR_FIELDS = frozenset(
    {"code", "title", "district_id", "start_date", "deadline_kind", "deadline", "disclosed", "disclosure_text",
     "responsible", "cooperating"}
)
RESPONSIBLE_FIELDS: dict[str, frozenset[str]] = {
    "rectification": frozenset({"measures"}),
    "key_task": frozenset(),
    "project": frozenset({"completed_investment", "percent_complete"}),
    "campaign": frozenset(),
    "petition": frozenset(),
    "case": frozenset({"legal_basis", "order_served_on", "stop_measure_on"}),
}
SUPERVISOR_FIELDS: dict[str, frozenset[str]] = {
    "rectification": frozenset({"seq", "source_inspection", "problem"}),
    "key_task": frozenset({"seq", "plan", "year", "section", "description"}),
    "project": frozenset({"category", "planned_investment", "description"}),
    "campaign": frozenset({"description"}),
    "petition": frozenset({"category", "content", "complainant", "contact"}),
    "case": frozenset({"case_no", "party", "violation"}),
}
DATE_FIELDS = frozenset({"start_date", "deadline", "order_served_on", "stop_measure_on"})
# texts that may not be emptied (NOT NULL columns)
REQUIRED_TEXT_FIELDS = frozenset({"code", "title", "source_inspection", "problem", "plan", "content", "party",
                                  "violation"})
DECIMAL_FIELDS = frozenset({"planned_investment", "completed_investment", "percent_complete"})
INT_FIELDS = frozenset({"seq", "year"})

KIND_CLASSES: dict[str, type[Record]] = {
    "rectification": RectificationItem, "key_task": KeyTask, "project": Project, "campaign": Campaign,
    "petition": Petition, "case": EnforcementCase,
}


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


def _petition_title(channel: str, category: Any, received: dt.date) -> str:
    """A default title that carries no personal data: the complaint's text is content, the title is outline."""
    cat = category.strip() if isinstance(category, str) and category.strip() else "信访件"
    return f"{cat}（{PETITION_CHANNEL_LABELS[channel]}，{received.isoformat()} 收件）"


def _code(code: Any) -> str | None:
    return to_text(code, "编号", max_len=64)


def _flag(value: Any, label: str) -> bool:
    if value is None:
        return False
    if not isinstance(value, bool):
        raise ValidationFailed(f"{label}：应为 true 或 false，收到 {value!r}"[:120])
    return value


#: text evidence of transitions and their maximum lengths (decision_no is a String(64) column)
PAYLOAD_TEXTS = {"completion_note": TEXT_MAX, "reason": TEXT_MAX, "acceptance_evidence": TEXT_MAX,
                 "signoff_evidence": TEXT_MAX, "disclosure_text": TEXT_MAX, "note": TEXT_MAX,
                 "reply_text": TEXT_MAX, "decision_no": 64}


def _clean_payload(payload: Any) -> dict[str, Any]:
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
            out[key] = _refs(value)
        elif key == "on":
            out[key] = to_date(value, "办理日期")
    return out


def _refs(value: Any) -> list[Any]:
    """Unit references: one id/code/name or a list of them."""
    if value is None:
        return []
    if isinstance(value, (str, int, OrgUnit)) and not isinstance(value, bool):
        return [value]
    if not isinstance(value, (list, tuple)):
        raise ValidationFailed(f"单位应为编号、编码、名称或其列表，收到 {value!r}"[:120])
    return list(value)


def _rows(rows: Any, label: str) -> list[dict[str, Any]]:
    """A list of objects (indicators, milestones, enterprises) from user input."""
    if rows is None:
        return []
    if not isinstance(rows, (list, tuple)) or not all(isinstance(r, dict) for r in rows):
        raise ValidationFailed(f"{label}应为对象列表")
    return list(rows)


@dataclass
class Page:
    total: int
    items: list[Record]


class LedgerService:
    """All ledger operations for one principal in one session (see the module docstring)."""

    def __init__(self, session: Session, principal: Principal, *, today: dt.date | None = None,
                 files: FileStore | None = None, calendar: WorkCalendar = DEFAULT_CALENDAR):
        self.s = session
        self.p = principal
        self.today = today or today_beijing()
        self.files = files
        self.cal = calendar
        audit.install_guard(session)
        install_length_check(session)  # texts longer than their column: a 422 naming the field, not a DB error

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
        for r in _refs(refs):
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

    @staticmethod
    def unit_names(rec: Record, role: str) -> list[str]:
        return [ru.unit.name for ru in sorted(rec.units, key=lambda x: x.position) if ru.role == role]

    def _snapshot(self, rec: Record, fields: Iterable[str]) -> dict[str, Any]:
        out: dict[str, Any] = {}
        for f in fields:
            if f in ("responsible", "cooperating"):
                out[f] = self.unit_names(rec, f)
            else:
                out[f] = getattr(rec, f)
        return audit.jsonable(out)

    def _on(self, payload: dict[str, Any], name: str = "on") -> dt.date:
        d = to_date(payload.get(name), "日期") or self.today
        if d > self.today:
            raise ValidationFailed(f"日期 {d.isoformat()} 晚于今天，不能预先登记")
        return d

    # --- units and users (admin) ---------------------------------------------------------------------------

    def create_unit(self, code: str, name: str, kind: str, parent: int | str | None = None) -> OrgUnit:
        require(can_manage_users(self.p) or self.p.is_supervisor, "只有管理员或局机关可以维护单位")
        if kind not in UNIT_KINDS:
            raise ValidationFailed(f"单位类型应为 {'/'.join(UNIT_KINDS)}")
        code = to_text(code, "单位编码", max_len=64, required=True)  # type: ignore[assignment]
        name = clean_name(to_text(name, "单位名称", max_len=200, required=True) or "")
        if not name:
            raise ValidationFailed("单位名称不能为空")
        if self.s.execute(select(OrgUnit.id).where(or_(OrgUnit.code == code, OrgUnit.name == name))).first():
            raise AlreadyExists(f"单位编码 {code} 或名称 {name} 已存在")
        parent_unit = self.unit(parent) if parent is not None else None
        u = OrgUnit(code=code, name=name, kind=kind, parent_id=parent_unit.id if parent_unit else None, active=True)
        self.s.add(u)
        self.s.flush()
        u.district_id = u.id if kind == "district" else (parent_unit.district_id if parent_unit else None)
        self._audit("unit.create", "org_unit", u.id, after={"code": code, "name": name, "kind": kind,
                                                            "parent": parent_unit.name if parent_unit else None})
        return u

    def create_user(self, username: str, password: str, role: str, unit: int | str | None = None,
                    display_name: str | None = None) -> User:
        require(can_manage_users(self.p), "只有系统管理员可以添加用户")
        if role not in ROLES:
            raise ValidationFailed(f"角色应为 {'/'.join(ROLES)}")
        username = check_username(username)
        if self.user_by_name(username) is not None:
            raise AlreadyExists(f"用户名 {username} 已存在（用户名不区分大小写）")
        display_name = self._free_display_name(display_name or username)
        u = self.unit(unit) if unit is not None else None
        if role in ("department", "district") and u is None:
            raise ValidationFailed(f"{role} 用户必须指定所属单位")
        if role == "district" and (u is None or u.district_id is None):
            raise ValidationFailed("辖市区用户的单位必须属于某个辖市区")
        try:
            pw = hash_password(password)
        except ValueError as e:
            raise ValidationFailed(str(e)) from None
        user = User(username=username, display_name=display_name, password_hash=pw, role=role,
                    unit_id=u.id if u else None, active=True)
        self.s.add(user)
        self.s.flush()
        self._audit("user.create", "user", user.id,
                    after={"username": username, "display_name": display_name, "role": role,
                           "unit": u.name if u else None})
        return user

    def user_by_name(self, username: str) -> User | None:
        """The user whose name equals ``username`` ignoring case (names are unique on ``lower(username)``)."""
        return self.s.execute(select(User).where(func.lower(User.username) == username.strip().lower())
                              ).scalar_one_or_none()

    def _free_display_name(self, name: Any) -> str:
        """``name`` cleaned of control/format characters, checked unused by anybody else (ignoring case)."""
        if not isinstance(name, str):
            raise ValidationFailed("显示名应为文本")
        name = clean_name(name)
        if not name:
            raise ValidationFailed("显示名不能为空")
        if len(name) > 100:
            raise ValidationFailed(f"显示名不能超过 100 个字符（收到 {len(name)} 个）")
        key = name.casefold()
        taken = self.s.execute(select(User.display_name)).scalars()
        if any(other.casefold() == key for other in taken):
            raise AlreadyExists(f"显示名“{name}”已被其他用户使用（不区分大小写），请换一个以免在审计日志中混淆")
        return name

    def change_own_password(self, current: str, new: str, *, keep_token: str | None = None) -> int:
        """The signed-in user changes their password (the rules of account creation apply to the new one); every
        other session and token of the user is revoked (``keep_token``: the one making the request). Returns how
        many were revoked. Raises :class:`PermissionDenied` if ``current`` is wrong."""
        if self.p.user_id is None:
            raise PermissionDenied("请先登录")
        user = self.s.get(User, self.p.user_id)
        if user is None or not user.active:
            raise PermissionDenied("请先登录")
        if not isinstance(current, str) or not isinstance(new, str):
            raise ValidationFailed("需要当前密码和新密码")
        if not verify_password(user, current):
            raise PermissionDenied("当前密码不正确")
        if new == current:
            raise ValidationFailed("新密码不能与当前密码相同")
        try:
            user.password_hash = hash_password(new)
        except ValueError as e:
            raise ValidationFailed(str(e)) from None
        revoked = revoke_user_tokens(self.s, user.id, except_token=keep_token)
        self._audit("user.password", "user", user.id, after={"revoked_sessions": revoked},
                    note="用户修改了自己的密码")
        return revoked

    def set_user_active(self, username: str, active: bool) -> User:
        require(can_manage_users(self.p), "只有系统管理员可以停用或启用用户")
        user = self.user_by_name(username)
        if user is None:
            raise NotFound(f"用户 {username} 不存在")
        before = user.active
        user.active = active
        self._audit("user.active", "user", user.id, before={"active": before}, after={"active": active})
        return user

    def users(self) -> list[User]:
        require(can_manage_users(self.p), "只有系统管理员可以查看用户列表")
        return list(self.s.execute(select(User).order_by(User.id)).scalars())

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
                     note: str | None = None) -> Record:
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
        self.s.add(rec)
        self.s.flush()
        after = {c.key: getattr(rec, c.key) for c in rec.__mapper__.column_attrs
                 if c.key not in ("created_at", "updated_at", "closed_at", "version")}
        after["responsible"] = self.unit_names(rec, "responsible")
        after["cooperating"] = self.unit_names(rec, "cooperating")
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

    def create_rectification(self, *, seq: int, source_inspection: str, problem: str, title: str | None = None,
                             deadline_kind: str = "date", deadline: dt.date | str | None = None,
                             start_date: dt.date | str | None = None, responsible: Sequence[int | str] = (),
                             cooperating: Sequence[int | str] = (), measures: str | None = None,
                             district: int | str | None = None, status: str | None = None,
                             completion_note: str | None = None, disclosed: bool = False,
                             disclosure_text: str | None = None, code: str | None = None,
                             note: str | None = None) -> RectificationItem:
        problem = to_text(problem, "问题", required=True)  # type: ignore[assignment]
        rec = RectificationItem(
            code=_code(code) or self._next_code("rectification", "ZG"),
            title=(to_text(title, "标题") or problem)[:300], seq=to_int(seq, "seq"),
            source_inspection=to_text(source_inspection, "督察来源", max_len=200, required=True), problem=problem,
            deadline_kind=deadline_kind, deadline=to_date(deadline, "整改时限"),
            start_date=to_date(start_date, "开始日期"), measures=to_text(measures, "整改措施"),
            completion_note=to_text(completion_note, "完成情况说明"), disclosed=_flag(disclosed, "是否公开"),
            disclosure_text=to_text(disclosure_text, "公开说明"),
        )
        return self._init_record(rec, status=status, responsible=responsible, cooperating=cooperating,
                                 district=district, note=note)  # type: ignore[return-value]

    def create_key_task(self, *, seq: int, plan: str, year: int, title: str, section: str | None = None,
                        description: str | None = None, responsible: Sequence[int | str] = (),
                        cooperating: Sequence[int | str] = (), indicators: Sequence[dict[str, Any]] = (),
                        deadline: dt.date | str | None = None, start_date: dt.date | str | None = None,
                        status: str | None = None, disclosed: bool = False, disclosure_text: str | None = None,
                        code: str | None = None, note: str | None = None) -> KeyTask:
        seq, year = to_int(seq, "seq"), to_int(year, "year")  # type: ignore[assignment]
        rec = KeyTask(
            code=_code(code) or f"RW-{year}-{seq:02d}", title=to_text(title, "标题", required=True)[:300],  # type: ignore[index]
            seq=seq, plan=to_text(plan, "方案", max_len=200, required=True), year=year,
            section=to_text(section, "类别", max_len=100), description=to_text(description, "说明"),
            deadline_kind="date", deadline=to_date(deadline, "完成时限") or dt.date(year, 12, 31),
            start_date=to_date(start_date, "开始日期") or dt.date(year, 1, 1), disclosed=_flag(disclosed, "是否公开"),
            disclosure_text=to_text(disclosure_text, "公开说明"),
        )
        for i, ind in enumerate(_rows(indicators, "指标")):
            name = to_text(ind.get("name"), f"第 {i + 1} 个指标的名称", max_len=200, required=True)
            direction = ind.get("direction") or "min"
            if direction not in ("min", "max"):
                raise ValidationFailed(f"指标“{name}”的方向应为 min（不低于）或 max（不高于）")
            target = to_decimal(ind.get("target"), replace(NUMBERS["indicator"], label=f"指标“{name}”的目标值"))
            if target is None:
                raise ValidationFailed(f"指标“{name}”缺少目标值")
            rec.indicators.append(Indicator(position=i, name=name, unit=to_text(ind.get("unit"), "计量单位", max_len=32) or "",
                                            target_value=target, direction=direction))
        return self._init_record(rec, status=status, responsible=responsible, cooperating=cooperating,
                                 note=note)  # type: ignore[return-value]

    def create_project(self, *, title: str, code: str | None = None, category: str | None = None,
                       planned_investment: Any = None, completed_investment: Any = None,
                       percent_complete: Any = None, description: str | None = None,
                       responsible: Sequence[int | str] = (), cooperating: Sequence[int | str] = (),
                       district: int | str | None = None, milestones: Sequence[dict[str, Any]] = (),
                       deadline: dt.date | str | None = None, start_date: dt.date | str | None = None,
                       status: str | None = None, disclosed: bool = False, disclosure_text: str | None = None,
                       note: str | None = None) -> Project:
        deadline = to_date(deadline, "完成时限")
        rec = Project(
            code=_code(code) or self._next_code("project", "XM"), title=to_text(title, "标题", required=True)[:300],  # type: ignore[index]
            category=to_text(category, "类别", max_len=100),
            planned_investment=to_decimal(planned_investment, "planned_investment"),
            completed_investment=to_decimal(completed_investment, "completed_investment"),
            percent_complete=to_decimal(percent_complete, "percent_complete"),
            description=to_text(description, "说明"), deadline_kind="date" if deadline else None, deadline=deadline,
            start_date=to_date(start_date, "开始日期"), disclosed=_flag(disclosed, "是否公开"),
            disclosure_text=to_text(disclosure_text, "公开说明"),
        )
        for i, ms in enumerate(_rows(milestones, "节点")):
            rec.milestones.append(Milestone(
                position=i, name=to_text(ms.get("name"), f"第 {i + 1} 个节点的名称", max_len=200, required=True),
                planned_date=to_date(ms.get("planned_date"), "计划日期"),
                done_date=to_date(ms.get("done_date"), "完成日期")))
        return self._init_record(rec, status=status, responsible=responsible, cooperating=cooperating,
                                 district=district, note=note)  # type: ignore[return-value]

    def create_campaign(self, *, title: str, code: str | None = None, description: str | None = None,
                        responsible: Sequence[int | str] = (), cooperating: Sequence[int | str] = (),
                        deadline: dt.date | str | None = None, start_date: dt.date | str | None = None,
                        district: int | str | None = None, status: str | None = None, disclosed: bool = False,
                        disclosure_text: str | None = None, note: str | None = None) -> Campaign:
        deadline = to_date(deadline, "完成时限")
        rec = Campaign(code=_code(code) or self._next_code("campaign", "ZZ"),
                       title=to_text(title, "标题", required=True)[:300], description=to_text(description, "说明"),  # type: ignore[index]
                       deadline_kind="date" if deadline else None, deadline=deadline,
                       start_date=to_date(start_date, "开始日期"), disclosed=_flag(disclosed, "是否公开"),
                       disclosure_text=to_text(disclosure_text, "公开说明"))
        return self._init_record(rec, status=status, responsible=responsible, cooperating=cooperating,
                                 district=district, note=note)  # type: ignore[return-value]

    def create_petition(self, *, channel: str, received_on: dt.date | str, content: str, title: str | None = None,
                        category: str | None = None, complainant: str | None = None, contact: str | None = None,
                        district: int | str | None = None, code: str | None = None,
                        note: str | None = None) -> Petition:
        if channel not in PETITION_CHANNELS:
            raise ValidationFailed(f"信访渠道应为 {'/'.join(PETITION_CHANNELS)}")
        received = to_date(received_on, "收件日期")
        if received is None:
            raise ValidationFailed("收件日期不能为空")
        content = to_text(content, "内容", required=True)  # type: ignore[assignment]
        if received > self.today:
            raise ValidationFailed("收件日期晚于今天")
        due = accept_due(POLICIES[channel], received, self.cal)
        rec = Petition(code=_code(code) or self._next_code("petition", "XF"),
                       title=(to_text(title, "标题") or _petition_title(channel, category, received))[:300],
                       channel=channel, category=to_text(category, "类别", max_len=50), received_on=received,
                       complainant=to_text(complainant, "信访人", max_len=100),
                       contact=to_text(contact, "联系方式", max_len=100), content=content, accept_due=due, extension_days=0, deadline_kind="date", deadline=due,
                       start_date=received, disclosed=False)
        return self._init_record(rec, status=None, district=district, note=note)  # type: ignore[return-value]

    def create_case(self, *, party: str, violation: str, filed_on: dt.date | str, case_no: str | None = None,
                    legal_basis: str | None = None, responsible: Sequence[int | str] = (),
                    district: int | str | None = None, title: str | None = None, code: str | None = None,
                    note: str | None = None) -> EnforcementCase:
        filed = to_date(filed_on, "立案日期")
        if filed is None:
            raise ValidationFailed("立案日期不能为空")
        party = to_text(party, "当事人", max_len=200, required=True)  # type: ignore[assignment]
        violation = to_text(violation, "违法行为", required=True)  # type: ignore[assignment]
        rec = EnforcementCase(code=_code(code) or self._next_code("case", "AJ"),
                              title=(to_text(title, "标题") or f"{party}：{violation}")[:300],
                              case_no=to_text(case_no, "案号", max_len=64), party=party, violation=violation,
                              legal_basis=to_text(legal_basis, "法律依据"), filed_on=filed, start_date=filed,
                              disclosed=False)
        return self._init_record(rec, status=None, responsible=responsible, district=district,
                                 note=note)  # type: ignore[return-value]

    # --- editing -------------------------------------------------------------------------------------------

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
            return _flag(value, "是否公开")
        if field in ("responsible", "cooperating"):
            return [self.unit(v).name for v in _refs(value)]
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
            else:
                setattr(rec, f, v)
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

    # --- progress and files --------------------------------------------------------------------------------

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

    def _content(self, record_id: int, what: str) -> Record:
        """A record whose full content (progress, files, timeline) the principal may see (:func:`can_see_content`)."""
        rec = self._record(record_id)
        if self.p.is_public:
            require(False, f"公众不能查看{what}")
        require(can_see_content(self.p, rec),
                f"“{rec.title}”含个人信息，其{what}仅局机关和承办单位可以查看")
        return rec

    def attachment(self, record_id: int, attachment_id: int) -> Attachment:
        rec = self._content(record_id, "附件")
        att = self._get(Attachment, attachment_id)
        if att is None or att.record_id != rec.id:
            raise NotFound("附件不存在")
        return att

    def last_progress(self, record_ids: Iterable[int]) -> dict[int, dt.date]:
        ids = list(record_ids)
        if not ids:
            return {}
        out: dict[int, dt.date] = {}
        for i in range(0, len(ids), 500):
            rows = self.s.execute(select(ProgressEntry.record_id, func.max(ProgressEntry.entry_date))
                                  .where(ProgressEntry.record_id.in_(ids[i:i + 500]))
                                  .group_by(ProgressEntry.record_id)).all()
            out.update({r: d for r, d in rows})
        return out

    # --- transitions ---------------------------------------------------------------------------------------

    def _may_take(self, rec: Record, t: Transition) -> bool:
        return can_supervise(self.p) if t.actor == SUPERVISOR else can_edit(self.p, rec)

    def allowed_transitions(self, record_id: int) -> list[Transition]:
        rec = self._record(record_id)
        return [t for t in MACHINES[rec.kind].available(rec.status) if self._may_take(rec, t)]

    def transition(self, record_id: int, name: str, payload: dict[str, Any] | None = None) -> Record:
        """Move a record along its state machine (see :mod:`.workflow`); ``payload`` carries the evidence and an
        optional ``on`` (the date of the step, default today) and ``note``."""
        payload = _clean_payload(payload)
        rec = self._record(record_id)
        m = MACHINES[rec.kind]
        try:
            t = m.get(name)
        except KeyError:
            raise ValidationFailed(f"未知操作 {name!r}（{rec.kind} 可用：{'、'.join(x.name for x in m.transitions)}）") from None
        if t.actor == SUPERVISOR:
            require(can_supervise(self.p), f"“{t.label}”须由局机关人员办理")
        else:
            require(can_edit(self.p, rec), f"无权对“{rec.title}”执行“{t.label}”：只有责任单位及局机关可以办理")
        if rec.status not in t.sources:
            raise WorkflowError(f"当前状态“{m.label(rec.status)}”不能执行“{t.label}”")
        missing = [f for f in t.requires if not self._evidence(rec, f, payload)]
        if missing:
            raise WorkflowError(f"“{t.label}”缺少必需材料：{'、'.join(EVIDENCE_LABELS.get(f, f) for f in missing)}")
        on = self._on(payload)
        before: dict[str, Any] = {"status": rec.status}
        after: dict[str, Any] = {}
        effect = getattr(self, f"_effect_{rec.kind}", None)
        if effect is not None:
            effect(rec, t, payload, on, before, after)
        rec.status = t.target
        after["status"] = t.target
        if t.target in m.finished:
            rec.closed_at = rec.closed_at or now_beijing()
        else:
            rec.closed_at = None
        self._touch(rec)
        self.s.flush()
        note = payload.get("reason") or payload.get("note")
        self._audit(f"transition.{t.name}", rec.kind, rec.id, before=audit.jsonable(before),
                    after=audit.jsonable({**after, "on": on}), note=str(note) if note else None, record=rec)
        return rec

    @staticmethod
    def _evidence(rec: Record, field: str, payload: dict[str, Any]) -> bool:
        value = payload.get(field)
        if field == "disclosure_text" and not value:
            value = rec.disclosure_text
        if isinstance(value, str):
            return bool(value.strip())
        if isinstance(value, (list, tuple)):
            return len(value) > 0
        return value is not None

    def _effect_rectification(self, rec: RectificationItem, t: Transition, payload: dict[str, Any], on: dt.date,
                              before: dict[str, Any], after: dict[str, Any]) -> None:
        stamp = dt.datetime.combine(on, dt.time(12, 0), BEIJING)
        if t.name == "submit":
            before["completion_note"], rec.completion_note = rec.completion_note, payload["completion_note"].strip()
            after["completion_note"] = rec.completion_note
        elif t.name == "accept":
            before["acceptance_evidence"] = rec.acceptance_evidence
            rec.acceptance_evidence = payload["acceptance_evidence"].strip()
            rec.accepted_at, rec.accepted_by_id = stamp, self.p.user_id
            after.update(acceptance_evidence=rec.acceptance_evidence, accepted_on=on)
        elif t.name == "sign_off":
            text = (payload.get("disclosure_text") or rec.disclosure_text or "").strip()
            before.update(disclosed=rec.disclosed, disclosure_text=rec.disclosure_text,
                          signoff_evidence=rec.signoff_evidence)
            rec.signoff_evidence = payload["signoff_evidence"].strip()
            rec.disclosure_text, rec.disclosed = text, True
            rec.signed_off_at, rec.signed_off_by_id = stamp, self.p.user_id
            after.update(disclosed=True, disclosure_text=text, signoff_evidence=rec.signoff_evidence, signed_off_on=on)
        elif t.name == "reopen":
            before.update(accepted_at=rec.accepted_at, signed_off_at=rec.signed_off_at)
            rec.accepted_at = rec.signed_off_at = None
            after.update(accepted_at=None, signed_off_at=None)

    def _effect_key_task(self, rec: KeyTask, t: Transition, payload: dict[str, Any], on: dt.date,
                         before: dict[str, Any], after: dict[str, Any]) -> None:
        if t.name == "complete":
            unmet = [i.name for i in rec.indicators if not indicator_met(i)]
            if unmet:
                raise WorkflowError(f"以下指标尚未达到目标，不能标记完成：{'、'.join(unmet)}")
            before["completion_note"] = rec.completion_note
            rec.completion_note = payload["completion_note"].strip()
            after["completion_note"] = rec.completion_note

    def _effect_project(self, rec: Project, t: Transition, payload: dict[str, Any], on: dt.date,
                        before: dict[str, Any], after: dict[str, Any]) -> None:
        if t.name == "complete":
            open_ms = [ms.name for ms in rec.milestones if ms.done_date is None]
            if open_ms:
                raise WorkflowError(f"以下节点尚未完成，不能完工：{'、'.join(open_ms)}")
            before["percent_complete"] = rec.percent_complete
            rec.percent_complete = Decimal(100)
            after["percent_complete"] = rec.percent_complete
        elif t.name == "start" and rec.start_date is None:
            before["start_date"], rec.start_date = None, on
            after["start_date"] = on

    def _effect_petition(self, rec: Petition, t: Transition, payload: dict[str, Any], on: dt.date,
                         before: dict[str, Any], after: dict[str, Any]) -> None:
        policy = POLICIES[rec.channel]
        if on < rec.received_on:
            raise ValidationFailed("办理日期早于收件日期")
        if t.name == "accept":
            rec.accepted_on = on
            due = reply_due(policy, on, 0, self.cal)
            before.update(deadline=rec.deadline)
            rec.start_date, rec.deadline = on, due
            after.update(accepted_on=on, reply_due=due, late=on > (rec.accept_due or on))
        elif t.name == "reject":
            rec.closed_on = on
            after.update(closed_on=on, late=on > (rec.accept_due or on))
        elif t.name == "assign":
            ids = payload["unit_ids"]
            if isinstance(ids, (str, int)):
                ids = [ids]
            before["responsible"] = self.unit_names(rec, "responsible")
            self._set_units(rec, "responsible", ids)
            if not rec.assigned_on:
                rec.assigned_on = on
            after.update(responsible=self.unit_names(rec, "responsible"), assigned_on=rec.assigned_on)
        elif t.name == "extend":
            days = payload["days"]
            if rec.extension_days:
                raise WorkflowError("已延期过一次，不能再次延期")
            if not 0 < days <= policy.max_extension_days:
                raise WorkflowError(f"延期天数应为 1–{policy.max_extension_days} 日")
            if rec.deadline is not None and on > rec.deadline:
                raise WorkflowError(f"办理期限已于 {rec.deadline.isoformat()} 届满，须在期限届满前批准延期")
            before.update(deadline=rec.deadline, extension_days=0)
            rec.extension_days, rec.extension_reason = days, payload["reason"]
            rec.deadline = reply_due(policy, rec.accepted_on or rec.received_on, days, self.cal)
            after.update(deadline=rec.deadline, extension_days=days)
        elif t.name == "reply":
            before["reply_text"] = rec.reply_text
            rec.reply_text, rec.replied_on = payload["reply_text"], on
            after.update(reply_text=rec.reply_text, replied_on=on, late=bool(rec.deadline and on > rec.deadline))
        elif t.name == "close":
            sat = payload["satisfaction"]
            if sat == "unsatisfied":
                raise WorkflowError("回访不满意的信访件不能办结，应重新办理（reopen）")
            rec.satisfaction, rec.callback_on, rec.closed_on = sat, on, on
            after.update(satisfaction=sat, callback_on=on, closed_on=on)
        elif t.name == "reopen":
            sat = payload.get("satisfaction") or "unsatisfied"
            before.update(replied_on=rec.replied_on, closed_on=rec.closed_on, satisfaction=rec.satisfaction)
            rec.satisfaction, rec.callback_on = sat, on
            rec.replied_on = rec.closed_on = None
            after.update(replied_on=None, closed_on=None, satisfaction=sat, callback_on=on)

    def _effect_case(self, rec: EnforcementCase, t: Transition, payload: dict[str, Any], on: dt.date,
                     before: dict[str, Any], after: dict[str, Any]) -> None:
        if t.name == "decide":
            amount = payload["penalty_amount"]
            before.update(decision_no=rec.decision_no, penalty_amount=rec.penalty_amount)
            rec.decision_no, rec.penalty_amount, rec.decided_on = payload["decision_no"], amount, on
            after.update(decision_no=rec.decision_no, penalty_amount=amount, decided_on=on)

    # --- kind-specific actions ---------------------------------------------------------------------------

    def record_indicator_value(self, indicator_id: int, value: Any, *, as_of: dt.date | str | None = None,
                               note: str | None = None) -> IndicatorValue:
        ind = self._get(Indicator, indicator_id)
        if ind is None:
            raise NotFound("指标不存在")
        task = self._editable(ind.task_id)
        d = to_date(as_of, "截至日期") or self.today
        if d > self.today:
            raise ValidationFailed("截至日期晚于今天")
        v = to_decimal(value, replace(NUMBERS["indicator"], label=f"指标“{ind.name}”的完成值"))
        if v is None:
            raise ValidationFailed(f"指标“{ind.name}”的完成值不能为空")
        note = to_text(note, "说明")
        iv = IndicatorValue(indicator=ind, as_of=d, value=v, note=note, author_id=self.p.user_id,
                            created_at=now_beijing())
        self.s.add(iv)
        self._bump(task)
        self._audit("indicator.value", "indicator", ind.id, record=task,
                    before={"value": latest_value(ind, exclude=iv)}, after={"value": v, "as_of": d, "name": ind.name},
                    note=note)
        return iv

    def set_milestone_done(self, milestone_id: int, done_date: dt.date | str | None) -> Milestone:
        ms = self._get(Milestone, milestone_id)
        if ms is None:
            raise NotFound("节点不存在")
        proj = self._editable(ms.project_id)
        d = to_date(done_date, "完成日期")
        if d is not None and d > self.today:
            raise ValidationFailed("完成日期晚于今天")
        before = ms.done_date
        ms.done_date = d
        self._bump(proj)
        self._audit("milestone.done", "milestone", ms.id, record=proj, before={"name": ms.name, "done_date": before},
                    after={"name": ms.name, "done_date": d})
        return ms

    def add_enterprises(self, campaign_id: int, rows: Sequence[dict[str, Any]]) -> int:
        """Register enterprises in a campaign (supervisors). One audit entry names how many and which stages."""
        camp = self._record(campaign_id)
        if not isinstance(camp, Campaign):
            raise ValidationFailed("不是专项整治记录")
        require(can_supervise(self.p), "只有局机关人员可以登记专项整治企业")
        rows = _rows(rows, "企业")
        if len(rows) > MAX_ENTERPRISES_PER_REQUEST:
            raise ValidationFailed(f"一次最多登记 {MAX_ENTERPRISES_PER_REQUEST} 家企业（收到 {len(rows)} 家），请分批提交")
        stages: dict[str, int] = {}
        district_cache: dict[Any, int | None] = {}
        objs = []
        for i, r in enumerate(rows, start=1):
            name = to_text(r.get("name"), f"第 {i} 家企业的名称", max_len=200, required=True)
            stage = r.get("stage") or "registered"
            if stage not in ENTERPRISE_STAGES:
                raise ValidationFailed(f"第 {i} 家企业：整治阶段应为 {'/'.join(ENTERPRISE_STAGES)}")
            did = None
            if (ref := r.get("district")) not in (None, ""):
                key = ref if isinstance(ref, (str, int)) else repr(ref)
                if key not in district_cache:
                    district_cache[key] = self.unit(ref).district_id
                did = district_cache[key]
            objs.append(CampaignEnterprise(campaign_id=camp.id, name=name,
                                           credit_code=to_text(r.get("credit_code"), "统一社会信用代码", max_len=32),
                                           district_id=did, stage=stage, updated_at=now_beijing()))
            stages[stage] = stages.get(stage, 0) + 1
        self.s.add_all(objs)
        self._bump(camp)
        self._audit("campaign.enterprises.add", "campaign", camp.id, record=camp,
                    after={"count": len(objs), "stages": stages})
        return len(objs)

    def set_enterprise_stage(self, enterprise_id: int, stage: str, note: str | None = None) -> CampaignEnterprise:
        """Move an enterprise one stage forward (方案审核 → 整治 → 验收); moving back is for supervisors, with a note.
        Acceptance (验收) needs a note (the acceptance evidence) and a supervisor or the enterprise's district."""
        ent = self._get(CampaignEnterprise, enterprise_id)
        if ent is None:
            raise NotFound("企业不存在")
        camp = self._record(ent.campaign_id)
        if stage not in ENTERPRISE_STAGES:
            raise ValidationFailed(f"整治阶段应为 {'/'.join(ENTERPRISE_STAGES)}")
        note = to_text(note, "阶段说明")
        require(can_edit(self.p, camp), "无权办理该专项整治：只有责任单位及局机关可以办理")
        if self.p.role == "district":
            require(ent.district_id == self.p.district_id, "辖市区用户只能办理本辖区企业")
        cur, new = ENTERPRISE_STAGES.index(ent.stage), ENTERPRISE_STAGES.index(stage)
        if new == cur:
            return ent
        if new < cur:
            require(can_supervise(self.p), "退回整治阶段须由局机关办理")
            if not note:
                raise WorkflowError("退回整治阶段须说明理由")
        elif new != cur + 1:
            raise WorkflowError("整治阶段须逐级推进：方案审核 → 整治 → 验收")
        if stage == "accepted":
            require(can_supervise(self.p) or self.p.role == "district", "验收须由局机关或属地辖市区办理")
            if not note:
                raise WorkflowError("验收须填写验收意见")
        before = ent.stage
        ent.stage, ent.stage_note, ent.updated_at = stage, note, now_beijing()
        self._bump(camp)
        self._audit("enterprise.stage", "campaign_enterprise", ent.id, record=camp,
                    before={"name": ent.name, "stage": before}, after={"name": ent.name, "stage": stage}, note=note)
        return ent

    def campaign_rates(self, campaign_id: int) -> dict[str, Any]:
        camp = self._record(campaign_id)
        rows = dict(self.s.execute(select(CampaignEnterprise.stage, func.count()).where(
            CampaignEnterprise.campaign_id == camp.id).group_by(CampaignEnterprise.stage)).all())
        return campaign_rates_from_counts(rows)

    def transfer_case(self, case_id: int, ref: str, on: dt.date | str | None = None) -> EnforcementCase:
        rec = self._record(case_id)
        if not isinstance(rec, EnforcementCase):
            raise ValidationFailed("不是执法案件")
        require(can_supervise(self.p), "移送公安须由局机关办理")
        if rec.status in ("dismissed",):
            raise WorkflowError("已撤销立案的案件不能移送")
        if rec.transferred_on is not None:
            raise WorkflowError("案件已移送公安机关")
        d = self._on({"on": on})
        ref = to_text(ref, "移送文书编号", max_len=200)  # type: ignore[assignment]
        if not ref:
            raise WorkflowError("移送须填写移送文书编号")
        rec.transferred_on, rec.transfer_ref = d, ref
        self._touch(rec)
        self.s.flush()
        self._audit("case.transfer_police", "case", rec.id, record=rec, before={"transferred_on": None},
                    after={"transferred_on": d, "transfer_ref": rec.transfer_ref})
        return rec

    def add_recheck(self, case_id: int, on: dt.date | str, violation_continues: bool,
                    note: str | None = None) -> CaseRecheck:
        rec = self._editable(case_id)
        if not isinstance(rec, EnforcementCase):
            raise ValidationFailed("不是执法案件")
        d = to_date(on, "复查日期")
        if d is None:
            raise ValidationFailed("复查日期不能为空")
        if d > self.today:
            raise ValidationFailed("复查日期晚于今天")
        violation_continues = _flag(violation_continues, "是否继续违法排放")
        note = to_text(note, "说明")
        if rec.order_served_on is None or d <= rec.order_served_on:
            raise ValidationFailed("复查日期须晚于责令改正决定书送达日期（先登记送达日期）")
        rc = CaseRecheck(case=rec, recheck_on=d, violation_continues=bool(violation_continues), note=note)
        self.s.add(rc)
        self._bump(rec)
        self._audit("case.recheck", "case", rec.id, record=rec,
                    after={"recheck_on": d, "violation_continues": bool(violation_continues)}, note=note)
        return rc

    def daily_fine(self, case_id: int) -> DailyFine:
        rec = self._record(case_id)
        if not isinstance(rec, EnforcementCase):
            raise ValidationFailed("不是执法案件")
        if rec.penalty_amount is None or rec.order_served_on is None:
            raise ValidationFailed("计算按日连续处罚需要原处罚决定的罚款数额和责令改正决定书送达日期")
        try:
            return daily_fine(rec.penalty_amount, rec.order_served_on,
                              [Recheck(r.recheck_on, r.violation_continues) for r in rec.rechecks],
                              rec.stop_measure_on)
        except ValueError as e:
            raise ValidationFailed(str(e)) from None

    # --- queries ----------------------------------------------------------------------------------------------

    def get(self, record_id: int) -> Record:
        return self._record(record_id)

    def find(self, kind: str, code: str) -> Record | None:
        rec = self.s.execute(select(Record).where(Record.kind == kind, Record.code == code)).scalar_one_or_none()
        return rec if rec is not None and can_view(self.p, rec) else None

    def _visibility(self):
        p = self.p
        if p.role in ("admin", "bureau", "department"):
            return None
        if p.role == "district":
            in_district = exists().where(RecordUnit.record_id == Record.id, RecordUnit.unit_id == OrgUnit.id,
                                         OrgUnit.district_id == p.district_id)
            return or_(Record.district_id == p.district_id, in_district)
        return and_(Record.disclosed.is_(True), Record.kind != "petition")

    def _not_finished(self):
        return or_(*[and_(Record.kind == k, Record.status.not_in(sorted(m.finished))) if m.finished
                     else Record.kind == k for k, m in MACHINES.items()])

    def list_records(self, *, kind: str | None = None, unit: int | str | None = None, unit_role: str | None = None,
                     status: str | Sequence[str] | None = None, overdue: bool | None = None,
                     at_risk: bool | None = None, deadline_from: dt.date | str | None = None,
                     deadline_to: dt.date | str | None = None, district: int | str | None = None,
                     q: str | None = None, limit: int | None = 100, offset: int = 0) -> Page:
        """Records visible to the principal, filtered; ordered by kind, then sequence/code."""
        stmt = select(Record)
        conds = []
        vis = self._visibility()
        if vis is not None:
            conds.append(vis)
        if kind:
            if kind not in KINDS:
                raise ValidationFailed(f"类型应为 {'/'.join(KINDS)}")
            conds.append(Record.kind == kind)
        if unit is not None and unit != "":
            u = self.unit(unit)
            sub = exists().where(RecordUnit.record_id == Record.id, RecordUnit.unit_id == u.id)
            if unit_role:
                sub = sub.where(RecordUnit.role == unit_role)
            conds.append(sub)
        if status:
            statuses = [status] if isinstance(status, str) else list(status)
            conds.append(Record.status.in_(statuses))
        if district is not None and district != "":
            d = self.unit(district)
            conds.append(or_(Record.district_id == d.district_id, exists().where(
                RecordUnit.record_id == Record.id, RecordUnit.unit_id == OrgUnit.id,
                OrgUnit.district_id == d.district_id)))
        dfrom, dto = to_date(deadline_from, "起始日期"), to_date(deadline_to, "截止日期")
        if dfrom:
            conds.append(Record.deadline >= dfrom)
        if dto:
            conds.append(Record.deadline <= dto)
        if overdue is not None:
            od = and_(Record.deadline.is_not(None), Record.deadline < self.today, self._not_finished())
            conds.append(od if overdue else ~od)
        if q:
            conds.append(or_(Record.title.contains(q, autoescape=True), Record.code.contains(q, autoescape=True)))
        if at_risk:
            conds.append(and_(Record.deadline.is_not(None), Record.deadline >= self.today, self._not_finished()))
        if conds:
            stmt = stmt.where(and_(*conds))
        stmt = stmt.order_by(Record.kind, Record.code, Record.id)
        if at_risk is None:
            total = self.s.execute(select(func.count()).select_from(stmt.order_by(None).subquery())).scalar() or 0
            if limit is not None:
                stmt = stmt.limit(limit).offset(offset)
            return Page(total, list(self.s.execute(stmt).scalars()))
        rows = list(self.s.execute(stmt).scalars())
        states = self.deadline_states(rows)
        rows = [r for r in rows if states[r.id].at_risk == bool(at_risk)]
        end = None if limit is None else offset + limit
        return Page(len(rows), rows[offset:end])

    def deadline_states(self, records: Sequence[Record]) -> dict[int, DeadlineState]:
        last = self.last_progress([r.id for r in records])
        return {r.id: deadline_state(r.status, r.kind, r.start_date, r.deadline if r.deadline_kind == "date" else None,
                                     last.get(r.id), self.today) for r in records}

    def deadline_state(self, rec: Record) -> DeadlineState:
        return self.deadline_states([rec])[rec.id]

    def timeline(self, record_id: int) -> list[dict[str, Any]]:
        """What happened to a record, oldest first: creation, updates, progress (with files), transitions."""
        rec = self._content(record_id, "办理记录")
        entries = self.s.execute(select(AuditEntry).where(AuditEntry.record_id == rec.id)
                                 .order_by(AuditEntry.id)).scalars().all()
        progress = {e.id: e for e in rec.progress}
        out: list[dict[str, Any]] = []
        for e in entries:
            item: dict[str, Any] = {"at": e.at.isoformat(), "actor": e.actor_name, "action": e.action,
                                    "label": ACTION_LABELS.get(e.action, e.action), "before": e.before,
                                    "after": e.after, "note": e.note, "version": e.record_version}
            if e.action.startswith("transition."):
                try:
                    item["label"] = MACHINES[rec.kind].get(e.action.split(".", 1)[1]).label
                except KeyError:
                    pass
            if e.action == "progress.add" and e.entity_id in progress:
                pe = progress[e.entity_id]
                item["progress"] = {"id": pe.id, "entry_date": pe.entry_date.isoformat(), "text": pe.text,
                                    "attachments": [{"id": a.id, "filename": a.filename, "size": a.size,
                                                     "content_type": a.content_type} for a in pe.attachments]}
            if rec.kind == "petition" and not self.p.is_supervisor:
                for side in ("before", "after"):
                    if isinstance(item[side], dict):
                        item[side] = {k: v for k, v in item[side].items() if k not in ("complainant", "contact")}
            out.append(item)
        return out

    def audit_entries(self, *, record_id: int | None = None, limit: int = 200, offset: int = 0) -> list[AuditEntry]:
        require(can_view_audit(self.p), "只有局机关人员和管理员可以查看审计日志")
        stmt = select(AuditEntry).order_by(AuditEntry.id.desc())
        if record_id is not None:
            stmt = stmt.where(AuditEntry.record_id == record_id)
        return list(self.s.execute(stmt.limit(limit).offset(offset)).scalars())

    # --- statistics --------------------------------------------------------------------------------------------

    def stats(self) -> dict[str, Any]:
        """Counts over the records visible to the principal (the public: disclosed records, plus the aggregate
        petition counts that bureaus publish — never a single petition).

        Stable keys read by outside checks: ``rectification_items``, ``rectification_completed``, ``petitions``,
        ``petitions_closed``, ``key_tasks``.
        """
        vis = self._visibility()
        base = select(Record.kind, Record.status, func.count()).group_by(Record.kind, Record.status)
        if self.p.is_public:
            # aggregate petition counts are public (bureaus publish them); nothing about a single petition is
            base = base.where(or_(vis, Record.kind == "petition"))
        elif vis is not None:
            base = base.where(vis)
        by_status: dict[str, dict[str, int]] = {k: {} for k in KINDS}
        for kind, status, n in self.s.execute(base).all():
            by_status[kind][status] = n

        def total(kind: str) -> int:
            return sum(by_status[kind].values())

        def done(kind: str) -> int:
            return sum(n for s, n in by_status[kind].items() if s in MACHINES[kind].done)

        rect_total, rect_done = total("rectification"), done("rectification")
        # open records with a date deadline, for overdue / at risk / by month
        stmt = select(Record).where(Record.deadline.is_not(None))
        if vis is not None:
            stmt = stmt.where(vis)
        with_deadline = list(self.s.execute(stmt).scalars())
        states = self.deadline_states(with_deadline)
        overdue = [r for r in with_deadline if states[r.id].overdue]
        at_risk = [r for r in with_deadline if states[r.id].at_risk]
        by_month: dict[str, dict[str, int]] = {}
        for r in with_deadline:
            if r.kind != "rectification":
                continue
            key = r.deadline.strftime("%Y-%m")  # type: ignore[union-attr]
            slot = by_month.setdefault(key, {"total": 0, "completed": 0})
            slot["total"] += 1
            slot["completed"] += r.status in MACHINES[r.kind].done
        rect_stmt = select(Record).where(Record.kind == "rectification")
        if vis is not None:
            rect_stmt = rect_stmt.where(vis)
        by_kind_of_deadline: dict[str, int] = {}
        by_unit: dict[str, dict[str, int]] = {}
        overdue_ids = {r.id for r in overdue}
        for r in self.s.execute(rect_stmt).scalars():
            by_kind_of_deadline[r.deadline_kind or "date"] = by_kind_of_deadline.get(r.deadline_kind or "date", 0) + 1
            for name in self.unit_names(r, "responsible"):
                slot = by_unit.setdefault(name, {"total": 0, "completed": 0, "overdue": 0})
                slot["total"] += 1
                slot["completed"] += r.status in MACHINES["rectification"].done
                slot["overdue"] += r.id in overdue_ids
        campaigns = []
        camp_stmt = select(Campaign)
        if vis is not None:
            camp_stmt = camp_stmt.where(vis)
        for c in self.s.execute(camp_stmt.order_by(Campaign.id)).scalars():
            rows = dict(self.s.execute(select(CampaignEnterprise.stage, func.count()).where(
                CampaignEnterprise.campaign_id == c.id).group_by(CampaignEnterprise.stage)).all())
            campaigns.append({"id": c.id, "code": c.code, "title": c.title, **campaign_rates_from_counts(rows)})
        proj_stmt = select(func.count(), func.sum(Project.planned_investment), func.sum(Project.completed_investment))
        if vis is not None:
            proj_stmt = proj_stmt.where(vis)
        n_proj, planned, completed = self.s.execute(proj_stmt).one()
        case_stmt = select(func.count(), func.sum(EnforcementCase.penalty_amount),
                           func.count(EnforcementCase.transferred_on))
        if vis is not None:
            case_stmt = case_stmt.where(vis)
        n_cases, fines, transferred = self.s.execute(case_stmt).one()
        return {
            "as_of": self.today.isoformat(),
            "scope": self.p.role,
            "rectification_items": rect_total,
            "rectification_completed": rect_done,
            "rectification_in_progress": rect_total - rect_done,
            "rectification_completion_rate": round(rect_done / rect_total, 4) if rect_total else None,
            "rectification_overdue": sum(1 for r in overdue if r.kind == "rectification"),
            "rectification_at_risk": sum(1 for r in at_risk if r.kind == "rectification"),
            "rectification_by_deadline_kind": by_kind_of_deadline,
            "petitions": total("petition"),
            "petitions_closed": done("petition"),
            "petitions_open": total("petition") - done("petition") - by_status["petition"].get("rejected", 0),
            "petitions_overdue": sum(1 for r in overdue if r.kind == "petition"),
            "key_tasks": total("key_task"),
            "key_tasks_completed": done("key_task"),
            "projects": int(n_proj or 0),
            "projects_planned_investment": _finite(planned),
            "projects_completed_investment": _finite(completed),
            "campaigns": campaigns,
            "enforcement_cases": int(n_cases or 0),
            "enforcement_penalties": _finite(fines),
            "enforcement_transferred": int(transferred or 0),
            "by_status": {k: v for k, v in by_status.items() if v},
            "by_unit": dict(sorted(by_unit.items(), key=lambda kv: (-kv[1]["total"], kv[0]))),
            "by_deadline_month": dict(sorted(by_month.items())),
            "overdue": [{"id": r.id, "kind": r.kind, "code": r.code, "title": r.title,
                         "deadline": r.deadline.isoformat() if r.deadline else None,
                         "responsible": self.unit_names(r, "responsible")}
                        for r in sorted(overdue, key=lambda r: (r.deadline, r.kind, r.code))],
            "at_risk": [{"id": r.id, "kind": r.kind, "code": r.code, "title": r.title,
                         "deadline": r.deadline.isoformat() if r.deadline else None}
                        for r in sorted(at_risk, key=lambda r: (r.deadline, r.kind, r.code))],
        }


EVIDENCE_LABELS = {
    "completion_note": "完成情况说明",
    "reason": "理由",
    "acceptance_evidence": "验收材料（验收意见、文号）",
    "signoff_evidence": "销号材料（审批、归档）",
    "disclosure_text": "公开说明",
    "note": "说明",
    "unit_ids": "承办单位",
    "days": "延期天数",
    "reply_text": "答复内容",
    "satisfaction": "回访满意度",
    "decision_no": "处罚决定书文号",
    "penalty_amount": "罚款金额",
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
}


def _finite(total: Any) -> float | None:
    """A sum as a JSON-safe float: None when absent or not finite (a value stored before ranges were enforced)."""
    if total is None:
        return None
    f = float(total)
    return f if math.isfinite(f) else None


def latest_value(ind: Indicator, exclude: IndicatorValue | None = None) -> Decimal | None:
    vals = [v for v in ind.values if v is not exclude]
    return vals[-1].value if vals else None


def indicator_met(ind: Indicator) -> bool:
    v = latest_value(ind)
    if v is None:
        return False
    return v >= ind.target_value if ind.direction == "min" else v <= ind.target_value


def campaign_rates_from_counts(counts: dict[str, int]) -> dict[str, Any]:
    """Cumulative stage counts and rates: an accepted enterprise also counts as remediated and plan-approved."""
    total = sum(counts.values())
    cum = {}
    running = 0
    for stage in reversed(ENTERPRISE_STAGES):
        running += counts.get(stage, 0)
        cum[stage] = running

    def rate(n: int) -> float | None:
        return round(n / total, 4) if total else None

    return {
        "enterprises": total,
        "plan_approved": cum["plan_approved"],
        "remediated": cum["remediated"],
        "accepted": cum["accepted"],
        "plan_approved_rate": rate(cum["plan_approved"]),
        "remediated_rate": rate(cum["remediated"]),
        "accepted_rate": rate(cum["accepted"]),
    }
