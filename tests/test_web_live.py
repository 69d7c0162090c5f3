"""The live console (docs/console.md#实时更新与数据获取率): the data-capture panel and API against hand-built
stores, the console clock (wall clock in live use, the data's clock for past data), offline stations and HJ 212
devices, what the public sees of them, and the server-sent events that follow a write into the store of a running
console — in-process, through the store's own connection, as the platform's writers do."""

from __future__ import annotations

import datetime as dt
import json
import signal
import subprocess
import sys
import threading
from collections.abc import Iterator
from pathlib import Path

import pandas as pd
import pyarrow as pa
import pytest
from fastapi.testclient import TestClient

from qingshan.web.app import create_console_app
from qingshan.web.clock import LIVE_WINDOW_HOURS, clock_of
from qingshan.web.store import StoreState, hour_index

from .console_server import wait_for
from .web_fixtures import PASSWORD, cheap_password_hashing, login_cookie

API = "/api/v1"
CITY = "测试市"
#: A:B evaluation stations, C a control site that stopped on 28 February.
STATIONS = [("T001A", "甲站", False), ("T002A", "乙站", False), ("T003A", "丙站", True)]
DAY1, DAY2 = dt.date(2025, 3, 1), dt.date(2025, 3, 2)
A_MISSING = {3, 7, 8, 15, 16, 22}  # hours of 2 March (01 … 24) that station A did not send: 18 of 24 arrive
A_NO_PM25 = {1, 2, 4, 5, 6, 9}  # hours of 2 March when A sent PM10 but not PM2.5




def _hours_of(day: dt.date, hours: range | list[int]) -> list[str]:
    t0 = dt.datetime(day.year, day.month, day.day)
    return [(t0 + dt.timedelta(hours=h)).strftime("%Y-%m-%d %H:%M") for h in hours]


def build_workspace(path: Path) -> Path:
    """Stations A, B, C of :data:`CITY`: A and B complete on 1 March, on 2 March B complete and A 18 of 24 hours
    (6 of them without PM2.5), C only on 28 February; one bureau account."""
    from qingshan.ingest import import_files
    from qingshan.ledger.db import open_ledger
    from qingshan.ledger.rbac import Principal
    from qingshan.ledger.service import LedgerService
    from qingshan.store.workspace import Workspace

    path.mkdir(parents=True)
    pd.DataFrame([{"code": c, "name": n, "city": CITY, "district": "一区", "lon": 120.0, "lat": 31.0,
                   "is_control": "Y" if ctl else "N", "town": None, "network": "国控"} for c, n, ctl in STATIONS]
                 ).to_csv(path / "stations.csv", index=False)
    rows = []
    for code, times in (("T001A", _hours_of(DAY1, range(1, 25))), ("T002A", _hours_of(DAY1, range(1, 25))),
                        ("T002A", _hours_of(DAY2, range(1, 25))), ("T003A", _hours_of(dt.date(2025, 2, 28), range(1, 25)))):
        rows += [{"station": code, "time": t, "pm25": 30.0, "pm10": 60.0} for t in times]
    for h in range(1, 25):
        if h not in A_MISSING:
            rows.append({"station": "T001A", "time": _hours_of(DAY2, [h])[0],
                         "pm25": None if h in A_NO_PM25 else 30.0, "pm10": 60.0})
    pd.DataFrame(rows).to_csv(path / "hourly.csv", index=False)
    ws = Workspace(path)
    try:
        import_files(ws, "stations", [path / "stations.csv"])
        import_files(ws, "long", [path / "hourly.csv"])
    finally:
        ws.close()
    mp = cheap_password_hashing()
    try:
        ledger = open_ledger(path)
        with ledger.session() as s:
            LedgerService(s, Principal.system()).create_user("bureau", PASSWORD, "bureau", None, "局机关")
            s.commit()
        ledger.dispose()
    finally:
        mp.undo()
    return path


@pytest.fixture(scope="module")
def workspace(tmp_path_factory) -> Path:
    return build_workspace(tmp_path_factory.mktemp("live") / "ws")


@pytest.fixture
def copy(workspace, tmp_path) -> Path:
    """A private copy of the workspace (tests that write into the store)."""
    import shutil

    dst = tmp_path / "ws"
    shutil.copytree(workspace, dst)
    return dst


@pytest.fixture(scope="module")
def pinned(workspace) -> Iterator[TestClient]:
    """The console pinned to 2 March 24:00 (the data's clock)."""
    mp = cheap_password_hashing()
    app = create_console_app(workspace, as_of=dt.datetime(2025, 3, 3, 0, 0), warm=False)
    with TestClient(app) as c:
        yield c
    mp.undo()


def station(doc: dict, code: str) -> dict:
    return next(s for s in doc["stations"] if s["code"] == code)


# --- capture shares -----------------------------------------------------------------------------------------------


def test_capture_today_counts_the_hours_that_arrived(pinned):
    r = pinned.get(f"{API}/air/capture", params={"period": "today"})
    assert r.status_code == 200, r.text
    d = r.json()
    assert d["clock"] == {"now": "2025-03-03T00:00:00", "live": False, "label": d["clock"]["label"]}
    assert d["first_day"] == "2025-03-02" and d["expected"] == 24
    a, b, c = station(d, "T001A"), station(d, "T002A"), station(d, "T003A")
    assert (a["received"], a["share"]) == (18, 75.0)
    assert a["by_pollutant"]["pm25"] == {"received": 12, "share": 50.0}
    assert a["by_pollutant"]["pm10"] == {"received": 18, "share": 75.0}
    assert a["lost"] is True and a["offline"] is False  # 6 hours missing > the 4 that 表4 allows a valid day
    assert (b["received"], b["share"], b["lost"]) == (24, 100.0, False)
    assert (c["received"], c["share"], c["offline"]) == (0, 0.0, True)
    assert c["last_hour"] == "2025-03-01T00:00:00" and c["group"] == "control"
    assert d["rule"]["day_min_hours"] == 20 and "表4" in d["rule"]["text"]
    assert d["summary"] == {"stations": 3, "mean_share": 58.3, "complete": 1, "lost": 2, "offline": 1}


def test_capture_month_counts_hours_and_valid_days(pinned):
    d = pinned.get(f"{API}/air/capture", params={"period": "month"}).json()
    assert d["first_day"] == "2025-03-01" and d["expected"] == 48
    a, b, c = station(d, "T001A"), station(d, "T002A"), station(d, "T003A")
    assert (a["received"], a["share"], a["valid_days"]) == (42, 87.5, 1)  # 2 March: 18 < 20 hours
    assert (b["received"], b["share"], b["valid_days"]) == (48, 100.0, 2)
    assert (c["received"], c["valid_days"]) == (0, 0)
    # March may miss 31 − 27 = 4 days: two lost days do not lose the month yet
    assert d["rule"]["month_min_days"] == 27 and d["rule"]["days_may_miss"] == 4
    assert not any(s["lost"] for s in d["stations"])


def test_capture_period_must_be_today_or_month(pinned):
    r = pinned.get(f"{API}/air/capture", params={"period": "year"})
    assert r.status_code == 422 and "today" in r.json()["detail"]


def test_the_overview_carries_the_capture_panel_for_the_public_too(pinned):
    o = pinned.get(f"{API}/overview").json()
    assert station(o["capture"], "T001A")["share"] == 75.0
    page = pinned.get("/")
    assert page.status_code == 200
    assert 'data-panel="capture"' in page.text and "75.0%" in page.text


# --- the clock ----------------------------------------------------------------------------------------------------


def test_clock_is_the_wall_clock_in_live_use_and_the_data_clock_for_the_past():
    last = hour_index(dt.datetime(2025, 3, 3, 0, 0))
    st = StoreState((), last, False)
    live = clock_of(st, pinned=False, wall=dt.datetime(2025, 3, 3, 5, 40))
    assert live.live and live.now == dt.datetime(2025, 3, 3, 5, 0)  # the last complete hour, 04:00–05:00
    past = clock_of(st, pinned=False, wall=dt.datetime(2025, 3, 3) + dt.timedelta(hours=LIVE_WINDOW_HOURS + 1))
    assert not past.live and past.now == dt.datetime(2025, 3, 3, 0, 0)
    assert not clock_of(st, pinned=True, wall=dt.datetime(2025, 3, 3, 5, 40)).live


def test_live_capture_counts_up_to_the_wall_clock(copy, monkeypatch):
    """Unpinned, with the wall clock at 3 March 05:40: today is 3 March with 5 expected hours and no station
    has sent any, so all are offline after 3 quiet hours (B's last hour was 2 March 24:00)."""
    monkeypatch.setattr("qingshan.web.clock.wall_now", lambda: dt.datetime(2025, 3, 3, 5, 40))
    app = create_console_app(copy, warm=False)
    with TestClient(app) as c:
        d = c.get(f"{API}/air/capture").json()
    assert d["clock"]["live"] is True and d["clock"]["now"] == "2025-03-03T05:00:00"
    assert d["as_of"] == "2025-03-03T00:00:00"  # 数据截至 stays the latest data hour
    assert d["first_day"] == "2025-03-03" and d["expected"] == 5
    assert [s["received"] for s in d["stations"]] == [0, 0, 0]
    assert all(s["offline"] for s in d["stations"])


# --- HJ 212 devices ----------------------------------------------------------------------------------------------


def _register_devices(ws: Path, wall: dt.datetime) -> None:
    from qingshan.hj212.devices import Device
    from qingshan.hj212.store import Hj212Store
    from qingshan.store.workspace import Workspace

    w = Workspace(ws)
    try:
        h = Hj212Store(w.con)
        h.upsert_devices([Device("MN-FRESH", name="甲站数采仪", station="T001A", st="22", interval_s=60),
                          Device("MN-STALE", name="乙站数采仪", station="T002A", st="22", interval_s=60),
                          Device("MN-OUTLET", enterprise="某化工厂", outlet="DA001", st="31"),
                          Device("MN-NEVER", name="从未上报", st="22", interval_s=3600)], "test")
        for mn, ago in (("MN-FRESH", 30), ("MN-STALE", 121), ("MN-OUTLET", 3 * 3600)):
            w.con.execute("UPDATE hj212_devices SET last_seen = ?, last_peer = '10.0.0.9:5000' WHERE mn = ?",
                          [wall - dt.timedelta(seconds=ago), mn])
    finally:
        w.close()


def test_offline_devices_signed_in_and_public(copy, monkeypatch):
    """Interval 60 s × 2: 121 s of silence is offline, 30 s is not; no interval counts as hourly (3 h silent:
    offline); never seen: offline. The public gets the count only — no MN, enterprise or peer address."""
    wall = dt.datetime(2025, 3, 3, 5, 40)
    monkeypatch.setattr("qingshan.web.clock.wall_now", lambda: wall)
    _register_devices(copy, wall)
    mp = cheap_password_hashing()
    try:
        app = create_console_app(copy, warm=False)
        with TestClient(app) as public, TestClient(app) as bureau:
            login_cookie(bureau, "bureau")
            mine = bureau.get(f"{API}/air/capture").json()
            anon = public.get(f"{API}/air/capture").json()
            anon_overview = public.get(f"{API}/overview").json()["capture"]
    finally:
        mp.undo()
    dev = mine["devices"]
    assert dev["judged"] is True and dev["total"] == 4 and dev["hidden"] is False
    assert sorted(x["mn"] for x in dev["offline"]) == ["MN-NEVER", "MN-OUTLET", "MN-STALE"]
    assert dev["offline_count"] == 3
    stale = next(x for x in dev["offline"] if x["mn"] == "MN-STALE")
    assert stale["silent_s"] == 121 and stale["limit_s"] == 120 and stale["last_peer"] == "10.0.0.9:5000"
    for doc in (anon, anon_overview):
        assert doc["devices"]["offline_count"] == 3 and doc["devices"]["offline"] == []
        text = json.dumps(doc, ensure_ascii=False)
        assert "MN-" not in text and "10.0.0.9" not in text and "化工厂" not in text
        assert doc["stations"] == mine["stations"]  # the same station panel


def test_devices_are_not_judged_against_a_past_clock(pinned, workspace):
    d = pinned.get(f"{API}/air/capture").json()["devices"]
    assert d["judged"] is False and d["offline"] == [] and "不按当前时间" in d["note"]


# --- server-sent events --------------------------------------------------------------------------------------------


class EventReader:
    """Reads an event stream in a thread; :meth:`next` waits for the next ``state`` event with a deadline."""

    def __init__(self, lines) -> None:
        import queue

        self.events: queue.Queue = queue.Queue()
        self.comments = 0
        self.thread = threading.Thread(target=self._read, args=(lines,), daemon=True)
        self.thread.start()

    def _read(self, lines) -> None:
        data, kind = None, None
        try:
            for line in lines:
                if line.startswith(":"):
                    self.comments += 1
                elif line.startswith("event:"):
                    kind = line.split(":", 1)[1].strip()
                elif line.startswith("data:"):
                    data = line.split(":", 1)[1].strip()
                elif line == "" and data is not None:
                    self.events.put((kind, json.loads(data)))
                    data, kind = None, None
        except Exception as e:  # the stream was closed under us
            self.events.put(("closed", repr(e)))
            return
        self.events.put(("closed", None))

    def next(self, deadline: float = 20.0) -> tuple[str, object]:
        import queue

        try:
            return self.events.get(timeout=deadline)
        except queue.Empty:
            raise AssertionError(f"no event within {deadline:g} s") from None


def new_hour(app, code: str, t: dt.datetime, pm25: float) -> None:
    """Write one hour through the running console's own store connection (as the platform's writers do)."""
    app.state.console.store.workspace.upsert_air_hourly(pa.table({
        "station": pa.array([code], pa.string()), "hi": pa.array([hour_index(t)], pa.int32()),
        "pm25": pa.array([pm25], pa.float64()), "pm10": pa.array([2 * pm25], pa.float64()),
        "import_id": pa.array([1], pa.int32())}))


def test_a_write_into_the_running_console_reaches_the_event_stream_and_the_overview(copy):
    app = create_console_app(copy, warm=False, state_ttl=0.05)
    app.state.events.poll = 0.05
    with TestClient(app) as c, c.stream("GET", f"{API}/events") as r:
        assert r.status_code == 200 and r.headers["content-type"].startswith("text/event-stream")
        reader = EventReader(r.iter_lines())
        kind, first = reader.next()
        assert kind == "state" and first["as_of"] == "2025-03-03T00:00:00" and first["live"] is False
        assert c.get(f"{API}/overview").json()["as_of"] == "2025-03-03T00:00:00"
        new_hour(app, "T002A", dt.datetime(2025, 3, 3, 1), 42.0)
        kind, ev = reader.next()
        assert kind == "state" and ev["as_of"] == "2025-03-03T01:00:00" and ev["version"] != first["version"]
        o = c.get(f"{API}/overview").json()
        assert o["as_of"] == "2025-03-03T01:00:00"
        assert station(o, "T002A")["values"]["pm25"] == 42.0
        assert station(o["capture"], "T002A")["received"] == 1  # today is now 3 March: 1 of 1 hour
        assert app.state.events.subscribers == 1
    assert app.state.events.subscribers == 0  # the closed stream gave its slot back


def test_the_event_stream_is_bounded_and_sends_heartbeats(copy):
    app = create_console_app(copy, warm=False)
    hub = app.state.events
    hub.max_subscribers, hub.heartbeat = 1, 0.1
    with TestClient(app) as c, c.stream("GET", f"{API}/events") as r:
        reader = EventReader(r.iter_lines())
        assert reader.next()[0] == "state"
        refused = c.get(f"{API}/events")
        assert refused.status_code == 503 and "上限" in refused.json()["detail"]
        assert refused.headers["retry-after"]
        wait_for(lambda: reader.comments >= 2, 20, "two heartbeats")
        hub.close()  # an embedding stopping the server: the open stream ends
        assert reader.next()[0] == "closed"


def test_serve_stops_cleanly_with_an_open_event_stream(copy):
    """``qingshan serve`` with a browser's stream open: SIGTERM ends the stream and the process promptly
    (uvicorn alone waits for open responses for ever)."""
    import http.client
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    log = open(copy / "serve.log", "w")
    proc = subprocess.Popen([sys.executable, "-m", "qingshan.cli", "--workspace", str(copy), "serve", "--port",
                             str(port)], stdout=log, stderr=subprocess.STDOUT)
    try:
        def up() -> bool:
            try:
                conn = http.client.HTTPConnection("127.0.0.1", port, timeout=2)
                conn.request("GET", f"{API}/health")
                return conn.getresponse().status == 200
            except OSError:
                assert proc.poll() is None, (copy / "serve.log").read_text(encoding="utf-8")[-2000:]
                return False

        wait_for(up, 120, "qingshan serve to start", step=0.3)
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
        conn.request("GET", f"{API}/events")
        resp = conn.getresponse()
        assert resp.status == 200
        head = b""
        while b"\n\n" not in head:
            head += resp.read1(1024)
        assert b"event: state" in head
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            raise AssertionError("qingshan serve did not stop within 30 s with an open event stream") from None
        assert proc.returncode in (0, -signal.SIGTERM)
        assert resp.read() is not None  # the stream ended (no hang)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
        log.close()
    assert "Traceback" not in (copy / "serve.log").read_text(encoding="utf-8")


def test_a_change_while_the_stream_is_suspended_is_not_missed():
    """The hub wakes its streams by replacing an asyncio.Event; a change that lands while a stream is suspended in
    ``yield`` (its body being sent) must still be sent, not wait for the next change."""
    import asyncio

    from qingshan.web.api.events import EventHub

    async def run() -> str:
        hub = EventHub(console=None, poll=3600, heartbeat=3600)  # type: ignore[arg-type]  # no poll in this test
        hub.subscribers = 1
        gen = hub.stream({"version": "v1", "as_of": None, "clock": None, "live": False})
        first = await gen.__anext__()
        hub._latest = {"version": "v2", "as_of": "2025-03-03T01:00:00", "clock": None, "live": False}
        hub._wake()  # what the poller does on a change, while the stream has not resumed yet
        try:
            return await asyncio.wait_for(gen.__anext__(), timeout=5)
        finally:
            hub.close()
            await gen.aclose()
            assert first.startswith("retry:")

    assert '"version": "v2"' in asyncio.run(run())


def test_a_month_is_lost_when_more_days_are_missing_than_table4_allows(copy):
    """Pinned to 7 March 24:00: A has 1 valid day of 7, B 2 — both have lost more than the 4 days March may
    miss; all three stations are offline (last data 2 March)."""
    app = create_console_app(copy, as_of=dt.datetime(2025, 3, 8, 0, 0), warm=False)
    with TestClient(app) as c:
        d = c.get(f"{API}/air/capture", params={"period": "month"}).json()
        today = c.get(f"{API}/air/capture", params={"period": "today"}).json()
    assert d["expected"] == 7 * 24
    assert [(s["valid_days"], s["lost"], s["offline"]) for s in d["stations"]] == [
        (1, True, True), (2, True, True), (0, True, True)]
    assert [s["received"] for s in today["stations"]] == [0, 0, 0] and today["expected"] == 24


def test_store_closes_while_a_cursor_is_still_querying(tmp_path):
    """A warm-up thread that outlives its join on a busy machine kept its cursor busy, DuckDB refused to close the
    connection ("connection is busy with another call"), the lifespan's shutdown failed and ``qingshan serve`` did
    not exit on SIGTERM. ``MeasurementStore.close`` interrupts the running query and closes."""
    import duckdb

    from qingshan.store.workspace import Workspace
    from qingshan.web.store import MeasurementStore

    Workspace(tmp_path / "ws").close()
    store = MeasurementStore(tmp_path / "ws")
    running = threading.Event()
    seen: list[BaseException] = []

    def query() -> None:
        def mark(x: int) -> int:
            running.set()  # the query is inside DuckDB now
            return x

        try:
            with store.cursor() as cur:
                cur.create_function("mark", mark, ["BIGINT"], "BIGINT")
                cur.execute("SELECT sum(mark(range)) FROM range(1000000000)").fetchall()  # hours unless interrupted
        except duckdb.Error as e:
            seen.append(e)
        finally:
            running.set()

    t = threading.Thread(target=query, daemon=True)
    t.start()
    assert running.wait(60)
    store.close()
    t.join(timeout=60)
    assert not t.is_alive() and seen and isinstance(seen[0], duckdb.InterruptException), seen
