"""Enterprise remediation campaigns (专项整治): creation, enterprises and their stages, rates."""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from typing import Any

from sqlalchemy import func, select

from ..limits import MAX_ENTERPRISES_PER_REQUEST, ValidationFailed, to_text
from ..models import ENTERPRISE_STAGES, Campaign, CampaignEnterprise, now_beijing
from ..rbac import NotFound, can_edit, can_supervise, require
from .base import ServiceBase, WorkflowError, clean_code, object_rows, to_date, to_flag


class CampaignMixin(ServiceBase):
    """Creating campaigns, registering their enterprises and moving them through the stages."""

    def create_campaign(self, *, title: str, code: str | None = None, description: str | None = None,
                        responsible: Sequence[int | str] = (), cooperating: Sequence[int | str] = (),
                        deadline: dt.date | str | None = None, start_date: dt.date | str | None = None,
                        district: int | str | None = None, status: str | None = None, disclosed: bool = False,
                        disclosure_text: str | None = None, note: str | None = None) -> Campaign:
        deadline = to_date(deadline, "完成时限")
        rec = Campaign(code=clean_code(code) or self._next_code("campaign", "ZZ"),
                       title=to_text(title, "标题", required=True)[:300], description=to_text(description, "说明"),  # type: ignore[index]
                       deadline_kind="date" if deadline else None, deadline=deadline,
                       start_date=to_date(start_date, "开始日期"), disclosed=to_flag(disclosed, "是否公开"),
                       disclosure_text=to_text(disclosure_text, "公开说明"))
        return self._init_record(rec, status=status, responsible=responsible, cooperating=cooperating,
                                 district=district, note=note)  # type: ignore[return-value]

    def add_enterprises(self, campaign_id: int, rows: Sequence[dict[str, Any]]) -> int:
        """Register enterprises in a campaign (supervisors). One audit entry names how many and which stages."""
        camp = self._record(campaign_id)
        if not isinstance(camp, Campaign):
            raise ValidationFailed("不是专项整治记录")
        require(can_supervise(self.p), "只有局机关人员可以登记专项整治企业")
        rows = object_rows(rows, "企业")
        if len(rows) > MAX_ENTERPRISES_PER_REQUEST:
            raise ValidationFailed(f"一次最多登记 {MAX_ENTERPRISES_PER_REQUEST} 家企业（收到 {len(rows)} 家），请分批提交")
        stages: dict[str, int] = {}
        district_cache: dict[Any, int | None] = {}
        objs = []
        for i, r in enumerate(rows, start=1):
            name = to_text(r.get("name"), f"第 {i} 家企业的名称", max_len=200, required=True)
            stage = r.get("stage") or "registered"
            if stage not in ENTERPRISE_STAGES:
                raise ValidationFailed(f"第 {i} 家企业：整治阶段应为 {'/'.join(ENTERPRISE_STAGES)}")
            did = None
            if (ref := r.get("district")) not in (None, ""):
                key = ref if isinstance(ref, (str, int)) else repr(ref)
                if key not in district_cache:
                    district_cache[key] = self.unit(ref).district_id
                did = district_cache[key]
            objs.append(CampaignEnterprise(campaign_id=camp.id, name=name,
                                           credit_code=to_text(r.get("credit_code"), "统一社会信用代码", max_len=32),
                                           district_id=did, stage=stage, updated_at=now_beijing()))
            stages[stage] = stages.get(stage, 0) + 1
        self.s.add_all(objs)
        self._bump(camp)
        self._audit("campaign.enterprises.add", "campaign", camp.id, record=camp,
                    after={"count": len(objs), "stages": stages})
        return len(objs)

    def set_enterprise_stage(self, enterprise_id: int, stage: str, note: str | None = None) -> CampaignEnterprise:
        """Move an enterprise one stage forward (方案审核 → 整治 → 验收); moving back is for supervisors, with a note.
        Acceptance (验收) needs a note (the acceptance evidence) and a supervisor or the enterprise's district."""
        ent = self._get(CampaignEnterprise, enterprise_id)
        if ent is None:
            raise NotFound("企业不存在")
        camp = self._record(ent.campaign_id)
        if stage not in ENTERPRISE_STAGES:
            raise ValidationFailed(f"整治阶段应为 {'/'.join(ENTERPRISE_STAGES)}")
        note = to_text(note, "阶段说明")
        require(can_edit(self.p, camp), "无权办理该专项整治：只有责任单位及局机关可以办理")
        if self.p.role == "district":
            require(ent.district_id == self.p.district_id, "辖市区用户只能办理本辖区企业")
        cur, new = ENTERPRISE_STAGES.index(ent.stage), ENTERPRISE_STAGES.index(stage)
        if new == cur:
            return ent
        if new < cur:
            require(can_supervise(self.p), "退回整治阶段须由局机关办理")
            if not note:
                raise WorkflowError("退回整治阶段须说明理由")
        elif new != cur + 1:
            raise WorkflowError("整治阶段须逐级推进：方案审核 → 整治 → 验收")
        if stage == "accepted":
            require(can_supervise(self.p) or self.p.role == "district", "验收须由局机关或属地辖市区办理")
            if not note:
                raise WorkflowError("验收须填写验收意见")
        before = ent.stage
        ent.stage, ent.stage_note, ent.updated_at = stage, note, now_beijing()
        self._bump(camp)
        self._audit("enterprise.stage", "campaign_enterprise", ent.id, record=camp,
                    before={"name": ent.name, "stage": before}, after={"name": ent.name, "stage": stage}, note=note)
        return ent

    def campaign_rates(self, campaign_id: int) -> dict[str, Any]:
        camp = self._record(campaign_id)
        rows = dict(self.s.execute(select(CampaignEnterprise.stage, func.count()).where(
            CampaignEnterprise.campaign_id == camp.id).group_by(CampaignEnterprise.stage)).all())
        return campaign_rates_from_counts(rows)


def campaign_rates_from_counts(counts: dict[str, int]) -> dict[str, Any]:
    """Cumulative stage counts and rates: an accepted enterprise also counts as remediated and plan-approved."""
    total = sum(counts.values())
    cum = {}
    running = 0
    for stage in reversed(ENTERPRISE_STAGES):
        running += counts.get(stage, 0)
        cum[stage] = running

    def rate(n: int) -> float | None:
        return round(n / total, 4) if total else None

    return {
        "enterprises": total,
        "plan_approved": cum["plan_approved"],
        "remediated": cum["remediated"],
        "accepted": cum["accepted"],
        "plan_approved_rate": rate(cum["plan_approved"]),
        "remediated_rate": rate(cum["remediated"]),
        "accepted_rate": rate(cum["accepted"]),
    }
