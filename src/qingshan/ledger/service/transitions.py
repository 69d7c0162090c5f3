"""Workflow transitions: permission, evidence and the per-kind effects of :data:`.kinds.EFFECTS`."""

from __future__ import annotations

from typing import Any

from .. import audit
from ..limits import ValidationFailed
from ..models import Record, now_beijing
from ..rbac import can_edit, can_supervise, require
from ..workflow import MACHINES, SUPERVISOR, Transition
from .base import EVIDENCE_LABELS, ServiceBase, WorkflowError, clean_payload
from .event import applicable
from .kinds import EFFECTS
from .parts import PartsMixin


class TransitionsMixin(PartsMixin, ServiceBase):
    """Moving records along their state machines."""

    def _may_take(self, rec: Record, t: Transition) -> bool:
        if not applicable(rec, t) or not self.may_declare_whole(rec, t):
            return False
        return can_supervise(self.p) if t.actor == SUPERVISOR else can_edit(self.p, rec)

    def allowed_transitions(self, record_id: int) -> list[Transition]:
        rec = self._record(record_id)
        return [t for t in MACHINES[rec.kind].available(rec.status) if self._may_take(rec, t)]

    def transition(self, record_id: int, name: str, payload: dict[str, Any] | None = None) -> Record:
        """Move a record along its state machine (see :mod:`.workflow`); ``payload`` carries the evidence and an
        optional ``on`` (the date of the step, default today) and ``note``."""
        payload = clean_payload(payload)
        rec = self._record(record_id)
        m = MACHINES[rec.kind]
        try:
            t = m.get(name)
        except KeyError:
            raise ValidationFailed(f"未知操作 {name!r}（{rec.kind} 可用：{'、'.join(x.name for x in m.transitions)}）") from None
        if t.actor == SUPERVISOR:
            require(can_supervise(self.p), f"“{t.label}”须由局机关人员办理")
        else:
            if not self.may_declare_whole(rec, t):
                self.check_whole(rec, t)  # raises: the caller is not a lead unit (the reason names the leads)
            require(can_edit(self.p, rec), f"无权对“{rec.title}”执行“{t.label}”：只有责任单位及局机关可以办理")
        if rec.status not in t.sources:
            raise WorkflowError(f"当前状态“{m.label(rec.status)}”不能执行“{t.label}”")
        parts = self.check_whole(rec, t)
        if not applicable(rec, t):
            raise WorkflowError(f"“{rec.title}”不能执行“{t.label}”（只有环境违法线索可以转立案查处）")
        missing = [f for f in t.requires if not self._evidence(rec, f, payload)]
        if missing:
            raise WorkflowError(f"“{t.label}”缺少必需材料：{'、'.join(EVIDENCE_LABELS.get(f, f) for f in missing)}")
        on = self._on(payload)
        before: dict[str, Any] = {"status": rec.status}
        after: dict[str, Any] = {}
        EFFECTS[rec.kind](self, rec, t, payload, on, before, after)
        rec.status = t.target
        after["status"] = t.target
        after.update(parts)
        if t.target in m.finished:
            rec.closed_at = rec.closed_at or now_beijing()
        else:
            rec.closed_at = None
        self._touch(rec)
        self.s.flush()
        note = payload.get("reason") or payload.get("note")
        self._audit(f"transition.{t.name}", rec.kind, rec.id, before=audit.jsonable(before),
                    after=audit.jsonable({**after, "on": on}), note=str(note) if note else None, record=rec)
        return rec

    @staticmethod
    def _evidence(rec: Record, field: str, payload: dict[str, Any]) -> bool:
        value = payload.get(field)
        if field == "disclosure_text" and not value:
            value = rec.disclosure_text
        if isinstance(value, str):
            return bool(value.strip())
        if isinstance(value, (list, tuple)):
            return len(value) > 0
        return value is not None
