"""The console in a real headless Chromium (Debian's ``chromium``, driven by Playwright through executable_path).

End to end as a user meets it: ``qingshan demo --no-serve`` builds the demo workspace, ``qingshan serve`` runs as
its own process on loopback, and the browser logs in as two roles (局机关 ``bureau`` and the department ``zjj`` =
市住建局), checks the overview against ``/api/v1/overview`` fetched with a bearer token, opens a station page and a
ledger item, submits a progress update through the form and finds it in the API's timeline, and takes
screenshots whose pixels are inspected for drawn charts. Every request any page makes is recorded: none may
leave the machine.

Skipped with the reason when Chromium is not installed — except under CI (``CI`` set), where ``.ci/run``
installs it and a missing browser is a failure.
"""

from __future__ import annotations

import io
import json
import time
import urllib.parse
import urllib.request
from collections import Counter

import pytest

from .browser import BrowserUser, launched, require_chromium
from .conftest import DEMO_PASSWORD, demo_copy
from .console_server import running_console

require_chromium()
Image = pytest.importorskip("PIL.Image")

PASSWORD = DEMO_PASSWORD
CITY = "示范市"


@pytest.fixture(scope="module")
def server(tmp_path_factory, demo_build):
    """``qingshan demo --no-serve`` (the session's shared build, copied) then ``qingshan serve`` on a free loopback
    port; yields the base URL."""
    ws = demo_copy(demo_build, tmp_path_factory.mktemp("browser") / "ws")
    with running_console(ws, ws / "serve.log") as base:
        yield base


def api(base: str, path: str, token: str | None = None, data: dict | None = None) -> dict | list:
    req = urllib.request.Request(base + path, data=urllib.parse.urlencode(data).encode() if data else None)
    if token:
        req.add_header("Authorization", f"Bearer {token}")
    with urllib.request.urlopen(req, timeout=60) as r:
        return json.loads(r.read())


def token(base: str, user: str) -> str:
    return api(base, "/api/v1/auth/token", data={"username": user, "password": PASSWORD})["access_token"]


@pytest.fixture(scope="module")
def browser():
    with launched() as b:
        yield b


class Session(BrowserUser):
    """One browser context (one user) that records every request its pages make."""

    def __init__(self, browser, base: str):
        super().__init__(browser, base, width=1400, height=1000)
        self.requests: list[str] = []
        self.page.on("request", lambda r: self.requests.append(r.url))
        self.errors: list[str] = []
        self.page.on("pageerror", lambda e: self.errors.append(str(e)))

    def login(self, user: str, password: str | None = PASSWORD) -> None:  # type: ignore[override]
        super().login(user, password)

    def charts_drawn(self) -> list[str]:
        """Wait until every chart on the page has been drawn by vega-embed; return their names."""
        figs = self.page.locator("figure[data-chart]")
        names = []
        for i in range(figs.count()):
            f = figs.nth(i)
            f.scroll_into_view_if_needed()
            self.page.wait_for_function("(el) => el.dataset.rendered", arg=f.element_handle())
            assert f.get_attribute("data-rendered") == "1", f"图表 {f.get_attribute('data-chart')} 渲染失败"
            names.append(f.get_attribute("data-chart"))
        return names

    def chart_check(self, i: int) -> tuple[int, float, int]:
        """(drawn marks, ink share, colours) of the i-th chart's drawing area (its caption excluded)."""
        area = self.page.locator("figure[data-chart] .chart-canvas").nth(i)
        marks = self.page.evaluate(
            "(el) => el.querySelectorAll('svg g[class*=\"role-mark\"] > *').length", area.element_handle())
        share, colours = ink(area.screenshot())
        return marks, share, colours

    def close(self) -> None:
        self.context.close()


def ink(png: bytes) -> tuple[float, int]:
    """Share of non-background pixels and the number of distinct colours of a screenshot."""
    im = Image.open(io.BytesIO(png)).convert("RGB")
    small = im.resize((max(1, im.width // 2), max(1, im.height // 2)))
    px = list(small.get_flattened_data()) if hasattr(small, "get_flattened_data") else list(small.getdata())
    bg = Counter(px).most_common(1)[0][0]  # one pass (max(set, key=count) took ~50 s on a 1300 px chart)
    inked = sum(1 for p in px if sum(abs(a - b) for a, b in zip(p, bg)) > 60)
    return inked / len(px), len(set(px))


def local_only(base: str, urls: list[str]) -> list[str]:
    return [u for u in urls if not (u.startswith(base + "/") or u == base or u.startswith("data:") or u.startswith("blob:"))]


def test_bureau_overview_matches_the_api_and_charts_are_drawn(server, browser):
    s = Session(browser, server)
    try:
        s.login("bureau")
        s.goto("/")
        ov = api(server, f"/api/v1/overview?city={urllib.parse.quote(CITY)}", token(server, "bureau"))
        shown = s.page.locator("[data-city-aqi]").get_attribute("data-city-aqi")
        assert shown == str(ov["city_now"]["aqi"]) and ov["city_now"]["aqi"] > 0
        card = s.page.locator("[data-city-aqi]").locator("xpath=..")
        # the card is painted in the HJ 633 colour of the API's category
        rgb = s.page.evaluate("(el) => getComputedStyle(el).backgroundColor", card.element_handle())
        hexes = ov["city_now"]["colour"].lstrip("#")
        assert rgb == "rgb({}, {}, {})".format(*(int(hexes[i:i + 2], 16) for i in (0, 2, 4)))
        # station cards: one per station of the API, each with its AQI (grid sensors' cards sit in a collapsed group:
        # their text, not their rendering)
        for st in ov["stations"]:
            if st.get("aqi") is not None:
                assert str(st["aqi"]) in s.page.locator(f"[data-station='{st['code']}']").text_content()
        assert s.page.locator("details[data-group=sensor] [data-station]").count() == sum(
            1 for st in ov["stations"] if st.get("group") == "sensor") > 0
        # targets panel: the year-to-date value and "what the rest of the year must achieve" of every target
        for t in ov["targets"]["rows"] if isinstance(ov["targets"], dict) else ov["targets"]:
            row = s.page.locator(f"tr[data-target='{t['id']}']").inner_text()
            assert t["required_text"].split("，")[0] in row
        # ledger KPIs as the bureau sees them
        for key in ("rectification_items", "overdue_total", "petitions"):
            assert s.page.locator(f"[data-kpi='{key}']").inner_text().strip() == str(ov["ledger"][key])
        names = s.charts_drawn()
        assert names, "总览页没有图表"
        for i, name in enumerate(names):
            marks, share, colours = s.chart_check(i)
            assert marks > 3 and share > 0.005 and colours > 30, (name, marks, share, colours)
        assert not s.errors, s.errors
        assert local_only(server, s.requests) == []
    finally:
        s.close()


def test_station_page_draws_series_calendar_and_diurnal(server, browser):
    s = Session(browser, server)
    try:
        s.login("bureau")
        s.goto("/air")
        first = s.page.locator("tr[data-station] a").first
        code = first.get_attribute("href").rsplit("/", 1)[-1]
        first.click()
        s.page.wait_for_load_state()
        assert s.page.url.endswith(f"/air/stations/{code}")
        names = s.charts_drawn()
        assert len(names) >= 3, names
        for i, name in enumerate(names):
            marks, share, colours = s.chart_check(i)
            assert marks > 3 and share > 0.005 and colours > 30, (name, marks, share, colours)
        meta = api(server, f"/api/v1/air/stations/{code}")
        assert meta["name"] in s.page.locator("h1").inner_text()
        assert not s.errors, s.errors
        assert local_only(server, s.requests) == []
    finally:
        s.close()


def test_department_updates_its_own_item_and_not_others(server, browser):
    zjj = token(server, "zjj")
    items = api(server, "/api/v1/ledger/items?kind=rectification&limit=200", zjj)
    items = items["items"] if isinstance(items, dict) else items
    own = [i for i in items if api(server, f"/api/v1/ledger/items/{i['id']}", zjj).get("can_edit")]
    other = [i for i in items if i not in own]
    assert own and other, "演示台账中应有市住建局负责和不负责的整改任务"
    s = Session(browser, server)
    try:
        s.login("zjj")
        s.goto("/")
        ov = api(server, f"/api/v1/overview?city={urllib.parse.quote(CITY)}", zjj)
        assert s.page.locator("[data-kpi='rectification_items']").inner_text().strip() == \
            str(ov["ledger"]["rectification_items"])
        item = own[0]["id"]
        s.goto(f"/ledger/items/{item}")
        form = s.page.locator("form[data-form='progress']")
        assert form.count() == 1
        text = f"浏览器测试进展：已完成现场核查 {time.time_ns()}"
        form.locator("textarea[name=text]").fill(text)
        form.locator("button[type=submit]").click()
        s.page.wait_for_load_state()
        assert text in s.page.content()
        timeline = api(server, f"/api/v1/ledger/items/{item}/timeline", zjj)
        assert any(text in json.dumps(e, ensure_ascii=False) for e in timeline)
        # another unit's item: visible or not, it never offers the form
        resp = s.page.goto(f"{server}/ledger/items/{other[0]['id']}")
        assert resp.status in (200, 403, 404)
        assert s.page.locator("form[data-form='progress']").count() == 0
        assert local_only(server, s.requests) == []
    finally:
        s.close()


def test_public_visitor_sees_pages_but_no_forms(server, browser):
    s = Session(browser, server)
    try:
        for path in ("/", "/air", "/water", "/targets", "/ledger", "/ledger/petitions", "/air/ranking",
                     "/air/evaluation", "/reports"):
            s.goto(path)
            s.charts_drawn()
        assert s.page.locator("form[data-form='progress']").count() == 0
        ov = api(server, f"/api/v1/overview?city={urllib.parse.quote(CITY)}")
        s.goto("/")
        assert s.page.locator("[data-city-aqi]").get_attribute("data-city-aqi") == str(ov["city_now"]["aqi"])
        assert not s.errors, s.errors
        assert local_only(server, s.requests) == [], local_only(server, s.requests)
    finally:
        s.close()
