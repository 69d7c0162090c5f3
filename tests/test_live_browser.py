"""The live console in a real headless Chromium: the overview and the air table follow a write into the store of
the running console without a reload ("数据截至", a station's value, the capture panel, the status line).

The console runs in-process (uvicorn in a thread, ``qingshan serve``'s configuration) so the test writes through
the server's own store connection, as the platform's writers do. Skipped with the reason when Chromium is not
installed — except under CI (``CI`` set), where a missing browser is a failure.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator

import pytest

from .browser import launched, require_chromium
from .console_server import console_in_thread
from .test_web_live import build_workspace, new_hour

require_chromium()


@pytest.fixture(scope="module")
def live_server(tmp_path_factory) -> Iterator[tuple[str, object]]:
    ws = build_workspace(tmp_path_factory.mktemp("live-browser") / "ws")
    with console_in_thread(ws, tmp_path_factory.mktemp("bundle"), "live-browser") as served:
        yield served


@pytest.fixture(scope="module")
def page(live_server):
    with launched() as b:
        context = b.new_context(viewport={"width": 1300, "height": 900}, locale="zh-CN")
        pg = context.new_page()
        errors: list[str] = []
        pg.on("pageerror", lambda e: errors.append(str(e)))
        pg.errors = errors  # type: ignore[attr-defined]
        yield pg
        context.close()


def _as_of(page) -> str:
    return page.locator("time[data-as-of]").first.inner_text()


def test_the_overview_follows_a_write_without_reload(live_server, page):
    base, app = live_server
    page.goto(base + "/")
    page.wait_for_function("() => document.querySelector('[data-live-status]').dataset.state === 'live'")
    assert page.locator("[data-live-status]").inner_text() == "实时更新中"
    assert _as_of(page) == "2025-03-03 00:00"
    page.evaluate("() => { window.__notReloaded = true; }")
    new_hour(app, "T001A", dt.datetime(2025, 3, 3, 1), 88.0)
    page.wait_for_function(
        "() => document.querySelector('time[data-as-of]').textContent.trim() === '2025-03-03 01:00'")
    assert page.evaluate("() => window.__notReloaded") is True  # updated in place
    card = page.locator('a.station-card[data-station="T001A"] [data-field=aqi]')
    page.wait_for_function("(el) => el.textContent.trim() !== '—'", arg=card.element_handle())
    assert int(card.inner_text()) > 0
    capture = page.locator('[data-panel=capture] tr[data-capture-station="T001A"] [data-col=received]')
    assert capture.inner_text() == "1/1"  # today is now 3 March: 1 of 1 expected hour
    assert page.errors == []  # type: ignore[attr-defined]


def test_the_air_table_follows_a_write_without_reload(live_server, page):
    base, app = live_server
    page.goto(base + "/air")
    page.wait_for_function("() => document.querySelector('[data-live-status]').dataset.state === 'live'")
    before = _as_of(page)
    hour = dt.datetime.strptime(before, "%Y-%m-%d %H:%M") + dt.timedelta(hours=1)
    new_hour(app, "T002A", hour, 55.0)
    expected = hour.strftime("%Y-%m-%d %H:%M")
    page.wait_for_function(f"() => document.querySelector('time[data-as-of]').textContent.trim() === '{expected}'")
    cell = page.locator('table[data-table=stations] tr[data-station="T002A"] td[data-col=pm25]')
    page.wait_for_function("(el) => el.textContent.trim() === '55'", arg=cell.element_handle())
    assert page.errors == []  # type: ignore[attr-defined]
