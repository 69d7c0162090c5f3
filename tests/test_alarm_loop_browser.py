"""The whole alarm loop in a real headless Chromium, starting from data (issue 14: "the loop works end to end").

A workspace gets the cause-note industry scenario (an SO2 plume from a registered outlet upwind of station S00):
the stations and the hourly data through ``qingshan import stations`` / ``import long`` (the meteorology and the
HJ 212 outlets, which have no file importer, straight into the store); ``qingshan alerts run`` raises the spike
by the rules; ``qingshan serve`` runs. In the browser the bureau finds the alarm in 报警中心, reads the cause note
with the pollution rose and the map (both drawn by vega-embed), turns it into a dispatch event, dispatches it to
武进区; the district user answers with a photo; the bureau closes the event and then the alarm, whose log shows
every step. The alarm page keeps within 390 px.

Skipped with the reason when Chromium is not installed — except under CI (``CI`` set), where it is a failure.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from pathlib import Path

import pytest

from qingshan.alerts.scenarios import generate

from .browser import launched, require_chromium
from .explain_fixtures import empty_store, load_frames
from .ledger_fixtures import workspace_with_org

require_chromium()

from .console_server import running_console  # noqa: E402
from .test_dispatch_browser import User, png  # noqa: E402  (after the skip: it needs playwright)

SCENARIO = generate("industry", 1)
#: the scenario's station district becomes a ledger unit of build_org, so the event goes to 武进区 by default
DISTRICT = "武进区"


def cli(ws: Path, *args: str) -> str:
    """``qingshan --workspace WS …`` in this process (typer's runner: no second start-up of the libraries)."""
    from typer.testing import CliRunner

    from qingshan.cli import app

    res = CliRunner().invoke(app, ["--workspace", str(ws), *args])
    assert res.exit_code == 0, f"qingshan {' '.join(args)}：{res.output[-2000:]}"
    return res.output


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    from qingshan.store.workspace import DB_FILE

    root = tmp_path_factory.mktemp("alarm-loop")
    ws = root / "ws"
    ws.mkdir()
    workspace_with_org(ws)

    sc = SCENARIO
    stations = sc.stations.assign(district=DISTRICT)
    stations[["code", "name", "city", "district", "lon", "lat", "is_control"]].to_csv(root / "stations.csv", index=False)
    air = sc.air.assign(time=[f"{datetime(1970, 1, 1) + timedelta(hours=int(h)):%Y-%m-%d %H:00}" for h in sc.air["hi"]])
    air[["station", "time", "so2", "no2", "co", "o3", "pm10", "pm25"]].to_csv(root / "air.csv", index=False)
    cli(ws, "import", "stations", str(root / "stations.csv"))
    con = empty_store(str(ws / DB_FILE))  # the store exists: migrate is a no-op; add what has no importer
    load_frames(con, stations.iloc[0:0], sc.air.iloc[0:0], sc.met, sc.outlets, sc.outlet_hours)
    con.close()
    cli(ws, "import", "long", str(root / "air.csv"))
    run = cli(ws, "alerts", "run", "--until", f"{sc.at:%Y-%m-%d %H:00}", "--hours", "24")
    assert "新增" in run, run

    with running_console(ws, root / "serve.log") as base:
        yield base


@pytest.fixture(scope="module")
def browser():
    with launched() as b:
        yield b


def charts_drawn(user: User) -> None:
    """Wait (bounded) until every chart of the page is drawn, and fail on one that could not be."""
    user.page.wait_for_function(
        "() => [...document.querySelectorAll('[data-chart]')].every(f => f.getAttribute('data-rendered'))")
    states = user.page.eval_on_selector_all("[data-chart]", "fs => fs.map(f => [f.dataset.chart, f.dataset.rendered])")
    assert dict(states) == {"pollution-rose": "1", "alarm-map": "1"}, states


def test_spike_to_alarm_to_dispatch_to_close(server, browser, tmp_path):
    bureau = User(browser, server, "bureau")
    bureau.goto("/alarms")
    rows = bureau.page.locator("table[data-table=alarms] tbody tr").filter(has_text="S00").filter(has_text="浓度突增")
    row = rows.filter(has_text="so2").first
    alarm_id = row.get_attribute("data-alarm")
    with bureau.page.expect_navigation():
        row.locator(f"a[href='/alarms/{alarm_id}']").click()

    # the alarm page: the note at the peak hour names the plume, with the rose and the map of the upwind sector
    note = bureau.page.locator("[data-note]").inner_text()
    assert "初步判断为工业源排放" in note and "上风向可疑源" in note, note
    charts_drawn(bureau)
    svg = bureau.page.locator("[data-chart=alarm-map] svg").inner_html()
    assert "1号排口" in svg and "km" in svg  # the source labelled on the map, the scale bar
    assert bureau.page.locator("[data-chart=pollution-rose] svg path").count() > 16

    # 转调度: the event carries the alarm's evidence; the bureau dispatches it to the district
    bureau.page.select_option("form[data-action=event] select[name=event_kind]", label="环境违法线索")
    bureau.submit("event")
    assert "/dispatch/events/" in bureau.page.url
    event_path = bureau.page.url.split(server, 1)[1]
    bureau.page.select_option("form[data-action=dispatch] select[name=unit_ids]", label=DISTRICT)
    bureau.submit("dispatch")
    assert bureau.status() == "dispatched"

    # the district user: the event first in 我的待办, answered with a photo
    wujin = User(browser, server, "wujin")
    wujin.goto("/dispatch")
    first = wujin.page.locator("table[data-table=todo] tbody tr").first
    assert event_path.endswith("/" + str(first.get_attribute("data-event")))
    wujin.goto(event_path)
    photo = tmp_path / "排口现场.png"
    photo.write_bytes(png())
    wujin.page.fill("form[data-action=answer] textarea[name=findings]", "企业脱硫设施故障，已责令停产检修")
    wujin.page.set_input_files("form[data-action=answer] input[name=files]", str(photo))
    wujin.submit("answer")
    assert wujin.status() == "answered"

    # the bureau closes the event, then the alarm (with its reason), and the alarm's log holds every step
    bureau.goto(event_path)
    bureau.page.fill("form[data-action=close] textarea[name=note]", "已核实整改到位")
    bureau.page.check("form[data-action=close] input[name=confirm]")
    bureau.submit("close")
    assert bureau.status() == "closed"
    bureau.goto(f"/alarms/{alarm_id}")
    assert bureau.page.locator("[data-alarm-state]").get_attribute("data-alarm-state") == "dispatched"
    bureau.page.fill("form[data-action=close] input[name=reason]", "调度事件已办结")
    bureau.submit("close")
    assert bureau.page.locator("[data-alarm-state]").get_attribute("data-alarm-state") == "closed"
    log = bureau.page.locator("[data-panel=alarm-log] tbody").inner_text()
    for step in ("新报警", "已派发", "已办结", "调度事件已办结"):
        assert step in log, log
    assert bureau.page.locator("form[data-action=close]").count() == 0  # nothing left to do

    # the alarm page at 390 px: no horizontal overflow (tables scroll in their container, charts fit)
    narrow = User(browser, server, "bureau", width=390)
    narrow.goto(f"/alarms/{alarm_id}")
    charts_drawn(narrow)
    main, client, right = narrow.page.evaluate("""() => {
        const m = document.querySelector('main');
        const out = [...m.querySelectorAll('*')].filter(e => !e.closest('.table-wrap'));
        return [m.scrollWidth, m.clientWidth, Math.max(...out.map(e => e.getBoundingClientRect().right))];
    }""")
    assert main <= client and right <= 390, f"报警页在 390 px 下横向溢出（{main}/{client}，{right} px）"
    for u in (bureau, wujin, narrow):
        u.close()
