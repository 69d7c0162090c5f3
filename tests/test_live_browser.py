"""The live console in a real headless Chromium: the overview and the air table follow a write into the store of
the running console without a reload ("数据截至", a station's value, the capture panel, the status line).

The console runs in-process (uvicorn in a thread, ``qingshan serve``'s configuration) so the test writes through
the server's own store connection, as the platform's writers do. Skipped with the reason when Chromium is not
installed — except under CI (``CI`` set), where a missing browser is a failure.
"""

from __future__ import annotations

import datetime as dt
import os
import shutil
import socket
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest

from qingshan.web.app import create_console_app
from qingshan.web.serve import ServeLimits, server_config

from .test_web_live import build_workspace, new_hour, wait_for

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
if not Path(CHROMIUM).exists():
    if os.environ.get("CI"):
        raise RuntimeError("CI 环境缺少 Debian chromium（.ci/packages.sh 应已安装）")
    pytest.skip("未安装 Debian chromium（apt-get install chromium），跳过浏览器测试", allow_module_level=True)
playwright = pytest.importorskip("playwright.sync_api")


@pytest.fixture(scope="module")
def live_server(tmp_path_factory) -> Iterator[tuple[str, object]]:
    import uvicorn

    ws = build_workspace(tmp_path_factory.mktemp("live-browser") / "ws")
    app = create_console_app(ws, warm=False, state_ttl=0.2,
                             bundle_cache_dir=tmp_path_factory.mktemp("bundle"))
    app.state.events.poll = 0.2
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    server = uvicorn.Server(server_config(app, port=port, limits=ServeLimits(header_timeout=30),
                                          log_level="warning"))
    thread = threading.Thread(target=server.run, name="live-uvicorn", daemon=True)
    thread.start()
    try:
        wait_for(lambda: server.started, 120, "uvicorn to start")
        yield f"http://127.0.0.1:{port}", app
    finally:
        app.state.events.close()  # in a thread uvicorn installs no signal handler: end the streams ourselves
        server.should_exit = True
        thread.join(timeout=60)
        assert not thread.is_alive(), "the server did not stop"


@pytest.fixture(scope="module")
def page(live_server):
    with playwright.sync_playwright() as p:
        b = p.chromium.launch(executable_path=CHROMIUM, args=["--no-sandbox"])
        context = b.new_context(viewport={"width": 1300, "height": 900}, locale="zh-CN")
        pg = context.new_page()
        errors: list[str] = []
        pg.on("pageerror", lambda e: errors.append(str(e)))
        pg.errors = errors  # type: ignore[attr-defined]
        yield pg
        context.close()
        b.close()


def _as_of(page) -> str:
    return page.locator("time[data-as-of]").first.inner_text()


def test_the_overview_follows_a_write_without_reload(live_server, page):
    base, app = live_server
    page.goto(base + "/")
    page.wait_for_function("() => document.querySelector('[data-live-status]').dataset.state === 'live'",
                           timeout=20_000)
    assert page.locator("[data-live-status]").inner_text() == "实时更新中"
    assert _as_of(page) == "2025-03-03 00:00"
    page.evaluate("() => { window.__notReloaded = true; }")
    new_hour(app, "T001A", dt.datetime(2025, 3, 3, 1), 88.0)
    page.wait_for_function(
        "() => document.querySelector('time[data-as-of]').textContent.trim() === '2025-03-03 01:00'",
        timeout=30_000)
    assert page.evaluate("() => window.__notReloaded") is True  # updated in place
    card = page.locator('a.station-card[data-station="T001A"] [data-field=aqi]')
    page.wait_for_function("(el) => el.textContent.trim() !== '—'", arg=card.element_handle(), timeout=10_000)
    assert int(card.inner_text()) > 0
    capture = page.locator('[data-panel=capture] tr[data-capture-station="T001A"] [data-col=received]')
    assert capture.inner_text() == "1/1"  # today is now 3 March: 1 of 1 expected hour
    assert page.errors == []  # type: ignore[attr-defined]


def test_the_air_table_follows_a_write_without_reload(live_server, page):
    base, app = live_server
    page.goto(base + "/air")
    page.wait_for_function("() => document.querySelector('[data-live-status]').dataset.state === 'live'",
                           timeout=20_000)
    before = _as_of(page)
    hour = dt.datetime.strptime(before, "%Y-%m-%d %H:%M") + dt.timedelta(hours=1)
    new_hour(app, "T002A", hour, 55.0)
    expected = hour.strftime("%Y-%m-%d %H:%M")
    page.wait_for_function(f"() => document.querySelector('time[data-as-of]').textContent.trim() === '{expected}'",
                           timeout=30_000)
    cell = page.locator('table[data-table=stations] tr[data-station="T002A"] td[data-col=pm25]')
    page.wait_for_function("(el) => el.textContent.trim() === '55'", arg=cell.element_handle(), timeout=10_000)
    assert page.errors == []  # type: ignore[attr-defined]
