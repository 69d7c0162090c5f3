"""Command and dispatch (指挥调度, issue 14 item 3): the ledger kind ``event`` on SQLite and PostgreSQL.

The workflow with send-back and to-case (evidence carried over), RBAC (a unit sees only what was dispatched to it,
the public nothing), deadlines by kind and level on the working-day calendar, idempotent escalation, statistics
against a hand count, the audit trail of every step, the API and the monthly report's section.
"""

from __future__ import annotations

import datetime as dt
import hashlib

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from qingshan.ledger.app import create_app
from qingshan.ledger.dispatch import escalate_overdue, event_from_alarm
from qingshan.ledger.event_rules import DEADLINES, due_at
from qingshan.ledger.files import FileStore
from qingshan.ledger.models import BEIJING, AuditEntry, EnforcementCase, Event
from qingshan.ledger.rbac import NotFound, PermissionDenied, Principal
from qingshan.ledger.service import LedgerService, WorkflowError
from qingshan.ledger.workcal import DEFAULT_CALENDAR
from qingshan.reports.monthly import dispatch_section

from .ledger_fixtures import PASSWORD, build_org, ledger, ledger_url, org, principal_of, workspace  # noqa: F401

PNG = b"\x89PNG\r\n\x1a\n" + bytes(range(64))
T0 = dt.datetime(2024, 5, 20, 9, 0, tzinfo=BEIJING)  # a Monday
ALARM = {"id": "AL-1", "station": "武进监测站", "hour": "2024-05-20T08:00", "rule": "PM2.5 突增", "level": "general",
         "evidence": {"pm25": 128, "baseline_pm25": 41}, "note": "本地扬尘"}


def svc(lg, s, user: str, now: dt.datetime = T0) -> LedgerService:
    return LedgerService(s, principal_of(s, user), files=FileStore(lg.files_dir), now=now)


def actions(s, record_id: int) -> list[str]:
    return list(s.execute(select(AuditEntry.action).where(AuditEntry.record_id == record_id)
                          .order_by(AuditEntry.id)).scalars())


def test_alarm_to_closed_with_send_back_and_every_step_audited(ledger, org):
    with ledger.session() as s:
        ev = event_from_alarm(s, ALARM, principal_of(s, "bureau"), files=FileStore(ledger.files_dir), now=T0,
                              district="武进区")
        assert (ev.status, ev.source, ev.alarm_id, ev.alarm_evidence["evidence"]["pm25"]) == ("new", "alarm", "AL-1", 128)
        [evidence] = ev.attachments
        assert evidence.filename == "报警证据-AL-1.txt" and b'"pm25": 128' in FileStore(ledger.files_dir).read(evidence.storage_key)
        with pytest.raises(WorkflowError):  # the same alarm twice: it already has its event
            event_from_alarm(s, ALARM, principal_of(s, "bureau"), now=T0)
        with pytest.raises(IntegrityError), ledger.session() as racing:  # a racing second writer: the database says no
            racing.add(Event(kind="event", code="SJ-race", title="x", status="new", version=1, event_kind="quality",
                             level="general", source="alarm", alarm_id="AL-1", description="x", escalations=0,
                             created_at=T0, updated_at=T0))
            s.commit()
            racing.commit()
        svc(ledger, s, "bureau").transition(ev.id, "dispatch", {"unit_ids": ["武进区"]})
        assert ev.due_at == T0 + dt.timedelta(hours=24)  # 环境质量问题 · 一般
        s.commit()
        eid = ev.id
    with ledger.session() as s:
        w = svc(ledger, s, "wujin", T0 + dt.timedelta(hours=3))
        w.answer_event(eid, "工地未覆盖，已责令整改", [("现场.png", PNG)])
        s.commit()
    with ledger.session() as s:
        b = svc(ledger, s, "bureau", T0 + dt.timedelta(hours=4))
        b.transition(eid, "send_back", {"reason": "请补充整改后照片"})
        s.commit()
    with ledger.session() as s:
        ev = s.get(Event, eid)
        assert ev.status == "returned" and ev.return_reason == "请补充整改后照片"
        svc(ledger, s, "wujin", T0 + dt.timedelta(hours=6)).answer_event(eid, "已覆盖，附照片", [("整改后.png", PNG + b"x")])
        svc(ledger, s, "bureau", T0 + dt.timedelta(hours=7)).transition(eid, "close", {"note": "核实"})
        s.commit()
    with ledger.session() as s:
        ev = s.get(Event, eid)
        assert ev.status == "closed" and ev.closed_at is not None
        assert ev.first_response_at == T0 + dt.timedelta(hours=3)  # the first answer, not the second
        assert sorted(a.filename for a in ev.attachments) == ["报警证据-AL-1.txt", "整改后.png", "现场.png"]
        assert actions(s, eid) == ["record.create", "attachment.add", "transition.dispatch", "transition.answer",
                                   "progress.add", "transition.send_back", "transition.answer", "progress.add",
                                   "transition.close"]
        actors = s.execute(select(AuditEntry.actor_name, AuditEntry.action).where(AuditEntry.record_id == eid)).all()
        assert ("wujin", "transition.answer") in actors and ("bureau", "transition.close") in actors


def test_violation_clue_becomes_a_case_with_its_evidence(ledger, org):
    with ledger.session() as s:
        b = svc(ledger, s, "bureau")
        ev = b.event_from_alarm({**ALARM, "id": "AL-2", "rule": "VOCs 超标"}, event_kind="violation", district="武进区")
        quality = b.create_event(event_kind="quality", level="general", description="臭氧升高")
        b.transition(ev.id, "dispatch", {"unit_ids": ["湟里镇"]})
        svc(ledger, s, "wujin", T0 + dt.timedelta(hours=2)).answer_event(ev.id, "暗管排放属实", [("暗管.png", PNG)])
        assert "to_case" not in [t.name for t in b.allowed_transitions(quality.id)]
        with pytest.raises(WorkflowError, match="只有环境违法线索"):
            b.event_to_case(quality.id, party="某厂", violation="超标")
        with pytest.raises(PermissionDenied):
            svc(ledger, s, "wujin").event_to_case(ev.id, party="某厂", violation="暗管排放")
        case = b.event_to_case(ev.id, party="某化工厂", violation="通过暗管排放废水",
                               legal_basis="《水污染防治法》第八十三条")
        s.commit()
        eid, cid = ev.id, case.id
    with ledger.session() as s:
        ev, case = s.get(Event, eid), s.get(EnforcementCase, cid)
        assert ev.status == "to_case" and ev.case_id == case.id
        assert (case.party, case.status, case.filed_on) == ("某化工厂", "filed", T0.date())
        assert case.unit_names("responsible") == ["湟里镇"] and case.district.name == "武进区"
        # evidence linked: the case's attachment rows point at the same stored files as the event's
        assert sorted((a.filename, a.sha256, a.storage_key) for a in case.attachments) == sorted(
            (a.filename, a.sha256, a.storage_key) for a in ev.attachments)
        assert {a.filename for a in case.attachments} == {"报警证据-AL-2.txt", "暗管.png"}
        assert hashlib.sha256(PNG).hexdigest() in {a.sha256 for a in case.attachments}
        story = case.progress[0].text
        assert ev.code in story and "暗管排放属实" in story and "AL-2" in story
        assert "event.evidence_to_case" in actions(s, cid)
        assert actions(s, eid)[-1] == "transition.to_case"
        bureau = LedgerService(s, principal_of(s, "bureau"))
        from qingshan.ledger import views

        assert views.detail(bureau, case)["source_event"] == {"id": eid, "code": ev.code}
        assert views.detail(bureau, ev)["case"] == {"id": cid, "code": case.code}


def test_units_see_only_what_was_dispatched_to_them(ledger, org):
    with ledger.session() as s:
        b = svc(ledger, s, "bureau")
        wj = b.create_event(event_kind="quality", level="general", description="武进事件", district="武进区")
        town = b.create_event(event_kind="petition", level="general", description="湟里镇信访")
        xb = b.create_event(event_kind="emergency", level="major", description="新北事件", district="新北区")
        # located in 武进区 but not dispatched yet: nobody outside the bureau sees it
        assert LedgerService(s, principal_of(s, "wujin")).list_events()[0] == 0
        b.transition(wj.id, "dispatch", {"unit_ids": ["武进区"]})
        b.transition(town.id, "dispatch", {"unit_ids": ["湟里镇"]})
        b.transition(xb.id, "dispatch", {"unit_ids": ["新北区", "市住建局"], "host_unit_id": "新北区"})
        s.commit()
        ids = {"wj": wj.id, "town": town.id, "xb": xb.id}
    with ledger.session() as s:
        def seen(user: str) -> set[int]:
            v = LedgerService(s, principal_of(s, user))
            via_list = {e.id for e in v.list_events()[1]}
            via_records = {r.id for r in v.list_records(kind="event").items}
            assert via_list == via_records
            return via_list

        assert seen("wujin") == {ids["wj"], ids["town"]}  # its district bureau and its town
        assert seen("xinbei") == {ids["xb"]}
        assert seen("zj") == {ids["xb"]}  # a department: only what names it
        assert seen("sl") == set()
        assert seen("public") == set()
        assert seen("bureau") == set(ids.values())
        with pytest.raises(NotFound):
            LedgerService(s, principal_of(s, "xinbei")).get(ids["wj"])
        with pytest.raises(NotFound):
            LedgerService(s, Principal.public()).get(ids["xb"])
        w = LedgerService(s, principal_of(s, "wujin"))
        with pytest.raises(PermissionDenied):
            w.transition(ids["wj"], "close", {"note": "x"})
        with pytest.raises(NotFound):
            w.answer_event(ids["xb"], "不是我的")
        assert [e.id for e in w.my_todo()] == sorted([ids["wj"], ids["town"]],
                                                    key=lambda i: s.get(Event, i).due_at)  # earliest deadline first
        # the public stats carry no event
        assert "event" not in LedgerService(s, Principal.public()).stats()["by_status"]


def test_deadlines_by_kind_and_level_on_the_working_day_calendar():
    cal = DEFAULT_CALENDAR
    t = dt.datetime(2024, 9, 30, 10, 0, tzinfo=BEIJING)  # Monday before the National Day holiday (1–7 October)
    assert due_at("emergency", "general", t, cal) == t + dt.timedelta(hours=4)
    assert due_at("emergency", "major", t, cal) == t + dt.timedelta(hours=2)
    assert due_at("quality", "especially_major", t, cal) == t + dt.timedelta(hours=2)
    # 3 working days after 30 September: 8, 9, 10 October → due at the end of 10 October
    assert due_at("violation", "larger", t, cal) == dt.datetime(2024, 10, 11, 0, 0, tzinfo=BEIJING)
    # 15 working days from Friday 27 September 2024 end on 23 October (docs/ledger.md, 调休 included)
    f = dt.datetime(2024, 9, 27, 16, 0, tzinfo=BEIJING)
    assert due_at("petition", "general", f, cal) == dt.datetime(2024, 10, 24, 0, 0, tzinfo=BEIJING)
    # higher levels never get more time
    for kind, table in DEADLINES.items():
        dues = [due_at(kind, lvl, t, cal) for lvl in table]
        assert dues == sorted(dues, reverse=True), kind


def test_dispatch_sets_the_deadline_of_the_kind_and_level(ledger, org):
    with ledger.session() as s:
        at = dt.datetime(2024, 9, 30, 10, 0, tzinfo=BEIJING)
        b = svc(ledger, s, "bureau", at)
        ev = b.create_event(event_kind="violation", level="larger", description="线索")
        b.transition(ev.id, "dispatch", {"unit_ids": ["武进区"]})
        assert ev.due_at == dt.datetime(2024, 10, 11, 0, 0, tzinfo=BEIJING)
        assert (ev.deadline_kind, ev.deadline) == ("date", dt.date(2024, 10, 10))
        s.commit()
    with ledger.session() as s:  # read back: the stored time is the same instant on both backends
        assert s.get(Event, ev.id).due_at == dt.datetime(2024, 10, 11, 0, 0, tzinfo=BEIJING)


def test_escalation_is_idempotent(ledger, org):
    with ledger.session() as s:
        b = svc(ledger, s, "bureau")
        ev = b.create_event(event_kind="emergency", level="general", description="泄漏")
        done = b.create_event(event_kind="emergency", level="general", description="已反馈")
        b.transition(ev.id, "dispatch", {"unit_ids": ["武进区"]})
        b.transition(done.id, "dispatch", {"unit_ids": ["武进区"]})
        svc(ledger, s, "wujin", T0 + dt.timedelta(hours=1)).answer_event(done.id, "已处置")
        s.commit()
        eid, did = ev.id, done.id
    with ledger.session() as s:
        assert escalate_overdue(s, T0 + dt.timedelta(hours=3, minutes=59)) == []  # not yet due
        s.commit()
    for hours in (5, 6, 30):
        with ledger.session() as s:
            out = escalate_overdue(s, T0 + dt.timedelta(hours=hours))
            assert [e.id for e in out] == ([eid] if hours == 5 else [])
            s.commit()
    with ledger.session() as s:
        ev = s.get(Event, eid)
        assert (ev.level, ev.escalations) == ("larger", 1)
        assert s.get(Event, did).level == "general"  # answered in time: nothing to escalate
        entries = s.execute(select(AuditEntry).where(AuditEntry.action == "event.escalate")).scalars().all()
        assert [(e.record_id, e.before["level"], e.after["level"], e.actor_name) for e in entries] == [
            (eid, "general", "larger", "系统（调度超期升级）")]
        assert "局领导督办" in entries[0].note


def _answered(lg, s, kind: str, level: str, unit: str, dispatched: dt.datetime, hours: float | None) -> int:
    b = svc(lg, s, "bureau", dispatched)
    ev = b.create_event(event_kind=kind, level=level, description=f"{unit}{dispatched:%m%d}")
    b.transition(ev.id, "dispatch", {"unit_ids": [unit]})
    if hours is not None:
        user = {"武进区": "wujin", "新北区": "xinbei"}[unit]
        svc(lg, s, user, dispatched + dt.timedelta(hours=hours)).answer_event(ev.id, "已办")
    return ev.id


def test_statistics_against_a_hand_count(ledger, org):
    with ledger.session() as s:
        _answered(ledger, s, "quality", "general", "武进区", dt.datetime(2024, 5, 10, 9, tzinfo=BEIJING), 3)  # in time
        _answered(ledger, s, "emergency", "general", "武进区", dt.datetime(2024, 5, 11, 9, tzinfo=BEIJING), 6)  # late (4 h)
        _answered(ledger, s, "quality", "general", "新北区", dt.datetime(2024, 5, 12, 9, tzinfo=BEIJING), None)  # open, past due
        _answered(ledger, s, "quality", "general", "武进区", dt.datetime(2024, 4, 30, 9, tzinfo=BEIJING), 2)  # April
        svc(ledger, s, "bureau").create_event(event_kind="quality", level="general", description="未派发")  # not counted
        s.commit()
    now = dt.datetime(2024, 5, 31, 12, tzinfo=BEIJING)
    with ledger.session() as s:
        st = LedgerService(s, principal_of(s, "bureau"), now=now).event_stats()
        assert st["total"] == {"issued": 4, "in_time": 2, "overdue": 2, "open": 1, "in_time_rate": 0.5,
                               "mean_response_hours": round((3 + 6 + 2) / 3, 2)}
        rows = {(r["unit"], r["month"]): r for r in st["by_unit_month"]}
        assert set(rows) == {("武进区", "2024-04"), ("武进区", "2024-05"), ("新北区", "2024-05")}
        assert {k: rows[("武进区", "2024-05")][k] for k in ("issued", "in_time", "overdue", "open", "mean_response_hours")} == {
            "issued": 2, "in_time": 1, "overdue": 1, "open": 0, "mean_response_hours": 4.5}
        assert {k: rows[("新北区", "2024-05")][k] for k in ("issued", "in_time", "overdue", "open", "mean_response_hours")} == {
            "issued": 1, "in_time": 0, "overdue": 1, "open": 1, "mean_response_hours": None}
        may = LedgerService(s, principal_of(s, "bureau"), now=now).event_stats(month="2024-05")
        assert may["total"]["issued"] == 3 and may["total"]["mean_response_hours"] == 4.5
        # a district's statistics cover its own events only
        mine = LedgerService(s, principal_of(s, "xinbei"), now=now).event_stats()
        assert mine["total"]["issued"] == 1 and [r["unit"] for r in mine["by_unit_month"]] == ["新北区"]
        # the monthly report's section carries the same figures
        [sec] = dispatch_section(s, "2024-05", 3)
        assert sec.heading == "四、指挥调度"
        assert "派发调度事件3件" in sec.blocks[0].text and "按时反馈1件" in sec.blocks[0].text
        assert "超期2件" in sec.blocks[0].text and "平均4.5小时" in sec.blocks[0].text
        table = sec.blocks[1]
        assert [[c.text for c in r][:5] for r in table.rows] == [["武进区", "2", "1", "1", "0"],
                                                                 ["新北区", "1", "0", "1", "1"]]
        assert dispatch_section(s, "2024-03", 3) == []


def test_dispatch_api(ledger, org, workspace):
    app = create_app(workspace, url=str(ledger.engine.url.render_as_string(hide_password=False)),
                     today=dt.date(2024, 5, 31))
    with TestClient(app) as c:
        def h(user: str) -> dict[str, str]:
            r = c.post("/api/v1/auth/token", data={"username": user, "password": PASSWORD})
            return {"Authorization": f"Bearer {r.json()['access_token']}"}

        B, W, X = h("bureau"), h("wujin"), h("xinbei")
        alarm = {**ALARM, "hour": "2024-05-30T08:00"}
        assert c.post("/api/v1/ledger/events/from-alarm", json=alarm, headers=W).status_code == 403
        assert c.post("/api/v1/ledger/events/from-alarm", json=alarm).status_code == 401
        r = c.post("/api/v1/ledger/events/from-alarm", json=alarm, headers=B)
        assert r.status_code == 201, r.text
        first = r.json()
        assert first["alarm_evidence"]["evidence"] == {"pm25": 128, "baseline_pm25": 41}
        assert [a["filename"] for a in first["attachments"]] == ["报警证据-AL-1.txt"]
        assert c.post("/api/v1/ledger/events/from-alarm", json=alarm, headers=B).status_code == 409
        assert c.post("/api/v1/ledger/events/from-alarm", json={**alarm, "id": "AL-x", "evidence": {"a": {"b": 1}},
                                                                "extra": 1}, headers=B).status_code == 422
        r = c.post("/api/v1/ledger/events", json={"kind": "event", "fields": {
            "event_kind": "emergency", "level": "major", "description": "泄漏", "district": "武进区"}}, headers=B)
        assert r.status_code == 201, r.text
        second = r.json()
        for ev in (first, second):
            # not dispatched yet: invisible to the district (404), and dispatching is the bureau's
            assert c.post(f"/api/v1/ledger/events/{ev['id']}/dispatch", json={"unit_ids": ["武进区"]},
                          headers=W).status_code == 404
            r = c.post(f"/api/v1/ledger/events/{ev['id']}/dispatch", json={"unit_ids": ["武进区"]}, headers=B)
            assert r.status_code == 200 and r.json()["status"] == "dispatched", r.text
        todo = c.get("/api/v1/ledger/events/todo", headers=W).json()
        assert [e["id"] for e in todo["items"]] == [second["id"], first["id"]]  # 2 h before 24 h
        assert c.get("/api/v1/ledger/events/todo", headers=X).json()["total"] == 0
        assert c.get(f"/api/v1/ledger/events/{first['id']}", headers=X).status_code == 404
        assert c.get(f"/api/v1/ledger/events/{first['id']}").status_code == 404
        assert c.get("/api/v1/ledger/events").json()["total"] == 0
        assert c.get(f"/api/v1/ledger/events/{org.a}", headers=B).status_code == 404  # not an event
        r = c.post(f"/api/v1/ledger/events/{first['id']}/answer", data={"findings": "x"},
                   files=[("files", ("a.exe", b"MZ", "application/octet-stream"))], headers=W)
        assert r.status_code == 415
        assert c.get(f"/api/v1/ledger/events/{first['id']}", headers=B).json()["status"] == "dispatched"
        r = c.post(f"/api/v1/ledger/events/{first['id']}/answer", data={"findings": "已核查"},
                   files=[("files", ("现场.png", PNG, "image/png"))], headers=W)
        assert r.status_code == 200 and r.json()["status"] == "answered", r.text
        assert c.post(f"/api/v1/ledger/events/{first['id']}/close", json={"note": "ok"}, headers=W).status_code == 403
        r = c.post(f"/api/v1/ledger/events/{first['id']}/send-back", json={"reason": "补充"}, headers=B)
        assert r.json()["status"] == "returned"
        c.post(f"/api/v1/ledger/events/{first['id']}/answer", data={"findings": "已补充"}, headers=W)
        r = c.post(f"/api/v1/ledger/events/{first['id']}/close", json={"note": "核实"}, headers=B)
        assert r.json()["status"] == "closed"
        assert c.post(f"/api/v1/ledger/events/{first['id']}/close", json={"note": "again"}, headers=B).status_code == 409
        listed = c.get("/api/v1/ledger/events", params={"state": "closed"}, headers=B).json()
        assert [e["id"] for e in listed["items"]] == [first["id"]]
        assert c.get("/api/v1/ledger/events", params={"state": "nope"}, headers=B).status_code == 422
        st = c.get("/api/v1/ledger/events/stats", headers=B).json()
        assert st["total"]["issued"] == 2 and st["total"]["in_time"] == 1
        assert c.get("/api/v1/ledger/events/stats").status_code == 401
        r = c.post("/api/v1/ledger/events", json={"kind": "event", "fields": {
            "event_kind": "violation", "level": "general", "description": "偷排"}}, headers=B)
        r = c.post(f"/api/v1/ledger/events/{r.json()['id']}/to-case", json={"party": "某厂", "violation": "偷排"},
                   headers=B)
        assert r.status_code == 201 and r.json()["event"]["status"] == "to_case"
        assert r.json()["case"]["source_event"]["id"] == r.json()["event"]["id"]
