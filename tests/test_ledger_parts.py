"""分工完成情况 (issue 15): one of several units may no longer complete a whole key task, rectification item or
project. Each unit reports its own part; the lead unit (牵头) submits the whole once every other unit has reported;
co-responsible units without a lead (按职责分工负责) leave the whole to the bureau; a cooperating unit never
completes it. Service, API (403/409 with the reason in Chinese) and audit.
"""

from __future__ import annotations

import pytest
from sqlalchemy import select, text

from qingshan.ledger.app import create_app
from qingshan.ledger.db import make_engine, open_ledger, upgrade
from qingshan.ledger.models import AuditEntry, RecordUnit
from qingshan.ledger.rbac import PermissionDenied
from qingshan.ledger.service import ValidationFailed, WorkflowError

from .ledger_fixtures import (  # noqa: F401
    PASSWORD,
    TODAY,
    fast_password_hashing,
    ledger,
    ledger_url,
    org,
    principal_of,
    service,
    workspace,
)

API = "/api/v1/ledger"
SHARED = ["市住建局", "市水利局", "市交通运输局"]


def _task(svc, *, responsible, cooperating=(), lead=None, seq=7):
    """A key task whose only indicator is already met (so nothing but the units' rule stands in the way)."""
    t = svc.create_key_task(seq=seq, plan="测试方案", year=2024, title=f"共同任务{seq}", responsible=responsible,
                            cooperating=cooperating, lead=lead,
                            indicators=[{"name": "整治河道", "target": 3, "unit": "条"}])
    svc.record_indicator_value(t.indicators[0].id, 3, as_of="2024-05-01")
    return t.id


def _actions(s, record_id):
    return [e.action for e in s.execute(select(AuditEntry).where(AuditEntry.record_id == record_id)
                                        .order_by(AuditEntry.id)).scalars()]


@pytest.fixture
def client(ledger_url, workspace, org):
    from fastapi.testclient import TestClient

    app = create_app(workspace, url=ledger_url, today=TODAY)
    with TestClient(app) as c:
        yield c


def login(client, username):
    r = client.post("/api/v1/auth/token", data={"username": username, "password": PASSWORD})
    assert r.status_code == 200, r.text
    return {"Authorization": f"Bearer {r.json()['access_token']}"}


def test_one_of_several_co_responsible_units_cannot_complete_the_whole_task(ledger, client):
    """The defect: 市住建局, one of three units answerable by division of duties (按职责分工负责, no lead), marked the
    whole task complete. Now it gets 403 with the reason, reports its own part instead, and the bureau confirms."""
    with ledger.session() as s:
        task = _task(service(s), responsible=SHARED)
    zj = login(client, "zj")
    r = client.post(f"{API}/items/{task}/transitions", headers=zj,
                    json={"name": "complete", "payload": {"completion_note": "我局部分已完成"}})
    assert r.status_code == 403, r.text
    assert "按职责分工共同负责" in r.json()["detail"] and "局机关确认" in r.json()["detail"]
    assert client.get(f"{API}/items/{task}", headers=zj).json()["status"] == "in_progress"
    assert "complete" not in [t["name"] for t in client.get(f"{API}/items/{task}/transitions", headers=zj).json()]
    # each unit reports its own part; the page's data say who has and who has not
    r = client.post(f"{API}/items/{task}/parts", headers=zj, json={"note": "住建部分：3 条河道沿线工地整治完成"})
    assert r.status_code == 201, r.text
    d = r.json()
    assert (d["parts_reported"], d["parts_total"], d["lead"]) == (1, 3, [])
    assert [(p["unit"], p["reported"], p["role"]) for p in d["parts"]] == [
        ("市住建局", True, "co_responsible"), ("市水利局", False, "co_responsible"),
        ("市交通运输局", False, "co_responsible")]
    assert d["parts"][0]["note"].startswith("住建部分") and d["parts"][0]["done_on"] == TODAY.isoformat()
    for user in ("sl", "jt"):
        assert client.post(f"{API}/items/{task}/parts", headers=login(client, user),
                           json={"note": "本单位部分已完成"}).status_code == 201
    # every part in: still not a co-responsible unit's step
    r = client.post(f"{API}/items/{task}/transitions", headers=zj,
                    json={"name": "complete", "payload": {"completion_note": "全部完成"}})
    assert r.status_code == 403
    r = client.post(f"{API}/items/{task}/transitions", headers=login(client, "bureau"),
                    json={"name": "complete", "payload": {"completion_note": "三个单位均已报送，局机关确认完成"}})
    assert r.status_code == 200 and r.json()["status"] == "completed"
    with ledger.session() as s:
        assert _actions(s, task)[-4:] == ["part.report", "part.report", "part.report", "transition.complete"]
        last = s.execute(select(AuditEntry).where(AuditEntry.record_id == task)
                         .order_by(AuditEntry.id.desc())).scalars().first()
        assert "parts_outstanding" not in last.after


def test_the_lead_completes_only_once_every_cooperating_unit_has_reported(ledger, org):
    with ledger.session() as s:
        task = _task(service(s), responsible=["市住建局"], cooperating=["市水利局", "市交通运输局"])
        zj, sl, jt = (service(s, principal_of(s, u)) for u in ("zj", "sl", "jt"))
        assert zj.get(task).units[0].lead  # the only responsible unit is the lead
        with pytest.raises(PermissionDenied, match="牵头单位市住建局"):
            sl.transition(task, "complete", {"completion_note": "配合单位想办结整体任务"})
        with pytest.raises(WorkflowError, match="尚有 2 个单位未报送.*市水利局、市交通运输局"):
            zj.transition(task, "complete", {"completion_note": "完成"})
        sl.report_part(task, "水利部分完成")
        with pytest.raises(WorkflowError, match="尚有 1 个单位未报送本单位完成情况：市交通运输局"):
            zj.transition(task, "complete", {"completion_note": "完成"})
        jt.report_part(task, "交通部分完成", on="2024-05-30")
        zj.transition(task, "complete", {"completion_note": "牵头单位汇总：全部完成"})
        assert zj.get(task).status == "completed"
        entries = s.execute(select(AuditEntry).where(AuditEntry.record_id == task, AuditEntry.action == "part.report")
                            .order_by(AuditEntry.id)).scalars().all()
        assert [(e.actor_name, e.after["unit"], e.after["role"], e.after["part_done_on"]) for e in entries] == [
            ("sl", "市水利局", "cooperating", "2024-05-31"), ("jt", "市交通运输局", "cooperating", "2024-05-30")]
        with pytest.raises(WorkflowError, match="不能报送"):  # the record is complete: parts are closed
            sl.withdraw_part(task, "想撤回")


def test_a_second_lead_must_report_and_the_bureau_may_confirm_with_parts_outstanding(ledger, org):
    with ledger.session() as s:
        svc = service(s)
        task = _task(svc, responsible=["市住建局", "市水利局"], cooperating=["市交通运输局"],
                     lead=["市住建局", "市水利局"])
        zj = service(s, principal_of(s, "zj"))
        with pytest.raises(WorkflowError, match="市水利局、市交通运输局"):
            zj.transition(task, "complete", {"completion_note": "完成"})
        service(s, principal_of(s, "bureau")).transition(task, "complete", {"completion_note": "局机关认定完成"})
        step = s.execute(select(AuditEntry).where(AuditEntry.record_id == task, AuditEntry.action ==
                                                  "transition.complete")).scalar_one()
        assert step.after["parts_outstanding"] == ["市住建局", "市水利局", "市交通运输局"] and step.actor_name == "bureau"
        with pytest.raises(ValidationFailed, match="牵头单位须是责任单位之一"):
            _task(svc, responsible=["市住建局"], cooperating=["市水利局"], lead=["市水利局"], seq=8)


def test_each_unit_reports_only_its_own_part(ledger, org, client):
    with ledger.session() as s:
        task = _task(service(s), responsible=["市住建局"], cooperating=["市水利局"])
    sl, jt = login(client, "sl"), login(client, "jt")
    r = client.post(f"{API}/items/{task}/parts", headers=sl, json={"note": "代报", "unit": "市住建局"})
    assert r.status_code == 403 and "不能代市住建局报送" in r.json()["detail"]
    r = client.post(f"{API}/items/{task}/parts", headers=jt, json={"note": "无关单位"})
    assert r.status_code == 403 and "不是“共同任务7”的责任单位或配合单位" in r.json()["detail"]
    r = client.post(f"{API}/items/{task}/parts", headers=sl, json={"note": "水利部分完成", "on": "2024-06-30"})
    assert r.status_code == 422 and "晚于今天" in r.json()["detail"]
    assert client.post(f"{API}/items/{task}/parts", headers=sl, json={"note": "水利部分完成"}).status_code == 201
    r = client.post(f"{API}/items/{task}/parts", headers=sl, json={"note": "再报一次"})
    assert r.status_code == 409 and "已于 2024-05-31 报送" in r.json()["detail"]
    r = client.post(f"{API}/items/{task}/parts", json={"note": "公众"})
    assert r.status_code in (401, 403, 404)
    # withdrawn (with a reason): the lead is blocked again until the unit reports anew
    assert client.post(f"{API}/items/{task}/parts/withdraw", headers=sl, json={"reason": ""}).status_code == 422
    r = client.post(f"{API}/items/{task}/parts/withdraw", headers=sl, json={"reason": "数据有误，需复核"})
    assert r.status_code == 200 and r.json()["parts_reported"] == 0
    r = client.post(f"{API}/items/{task}/transitions", headers=login(client, "zj"),
                    json={"name": "complete", "payload": {"completion_note": "完成"}})
    assert r.status_code == 409 and "市水利局" in r.json()["detail"]
    with ledger.session() as s:
        assert _actions(s, task)[-2:] == ["part.report", "part.withdraw"]
        w = s.execute(select(AuditEntry).where(AuditEntry.record_id == task, AuditEntry.action == "part.withdraw")
                      ).scalar_one()
        assert w.before["note"] == "水利部分完成" and w.note == "数据有误，需复核"


def test_rectification_items_and_projects_follow_the_same_rule(ledger, org):
    with ledger.session() as s:
        svc = service(s)
        item = svc.create_rectification(seq=5, source_inspection="测试督察", problem="共同整改", deadline="2024-12-31",
                                        responsible=["市住建局", "市水利局"]).id
        project = svc.create_project(title="共建项目", responsible=["市水利局"], cooperating=["市住建局"],
                                     status="under_construction").id
        zj, sl = service(s, principal_of(s, "zj")), service(s, principal_of(s, "sl"))
        with pytest.raises(PermissionDenied, match="按职责分工共同负责"):
            zj.transition(item, "submit", {"completion_note": "住建部分完成"})
        assert "submit" not in [t.name for t in zj.allowed_transitions(item)]
        with pytest.raises(WorkflowError, match="市住建局"):
            sl.transition(project, "complete", {"note": "完工"})
        zj.report_part(project, "配套管网完成")
        sl.transition(project, "complete", {"note": "完工"})
        assert sl.get(project).status == "completed"
        # the bureau names a lead afterwards (audited): the lead then submits once the other unit reported
        service(s, principal_of(s, "bureau")).update_record(item, {"lead": ["市住建局"]})
        assert [ru.unit.name for ru in zj.get(item).units if ru.lead] == ["市住建局"]
        sl.report_part(item, "水利部分完成")
        zj.transition(item, "submit", {"completion_note": "牵头汇总"})
        assert zj.get(item).status == "submitted"
        upd = [e for e in s.execute(select(AuditEntry).where(AuditEntry.record_id == item)).scalars()
               if e.action == "record.update"][-1]
        assert upd.before == {"lead": []} and upd.after == {"lead": ["市住建局"]}


def test_migration_makes_the_only_responsible_unit_the_lead(ledger_url, workspace):
    """A ledger at 0003 keeps its meaning after 0004: one responsible unit → the lead; several → none."""
    engine = make_engine(ledger_url)
    try:
        upgrade(engine, "0003")
        with engine.begin() as c:
            c.execute(text("INSERT INTO org_units (id, code, name, kind, active) VALUES "
                           "(1, 'a', '甲', 'department', true), (2, 'b', '乙', 'department', true)"))
            for rid in (1, 2):
                c.execute(text("INSERT INTO ledger_records (id, kind, code, title, status, disclosed, version, "
                               "created_at, updated_at) VALUES (:i, 'key_task', :c, 't', 'in_progress', false, 1, "
                               "CURRENT_TIMESTAMP, CURRENT_TIMESTAMP)"), {"i": rid, "c": f"K{rid}"})
            c.execute(text("INSERT INTO record_units (record_id, unit_id, role, position) VALUES "
                           "(1, 1, 'responsible', 0), (1, 2, 'cooperating', 0), "
                           "(2, 1, 'responsible', 0), (2, 2, 'responsible', 1)"))
    finally:
        engine.dispose()
    lg = open_ledger(workspace, ledger_url)
    try:
        with lg.session() as s:
            rows = s.execute(select(RecordUnit.record_id, RecordUnit.unit_id, RecordUnit.lead)
                             .order_by(RecordUnit.record_id, RecordUnit.role, RecordUnit.unit_id)).all()
        assert [tuple(r) for r in rows] == [(1, 2, False), (1, 1, True), (2, 1, False), (2, 2, False)]
    finally:
        lg.dispose()


def test_a_cooperating_units_open_part_is_on_its_todo_list(ledger, org):
    """我的待办: a cooperating unit (no other action on the record) sees the task while its part is owed."""
    with ledger.session() as s:
        task = _task(service(s), responsible=["市住建局"], cooperating=["市交通运输局"])
        jt = service(s, principal_of(s, "jt"))
        assert task in [r.id for r in jt.todo_records()]
        acts = jt.row_actions([jt.get(task)])[task]
        assert acts.part and not acts.progress and not acts.steps
        jt.report_part(task, "交通部分完成")
        assert task not in [r.id for r in jt.todo_records()]
        assert not jt.row_actions([jt.get(task)])[task].any
