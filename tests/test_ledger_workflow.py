"""State machines: allowed steps, evidence, who may act, deadlines (overdue / at risk), and their audit entries."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest
from sqlalchemy import select

from qingshan.ledger.models import AuditEntry
from qingshan.ledger.rbac import PermissionDenied
from qingshan.ledger.service import ValidationFailed, WorkflowError
from qingshan.ledger.workflow import MACHINES, RESPONSIBLE, SUPERVISOR, deadline_state

from .ledger_fixtures import (  # noqa: F401
    TODAY,
    fast_password_hashing,
    ledger,
    ledger_url,
    org,
    principal_of,
    service,
    workspace,
)

D = dt.date


@pytest.mark.parametrize("kind", sorted(MACHINES))
def test_machine_definitions_are_consistent(kind):
    m = MACHINES[kind]
    assert m.initial in m.states
    assert m.done <= set(m.states) and m.closed <= set(m.states) and m.clock_stops <= set(m.states)
    names = [t.name for t in m.transitions]
    assert len(names) == len(set(names))
    reachable, frontier = {m.initial}, [m.initial]
    while frontier:
        s = frontier.pop()
        for t in m.available(s):
            assert set(t.sources) <= set(m.states) and t.target in m.states
            assert t.actor in (RESPONSIBLE, SUPERVISOR)
            if t.target not in reachable:
                reachable.add(t.target)
                frontier.append(t.target)
    assert reachable == set(m.states), f"unreachable states in {kind}: {set(m.states) - reachable}"
    assert m.done, "every machine has a done state"


def _audit(s, record_id):
    return s.execute(select(AuditEntry).where(AuditEntry.record_id == record_id).order_by(AuditEntry.id)).scalars().all()


def test_rectification_full_path_with_evidence_and_audit(ledger, org):
    with ledger.session() as s:
        zj = service(s, principal_of(s, "zj"))
        bureau = service(s, principal_of(s, "bureau"))
        with pytest.raises(WorkflowError, match="完成情况说明"):
            zj.transition(org.a, "submit", {})
        with pytest.raises(WorkflowError, match="不能执行"):
            bureau.transition(org.a, "accept", {"acceptance_evidence": "x"})  # not yet submitted
        zj.transition(org.a, "submit", {"completion_note": "27个工地全部整改"})
        with pytest.raises(PermissionDenied):
            zj.transition(org.a, "accept", {"acceptance_evidence": "自己验收自己"})  # supervisor step
        bureau.transition(org.a, "return", {"reason": "材料不全"})
        zj.transition(org.a, "submit", {"completion_note": "补充材料后再次申请"})
        with pytest.raises(WorkflowError, match="验收材料"):
            bureau.transition(org.a, "accept", {"acceptance_evidence": "   "})
        bureau.transition(org.a, "accept", {"acceptance_evidence": "验收意见 常环督〔2024〕1号"})
        rec = bureau.get(org.a)
        assert rec.status == "completed" and rec.accepted_at is not None and rec.closed_at is not None
        assert not rec.disclosed
        with pytest.raises(WorkflowError, match="公开说明"):
            bureau.transition(org.a, "sign_off", {"signoff_evidence": "销号审批表"})  # no disclosure text yet
        bureau.transition(org.a, "sign_off", {"signoff_evidence": "销号审批表", "disclosure_text": "已完成整改并销号"})
        assert rec.status == "signed_off" and rec.disclosed and rec.disclosure_text == "已完成整改并销号"
        bureau.transition(org.a, "reopen", {"reason": "回头看发现反弹"})
        assert rec.status == "in_progress" and rec.closed_at is None
        steps = [e for e in _audit(s, org.a) if e.action.startswith("transition.")]
        assert [e.action for e in steps] == ["transition.submit", "transition.return", "transition.submit",
                                             "transition.accept", "transition.sign_off", "transition.reopen"]
        assert steps[3].before["status"] == "submitted" and steps[3].after["status"] == "completed"
        assert steps[3].after["acceptance_evidence"].startswith("验收意见")
        assert steps[4].before["disclosed"] is False and steps[4].after["disclosed"] is True
        assert steps[0].actor_name == "zj" and steps[3].actor_name == "bureau"
        assert [e.record_version for e in steps] == sorted(e.record_version for e in steps)


def test_status_only_through_transitions(ledger, org):
    with ledger.session() as s:
        bureau = service(s, principal_of(s, "bureau"))
        with pytest.raises(WorkflowError):
            bureau.update_record(org.a, {"status": "completed"})
        with pytest.raises(ValidationFailed):
            bureau.transition(org.a, "teleport", {})


def test_key_task_completes_only_when_indicators_are_met(ledger, org):
    with ledger.session() as s:
        zj = service(s, principal_of(s, "zj"))
        zj.record_indicator_value(org.own_indicator, 3, as_of="2024-03-31")
        with pytest.raises(WorkflowError, match="智慧工地"):
            zj.transition(org.own_task, "complete", {"completion_note": "完成"})
        zj.record_indicator_value(org.own_indicator, "5", as_of="2024-05-31")
        zj.transition(org.own_task, "complete", {"completion_note": "完成5个"})
        assert zj.get(org.own_task).status == "completed"
        entry = [e for e in _audit(s, org.own_task) if e.action == "indicator.value"][-1]
        assert entry.before == {"value": "3"} and entry.after["value"] == "5"


def test_project_completion_needs_milestones(ledger, org):
    with ledger.session() as s:
        sl = service(s, principal_of(s, "sl"))
        with pytest.raises(WorkflowError, match="主体结构"):
            sl.transition(org.project, "complete", {"note": "完工"})
        sl.set_milestone_done(org.milestone, "2024-05-20")
        sl.transition(org.project, "complete", {"note": "完工"})
        p = sl.get(org.project)
        assert p.status == "completed" and p.percent_complete == Decimal(100)
        with pytest.raises(PermissionDenied):
            sl.transition(org.project, "reopen", {"reason": "x"})


def test_campaign_stages_move_one_step_and_rates_are_cumulative(ledger, org):
    with ledger.session() as s:
        sl = service(s, principal_of(s, "sl"))
        bureau = service(s, principal_of(s, "bureau"))
        with pytest.raises(WorkflowError, match="逐级"):
            sl.set_enterprise_stage(org.enterprise, "remediated")
        sl.set_enterprise_stage(org.enterprise, "plan_approved")
        sl.set_enterprise_stage(org.enterprise, "remediated")
        with pytest.raises(PermissionDenied):  # a department may not accept (验收)
            sl.set_enterprise_stage(org.enterprise, "accepted", "验收通过")
        with pytest.raises(WorkflowError, match="验收意见"):
            bureau.set_enterprise_stage(org.enterprise, "accepted")
        bureau.set_enterprise_stage(org.enterprise, "accepted", "现场验收通过")
        bureau.add_enterprises(org.campaign, [{"name": "企业乙"}, {"name": "企业丙", "stage": "plan_approved"},
                                              {"name": "企业丁", "stage": "remediated"}])
        rates = bureau.campaign_rates(org.campaign)
        assert rates == {"enterprises": 4, "plan_approved": 3, "remediated": 2, "accepted": 1,
                         "plan_approved_rate": 0.75, "remediated_rate": 0.5, "accepted_rate": 0.25}
        with pytest.raises(PermissionDenied):
            sl.set_enterprise_stage(org.enterprise, "registered", "退回")
        bureau.set_enterprise_stage(org.enterprise, "remediated", "验收后复查不合格，退回")


def test_petition_lifecycle_extension_and_callback(ledger, org):
    with ledger.session() as s:
        sl = service(s, principal_of(s, "sl"))
        bureau = service(s, principal_of(s, "bureau"))
        zj = service(s, principal_of(s, "zj"))
        p = bureau.get(org.petition)
        assert p.status == "assigned" and p.unit_names(
            "responsible") == ["市水利局"]
        due = p.deadline
        with pytest.raises(PermissionDenied):
            sl.transition(org.petition, "extend", {"days": 10, "reason": "情况复杂"})  # needs approval
        with pytest.raises(WorkflowError, match="1–30"):
            bureau.transition(org.petition, "extend", {"days": 31, "reason": "情况复杂"})
        bureau.transition(org.petition, "extend", {"days": 30, "reason": "需第三方监测", "on": "2024-05-20"})
        assert p.status == "extended" and p.extension_days == 30 and p.deadline > due
        with pytest.raises(PermissionDenied):
            zj.transition(org.petition, "reply", {"reply_text": "不是我们的"})  # not the assigned unit
        sl.transition(org.petition, "reply", {"reply_text": "已督促企业调整作业时间", "on": "2024-05-28"})
        assert not sl.deadline_state(p).overdue  # the reply stops the clock
        with pytest.raises(WorkflowError, match="不满意"):
            bureau.transition(org.petition, "close", {"satisfaction": "unsatisfied"})
        bureau.transition(org.petition, "reopen", {"reason": "回访不满意", "on": "2024-05-29"})
        assert p.status == "assigned" and p.replied_on is None and p.satisfaction == "unsatisfied"
        with pytest.raises(WorkflowError, match="已延期"):
            bureau.transition(org.petition, "extend", {"days": 5, "reason": "再延"})
        sl.transition(org.petition, "reply", {"reply_text": "夜间停工，复测达标", "on": "2024-05-30"})
        bureau.transition(org.petition, "close", {"satisfaction": "satisfied", "on": "2024-05-31"})
        assert p.status == "closed" and p.closed_on == D(2024, 5, 31)
        with pytest.raises(ValidationFailed):
            bureau.transition(org.petition, "reopen", {"reason": "x", "on": "2030-01-01"})  # future date


def test_petition_extension_only_before_due(ledger):
    with ledger.session() as s:
        svc = service(s, today=D(2024, 12, 31))
        svc.create_unit("zl", "钟楼区", "district")
        p = svc.create_petition(channel="letter_visit", received_on="2024-06-03", content="异味")
        svc.transition(p.id, "accept", {"on": "2024-06-04"})
        svc.transition(p.id, "assign", {"unit_ids": ["钟楼区"], "on": "2024-06-05"})
        late = p.deadline + dt.timedelta(days=1)
        with pytest.raises(WorkflowError, match="届满"):
            svc.transition(p.id, "extend", {"days": 10, "reason": "复杂", "on": late})
        assert svc.deadline_state(p).overdue
        refused = svc.create_petition(channel="letter_visit", received_on="2024-06-03", content="与环境无关的诉求")
        svc.transition(refused.id, "reject", {"reason": "不属于生态环境部门职责", "on": "2024-06-05"})
        assert refused.status == "rejected" and not svc.deadline_state(refused).overdue


def test_case_steps_and_transfer(ledger, org):
    with ledger.session() as s:
        sl = service(s, principal_of(s, "sl"))
        bureau = service(s, principal_of(s, "bureau"))
        sl.transition(org.case, "investigate", {"note": "调查终结报告"})
        sl.transition(org.case, "notify", {"note": "告知书已送达"})
        with pytest.raises(PermissionDenied):
            sl.transition(org.case, "decide", {"decision_no": "X", "penalty_amount": 1})
        with pytest.raises(WorkflowError, match="罚款金额"):
            bureau.transition(org.case, "decide", {"decision_no": "常环罚〔2024〕1号"})
        bureau.transition(org.case, "decide", {"decision_no": "常环罚〔2024〕1号", "penalty_amount": "200000"})
        c = bureau.get(org.case)
        assert c.penalty_amount == Decimal(200000) and c.decided_on == TODAY
        with pytest.raises(PermissionDenied):
            sl.transfer_case(org.case, "移送书1号")
        bureau.transfer_case(org.case, "常环移〔2024〕1号", "2024-05-30")
        with pytest.raises(WorkflowError, match="已移送"):
            bureau.transfer_case(org.case, "again")
        sl.transition(org.case, "execute", {"note": "已缴纳"})
        bureau.transition(org.case, "close", {"note": "结案"})
        assert c.status == "closed" and c.transferred_on == D(2024, 5, 30)
        with pytest.raises(WorkflowError):
            bureau.transition(org.case, "dismiss", {"reason": "x"})


def test_deadline_state_rules():
    ds = deadline_state
    start, deadline = D(2023, 7, 31), D(2024, 6, 30)  # 335 days
    assert ds("in_progress", "rectification", start, deadline, None, D(2024, 7, 1)).overdue
    assert not ds("completed", "rectification", start, deadline, None, D(2024, 7, 1)).overdue
    assert not ds("in_progress", "rectification", start, deadline, None, D(2024, 6, 30)).overdue  # due today
    # 30 days left of 335 (< 10 %), no progress in 30 days → at risk
    st = ds("in_progress", "rectification", start, deadline, D(2024, 4, 30), D(2024, 5, 31))
    assert st.at_risk and st.days_left == 30 and st.share_left < 0.1
    # recent progress → not at risk
    assert not ds("in_progress", "rectification", start, deadline, D(2024, 5, 20), D(2024, 5, 31)).at_risk
    # more than 10 % left → not at risk even without progress
    assert not ds("in_progress", "rectification", start, deadline, None, D(2024, 5, 1)).at_risk
    # no date deadline (立行立改/长期坚持) → never overdue
    assert not ds("in_progress", "rectification", start, None, None, D(2030, 1, 1)).overdue


def test_overdue_and_at_risk_filters(ledger):
    with ledger.session() as s:
        svc = service(s, today=D(2024, 6, 5))
        svc.create_unit("zj", "市住建局", "department")
        common = dict(source_inspection="测试", start_date="2023-07-31", responsible=["市住建局"])
        late = svc.create_rectification(seq=1, problem="逾期", deadline="2024-05-31", **common)
        risky = svc.create_rectification(seq=2, problem="临期无进展", deadline="2024-06-30", **common)
        busy = svc.create_rectification(seq=3, problem="临期有进展", deadline="2024-06-30", **common)
        svc.add_progress(busy.id, "本周完成管网改造", entry_date="2024-06-01")
        calm = svc.create_rectification(seq=4, problem="时间充裕", deadline="2025-12-31", **common)
        svc.create_rectification(seq=5, problem="长期坚持", deadline_kind="long_term", **common)
        done = svc.create_rectification(seq=6, problem="逾期但已完成", deadline="2024-01-31", status="completed",
                                        **common)

        def ids(page):
            return {r.id for r in page.items}

        assert ids(svc.list_records(overdue=True)) == {late.id}
        assert ids(svc.list_records(at_risk=True)) == {risky.id}
        assert ids(svc.list_records(kind="rectification", overdue=False)) == {risky.id, busy.id, calm.id, done.id} | {
            r.id for r in svc.list_records(kind="rectification").items if r.deadline_kind == "long_term"}
        assert ids(svc.list_records(deadline_from="2024-06-01", deadline_to="2024-06-30")) == {risky.id, busy.id}
        st = svc.stats()
        assert st["rectification_overdue"] == 1 and st["rectification_at_risk"] == 1
        assert [o["id"] for o in st["overdue"]] == [late.id]
        assert st["by_unit"]["市住建局"] == {"total": 6, "completed": 1, "overdue": 1}
        assert st["by_deadline_month"]["2024-06"] == {"total": 2, "completed": 0}
