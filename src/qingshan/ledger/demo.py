"""The demo ledger: Changzhou's 2023 inspection rectification, key tasks, projects, campaigns, petitions and cases.

:func:`build_demo_ledger` writes, **through the service layer** (so every record has its audit trail), the facts
of :mod:`.demo_data`:

* 41 rectification items of the 2023 provincial inspection with deadlines, units, measures and the May 2024
  progress; the 12 completed ones went through 申请验收 → 验收通过 (status 已完成整改); all 41 are disclosed, as
  the city published them;
* 36 key tasks of the 2023 work plan with lead/cooperating units and indicators (2023 values where reported);
  tasks whose every indicator is met are completed through the workflow; the plan is public, so they are
  disclosed, as are the projects and campaigns (facts of the public report);
* 7 projects (Taihu programme, ecological axis, four waste-water plants, the 2024 programme);
* 2 enterprise campaigns: 涉磷企业 (4414 enterprises; 80.58 % / 56.03 % / 39.15 % as of May 2024) and the
  邹区 lamp cluster (83, all accepted);
* 196 petitions handed over by the inspectors (received during the inspection, 31 March – 29 April 2023), 194
  taken through 受理 → 交办 → 答复 → 回访办结 and 2 still being handled;
* 134 VOCs enforcement cases of 2023 whose fines add up to 4,711,600 yuan;
* 5 command-and-dispatch events of May 2024 (synthetic, marked 示例), one of each state of interest: closed (from
  an alarm), turned into an enforcement case (the ledger's 135th case), overdue and escalated, sent back, new.

Names of enterprises, petition texts, individual dates within a period and the split of counts over districts are
**synthetic** (deterministic, seeded): the sources give totals, not lists. Stats reproduce the sources' counts.
"""

from __future__ import annotations

import datetime as dt
import random
from decimal import Decimal
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from . import demo_data as D
from .models import KeyTask, Record
from .rbac import Principal
from .service import LedgerService, indicator_met
from .workcal import DEFAULT_CALENDAR
from .xlsx import parse_deadline

SEED = 20230731
DEMO_ACTOR = "演示数据（据公开报告整理）"


def _date(s: str) -> dt.date:
    return dt.date.fromisoformat(s)


def _units(svc: LedgerService) -> None:
    svc.create_unit(D.BUREAU[0], D.BUREAU[1], "bureau")
    for code, name in D.DEPARTMENTS:
        svc.create_unit(code, name, "department")
    for code, name in D.DISTRICTS:
        svc.create_unit(code, name, "district")
    for code, name, district in D.TOWNS:
        svc.create_unit(code, name, "town", parent=district)


def _rectification(svc: LedgerService) -> None:
    for seq, title, problem, deadline_text, done, resp, coop, measures, progress in D.RECTIFICATION_ITEMS:
        kind, deadline = parse_deadline(deadline_text)
        item = svc.create_rectification(
            seq=seq, source_inspection=D.INSPECTION, problem=problem, title=title, deadline_kind=kind,
            deadline=deadline, start_date=D.FEEDBACK_DATE, responsible=resp, cooperating=coop, measures=measures,
            code=f"SDC2023-{seq:02d}", note=DEMO_ACTOR,
        )
        svc.add_progress(item.id, progress, entry_date=D.REPORT_DATE)
        status_text = "已完成整改" if done else "按序时推进"
        svc.update_record(item.id, {"disclosed": True, "disclosure_text": f"{status_text}。{progress}"}, note=DEMO_ACTOR)
        if done:
            svc.transition(item.id, "submit", {"completion_note": progress, "on": D.SUBMIT_DATE})
            svc.transition(item.id, "accept", {
                "acceptance_evidence": "经牵头部门组织核查，整改完成情况列入2024年整改落实情况公开报告（截至2024年5月）",
                "on": D.REPORT_DATE})


def _key_tasks(svc: LedgerService) -> None:
    year_end = dt.date(2023, 12, 31)
    for seq, section, title, lead, coop, indicators in D.KEY_TASKS:
        task = svc.create_key_task(
            seq=seq, plan=D.PLAN, year=2023, title=title, section=section, responsible=lead, cooperating=coop,
            lead=lead if seq in D.CO_LEAD_TASKS else None,
            indicators=[{"name": n, "target": t, "unit": u, "direction": d} for n, t, u, d, _ in indicators],
            disclosed=True, disclosure_text=f"{D.PLAN}第{seq}项：{title}", note=DEMO_ACTOR,
        )
        assert isinstance(task, KeyTask)
        for ind, (_, _, _, _, achieved) in zip(task.indicators, indicators):
            if achieved is not None:
                svc.record_indicator_value(ind.id, achieved, as_of=year_end, note="2023年完成情况（据公开报告）")
        if task.indicators and all(indicator_met(i) for i in task.indicators):
            svc.transition(task.id, "complete", {"completion_note": "年度量化指标均已达到（据2024年公开报告）",
                                                 "on": D.REPORT_DATE})


def _projects(svc: LedgerService) -> None:
    for (code, title, category, planned, completed, pct, status, resp, coop, district, start, deadline,
         milestones) in D.PROJECTS:
        svc.create_project(
            code=code, title=title, category=category, planned_investment=planned, completed_investment=completed,
            percent_complete=pct, responsible=resp, cooperating=coop, district=district, start_date=start,
            deadline=deadline, status=status,
            milestones=[{"name": n, "planned_date": p, "done_date": d} for n, p, d in milestones],
            disclosed=True, disclosure_text=title, note=DEMO_ACTOR,
        )


def _campaigns(svc: LedgerService, rng: random.Random) -> None:
    phos = svc.create_campaign(
        code="ZZ-SL-2023", title="涉磷企业整治", responsible=[D.B], cooperating=D.ALL_DISTRICTS,
        description="全市涉磷企业逐家方案审核、整治、验收（完成率按企业累计计算）", start_date="2023-01-01",
        deadline="2024-12-31", disclosed=True, disclosure_text="涉磷企业整治进展（截至2024年5月）", note=DEMO_ACTOR,
    )
    cum = D.PHOSPHORUS_CUMULATIVE
    counts = {"accepted": cum["accepted"], "remediated": cum["remediated"] - cum["accepted"],
              "plan_approved": cum["plan_approved"] - cum["remediated"],
              "registered": D.PHOSPHORUS_TOTAL - cum["plan_approved"]}
    stages = [s for s, n in counts.items() for _ in range(n)]
    rng.shuffle(stages)
    weights = [0.16, 0.12, 0.28, 0.16, 0.10, 0.10, 0.08]
    rows = [{"name": f"涉磷企业{i + 1:04d}（示例）", "stage": st,
             "district": rng.choices(D.ALL_DISTRICTS, weights)[0]} for i, st in enumerate(stages)]
    svc.add_enterprises(phos.id, rows)
    lamp = svc.create_campaign(
        code="ZZ-ZQDJ", title="邹区灯具产业集群整治", responsible=["钟楼区"], cooperating=[D.B],
        description="邹区灯具集群涉气企业整治及绩效评估", district="钟楼区", start_date="2024-01-01",
        deadline="2025-06-30", disclosed=True, disclosure_text="邹区灯具集群整治企业全部整治清零", note=DEMO_ACTOR,
    )
    svc.add_enterprises(lamp.id, [{"name": f"灯具企业{i + 1:03d}（示例）", "stage": "accepted", "district": "钟楼区"}
                                  for i in range(D.LAMP_CLUSTER_TOTAL)])
    svc.transition(lamp.id, "close", {"note": "83家企业全部完成整治并通过绩效评估"})


def _workdays_after(day: dt.date, n: int) -> dt.date:
    return DEFAULT_CALENDAR.add_workdays(day, n)


def _petitions(svc: LedgerService, rng: random.Random) -> None:
    start = dt.date(2023, 3, 31)
    days = [start + dt.timedelta(days=i) for i in range(30)]
    weights = [0.18, 0.13, 0.22, 0.17, 0.10, 0.12, 0.08]
    open_left = D.PETITIONS_OPEN
    for i in range(D.PETITIONS_TOTAL):
        district = rng.choices(D.ALL_DISTRICTS, weights)[0]
        cat, text = rng.choice(D.PETITION_CATEGORIES)
        received = rng.choice(days)
        p = svc.create_petition(
            channel="inspection_handover", received_on=received, category=cat, district=district,
            content=f"{text}（{district}，示例）", title=f"督察交办：{district}{cat}问题（示例）",
            code=f"DCJB2023-{i + 1:03d}", note=DEMO_ACTOR,
        )
        accepted = _workdays_after(received, rng.randint(0, 2))
        svc.transition(p.id, "accept", {"on": accepted})
        assigned = _workdays_after(accepted, 1)
        svc.transition(p.id, "assign", {"unit_ids": [district], "on": assigned})
        # the last two handed over stay open ("正在整改")
        if i >= D.PETITIONS_TOTAL - open_left:
            svc.add_progress(p.id, "问题整改中，按序时推进（截至2024年5月）", entry_date=D.REPORT_DATE)
            continue
        replied = _workdays_after(assigned, rng.randint(5, 40))
        svc.transition(p.id, "reply", {"reply_text": "经现场核查，已督促责任主体整改到位，并向交办单位报送办理结果。",
                                       "on": replied})
        callback = _workdays_after(replied, 1)
        sat = rng.choices(["satisfied", "basically_satisfied"], [0.85, 0.15])[0]
        svc.transition(p.id, "close", {"satisfaction": sat, "on": callback})


def _cases(svc: LedgerService, rng: random.Random) -> None:
    raw = [rng.randint(10, 60) for _ in range(D.VOC_CASES)]
    total_units = D.VOC_FINES_YUAN // 100  # fines in hundreds of yuan
    scale = total_units / sum(raw)
    amounts = [int(r * scale) for r in raw]
    amounts[-1] += total_units - sum(amounts)
    violations = ["VOCs 废气未经收集处理直接排放", "VOCs 治理设施未正常运行", "活性炭未按规定更换",
                  "未按规定使用低 VOCs 含量原辅材料", "VOCs 无组织排放控制不到位"]
    for i, hundreds in enumerate(amounts):
        filed = dt.date(2023, 1, 3) + dt.timedelta(days=rng.randint(0, 300))
        district = rng.choice(D.ALL_DISTRICTS)
        c = svc.create_case(
            party=f"涉VOCs企业{i + 1:03d}（示例）", violation=rng.choice(violations), filed_on=filed,
            case_no=f"常环罚〔2023〕{i + 1:03d}号", legal_basis="《中华人民共和国大气污染防治法》",
            responsible=["市生态环境综合行政执法支队"], district=district, code=f"AJ2023-{i + 1:03d}", note=DEMO_ACTOR,
        )
        d1 = filed + dt.timedelta(days=rng.randint(10, 25))
        svc.transition(c.id, "investigate", {"note": "调查终结", "on": d1})
        d2 = d1 + dt.timedelta(days=rng.randint(3, 10))
        svc.transition(c.id, "notify", {"note": "已送达行政处罚事先告知书", "on": d2})
        d3 = d2 + dt.timedelta(days=rng.randint(8, 20))
        svc.transition(c.id, "decide", {"decision_no": f"常环罚决〔2023〕{i + 1:03d}号",
                                        "penalty_amount": Decimal(hundreds) * 100, "on": d3})
        d4 = d3 + dt.timedelta(days=rng.randint(10, 40))
        svc.transition(c.id, "execute", {"note": "罚款已缴纳", "on": min(d4, dt.date(2024, 5, 31))})


def _events(session: Session, actor: Principal) -> None:
    """The events of :data:`.demo_data.EVENTS`, each step taken at its own hour (the service's pinned ``now``)."""
    from .models import BEIJING

    def at(text: str) -> dt.datetime:
        return dt.datetime.strptime(text, "%Y-%m-%d %H:%M").replace(tzinfo=BEIJING)

    for e in D.EVENTS:
        alarm = e.get("alarm")
        first = at(e["steps"][0][0]) - dt.timedelta(minutes=30) if e["steps"] else at("2024-05-31 08:00")
        svc = LedgerService(session, actor, now=first)
        if alarm:
            ev = svc.event_from_alarm(alarm, event_kind=e["event_kind"], district=e["district"], code=e["code"])
        else:
            ev = svc.create_event(event_kind=e["event_kind"], level=e["level"], description=e["description"],
                                  station=e.get("station"), location=e.get("location"), district=e["district"],
                                  code=e["code"], note=DEMO_ACTOR)
        for when, step, payload in e["steps"]:
            svc = LedgerService(session, actor, now=at(when))
            if step == "escalate":
                svc.escalate_overdue()
            elif step == "to_case":
                svc.event_to_case(ev.id, **payload)
            else:
                svc.transition(ev.id, step, payload)


def build_demo_ledger(session: Session, *, actor: Principal | None = None) -> dict[str, Any]:
    """Build the demo ledger into an **empty** ledger; return :meth:`LedgerService.stats` of the result.

    Raises ``ValueError`` if the ledger already holds records (the audit log cannot be reset; start from a new
    workspace or database).
    """
    if session.execute(select(func.count()).select_from(Record)).scalar():
        raise ValueError("台账中已有记录：演示台账只能建在空台账上（请使用新的工作区）")
    svc = LedgerService(session, actor or Principal.system(DEMO_ACTOR))
    rng = random.Random(SEED)
    _units(svc)
    _rectification(svc)
    _key_tasks(svc)
    _projects(svc)
    _campaigns(svc, rng)
    _petitions(svc, rng)
    _cases(svc, rng)
    _events(session, actor or Principal.system(DEMO_ACTOR))
    session.flush()
    return svc.stats()
