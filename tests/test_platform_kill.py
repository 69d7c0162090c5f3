"""Kill test of the platform (issue 13): ``qingshan serve --hj212-port`` as a real process, HJ 212 devices
reporting, a file import handed over by ``qingshan import`` and another uploaded through the API; ``kill -9``
mid-run and a restart lose no acknowledged packet and no committed (or acknowledged) import, duplicate nothing,
and ``/api/v1/overview`` comes back with the same figures. Every wait polls a condition with a deadline.
"""

from __future__ import annotations

import asyncio
import os
import signal
import threading
import time
import uuid
from pathlib import Path

import duckdb
import pytest

from .platform_fixtures import add_users, cli, http, ledger_token, long_csv, start_platform, stop_platform, wait_job

DEVICES = 5


def _stations(ws: Path, folder: Path) -> list[str]:
    """The demo station table and January 2025 imported before the platform starts; returns the station codes."""
    from qingshan.ingest import import_files
    from qingshan.store.workspace import Workspace
    from qingshan.synth import DEMO_STATIONS

    st = DEMO_STATIONS.copy()
    st["is_control"] = st["is_control"].map({True: "Y", False: "N"})
    path = folder / "stations.csv"
    st.to_csv(path, index=False)
    codes = list(st["code"])
    jan = long_csv(folder / "jan.csv", codes, "2025-01-01 01:00", 31 * 24)
    with Workspace(ws) as w:
        import_files(w, "stations", [path])
        import_files(w, "long", [jan])
    return codes


class Devices:
    """The HJ 212 simulator in a thread of its own, until stopped; its result lists the acknowledged packets."""

    def __init__(self, port: int) -> None:
        from qingshan.hj212.config import SimConfig
        from qingshan.hj212.simulate import SimResult

        self.cfg = SimConfig(port=port, devices=DEVICES, duration=None, rate=100.0, keep_acked=True, ack_timeout=5.0,
                             connect_timeout=2.0)
        self.result = SimResult()
        self._loop = asyncio.new_event_loop()
        self._stop: asyncio.Event | None = None
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()

    def _run(self) -> None:
        from qingshan.hj212.simulate import run_simulation

        async def main() -> None:
            self._stop = asyncio.Event()
            await run_simulation(self.cfg, stop=self._stop, result=self.result)

        self._loop.run_until_complete(main())

    def wait_acked(self, n: int, timeout: float = 120.0) -> None:
        deadline = time.monotonic() + timeout
        while self.result.acked < n:
            assert time.monotonic() < deadline, f"only {self.result.acked} packets acknowledged"
            time.sleep(0.05)

    def stop(self) -> None:
        deadline = time.monotonic() + 30
        while self._stop is None:
            assert time.monotonic() < deadline
            time.sleep(0.01)
        self._loop.call_soon_threadsafe(self._stop.set)
        self._thread.join(timeout=60)
        assert not self._thread.is_alive()


def _overview(p, token: str) -> dict:
    status, data = http(p.url + "/api/v1/overview", token=token)
    assert status == 200, data
    return data


def _stable(p, token: str, timeout: float = 60.0) -> dict:
    """The overview once two reads in a row agree (the state is re-read after writes)."""
    deadline = time.monotonic() + timeout
    prev = _overview(p, token)
    while True:
        cur = _overview(p, token)
        if cur == prev:
            return cur
        assert time.monotonic() < deadline, "overview never settled"
        prev = cur


def test_kill_9_loses_no_acknowledged_packet_or_import_and_duplicates_nothing(tmp_path):
    ws = tmp_path / "ws"
    ws.mkdir()
    inputs = tmp_path / "inputs"
    inputs.mkdir()
    codes = _stations(ws, inputs)
    add_users(ws)
    from qingshan.hj212.config import SimConfig
    from qingshan.hj212.simulate import write_registry

    devices_csv = tmp_path / "devices.csv"
    write_registry(SimConfig(devices=DEVICES), devices_csv)
    feb = long_csv(inputs / "feb.csv", codes, "2025-02-01 01:00", 28 * 24, bad_rows=1)
    mar = long_csv(inputs / "mar.csv", codes, "2025-03-01 01:00", 10 * 24)
    args = ("--hj212-port", "0", "--hj212-host", "127.0.0.1", "--devices", str(devices_csv))

    p = start_platform(ws, *args)
    assert p.running.token
    hj_port = _hj212_port(ws)
    sim = Devices(hj_port)
    try:
        sim.wait_acked(20)
        # a committed import: handed over by the command line while the devices report
        r = cli(ws, "import", "long", str(feb))
        assert r.returncode == 0 and "feb.csv" in r.stdout, r.stdout + r.stderr
        bureau = ledger_token(p, "bureau")
        before = _stable(p, bureau)
        assert before["as_of"].startswith("2025-02-28") or "2025-03-01" in before["as_of"], before["as_of"]
        sim.wait_acked(sim.result.acked + 20)
        os.kill(p.proc.pid, signal.SIGKILL)  # mid-run: the devices are still sending
        p.proc.wait(timeout=30)
    finally:
        sim.stop()
    acked = list(sim.result.acked_ids)
    assert len(acked) >= 40 and len(set(acked)) == len(acked)

    # restart: the same figures; the committed import is there once and is not run again
    p = start_platform(ws, *args)
    try:
        bureau = ledger_token(p, "bureau")
        assert _stable(p, bureau) == before
        status, jobs = http(p.url + "/api/v1/jobs?kind=import", token=bureau)
        (feb_job,) = [j for j in jobs if j["params"]["files"] == ["feb.csv"]]
        assert feb_job["state"] == "done" and feb_job["runs"] == 1

        # an acknowledged upload, then kill -9 at once: whether or not it had run, after the restart it is in once
        boundary = "b" + uuid.uuid4().hex
        body = (f'--{boundary}\r\nContent-Disposition: form-data; name="kind"\r\n\r\nlong\r\n'
                f'--{boundary}\r\nContent-Disposition: form-data; name="files"; filename="mar.csv"\r\n\r\n').encode() \
            + mar.read_bytes() + f"\r\n--{boundary}--\r\n".encode()
        status, job = http(p.url + "/api/v1/jobs/imports", "POST", bureau, body,
                           f"multipart/form-data; boundary={boundary}")
        assert status == 202, job
        os.kill(p.proc.pid, signal.SIGKILL)
        p.proc.wait(timeout=30)
    finally:
        if p.proc.poll() is None:
            p.proc.kill()
    p = start_platform(ws, *args)
    try:
        bureau = ledger_token(p, "bureau")
        done = wait_job(p, job["id"], bureau)
        assert done["state"] == "done" and done["runs"] >= 1, done
        after = _stable(p, bureau)
        assert after["as_of"].startswith("2025-03-10") or after["as_of"].startswith("2025-03-11"), after["as_of"]
    finally:
        stop_platform(p)  # a clean stop loads the rest of the HJ 212 log into the store

    con = duckdb.connect(str(ws / "measurements.duckdb"), read_only=True)
    try:
        stored = con.execute("SELECT mn, qn, cn, count(*) FROM hj212_packets GROUP BY ALL").fetchall()
        counts = {(m, q, c): k for m, q, c, k in stored}
        assert all(k == 1 for k in counts.values()), "a packet stored twice"
        missing = [a for a in acked if a not in counts]
        assert not missing, f"{len(missing)} acknowledged packets lost, e.g. {missing[:3]}"
        n = len(codes)
        for month, hours in ((1, 31 * 24), (2, 28 * 24), (3, 10 * 24)):
            rows, distinct = con.execute(
                "SELECT count(*), count(DISTINCT (station, hi)) FROM air_hourly WHERE month(ts) = ? "
                "AND ts >= '2025-01-01 01:00' AND ts <= '2025-03-11 00:00'", [month]).fetchone()
            assert rows == distinct  # nothing duplicated
        total = con.execute("SELECT count(*) FROM air_hourly").fetchone()[0]
        assert total == n * (31 + 28 + 10) * 24
        # each file's data written by exactly one import that added rows (a re-run finds them unchanged)
        writers = con.execute("SELECT count(DISTINCT import_id) FROM air_hourly WHERE ts >= '2025-03-01 01:00'")
        assert writers.fetchone()[0] == 1
        assert con.execute("SELECT count(*) FROM quarantine WHERE source LIKE '%feb.csv'").fetchone()[0] == 1
    finally:
        con.close()


def _hj212_port(ws: Path) -> int:
    import json

    port = json.loads((ws / "platform.lock").read_text(encoding="utf-8"))["hj212_port"]
    assert isinstance(port, int) and port > 0
    return port


# --- kill -9 under the live benchmark's traffic (bench/live_bench.py) ----------------------------------------------


def _live_bench():
    import importlib.util
    import sys

    path = Path(__file__).resolve().parents[1] / "bench" / "live_bench.py"
    spec = importlib.util.spec_from_file_location("live_bench", path)
    assert spec is not None and spec.loader is not None
    mod = importlib.util.module_from_spec(spec)
    sys.modules["live_bench"] = mod
    spec.loader.exec_module(mod)
    return mod


class Traffic:
    """The bench's devices (stations and outlets sharing multiplexed connections) in a thread: each sends its
    minutes one after another, as fast as answered, re-sending the same packet until it is answered; on
    :meth:`stop` each device keeps the packet it was waiting for (``in_flight``), which a data logger re-sends
    after the restart.  ``minutes``: stop by itself after that many minutes each."""

    def __init__(self, lb, port: int, devs: list, hour_start, first: dict[str, int],
                 resend: dict[str, tuple[str, bytes]] | None = None, minutes: int | None = None) -> None:
        self.lb, self.port, self.devs, self.hour_start = lb, port, devs, hour_start
        self.next = dict(first)  # mn → the next minute to send
        self.resend = dict(resend or {})
        self.minutes = minutes
        self.acked: list[tuple[str, str]] = []
        self.in_flight: dict[str, tuple[str, bytes]] = {}
        self.stopping = False
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self._loop.run_until_complete, args=(self._main(),), daemon=True)
        self._thread.start()

    async def _main(self) -> None:
        from qingshan.hj212.sender import Link

        links = [Link("127.0.0.1", self.port, source=f"127.0.0.{1 + i % 2}", timeout=5.0)
                 for i in range(-(-len(self.devs) // 20))]
        try:
            await asyncio.gather(*(self._device(links[i // 20], d) for i, d in enumerate(self.devs)))
        finally:
            await asyncio.gather(*(link.close() for link in links))

    async def _device(self, link, d) -> None:
        from datetime import timedelta

        sent = 0
        while not self.stopping and (self.minutes is None or sent < self.minutes):
            if d.mn in self.resend:
                qn, pkt = self.resend.pop(d.mn)
            else:
                qn, pkt = self.lb.packet(d, self.hour_start + timedelta(minutes=self.next[d.mn]))
                self.next[d.mn] += 1
                sent += 1
            while True:
                try:
                    got = await link.request(d.mn, qn, pkt)
                except (OSError, ConnectionError, asyncio.TimeoutError):
                    if self.stopping:
                        self.in_flight[d.mn] = (qn, pkt)
                        return
                    await asyncio.sleep(0.2)
                    continue
                assert got == "9014", (d.mn, qn, got)
                self.acked.append((d.mn, qn))
                break

    def wait(self, acked: int | None = None, timeout: float = 300.0) -> None:
        """Until ``acked`` packets are answered (or, without it, until every device has sent its minutes)."""
        deadline = time.monotonic() + timeout
        while (len(self.acked) < acked) if acked is not None else self._thread.is_alive():
            assert time.monotonic() < deadline, f"only {len(self.acked)} packets acknowledged"
            time.sleep(0.05)

    def stop(self) -> None:
        self.stopping = True
        self._thread.join(timeout=60)
        assert not self._thread.is_alive()


@pytest.mark.slow  # two platform starts and a few thousand packets: about a minute, more on a busy machine
def test_kill_9_under_bench_traffic_loses_no_acknowledged_packet_and_duplicates_nothing(tmp_path):
    from datetime import datetime

    from qingshan.ingest import import_files
    from qingshan.store.workspace import Workspace

    lb = _live_bench()
    devs = lb.device_list(120, 12)  # 12 stations (their minutes feed air_hourly) and 108 outlets
    stations_csv, registry = lb.write_inputs(tmp_path, devs)
    ws = tmp_path / "ws"
    with Workspace(ws) as w:
        import_files(w, "stations", [stations_csv])
    args = ("--hj212-port", "0", "--hj212-host", "127.0.0.1", "--devices", str(registry))
    hour = datetime(2026, 5, 1, 8)

    p = start_platform(ws, *args)
    try:
        first = Traffic(lb, _hj212_port(ws), devs, hour, {d.mn: 0 for d in devs})
        first.wait(acked=1500)
        os.kill(p.proc.pid, signal.SIGKILL)  # mid-load: every device is waiting for an answer
        p.proc.wait(timeout=30)
        first.stop()
    finally:
        if p.proc.poll() is None:
            p.proc.kill()
    assert first.in_flight  # packets sent and never answered: the devices re-send them

    p = start_platform(ws, *args)  # the console is back within start_platform's deadline (START_TIMEOUT)
    try:
        # the console answers at once; the receiver replays its log into the store behind it (in the background),
        # so the overview has data once the replay has loaded the first run's packets
        deadline = time.monotonic() + 300
        while (got := http(p.url + "/api/v1/overview"))[0] == 404:
            assert time.monotonic() < deadline, got
            time.sleep(0.2)
        assert got[0] == 200, got
        second = Traffic(lb, _hj212_port(ws), devs, hour, first.next, resend=first.in_flight, minutes=3)
        second.wait()
        second.stop()
        status, ov = http(p.url + "/api/v1/overview")
        assert status == 200 and ov["as_of"]
    finally:
        stop_platform(p)

    acked = first.acked + second.acked
    assert len(set(acked)) == len(acked)
    con = duckdb.connect(str(ws / "measurements.duckdb"), read_only=True)
    try:
        stored = con.execute("SELECT mn, qn FROM hj212_packets WHERE cn = '2051'").fetchall()
        hours = con.execute("SELECT count(*), count(DISTINCT (station, hi)) FROM air_hourly").fetchone()
        pending = con.execute("SELECT count(*) FROM hj212_feed_pending").fetchone()[0]
    finally:
        con.close()
    assert len(stored) == len(set(stored)), "a packet stored twice"
    assert set(stored) == set(acked), (len(set(acked) - set(stored)), len(set(stored) - set(acked)))
    assert hours[0] == hours[1] > 0 and pending == 0  # every station-hour fed once, nothing left queued
