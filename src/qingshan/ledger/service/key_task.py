"""Annual key tasks with indicators (重点任务): creation, indicator values, workflow effects."""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import replace
from decimal import Decimal
from typing import Any

from ..limits import NUMBERS, ValidationFailed, to_decimal, to_int, to_text
from ..models import Indicator, IndicatorValue, KeyTask, now_beijing
from ..rbac import NotFound
from ..workflow import Transition
from .base import ServiceBase, WorkflowError, clean_code, object_rows, to_date, to_flag


class KeyTaskMixin(ServiceBase):
    """Creating key tasks and recording their indicator values."""

    def create_key_task(self, *, seq: int, plan: str, year: int, title: str, section: str | None = None,
                        description: str | None = None, responsible: Sequence[int | str] = (),
                        cooperating: Sequence[int | str] = (), lead: Sequence[int | str] | None = None, indicators: Sequence[dict[str, Any]] = (),
                        deadline: dt.date | str | None = None, start_date: dt.date | str | None = None,
                        status: str | None = None, disclosed: bool = False, disclosure_text: str | None = None,
                        code: str | None = None, note: str | None = None) -> KeyTask:
        seq, year = to_int(seq, "seq"), to_int(year, "year")  # type: ignore[assignment]
        rec = KeyTask(
            code=clean_code(code) or f"RW-{year}-{seq:02d}", title=to_text(title, "标题", required=True)[:300],  # type: ignore[index]
            seq=seq, plan=to_text(plan, "方案", max_len=200, required=True), year=year,
            section=to_text(section, "类别", max_len=100), description=to_text(description, "说明"),
            deadline_kind="date", deadline=to_date(deadline, "完成时限") or dt.date(year, 12, 31),
            start_date=to_date(start_date, "开始日期") or dt.date(year, 1, 1), disclosed=to_flag(disclosed, "是否公开"),
            disclosure_text=to_text(disclosure_text, "公开说明"),
        )
        for i, ind in enumerate(object_rows(indicators, "指标")):
            name = to_text(ind.get("name"), f"第 {i + 1} 个指标的名称", max_len=200, required=True)
            direction = ind.get("direction") or "min"
            if direction not in ("min", "max"):
                raise ValidationFailed(f"指标“{name}”的方向应为 min（不低于）或 max（不高于）")
            target = to_decimal(ind.get("target"), replace(NUMBERS["indicator"], label=f"指标“{name}”的目标值"))
            if target is None:
                raise ValidationFailed(f"指标“{name}”缺少目标值")
            rec.indicators.append(Indicator(position=i, name=name, unit=to_text(ind.get("unit"), "计量单位", max_len=32) or "",
                                            target_value=target, direction=direction))
        return self._init_record(rec, status=status, responsible=responsible, cooperating=cooperating,
                                 lead=lead, note=note)  # type: ignore[return-value]

    def record_indicator_value(self, indicator_id: int, value: Any, *, as_of: dt.date | str | None = None,
                               note: str | None = None) -> IndicatorValue:
        ind = self._get(Indicator, indicator_id)
        if ind is None:
            raise NotFound("指标不存在")
        task = self._editable(ind.task_id)
        d = to_date(as_of, "截至日期") or self.today
        if d > self.today:
            raise ValidationFailed("截至日期晚于今天")
        v = to_decimal(value, replace(NUMBERS["indicator"], label=f"指标“{ind.name}”的完成值"))
        if v is None:
            raise ValidationFailed(f"指标“{ind.name}”的完成值不能为空")
        note = to_text(note, "说明")
        iv = IndicatorValue(indicator=ind, as_of=d, value=v, note=note, author_id=self.p.user_id,
                            created_at=now_beijing())
        self.s.add(iv)
        self._bump(task)
        self._audit("indicator.value", "indicator", ind.id, record=task,
                    before={"value": latest_value(ind, exclude=iv)}, after={"value": v, "as_of": d, "name": ind.name},
                    note=note)
        return iv


def effect(svc: ServiceBase, rec: KeyTask, t: Transition, payload: dict[str, Any], on: dt.date,
           before: dict[str, Any], after: dict[str, Any]) -> None:
    """Completing a key task needs every indicator at its target."""
    if t.name == "complete":
        unmet = [i.name for i in rec.indicators if not indicator_met(i)]
        if unmet:
            raise WorkflowError(f"以下指标尚未达到目标，不能标记完成：{'、'.join(unmet)}")
        before["completion_note"] = rec.completion_note
        rec.completion_note = payload["completion_note"].strip()
        after["completion_note"] = rec.completion_note


def latest_value(ind: Indicator, exclude: IndicatorValue | None = None) -> Decimal | None:
    vals = [v for v in ind.values if v is not exclude]
    return vals[-1].value if vals else None


def indicator_met(ind: Indicator) -> bool:
    v = latest_value(ind)
    if v is None:
        return False
    return v >= ind.target_value if ind.direction == "min" else v <= ind.target_value
