"""Rectification items after an inspection (督察整改任务): creation and workflow effects."""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from typing import Any

from ..limits import to_int, to_text
from ..models import BEIJING, RectificationItem
from ..workflow import Transition
from .base import ServiceBase, clean_code, to_date, to_flag


class RectificationMixin(ServiceBase):
    """Creating rectification items."""

    def create_rectification(self, *, seq: int, source_inspection: str, problem: str, title: str | None = None,
                             deadline_kind: str = "date", deadline: dt.date | str | None = None,
                             start_date: dt.date | str | None = None, responsible: Sequence[int | str] = (),
                             cooperating: Sequence[int | str] = (), lead: Sequence[int | str] | None = None, measures: str | None = None,
                             district: int | str | None = None, status: str | None = None,
                             completion_note: str | None = None, disclosed: bool = False,
                             disclosure_text: str | None = None, code: str | None = None,
                             note: str | None = None) -> RectificationItem:
        problem = to_text(problem, "问题", required=True)  # type: ignore[assignment]
        rec = RectificationItem(
            code=clean_code(code) or self._next_code("rectification", "ZG"),
            title=(to_text(title, "标题") or problem)[:300], seq=to_int(seq, "seq"),
            source_inspection=to_text(source_inspection, "督察来源", max_len=200, required=True), problem=problem,
            deadline_kind=deadline_kind, deadline=to_date(deadline, "整改时限"),
            start_date=to_date(start_date, "开始日期"), measures=to_text(measures, "整改措施"),
            completion_note=to_text(completion_note, "完成情况说明"), disclosed=to_flag(disclosed, "是否公开"),
            disclosure_text=to_text(disclosure_text, "公开说明"),
        )
        return self._init_record(rec, status=status, responsible=responsible, cooperating=cooperating,
                                 lead=lead, district=district, note=note)  # type: ignore[return-value]


def effect(svc: ServiceBase, rec: RectificationItem, t: Transition, payload: dict[str, Any], on: dt.date,
           before: dict[str, Any], after: dict[str, Any]) -> None:
    """Submit, accept, sign off (disclosing the item) and reopen: the evidence and who/when."""
    stamp = dt.datetime.combine(on, dt.time(12, 0), BEIJING)
    if t.name == "submit":
        before["completion_note"], rec.completion_note = rec.completion_note, payload["completion_note"].strip()
        after["completion_note"] = rec.completion_note
    elif t.name == "accept":
        before["acceptance_evidence"] = rec.acceptance_evidence
        rec.acceptance_evidence = payload["acceptance_evidence"].strip()
        rec.accepted_at, rec.accepted_by_id = stamp, svc.p.user_id
        after.update(acceptance_evidence=rec.acceptance_evidence, accepted_on=on)
    elif t.name == "sign_off":
        text = (payload.get("disclosure_text") or rec.disclosure_text or "").strip()
        before.update(disclosed=rec.disclosed, disclosure_text=rec.disclosure_text,
                      signoff_evidence=rec.signoff_evidence)
        rec.signoff_evidence = payload["signoff_evidence"].strip()
        rec.disclosure_text, rec.disclosed = text, True
        rec.signed_off_at, rec.signed_off_by_id = stamp, svc.p.user_id
        after.update(disclosed=True, disclosure_text=text, signoff_evidence=rec.signoff_evidence, signed_off_on=on)
    elif t.name == "reopen":
        before.update(accepted_at=rec.accepted_at, signed_off_at=rec.signed_off_at)
        rec.accepted_at = rec.signed_off_at = None
        after.update(accepted_at=None, signed_off_at=None)
