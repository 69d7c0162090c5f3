"""主办/协办 (issue 15, docs/ledger.md#主办协办): a petition assigned (交办) or an event dispatched (派发) to several
units names one host. An assisting unit (协办) reports only its part (its findings) and may not take the step that
answers the whole record (答复, 反馈): 403 naming the host. The host gets 409 naming the assisting units that have
not reported; the bureau may act at any time (the audit lists what was outstanding). Before this change one
assisting unit's answer closed the whole record. Service, API and audit, on SQLite and PostgreSQL.
"""

from __future__ import annotations

import pytest
from sqlalchemy import select, update

from qingshan.ledger.models import AuditEntry, RecordUnit
from qingshan.ledger.rbac import PermissionDenied
from qingshan.ledger.service import ValidationFailed, WorkflowError

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
from .test_ledger_parts import API, client, login  # noqa: F401  (the API client fixture)

NOW_HOURS = "2024-05-31T09:00"


def _event(s, description: str = "河道异味") -> int:
    return service(s, principal_of(s, "bureau")).create_event(event_kind="quality", level="general",
                                                              description=description, district="新北区").id


def _petition(s, units: list[str], host: str | None) -> int:
    b = service(s, principal_of(s, "bureau"))
    p = b.create_petition(channel="hotline_12369", received_on="2024-05-20", content="河道黑臭，多个部门职责交叉",
                          complainant="李四", contact="13900000000", district="新北区")
    b.transition(p.id, "accept", {"on": "2024-05-21"})
    b.transition(p.id, "assign", {"unit_ids": units, "host_unit_id": host, "on": "2024-05-22"})
    return p.id


def _entries(s, record_id: int, action: str) -> list[AuditEntry]:
    return list(s.execute(select(AuditEntry).where(AuditEntry.record_id == record_id, AuditEntry.action == action)
                          .order_by(AuditEntry.id)).scalars())


def test_an_assisting_unit_cannot_answer_a_dispatched_event(ledger, org, client):
    """The defect: 市住建局, assisting on an event dispatched to 新北区 and itself, answered it and the whole event
    was 已反馈. Now: 403 naming the host; it reports its findings as its part; the host answers once they are in."""
    with ledger.session() as s:
        ev = _event(s)
        s.commit()
    bureau, zj, xinbei = login(client, "bureau"), login(client, "zj"), login(client, "xinbei")
    url = f"{API}/events/{ev}"
    r = client.post(f"{url}/dispatch", headers=bureau, json={"unit_ids": ["新北区", "市住建局"]})
    assert r.status_code == 422 and "派发给 2 个单位时须指定主办单位" in r.json()["detail"]
    r = client.post(f"{url}/dispatch", headers=bureau, json={"unit_ids": ["新北区", "市住建局"], "host_unit_id": "市水利局"})
    assert r.status_code == 422 and "主办单位须是本次派发的单位之一：市水利局不在其中" in r.json()["detail"]
    assert client.get(url, headers=bureau).json()["status"] == "new"  # nothing was kept of the refused steps
    r = client.post(f"{url}/dispatch", headers=bureau, json={"unit_ids": ["新北区", "市住建局"], "host_unit_id": "新北区"})
    assert r.status_code == 200, r.text
    d = r.json()
    assert (d["host"], d["assisting"], d["parts_reported"], d["parts_total"]) == ("新北区", ["市住建局"], 0, 1)
    assert [(p["unit"], p["role_label"], p["host"]) for p in d["parts"]] == [("新北区", "主办单位", True),
                                                                             ("市住建局", "协办单位", False)]
    # the assisting unit may not answer the whole event
    r = client.post(f"{url}/answer", headers=zj, data={"findings": "住建：工地已停工"})
    assert r.status_code == 403, r.text
    assert "“反馈办理情况”须由主办单位新北区办理" in r.json()["detail"] and "市住建局（协办单位）" in r.json()["detail"]
    assert client.get(url, headers=zj).json()["status"] == "dispatched"
    assert "answer" not in [t["name"] for t in client.get(url, headers=zj).json()["transitions"]]
    # the host waits for the assisting unit's part
    r = client.post(f"{url}/answer", headers=xinbei, data={"findings": "新北区：已核查"})
    assert r.status_code == 409 and "尚有 1 个协办单位未报送本单位办理情况：市住建局" in r.json()["detail"]
    r = client.post(f"{API}/items/{ev}/parts", headers=zj, json={"note": "住建：河道旁工地已停工整改"})
    assert r.status_code == 201 and r.json()["parts_reported"] == 1
    r = client.post(f"{API}/items/{ev}/parts", headers=xinbei, json={"note": "主办也报一份"})
    assert r.status_code == 409 and "主办单位不报送协办意见" in r.json()["detail"]
    r = client.post(f"{url}/answer", headers=xinbei, data={"findings": "新北区汇总：工地停工，河道已清理"})
    assert r.status_code == 200 and r.json()["status"] == "answered"
    with ledger.session() as s:
        step = _entries(s, ev, "transition.dispatch")[0]
        assert (step.after["host"], step.after["assisting"]) == ("新北区", ["市住建局"])
        part = _entries(s, ev, "part.report")[0]
        assert (part.actor_name, part.after["unit"], part.after["note"]) == ("zj", "市住建局", "住建：河道旁工地已停工整改")
        answer = _entries(s, ev, "transition.answer")[0]
        assert answer.actor_name == "xinbei" and "parts_outstanding" not in answer.after


def test_petition_host_replies_once_the_assisting_units_reported_and_the_bureau_at_any_time(ledger, org):
    with ledger.session() as s:
        pid = _petition(s, ["市水利局", "市住建局", "市交通运输局"], "市水利局")
        sl, zj, jt = (service(s, principal_of(s, u)) for u in ("sl", "zj", "jt"))
        assert [t.name for t in sl.allowed_transitions(pid)] == ["reply"]
        assert "reply" not in [t.name for t in zj.allowed_transitions(pid)]
        with pytest.raises(PermissionDenied, match="“答复”须由主办单位市水利局办理：市住建局（协办单位）只能报送"):
            zj.transition(pid, "reply", {"reply_text": "住建部门答复"})
        with pytest.raises(WorkflowError, match="尚有 2 个协办单位未报送本单位办理情况：市住建局、市交通运输局；全部报送后主办单位方可“答复”"):
            sl.transition(pid, "reply", {"reply_text": "已处理"})
        zj.report_part(pid, "住建：沿河工地污水已截流")
        with pytest.raises(WorkflowError, match="尚有 1 个协办单位.*：市交通运输局；"):
            sl.transition(pid, "reply", {"reply_text": "已处理"})
        assert sl.get(pid).status == "assigned"
        # the bureau may answer at any time: the audit entry lists the assisting unit still outstanding
        service(s, principal_of(s, "bureau")).transition(pid, "reply", {"reply_text": "局机关汇总答复"})
        assert sl.get(pid).status == "replied"
        step = _entries(s, pid, "transition.reply")[0]
        assert step.after["parts_outstanding"] == ["市交通运输局"] and step.actor_name == "bureau"
        assign = _entries(s, pid, "transition.assign")[0]
        assert (assign.after["host"], assign.after["assisting"]) == ("市水利局", ["市住建局", "市交通运输局"])


def test_single_unit_assignment_is_unchanged_and_the_host_must_be_one_of_the_units(ledger, org):
    with ledger.session() as s:
        sl = service(s, principal_of(s, "sl"))
        # the fixture's petition is assigned to 市水利局 alone: it is its own host and replies as before
        assert [(ru.unit.name, ru.lead) for ru in sl.get(org.petition).units] == [("市水利局", True)]
        sl.transition(org.petition, "reply", {"reply_text": "已处理完毕"})
        assert sl.get(org.petition).status == "replied"
        assert not _entries(s, org.petition, "part.report")
        with pytest.raises(ValidationFailed, match="主办单位须是本次交办的单位之一：市住建局不在其中"):
            _petition(s, ["市水利局"], "市住建局")
        with pytest.raises(ValidationFailed, match="交办给 2 个单位时须指定主办单位"):
            _petition(s, ["市水利局", "市住建局"], None)
        with pytest.raises(ValidationFailed, match="只能是一个单位"):
            _petition(s, ["市水利局", "市住建局"], ["市水利局", "市住建局"])  # type: ignore[arg-type]


def test_todo_lists_an_assisting_units_open_part_until_it_is_reported(ledger, org):
    with ledger.session() as s:
        ev = _event(s)
        b = service(s, principal_of(s, "bureau"))
        b.transition(ev, "dispatch", {"unit_ids": ["新北区", "市住建局"], "host_unit_id": "新北区"})
        pid = _petition(s, ["市水利局", "市住建局"], "市水利局")
        zj, xinbei, sl = (service(s, principal_of(s, u)) for u in ("zj", "xinbei", "sl"))
        assert {ev, pid} <= {r.id for r in zj.todo_records()}
        assert ev in [e.id for e in zj.my_todo()]
        acts = zj.row_actions([zj.get(pid)])[pid]
        assert acts.part and "reply" not in [t.name for t in acts.steps]
        zj.report_part(ev, "住建部分已核查")
        zj.report_part(pid, "住建部分已处理")
        assert ev not in [e.id for e in zj.my_todo()]
        assert not {ev, pid} & {r.id for r in zj.todo_records()}
        # the hosts still owe the answers
        assert ev in [e.id for e in xinbei.my_todo()] and pid in [r.id for r in sl.todo_records()]
        assert not sl.row_actions([sl.get(pid)])[pid].part  # a host reports no part


def test_reassignment_keeps_one_host_and_the_parts_already_reported(ledger, org):
    """转办 (the bureau changes the units, PATCH responsible/lead): several units need exactly one host; a unit that
    stays keeps its report; 退回重办 and 回访不满意重新办理 keep the host and the parts."""
    with ledger.session() as s:
        pid = _petition(s, ["市水利局", "市住建局"], "市水利局")
        b, zj, jt = (service(s, principal_of(s, u)) for u in ("bureau", "zj", "jt"))
        zj.report_part(pid, "住建部分已处理")
        s.commit()
        with pytest.raises(ValidationFailed, match="承办单位有 2 个时须指定其中一个为主办单位"):
            b.update_record(pid, {"responsible": ["市住建局", "市交通运输局"]})
        s.rollback()  # as the API does with a refused request
        with pytest.raises(ValidationFailed, match="只能指定一个主办单位（收到：市水利局、市住建局）"):
            b.update_record(pid, {"lead": ["市水利局", "市住建局"]})
        s.rollback()
        with pytest.raises(ValidationFailed, match="主办单位须是承办单位之一：市交通运输局 不是本件的承办单位"):
            b.update_record(pid, {"lead": ["市交通运输局"]})
        s.rollback()
        b.update_record(pid, {"responsible": ["市交通运输局", "市住建局"], "lead": ["市交通运输局"]})
        rows = {ru.unit.name: (ru.lead, ru.part_done_on is not None) for ru in b.get(pid).units}
        assert rows == {"市交通运输局": (True, False), "市住建局": (False, True)}
        jt.transition(pid, "reply", {"reply_text": "交通部门汇总答复"})
        b.transition(pid, "reopen", {"reason": "回访不满意"})
        rows = {ru.unit.name: (ru.lead, ru.part_done_on is not None) for ru in b.get(pid).units}
        assert rows == {"市交通运输局": (True, False), "市住建局": (False, True)}
        with pytest.raises(PermissionDenied, match="主办单位市交通运输局"):
            zj.transition(pid, "reply", {"reply_text": "住建答复"})
        # an event sent back (退回重办) keeps its host and the assisting unit's findings
        ev = _event(s)
        b.transition(ev, "dispatch", {"unit_ids": ["新北区", "市住建局"], "host_unit_id": "新北区"})
        zj.report_part(ev, "住建部分")
        xinbei = service(s, principal_of(s, "xinbei"))
        xinbei.transition(ev, "answer", {"findings": "汇总"})
        b.transition(ev, "send_back", {"reason": "请补充照片"})
        with pytest.raises(PermissionDenied, match="主办单位新北区"):
            zj.transition(ev, "answer", {"findings": "住建再答"})
        xinbei.transition(ev, "answer", {"findings": "补充后的汇总"})
        assert xinbei.get(ev).status == "answered"


def test_units_assigned_before_hosts_existed_wait_for_the_bureau_to_name_one(ledger, org):
    """A petition assigned to two units before issue 15 has no host mark: neither unit may reply (the old defect)
    until the bureau names the host (PATCH lead, audited) — or replies itself."""
    with ledger.session() as s:
        pid = _petition(s, ["市水利局", "市住建局"], "市水利局")
        s.execute(update(RecordUnit).where(RecordUnit.record_id == pid).values(lead=False))
        s.expire_all()
        sl, b = service(s, principal_of(s, "sl")), service(s, principal_of(s, "bureau"))
        with pytest.raises(PermissionDenied, match="已交由 2 个单位办理、尚未指定主办单位.*请局机关指定主办单位"):
            sl.transition(pid, "reply", {"reply_text": "已处理"})
        b.update_record(pid, {"lead": ["市水利局"]})
        assert _entries(s, pid, "record.update")[-1].after == {"lead": ["市水利局"]}
        with pytest.raises(WorkflowError, match="市住建局"):
            sl.transition(pid, "reply", {"reply_text": "已处理"})
