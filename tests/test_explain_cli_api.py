"""``qingshan alerts explain`` and ``GET /api/v1/alerts/explain`` on a workspace holding one industry scenario
(an SO2 plume from a registered outlet upwind, a decoy outlet rising outside the sector)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from typer.testing import CliRunner

from qingshan.alerts.scenarios import generate
from qingshan.cli import app as cli_app
from qingshan.store.workspace import DB_FILE
from qingshan.web.app import create_console_app

from .explain_fixtures import empty_store, load_frames
from .web_fixtures import PASSWORD, cheap_password_hashing

API = "/api/v1"
SCENARIO = generate("industry", 1)
AT = SCENARIO.at.strftime("%Y-%m-%d %H:00")


@pytest.fixture(scope="module")
def workspace(tmp_path_factory: pytest.TempPathFactory) -> Path:
    ws = tmp_path_factory.mktemp("explain-ws")
    con = empty_store(str(ws / DB_FILE))
    sc = SCENARIO
    load_frames(con, sc.stations, sc.air, sc.met, sc.outlets, sc.outlet_hours)
    con.close()
    return ws


def run(workspace: Path, *args: str):
    return CliRunner().invoke(cli_app, ["--workspace", str(workspace), "alerts", "explain", *args])


def test_cli_explain_json(workspace: Path) -> None:
    res = run(workspace, "--station", "S00", "--at", AT, "--json")
    assert res.exit_code == 0, res.output
    note = json.loads(res.output)
    assert note["judgement"][0]["cause"] == "industry"
    assert note["candidates"][0]["id"] in SCENARIO.sources
    assert not {c["id"] for c in note["candidates"]} & SCENARIO.decoys
    assert note["at"] == AT and note["confidence"] in ("高", "中", "低")


def test_cli_explain_text_and_errors(workspace: Path) -> None:
    res = run(workspace, "--station", "S00", "--at", AT)
    assert res.exit_code == 0, res.output
    assert "初步判断为工业源排放" in res.output and "上风向可疑源" in res.output and "证据" in res.output
    bad = run(workspace, "--station", "XX", "--at", AT)
    assert bad.exit_code == 2 and "未知站点" in bad.output
    bad = run(workspace, "--station", "S00", "--at", "2020-13-01 10:00")
    assert bad.exit_code == 2 and "时间格式无效" in bad.output


@pytest.fixture(scope="module")
def client(workspace: Path):
    from qingshan.ledger.db import open_ledger
    from qingshan.ledger.demo import build_demo_ledger
    from qingshan.ledger.rbac import Principal
    from qingshan.ledger.service import LedgerService

    mp = cheap_password_hashing()
    ledger = open_ledger(workspace)
    try:
        with ledger.session() as s:
            build_demo_ledger(s)
            svc = LedgerService(s, Principal.system())
            svc.create_user("bureau", PASSWORD, "bureau", "常州市生态环境局", "局机关")
            svc.create_user("wujin", PASSWORD, "district", "武进区", "武进区")
    finally:
        ledger.dispose()
    application = create_console_app(workspace, as_of=SCENARIO.at, warm=False)
    with TestClient(application) as c:
        yield c
    mp.undo()


def bearer(client: TestClient, username: str) -> dict[str, str]:
    r = client.post(f"{API}/auth/token", data={"username": username, "password": PASSWORD})
    assert r.status_code == 200, r.text
    return {"Authorization": f"Bearer {r.json()['access_token']}"}


def test_api_explain_for_the_bureau_only(client: TestClient) -> None:
    q = {"station": "S00", "at": AT}
    assert client.get(f"{API}/alerts/explain", params=q).status_code == 401
    assert client.get(f"{API}/alerts/explain", params=q, headers=bearer(client, "wujin")).status_code == 403
    r = client.get(f"{API}/alerts/explain", params=q, headers=bearer(client, "bureau"))
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["judgement"][0]["cause"] == "industry" and body["paragraph"].startswith("站点00")
    assert body["rose_spec"]["mark"]["type"] == "arc" and body["rose_spec"]["data"]["values"]
    h = bearer(client, "bureau")
    assert client.get(f"{API}/alerts/explain", params={"station": "XX", "at": AT}, headers=h).status_code == 404
    for bad in ("x", "9999-12-31 23:00", "2020-01-01 10:00+08:00", "2020-01-01 10:30"):
        assert client.get(f"{API}/alerts/explain", params={"station": "S00", "at": bad}, headers=h).status_code == 422


def test_rose_spec_renders() -> None:
    from qingshan.alerts.wind import pollution_rose as cells
    from qingshan.charts.render import to_svg
    from qingshan.charts.rose import pollution_rose

    met = SCENARIO.met
    pm = SCENARIO.air[SCENARIO.air["station"] == "S00"]["pm25"].to_numpy()
    spec = pollution_rose(cells(pm, met["wind_speed"].to_numpy(), met["wind_dir"].to_numpy()), "污染玫瑰图", "µg/m³")
    svg = to_svg(spec)
    assert svg.count("<path") >= len(spec["data"]["values"])


def test_api_lists_alarms_and_moves_them_for_the_bureau_only(client: TestClient) -> None:
    import pandas as pd

    from qingshan.alerts.episodes import episodes
    from qingshan.store.alarms import alarm_log, save_episodes

    hits = pd.DataFrame({"rule": "air.spike_baseline", "subject": "S00", "pollutant": "so2", "hi": [1000, 1001],
                         "level": [2, 2], "value": [80.0, 95.0], "reference": [20.0, 21.0]})
    with client.app.state.console.store.cursor() as cur:
        save_episodes(cur, episodes(hits), "test")
        aid = int(cur.execute("SELECT max(alarm_id) FROM alarms").fetchall()[0][0])
    assert client.get(f"{API}/alerts").status_code == 401
    assert client.get(f"{API}/alerts", headers=bearer(client, "wujin")).status_code == 403
    h = bearer(client, "bureau")
    body = client.get(f"{API}/alerts", params={"state": "new"}, headers=h).json()
    mine = next(a for a in body["items"] if a["alarm_id"] == aid)
    assert (mine["peak_value"], mine["hours"], mine["state_text"], mine["rule_title"]) == (
        95.0, 2, "新报警", "浓度突增（较本站近 24 小时基线）")
    assert mine["evidence"]["hours"] == [[1000, 80.0, 20.0], [1001, 95.0, 21.0]]
    assert client.get(f"{API}/alerts", params={"state": "bogus"}, headers=h).status_code == 422
    url = f"{API}/alerts/{aid}/state"
    assert client.post(url, json={"to": "acknowledged"}, headers=bearer(client, "wujin")).status_code == 403
    assert client.post(url, json={"to": "closed", "reason": "x"}, headers=h).status_code == 409  # not yet dispatched
    ok = client.post(url, json={"to": "acknowledged"}, headers=h)
    assert ok.status_code == 200 and ok.json()["to_text"] == "已确认"
    assert client.post(url, json={"to": "false_alarm"}, headers=h).status_code == 409  # a reason is required
    assert client.post(url, json={"to": "false_alarm", "reason": "校准"}, headers=h).status_code == 200
    assert client.post(f"{API}/alerts/999999/state", json={"to": "acknowledged"}, headers=h).status_code == 404
    with client.app.state.console.store.cursor() as cur:
        log = alarm_log(cur, aid)
    assert log["to_state"].tolist() == ["new", "acknowledged", "false_alarm"]
    assert "（用户 " in log["actor"].iloc[1]  # who: the signed-in user, not the system


def test_an_alarm_becomes_a_dispatch_event_with_its_evidence(client: TestClient) -> None:
    import pandas as pd

    from qingshan.alerts.episodes import episodes
    from qingshan.store.alarms import list_alarms, save_episodes

    hits = pd.DataFrame({"rule": "air.spike_neighbours", "subject": "S00", "pollutant": "pm25", "hi": [2000],
                         "level": [3], "value": [180.0], "reference": [60.0]})
    with client.app.state.console.store.cursor() as cur:
        save_episodes(cur, episodes(hits), "test")
        aid = int(cur.execute("SELECT max(alarm_id) FROM alarms").fetchall()[0][0])
    url = f"{API}/alerts/{aid}/event"
    assert client.post(url, json={}, headers=bearer(client, "wujin")).status_code == 403
    h = bearer(client, "bureau")
    r = client.post(url, json={"event_kind": "quality", "note": "局地排放为主"}, headers=h)
    assert r.status_code == 201, r.text
    event_id = r.json()["event_id"]
    with client.app.state.console.store.cursor() as cur:
        a = list_alarms(cur, alarm_id=aid).iloc[0]
    assert (a["state"], int(a["event_id"])) == ("dispatched", event_id)
    ev = client.get(f"{API}/ledger/items/{event_id}", headers=h).json()
    text = json.dumps(ev, ensure_ascii=False)
    assert "局地排放为主" in text and "180" in text and "air.spike_neighbours" in text
    assert client.post(url, json={}, headers=h).status_code == 409  # already dispatched: one event per alarm


def test_alarm_centre_pages_list_explain_and_act(client: TestClient) -> None:
    """/alarms for the bureau: the list, the alarm page with the cause note at the peak hour, and the actions."""
    from datetime import datetime

    import pandas as pd

    from qingshan.alerts.episodes import episodes
    from qingshan.store.alarms import list_alarms, save_episodes

    peak = int((SCENARIO.at - datetime(1970, 1, 1)).total_seconds() // 3600)
    hits = pd.DataFrame({"rule": "air.spike_baseline", "subject": "S00", "pollutant": "so2", "hi": [peak - 1, peak],
                         "level": [2, 3], "value": [60.0, 90.0], "reference": [15.0, 16.0]})
    with client.app.state.console.store.cursor() as cur:
        save_episodes(cur, episodes(hits), "test")
        aid = int(cur.execute("SELECT max(alarm_id) FROM alarms").fetchall()[0][0])
    assert client.get("/alarms", follow_redirects=False).status_code == 401
    assert client.get("/alarms", headers=bearer(client, "wujin")).status_code == 403
    h = bearer(client, "bureau")
    page = client.get("/alarms", headers=h)
    assert page.status_code == 200 and f'data-alarm="{aid}"' in page.text and "浓度突增" in page.text
    item = client.get(f"/alarms/{aid}", headers=h)
    assert item.status_code == 200 and "初步判断为工业源排放" in item.text and "90.0" in item.text
    assert 'data-chart="pollution-rose"' in item.text and 'data-chart="alarm-map"' in item.text
    assert "上风向扇区为近 3 小时矢量平均风向" in item.text  # the map's caption names the wedge it draws
    act = client.post(f"/alarms/{aid}/action", data={"action": "ack"}, headers=h, follow_redirects=False)
    assert act.status_code == 303 and act.headers["location"].startswith("/alarms?state=open&done=")
    with client.app.state.console.store.cursor() as cur:
        assert list_alarms(cur, alarm_id=aid).iloc[0]["state"] == "acknowledged"
    ev = client.post(f"/alarms/{aid}/action", data={"action": "event", "event_kind": "violation"}, headers=h,
                     follow_redirects=False)
    assert ev.status_code == 303 and ev.headers["location"].startswith("/dispatch/events/")
    with client.app.state.console.store.cursor() as cur:
        a = list_alarms(cur, alarm_id=aid).iloc[0]
    assert a["state"] == "dispatched" and ev.headers["location"].endswith(f"/{int(a['event_id'])}")
    assert client.post(f"/alarms/{aid}/action", data={"action": "ack"}, headers=h).status_code == 409  # dispatched
