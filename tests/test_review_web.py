"""Data review through the console: ``/api/v1/review/…`` (roles, marks, the audit log, the evaluation following the
marks, the XLSX round trip) and the ``/review`` page (docs/review.md). The store is the hand-made one of
tests/test_review.py; the ledger holds the console test users (admin, bureau, zjj = department, wujin = district)."""

from __future__ import annotations

import io
import re

import pytest
from fastapi.testclient import TestClient
from openpyxl import load_workbook

from qingshan.store.workspace import Workspace
from qingshan.web.app import create_console_app

from .test_review import CITY, H1, PERIOD, fill
from .web_fixtures import PASSWORD, cheap_password_hashing, login_cookie

API = "/api/v1"


@pytest.fixture(scope="module")
def app(tmp_path_factory):
    from .web_fixtures import _ledger

    mp = cheap_password_hashing()
    ws = tmp_path_factory.mktemp("review-web") / "ws"
    with Workspace(ws) as w:
        fill(w)
    _ledger(ws)
    application = create_console_app(ws, warm=False, state_ttl=3600)  # the review routes refresh the state
    with TestClient(application):
        yield application
    mp.undo()


@pytest.fixture(scope="module")
def client(app):
    return TestClient(app)


def bearer(client, username: str) -> dict[str, str]:
    r = client.post(f"{API}/auth/token", data={"username": username, "password": PASSWORD})
    assert r.status_code == 200, r.text
    return {"Authorization": f"Bearer {r.json()['access_token']}"}


def s1_pm25(client, **params) -> tuple[float, dict]:
    r = client.get(f"{API}/air/evaluation", params={"city": CITY, "period": PERIOD, **params})
    assert r.status_code == 200, r.text
    body = r.json()
    return next(row["pm25_mean"] for row in body["rows"] if row["code"] == "S1"), body


BODY = {"station": "S1", "start": "2025-03-10 01:00", "end": "2025-03-10 03:00", "reason": "故障", "pollutants": "pm25"}


def test_only_reviewers_may_see_or_change_review_data(client):
    for method, path, kw in (("get", "/suggestions", {}), ("get", "/marks", {}), ("post", "/marks", {"json": BODY}),
                             ("get", "/workbook", {}), ("post", "/suggestions/negative:S1:so2:1-1/dismiss", {"json": {}})):
        assert getattr(client, method)(f"{API}/review{path}", **kw).status_code == 401, path
        for user in ("zjj", "wujin"):
            r = getattr(client, method)(f"{API}/review{path}", headers=bearer(client, user), **kw)
            assert r.status_code == 403 and "仅限" in r.json()["detail"], (path, user)
    assert client.get("/review").status_code == 401
    assert client.get(f"{API}/review/marks", headers=bearer(client, "bureau")).json()["log"] == []


def test_a_mark_through_the_api_changes_the_evaluation_and_is_audited(client):
    before, body = s1_pm25(client)
    assert before == 22 and body["data"]["kind"] == "reviewed"
    assert client.get(f"{API}/overview").json()["rulesets"]["data"]["kind"] == "reviewed"
    bureau = bearer(client, "bureau")
    r = client.post(f"{API}/review/marks", json=BODY, headers=bureau)
    assert r.status_code == 200, r.text
    mark = r.json()["mark"]
    assert (mark["by_user"], mark["via"], mark["reason"], mark["hi_from"], mark["hi_to"]) == ("bureau", "api", "fault", H1, H1 + 2)
    assert mark["after_counts"] == {"pm25": {"raw": 3, "reviewed": 0, "assessment": 0}}
    after, body = s1_pm25(client)
    assert after == 24 and "审核后" in body["data"]["label"]
    raw, body = s1_pm25(client, data="raw")
    assert raw == 22 and body["data"]["kind"] == "raw"
    series = client.get(f"{API}/air/stations/S1/series", params={"start": "2025-03-10", "end": "2025-03-10",
                                                                  "pollutant": "pm25"}).json()
    assert [h["pm25"] for h in series["hours"][:4]] == [None, None, None, 14.0] and series["data"]["kind"] == "reviewed"
    assert client.get(f"{API}/air/evaluation", params={"data": "cooked"}).status_code == 422
    log = client.get(f"{API}/review/marks", headers=bureau).json()
    assert [m["by_user"] for m in log["log"]] == ["bureau"] and log["current"][0]["pollutant"] == "pm25"
    r = client.post(f"{API}/review/marks", json={**BODY, "action": "restore", "reason": "其他", "note": "复核有效"},
                    headers=bearer(client, "admin"))
    assert r.status_code == 200 and r.json()["changed"]
    assert s1_pm25(client)[0] == 22
    assert [m["by_user"] for m in client.get(f"{API}/review/marks", headers=bureau).json()["log"]] == ["admin", "bureau"]


def test_bad_marks_get_one_chinese_line(client):
    bureau = bearer(client, "bureau")
    for body, text in (({**BODY, "station": "NOPE"}, "没有站点"), ({**BODY, "reason": "下雨"}, "不在列表中"),
                       ({**BODY, "start": "2025-03-10 01:30"}, "整点"), ({**BODY, "action": "delete"}, "操作")):
        r = client.post(f"{API}/review/marks", json=body, headers=bureau)
        assert r.status_code == 422 and text in r.json()["detail"], (body, r.text)


def test_suggestions_workbook_round_trip_over_the_api(client, app):
    bureau = bearer(client, "bureau")
    cur = app.state.console.store.con.cursor()
    cur.execute("UPDATE air_hourly SET pm25 = -5 WHERE station = 'S3' AND hi = ?", [H1 + 10])
    cur.close()
    app.state.console.store.refresh()
    got = client.get(f"{API}/review/suggestions", params={"period": PERIOD}, headers=bureau).json()
    keys = [s["key"] for s in got["suggestions"]]
    assert f"negative:S3:pm25:{H1 + 10}-{H1 + 10}" in keys
    wb_bytes = client.get(f"{API}/review/workbook", params={"period": PERIOD}, headers=bureau)
    assert wb_bytes.status_code == 200
    wb = load_workbook(io.BytesIO(wb_bytes.content))
    sh = wb["审核"]
    col = {c.value: i + 1 for i, c in enumerate(sh[1])}
    row = next(r for r in range(2, sh.max_row + 1) if sh.cell(r, col["编号"]).value == keys[0])
    sh.cell(row, col["结论"]).value, sh.cell(row, col["原因"]).value = "无效", "异常值"
    sh.cell(sh.max_row + 1, col["结论"]).value = "也许"
    buf = io.BytesIO()
    wb.save(buf)
    files = {"file": ("审核.xlsx", buf.getvalue(), "application/octet-stream")}
    r = client.post(f"{API}/review/workbook", files=files, headers=bureau)
    assert r.status_code == 200, r.text
    assert r.json()["applied"] == 1 and r.json()["problems"][0]["reason"].startswith("结论")
    again = client.post(f"{API}/review/workbook", files=files, headers=bureau).json()
    assert again["applied"] == 0 and again["unchanged"] == 1
    assert client.get(f"{API}/review/suggestions", params={"period": PERIOD}, headers=bureau).json()["suggestions"] == []


def test_the_review_page_with_csrf_protected_forms(app):
    browser = TestClient(app)
    csrf = login_cookie(browser, "bureau")
    page = browser.get("/review", params={"period": PERIOD})
    assert page.status_code == 200 and "数据审核" in page.text and 'data-form="review-mark"' in page.text
    form = {"action": "invalidate", "station_code": "S2", "start": "2025-03-10 05:00", "end": "2025-03-10 06:00",
            "reason": "maintenance", "pollutants": ["so2", "no2"], "period": PERIOD, "station": ""}
    assert browser.post("/review/mark", data=form, follow_redirects=False).status_code == 403  # no CSRF field
    r = browser.post("/review/mark", data={**form, "csrf": csrf}, follow_redirects=False)
    assert r.status_code == 303, r.text
    page = browser.get(r.headers["location"])
    assert "已记录审核" in page.text and re.search(r"<td>bureau</td><td>console</td>", page.text)
    bad = browser.post("/review/mark", data={**form, "csrf": csrf, "station_code": "NOPE"})
    assert bad.status_code == 422 and "没有站点" in bad.text


def test_the_ranking_deducts_dust_hours_and_the_evaluation_does_not(client):
    bureau = bearer(client, "bureau")
    dust = {"station": "S1", "start": "2025-03-10 01:00", "end": "2025-03-10 03:00", "reason": "沙尘天气影响"}
    assert client.post(f"{API}/review/marks", json=dust, headers=bureau).json()["mark"]["pollutants"] == "pm10,pm25"
    value, body = s1_pm25(client)
    assert value == 22 and not body["data"]["exclude_dust"]  # publication: the air as it was
    r = client.get(f"{API}/air/ranking", params={"city": CITY, "period": PERIOD, "by": "pm25_mean"})
    assert r.status_code == 200, r.text
    ranked = r.json()
    assert next(row["value"] for row in ranked["rows"] if row["code"] == "S1") == 24
    assert ranked["data"]["exclude_dust"] and "沙尘" in ranked["data"]["label"]
    client.post(f"{API}/review/marks", json={**dust, "action": "restore", "reason": "其他", "note": "撤销"}, headers=bureau)
    assert all(c["layer"] != "dust" for c in client.get(f"{API}/review/marks", headers=bureau).json()["current"])


def test_the_review_page_has_no_horizontal_overflow_at_390_px(app):
    """In headless Chromium (skipped without it): signed in as a reviewer on a 390 px wide screen, nothing of the
    page's content (``main``) reaches past the screen's right edge (tables scroll inside their own box)."""
    from .browser import launched, require_chromium
    from .console_server import served_app

    require_chromium()
    with served_app(app) as base, launched() as browser:
        page = browser.new_context(viewport={"width": 390, "height": 844}, locale="zh-CN").new_page()
        page.goto(f"{base}/login?next=/review")
        page.fill("input[name=username]", "bureau")
        page.fill("input[name=password]", PASSWORD)
        page.click("button[type=submit]")
        page.wait_for_load_state()
        page.goto(f"{base}/review?period={PERIOD}")
        assert page.locator("h1").inner_text() == "数据审核"
        outside = page.evaluate("""() => {
            const w = document.documentElement.clientWidth, out = [];
            for (const el of document.querySelectorAll('main, main *')) {
                const r = el.getBoundingClientRect();
                if (r.right > w + 0.5 && !el.closest('.table-wrap *')) out.push(el.tagName + '.' + el.className + ' ' + Math.round(r.right));
            }
            return out; }""")
    assert outside == [], f"超出 390 px 屏幕的元素：{outside}"
