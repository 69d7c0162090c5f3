"""Command-and-dispatch events (指挥调度, docs/ledger.md#指挥调度): creation (by hand or from an alarm), the
answer with evidence files, the step into an enforcement case, overdue escalation, 我的待办 and the statistics.

The workflow (:data:`.workflow.EVENT`): 新建 → 已派发 (to units, with a deadline from :mod:`..event_rules`) →
已反馈 (the unit's findings) → 已办结 (the bureau verifies) or 已退回 (back to the unit, reason) → 已反馈 …; a
环境违法线索 may become an enforcement case (已转立案). Every step goes through
:meth:`.transitions.TransitionsMixin.transition` (permission, evidence, audit); :func:`effect` is its event part.
"""

from __future__ import annotations

import datetime as dt
import json
from collections import defaultdict
from collections.abc import Sequence
from typing import Any

from sqlalchemy import select

from .. import audit
from ..event_rules import due_at, limit_for, next_level
from ..limits import ValidationFailed, to_text
from ..models import (
    BEIJING,
    EVENT_KIND_LABELS,
    EVENT_KINDS,
    EVENT_LEVEL_LABELS,
    EVENT_LEVELS,
    EVENT_SOURCES,
    Attachment,
    EnforcementCase,
    Event,
    ProgressEntry,
    Record,
    now_beijing,
)
from ..rbac import can_supervise, require
from ..workflow import EVENT, Transition
from .base import ServiceBase, WorkflowError, clean_code
from .parts import PartsMixin

#: states in which the dispatched units owe an answer (the deadline runs)
OPEN_STATES = ("dispatched", "returned")
#: states in which the bureau must act (dispatch, verify)
BUREAU_TODO = ("new", "answered")
ALARM_KEYS = ("id", "station", "hour", "rule", "level", "evidence", "note")


def applicable(rec: Record, t: Transition) -> bool:
    """A step that applies to this record at all: only a 环境违法线索 becomes an enforcement case."""
    return not (rec.kind == "event" and t.name == "to_case" and getattr(rec, "event_kind", None) != "violation")


def _aware(value: Any, label: str) -> dt.datetime | None:
    """A time from an aware datetime or an ISO text (a naive one is Beijing time, as the platform's hours are)."""
    if value is None or value == "":
        return None
    if isinstance(value, dt.datetime):
        t = value
    elif isinstance(value, str):
        try:
            t = dt.datetime.fromisoformat(value.strip())
        except ValueError:
            raise ValidationFailed(f"{label}：无法识别的时间 {value[:40]!r}（应为 ISO 8601，如 2024-05-31T08:00）") from None
    else:
        raise ValidationFailed(f"{label}：应为时间，收到 {value!r}"[:120])
    return t.replace(tzinfo=BEIJING) if t.tzinfo is None else t.astimezone(BEIJING)


def _level(value: Any) -> str:
    if value in EVENT_LEVELS:
        return value
    for k, label in EVENT_LEVEL_LABELS.items():
        if value == label:
            return k
    raise ValidationFailed(f"事件级别应为 {'/'.join(EVENT_LEVELS)}（{'、'.join(EVENT_LEVEL_LABELS.values())}）")


def _kind(value: Any) -> str:
    if value in EVENT_KINDS:
        return value
    for k, label in EVENT_KIND_LABELS.items():
        if value == label:
            return k
    raise ValidationFailed(f"事件类别应为 {'/'.join(EVENT_KINDS)}（{'、'.join(EVENT_KIND_LABELS.values())}）")


def alarm_evidence_text(alarm: dict[str, Any]) -> str:
    """The alarm as a UTF-8 JSON text (the evidence file attached to the event and carried to a case)."""
    return json.dumps(audit.jsonable(alarm), ensure_ascii=False, indent=2, sort_keys=True)


class EventMixin(PartsMixin, ServiceBase):
    """Creating events, answering with files, turning a clue into a case, escalation, to-do lists, statistics."""

    def create_event(self, *, event_kind: str, level: str, description: str, title: str | None = None,
                     station: str | None = None, location: str | None = None,
                     occurred_at: dt.datetime | str | None = None, district: int | str | None = None,
                     code: str | None = None, note: str | None = None, source: str = "manual",
                     alarm: dict[str, Any] | None = None) -> Event:
        """Register an event (bureau staff). ``alarm``: the alarm it comes from (kept as evidence)."""
        kind, lvl = _kind(event_kind), _level(level)
        if source not in EVENT_SOURCES:
            raise ValidationFailed(f"事件来源应为 {'/'.join(EVENT_SOURCES)}")
        description = to_text(description, "事件描述", required=True)  # type: ignore[assignment]
        station = to_text(station, "站点", max_len=100)
        location = to_text(location, "地点", max_len=200)
        when = _aware(occurred_at, "发生时间")
        if when is not None and when > self.now:
            raise ValidationFailed("发生时间晚于现在")
        where = station or location or ""
        default_title = f"{EVENT_KIND_LABELS[kind]}：{where + '，' if where else ''}{description}"
        rec = Event(code=clean_code(code) or self._next_code("event", "SJ"),
                    title=(to_text(title, "标题") or default_title)[:300], event_kind=kind, level=lvl, source=source,
                    alarm_id=to_text(str(alarm["id"]), "报警编号", max_len=100) if alarm else None,
                    alarm_evidence=audit.jsonable(alarm) if alarm else None, station=station, location=location,
                    occurred_at=when, description=description, escalations=0, start_date=self.today,
                    disclosed=False)
        return self._init_record(rec, status=None, district=district, note=note)  # type: ignore[return-value]

    def event_from_alarm(self, alarm: dict[str, Any], *, event_kind: str = "quality",
                         district: int | str | None = None, code: str | None = None) -> Event:
        """One action: an event from an alarm of the alarm centre (a plain dict: ``id``, ``station``, ``hour``,
        ``rule``, ``level``, ``evidence`` numbers, ``note`` — the cause note), the alarm's evidence attached as
        a JSON text file (when a file store is configured) and kept on the event. The same alarm twice is
        refused: it already has its event."""
        if not isinstance(alarm, dict) or alarm.get("id") in (None, ""):
            raise ValidationFailed("报警应为含 id 的对象")
        unknown = set(alarm) - set(ALARM_KEYS) - {"district", "location", "title", "event_kind"}
        if unknown:
            raise ValidationFailed(f"报警含未知字段：{'、'.join(sorted(unknown))}")
        alarm_id = str(alarm["id"])
        taken = self.s.execute(select(Event.code).where(Event.alarm_id == alarm_id)).scalar()
        if taken is not None:
            raise WorkflowError(f"报警 {alarm_id} 已生成调度事件 {taken}")
        rule = to_text(alarm.get("rule"), "报警规则", max_len=100) or "报警"
        note = to_text(alarm.get("note"), "初步原因分析")
        hour = _aware(alarm.get("hour"), "报警时间")
        station = to_text(alarm.get("station"), "站点", max_len=100)
        desc = f"{rule}（{hour.strftime('%Y-%m-%d %H:%M') if hour else '时间未知'}）"
        if note:
            desc += f"。初步原因分析：{note}"
        rec = self.create_event(event_kind=alarm.get("event_kind") or event_kind, level=alarm.get("level") or "general",
                                description=desc, station=station, location=alarm.get("location"),
                                occurred_at=hour, district=alarm.get("district", district), source="alarm",
                                alarm=alarm, title=alarm.get("title"), code=code, note=f"由报警 {alarm_id} 生成")
        if self.files is not None:
            name = f"报警证据-{''.join(c if c.isalnum() or c in '-_' else '_' for c in alarm_id)[:60]}.txt"
            atts = self._store_files(rec, [(name, alarm_evidence_text(alarm).encode("utf-8"))], "evidence")
            self._bump(rec)
            self._audit("attachment.add", "record", rec.id, record=rec,
                        after={"purpose": "evidence", "attachments": [
                            {"id": a.id, "filename": a.filename, "sha256": a.sha256} for a in atts]})
        return rec

    def answer_event(self, event_id: int, findings: str, files: Sequence[tuple[str, bytes]] = ()) -> Event:
        """The unit's answer (反馈): its findings and evidence files (photos, documents — the upload checks of
        :mod:`..files`), in one transaction with the workflow step."""
        rec = self.transition(event_id, "answer", {"findings": findings})
        if files:
            entry = ProgressEntry(record=rec, entry_date=self.today, author_id=self.p.user_id,
                                  author_name=self.p.name, text=f"反馈：{rec.findings}", created_at=now_beijing())
            self.s.add(entry)
            self.s.flush()
            atts = self._store_files(rec, files, "evidence", entry)
            self._bump(rec)
            self._audit("progress.add", "progress_entry", entry.id, record=rec,
                        after={"entry_date": self.today, "text": entry.text, "attachments": [
                            {"filename": a.filename, "sha256": a.sha256, "size": a.size} for a in atts]})
        return rec  # type: ignore[return-value]

    def event_to_case(self, event_id: int, *, party: str, violation: str, legal_basis: str | None = None,
                      case_no: str | None = None, note: str | None = None) -> EnforcementCase:
        """A 环境违法线索 becomes an enforcement case in one step (the ``to_case`` transition); returns the case."""
        rec = self.transition(event_id, "to_case", {"party": party, "violation": violation, "legal_basis": legal_basis,
                                                    "case_no": case_no, "note": note})
        return self.s.get(EnforcementCase, rec.case_id)  # type: ignore[attr-defined, return-value]

    def escalate_overdue(self, now: dt.datetime | None = None) -> list[Event]:
        """Escalate every event whose units did not answer by the deadline: one level up (特别重大 stays) and
        referred to the bureau's leaders (提请局领导督办), with an ``event.escalate`` audit entry. Idempotent: an
        event is escalated once per deadline (``escalated_due_at``); running again changes nothing."""
        require(can_supervise(self.p), "超期升级须由局机关或系统执行")
        at = _aware(now, "时间") or self.now
        rows = self.s.execute(select(Event).where(Event.status.in_(OPEN_STATES), Event.due_at.is_not(None),
                                                  Event.due_at < at).order_by(Event.due_at, Event.id)).scalars()
        out = []
        for ev in rows:
            if ev.escalated_due_at is not None and ev.escalated_due_at == ev.due_at:
                continue
            before = {"level": ev.level, "escalations": ev.escalations}
            ev.level = next_level(ev.level)
            ev.escalations += 1
            ev.escalated_due_at = ev.due_at
            self._touch(ev)
            self.s.flush()
            hours = (at - ev.due_at).total_seconds() / 3600  # type: ignore[operator]
            self._audit("event.escalate", "event", ev.id, record=ev, before=before,
                        after={"level": ev.level, "escalations": ev.escalations, "due_at": ev.due_at,
                               "escalated_to": "局领导督办", "at": at},
                        note=f"超过办理期限 {hours:.1f} 小时未反馈，升级为“{EVENT_LEVEL_LABELS[ev.level]}”，提请局领导督办")
            out.append(ev)
        return out

    # --- reading --------------------------------------------------------------------------------------------

    def event_overdue(self, ev: Event, at: dt.datetime | None = None) -> bool:
        """Not answered and past its deadline (to the hour)."""
        at = at or self.now
        return ev.status in OPEN_STATES and ev.due_at is not None and at > ev.due_at

    def list_events(self, *, state: str | Sequence[str] | None = None, unit: int | str | None = None,
                    event_kind: str | None = None, overdue: bool | None = None, limit: int | None = 200,
                    offset: int = 0) -> tuple[int, list[Event]]:
        """Events the principal may see, newest first, filtered by state, unit (dispatched to), kind, overdue."""
        stmt = select(Event)
        vis = self._visibility()
        if vis is not None:
            stmt = stmt.where(vis)
        if state:
            states = [state] if isinstance(state, str) else list(state)
            bad = [x for x in states if x not in EVENT.states]
            if bad:
                raise ValidationFailed(f"事件状态应为 {'/'.join(EVENT.states)}")
            stmt = stmt.where(Event.status.in_(states))
        if event_kind:
            stmt = stmt.where(Event.event_kind == _kind(event_kind))
        if unit is not None and unit != "":
            from ..models import RecordUnit

            u = self.unit(unit)
            stmt = stmt.where(Event.id.in_(select(RecordUnit.record_id).where(RecordUnit.unit_id == u.id,
                                                                              RecordUnit.role == "responsible")))
        at = self.now
        if overdue is not None:
            od = (Event.status.in_(OPEN_STATES)) & Event.due_at.is_not(None) & (Event.due_at < at)
            stmt = stmt.where(od if overdue else ~od)
        rows = list(self.s.execute(stmt.order_by(Event.created_at.desc(), Event.id.desc())).scalars())
        end = None if limit is None else offset + limit
        return len(rows), rows[offset:end]

    def my_todo(self) -> list[Event]:
        """我的待办: for a unit, the events dispatched to it that still need its answer (the host's) or its part (an
        assisting unit's findings, docs/ledger.md#主办协办); for the bureau, the events to dispatch or verify — the earliest deadline first (no deadline last, then oldest first)."""
        if self.p.is_public:
            return []
        states = BUREAU_TODO if can_supervise(self.p) else OPEN_STATES
        _, rows = self.list_events(state=list(states), limit=None)
        rows = [e for e in rows if self.owes_answer(e)]  # an assisting unit (协办) whose findings are in owes nothing
        far = dt.datetime.max.replace(tzinfo=BEIJING)
        return sorted(rows, key=lambda e: (e.due_at or far, e.created_at, e.id))

    def event_stats(self, *, month: str | None = None) -> dict[str, Any]:
        """Dispatch statistics over the events the principal may see, by unit and by month of dispatch:
        ``issued`` (dispatched), ``in_time`` (first answer by the deadline), ``overdue`` (answered late, or not
        answered and past the deadline), ``open``, ``mean_response_hours`` (dispatch → first answer).
        ``month`` (``YYYY-MM``) keeps one month."""
        if month is not None:
            try:
                dt.date.fromisoformat(f"{month}-01")
            except ValueError:
                raise ValidationFailed(f"月份应为 YYYY-MM，收到 {month[:20]!r}") from None
        _, rows = self.list_events(limit=None)
        at = self.now
        cells: dict[tuple[str, str], list[Event]] = defaultdict(list)
        totals: list[Event] = []
        for ev in rows:
            if ev.dispatched_at is None:
                continue
            m = ev.dispatched_at.astimezone(BEIJING).strftime("%Y-%m")
            if month is not None and m != month:
                continue
            totals.append(ev)
            for name in self.unit_names(ev, "responsible"):
                cells[(name, m)].append(ev)

        def figures(evs: list[Event]) -> dict[str, Any]:
            in_time = sum(1 for e in evs if e.first_response_at is not None and e.first_response_at <= e.due_at)
            late = sum(1 for e in evs if (e.first_response_at is not None and e.first_response_at > e.due_at)
                       or (e.first_response_at is None and e.status in OPEN_STATES and at > e.due_at))
            hours = [(e.first_response_at - e.dispatched_at).total_seconds() / 3600 for e in evs
                     if e.first_response_at is not None and e.dispatched_at is not None]
            return {"issued": len(evs), "in_time": in_time, "overdue": late,
                    "open": sum(1 for e in evs if e.status in OPEN_STATES),
                    "in_time_rate": round(in_time / len(evs), 4) if evs else None,
                    "mean_response_hours": round(sum(hours) / len(hours), 2) if hours else None}

        rows = [{"unit": u, "month": m, **figures(evs)} for (u, m), evs in cells.items()]
        rows.sort(key=lambda r: (r["month"], -r["issued"], r["unit"]))  # per month, the busiest unit first
        return {"as_of": at.isoformat(), "month": month, "total": figures(totals), "by_unit_month": rows}


def effect(svc: ServiceBase, rec: Event, t: Transition, payload: dict[str, Any], on: dt.date,
           before: dict[str, Any], after: dict[str, Any]) -> None:
    """Dispatch (units, deadline), answer, verify, send back, to case, cancel — timed to the hour (``svc.now``)."""
    now = svc.now
    if t.name == "dispatch":
        before["responsible"] = svc.unit_names(rec, "responsible")
        svc._set_units(rec, "responsible", payload["unit_ids"])
        if not rec.units:
            raise WorkflowError("派发须选择至少一个承办单位")
        after.update(svc.set_host(rec, payload.get("host_unit_id"), "派发"))  # type: ignore[attr-defined]
        rec.dispatched_at = now
        rec.due_at = due_at(rec.event_kind, rec.level, now, svc.cal)
        last_day = (rec.due_at - dt.timedelta(microseconds=1)).date()
        rec.deadline_kind, rec.deadline, rec.start_date = "date", last_day, now.date()
        after.update(responsible=svc.unit_names(rec, "responsible"), dispatched_at=now, due_at=rec.due_at,
                     time_limit=limit_for(rec.event_kind, rec.level).label)
    elif t.name == "answer":
        before.update(findings=rec.findings)
        rec.findings = payload["findings"]
        rec.answered_at = now
        rec.first_response_at = rec.first_response_at or now
        after.update(findings=rec.findings, answered_at=now, late=bool(rec.due_at and now > rec.due_at))
    elif t.name == "close":
        rec.verified_at = now
        after.update(verified_at=now)
    elif t.name == "send_back":
        before.update(answered_at=rec.answered_at)
        rec.return_reason, rec.answered_at = payload["reason"], None
        after.update(return_reason=rec.return_reason, answered_at=None, due_at=rec.due_at)
    elif t.name == "to_case":
        case = _file_case(svc, rec, payload)
        rec.case_id, rec.verified_at = case.id, now
        after.update(case_id=case.id, case_code=case.code)


def _file_case(svc: ServiceBase, ev: Event, payload: dict[str, Any]) -> EnforcementCase:
    """The enforcement case of a violation clue: same units and district, the event's story as its first progress
    entry, and the event's evidence files linked (new attachment rows on the case pointing at the same stored,
    content-addressed files — nothing is copied on disk, nothing can diverge)."""
    units = svc.unit_names(ev, "responsible")
    case = svc.create_case(party=payload["party"], violation=payload["violation"],  # type: ignore[attr-defined]
                           filed_on=svc.today, legal_basis=payload.get("legal_basis"), case_no=payload.get("case_no"),
                           responsible=units, district=ev.district_id, note=f"由调度事件 {ev.code} 转立案")
    story = [f"来源：调度事件 {ev.code}（{EVENT_KIND_LABELS[ev.event_kind]}，{EVENT_LEVEL_LABELS[ev.level]}）",
             f"事件描述：{ev.description}"]
    if ev.findings:
        story.append(f"承办单位核查：{ev.findings}")
    if ev.alarm_id:
        story.append(f"报警 {ev.alarm_id} 的证据：{json.dumps(ev.alarm_evidence, ensure_ascii=False)[:4000]}")
    entry = ProgressEntry(record=case, entry_date=svc.today, author_id=svc.p.user_id, author_name=svc.p.name,
                          text="\n".join(story), created_at=now_beijing())
    svc.s.add(entry)
    svc.s.flush()
    linked = []
    for a in sorted(ev.attachments, key=lambda x: x.id):
        svc.s.add(copy := Attachment(record=case, progress_entry=entry, purpose="evidence", filename=a.filename,
                                     content_type=a.content_type, size=a.size, sha256=a.sha256,
                                     storage_key=a.storage_key, uploaded_by_id=a.uploaded_by_id,
                                     uploaded_at=now_beijing()))
        linked.append((a, copy))
    svc.s.flush()
    svc._bump(case)
    svc._audit("event.evidence_to_case", "case", case.id, record=case,
               after={"event_id": ev.id, "event_code": ev.code, "progress_id": entry.id,
                      "attachments": [{"from": a.id, "id": c.id, "filename": c.filename, "sha256": c.sha256}
                                      for a, c in linked]})
    return case


def source_event(svc: ServiceBase, case_id: int) -> Event | None:
    """The event a case came from (the link is kept on the event: ``Event.case_id``)."""
    return svc.s.execute(select(Event).where(Event.case_id == case_id)).scalar()
