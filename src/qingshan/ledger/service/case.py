"""Enforcement cases (执法案件): creation, transfer, rechecks, 按日连续处罚, workflow effects."""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from typing import Any

from ..fines import DailyFine, Recheck, daily_fine
from ..limits import ValidationFailed, to_text
from ..models import CaseRecheck, EnforcementCase
from ..rbac import can_supervise, require
from ..workflow import Transition
from .base import ServiceBase, WorkflowError, clean_code, to_date, to_flag


class CaseMixin(ServiceBase):
    """Filing cases, transfer to the police, rechecks and the daily fine."""

    def create_case(self, *, party: str, violation: str, filed_on: dt.date | str, case_no: str | None = None,
                    legal_basis: str | None = None, responsible: Sequence[int | str] = (),
                    district: int | str | None = None, title: str | None = None, code: str | None = None,
                    note: str | None = None) -> EnforcementCase:
        filed = to_date(filed_on, "立案日期")
        if filed is None:
            raise ValidationFailed("立案日期不能为空")
        party = to_text(party, "当事人", max_len=200, required=True)  # type: ignore[assignment]
        violation = to_text(violation, "违法行为", required=True)  # type: ignore[assignment]
        rec = EnforcementCase(code=clean_code(code) or self._next_code("case", "AJ"),
                              title=(to_text(title, "标题") or f"{party}：{violation}")[:300],
                              case_no=to_text(case_no, "案号", max_len=64), party=party, violation=violation,
                              legal_basis=to_text(legal_basis, "法律依据"), filed_on=filed, start_date=filed,
                              disclosed=False)
        return self._init_record(rec, status=None, responsible=responsible, district=district,
                                 note=note)  # type: ignore[return-value]

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
        violation_continues = to_flag(violation_continues, "是否继续违法排放")
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


def effect(svc: ServiceBase, rec: EnforcementCase, t: Transition, payload: dict[str, Any], on: dt.date,
           before: dict[str, Any], after: dict[str, Any]) -> None:
    """A decision records its number, the penalty and the date."""
    if t.name == "decide":
        amount = payload["penalty_amount"]
        before.update(decision_no=rec.decision_no, penalty_amount=rec.penalty_amount)
        rec.decision_no, rec.penalty_amount, rec.decided_on = payload["decision_no"], amount, on
        after.update(decision_no=rec.decision_no, penalty_amount=amount, decided_on=on)
