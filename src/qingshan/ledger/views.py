"""Plain-dict views of records for the API and the CLI, with the public and personal-data redactions.

The public sees only what a disclosure table shows: kind, code, title, status, deadline, responsible units and
the disclosure text (no internal progress, measures, evidence or audit trail). A petition's or a case's content —
complainant, contact, complaint, reply, progress, attachments, timeline — appears only for supervisors and the
units handling it (:func:`.rbac.can_see_content`); other signed-in users get its outline with ``restricted`` set
and the personal texts masked as ``***``.
"""

from __future__ import annotations

from typing import Any

from .audit import jsonable
from .event_rules import limit_for
from .models import (
    DEADLINE_KIND_LABELS,
    ENTERPRISE_STAGE_LABELS,
    EVENT_KIND_LABELS,
    EVENT_LEVEL_LABELS,
    KIND_LABELS,
    PETITION_CHANNEL_LABELS,
    SATISFACTION_LABELS,
    Campaign,
    EnforcementCase,
    Event,
    KeyTask,
    Petition,
    Project,
    Record,
    RectificationItem,
)
from .rbac import can_edit, can_see_content, can_see_personal_data
from .service import LedgerService, has_parts, latest_value, lead_names, source_event
from .workflow import MACHINES


def summary(svc: LedgerService, rec: Record, state: Any | None = None) -> dict[str, Any]:
    st = state or svc.deadline_state(rec)
    out: dict[str, Any] = {
        "id": rec.id,
        "kind": rec.kind,
        "kind_label": KIND_LABELS[rec.kind],
        "code": rec.code,
        "title": rec.title,
        "status": rec.status,
        "status_label": MACHINES[rec.kind].label(rec.status),
        "deadline_kind": rec.deadline_kind,
        "deadline_label": DEADLINE_KIND_LABELS.get(rec.deadline_kind or "", None),
        "deadline": rec.deadline.isoformat() if rec.deadline else None,
        "responsible": svc.unit_names(rec, "responsible"),
        "cooperating": svc.unit_names(rec, "cooperating"),
        "lead": lead_names(rec),
        **host_fields(svc, rec),
        "district": rec.district.name if rec.district is not None else None,
        "disclosed": rec.disclosed,
    }
    if svc.p.is_public:
        out["disclosure_text"] = rec.disclosure_text
        if isinstance(rec, RectificationItem):
            out["seq"], out["problem"] = rec.seq, rec.problem
        return out
    out.update(overdue=st.overdue, at_risk=st.at_risk, days_left=st.days_left, version=rec.version,
               updated_at=rec.updated_at.isoformat())
    if isinstance(rec, Event):
        out.update(event_summary(svc, rec))
    return out


def host_fields(svc: LedgerService, rec: Record) -> dict[str, Any]:
    """主办/协办 of a petition or an event (docs/ledger.md#主办协办): ``host`` (None before assignment, or for units
    assigned before issue 15 without one) and ``assisting``; nothing for the other kinds."""
    if not MACHINES[rec.kind].hosted:
        return {}
    leads = lead_names(rec)
    return {"host": leads[0] if leads else None,
            "assisting": [n for n in svc.unit_names(rec, "responsible") if n not in leads]}


def event_summary(svc: LedgerService, ev: Event) -> dict[str, Any]:
    """What a dispatch list shows of an event: kind, level, place, the deadline to the hour, overdue now."""
    return {"event_kind": ev.event_kind, "event_kind_label": EVENT_KIND_LABELS[ev.event_kind], "level": ev.level,
            "level_label": EVENT_LEVEL_LABELS[ev.level], "source": ev.source, "alarm_id": ev.alarm_id,
            "station": ev.station, "location": ev.location, "dispatched_at": _d(ev.dispatched_at),
            "due_at": _d(ev.due_at), "answered_at": _d(ev.answered_at), "escalations": ev.escalations,
            "overdue": svc.event_overdue(ev), "created_at": ev.created_at.isoformat()}


MASK = "***"


def _mask(value: Any, show: bool) -> Any:
    return value if show or not value else MASK


def detail(svc: LedgerService, rec: Record) -> dict[str, Any]:
    out = summary(svc, rec)
    if svc.p.is_public:
        return out
    content = can_see_content(svc.p, rec)
    out.update(start_date=rec.start_date.isoformat() if rec.start_date else None,
               disclosure_text=rec.disclosure_text, created_at=rec.created_at.isoformat(),
               closed_at=rec.closed_at.isoformat() if rec.closed_at else None,
               can_edit=can_edit(svc.p, rec), editable_fields=sorted(svc.editable_fields(rec)),
               transitions=[{"name": t.name, "label": t.label, "target": t.target, "requires": list(t.requires)}
                            for t in MACHINES[rec.kind].available(rec.status)
                            if svc._may_take(rec, t)])
    if has_parts(rec):
        # 分工完成情况: every unit's own part (docs/ledger.md#分工完成情况); ``mine``: the caller may report for it
        parts = svc.parts_view(rec)
        owed = [p for p in parts if not p["host"]]  # a host (主办) answers the whole and reports no part
        out.update(parts=parts, parts_reported=sum(p["reported"] for p in owed), parts_total=len(owed),
                   parts_open=rec.status in {s for n in MACHINES[rec.kind].whole
                                             for s in MACHINES[rec.kind].get(n).sources})
    if isinstance(rec, RectificationItem):
        out.update(seq=rec.seq, source_inspection=rec.source_inspection, problem=rec.problem, measures=rec.measures,
                   completion_note=rec.completion_note, acceptance_evidence=rec.acceptance_evidence,
                   accepted_at=rec.accepted_at.isoformat() if rec.accepted_at else None,
                   signoff_evidence=rec.signoff_evidence,
                   signed_off_at=rec.signed_off_at.isoformat() if rec.signed_off_at else None)
    elif isinstance(rec, KeyTask):
        out.update(seq=rec.seq, plan=rec.plan, year=rec.year, section=rec.section, description=rec.description,
                   completion_note=rec.completion_note,
                   indicators=[{"id": i.id, "name": i.name, "target": jsonable(i.target_value), "unit": i.unit,
                                "direction": i.direction, "achieved": jsonable(latest_value(i)),
                                "values": [{"as_of": v.as_of.isoformat(), "value": jsonable(v.value), "note": v.note}
                                           for v in i.values]} for i in rec.indicators])
    elif isinstance(rec, Project):
        out.update(category=rec.category, planned_investment=jsonable(rec.planned_investment),
                   completed_investment=jsonable(rec.completed_investment),
                   percent_complete=jsonable(rec.percent_complete), description=rec.description,
                   milestones=[{"id": m.id, "name": m.name,
                                "planned_date": m.planned_date.isoformat() if m.planned_date else None,
                                "done_date": m.done_date.isoformat() if m.done_date else None} for m in rec.milestones])
    elif isinstance(rec, Campaign):
        rates = svc.campaign_rates(rec.id)
        out.update(description=rec.description, rates=rates,
                   stage_labels=ENTERPRISE_STAGE_LABELS)
    elif isinstance(rec, Petition):
        personal = can_see_personal_data(svc.p, rec)
        out.update(channel=rec.channel, channel_label=PETITION_CHANNEL_LABELS[rec.channel], category=rec.category,
                   received_on=rec.received_on.isoformat(), content=_mask(rec.content, content),
                   complainant=_mask(rec.complainant, personal), contact=_mask(rec.contact, personal),
                   accept_due=_d(rec.accept_due), accepted_on=_d(rec.accepted_on), assigned_on=_d(rec.assigned_on),
                   extension_days=rec.extension_days, extension_reason=_mask(rec.extension_reason, content),
                   replied_on=_d(rec.replied_on), reply_text=_mask(rec.reply_text, content),
                   closed_on=_d(rec.closed_on),
                   callback_on=_d(rec.callback_on), satisfaction=rec.satisfaction,
                   deadline_provisional=bool(rec.deadline and not svc.cal.is_exact(rec.deadline)),
                   satisfaction_label=SATISFACTION_LABELS.get(rec.satisfaction or ""))
    elif isinstance(rec, EnforcementCase):
        out.update(case_no=rec.case_no, party=rec.party, violation=rec.violation, legal_basis=rec.legal_basis,
                   filed_on=_d(rec.filed_on), decision_no=rec.decision_no, decided_on=_d(rec.decided_on),
                   penalty_amount=jsonable(rec.penalty_amount), transferred_on=_d(rec.transferred_on),
                   transfer_ref=rec.transfer_ref, order_served_on=_d(rec.order_served_on),
                   stop_measure_on=_d(rec.stop_measure_on),
                   rechecks=[{"id": r.id, "recheck_on": r.recheck_on.isoformat(),
                              "violation_continues": r.violation_continues, "note": _mask(r.note, content)}
                             for r in rec.rechecks])
        src = source_event(svc, rec.id)
        out["source_event"] = {"id": src.id, "code": src.code} if src is not None and content else None
    elif isinstance(rec, Event):
        case = svc.s.get(EnforcementCase, rec.case_id) if rec.case_id else None
        out.update(description=rec.description, occurred_at=_d(rec.occurred_at), first_response_at=_d(rec.first_response_at),
                   findings=rec.findings, return_reason=rec.return_reason, verified_at=_d(rec.verified_at),
                   alarm_evidence=rec.alarm_evidence, time_limit=limit_for(rec.event_kind, rec.level).label,
                   case={"id": case.id, "code": case.code} if case is not None else None)
    out["restricted"] = not content
    if not content:
        out.update(progress=[], attachments=[], timeline=[])
        return out
    out["progress"] = [{"id": p.id, "entry_date": p.entry_date.isoformat(), "author": p.author_name, "text": p.text,
                        "attachments": [{"id": a.id, "filename": a.filename, "size": a.size} for a in p.attachments]}
                       for p in rec.progress]
    out["attachments"] = [{"id": a.id, "filename": a.filename, "size": a.size, "purpose": a.purpose,
                           "content_type": a.content_type, "uploaded_at": a.uploaded_at.isoformat()}
                          for a in rec.attachments]
    out["timeline"] = svc.timeline(rec.id)
    return out


def _d(v: Any) -> str | None:
    return v.isoformat() if v is not None else None
