"""The console on a phone and on a desk (issue 15, "手机与小屏" in docs/console.md), in Debian's Chromium.

Against the same ``qingshan demo`` + ``qingshan serve`` as tests/test_console_browser.py (its fixtures; the demo is
the session's shared build), every page — overview, the station map, the wall screen (大屏), air, evaluation, ranking, a station, water,
targets, ledger list and items, petitions, reports, login, password, error pages — is opened by the public, the bureau and a
department clerk (``zjj``) at 390×844, checked, then the same page is widened to 1440×900 and checked again:

* neither the document nor the body is wider than the window (nothing scrolls sideways);
* every data table sits in a focusable, labelled scroll region (``.table-wrap``, ``tabindex=0``, ``role=region``);
* every chart is drawn no wider than its container, and a single-view chart fills it (it follows the resize);
* on the phone the menu button opens the navigation (every link on screen, on one line) and Escape closes it; on
  the desk the navigation shows without a button (not on the wall screen, which has no navigation);
* the page logs no console error or warning and throws nothing (an error page's own 404/401/403 status, which
  Chromium reports as a failed resource, is the only message allowed — on that page only).

And on the phone: the skip link is the first Tab stop and leads to the content; the overview's first screen
answers the director's three questions (city AQI now, the worst station now, the targets at risk) with the numbers
of ``/api/v1/overview``.
"""

from __future__ import annotations

import urllib.parse

import pytest

from .test_console_browser import CITY, PASSWORD, api, browser, server, token  # noqa: F401  (fixtures)

pytestmark = pytest.mark.slow  # every page as every role at two sizes in Chromium: minutes (CI's slow step)

PHONE = {"width": 390, "height": 844}
DESK = {"width": 1440, "height": 900}
ROLES = (None, "bureau", "zjj")
#: pages without the console's top bar and menu: the command centre's wall screen (大屏, full window, no navigation)
BARE = frozenset({"/screen"})

#: (document width, body width, window width) and the charts as drawn: name, canvas width, svg width, composite
MEASURE = """() => ({
  doc: document.documentElement.scrollWidth, body: document.body.scrollWidth, win: window.innerWidth,
  charts: [...document.querySelectorAll('figure[data-chart]')].map(f => {
    const canvas = f.querySelector('.chart-canvas'), svg = canvas.querySelector('svg');
    const spec = JSON.parse(f.querySelector('script.chart-spec').textContent);
    const composite = ['facet', 'hconcat', 'vconcat', 'concat', 'repeat'].some(k => k in spec);
    return [f.dataset.chart, canvas.clientWidth, svg ? svg.getBoundingClientRect().width : -1, composite];
  }),
  unwrapped: [...document.querySelectorAll('table.data')].filter(t => {
    const w = t.closest('.table-wrap');
    return !w || w.getAttribute('tabindex') !== '0' || w.getAttribute('role') !== 'region' || !w.getAttribute('aria-label');
  }).map(t => t.dataset.table || t.closest('[data-panel]')?.dataset.panel || '?'),
})"""

#: every single-view chart's drawing fills its container (to within 10 %): the resize has been followed
CHARTS_FIT = """() => [...document.querySelectorAll('figure[data-chart]')].every(f => {
  if (f.dataset.rendered !== '1') return false;
  const canvas = f.querySelector('.chart-canvas'), svg = canvas.querySelector('svg');
  const spec = JSON.parse(f.querySelector('script.chart-spec').textContent);
  if (['facet', 'hconcat', 'vconcat', 'concat', 'repeat'].some(k => k in spec)) return true;
  const w = svg ? svg.getBoundingClientRect().width : 0;
  return w >= 0.9 * canvas.clientWidth && w <= canvas.clientWidth + 1;
})"""

#: the texts of ``sel`` that wrap: a text box starting below the bottom of the one before starts a new line
ONE_LINE = """(sel) => [...document.querySelectorAll(sel)].filter(a => {
  const r = document.createRange(); r.selectNodeContents(a);
  const boxes = [...r.getClientRects()].filter(x => x.width > 0).sort((p, q) => p.top - q.top);
  let lines = 0, bottom = -Infinity;
  for (const x of boxes) { if (x.top >= bottom - 1) { lines += 1; } bottom = Math.max(bottom, x.bottom); }
  return lines !== 1;
}).map(a => a.textContent.trim())"""


class Visitor:
    """One role in one browser context, with every console message and page error of its pages recorded."""

    def __init__(self, browser, base: str, role: str | None):  # noqa: F811
        self.base, self.role = base, role
        self.context = browser.new_context(viewport=PHONE, locale="zh-CN")
        self.page = self.context.new_page()
        self.messages: list[tuple[str, str, str]] = []
        self.page.on("console", lambda m: self.messages.append((m.type, m.text, m.location.get("url", "")))
                     if m.type in ("error", "warning") else None)
        self.page.on("pageerror", lambda e: self.messages.append(("pageerror", str(e), "")))
        if role:
            self.page.goto(base + "/login")
            self.page.fill("main input[name=username]", role)
            self.page.fill("main input[name=password]", PASSWORD)
            self.page.click("main button[type=submit]")
            self.page.wait_for_load_state()
            assert "/login" not in self.page.url, f"{role} 未能登录"

    def links(self, path: str, selector: str, n: int) -> list[str]:
        self.page.goto(self.base + path)
        return self.page.locator(selector).evaluate_all(f"els => els.slice(0, {n}).map(e => e.getAttribute('href'))")

    def pages(self) -> list[tuple[str, int]]:
        """(path, expected status) of every page this role is checked on."""
        station = self.links("/air", "tr[data-station] a", 1)
        items = self.links("/ledger", "tr[data-record] a", 2)
        petitions = [] if self.role is None else self.links("/ledger/petitions", "tr[data-record] a", 1)
        assert station and items, (self.role, station, items)
        paths = ["/", "/map", "/screen", "/air", "/air/evaluation", "/air/ranking", *station, "/water", "/targets",
                 "/ledger", "/ledger?kind=petition", *items, *petitions, "/ledger/petitions", "/reports", "/login"]
        if self.role:
            paths.append("/account/password")
        return [(p, 200) for p in paths] + [("/no-such-page", 404), ("/ledger/items/99999999", 404)]

    def close(self) -> None:
        self.context.close()


def charts_drawn(page) -> None:
    page.wait_for_function("() => [...document.querySelectorAll('figure[data-chart]')].every(f => f.dataset.rendered)")


def check_size(page, where: str) -> None:
    page.wait_for_function(CHARTS_FIT)
    m = page.evaluate(MEASURE)
    assert m["doc"] <= m["win"] and m["body"] <= m["win"], f"{where}：页面横向溢出 {m['doc']}/{m['body']} > {m['win']}"
    assert not m["unwrapped"], f"{where}：这些表格不在可聚焦的滚动区域内 {m['unwrapped']}"
    for name, room, drawn, _ in m["charts"]:
        assert 0 < drawn <= room + 1, f"{where}：图表 {name} 宽 {drawn}，容器 {room}"


#: the navigation as shown: is the menu button visible, and each link's visibility and horizontal extent
NAV = """() => ({
  button: document.querySelector('details.navmenu > summary').checkVisibility(),
  links: [...document.querySelectorAll('.mainnav a')].map(a => {
    const b = a.getBoundingClientRect();
    return [a.textContent.trim(), a.checkVisibility(), Math.floor(b.left), Math.ceil(b.right)];
  }),
})"""


def check_phone_menu(page, where: str) -> None:
    nav = page.evaluate(NAV)
    assert nav["button"], f"{where}：手机上没有菜单按钮"
    assert not any(v for _, v, _, _ in nav["links"]), f"{where}：菜单未打开时导航不应展开"
    page.locator("details.navmenu > summary").click()
    nav = page.evaluate(NAV)
    off = [x for x in nav["links"] if not (x[1] and x[2] >= 0 and x[3] <= PHONE["width"])]
    assert nav["links"] and not off, f"{where}：菜单打开后这些导航链接不在屏幕内 {off}"
    assert page.evaluate(ONE_LINE, ".mainnav a") == [], f"{where}：导航文字折行"
    page.keyboard.press("Escape")
    assert not any(v for _, v, _, _ in page.evaluate(NAV)["links"]), f"{where}：Esc 未关闭菜单"


def check_desk_menu(page, where: str) -> None:
    nav = page.evaluate(NAV)
    assert not nav["button"], f"{where}：宽屏不应显示菜单按钮"
    assert nav["links"] and all(v for _, v, _, _ in nav["links"]), f"{where}：宽屏导航应直接显示 {nav}"
    assert page.evaluate(ONE_LINE, ".mainnav a, .brand") == [], f"{where}：顶栏文字折行"


@pytest.mark.parametrize("role", ROLES, ids=lambda r: r or "public")
def test_every_page_fits_a_phone_and_a_desk(server, browser, role):  # noqa: F811
    v = Visitor(browser, server, role)
    try:
        for path, status in v.pages():
            v.page.set_viewport_size(PHONE)
            v.messages.clear()
            resp = v.page.goto(server + path)
            assert resp is not None and resp.status == status, f"{path} → {resp.status if resp else None}"
            charts_drawn(v.page)
            who = f"{role or '公众'} {path}"
            check_size(v.page, f"{who} 390×844")
            if path not in BARE:
                check_phone_menu(v.page, f"{who} 390×844")
            v.page.set_viewport_size(DESK)
            check_size(v.page, f"{who} 1440×900")
            if path not in BARE:
                check_desk_menu(v.page, f"{who} 1440×900")
            # an error page's own status is reported by Chromium as a failed resource: the only message allowed
            own = server + path
            bad = [m for m in v.messages
                   if not (status != 200 and m[0] == "error" and m[2] == own and f"status of {status}" in m[1])]
            assert bad == [], f"{who}：控制台消息 {bad}"
    finally:
        v.close()


def test_phone_first_screen_answers_the_director_and_skip_link_works(server, browser):  # noqa: F811
    v = Visitor(browser, server, "bureau")
    try:
        v.page.goto(server + "/")
        charts_drawn(v.page)
        # the skip link is the first Tab stop, shows itself when focused, and moves focus to the content
        v.page.keyboard.press("Tab")
        focused = v.page.evaluate("() => [document.activeElement.textContent.trim(), "
                                  "document.activeElement.getBoundingClientRect().top]")
        assert focused[0] == "跳到正文" and focused[1] >= 0, focused
        v.page.keyboard.press("Enter")
        assert v.page.evaluate("() => document.activeElement.id") == "main"
        v.page.evaluate("() => window.scrollTo(0, 0)")

        ov = api(server, f"/api/v1/overview?city={urllib.parse.quote(CITY)}", token(server, "bureau"))
        cells = {k: v.page.locator(f"[data-brief='{k}']") for k in ("city-aqi", "worst-station", "targets-at-risk")}
        for k, cell in cells.items():
            box = cell.bounding_box()
            assert box and box["y"] >= 0 and box["y"] + box["height"] <= PHONE["height"] \
                and box["x"] + box["width"] <= PHONE["width"], f"{k} 不在手机首屏内：{box}"
        assert str(ov["city_now"]["aqi"]) in cells["city-aqi"].inner_text()
        worst = max((s for s in ov["stations"] if s.get("aqi") is not None), key=lambda s: s["aqi"])
        text = cells["worst-station"].inner_text()
        assert worst["name"] in text and str(worst["aqi"]) in text, (text, worst)
        rows = ov["targets"]["rows"] if isinstance(ov["targets"], dict) else ov["targets"]
        risky = [t["id"] for t in rows if t["status"] in ("at_risk", "missed")]
        assert risky, "演示目标中应有有风险的目标"
        shown = cells["targets-at-risk"].locator("[data-risk-target]").evaluate_all(
            "els => els.map(e => e.dataset.riskTarget)")
        assert shown == risky, (shown, risky)
        for t in rows:
            if t["id"] in risky:
                assert t["name"] in cells["targets-at-risk"].inner_text()
        assert v.page.evaluate("() => document.documentElement.scrollWidth") <= PHONE["width"]
        assert v.messages == [], v.messages
    finally:
        v.close()
