"""Statistics over the records a principal may see (the ``stats`` dictionary), computed in named phases."""

from __future__ import annotations

import math
from typing import Any

from sqlalchemy import Select, func, or_, select

from ..models import KINDS, Campaign, CampaignEnterprise, EnforcementCase, Project, Record
from ..workflow import MACHINES
from .campaign import campaign_rates_from_counts
from .queries import QueriesMixin


class StatsMixin(QueriesMixin):
    """The statistics dictionary."""

    def stats(self) -> dict[str, Any]:
        """Counts over the records visible to the principal (the public: disclosed records, plus the aggregate
        petition counts that bureaus publish — never a single petition).

        Stable keys read by outside checks: ``rectification_items``, ``rectification_completed``, ``petitions``,
        ``petitions_closed``, ``key_tasks``.
        """
        by_status = self._status_counts()

        def total(kind: str) -> int:
            return sum(by_status[kind].values())

        def done(kind: str) -> int:
            return sum(n for s, n in by_status[kind].items() if s in MACHINES[kind].done)

        rect_total, rect_done = total("rectification"), done("rectification")
        with_deadline, overdue, at_risk = self._deadline_lists()
        by_deadline_kind, by_unit = self._rectification_breakdown({r.id for r in overdue})
        n_proj, planned, completed = self._project_totals()
        n_cases, fines, transferred = self._case_totals()
        return {
            "as_of": self.today.isoformat(),
            "scope": self.p.role,
            "rectification_items": rect_total,
            "rectification_completed": rect_done,
            "rectification_in_progress": rect_total - rect_done,
            "rectification_completion_rate": round(rect_done / rect_total, 4) if rect_total else None,
            "rectification_overdue": sum(1 for r in overdue if r.kind == "rectification"),
            "rectification_at_risk": sum(1 for r in at_risk if r.kind == "rectification"),
            "rectification_by_deadline_kind": by_deadline_kind,
            "petitions": total("petition"),
            "petitions_closed": done("petition"),
            "petitions_open": total("petition") - done("petition") - by_status["petition"].get("rejected", 0),
            "petitions_overdue": self._petitions_overdue(overdue),
            "key_tasks": total("key_task"),
            "key_tasks_completed": done("key_task"),
            "projects": int(n_proj or 0),
            "projects_planned_investment": finite_sum(planned),
            "projects_completed_investment": finite_sum(completed),
            "campaigns": self._campaign_rates(),
            "enforcement_cases": int(n_cases or 0),
            "enforcement_penalties": finite_sum(fines),
            "enforcement_transferred": int(transferred or 0),
            "by_status": {k: v for k, v in by_status.items() if v},
            "by_unit": dict(sorted(by_unit.items(), key=lambda kv: (-kv[1]["total"], kv[0]))),
            "by_deadline_month": dict(sorted(_rectification_by_month(with_deadline).items())),
            "overdue": [{**_deadline_item(r), "responsible": self.unit_names(r, "responsible")}
                        for r in sorted(overdue, key=_by_deadline)],
            "at_risk": [_deadline_item(r) for r in sorted(at_risk, key=_by_deadline)],
        }

    # --- phases ----------------------------------------------------------------------------------------------

    def _visible(self, stmt: Select) -> Select:
        """``stmt`` restricted to the records the principal may see."""
        vis = self._visibility()
        return stmt if vis is None else stmt.where(vis)

    def _status_counts(self) -> dict[str, dict[str, int]]:
        """Records per kind and status; for the public the aggregate petition counts too."""
        stmt = select(Record.kind, Record.status, func.count()).group_by(Record.kind, Record.status)
        if self.p.is_public:
            # aggregate petition counts are public (bureaus publish them); nothing about a single petition is
            stmt = stmt.where(or_(self._visibility(), Record.kind == "petition"))
        else:
            stmt = self._visible(stmt)
        by_status: dict[str, dict[str, int]] = {k: {} for k in KINDS}
        for kind, status, n in self.s.execute(stmt).all():
            by_status[kind][status] = n
        return by_status

    def _petitions_overdue(self, overdue: list[Record]) -> int:
        """Overdue petitions. The public sees no single petition, but the count is part of the aggregate petition
        figures bureaus publish (as ``petitions`` and ``petitions_closed`` are): counted over every petition with
        the same rule (:func:`.workflow.deadline_state`), never from the public's (petition-free) visible list."""
        if not self.p.is_public:
            return sum(1 for r in overdue if r.kind == "petition")
        rows = list(self.s.execute(select(Record).where(Record.kind == "petition", Record.deadline.is_not(None)))
                    .scalars())
        states = self.deadline_states(rows)
        return sum(1 for r in rows if states[r.id].overdue)

    def _deadline_lists(self) -> tuple[list[Record], list[Record], list[Record]]:
        """Records with a date deadline, and those of them overdue and at risk (open ones only)."""
        with_deadline = list(self.s.execute(self._visible(select(Record).where(Record.deadline.is_not(None))))
                             .scalars())
        states = self.deadline_states(with_deadline)
        overdue = [r for r in with_deadline if states[r.id].overdue]
        at_risk = [r for r in with_deadline if states[r.id].at_risk]
        return with_deadline, overdue, at_risk

    def _rectification_breakdown(self, overdue_ids: set[int]) -> tuple[dict[str, int], dict[str, dict[str, int]]]:
        """Rectification items per kind of deadline, and per responsible unit (total, completed, overdue)."""
        by_deadline_kind: dict[str, int] = {}
        by_unit: dict[str, dict[str, int]] = {}
        for r in self.s.execute(self._visible(select(Record).where(Record.kind == "rectification"))).scalars():
            by_deadline_kind[r.deadline_kind or "date"] = by_deadline_kind.get(r.deadline_kind or "date", 0) + 1
            for name in self.unit_names(r, "responsible"):
                slot = by_unit.setdefault(name, {"total": 0, "completed": 0, "overdue": 0})
                slot["total"] += 1
                slot["completed"] += r.status in MACHINES["rectification"].done
                slot["overdue"] += r.id in overdue_ids
        return by_deadline_kind, by_unit

    def _campaign_rates(self) -> list[dict[str, Any]]:
        """Each visible campaign with its cumulative enterprise stage counts and rates."""
        out = []
        for c in self.s.execute(self._visible(select(Campaign)).order_by(Campaign.id)).scalars():
            rows = dict(self.s.execute(select(CampaignEnterprise.stage, func.count()).where(
                CampaignEnterprise.campaign_id == c.id).group_by(CampaignEnterprise.stage)).all())
            out.append({"id": c.id, "code": c.code, "title": c.title, **campaign_rates_from_counts(rows)})
        return out

    def _project_totals(self) -> tuple[Any, Any, Any]:
        """Number of projects, planned and completed investment."""
        stmt = select(func.count(), func.sum(Project.planned_investment), func.sum(Project.completed_investment))
        return tuple(self.s.execute(self._visible(stmt)).one())  # type: ignore[return-value]

    def _case_totals(self) -> tuple[Any, Any, Any]:
        """Number of cases, sum of penalties, number transferred to the police."""
        stmt = select(func.count(), func.sum(EnforcementCase.penalty_amount),
                      func.count(EnforcementCase.transferred_on))
        return tuple(self.s.execute(self._visible(stmt)).one())  # type: ignore[return-value]


def _rectification_by_month(with_deadline: list[Record]) -> dict[str, dict[str, int]]:
    """Rectification items with a date deadline per deadline month: total and completed."""
    by_month: dict[str, dict[str, int]] = {}
    for r in with_deadline:
        if r.kind != "rectification":
            continue
        slot = by_month.setdefault(r.deadline.strftime("%Y-%m"), {"total": 0, "completed": 0})  # type: ignore[union-attr]
        slot["total"] += 1
        slot["completed"] += r.status in MACHINES[r.kind].done
    return by_month


def _by_deadline(r: Record) -> tuple[Any, str, str]:
    return (r.deadline, r.kind, r.code)


def _deadline_item(r: Record) -> dict[str, Any]:
    return {"id": r.id, "kind": r.kind, "code": r.code, "title": r.title,
            "deadline": r.deadline.isoformat() if r.deadline else None}


def finite_sum(total: Any) -> float | None:
    """A sum as a JSON-safe float: None when absent or not finite (a value stored before ranges were enforced)."""
    if total is None:
        return None
    f = float(total)
    return f if math.isfinite(f) else None
