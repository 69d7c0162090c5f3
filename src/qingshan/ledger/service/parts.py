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

**主办/协办** (petitions and dispatch events, :attr:`..workflow.Machine.hosted`): the step that assigns the units
(交办, 派发) names one host (主办单位, ``host_unit_id``; a single unit is its own host), kept as the ``lead`` mark; the
other units are assisting units (协办单位). The host's "part" is the whole answer (答复, 反馈办理情况): it reports no
part of its own, and the answer waits for the assisting units' parts (their findings, :meth:`report_part`); an
assisting unit that tries to answer gets 403 naming the host, the host with parts outstanding 409 naming the
assisting units, the bureau may answer at any time (``parts_outstanding`` in the audit entry).
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
#: the same roles on a petition or an event (主办/协办; several units without a host: assigned before issue 15)
HOST_ROLE_LABELS = {"lead": "主办单位", "responsible": "协办单位", "co_responsible": "承办单位（未指定主办）",
                    "cooperating": "配合单位"}


def hosted(rec: Record) -> bool:
    """Is ``rec`` a petition or an event, whose units are a host and assisting units (module docstring)?"""
    return MACHINES[rec.kind].hosted


def role_label(rec: Record, role: str) -> str:
    return (HOST_ROLE_LABELS if hosted(rec) else ROLE_LABELS)[role]


def host_marks_problem(rec: Record) -> str | None:
    """Why the units of a petition or an event are not a valid 主办/协办 split (None when they are): with several
    units exactly one is the host. (Records assigned to several units before issue 15 have none until the bureau
    names one; this is checked when the units or the host change.)"""
    resp = [ru for ru in rec.units if ru.role == "responsible"]
    hosts = [ru.unit.name for ru in resp if ru.lead]
    if len(hosts) > 1:
        return f"只能指定一个主办单位（收到：{'、'.join(hosts)}）"
    if len(resp) > 1 and not hosts:
        return f"承办单位有 {len(resp)} 个时须指定其中一个为主办单位，其余为协办单位"
    return None


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
        """Names of the units (other than ``besides``) that have not reported their part (a host reports none)."""
        return [ru.unit.name for ru in self.parts(rec)
                if ru.unit_id not in besides and ru.part_done_on is None and not (hosted(rec) and ru.lead)]

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
            who = "、".join(f"{ru.unit.name}（{role_label(rec, part_role(rec, ru))}）" for ru in acting) or "你的单位"
            leads = lead_names(rec)
            if hosted(rec):
                if leads:
                    raise PermissionDenied(f"“{t.label}”须由主办单位{'、'.join(leads)}办理：{who}只能报送本单位办理情况"
                                           f"（协办意见），由主办单位汇总后统一{t.label}")
                raise PermissionDenied(f"“{rec.title}”已交由 {len({ru.unit_id for ru in rec.units})} 个单位办理、尚未"
                                       f"指定主办单位：{who}只能报送本单位办理情况；请局机关指定主办单位，或由局机关"
                                       f"“{t.label}”")
            if leads:
                raise PermissionDenied(f"“{t.label}”须由牵头单位{'、'.join(leads)}提出：{who}只能报送本单位完成情况")
            n = len({ru.unit_id for ru in rec.units})
            raise PermissionDenied(f"“{rec.title}”由 {n} 个单位按职责分工共同负责、未指定牵头单位：{who}只能报送本单位"
                                   f"完成情况，整体“{t.label}”由局机关确认")
        missing = self.outstanding_parts(rec, besides={ru.unit_id for ru in mine})
        if missing and hosted(rec):
            raise WorkflowError(f"尚有 {len(missing)} 个协办单位未报送本单位办理情况：{'、'.join(missing)}；"
                                f"全部报送后主办单位方可“{t.label}”")
        if missing:
            raise WorkflowError(f"尚有 {len(missing)} 个单位未报送本单位完成情况：{'、'.join(missing)}；"
                                f"全部报送后牵头单位方可“{t.label}”")
        return {}

    def _pick_part(self, rec: Record, unit: Any) -> RecordUnit:
        acting = self.acting_units(rec)
        if hosted(rec) and acting:
            parts = [ru for ru in acting if not ru.lead]
            host = [ru for ru in acting if ru.lead]
            chosen = self.unit(unit) if unit not in (None, "") else None
            if host and (not parts or (chosen is not None and chosen.id in {ru.unit_id for ru in host})):
                step = MACHINES[rec.kind].get(next(iter(MACHINES[rec.kind].whole))).label
                raise WorkflowError(f"{host[0].unit.name}是“{rec.title}”的主办单位：主办单位不报送协办意见，"
                                    f"汇总协办单位的办理情况后直接“{step}”")
            acting = parts
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
        text = to_text(note, "本单位办理情况" if hosted(rec) else "本单位完成情况", required=True)
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
        """The units' parts as the record's page and the API show them (``mine``: the caller acts for the unit;
        ``host``: the host of a petition or an event, which answers the whole and reports no part)."""
        acting = {ru.unit_id for ru in self.acting_units(rec)} if not self.p.is_public else set()
        return [{"unit_id": ru.unit_id, "unit": ru.unit.name, "role": part_role(rec, ru),
                 "role_label": role_label(rec, part_role(rec, ru)), "reported": ru.part_done_on is not None,
                 "done_on": ru.part_done_on.isoformat() if ru.part_done_on else None, "note": ru.part_note,
                 "by": ru.part_by, "mine": ru.unit_id in acting, "host": hosted(rec) and bool(ru.lead)}
                for ru in self.parts(rec)]

    def owes_part(self, rec: Record) -> bool:
        """Does a unit the caller acts for (not the bureau acting for all) owe its part of ``rec`` now?"""
        if self.p.is_supervisor or not has_parts(rec):
            return False
        m = MACHINES[rec.kind]
        if rec.status not in {s for n in m.whole for s in m.get(n).sources}:
            return False
        return any(ru.part_done_on is None and not (hosted(rec) and ru.lead) for ru in self.acting_units(rec))

    def owes_answer(self, rec: Record) -> bool:
        """Does the caller owe the whole answer of a petition or an event (it acts for the host, or the units have
        no host split), or a part of it? An assisting unit whose part is in owes nothing more."""
        if not hosted(rec) or not has_parts(rec) or self.p.is_supervisor:
            return True
        return bool(self.leads_acting(rec)) or self.owes_part(rec)

    def set_host(self, rec: Record, ref: Any, step: str) -> dict[str, Any]:
        """Mark the host (主办单位) among the units just assigned by ``step`` (交办, 派发): required with several units,
        one of them; a single unit is its own host. Returns the audit's ``host``/``assisting``."""
        resp = sorted((ru for ru in rec.units if ru.role == "responsible"), key=lambda x: x.position)
        if ref in (None, ""):
            if len(resp) > 1:
                raise ValidationFailed(f"{step}给 {len(resp)} 个单位时须指定主办单位（host_unit_id）：主办单位负责"
                                       "整体答复，其余为协办单位")
            host_id = resp[0].unit_id if resp else None
        else:
            u = self.unit(ref)
            if u.id not in {ru.unit_id for ru in resp}:
                raise ValidationFailed(f"主办单位须是本次{step}的单位之一：{u.name}不在其中")
            host_id = u.id
        for ru in resp:
            ru.lead = ru.unit_id == host_id
        return {"host": next((ru.unit.name for ru in resp if ru.lead), None),
                "assisting": [ru.unit.name for ru in resp if not ru.lead]}
