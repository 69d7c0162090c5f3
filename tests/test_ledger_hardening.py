"""Hardening of the ledger after the attack run of issue 11 (each test names the finding and what the old code did).

* Finding 2 — a record's content (progress texts, attachments, timeline, personal data) is visible only to the
  principals who may see it in full: every kind × every role × every endpoint that could show it.
* Finding 5 — text that a spreadsheet could take for a formula stays text in every XLSX the platform writes.
* Finding 6 — every ledger number has a range (finite, non-negative where it must be, a maximum, its decimals).
* Finding 7 — malformed bodies on every ledger route get a 4xx with a Chinese message, never a 500.
* Finding 9 — districts must be districts, unknown units are "not found", private file modes, case-insensitive
  user names, unique display names, no bidi controls in file or display names, changing one's own password.
"""

from __future__ import annotations

import io
import json
import os
import re
import stat
import zipfile
from decimal import Decimal

import pandas as pd
import pytest
from fastapi.testclient import TestClient
from openpyxl import load_workbook
from sqlalchemy import select, text

from qingshan.ledger import auth
from qingshan.ledger.app import create_app
from qingshan.ledger.db import make_engine, open_ledger, upgrade
from qingshan.ledger.models import AuditEntry, OrgUnit, User

from .ledger_fixtures import (  # noqa: F401
    PASSWORD,
    TODAY,
    build_org,
    fast_password_hashing,
    ledger,
    ledger_url,
    module_ledger,
    org,
    service,
    workspace,
)

API = "/api/v1/ledger"
PDF = b"%PDF-1.4\n1 0 obj\n<<>>\nendobj\n"
CJK = re.compile(r"[\u4e00-\u9fff]")


def login(client: TestClient, username: str, password: str = PASSWORD) -> dict[str, str]:
    r = client.post("/api/v1/auth/token", data={"username": username, "password": password})
    assert r.status_code == 200, r.text
    return {"Authorization": f"Bearer {r.json()['access_token']}"}


# --- finding 2: content of a record only for those who may see it in full -------------------------------------

ACTORS = ["admin", "bureau", "zj", "sl", "jt", "wujin", "xinbei", "public"]
KINDS = {"rectification": "a", "key_task": "task", "project": "project", "campaign": "campaign",
         "petition": "petition", "case": "case"}

# Written out from the Org fixture, not computed by the code under test. Record A (rectification) is 市住建局's
# (with 湟里镇 of 武进区) and not disclosed; every other record is 市水利局's; project, campaign, petition and case
# lie in 新北区, the key task in no district.
VIEW = {
    "rectification": "admin bureau zj sl jt wujin",
    "key_task": "admin bureau zj sl jt",
    "project": "admin bureau zj sl jt xinbei",
    "campaign": "admin bureau zj sl jt xinbei",
    "petition": "admin bureau zj sl jt xinbei",
    "case": "admin bureau zj sl jt xinbei",
}
# petitions and cases hold personal data: only the supervisors and the handling units (市水利局, 新北区)
CONTENT = {
    "rectification": "admin bureau zj sl jt wujin",
    "key_task": "admin bureau zj sl jt",
    "project": "admin bureau zj sl jt xinbei",
    "campaign": "admin bureau zj sl jt xinbei",
    "petition": "admin bureau sl xinbei",
    "case": "admin bureau sl xinbei",
}
PERSONAL = ("张三", "13800000000", "夜间噪声")  # the petition's complainant, contact and complaint text


def _secret(kind: str) -> str:
    return f"机密进展-{kind}-王五13900000000"


@pytest.fixture(scope="module")
def world(module_ledger):
    """The Org fixture with, on each record, a progress entry whose text and attachment carry a secret."""
    from argon2 import PasswordHasher

    mp = pytest.MonkeyPatch()  # cheap hashing for the module's users, as fast_password_hashing does per test
    mp.setattr(auth, "_hasher", PasswordHasher(time_cost=1, memory_cost=1024, parallelism=1))
    lg = module_ledger
    o = build_org(lg)
    attachments = {}
    with lg.session() as s:
        sys = service(s, ledger=lg)
        for kind, attr in KINDS.items():
            rid = getattr(o, attr)
            entry = sys.add_progress(rid, _secret(kind), files=[(f"{kind}.txt", _secret(kind).encode())])
            s.flush()
            attachments[kind] = entry.attachments[0].id
    app = create_app(lg.workspace, url=lg.url, today=TODAY)
    with TestClient(app) as client:
        headers = {a: ({} if a == "public" else login(client, a)) for a in ACTORS}
        yield client, o, attachments, headers
    mp.undo()


CASES = [(k, a) for k in KINDS for a in ACTORS]


@pytest.mark.parametrize(("kind", "actor"), CASES, ids=[f"{k}-{a}" for k, a in CASES])
def test_record_content_only_for_those_who_may_see_it(world, kind, actor):
    """Old code: 市住建局 (zj) and 市交通运输局 (jt), which do not handle petition or case, downloaded their
    attachments (200) and read their progress texts and timeline."""
    client, o, attachments, headers = world
    h = headers[actor]
    rid = getattr(o, KINDS[kind])
    secret = _secret(kind)
    view, content = actor in VIEW[kind].split(), actor in CONTENT[kind].split()

    d = client.get(f"{API}/items/{rid}", headers=h)
    tl = client.get(f"{API}/items/{rid}/timeline", headers=h)
    dl = client.get(f"{API}/items/{rid}/attachments/{attachments[kind]}", headers=h)
    if not view:
        assert d.status_code == tl.status_code == dl.status_code == 404
    elif content:
        body = d.json()
        assert d.status_code == 200 and body["restricted"] is False
        assert secret in [p["text"] for p in body["progress"]] and body["progress"][-1]["attachments"]
        assert tl.status_code == 200 and secret in tl.text
        assert dl.status_code == 200 and dl.content == secret.encode()
        if kind == "petition":
            assert (body["complainant"], body["contact"], body["content"]) == PERSONAL
    else:
        body = d.json()
        assert d.status_code == 200 and body["restricted"] is True
        assert body["progress"] == [] and body["attachments"] == [] and body["timeline"] == []
        assert secret not in d.text and not any(p in d.text for p in PERSONAL)
        assert tl.status_code == 403 and secret not in tl.text and "承办单位" in tl.json()["detail"]
        assert dl.status_code == 403 and secret.encode() not in dl.content


@pytest.mark.parametrize("actor", ACTORS)
def test_lists_statistics_and_export_never_carry_content(world, actor):
    """The list, the statistics and export.xlsx show no progress text nor personal data of any record, except the
    export's 整改进展 column of the rectification items the actor may see in full. Old code: a petition created
    without a title was titled with its complaint text, shown in every list."""
    client, _, _, headers = world
    h = headers[actor]
    for url in (f"{API}/items?limit=1000", f"{API}/stats"):
        r = client.get(url, headers=h)
        assert r.status_code == 200 and not any(p in r.text for p in PERSONAL)
        assert not any(_secret(k) in r.text for k in KINDS)
    x = client.get(f"{API}/export.xlsx", headers=h)
    assert x.status_code == 200
    cells = _xlsx_texts(x.content)
    for kind in KINDS:
        assert (_secret(kind) in cells) == (kind == "rectification" and actor in CONTENT[kind].split()), kind


def test_outline_of_a_petition_masks_the_complaint(world):
    """Old code: 市交通运输局 read the complaint text of a petition it does not handle (only names were masked)."""
    client, o, _, headers = world
    r = client.get(f"{API}/items/{o.petition}", headers=headers["jt"]).json()
    assert r["content"] == "***" and r["complainant"] == "***" and r["restricted"] is True


def _xlsx_texts(data: bytes) -> set[str]:
    wb = load_workbook(io.BytesIO(data))
    return {str(c.value) for ws in wb.worksheets for row in ws.iter_rows() for c in row if c.value is not None}


# --- finding 5: formula-like text stays text in every XLSX ---------------------------------------------------------

FORMULAS = ["=HYPERLINK(\"http://evil.example/x\",\"点此查看\")", "=cmd|' /C calc'!A0", "+cmd|' /C calc'!A0",
            "-2+3", "@SUM(A1:A2)"]


def _assert_no_formulas(data: bytes) -> None:
    with zipfile.ZipFile(io.BytesIO(data)) as z:
        sheets = [n for n in z.namelist() if n.startswith("xl/worksheets/") and n.endswith(".xml")]
        assert sheets
        for name in sheets:
            xml = z.read(name).decode("utf-8")
            assert "<f>" not in xml and "<f " not in xml, name


def test_ledger_export_writes_users_formula_text_as_text(ledger_url, workspace, org):
    """Old code: a measure "=HYPERLINK(...)" written by 市住建局 became <f>HYPERLINK(...)</f> in export.xlsx."""
    app = create_app(workspace, url=ledger_url, today=TODAY)
    with TestClient(app) as client:
        zj, bureau = login(client, "zj"), login(client, "bureau")
        assert client.patch(f"{API}/items/{org.a}", headers=zj,
                            json={"changes": {"measures": FORMULAS[0]}}).status_code == 200
        assert client.post(f"{API}/items/{org.a}/progress", headers=zj, data={"text": FORMULAS[1]}).status_code == 201
        for i, f in enumerate(FORMULAS[2:], start=10):
            r = client.post(f"{API}/items", headers=bureau, json={"kind": "rectification", "fields": {
                "seq": i, "source_inspection": f, "problem": f, "deadline": "2024-12-31", "disclosed": True,
                "disclosure_text": f}})
            assert r.status_code == 201, r.text
        for public in (False, True):
            x = client.get(f"{API}/export.xlsx", headers=bureau, params={"public": public})
            assert x.status_code == 200
            _assert_no_formulas(x.content)
            cells = _xlsx_texts(x.content)
            expected = FORMULAS[2:] if public else FORMULAS
            assert all(f in cells for f in expected), set(expected) - cells


TABLE_TEXTS = FORMULAS + ["\t=1+1", "\r=1+1"]


def test_result_tables_and_water_sheets_write_formula_text_as_text(tmp_path):
    """Old code: write_table (``qingshan air evaluate -o x.xlsx`` …) and the water sheets (pandas to_excel) wrote a
    station name "=cmd|..." as a formula."""
    from qingshan.cli.output import write_sheets as _write_sheets
    from qingshan.evaluate.tables import write_table

    df = pd.DataFrame({"站点": TABLE_TEXTS, "值": range(len(TABLE_TEXTS))})
    out = tmp_path / "r.xlsx"
    write_table(df, out)
    _assert_no_formulas(out.read_bytes())
    back = pd.read_excel(out, dtype={"站点": str})
    assert back["站点"].tolist() == TABLE_TEXTS and back["值"].tolist() == list(range(len(TABLE_TEXTS)))
    sheets = tmp_path / "w.xlsx"
    _write_sheets({"断面": df, "空表": pd.DataFrame()}, sheets)
    _assert_no_formulas(sheets.read_bytes())
    wb = load_workbook(sheets)
    assert [c.value for c in wb["断面"]["A"][1:]] == TABLE_TEXTS
    assert wb["空表"]["A2"].value == "无数据"


def test_spreadsheet_cells_keep_the_exact_text_and_drop_unwritable_characters(tmp_path):
    from openpyxl import Workbook

    from qingshan.spreadsheet import append_row_safe

    wb = Workbook()
    append_row_safe(wb.active, [*TABLE_TEXTS, "a\x01b", 3, None])
    path = tmp_path / "s.xlsx"
    wb.save(path)
    _assert_no_formulas(path.read_bytes())
    row = [c.value for c in load_workbook(path).active[1]]
    assert row[:len(TABLE_TEXTS)] == TABLE_TEXTS and row[len(TABLE_TEXTS):] == ["a\ufffdb", 3]


# --- finding 6: ranges of the ledger's numbers --------------------------------------------------------------------


@pytest.mark.parametrize("value", ["1e400", 1e400, "Infinity", "NaN", "-1e30", -0.01, "1e9", "12.345", "abc", True,
                                   [1], "9" * 60])
def test_completed_investment_outside_its_range_is_refused(value):
    from qingshan.ledger.limits import ValidationFailed, to_decimal

    with pytest.raises(ValidationFailed, match="完成投资"):
        to_decimal(value, "completed_investment")


@pytest.mark.parametrize(("value", "expected"), [("1234.5", Decimal("1234.5")), (0, Decimal(0)),
                                                 ("1,000.25", Decimal("1000.25")), ("1E+2", Decimal(100)),
                                                 ("12.340", Decimal("12.34")), (None, None), ("", None)])
def test_numbers_within_range_are_kept(value, expected):
    from qingshan.ledger.limits import to_decimal

    assert to_decimal(value, "completed_investment") == expected


def test_integer_ranges():
    from qingshan.ledger.limits import ValidationFailed, to_int

    assert to_int("2024", "year") == 2024 and to_int(3.0, "seq") == 3
    for bad in ("99999999999", "abc", 1999, 2101, True, 2024.5, None):
        with pytest.raises(ValidationFailed, match="年度"):
            to_int(bad, "year")


def test_ledger_numbers_are_range_checked_through_the_api(ledger_url, workspace, org):
    """Old code: completed_investment "1e400" was stored as inf (SQLite; PostgreSQL: 500) and -1e30 as is; the
    public total became null."""
    app = create_app(workspace, url=ledger_url, today=TODAY)
    with TestClient(app) as client:
        sl, bureau = login(client, "sl"), login(client, "bureau")
        for bad in ("1e400", "-1e30", -1, "12.345", "Infinity", "1e9"):
            r = client.patch(f"{API}/items/{org.project}", headers=sl, json={"changes": {"completed_investment": bad}})
            assert r.status_code == 422 and "完成投资" in r.json()["detail"], (bad, r.text)
        for raw in ("1e400", "-1e400", "Infinity", "NaN"):  # JSON numbers that Python reads as inf / nan
            r = client.patch(f"{API}/items/{org.project}", content=f'{{"changes": {{"completed_investment": {raw}}}}}',
                             headers={**sl, "Content-Type": "application/json"})
            assert r.status_code == 422 and "完成投资" in r.json()["detail"], (raw, r.text)
        r = client.patch(f"{API}/items/{org.project}", headers=sl, json={"changes": {"completed_investment": "850.5"}})
        assert r.status_code == 200 and r.json()["completed_investment"] == "850.5"
        st = client.get(f"{API}/stats", headers=bureau).json()
        assert st["projects_completed_investment"] == 850.5 and st["projects_planned_investment"] == 1000.0
        r = client.patch(f"{API}/items/{org.project}", headers=sl, json={"changes": {"percent_complete": 101}})
        assert r.status_code == 422 and "完成比例" in r.json()["detail"]
        r = client.post(f"{API}/items", headers=bureau, json={"kind": "project", "fields": {
            "title": "负投资", "planned_investment": -5}})
        assert r.status_code == 422 and "计划投资" in r.json()["detail"]
        # a fine above 100 亿元, a negative one; an indicator value beyond 1e12 (negatives are fine there)
        for amount in ("1e20", "-1"):
            r = client.post(f"{API}/items/{org.case}/transitions", headers=bureau, json={
                "name": "decide", "payload": {"decision_no": "罚决1号", "penalty_amount": amount}})
            assert r.status_code == 422 and "罚款金额" in r.json()["detail"], r.text
        url = f"{API}/items/{org.task}/indicators/{org.indicator}/values"
        assert client.post(url, headers=sl, json={"value": "1e13"}).status_code == 422
        assert client.post(url, headers=sl, json={"value": "-3.5"}).status_code == 201
        r = client.post(f"{API}/tools/daily-fine", json={"original_fine": "1e400", "order_served_on": "2024-03-01",
                                                         "rechecks": []})
        assert r.status_code == 422 and "原处罚罚款数额" in r.json()["detail"]


def test_statistics_stay_json_when_an_old_value_is_not_finite(ledger_url, org, ledger):
    """A value stored before the ranges (the attack left completed_investment = inf in SQLite) must not put a
    non-finite number into the statistics (``ledger stats --json`` printed ``Infinity``, which is not JSON)."""
    if not ledger_url.startswith("sqlite"):
        pytest.skip("PostgreSQL's numeric(16,2) cannot hold an infinite value")
    with ledger.engine.begin() as conn:
        conn.execute(text("UPDATE projects SET completed_investment = 9e999 WHERE id = :id"), {"id": org.project})
    with ledger.session() as s:
        st = service(s).stats()
    assert st["projects_completed_investment"] is None
    json.dumps(st, allow_nan=False)


# --- finding 7: malformed bodies are 4xx, with a Chinese message -------------------------------------------------


def _nested(depth: int) -> str:
    return "[" * depth + "]" * depth


def test_known_malformed_requests_get_4xx_with_a_message(ledger_url, workspace, org):
    """Each of these was a 500 in the attack run (AttributeError, ValueError, KeyError, OverflowError, …)."""
    app = create_app(workspace, url=ledger_url, today=TODAY)
    with TestClient(app, raise_server_exceptions=False) as client:
        zj, bureau = login(client, "zj"), login(client, "bureau")
        cases = [
            (zj, "POST", f"{API}/items/{org.a}/transitions", {"name": "submit", "payload": {"completion_note": 123}},
             "完成情况说明"),
            (bureau, "POST", f"{API}/items", {"kind": "rectification", "fields": {
                "seq": "abc", "source_inspection": "x", "problem": "y"}}, "序号"),
            (bureau, "POST", f"{API}/items", {"kind": "key_task", "fields": {
                "seq": 3, "plan": "方案", "year": 2024, "title": "任务", "indicators": [{"target": 5}]}}, "name"),
            (bureau, "POST", f"{API}/items", {"kind": "key_task", "fields": {
                "seq": 3, "plan": "方案", "year": "99999999999", "title": "任务"}}, "年度"),
            (bureau, "PATCH", f"{API}/items/{org.a}", {"changes": {"seq": "abc"}}, "序号"),
            (bureau, "PATCH", f"{API}/items/{org.a}", {"changes": {"seq": 10**30}}, "序号"),
            (bureau, "PATCH", f"{API}/items/{org.a}", {"changes": {"problem": {"nested": {"object": 1}}}}, "changes"),
            (bureau, "PATCH", f"{API}/items/{org.a}", {"changes": {"title": None}}, "标题"),
            (bureau, "PATCH", f"{API}/items/{org.a}", {"changes": {"code": "x" * 65}}, "编号"),
            (bureau, "PATCH", f"{API}/items/{org.a}", {"changes": {"deadline": "0001-01-01"}}, "deadline"),
            (bureau, "PATCH", f"{API}/items/{org.a}", {"changes": {"responsible": 99999999999999}}, "单位"),
            (bureau, "POST", f"{API}/items/{org.petition}/transitions",
             {"name": "extend", "payload": {"days": "abc", "reason": "x"}}, "延期天数"),
            (bureau, "POST", f"{API}/items/{org.campaign}/enterprises", {"enterprises": [{"stage": "registered"}]},
             "name"),
            (bureau, "POST", f"{API}/items/{org.case}/rechecks", {"on": "2024-05-20", "violation_continues": "maybe"},
             "violation_continues"),
            (bureau, "POST", f"{API}/tools/daily-fine", {"original_fine": "1000", "order_served_on": "2024-03-01",
                                                         "rechecks": [{"violation_continues": True}]}, "on"),
            (bureau, "POST", f"{API}/users", {"username": "u1", "password": PASSWORD, "role": "root"}, "role"),
        ]
        for headers, method, url, body, fragment in cases:
            r = client.request(method, url, headers=headers, json=body)
            assert 400 <= r.status_code < 500, (url, body, r.status_code, r.text)
            detail = r.json()["detail"]
            assert isinstance(detail, str) and CJK.search(detail) and fragment in detail, (body, detail)
        for url in (f"{API}/items?offset=99999999999999999999", f"{API}/items/99999999999999999999",
                    f"{API}/items/{org.a}/attachments/99999999999999999999", f"{API}/audit?record_id=99999999999999"):
            r = client.get(url, headers=bureau)
            assert r.status_code == 422 and CJK.search(r.json()["detail"]), (url, r.text)
        for raw in (_nested(1000), "[1, 2]", '"text"', "{bad json"):
            r = client.post("/api/v1/auth/token", content=raw, headers={"Content-Type": "application/json"})
            assert r.status_code == 422 and CJK.search(r.json()["detail"]), (raw[:20], r.text)


JUNK = [{"nested": {"object": [1]}}, 10**30, "abc", -1, None, "x" * 25_000]


def _json_routes(spec: dict) -> list[tuple[str, str, dict]]:
    """(method, path, body schema) of every ledger/auth route with a JSON body."""
    out = []
    for path, ops in spec["paths"].items():
        for method, op in ops.items():
            content = op.get("requestBody", {}).get("content", {})
            if "application/json" in content:
                out.append((method.upper(), path, content["application/json"]["schema"]))
    return out


def _resolve(spec: dict, schema: dict) -> dict:
    while "$ref" in schema:
        schema = spec["components"]["schemas"][schema["$ref"].rsplit("/", 1)[-1]]
    return schema


def test_every_json_route_answers_junk_fields_with_4xx(ledger_url, workspace, org):
    """A small fuzz over the OpenAPI schema: each field of each JSON body replaced by junk (an object, a huge
    integer, text, a negative number, null, 25,000 characters); none may give a 5xx."""
    app = create_app(workspace, url=ledger_url, today=TODAY)
    with TestClient(app, raise_server_exceptions=False) as client:
        bureau = login(client, "bureau")
        spec = client.get("/api/v1/openapi.json").json()
        ids = {"record_id": org.a, "indicator_id": org.indicator, "milestone_id": org.milestone,
               "enterprise_id": org.enterprise}
        tried = 0
        for method, path, schema in _json_routes(spec):
            if path.endswith("/auth/password"):
                continue  # a 403 for the wrong current password counts towards the throttle; tested below
            url = path.format(**{k: ids.get(k, org.a) for k in re.findall(r"{(\w+)}", path)})
            if "/enterprises/" in path or "/milestones/" in path or "/indicators/" in path:
                rid = org.campaign if "/enterprises/" in path else org.project if "/milestones/" in path else org.task
                url = path.format(record_id=rid, **{k: v for k, v in ids.items() if k != "record_id"})
            variants = []
            schema = _resolve(spec, schema)
            for option in schema.get("oneOf", [schema]):  # the create body: one model per kind
                option = _resolve(spec, option)
                props = option.get("properties", {})
                if "kind" in props:
                    kind = props["kind"].get("const") or props["kind"]["enum"][0]
                    fields = _resolve(spec, props["fields"]).get("properties", {})
                    variants += [{"kind": kind, "fields": {f: j}} for f in fields for j in JUNK]
                    continue
                variants += [{p: j} for p in props for j in JUNK]
            variants += [[], "text", {"unknown": 1}]
            for body in variants:
                r = client.request(method, url, headers=bureau, json=body)
                tried += 1
                assert r.status_code < 500, (method, url, body if len(str(body)) < 200 else str(body)[:200], r.text)
                if r.status_code >= 400:
                    assert CJK.search(r.json()["detail"]), (method, url, r.text)
        assert tried > 300, tried


# --- finding 9: districts, units, file modes, user names, bidi, own password --------------------------------------


def test_district_must_be_a_district_and_unknown_units_are_not_found(ledger_url, workspace, org, ledger):
    """Old code: district_id could point at 市住建局; an unknown id answered 409 "编号或名称重复"."""
    with ledger.session() as s:
        ids = {u.name: u.id for u in s.execute(select(OrgUnit)).scalars()}
    app = create_app(workspace, url=ledger_url, today=TODAY)
    with TestClient(app) as client:
        bureau = login(client, "bureau")
        r = client.patch(f"{API}/items/{org.a}", headers=bureau, json={"changes": {"district_id": ids["市住建局"]}})
        assert r.status_code == 422 and "不是辖市区" in r.json()["detail"]
        r = client.patch(f"{API}/items/{org.a}", headers=bureau, json={"changes": {"district_id": 987654}})
        assert r.status_code == 422 and "不存在" in r.json()["detail"] and "重复" not in r.json()["detail"]
        r = client.patch(f"{API}/items/{org.a}", headers=bureau, json={"changes": {"district_id": ids["新北区"]}})
        assert r.status_code == 200 and r.json()["district"] == "新北区"
        r = client.post(f"{API}/items", headers=bureau, json={"kind": "campaign", "fields": {
            "title": "整治", "district": "市水利局"}})
        assert r.status_code == 422 and "不是辖市区" in r.json()["detail"]


def _mode(path) -> int:
    return stat.S_IMODE(os.stat(path).st_mode)


def test_ledger_files_are_private(tmp_path):
    """Old code: ledger.sqlite (password hashes, petitioners' phones) and ledger-files/ were created 0644/0755."""
    ws = tmp_path / "ws"
    lg = open_ledger(ws)
    try:
        with lg.session() as s:
            sys = service(s, ledger=lg)
            sys.create_unit("zjj", "市住建局", "department")
            item = sys.create_rectification(seq=1, source_inspection="督察", problem="问题", deadline="2024-12-31",
                                            responsible=["市住建局"])
            sys.attach(item.id, [("证明.pdf", PDF)])
        assert _mode(ws) == 0o700
        for name in ("ledger.sqlite", "ledger.sqlite-wal", "ledger.sqlite-shm"):
            assert _mode(ws / name) == 0o600, name
        files = ws / "ledger-files"
        stored = [p for p in files.rglob("*") if p.is_file()]
        assert stored and all(_mode(p) == 0o600 for p in stored)
        assert all(_mode(p) == 0o700 for p in [files, *(p for p in files.rglob("*") if p.is_dir())])
    finally:
        lg.dispose()
    # an older workspace is tightened when opened
    os.chmod(ws / "ledger.sqlite", 0o644)
    os.chmod(ws / "ledger-files", 0o755)
    open_ledger(ws).dispose()
    assert _mode(ws / "ledger.sqlite") == 0o600 and _mode(ws / "ledger-files") == 0o700


def test_usernames_ignore_case_and_display_names_are_unique(ledger_url, workspace, org):
    """Old code: an admin created BUREAU next to bureau, with the bureau's display name."""
    app = create_app(workspace, url=ledger_url, today=TODAY)
    with TestClient(app) as client:
        admin = login(client, "admin")
        r = client.post(f"{API}/users", headers=admin, json={"username": "BUREAU", "password": PASSWORD,
                                                             "role": "bureau", "unit": "常州市生态环境局"})
        assert r.status_code == 409 and "已存在" in r.json()["detail"]
        r = client.post(f"{API}/users", headers=admin, json={"username": "bureau2", "password": PASSWORD,
                                                             "role": "bureau", "display_name": "Bureau"})
        assert r.status_code == 409 and "显示名" in r.json()["detail"]
        r = client.post(f"{API}/users", headers=admin, json={"username": "张三", "password": PASSWORD, "role": "admin"})
        assert r.status_code == 422 and "用户名" in r.json()["detail"]
        r = client.post(f"{API}/users", headers=admin, json={"username": "li.si", "password": PASSWORD, "role": "admin",
                                                             "display_name": "李\u202e四\u200b"})
        assert r.status_code == 201 and r.json()["display_name"] == "李四"
        assert client.get("/api/v1/auth/me", headers=login(client, "BuReAu")).json()["role"] == "bureau"
        assert client.get("/api/v1/auth/me", headers=login(client, "LI.SI")).json()["name"] == "李四"


def test_the_database_refuses_case_variants_too(ledger):
    """The unique indexes of migration 0002 hold even for a writer that skips the service."""
    from sqlalchemy.exc import IntegrityError

    with ledger.session() as s:
        s.add(User(username="admin", display_name="Admin", password_hash="x", role="admin"))
    for username, display in (("ADMIN", "another"), ("another", "ADMIN")):
        with pytest.raises(IntegrityError), ledger.session() as s:
            s.add(User(username=username, display_name=display, password_hash="x", role="admin"))


def _downgrade(engine, revision: str) -> None:
    from alembic import command

    from qingshan.ledger.db import alembic_config

    cfg = alembic_config(engine)
    with engine.begin() as conn:
        cfg.attributes["connection"] = conn
        command.downgrade(cfg, revision)


def test_migration_0002_on_existing_users(ledger_url):
    """Display names clashing ignoring case get the user name appended; user names clashing stop the upgrade."""
    engine = make_engine(ledger_url)
    try:
        upgrade(engine, "0001")
        insert = text("INSERT INTO users (username, display_name, password_hash, role, active, created_at) "
                      "VALUES (:u, :d, 'x', 'bureau', :a, :t)")
        rows = [{"u": "bureau", "d": "局机关"}, {"u": "other", "d": "局机关"}, {"u": "ann", "d": "Ann"},
                {"u": "ann2", "d": "ANN"}]
        with engine.begin() as conn:
            for r in rows:
                conn.execute(insert, {**r, "a": True, "t": "2024-01-01 00:00:00"})
        upgrade(engine)
        with engine.connect() as conn:
            names = dict(conn.execute(text("SELECT username, display_name FROM users")).all())
        assert names == {"bureau": "局机关", "other": "局机关（other）", "ann": "Ann", "ann2": "ANN（ann2）"}
        _downgrade(engine, "0001")
        with engine.begin() as conn:
            conn.execute(insert, {"u": "BUREAU", "d": "另一个", "a": True, "t": "2024-01-01 00:00:00"})
        with pytest.raises(RuntimeError, match="bureau / BUREAU"):
            upgrade(engine)
    finally:
        engine.dispose()


def test_attachment_names_lose_bidi_controls(ledger_url, workspace, org):
    """Old code: "报告\u202efdp.exe" was stored and shown as is (displayed as 报告exe.pdf)."""
    app = create_app(workspace, url=ledger_url, today=TODAY)
    with TestClient(app) as client:
        zj = login(client, "zj")
        r = client.post(f"{API}/items/{org.a}/attachments", headers=zj,
                        files=[("files", ("报告\u202egpj.exe.pdf", PDF, "application/pdf")),
                               ("files", ("\u200b说明\u2066.pdf", PDF, "application/pdf"))])
        assert r.status_code == 201
        assert [a["filename"] for a in r.json()] == ["报告gpj.exe.pdf", "说明.pdf"]
        d = client.get(f"{API}/items/{org.a}/attachments/{r.json()[0]['id']}", headers=zj)
        assert "%E2%80%AE" not in d.headers["content-disposition"]


def test_change_own_password(ledger_url, workspace, org, ledger):
    """Old code: no way to change one's own password (404)."""
    app = create_app(workspace, url=ledger_url, today=TODAY)
    with TestClient(app) as client:
        here, elsewhere = login(client, "zj"), login(client, "zj")
        url = "/api/v1/auth/password"
        assert client.post(url, json={"current_password": PASSWORD, "new_password": "new-pass-123"}).status_code == 401
        r = client.post(url, headers=here, json={"current_password": "wrong-pass-1", "new_password": "new-pass-123"})
        assert r.status_code == 403 and "当前密码不正确" in r.json()["detail"]
        r = client.post(url, headers=here, json={"current_password": PASSWORD, "new_password": "short"})
        assert r.status_code == 422 and "至少 8 位" in r.json()["detail"]
        r = client.post(url, headers=here, json={"current_password": PASSWORD, "new_password": PASSWORD})
        assert r.status_code == 422
        r = client.post(url, headers=here, json={"current_password": PASSWORD, "new_password": "new-pass-123"})
        assert r.status_code == 200 and r.json()["revoked_sessions"] == 1
        assert client.get("/api/v1/auth/me", headers=here).json()["name"] == "zj"  # this session stays
        assert client.get("/api/v1/auth/me", headers=elsewhere).status_code == 401  # the other one is revoked
        assert client.post("/api/v1/auth/token", data={"username": "zj", "password": PASSWORD}).status_code == 401
        login(client, "zj", "new-pass-123")
    with ledger.session() as s:
        e = s.execute(select(AuditEntry).where(AuditEntry.action == "user.password")).scalar_one()
        assert e.actor_name == "zj" and "argon2" not in json.dumps([e.before, e.after, e.note])


def test_wrong_current_passwords_are_throttled(ledger_url, workspace, org):
    app = create_app(workspace, url=ledger_url, today=TODAY)
    with TestClient(app) as client:
        h = login(client, "sl")
        codes = [client.post("/api/v1/auth/password", headers=h, json={
            "current_password": f"guess-{i}-xx", "new_password": "new-pass-123"}).status_code for i in range(6)]
        assert codes == [403] * 5 + [429]


def test_password_rules_are_those_of_account_creation():
    with pytest.raises(ValueError, match="至少"):
        auth.hash_password("1234567")
    with pytest.raises(ValueError, match="不能超过"):
        auth.hash_password("x" * 1025)
