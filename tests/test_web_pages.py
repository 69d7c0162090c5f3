"""The console's pages (qingshan.web.pages) through FastAPI's TestClient: every page renders for the public and for
a signed-in bureau user, shows the numbers of the matching /api/v1 endpoint, embeds its charts as Vega-Lite JSON,
and never refers to an address outside this server."""

from __future__ import annotations

import html
import json
import re

import pytest
from fastapi.testclient import TestClient

from qingshan.ledger.rbac import Principal
from qingshan.ledger.service import LedgerService
from qingshan.web.app import create_console_app

from .web_fixtures import (
    AS_OF,
    LEDGER_TODAY,
    PASSWORD,
    cheap_password_hashing,
    login_cookie,
    shared_workspace,
)

API = "/api/v1"

#: page → (heading text it must contain, chart containers it must hold)
PAGES = {
    "/": ("示范市生态环境总览", ["station-map", "city-aqi-today"]),
    "/air": ("各站点实时", []),
    "/air/stations/D001A": ("市监测站", ["station-series", "aqi-calendar", "aqi-category-days", "diurnal-profile"]),
    "/air/evaluation": ("环境空气质量评价（HJ 663）", []),
    "/air/ranking": ("空气质量排名", ["ranking-bars"]),
    "/water": ("地表水环境质量", ["water-class-share"]),
    "/ledger": ("治理台账", []),
    "/ledger/petitions": ("信访件办理时限", []),
    "/targets": ("年度目标", ["target-progress"]),
    "/login": ("登录", []),
    "/reports": ("报告", []),
}


@pytest.fixture(scope="module")
def app(tmp_path_factory):
    mp = cheap_password_hashing()
    ws = shared_workspace(tmp_path_factory.getbasetemp())
    application = create_console_app(ws, as_of=AS_OF, today=LEDGER_TODAY, warm=False,
                                     bundle_cache_dir=tmp_path_factory.mktemp("bundle"))
    with TestClient(application):
        yield application
    mp.undo()


@pytest.fixture(scope="module")
def public(app):
    return TestClient(app)


@pytest.fixture(scope="module")
def bureau(app):
    c = TestClient(app)
    c.csrf = login_cookie(c, "bureau")  # type: ignore[attr-defined]
    return c


def text_of(page: str) -> str:
    """The visible text (tags removed, entities decoded) of a page."""
    no_scripts = re.sub(r"<script\b[^>]*>.*?</script>", " ", page, flags=re.DOTALL)
    return html.unescape(re.sub(r"<[^>]+>", " ", no_scripts))


def charts_of(page: str) -> dict[str, dict]:
    found = re.findall(r'<figure class="chart" data-chart="([^"]+)">.*?<script type="application/json" '
                       r'class="chart-spec">(.*?)</script>', page, flags=re.DOTALL)
    return {name: json.loads(spec) for name, spec in found}


EXTERNAL = re.compile(r"""(?:https?:)?//[A-Za-z0-9.-]+\.[A-Za-z]{2,}""")
ATTR_URL = re.compile(r"""\b(?:src|href|action|data|poster|srcset)\s*=\s*["']?([^"'\s>]+)""", re.IGNORECASE)


def assert_no_external_url(page: str, where: str) -> None:
    assert "http://" not in page and "https://" not in page, where
    for url in ATTR_URL.findall(page):
        assert not url.startswith("//") and ":" not in url.split("/")[0], (where, url)
    assert not EXTERNAL.search(re.sub(r"<script type=\"application/json\".*?</script>", "", page, flags=re.DOTALL)), where


def item_ids(app) -> dict[str, int]:
    with app.state.console.ledger.session() as s:
        svc = LedgerService(s, Principal.system(), today=LEDGER_TODAY)
        recs = svc.list_records(kind="rectification", limit=None).items
        zj = next(r.id for r in recs if "市住建局" in svc.unit_names(r, "responsible"))
        not_zj = next(r.id for r in recs if "市住建局" not in svc.unit_names(r, "responsible"))
        petition = svc.list_records(kind="petition", limit=1).items[0].id
    return {"zj": zj, "not_zj": not_zj, "petition": petition}


# --- every page, both audiences ---------------------------------------------------------------------------------


@pytest.mark.parametrize("who", ["public", "bureau"])
@pytest.mark.parametrize("path", list(PAGES))
def test_page_renders_with_heading_charts_and_no_external_url(request, path, who):
    client = request.getfixturevalue(who)
    r = client.get(path)
    assert r.status_code == 200, r.text[:500]
    assert r.headers["content-type"].startswith("text/html")
    heading, charts = PAGES[path]
    assert heading in text_of(r.text)
    found = charts_of(r.text)
    for name in charts:
        assert name in found, (path, name)
        spec = found[name]
        assert "$schema" not in spec and ("data" in spec or "layer" in spec)
    assert_no_external_url(r.text, path)
    assert "Traceback" not in r.text
    if who == "bureau":
        assert "退出" in r.text and "局机关人员" in text_of(r.text)
    else:
        assert "公众访问" in r.text and 'href="/login' in r.text
    assert "default-src 'self'" in r.headers["content-security-policy"]


def test_ledger_item_page_both_audiences(app, public, bureau):
    ids = item_ids(app)
    r = bureau.get(f"/ledger/items/{ids['zj']}")
    assert r.status_code == 200 and 'data-form="progress"' in r.text and "时间线" in r.text
    assert_no_external_url(r.text, "item")
    r = public.get(f"/ledger/items/{ids['zj']}")  # every rectification item is disclosed in the demo ledger
    assert r.status_code == 200 and 'data-form="progress"' not in r.text and "时间线" not in r.text
    assert public.get(f"/ledger/items/{ids['petition']}").status_code == 404  # petitions are never public


# --- the pages show the API's numbers --------------------------------------------------------------------------


def test_overview_page_shows_the_api_numbers(public):
    o = public.get(f"{API}/overview").json()
    page = public.get("/").text
    assert f'data-city-aqi="{o["city_now"]["aqi"]}"' in page
    assert o["city_now"]["colour"] in page
    text = text_of(page)
    for s in o["stations"]:
        assert f'data-station="{s["code"]}"' in page and s["name"] in text
    for t in o["targets"]["rows"]:
        assert t["required_text"] in text
    for lv in o["water"]["levels"]:
        assert f'{lv["share_good_pct"]:.1f}%' in text
    assert f'data-kpi="overdue_total">{o["ledger"]["overdue_total"]}<' in page
    assert f'data-kpi="petitions">{o["ledger"]["petitions"]}<' in page
    for a in o["alerts"]["air"]:
        assert a["message"] in text
    assert "".join(p["name"] for p in o["today"]["primary"]) in text.replace("、", "")


def test_air_page_shows_every_station_value(public):
    data = public.get(f"{API}/air/stations").json()
    page = public.get("/air").text
    for s in data["stations"]:
        row = re.search(rf'<tr data-station="{s["code"]}".*?</tr>', page, flags=re.DOTALL).group(0)
        for col in ("pm25", "pm25_24h", "o3_8h", "co"):
            v = s["values"][col]
            shown = "—" if v is None else (f"{v:.1f}" if col == "co" else f"{v:.0f}")
            assert f'data-col="{col}">{shown}<' in row, (s["code"], col)
        aqi = "—" if s["aqi"] is None else str(s["aqi"])
        assert f">{aqi}</span>" in row


def test_evaluation_page_shows_coverage(public):
    ev = public.get(f"{API}/air/evaluation", params={"period": "2025-02"}).json()
    page = public.get("/air/evaluation", params={"period": "2025-02"}).text
    assert "2025-02-01 至 2025-02-28（28 天）" in text_of(page)
    for r in ev["rows"]:
        row = re.search(rf'<tr data-code="{r["code"]}"[^>]*>.*?</tr>', page, flags=re.DOTALL).group(0)
        assert f'{r["coverage"]["valid_days"]}/{r["coverage"]["expected_days"]}' in row
        pm = r["pm25_mean"]
        assert f'data-col="pm25_mean">{"—" if pm is None else f"{pm:.0f}"}<' in row


def test_ranking_page_highlights_cells_like_the_api(public):
    r = public.get(f"{API}/air/ranking", params={"by": "pm25_mean"}).json()
    page = public.get("/air/ranking", params={"by": "pm25_mean"}).text
    assert any(x["highlight"] == "yellow" for x in r["rows"])  # the demo city has stations worse than its mean
    for x in r["rows"]:
        row = re.search(rf'<tr data-code="{x["code"]}" data-highlight="{x["highlight"] or ""}"[^>]*>.*?</tr>', page,
                        flags=re.DOTALL)
        assert row, x["code"]
        assert ('hl-city' in row.group(0)) == x["worse_than_city"]
        assert ('hl-yoy' in row.group(0)) == x["worse_than_previous"]
        assert 'hl-yellow' not in row.group(0) and 'hl-red' not in row.group(0)
        cells = row.group(0)
        # a mark and a text besides the colour (◆ worse than the city, ● worse than last year)
        assert ('<span class="hl-mark" aria-hidden="true">◆</span>' in cells) == x["worse_than_city"]
        assert ('<span class="hl-mark" aria-hidden="true">●</span>' in cells) == x["worse_than_previous"]
        assert ("（劣于全市平均水平）" in cells) == x["worse_than_city"]
        assert ("（较上年同期变差）" in cells) == x["worse_than_previous"]
    assert "hl-yellow" not in page and "hl-red" not in page and "紫底" in text_of(page) and "青底" in text_of(page)
    bars = charts_of(page)["ranking-bars"]["data"]["values"]
    assert {b["name"] for b in bars} == {x["name"] for x in r["rows"] if x["value"] is not None}


def _luminance(hex_colour: str) -> float:
    """WCAG 2.1 relative luminance."""
    h = hex_colour.lstrip("#")
    if len(h) == 3:
        h = "".join(c * 2 for c in h)
    lin = [(c / 12.92 if c <= 0.03928 else ((c + 0.055) / 1.055) ** 2.4) for c in
           (int(h[i:i + 2], 16) / 255 for i in (0, 2, 4))]
    return 0.2126 * lin[0] + 0.7152 * lin[1] + 0.0722 * lin[2]


def test_ranking_table_highlights_are_the_charts_colours_with_enough_contrast():
    """The table's two highlights are the ranking chart's purple and teal (not the AQI yellow #FFFF00 / red
    #FF0000 it used before), with text at WCAG AA contrast (≥ 4.5:1) on them."""
    from pathlib import Path

    import qingshan.web
    from qingshan.charts.specs import RANKING_COLOURS

    css = (Path(qingshan.web.__file__).parent / "static" / "console.css").read_text(encoding="utf-8")
    for cls, key in ((".hl-city", "yellow"), (".hl-yoy", "red")):
        rule = re.search(re.escape(cls) + r" \{([^}]*)\}", css).group(1)
        bg = re.search(r"background: (#[0-9A-Fa-f]{3,6})", rule).group(1)
        fg = re.search(r"(?<!-)color: (#[0-9A-Fa-f]{3,6})", rule).group(1)
        assert bg.upper() == RANKING_COLOURS[key].upper(), cls
        hi, lo = sorted((_luminance(bg), _luminance(fg)), reverse=True)
        assert (hi + 0.05) / (lo + 0.05) >= 4.5, cls
    assert ".hl-yellow" not in css and ".hl-red" not in css


def test_water_and_targets_pages_show_the_api_numbers(public):
    sections = public.get(f"{API}/water/sections").json()["sections"]
    page = public.get("/water").text
    for s in sections:
        row = re.search(rf'<tr data-section="{s["section"]}">.*?</tr>', page, flags=re.DOTALL).group(0)
        assert f'data-col="class">{s["class"]}<' in row
    t = public.get(f"{API}/targets").json()
    page = public.get("/targets").text
    for row in t["rows"]:
        tr = re.search(rf'<tr data-target="{row["id"]}">.*?</tr>', page, flags=re.DOTALL).group(0)
        assert row["status_text"] in tr and html.escape(row["required_text"]) in tr
    progress = charts_of(page)["target-progress"]["data"]["values"]
    assert len(progress) == len(t["rows"])


def test_ledger_pages_follow_the_role(app, public, bureau):
    pub = text_of(public.get("/ledger").text)
    bur = text_of(bureau.get("/ledger").text)
    with app.state.console.ledger.session() as s:
        n_public = LedgerService(s, Principal.public(), today=LEDGER_TODAY).list_records(limit=1).total
        n_all = LedgerService(s, Principal.system(), today=LEDGER_TODAY).list_records(limit=1).total
    assert f"共 {n_public} 条" in pub and f"共 {n_all} 条" in bur and n_public < n_all
    board = public.get("/ledger/petitions").text
    assert 'data-public="petitions"' in board and 'data-table="petitions"' not in board
    board = bureau.get("/ledger/petitions", params={"show": "all"}).text
    rows = re.findall(r'<tr data-record="\d+"', board)
    assert len(rows) == 196  # the demo ledger's petitions
    overdue = re.findall(r'<tr data-record="\d+" class="overdue"', board)
    o = bureau.get(f"{API}/overview").json()["ledger"]
    assert len(overdue) == o["petitions_overdue"]


# --- forms: CSRF, permissions, login/logout --------------------------------------------------------------------


def test_progress_form_needs_csrf_and_permission(app, bureau):
    ids = item_ids(app)
    url = f"/ledger/items/{ids['zj']}/progress"
    r = bureau.post(url, data={"text": "缺少 CSRF"}, follow_redirects=False)
    assert r.status_code == 403 and "CSRF" in text_of(r.text) and "<html" in r.text
    r = bureau.post(url, data={"text": "页面报送的进展", "csrf": bureau.csrf}, follow_redirects=False)
    assert r.status_code == 303 and r.headers["location"] == f"/ledger/items/{ids['zj']}?saved=1"
    page = bureau.get(r.headers["location"]).text
    assert "进展已报送" in page and "页面报送的进展" in page
    # a department user: the form shows only on its own records, and the service refuses the others
    zjj = TestClient(app)
    csrf = login_cookie(zjj, "zjj")
    assert 'data-form="progress"' in zjj.get(f"/ledger/items/{ids['zj']}").text
    assert 'data-form="progress"' not in zjj.get(f"/ledger/items/{ids['not_zj']}").text
    r = zjj.post(f"/ledger/items/{ids['not_zj']}/progress", data={"text": "越权", "csrf": csrf})
    assert r.status_code == 403 and "无权" in text_of(r.text)
    # the public is sent to the login page
    r = TestClient(app).post(url, data={"text": "匿名"})
    assert r.status_code == 401 and "/login" in r.text


def test_logout_ends_the_session(app):
    c = TestClient(app)
    csrf = login_cookie(c, "wujin")
    assert "辖市区用户" in text_of(c.get("/").text)
    assert c.post("/logout", data={"csrf": "wrong"}).status_code == 403
    r = c.post("/logout", data={"csrf": csrf}, follow_redirects=False)
    assert r.status_code == 303
    c.cookies.clear()
    assert "公众访问" in c.get("/").text


# --- errors and assets -----------------------------------------------------------------------------------------


@pytest.mark.parametrize(("path", "status", "words"), [
    ("/no-such-page", 404, "页面不存在"),
    ("/air/stations/NOPE", 404, "未知站点"),
    ("/ledger/items/999999", 404, "不存在"),
    ("/air/evaluation?period=2025-13", 422, "时段"),
    ("/water?year=abc", 422, "year"),
])
def test_error_pages_are_chinese_without_traces(public, path, status, words):
    r = public.get(path)
    assert r.status_code == status and r.headers["content-type"].startswith("text/html")
    text = text_of(r.text)
    assert words in text and "Traceback" not in r.text and "Exception" not in r.text
    assert_no_external_url(r.text, path)


def test_static_assets_are_served_locally(public):
    css = public.get("/static/console.css")
    js = public.get("/static/console.js")
    assert css.status_code == 200 and js.status_code == 200 and "vegaEmbed" in js.text
    bundle = public.get("/static/vendor/vega-bundle.js")
    assert bundle.status_code == 200 and "javascript" in bundle.headers["content-type"]
    assert "vegaEmbed" in bundle.text and len(bundle.content) > 100_000
    page = public.get("/").text
    assert '<script src="/static/vendor/vega-bundle.js"' in page


def test_security_headers_on_pages_and_api(public):
    page = public.get("/")
    assert page.headers["x-content-type-options"] == "nosniff" and page.headers["x-frame-options"] == "DENY"
    assert "default-src 'self'" in page.headers["content-security-policy"]
    api = public.get("/api/v1/overview")
    assert api.headers["referrer-policy"] == "same-origin" and "content-security-policy" not in api.headers


def test_workflow_forms_follow_the_state_machine_and_the_role(app, bureau):
    """申请验收 by the responsible department, then 验收通过 by the bureau — through the item page's forms."""
    with app.state.console.ledger.session() as s:
        svc = LedgerService(s, Principal.system(), today=LEDGER_TODAY)
        recs = svc.list_records(kind="rectification", limit=None).items
        item = [r.id for r in recs if "市住建局" in svc.unit_names(r, "responsible") and r.status == "in_progress"][-1]
    url = f"/ledger/items/{item}"

    def status() -> str:
        with app.state.console.ledger.session() as s:
            return LedgerService(s, Principal.system(), today=LEDGER_TODAY).get(item).status

    zjj = TestClient(app)
    csrf = login_cookie(zjj, "zjj")
    page = zjj.get(url).text
    assert 'data-transition="submit"' in page and 'data-transition="accept"' not in page
    assert 'data-form="transition"' not in TestClient(app).get(url).text  # the public: no forms
    # missing evidence: refused, nothing changes
    r = zjj.post(f"{url}/transition", data={"name": "submit", "csrf": csrf})
    assert r.status_code in (409, 422) and "完成情况说明" in text_of(r.text) and status() == "in_progress"
    # no CSRF token: refused
    r = zjj.post(f"{url}/transition", data={"name": "submit", "completion_note": "已整改"})
    assert r.status_code == 403 and status() == "in_progress"
    # the lead (市住建局) submits the whole item only once its cooperating units have reported their parts
    r = zjj.post(f"{url}/transition", data={"name": "submit", "completion_note": "已完成整改，申请验收",
                                             "csrf": csrf}, follow_redirects=False)
    assert r.status_code == 409 and "未报送本单位完成情况" in text_of(r.text) and status() == "in_progress"
    with app.state.console.ledger.session() as s:
        svc = LedgerService(s, Principal.system(), today=LEDGER_TODAY)
        for unit in svc.unit_names(svc.get(item), "cooperating"):
            svc.report_part(item, "本单位负责部分已完成", unit=unit)
    r = zjj.post(f"{url}/transition", data={"name": "submit", "completion_note": "已完成整改，申请验收",
                                             "csrf": csrf}, follow_redirects=False)
    assert r.status_code == 303 and status() == "submitted"
    # the department may not accept its own work
    r = zjj.post(f"{url}/transition", data={"name": "accept", "acceptance_evidence": "自验", "csrf": csrf})
    assert r.status_code == 409 and status() == "submitted"
    page = bureau.get(url).text
    assert 'data-transition="accept"' in page and 'data-transition="return"' in page
    # 验收通过 completes the record: confirmed on its own page first (tests/test_console_clerk.py)
    r = bureau.post(f"{url}/transition", data={"name": "accept", "acceptance_evidence": "验收意见 示例〔2024〕1号",
                                                "csrf": bureau.csrf, "confirm": "1"}, follow_redirects=False)
    assert r.status_code == 303 and status() == "completed"
    assert "验收通过" in text_of(bureau.get(url).text)


def test_shared_key_task_page_shows_each_units_part_and_takes_a_report(app, bureau):
    """分工完成情况 on the page of the plan's task 8 (nine units 按职责分工负责): each unit's state in words (not colour
    alone), 市住建局 reports its own part through the form, and may not complete the whole task (API: 403)."""
    with app.state.console.ledger.session() as s:
        svc = LedgerService(s, Principal.system(), today=LEDGER_TODAY)
        task = svc.find("key_task", "RW-2023-08").id
        units = svc.unit_names(svc.get(task), "responsible")
    assert len(units) == 9 and "市住建局" in units
    zjj = TestClient(app)
    csrf = login_cookie(zjj, "zjj")
    url = f"/ledger/items/{task}"
    page = zjj.get(url).text
    assert 'data-parts="0/9"' in page and "按职责分工共同负责" in text_of(page)
    assert all(f'data-unit="{u}" data-reported="0"' in page for u in units) and text_of(page).count("未报送") == 9
    assert 'data-form="part"' in page and 'data-transition="complete"' not in page
    r = zjj.post(f"{url}/part", data={"note": "住建部分：沿江工地扬尘整治完成", "csrf": csrf}, follow_redirects=False)
    assert r.status_code == 303 and r.headers["location"].startswith(f"{url}?saved=part")
    page = zjj.get(f"{url}?saved=part").text
    assert 'data-parts="1/9"' in page and 'data-unit="市住建局" data-reported="1"' in page
    assert "本单位完成情况已报送" in page and 'data-form="part"' not in page  # its only part is in
    r = zjj.post(f"{url}/part", data={"note": "再报一次", "csrf": csrf})
    assert r.status_code == 409 and "已于" in text_of(r.text)
    token = zjj.post(f"{API}/auth/token", data={"username": "zjj", "password": PASSWORD}).json()["access_token"]
    r = zjj.post(f"{API}/ledger/items/{task}/transitions", headers={"Authorization": f"Bearer {token}"},
                 json={"name": "complete", "payload": {"completion_note": "全部完成"}})
    assert r.status_code == 403 and "按职责分工共同负责" in r.json()["detail"]
    # the bureau sees the same list and may take the part back (撤回, with a reason)
    page = bureau.get(url).text
    assert 'data-parts="1/9"' in page and 'data-form="part-withdraw"' in page


def test_reports_page_downloads_the_documents(public):
    """The 报告 page's forms point at /api/v1/reports; the files are real Word/PDF documents of the builders."""
    import io

    import docx

    page = public.get("/reports").text
    assert 'action="/api/v1/reports/monthly"' in page and "第二轮第二批" in page
    r = public.get("/api/v1/reports/monthly", params={"month": "2025-02", "format": "docx"})
    assert r.status_code == 200 and r.content[:2] == b"PK"
    assert "attachment" in r.headers["content-disposition"] and "filename*=UTF-8''" in r.headers["content-disposition"]
    d = docx.Document(io.BytesIO(r.content))
    assert d.paragraphs[0].text == "示范市2025年2月环境空气质量排名通报"
    r = public.get("/api/v1/reports/monthly", params={"month": "2025-02", "format": "pdf"})
    assert r.status_code == 200 and r.content[:5] == b"%PDF-"
    r = public.get("/api/v1/reports/rectification", params={"inspection": "第二轮第二批", "as_of": "2024-05-31"})
    assert r.status_code == 200
    text = "\n".join(p.text for p in docx.Document(io.BytesIO(r.content)).paragraphs)
    # the counts agree with what the public sees through the ledger API (12 in the demo, more if another test of
    # this module has accepted an item since)
    listed = public.get("/api/v1/ledger/items", params={"kind": "rectification", "limit": 500}).json()
    rows = listed["items"] if isinstance(listed, dict) else listed
    done = sum(1 for i in rows if i["status"] in ("completed", "signed_off"))
    assert len(rows) == 41 and done >= 12
    assert f"反馈问题整改任务共41项，已完成整改{done}项，其余{41 - done}项" in text
    # a year whose data stop in March is refused, with the reason, and a bad format or month is a 422
    r = public.get("/api/v1/reports/bulletin", params={"year": 2025})
    assert r.status_code == 422 and "年度尚未结束" in r.json()["detail"]
    assert public.get("/api/v1/reports/monthly", params={"month": "2025-02", "format": "odt"}).status_code == 422
    assert public.get("/api/v1/reports/monthly", params={"month": "2025-13"}).status_code == 422


def test_item_page_says_overdue_not_negative_days_left(app, bureau):
    """An item past its deadline read "（剩余 -1071 天）" beside "已逾期" on its page (the list already said
    "逾期 N 天"): the page says how many days overdue, as the API's ``days_left`` gives them."""
    token = bureau.post("/api/v1/auth/token", data={"username": "bureau", "password": PASSWORD}).json()["access_token"]
    items = bureau.get("/api/v1/ledger/items", params={"limit": 500},
                       headers={"Authorization": f"Bearer {token}"}).json()
    rows = items["items"] if isinstance(items, dict) else items
    late = [r for r in rows if r.get("days_left") is not None and r["days_left"] < 0]
    assert late, "the demo ledger at LEDGER_TODAY has overdue items"
    page = text_of(bureau.get(f"/ledger/items/{late[0]['id']}").text)
    assert f"逾期 {-late[0]['days_left']} 天" in page and "剩余 -" not in page
