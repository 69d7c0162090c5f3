"""Statistics over the records a principal may see (the ``stats`` dictionary)."""

from __future__ import annotations

import math
from typing import Any

from sqlalchemy import func, or_, select

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
        vis = self._visibility()
        base = select(Record.kind, Record.status, func.count()).group_by(Record.kind, Record.status)
        if self.p.is_public:
            # aggregate petition counts are public (bureaus publish them); nothing about a single petition is
            base = base.where(or_(vis, Record.kind == "petition"))
        elif vis is not None:
            base = base.where(vis)
        by_status: dict[str, dict[str, int]] = {k: {} for k in KINDS}
        for kind, status, n in self.s.execute(base).all():
            by_status[kind][status] = n

        def total(kind: str) -> int:
            return sum(by_status[kind].values())

        def done(kind: str) -> int:
            return sum(n for s, n in by_status[kind].items() if s in MACHINES[kind].done)

        rect_total, rect_done = total("rectification"), done("rectification")
        # open records with a date deadline, for overdue / at risk / by month
        stmt = select(Record).where(Record.deadline.is_not(None))
        if vis is not None:
            stmt = stmt.where(vis)
        with_deadline = list(self.s.execute(stmt).scalars())
        states = self.deadline_states(with_deadline)
        overdue = [r for r in with_deadline if states[r.id].overdue]
        at_risk = [r for r in with_deadline if states[r.id].at_risk]
        by_month: dict[str, dict[str, int]] = {}
        for r in with_deadline:
            if r.kind != "rectification":
                continue
            key = r.deadline.strftime("%Y-%m")  # type: ignore[union-attr]
            slot = by_month.setdefault(key, {"total": 0, "completed": 0})
            slot["total"] += 1
            slot["completed"] += r.status in MACHINES[r.kind].done
        rect_stmt = select(Record).where(Record.kind == "rectification")
        if vis is not None:
            rect_stmt = rect_stmt.where(vis)
        by_kind_of_deadline: dict[str, int] = {}
        by_unit: dict[str, dict[str, int]] = {}
        overdue_ids = {r.id for r in overdue}
        for r in self.s.execute(rect_stmt).scalars():
            by_kind_of_deadline[r.deadline_kind or "date"] = by_kind_of_deadline.get(r.deadline_kind or "date", 0) + 1
            for name in self.unit_names(r, "responsible"):
                slot = by_unit.setdefault(name, {"total": 0, "completed": 0, "overdue": 0})
                slot["total"] += 1
                slot["completed"] += r.status in MACHINES["rectification"].done
                slot["overdue"] += r.id in overdue_ids
        campaigns = []
        camp_stmt = select(Campaign)
        if vis is not None:
            camp_stmt = camp_stmt.where(vis)
        for c in self.s.execute(camp_stmt.order_by(Campaign.id)).scalars():
            rows = dict(self.s.execute(select(CampaignEnterprise.stage, func.count()).where(
                CampaignEnterprise.campaign_id == c.id).group_by(CampaignEnterprise.stage)).all())
            campaigns.append({"id": c.id, "code": c.code, "title": c.title, **campaign_rates_from_counts(rows)})
        proj_stmt = select(func.count(), func.sum(Project.planned_investment), func.sum(Project.completed_investment))
        if vis is not None:
            proj_stmt = proj_stmt.where(vis)
        n_proj, planned, completed = self.s.execute(proj_stmt).one()
        case_stmt = select(func.count(), func.sum(EnforcementCase.penalty_amount),
                           func.count(EnforcementCase.transferred_on))
        if vis is not None:
            case_stmt = case_stmt.where(vis)
        n_cases, fines, transferred = self.s.execute(case_stmt).one()
        return {
            "as_of": self.today.isoformat(),
            "scope": self.p.role,
            "rectification_items": rect_total,
            "rectification_completed": rect_done,
            "rectification_in_progress": rect_total - rect_done,
            "rectification_completion_rate": round(rect_done / rect_total, 4) if rect_total else None,
            "rectification_overdue": sum(1 for r in overdue if r.kind == "rectification"),
            "rectification_at_risk": sum(1 for r in at_risk if r.kind == "rectification"),
            "rectification_by_deadline_kind": by_kind_of_deadline,
            "petitions": total("petition"),
            "petitions_closed": done("petition"),
            "petitions_open": total("petition") - done("petition") - by_status["petition"].get("rejected", 0),
            "petitions_overdue": sum(1 for r in overdue if r.kind == "petition"),
            "key_tasks": total("key_task"),
            "key_tasks_completed": done("key_task"),
            "projects": int(n_proj or 0),
            "projects_planned_investment": finite_sum(planned),
            "projects_completed_investment": finite_sum(completed),
            "campaigns": campaigns,
            "enforcement_cases": int(n_cases or 0),
            "enforcement_penalties": finite_sum(fines),
            "enforcement_transferred": int(transferred or 0),
            "by_status": {k: v for k, v in by_status.items() if v},
            "by_unit": dict(sorted(by_unit.items(), key=lambda kv: (-kv[1]["total"], kv[0]))),
            "by_deadline_month": dict(sorted(by_month.items())),
            "overdue": [{"id": r.id, "kind": r.kind, "code": r.code, "title": r.title,
                         "deadline": r.deadline.isoformat() if r.deadline else None,
                         "responsible": self.unit_names(r, "responsible")}
                        for r in sorted(overdue, key=lambda r: (r.deadline, r.kind, r.code))],
            "at_risk": [{"id": r.id, "kind": r.kind, "code": r.code, "title": r.title,
                         "deadline": r.deadline.isoformat() if r.deadline else None}
                        for r in sorted(at_risk, key=lambda r: (r.deadline, r.kind, r.code))],
        }



def finite_sum(total: Any) -> float | None:
    """A sum as a JSON-safe float: None when absent or not finite (a value stored before ranges were enforced)."""
    if total is None:
        return None
    f = float(total)
    return f if math.isfinite(f) else None
