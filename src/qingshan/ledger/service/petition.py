"""Petitions (信访/12369): creation and the workflow effects with the legal time limits."""

from __future__ import annotations

import datetime as dt
from typing import Any

from ..limits import ValidationFailed, to_text
from ..models import PETITION_CHANNEL_LABELS, PETITION_CHANNELS, Petition
from ..workflow import POLICIES, Transition, accept_due, reply_due
from .base import ServiceBase, WorkflowError, clean_code, lead_names, to_date


def petition_title(channel: str, category: Any, received: dt.date) -> str:
    """A default title that carries no personal data: the complaint's text is content, the title is outline."""
    cat = category.strip() if isinstance(category, str) and category.strip() else "信访件"
    return f"{cat}（{PETITION_CHANNEL_LABELS[channel]}，{received.isoformat()} 收件）"



class PetitionMixin(ServiceBase):
    """Registering petitions (the acceptance deadline from the channel's policy)."""

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
        rec = Petition(code=clean_code(code) or self._next_code("petition", "XF"),
                       title=(to_text(title, "标题") or petition_title(channel, category, received))[:300],
                       channel=channel, category=to_text(category, "类别", max_len=50), received_on=received,
                       complainant=to_text(complainant, "信访人", max_len=100),
                       contact=to_text(contact, "联系方式", max_len=100), content=content, accept_due=due, extension_days=0, deadline_kind="date", deadline=due,
                       start_date=received, disclosed=False)
        return self._init_record(rec, status=None, district=district, note=note)  # type: ignore[return-value]


def effect(svc: ServiceBase, rec: Petition, t: Transition, payload: dict[str, Any], on: dt.date,
           before: dict[str, Any], after: dict[str, Any]) -> None:
    """Accept, reject, assign, extend, reply, close and reopen, with the legal time limits on the working-day calendar."""
    policy = POLICIES[rec.channel]
    if on < rec.received_on:
        raise ValidationFailed("办理日期早于收件日期")
    if t.name == "accept":
        rec.accepted_on = on
        due = reply_due(policy, on, 0, svc.cal)
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
        before.update(responsible=svc.unit_names(rec, "responsible"), host=(lead_names(rec) or [None])[0])
        svc._set_units(rec, "responsible", ids)
        after.update(svc.set_host(rec, payload.get("host_unit_id"), "交办"))  # type: ignore[attr-defined]
        if not rec.assigned_on:
            rec.assigned_on = on
        after.update(responsible=svc.unit_names(rec, "responsible"), assigned_on=rec.assigned_on)
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
        rec.deadline = reply_due(policy, rec.accepted_on or rec.received_on, days, svc.cal)
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
