"""Reading records: visibility, filtered lists, deadline states, timeline, audit entries."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Sequence
from typing import Any

from sqlalchemy import and_, exists, func, or_, select

from ..limits import ValidationFailed
from ..models import KINDS, AuditEntry, OrgUnit, ProgressEntry, Record, RecordUnit
from ..rbac import DISPATCHED_KINDS, can_view, can_view_audit, require
from ..workflow import MACHINES, DeadlineState, deadline_state
from .base import ACTION_LABELS, Page, ServiceBase, to_date


class QueriesMixin(ServiceBase):
    """Reading what the principal may see."""

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

    def get(self, record_id: int) -> Record:
        return self._record(record_id)

    def find(self, kind: str, code: str) -> Record | None:
        rec = self.s.execute(select(Record).where(Record.kind == kind, Record.code == code)).scalar_one_or_none()
        return rec if rec is not None and can_view(self.p, rec) else None

    def _visibility(self):
        """The SQL form of :func:`.rbac.can_view` (events: only those dispatched to the caller's unit)."""
        p = self.p
        if p.is_supervisor:
            return None
        if p.role == "department":
            mine = exists().where(RecordUnit.record_id == Record.id, RecordUnit.unit_id == p.unit_id,
                                  RecordUnit.role == "responsible")
            return or_(Record.kind.not_in(sorted(DISPATCHED_KINDS)), mine)
        if p.role == "district":
            in_district = exists().where(RecordUnit.record_id == Record.id, RecordUnit.unit_id == OrgUnit.id,
                                         OrgUnit.district_id == p.district_id)
            dispatched = exists().where(RecordUnit.record_id == Record.id, RecordUnit.unit_id == OrgUnit.id,
                                        OrgUnit.district_id == p.district_id, RecordUnit.role == "responsible")
            return or_(and_(Record.kind.not_in(sorted(DISPATCHED_KINDS)),
                            or_(Record.district_id == p.district_id, in_district)),
                       and_(Record.kind.in_(sorted(DISPATCHED_KINDS)), dispatched))
        return and_(Record.disclosed.is_(True), Record.kind.not_in(["petition", *sorted(DISPATCHED_KINDS)]))

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
