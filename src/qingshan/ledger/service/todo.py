"""我的待办 of the ledger, what the caller may do on each record, and the deadline reminders (the clerk's day).

* **What the caller may do** on a record (:meth:`TodoMixin.row_actions`): report progress (it may edit the record —
  :func:`..rbac.can_edit` — and the record is still open), the workflow steps it may take now (the same rule as
  :meth:`allowed_transitions`: the state machine, then the step's actor), and report its unit's part when that is
  still owed (:mod:`.parts`: cooperating units too).
* **我的待办** (:meth:`TodoMixin.todo_records`): for a department, district or town user, the open records its unit
  may act on, plus the dispatch events it owes an answer (:meth:`my_todo`, the dispatch board's query); for bureau
  staff, the records waiting for a supervisor's step and the events to dispatch or verify. Earliest deadline
  first, records without a date deadline last.
* **Reminders** (:meth:`TodoMixin.deadline_reminders`): overdue and due within ``days`` days, counted with the
  ledger's own rule (:func:`..workflow.deadline_state`, the rule of ``stats()["overdue"]``) on the ledger's today —
  over the caller's 待办 for a unit, over every open record it oversees for bureau staff.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from sqlalchemy import and_, exists, or_, select

from ..models import OrgUnit, Record, RecordUnit
from ..rbac import can_edit
from ..workflow import MACHINES, SUPERVISOR, Transition
from .event import EventMixin
from .queries import QueriesMixin
from .transitions import TransitionsMixin

#: a reminder for records due within this many days (today counts as 0)
REMIND_DAYS = 3


def finishes(kind: str, t: Transition) -> bool:
    """Does step ``t`` complete, sign off or close a record of ``kind`` (its target is a done or closed state)?
    The console asks for a confirmation before such a step."""
    m = MACHINES[kind]
    return t.target in (m.done | m.closed)


@dataclass(frozen=True)
class RowActions:
    """What the caller may do on one record now."""

    progress: bool
    steps: tuple[Transition, ...]
    #: a unit the caller acts for has not reported its part yet (分工完成情况: cooperating units too)
    part: bool = False

    @property
    def any(self) -> bool:
        return self.progress or bool(self.steps) or self.part


class TodoMixin(EventMixin, TransitionsMixin, QueriesMixin):
    """The clerk's day (module docstring)."""

    def row_actions(self, records: list[Record]) -> dict[int, RowActions]:
        out: dict[int, RowActions] = {}
        for r in records:
            if self.p.is_public:
                out[r.id] = RowActions(False, ())
                continue
            steps = tuple(t for t in MACHINES[r.kind].available(r.status) if self._may_take(r, t))
            out[r.id] = RowActions(can_edit(self.p, r) and r.status not in MACHINES[r.kind].finished, steps,
                                   self._part_open(r))
        return out

    def _part_open(self, r: Record) -> bool:
        """Does a unit of the caller's own (not the bureau acting for all) owe its part of ``r`` now?"""
        return self.owes_part(r)

    def _mine(self):
        """SQL pre-filter of :func:`..rbac.can_edit` for a unit's user (the exact rule is applied after)."""
        p = self.p
        if p.role == "department":  # any role: a cooperating unit owes its part (分工完成情况)
            return exists().where(RecordUnit.record_id == Record.id, RecordUnit.unit_id == p.unit_id)
        if p.role == "district":
            return or_(Record.district_id == p.district_id,
                       exists().where(RecordUnit.record_id == Record.id, RecordUnit.unit_id == OrgUnit.id,
                                      OrgUnit.district_id == p.district_id))
        return None

    def _open_visible(self, mine: bool) -> list[Record]:
        conds = [self._not_finished()]
        if (vis := self._visibility()) is not None:
            conds.append(vis)
        if mine and (m := self._mine()) is not None:
            conds.append(m)
        return list(self.s.execute(select(Record).where(and_(*conds))).scalars())

    def todo_records(self) -> list[Record]:
        """我的待办 (module docstring), earliest deadline first."""
        if self.p.is_public:
            return []
        rows = [r for r in self._open_visible(mine=True) if r.kind != "event"]
        acts = self.row_actions(rows)
        if self.p.is_supervisor:
            keep = [r for r in rows if any(t.actor == SUPERVISOR for t in acts[r.id].steps)]
        else:  # an assisting unit (协办) whose part of a petition is in owes nothing more (it may still add progress)
            keep = [r for r in rows if acts[r.id].any and self.owes_answer(r)]
        return sorted([*keep, *self.my_todo()], key=_by_deadline)

    def deadline_reminders(self, days: int = REMIND_DAYS) -> dict[str, object]:
        """Overdue records and those due within ``days`` days (module docstring), earliest deadline first."""
        if self.p.is_public:
            return {"as_of": self.today.isoformat(), "days": days, "overdue": [], "due_soon": []}
        rows = self._open_visible(mine=True) if self.p.is_supervisor else self.todo_records()
        states = self.deadline_states(rows)
        overdue = [r for r in rows if states[r.id].overdue]
        soon = [r for r in rows if not states[r.id].overdue and states[r.id].days_left is not None
                and 0 <= states[r.id].days_left <= days]
        return {"as_of": self.today.isoformat(), "days": days, "states": states,
                "overdue": sorted(overdue, key=_by_deadline), "due_soon": sorted(soon, key=_by_deadline)}


def _by_deadline(r: Record) -> tuple[dt.date, str, int]:
    far = dt.date.max
    return (r.deadline if r.deadline is not None and r.deadline_kind == "date" else far, r.code or "", r.id)
