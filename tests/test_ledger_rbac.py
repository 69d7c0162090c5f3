"""The role × action permission matrix — in the service layer, and through every mutating API endpoint.

Outcomes: ``ok`` (allowed), ``denied`` (PermissionDenied: visible but not changeable), ``hidden`` (NotFound: the
principal may not even see the record). See :mod:`qingshan.ledger.rbac` and the ``Org`` fixture for the setup:
item A is 市住建局's (with 湟里镇 of 武进区; 市水利局 cooperates; district 武进区; not disclosed); B and every other
record belong to 市水利局 in 新北区 (B disclosed).
"""

from __future__ import annotations

import io

import pytest
from openpyxl import load_workbook
from sqlalchemy import func, select

from qingshan.ledger.app import create_app
from qingshan.ledger.models import AuditEntry, Record
from qingshan.ledger.rbac import NotFound, PermissionDenied
from qingshan.ledger.xlsx import export_workbook

from .ledger_fixtures import (  # noqa: F401
    PASSWORD,
    TODAY,
    build_org,
    fast_password_hashing,
    ledger,
    ledger_url,
    module_ledger,
    org,
    principal_of,
    service,
    workspace,
)

ACTORS = ["admin", "bureau", "zj", "sl", "jt", "wujin", "xinbei", "public"]
PDF = b"%PDF-1.4\n% evidence\n"


def _submit_first(sys, o):
    sys.transition(o.a, "submit", {"completion_note": "已完成"})


def _serve_order(sys, o):
    sys.update_record(o.case, {"order_served_on": "2024-05-01"})


def _attach_a(sys, o):
    return sys.attach(o.a, [("a.pdf", PDF)])[0].id


def _attach_b(sys, o):
    return sys.attach(o.b, [("b.pdf", PDF)])[0].id


def _personal(svc, o):
    from qingshan.ledger.views import detail

    d = detail(svc, svc.get(o.petition))
    if d["complainant"] != "张三":
        raise PermissionDenied("masked")


def _in_list(svc, o):
    if o.a not in {r.id for r in svc.list_records(limit=None).items}:
        raise NotFound("not listed")


# action -> (pre-step with the system principal or None, the actor's action, expected outcome per actor)
MATRIX = {
    "view A": (None, lambda s, o, _: s.get(o.a), "ok ok ok ok ok ok hidden hidden"),
    "list A": (None, lambda s, o, _: _in_list(s, o), "ok ok ok ok ok ok hidden hidden"),
    "timeline A": (None, lambda s, o, _: s.timeline(o.a), "ok ok ok ok ok ok hidden hidden"),
    "edit measures A": (None, lambda s, o, _: s.update_record(o.a, {"measures": "新措施"}),
                        "ok ok ok denied denied ok hidden hidden"),
    "edit problem A": (None, lambda s, o, _: s.update_record(o.a, {"problem": "改写"}),
                       "ok ok denied denied denied denied hidden hidden"),
    "change units A": (None, lambda s, o, _: s.update_record(o.a, {"responsible": ["市交通运输局"]}),
                       "ok ok denied denied denied denied hidden hidden"),
    "disclose A": (None, lambda s, o, _: s.update_record(o.a, {"disclosed": True, "disclosure_text": "公开"}),
                   "ok ok denied denied denied denied hidden hidden"),
    "progress A": (None, lambda s, o, _: s.add_progress(o.a, "完成巡查"), "ok ok ok denied denied ok hidden hidden"),
    "attach A": (None, lambda s, o, _: s.attach(o.a, [("e.pdf", PDF)]), "ok ok ok denied denied ok hidden hidden"),
    # 申请验收 declares the whole item done: its lead 市住建局 only — not 湟里镇 (co-responsible, acted for by 武进区)
    "submit A": (None, lambda s, o, _: s.transition(o.a, "submit", {"completion_note": "完成"}),
                 "ok ok ok denied denied denied hidden hidden"),
    "accept A": (_submit_first, lambda s, o, _: s.transition(o.a, "accept", {"acceptance_evidence": "验收意见"}),
                 "ok ok denied denied denied denied hidden hidden"),
    "download A": (_attach_a, lambda s, o, att: s.attachment(o.a, att), "ok ok ok ok ok ok hidden hidden"),
    "view B": (None, lambda s, o, _: s.get(o.b), "ok ok ok ok ok hidden ok ok"),
    "progress B": (None, lambda s, o, _: s.add_progress(o.b, "进展"), "ok ok denied ok denied hidden ok denied"),
    "download B": (_attach_b, lambda s, o, att: s.attachment(o.b, att), "ok ok ok ok ok hidden ok denied"),
    "indicator value": (None, lambda s, o, _: s.record_indicator_value(o.indicator, 3),
                        "ok ok denied ok denied hidden hidden hidden"),
    "milestone done": (None, lambda s, o, _: s.set_milestone_done(o.milestone, "2024-05-01"),
                       "ok ok denied ok denied hidden ok hidden"),
    "enterprise stage": (None, lambda s, o, _: s.set_enterprise_stage(o.enterprise, "plan_approved"),
                         "ok ok denied ok denied hidden ok hidden"),
    "add enterprises": (None, lambda s, o, _: s.add_enterprises(o.campaign, [{"name": "新企业"}]),
                        "ok ok denied denied denied hidden denied hidden"),
    "petition reply": (None, lambda s, o, _: s.transition(o.petition, "reply", {"reply_text": "已处理"}),
                       "ok ok denied ok denied hidden ok hidden"),
    "petition personal data": (None, lambda s, o, _: _personal(s, o), "ok ok denied ok denied hidden ok hidden"),
    "case recheck": (_serve_order, lambda s, o, _: s.add_recheck(o.case, "2024-05-20", True),
                     "ok ok denied ok denied hidden ok hidden"),
    "case transfer": (None, lambda s, o, _: s.transfer_case(o.case, "移送书"),
                      "ok ok denied denied denied hidden denied hidden"),
    "create record": (None, lambda s, o, _: s.create_rectification(seq=9, source_inspection="x", problem="y",
                                                                   deadline="2024-12-31"),
                      "ok ok denied denied denied denied denied denied"),
    "view audit log": (None, lambda s, o, _: s.audit_entries(), "ok ok denied denied denied denied denied denied"),
    "manage users": (None, lambda s, o, _: s.create_user("newuser", PASSWORD, "bureau", "常州市生态环境局"),
                     "ok denied denied denied denied denied denied denied"),
    "statistics": (None, lambda s, o, _: s.stats(), "ok ok ok ok ok ok ok ok"),
    "export": (None, lambda s, o, _: export_workbook(s), "ok ok ok ok ok ok ok ok"),
}

CASES = [(action, actor) for action in MATRIX for actor in ACTORS]


@pytest.fixture(scope="module")
def shared(module_ledger):
    """One organisation per backend for the whole matrix: every action runs in a session that is rolled back."""
    return module_ledger, build_org(module_ledger)


@pytest.mark.parametrize(("action", "actor"), CASES, ids=[f"{a}-{r}" for a, r in CASES])
def test_permission_matrix(shared, action, actor):
    lg, o = shared
    pre, act, expected_row = MATRIX[action]
    expected = dict(zip(ACTORS, expected_row.split()))[actor]
    s = lg.sessionmaker()
    try:
        sys = service(s, ledger=lg)
        arg = pre(sys, o) if pre else None
        svc = service(s, principal_of(s, actor), ledger=lg)
        try:
            act(svc, o, arg)
            outcome = "ok"
        except PermissionDenied:
            outcome = "denied"
        except NotFound:
            outcome = "hidden"
        assert outcome == expected, f"{actor} / {action}: {outcome}, expected {expected}"
    finally:
        s.rollback()
        s.close()


def test_public_sees_only_disclosed_and_public_fields(ledger, org):
    from qingshan.ledger.views import detail, summary

    with ledger.session() as s:
        pub = service(s, principal_of(s, "public"))
        ids = {r.id for r in pub.list_records(limit=None).items}
        assert ids == {org.b}
        d = detail(pub, pub.get(org.b))
        assert "timeline" not in d and "progress" not in d and "measures" not in d and "version" not in d
        assert d["disclosure_text"] == "按序时推进"
        assert summary(pub, pub.get(org.b))["disclosed"] is True
        st = pub.stats()
        assert st["rectification_items"] == 1  # only the disclosed one
        assert st["petitions"] == 1  # aggregate petition counts are public …
        with pytest.raises(NotFound):  # … a single petition never is
            pub.get(org.petition)
        with pytest.raises(Exception):
            service(s).update_record(org.petition, {"disclosed": True})


def test_district_user_lists_only_its_district(ledger, org):
    with ledger.session() as s:
        wujin = service(s, principal_of(s, "wujin"))
        assert {r.id for r in wujin.list_records(limit=None).items} == {org.a}
        xinbei = service(s, principal_of(s, "xinbei"))
        assert {r.id for r in xinbei.list_records(limit=None).items} == {
            org.b, org.project, org.campaign, org.petition, org.case}
        wb = export_workbook(wujin)
        assert wb["整改任务"].max_row == 3  # title, header, item A


# --- the same rule through every API endpoint -------------------------------------------------------------------

API = "/api/v1/ledger"


def _bodies(o):
    """(method, route path, concrete url, request kwargs) for every mutating ledger route, aimed at 市水利局's
    records (B, task, project, campaign, petition, case) — none of which is 市住建局's."""
    return [
        ("POST", "/items", f"{API}/items", {"json": {"kind": "rectification", "fields": {
            "seq": 9, "source_inspection": "x", "problem": "y", "deadline": "2024-12-31"}}}),
        ("PATCH", "/items/{record_id}", f"{API}/items/{o.b}", {"json": {"changes": {"measures": "改写"}}}),
        ("PATCH", "/items/{record_id}", f"{API}/items/{o.project}", {"json": {"changes": {"percent_complete": 50}}}),
        ("POST", "/items/{record_id}/progress", f"{API}/items/{o.b}/progress", {"data": {"text": "越权进展"}}),
        ("POST", "/items/{record_id}/progress", f"{API}/items/{o.case}/progress",
         {"data": {"text": "越权"}, "files": [("files", ("e.pdf", PDF, "application/pdf"))]}),
        ("POST", "/items/{record_id}/attachments", f"{API}/items/{o.b}/attachments",
         {"files": [("files", ("e.pdf", PDF, "application/pdf"))]}),
        ("POST", "/items/{record_id}/transitions", f"{API}/items/{o.b}/transitions",
         {"json": {"name": "submit", "payload": {"completion_note": "完成"}}}),
        ("POST", "/items/{record_id}/transitions", f"{API}/items/{o.petition}/transitions",
         {"json": {"name": "reply", "payload": {"reply_text": "已处理"}}}),
        ("POST", "/items/{record_id}/transitions", f"{API}/items/{o.case}/transitions",
         {"json": {"name": "investigate", "payload": {"note": "调查"}}}),
        ("POST", "/items/{record_id}/transitions", f"{API}/items/{o.task}/transitions",
         {"json": {"name": "complete", "payload": {"completion_note": "完成"}}}),
        ("POST", "/items/{record_id}/indicators/{indicator_id}/values",
         f"{API}/items/{o.task}/indicators/{o.indicator}/values", {"json": {"value": 10}}),
        ("PATCH", "/items/{record_id}/milestones/{milestone_id}",
         f"{API}/items/{o.project}/milestones/{o.milestone}", {"json": {"done_date": "2024-05-01"}}),
        ("POST", "/items/{record_id}/enterprises", f"{API}/items/{o.campaign}/enterprises",
         {"json": {"enterprises": [{"name": "企业戊"}]}}),
        ("PATCH", "/items/{record_id}/enterprises/{enterprise_id}",
         f"{API}/items/{o.campaign}/enterprises/{o.enterprise}", {"json": {"stage": "plan_approved"}}),
        ("POST", "/items/{record_id}/transfer", f"{API}/items/{o.case}/transfer", {"json": {"ref": "移送书"}}),
        ("POST", "/items/{record_id}/rechecks", f"{API}/items/{o.case}/rechecks",
         {"json": {"on": "2024-05-20", "violation_continues": True}}),
        # 分工完成情况: no part on a record its unit is not attached to, and never another unit's part
        ("POST", "/items/{record_id}/parts", f"{API}/items/{o.b}/parts", {"json": {"note": "越权报送"}}),
        ("POST", "/items/{record_id}/parts/withdraw", f"{API}/items/{o.a}/parts/withdraw",
         {"json": {"reason": "替水利局撤回", "unit": "市水利局"}}),
        ("POST", "/users", f"{API}/users", {"json": {"username": "x1", "password": PASSWORD, "role": "admin"}}),
        ("POST", "/import", f"{API}/import", {"sheet": True}),
    ]


def _events(lg) -> tuple[int, int]:
    """Two dispatched events: one to 市住建局 (its user sees it, but every step but the answer is the bureau's)
    and one to 市水利局 (市住建局's user does not even see it)."""
    with lg.session() as s:
        svc = service(s, ledger=lg)
        mine = svc.create_event(event_kind="violation", level="general", description="派给住建局的线索")
        svc.transition(mine.id, "dispatch", {"unit_ids": ["市住建局"]})
        other = svc.create_event(event_kind="quality", level="general", description="派给水利局的问题")
        svc.transition(other.id, "dispatch", {"unit_ids": ["市水利局"]})
        s.commit()
        return mine.id, other.id


def _event_bodies(mine: int, other: int):
    """The dispatch routes (指挥调度): refused with 403, or 404 where the event is not the department's to see."""
    return [
        ("POST", "/events", f"{API}/events", {"json": {"kind": "event", "fields": {
            "event_kind": "quality", "level": "general", "description": "x"}}}),
        ("POST", "/events/from-alarm", f"{API}/events/from-alarm", {"json": {"id": "AL-zj", "rule": "x"}}),
        ("POST", "/events/escalate", f"{API}/events/escalate", {}),
        ("POST", "/events/{event_id}/dispatch", f"{API}/events/{mine}/dispatch", {"json": {"unit_ids": ["市住建局"]}}),
        ("POST", "/events/{event_id}/close", f"{API}/events/{mine}/close", {"json": {"note": "x"}}),
        ("POST", "/events/{event_id}/send-back", f"{API}/events/{mine}/send-back", {"json": {"reason": "x"}}),
        ("POST", "/events/{event_id}/to-case", f"{API}/events/{mine}/to-case",
         {"json": {"party": "某厂", "violation": "x"}}),
        ("POST", "/events/{event_id}/cancel", f"{API}/events/{mine}/cancel", {"json": {"reason": "x"}}),
        ("POST", "/events/{event_id}/answer", f"{API}/events/{other}/answer",
         {"data": {"findings": "越权反馈"}, "expect": 404}),
    ]


# POST routes that change nothing: a pure calculator
NON_MUTATING = {("POST", f"{API}/tools/daily-fine")}


def _token(client, username):
    r = client.post("/api/v1/auth/token", data={"username": username, "password": PASSWORD})
    assert r.status_code == 200, r.text
    return {"Authorization": f"Bearer {r.json()['access_token']}"}


def _fingerprint(lg):
    with lg.session() as s:
        return (s.execute(select(func.count()).select_from(AuditEntry)).scalar(),
                tuple(s.execute(select(Record.id, Record.version, Record.status).order_by(Record.id)).all()))


def test_department_cannot_change_another_units_record_through_any_endpoint(ledger_url, workspace, org, ledger):
    from fastapi.testclient import TestClient

    app = create_app(workspace, url=ledger_url, today=TODAY)
    client = TestClient(app)
    zj = _token(client, "zj")
    cases = _bodies(org) + _event_bodies(*_events(ledger))

    # every mutating route of the ledger API is exercised here
    # (read from the OpenAPI schema: it lists every route whatever the FastAPI version's routing internals)
    paths = client.get("/api/v1/openapi.json").json()["paths"]
    mutating = {(m.upper(), p) for p, ops in paths.items() for m in ops
                if p.startswith(API) and m.upper() in ("POST", "PATCH", "PUT", "DELETE")}
    assert len(mutating) >= 12
    covered = {(m, API + p) for m, p, _, _ in cases} | NON_MUTATING
    assert mutating == covered, f"routes not covered by this test: {mutating - covered}"

    # the import sheet: 市水利局's item B edited by 市住建局's user
    with ledger.session() as s:
        buf = io.BytesIO()
        export_workbook(service(s)).save(buf)
    wb = load_workbook(io.BytesIO(buf.getvalue()))
    ws = wb["整改任务"]
    header = [c.value for c in ws[2]]
    for row in ws.iter_rows(min_row=3):
        if row[header.index("序号")].value == 2:
            row[header.index("整改措施")].value = "越权改写的措施"
            row[header.index("整改进展")].value = "越权进展"
    sheet = io.BytesIO()
    wb.save(sheet)

    before = _fingerprint(ledger)
    for method, _, url, kwargs in cases:
        if "sheet" in kwargs:
            r = client.post(url, headers=zj, files={"file": ("t.xlsx", sheet.getvalue(), "application/octet-stream")})
            assert r.status_code == 200, r.text
            rep = r.json()
            assert rep["updated"] == 0 and rep["created"] == 0 and rep["rejected"], rep
            continue
        expect = kwargs.pop("expect", 403)
        r = client.request(method, url, headers=zj, **kwargs)
        assert r.status_code == expect, f"{method} {url}: {r.status_code} {r.text}"
    assert _fingerprint(ledger) == before, "a refused request changed the ledger"

    # positive control: the same user, the same kinds of request, on its own records
    ok = [
        client.patch(f"{API}/items/{org.a}", headers=zj, json={"changes": {"measures": "加密巡查频次"}}),
        client.post(f"{API}/items/{org.a}/progress", headers=zj, data={"text": "本月巡查20次"},
                    files=[("files", ("p.pdf", PDF, "application/pdf"))]),
        client.post(f"{API}/items/{org.a}/attachments", headers=zj, files=[("files", ("q.pdf", PDF, "application/pdf"))]),
        client.post(f"{API}/items/{org.own_task}/indicators/{org.own_indicator}/values", headers=zj, json={"value": 2}),
        client.post(f"{API}/items/{org.a}/transitions", headers=zj,
                    json={"name": "submit", "payload": {"completion_note": "完成"}}),
    ]
    assert [r.status_code for r in ok] == [200, 201, 201, 201, 200], [r.text for r in ok]

    # anonymous callers are asked to authenticate; a district user cannot even see another district's record
    anon = client.patch(f"{API}/items/{org.b}", json={"changes": {"measures": "x"}})
    assert anon.status_code == 401
    wujin = _token(client, "wujin")
    assert client.patch(f"{API}/items/{org.b}", headers=wujin, json={"changes": {"measures": "x"}}).status_code == 404
    # nested ids must belong to the record in the path
    assert client.post(f"{API}/items/{org.own_task}/indicators/{org.indicator}/values", headers=zj,
                       json={"value": 1}).status_code == 404
