"""Each unit's own part of a record with several units (分工完成情况), and who may declare the whole record done.

A key task of the annual plan names a lead unit (牵头单位) and cooperating units (配合单位) — "市生态环境局牵头，市住建局、
水利局配合" — or several units each answerable for its own share (按职责分工负责); rectification items and projects
are assigned the same way. The lead unit answers for the whole task; the other units report their part to it; the
bureau confirms completion. So (docs/ledger.md#分工完成情况):

* every unit attached to the record (responsible or cooperating) reports **its own part** done
  (:meth:`PartsMixin.report_part`, with a note and a date; audited as ``part.report``) and may withdraw a report
  made in error while the record is open (``part.withdraw``, with a reason); the bureau may do either for a unit;
* the step that declares the whole record done (:attr:`..workflow.Machine.whole`: 申请验收, 完成, 完工) is taken by
  a **lead** unit only, and only once every other unit has reported (:meth:`PartsMixin.check_whole`): a cooperating
  or co-responsible unit gets *permission denied* (403), the lead with parts outstanding a workflow error (409)
  naming the units; bureau staff may take it at any time (their audit entry lists what was outstanding);
* a record with one responsible unit and no cooperating unit is unchanged: that unit is its lead and has nobody to
  wait for.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from ..limits import ValidationFailed, to_text
from ..models import KIND_LABELS, Record, RecordUnit
from ..rbac import PermissionDenied
from ..workflow import MACHINES, Transition
from .base import ServiceBase, WorkflowError, lead_names, to_date

ROLE_LABELS = {"lead": "牵头单位", "responsible": "责任单位", "co_responsible": "共同责任单位", "cooperating": "配合单位"}


def part_role(rec: Record, ru: RecordUnit) -> str:
    """``lead``, ``responsible`` (beside a lead), ``co_responsible`` (several, no lead: 按职责分工负责) or
    ``cooperating``."""
    if ru.role == "cooperating":
        return "cooperating"
    if ru.lead:
        return "lead"
    return "responsible" if lead_names(rec) else "co_responsible"


def has_parts(rec: Record) -> bool:
    """Does the record's kind split its work into units' parts, and has it more than one unit?"""
    return bool(MACHINES[rec.kind].whole) and len({ru.unit_id for ru in rec.units}) > 1


class PartsMixin(ServiceBase):
    """分工完成情况 (module docstring)."""

    def acting_units(self, rec: Record) -> list[RecordUnit]:
        """The record's units the principal acts for: bureau staff for all of them, a department for its own unit,
        a district user for the units of its district (its scope in :mod:`..rbac`), the public for none."""
        p = self.p
        if p.is_supervisor:
            return list(rec.units)
        if p.role == "department":
            return [ru for ru in rec.units if ru.unit_id == p.unit_id]
        if p.role == "district":
            return [ru for ru in rec.units if ru.unit_id == p.unit_id or ru.unit.district_id == p.district_id]
        return []

    def parts(self, rec: Record) -> list[RecordUnit]:
        """The record's units, lead units first, then responsible, then cooperating (each in its listed order)."""
        order = {"lead": 0, "responsible": 1, "co_responsible": 1, "cooperating": 2}
        return sorted(rec.units, key=lambda ru: (order[part_role(rec, ru)], ru.position))

    def outstanding_parts(self, rec: Record, besides: set[int] = frozenset()) -> list[str]:  # type: ignore[assignment]
        """Names of the units (other than ``besides``) that have not reported their part."""
        return [ru.unit.name for ru in self.parts(rec) if ru.unit_id not in besides and ru.part_done_on is None]

    def leads_acting(self, rec: Record) -> list[RecordUnit]:
        """The lead units of ``rec`` that the principal acts for."""
        return [ru for ru in self.acting_units(rec) if ru.role == "responsible" and ru.lead]

    def may_declare_whole(self, rec: Record, t: Transition) -> bool:
        """May the principal take ``t`` as far as the units go (the lead rule; parts are checked when it is taken)?"""
        if t.name not in MACHINES[rec.kind].whole or self.p.is_supervisor or not has_parts(rec):
            return True
        return bool(self.leads_acting(rec))

    def check_whole(self, rec: Record, t: Transition) -> dict[str, Any]:
        """Refuse ``t`` (a whole-record step) unless the principal is the bureau or a lead unit whose co-units all
        reported; returns what the audit entry records of the parts."""
        if t.name not in MACHINES[rec.kind].whole or not has_parts(rec):
            return {}
        if self.p.is_supervisor:
            out = self.outstanding_parts(rec)
            return {"parts_outstanding": out} if out else {}
        mine = self.leads_acting(rec)
        if not mine:
            acting = self.acting_units(rec)
            who = "、".join(f"{ru.unit.name}（{ROLE_LABELS[part_role(rec, ru)]}）" for ru in acting) or "你的单位"
            leads = lead_names(rec)
            if leads:
                raise PermissionDenied(f"“{t.label}”须由牵头单位{'、'.join(leads)}提出：{who}只能报送本单位完成情况")
            n = len({ru.unit_id for ru in rec.units})
            raise PermissionDenied(f"“{rec.title}”由 {n} 个单位按职责分工共同负责、未指定牵头单位：{who}只能报送本单位"
                                   f"完成情况，整体“{t.label}”由局机关确认")
        missing = self.outstanding_parts(rec, besides={ru.unit_id for ru in mine})
        if missing:
            raise WorkflowError(f"尚有 {len(missing)} 个单位未报送本单位完成情况：{'、'.join(missing)}；"
                                f"全部报送后牵头单位方可“{t.label}”")
        return {}

    def _pick_part(self, rec: Record, unit: Any) -> RecordUnit:
        acting = self.acting_units(rec)
        if not acting:
            raise PermissionDenied(f"你的单位不是“{rec.title}”的责任单位或配合单位，不能报送分工完成情况")
        if unit not in (None, ""):
            u = self.unit(unit)
            rows = [ru for ru in acting if ru.unit_id == u.id]
            if rows:
                return rows[0]
            if self.p.is_supervisor:
                raise ValidationFailed(f"{u.name}不是“{rec.title}”的责任单位或配合单位")
            raise PermissionDenied(f"不能代{u.name}报送或撤回分工完成情况")
        own = [ru for ru in acting if ru.unit_id == self.p.unit_id]
        if own:
            return own[0]
        if len({ru.unit_id for ru in acting}) == 1:
            return acting[0]
        raise ValidationFailed(f"请选择单位（可选：{'、'.join(ru.unit.name for ru in acting)}）")

    def _open_for_parts(self, record_id: int) -> Record:
        rec = self._record(record_id)
        if self.p.is_public:
            raise PermissionDenied("公众不能报送分工完成情况")
        m = MACHINES[rec.kind]
        if not m.whole:
            raise WorkflowError(f"{KIND_LABELS[rec.kind]}不按单位分工报送完成情况")
        if rec.status in m.finished or rec.status not in {s for n in m.whole for s in m.get(n).sources}:
            raise WorkflowError(f"“{rec.title}”当前为“{m.label(rec.status)}”，不能报送或撤回分工完成情况")
        return rec

    def report_part(self, record_id: int, note: Any, *, unit: Any = None, on: dt.date | str | None = None) -> RecordUnit:
        """A unit reports that its own part of the record is done (module docstring)."""
        rec = self._open_for_parts(record_id)
        ru = self._pick_part(rec, unit)
        if ru.part_done_on is not None:
            raise WorkflowError(f"{ru.unit.name}已于 {ru.part_done_on.isoformat()} 报送本单位完成情况；如需更正，请先撤回")
        text = to_text(note, "本单位完成情况", required=True)
        day = to_date(on, "完成日期") or self.today
        if day > self.today:
            raise ValidationFailed(f"完成日期 {day.isoformat()} 晚于今天，不能预先报送")
        ru.part_done_on, ru.part_note, ru.part_by = day, text, self.p.name[:100]
        self._bump(rec)
        self._audit("part.report", rec.kind, rec.id, record=rec, note=text,
                    before={"unit": ru.unit.name, "part_done_on": None},
                    after={"unit": ru.unit.name, "role": part_role(rec, ru), "part_done_on": day.isoformat(),
                           "note": text})
        return ru

    def withdraw_part(self, record_id: int, reason: Any, *, unit: Any = None) -> RecordUnit:
        """Withdraw a unit's report (its own mistake, or the bureau sending the part back), with a reason."""
        rec = self._open_for_parts(record_id)
        ru = self._pick_part(rec, unit)
        if ru.part_done_on is None:
            raise WorkflowError(f"{ru.unit.name}尚未报送本单位完成情况，无需撤回")
        text = to_text(reason, "撤回理由", required=True)
        before = {"unit": ru.unit.name, "part_done_on": ru.part_done_on.isoformat(), "note": ru.part_note,
                  "by": ru.part_by}
        ru.part_done_on = ru.part_note = ru.part_by = None
        self._bump(rec)
        self._audit("part.withdraw", rec.kind, rec.id, record=rec, note=text, before=before,
                    after={"unit": ru.unit.name, "part_done_on": None})
        return ru

    def parts_view(self, rec: Record) -> list[dict[str, Any]]:
        """The units' parts as the record's page and the API show them (``mine``: the caller acts for the unit)."""
        acting = {ru.unit_id for ru in self.acting_units(rec)} if not self.p.is_public else set()
        return [{"unit_id": ru.unit_id, "unit": ru.unit.name, "role": part_role(rec, ru),
                 "role_label": ROLE_LABELS[part_role(rec, ru)], "reported": ru.part_done_on is not None,
                 "done_on": ru.part_done_on.isoformat() if ru.part_done_on else None, "note": ru.part_note,
                 "by": ru.part_by, "mine": ru.unit_id in acting} for ru in self.parts(rec)]
