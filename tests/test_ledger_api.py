"""The REST API through FastAPI's TestClient: authentication, filters, detail and timeline, uploads, transitions."""

from __future__ import annotations

import datetime as dt

import pytest
from argon2 import PasswordHasher

from qingshan.ledger import auth
from qingshan.ledger.app import create_app
from qingshan.ledger.models import ApiToken, now_beijing

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
PDF = b"%PDF-1.4\n1 0 obj\n<<>>\nendobj\n"


@pytest.fixture
def client(ledger_url, workspace, org):
    from fastapi.testclient import TestClient

    app = create_app(workspace, url=ledger_url, today=TODAY, max_upload_bytes=64 * 1024)
    with TestClient(app) as c:
        yield c


def login(client, username, password=PASSWORD, as_json=False):
    if as_json:
        r = client.post("/api/v1/auth/token", json={"username": username, "password": password})
    else:
        r = client.post("/api/v1/auth/token", data={"username": username, "password": password})
    assert r.status_code == 200, r.text
    return {"Authorization": f"Bearer {r.json()['access_token']}"}


def test_token_by_form_or_json_and_bad_credentials(client):
    h = login(client, "bureau")
    assert client.get("/api/v1/auth/me", headers=h).json()["role"] == "bureau"
    h2 = login(client, "zj", as_json=True)
    me = client.get("/api/v1/auth/me", headers=h2).json()
    assert me["role"] == "department" and not me["anonymous"]
    bad = client.post("/api/v1/auth/token", data={"username": "bureau", "password": "wrong-password"})
    assert bad.status_code == 401 and bad.headers["www-authenticate"] == "Bearer"
    assert client.post("/api/v1/auth/token", data={"username": "nobody", "password": "whatever1"}).status_code == 401
    assert client.post("/api/v1/auth/token", json={"username": "bureau"}).status_code == 422
    assert client.get("/api/v1/auth/me", headers={"Authorization": "Bearer not-a-token"}).status_code == 401
    assert client.get("/api/v1/auth/me").json()["anonymous"] is True


def test_logout_and_expiry_and_deactivation(client, ledger):
    h = login(client, "zj")
    assert client.post("/api/v1/auth/logout", headers=h).json() == {"ok": True}
    assert client.get(f"{API}/items", headers=h).status_code == 401
    h = login(client, "sl")
    with ledger.session() as s:
        for t in s.query(ApiToken).all():
            t.expires_at = now_beijing() - dt.timedelta(seconds=1)
    assert client.get(f"{API}/items", headers=h).status_code == 401
    h = login(client, "jt")
    admin = login(client, "admin")
    with ledger.session() as s:
        service(s, principal_of(s, "admin")).set_user_active("jt", False)
    assert client.get(f"{API}/items", headers=h).status_code == 401
    assert client.post("/api/v1/auth/token", data={"username": "jt", "password": PASSWORD}).status_code == 401
    assert client.get(f"{API}/users", headers=admin).status_code == 200


def test_production_passwords_use_argon2id():
    assert auth.PasswordHasher is PasswordHasher
    h = PasswordHasher().hash("a-long-password")
    assert h.startswith("$argon2id$")
    with pytest.raises(ValueError):
        auth.hash_password("short")


def test_list_filters(client, org):
    h = login(client, "bureau")

    def get(**q):
        return client.get(f"{API}/items", headers=h, params=q).json()

    assert get()["total"] == 8
    assert {i["id"] for i in get(kind="rectification")["items"]} == {org.a, org.b}
    assert {i["id"] for i in get(unit="市住建局")["items"]} == {org.a, org.own_task}
    assert {i["id"] for i in get(unit="市水利局", unit_role="cooperating")["items"]} == {org.a}
    assert {i["id"] for i in get(kind="rectification", deadline_from="2024-06-01", deadline_to="2024-06-30")["items"]} == {org.b}
    assert {i["id"] for i in get(status="assigned")["items"]} == {org.petition}
    assert {i["id"] for i in get(district="武进区")["items"]} == {org.a}
    assert {i["id"] for i in get(q="扬尘")["items"]} == {org.a, org.own_task}
    assert get(q="%")["total"] == 0  # LIKE wildcards in the search text are literal
    page = get(limit=3, offset=3)
    assert page["total"] == 8 and len(page["items"]) == 3
    # overdue: TODAY is 2024-05-31; nothing is overdue yet, B (due 2024-06-30) is at risk without progress
    assert get(overdue=True)["total"] == 0
    assert {i["id"] for i in get(at_risk=True)["items"]} == {org.b}
    item = next(i for i in get(kind="rectification")["items"] if i["id"] == org.b)
    assert item["at_risk"] is True and item["days_left"] == 30 and item["status_label"] == "按序时推进"
    assert client.get(f"{API}/items", headers=h, params={"kind": "nonsense"}).status_code == 422
    assert client.get(f"{API}/items", headers=h, params={"unit": "不存在的单位"}).status_code == 422


def test_anonymous_public_sees_disclosed_only(client, org):
    r = client.get(f"{API}/items").json()
    assert [i["id"] for i in r["items"]] == [org.b]
    assert "version" not in r["items"][0]
    assert client.get(f"{API}/items/{org.a}").status_code == 404
    assert client.get(f"{API}/items/{org.petition}").status_code == 404
    assert client.get(f"{API}/audit").status_code == 401
    d = client.get(f"{API}/items/{org.b}").json()
    assert d["disclosure_text"] == "按序时推进" and "timeline" not in d


def test_detail_progress_upload_download_and_timeline(client, org):
    h = login(client, "zj")
    r = client.post(f"{API}/items/{org.a}/progress", headers=h,
                    data={"text": "完成12个工地检查", "entry_date": "2024-05-30"},
                    files=[("files", ("检查记录.pdf", PDF, "application/pdf")),
                           ("files", ("照片.png", b"\x89PNG\r\n\x1a\n" + b"0" * 100, "image/png"))])
    assert r.status_code == 201, r.text
    atts = r.json()["attachments"]
    assert [a["filename"] for a in atts] == ["检查记录.pdf", "照片.png"]
    d = client.get(f"{API}/items/{org.a}", headers=h).json()
    assert d["can_edit"] and "measures" in d["editable_fields"] and "problem" not in d["editable_fields"]
    assert [t["name"] for t in d["transitions"]] == ["submit"]
    assert d["progress"][-1]["text"] == "完成12个工地检查"
    assert [e["label"] for e in d["timeline"]] == ["登记", "报送本单位完成情况", "报送本单位完成情况", "报送进展"]
    assert d["timeline"][-1]["progress"]["attachments"][0]["filename"] == "检查记录.pdf"
    dl = client.get(f"{API}/items/{org.a}/attachments/{atts[0]['id']}", headers=h)
    assert dl.status_code == 200 and dl.content == PDF
    assert dl.headers["x-content-type-options"] == "nosniff"
    assert dl.headers["content-disposition"].startswith("attachment;")
    assert dl.headers["content-type"] == "application/pdf"
    # the attachment is addressed through its record: another record's id does not reach it
    assert client.get(f"{API}/items/{org.b}/attachments/{atts[0]['id']}", headers=h).status_code == 404
    # files live under the workspace, outside any served route
    paths = client.get("/api/v1/openapi.json").json()["paths"]
    assert not any("ledger-files" in p for p in paths)


def test_upload_limits(client, org, workspace):
    h = login(client, "zj")
    too_big = client.post(f"{API}/items/{org.a}/progress", headers=h, data={"text": "大文件"},
                          files=[("files", ("big.pdf", b"%PDF-" + b"0" * 70 * 1024, "application/pdf"))])
    assert too_big.status_code == 413
    exe = client.post(f"{API}/items/{org.a}/progress", headers=h, data={"text": "程序"},
                      files=[("files", ("setup.exe", b"MZ\x90\x00", "application/octet-stream"))])
    assert exe.status_code == 415
    disguised = client.post(f"{API}/items/{org.a}/progress", headers=h, data={"text": "伪装"},
                            files=[("files", ("report.pdf", b"MZ\x90\x00 not a pdf", "application/pdf"))])
    assert disguised.status_code == 415
    traversal = client.post(f"{API}/items/{org.a}/attachments", headers=h,
                            files=[("files", ("../../etc/passwd.txt", b"root", "text/plain"))])
    assert traversal.status_code == 201 and traversal.json()[0]["filename"] == "passwd.txt"
    stored = list((workspace / "ledger-files").rglob("*.txt"))
    assert stored and all((workspace / "ledger-files") in p.parents for p in stored)
    huge = client.post(f"{API}/items/{org.a}/progress", headers=h, data={"text": "超大请求"},
                       files=[("files", ("huge.pdf", b"%PDF-" + b"0" * 2 * 1024 * 1024, "application/pdf"))])
    assert huge.status_code == 413 and "请求体" in huge.json()["detail"]  # refused before the body is read
    detail = client.get(f"{API}/items/{org.a}", headers=h).json()
    assert detail["progress"] == []  # the refused uploads left no progress entry


def test_patch_with_version_and_field_rules(client, org):
    h = login(client, "zj")
    d = client.get(f"{API}/items/{org.a}", headers=h).json()
    r = client.patch(f"{API}/items/{org.a}", headers=h,
                     json={"changes": {"measures": "新措施"}, "expected_version": d["version"]})
    assert r.status_code == 200 and r.json()["measures"] == "新措施"
    stale = client.patch(f"{API}/items/{org.a}", headers=h,
                         json={"changes": {"measures": "旧版本上的修改"}, "expected_version": d["version"]})
    assert stale.status_code == 409
    assert client.patch(f"{API}/items/{org.a}", headers=h, json={"changes": {"problem": "x"}}).status_code == 403
    assert client.patch(f"{API}/items/{org.a}", headers=h, json={"changes": {"status": "completed"}}).status_code == 409
    assert client.patch(f"{API}/items/{org.a}", headers=h, json={"changes": {"nonsense": 1}}).status_code == 422


def test_transitions_through_the_api(client, org):
    zj, bureau = login(client, "zj"), login(client, "bureau")
    assert [t["name"] for t in client.get(f"{API}/items/{org.a}/transitions", headers=zj).json()] == ["submit"]
    missing = client.post(f"{API}/items/{org.a}/transitions", headers=zj, json={"name": "submit", "payload": {}})
    assert missing.status_code == 409 and "完成情况说明" in missing.json()["detail"]
    ok = client.post(f"{API}/items/{org.a}/transitions", headers=zj,
                     json={"name": "submit", "payload": {"completion_note": "整改完成"}})
    assert ok.status_code == 200 and ok.json()["status"] == "submitted"
    assert client.post(f"{API}/items/{org.a}/transitions", headers=zj,
                       json={"name": "accept", "payload": {"acceptance_evidence": "x"}}).status_code == 403
    acc = client.post(f"{API}/items/{org.a}/transitions", headers=bureau,
                      json={"name": "accept", "payload": {"acceptance_evidence": "验收意见书"}})
    assert acc.status_code == 200 and acc.json()["status_label"] == "已完成整改"
    tl = client.get(f"{API}/items/{org.a}/timeline", headers=bureau).json()
    assert [e["label"] for e in tl][-2:] == ["申请验收", "验收通过"]
    assert tl[-1]["before"]["status"] == "submitted" and tl[-1]["after"]["status"] == "completed"
    audit = client.get(f"{API}/audit", headers=bureau, params={"record_id": org.a}).json()
    assert audit[0]["action"] == "transition.accept" and len(audit[0]["hash"]) == 64
    assert client.get(f"{API}/audit", headers=zj).status_code == 403


def test_kind_specific_endpoints(client, org):
    sl, bureau = login(client, "sl"), login(client, "bureau")
    r = client.post(f"{API}/items/{org.task}/indicators/{org.indicator}/values", headers=sl,
                    json={"value": "12", "as_of": "2024-05-31"})
    assert r.status_code == 201
    task = client.get(f"{API}/items/{org.task}", headers=sl).json()
    assert task["indicators"][0]["achieved"] == "12" and task["indicators"][0]["target"] == "10"
    assert client.patch(f"{API}/items/{org.project}/milestones/{org.milestone}", headers=sl,
                        json={"done_date": "2024-05-20"}).status_code == 200
    ents = client.get(f"{API}/items/{org.campaign}/enterprises", headers=sl).json()
    assert ents["rates"]["enterprises"] == 1
    assert client.patch(f"{API}/items/{org.campaign}/enterprises/{org.enterprise}", headers=sl,
                        json={"stage": "plan_approved"}).json()["stage"] == "plan_approved"
    assert client.post(f"{API}/items/{org.case}/transfer", headers=bureau, json={"ref": "移送书"}).status_code == 200
    fine = client.post(f"{API}/tools/daily-fine", json={
        "original_fine": "100000", "order_served_on": "2024-03-01",
        "rechecks": [{"on": "2024-03-21", "violation_continues": True}]}).json()
    assert fine["days"] == 20 and fine["amount"] == "2000000.00"
    # personal data of a petition: visible to the handling unit, masked for others
    assert client.get(f"{API}/items/{org.petition}", headers=sl).json()["complainant"] == "张三"
    zj = login(client, "zj")
    assert client.get(f"{API}/items/{org.petition}", headers=zj).json()["complainant"] == "***"


def test_create_import_export_stats_and_schema(client, org):
    bureau = login(client, "bureau")
    r = client.post(f"{API}/items", headers=bureau, json={"kind": "petition", "fields": {
        "channel": "hotline_12369", "received_on": "2024-09-27", "content": "夜间噪声"}})
    assert r.status_code == 422  # received after TODAY (2024-05-31)
    r = client.post(f"{API}/items", headers=bureau, json={"kind": "petition", "fields": {
        "channel": "hotline_12369", "received_on": "2024-05-24", "content": "夜间噪声"}})
    assert r.status_code == 201 and r.json()["accept_due"] == "2024-06-17"  # 15 working days; 10 June Dragon Boat
    assert client.post(f"{API}/items", headers=bureau, json={"kind": "petition", "fields": {"oops": 1}}).status_code == 422
    x = client.get(f"{API}/export.xlsx", headers=bureau)
    assert x.status_code == 200 and x.content[:2] == b"PK"
    imp = client.post(f"{API}/import", headers=bureau, files={"file": ("t.xlsx", x.content)}, data={"dry_run": "true"})
    assert imp.status_code == 200 and imp.json()["unchanged"] == 2 and imp.json()["dry_run"] is True
    pub = client.get(f"{API}/export.xlsx")
    assert pub.status_code == 200
    st = client.get(f"{API}/stats", headers=bureau).json()
    for key in ("rectification_items", "rectification_completed", "petitions", "petitions_closed", "key_tasks",
                "by_status", "by_unit", "by_deadline_month", "overdue", "rectification_completion_rate"):
        assert key in st
    assert st["rectification_items"] == 2 and st["petitions"] == 2 and st["key_tasks"] == 2
    schema = client.get("/api/v1/openapi.json").json()
    assert "/api/v1/auth/token" in schema["paths"] and f"{API}/items/{{record_id}}/transitions" in schema["paths"]
    assert any("HTTPBearer" in k for k in schema["components"]["securitySchemes"])
    kinds = client.get(f"{API}/kinds").json()
    assert kinds["rectification"]["states"]["signed_off"] == "已销号"
