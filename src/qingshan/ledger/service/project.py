"""Projects with investment and milestones (项目): creation, milestones, workflow effects."""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from decimal import Decimal
from typing import Any

from ..limits import ValidationFailed, to_decimal, to_text
from ..models import Milestone, Project
from ..rbac import NotFound
from ..workflow import Transition
from .base import ServiceBase, WorkflowError, clean_code, object_rows, to_date, to_flag


class ProjectMixin(ServiceBase):
    """Creating projects and completing their milestones."""

    def create_project(self, *, title: str, code: str | None = None, category: str | None = None,
                       planned_investment: Any = None, completed_investment: Any = None,
                       percent_complete: Any = None, description: str | None = None,
                       responsible: Sequence[int | str] = (), cooperating: Sequence[int | str] = (), lead: Sequence[int | str] | None = None,
                       district: int | str | None = None, milestones: Sequence[dict[str, Any]] = (),
                       deadline: dt.date | str | None = None, start_date: dt.date | str | None = None,
                       status: str | None = None, disclosed: bool = False, disclosure_text: str | None = None,
                       note: str | None = None) -> Project:
        deadline = to_date(deadline, "完成时限")
        rec = Project(
            code=clean_code(code) or self._next_code("project", "XM"), title=to_text(title, "标题", required=True)[:300],  # type: ignore[index]
            category=to_text(category, "类别", max_len=100),
            planned_investment=to_decimal(planned_investment, "planned_investment"),
            completed_investment=to_decimal(completed_investment, "completed_investment"),
            percent_complete=to_decimal(percent_complete, "percent_complete"),
            description=to_text(description, "说明"), deadline_kind="date" if deadline else None, deadline=deadline,
            start_date=to_date(start_date, "开始日期"), disclosed=to_flag(disclosed, "是否公开"),
            disclosure_text=to_text(disclosure_text, "公开说明"),
        )
        for i, ms in enumerate(object_rows(milestones, "节点")):
            rec.milestones.append(Milestone(
                position=i, name=to_text(ms.get("name"), f"第 {i + 1} 个节点的名称", max_len=200, required=True),
                planned_date=to_date(ms.get("planned_date"), "计划日期"),
                done_date=to_date(ms.get("done_date"), "完成日期")))
        return self._init_record(rec, status=status, responsible=responsible, cooperating=cooperating,
                                 lead=lead, district=district, note=note)  # type: ignore[return-value]

    def set_milestone_done(self, milestone_id: int, done_date: dt.date | str | None) -> Milestone:
        ms = self._get(Milestone, milestone_id)
        if ms is None:
            raise NotFound("节点不存在")
        proj = self._editable(ms.project_id)
        d = to_date(done_date, "完成日期")
        if d is not None and d > self.today:
            raise ValidationFailed("完成日期晚于今天")
        before = ms.done_date
        ms.done_date = d
        self._bump(proj)
        self._audit("milestone.done", "milestone", ms.id, record=proj, before={"name": ms.name, "done_date": before},
                    after={"name": ms.name, "done_date": d})
        return ms


def effect(svc: ServiceBase, rec: Project, t: Transition, payload: dict[str, Any], on: dt.date,
           before: dict[str, Any], after: dict[str, Any]) -> None:
    """Completing needs every milestone done (percent complete becomes 100); starting sets the start date."""
    if t.name == "complete":
        open_ms = [ms.name for ms in rec.milestones if ms.done_date is None]
        if open_ms:
            raise WorkflowError(f"以下节点尚未完成，不能完工：{'、'.join(open_ms)}")
        before["percent_complete"] = rec.percent_complete
        rec.percent_complete = Decimal(100)
        after["percent_complete"] = rec.percent_complete
    elif t.name == "start" and rec.start_date is None:
        before["start_date"], rec.start_date = None, on
        after["start_date"] = on
