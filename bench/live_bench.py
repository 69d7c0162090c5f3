"""Live platform benchmark (issue 13 "Done when"): ``qingshan serve --hj212-port`` as a real process under the
issue's load — 20,000 simulated devices reporting minute data (≈ 333 packets/s) — with 20 console clients.

The devices: ``--stations`` environmental-quality stations (ST=22, CN 2051 minute values of the six pollutants
and meteorology; the first 8 are the demo's evaluation stations, the rest grid micro-sensors) and the rest
enterprise outlets (ST=31, CN 2051 minute values of SO2, NOx, particulate).  They share TCP connections
(:class:`qingshan.hj212.sender.Link`, ``--per-connection`` devices each, spread over source addresses 127.0.0.x:
the receiver takes at most 256 connections per address); each device sends one packet per simulated minute, at its
own offset within the minute, and waits for its answer before the next (re-sending after a timeout, same QN).

Phases:

1. **warm-up**: the stations send the first minutes of the hour ``H`` as fast as the platform takes them, so that
   the hour closes two thirds into the load phase (outlets do not take part); the load starts once the probes'
   hour shows every warm-up minute (``warm_up.all_in_s``): the load phase measures the steady state, not the
   digestion of the warm-up's backlog;
2. **load** (``--minutes`` simulated minutes of ``--minute-seconds`` each, default 60 s: the real rate): every
   device sends its minute; 10 clients hold ``GET /api/v1/events`` (SSE) open, 10 poll ``GET /api/v1/overview``
   (each every ``--poll`` seconds, from a process of their own: the simulator's Python work would otherwise delay
   their reads; the time is request sent → last byte read);
3. **stop**: SIGTERM (the receiver loads its whole log), then the store is opened read-only and counted.

4. **feed**: the feed's work for the closed hour of every station (all its minutes), from the feed's copy of the recent rows and
   from ``source_data`` (how every feed read before), timed in-process on the same workspace.

Reported (``bench/out/live_bench.json``): packets acknowledged and stored (equal, no duplicates), acknowledgement
latency p50/p95/p99, **ingestion lag** (a probe station's minute acknowledged → the hour's value including it
visible in ``/api/v1/air/stations/{code}/series``; the probes send a ramp so each minute moves the hourly mean),
**hour close** (the probe's last minute of ``H`` acknowledged → the final value of ``H`` in the API), overview
response p50/p95/p99 during the load, SSE events received, CPU (share of one core) and RSS of the serve process,
and the CPU other processes used meanwhile (the machine may be shared).

``--profile FILE``: the serve process is sampled with ``py-spy record`` (not a project dependency: ``py-spy`` on
PATH, else ``uvx py-spy``) from the warm-up to the end of the load; FILE holds the collapsed stacks and the report's
``profile`` the top functions by own and inclusive share of the samples (docs/hj212.md#性能live_bench).

Usage (from the repository root): ``uv run python bench/live_bench.py`` (defaults: the issue's load, 6 minutes);
``--devices 2000 --stations 200 --minutes 4 --minute-seconds 10`` for a quick look.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
sys.path.insert(0, str(ROOT / "src"))

from qingshan.hj212.codec import Packet, build  # noqa: E402
from qingshan.hj212.sender import Link, SendResult, deliver  # noqa: E402

OUT = HERE / "out"
HOST = "127.0.0.1"
AIR = {"so2": "a21026", "no2": "a21004", "co": "a21005", "o3": "a05024", "pm10": "a34002", "pm25": "a34004"}
MET = {"a01001": "12.5", "a01002": "66", "a01006": "101.2", "a01007": "2.1", "a01008": "135"}
OUTLET = ("a21026", "a21002", "a34013")
PROBES = 4  # probe stations (the first evaluation stations): ramp values, watched through the API
START_TIMEOUT = 240.0


# --- devices and packets -------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Device:
    mn: str
    station: str | None  # None: an enterprise outlet
    index: int


def device_list(devices: int, stations: int) -> list[Device]:
    from qingshan.synth import DEMO_STATIONS

    evaluation = list(DEMO_STATIONS["code"])[: min(8, stations)]
    out = [Device(f"LB22{i:06d}", evaluation[i] if i < len(evaluation) else f"WG{i:05d}", i) for i in range(stations)]
    out += [Device(f"LB31{i:06d}", None, i) for i in range(stations, devices)]
    return out


def write_inputs(folder: Path, devs: list[Device]) -> tuple[Path, Path]:
    """The station table (demo evaluation stations + grid micro-sensors) and the HJ 212 device registry."""
    import pandas as pd

    from qingshan.synth import DEMO_STATIONS

    codes = [d.station for d in devs if d.station is not None]
    st = DEMO_STATIONS[DEMO_STATIONS["code"].isin(codes)].copy()
    grid = [c for c in codes if c not in set(st["code"])]
    g = pd.DataFrame({"code": grid, "name": [f"微站{c}" for c in grid], "city": st["city"].iloc[0] if len(st) else "示范市",
                      "district": "天宁区", "lon": [119.9 + (i % 100) * 0.002 for i in range(len(grid))],
                      "lat": [31.7 + (i // 100) * 0.002 for i in range(len(grid))], "is_control": False, "town": None,
                      "network": "网格微站"})
    table = pd.concat([st, g], ignore_index=True)
    table["is_control"] = table["is_control"].map({True: "Y", False: "N"})
    stations = folder / "stations.csv"
    table.to_csv(stations, index=False)
    reg = pd.DataFrame({"mn": [d.mn for d in devs], "password": "123456",
                        "station": [d.station or "" for d in devs],
                        "enterprise": ["" if d.station else f"企业{d.index % 500:03d}" for d in devs],
                        "st": ["22" if d.station else "31" for d in devs],
                        "min_interval": [1 if d.station else "" for d in devs]})
    registry = folder / "devices.csv"
    reg.to_csv(registry, index=False)
    return stations, registry


def probe_pm25(minute: int) -> float:
    """A probe station's PM2.5 in the ``minute``-th minute (1…60) of an hour: a ramp, so that the hourly mean moves
    by 2.5 µg/m³ with every minute that arrives."""
    return 10.0 + 5.0 * minute


def probe_mean(minutes: int) -> float:
    """The mean of the first ``minutes`` probe values (what the hour shows once they are in)."""
    return sum(probe_pm25(m) for m in range(1, minutes + 1)) / minutes


def packet(dev: Device, start: datetime) -> tuple[str, bytes]:
    """The CN 2051 packet of ``dev`` for the minute starting at ``start`` (QN, packet)."""
    qn = start.strftime("%Y%m%d%H%M%S") + f"{dev.index % 1000:03d}"
    dt = (("DataTime", start.strftime("%Y%m%d%H%M%S")),)
    m = start.minute + 1
    k = dev.index
    if dev.station is not None:
        pm25 = probe_pm25(m) if k < PROBES else 20 + (k * 7 + m * 3) % 40
        # values that move from minute to minute (a constant one would raise the receiver's "flat" alarm)
        vals = {"so2": 6 + (k + m) % 5, "no2": 20 + (k + m) % 15, "co": 0.5 + (k + m) % 7 / 20,
                "o3": 50 + (k + 2 * m) % 30, "pm10": round(pm25 * 1.6, 1), "pm25": pm25}
        cp = [dt] + [((f"{c}-Avg", f"{vals[q]:g}"), (f"{c}-Flag", "N")) for q, c in AIR.items()]
        cp += [((f"{c}-Avg", f"{float(v) + (k + m) % 9 / 10:g}"), (f"{c}-Flag", "N")) for c, v in MET.items()]
        st = "22"
    else:
        cp = [dt] + [((f"{c}-Avg", f"{10 + (k + i + m) % 20}"), (f"{c}-Flag", "N")) for i, c in enumerate(OUTLET)]
        st = "31"
    return qn, build(Packet.make(st=st, cn="2051", pw="123456", mn=dev.mn, qn=qn, flag=5, cp=cp), verify=False)


# --- the platform process ----------------------------------------------------------------------------------------


def _cpu_s(pid: int) -> float:
    try:
        f = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        return (int(f[11]) + int(f[12])) / os.sysconf("SC_CLK_TCK")
    except (OSError, IndexError):
        return 0.0


def _rss_mib(pid: int) -> tuple[float, float]:
    out = {"VmRSS": 0.0, "VmHWM": 0.0}
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            k = line.split(":")[0]
            if k in out:
                out[k] = int(line.split()[1]) / 1024
    except OSError:
        pass
    return out["VmRSS"], out["VmHWM"]


def _all_cpu_s() -> float:
    """CPU seconds of the whole machine (all processes), from /proc/stat."""
    f = Path("/proc/stat").read_text().splitlines()[0].split()[1:]
    return (int(f[0]) + int(f[1]) + int(f[2]) + int(f[5]) + int(f[6])) / os.sysconf("SC_CLK_TCK")


@dataclass
class Serve:
    proc: subprocess.Popen
    url: str
    hj212_port: int
    log: Path


def start_serve(ws: Path, registry: Path) -> Serve:
    from qingshan.platform.lock import read_running

    log = ws.parent / "serve.log"
    out = open(log, "wb")
    proc = subprocess.Popen([sys.executable, "-m", "qingshan.cli", "--workspace", str(ws), "serve", "--port", "0",
                             "--hj212-port", "0", "--hj212-host", HOST, "--devices", str(registry)],
                            stdout=out, stderr=subprocess.STDOUT, env={**os.environ, "PYTHONPATH": str(ROOT / "src")})
    out.close()
    deadline = time.monotonic() + START_TIMEOUT
    try:
        while True:
            if proc.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError("平台未启动：" + log.read_text(encoding="utf-8", errors="replace")[-3000:])
            try:
                running = read_running(ws)
            except Exception:  # starting: the port is not written yet
                running = None
            hj_port = None
            if running is not None and running.pid == proc.pid:
                hj_port = json.loads((ws / "platform.lock").read_text(encoding="utf-8")).get("hj212_port")
            if running is not None and hj_port:
                try:
                    with urllib.request.urlopen(running.url + "/api/v1/health", timeout=5) as r:
                        if r.status == 200:
                            return Serve(proc, running.url.rstrip("/"), int(hj_port), log)
                except OSError:
                    pass
            time.sleep(0.2)
    except BaseException:
        proc.kill()
        proc.wait()
        raise


def _start_profiler(pid: int, out: Path) -> subprocess.Popen:
    spy = shutil.which("py-spy")
    cmd = [spy] if spy else ["uvx", "py-spy"]
    out.parent.mkdir(parents=True, exist_ok=True)
    return subprocess.Popen([*cmd, "record", "--pid", str(pid), "--format", "raw", "--rate", "50", "--nonblocking", "--function",
                             "--threads", "-o", str(out)], stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)


def _stop_profiler(spy: subprocess.Popen, out: Path) -> dict[str, Any]:
    """Stop ``py-spy record`` (SIGINT: it writes its file) and summarise: the top functions by own samples and by
    samples including callees."""
    spy.send_signal(signal.SIGINT)
    try:
        spy.wait(timeout=60)
    except subprocess.TimeoutExpired:
        spy.kill()
        return {"file": str(out), "error": "py-spy did not stop"}
    return {"file": str(out), **profile_summary(out)}


def profile_summary(path: Path, top: int = 25) -> dict[str, Any]:
    """Own and inclusive sample shares per function of a collapsed-stacks file (``frame;frame;… count``)."""
    own: dict[str, int] = {}
    incl: dict[str, int] = {}
    total = 0
    try:
        lines = path.read_text(encoding="utf-8", errors="replace").splitlines()
    except OSError as e:
        return {"error": repr(e)}
    for line in lines:
        stack, _, n = line.rpartition(" ")
        if not n.isdigit():
            continue
        count = int(n)
        total += count
        frames = [f.strip() for f in stack.split(";") if f.strip()]
        frames = [f for f in frames if not f.startswith("thread ") and not f.startswith("process ")]
        if not frames:
            continue
        own[frames[-1]] = own.get(frames[-1], 0) + count
        for f in set(frames):
            incl[f] = incl.get(f, 0) + count

    def best(d: dict[str, int]) -> list[list[Any]]:
        return [[f, round(c / total, 3)] for f, c in sorted(d.items(), key=lambda kv: -kv[1])[:top]]

    return {"samples": total, "own": best(own), "inclusive": best(incl)}


# --- measurements --------------------------------------------------------------------------------------------------


def pct(values: list[float], q: float) -> float | None:
    if not values:
        return None
    v = sorted(values)
    return round(v[min(len(v) - 1, int(q * len(v)))], 3)


def dist(values: list[float]) -> dict[str, Any]:
    return {"n": len(values), "p50": pct(values, 0.5), "p95": pct(values, 0.95), "p99": pct(values, 0.99),
            "max": round(max(values), 3) if values else None}


@dataclass
class Run:
    send: SendResult = field(default_factory=SendResult)
    acked: list[tuple[str, str]] = field(default_factory=list)  # (mn, qn) of every acknowledged packet
    ack_ms: list[float] = field(default_factory=list)  # load phase only
    ingest_s: list[float] = field(default_factory=list)
    hour_close_s: list[float] = field(default_factory=list)
    overview_ms: list[float] = field(default_factory=list)
    overview_errors: int = 0
    overview_error_examples: list[str] = field(default_factory=list)
    sse_events: int = 0
    sse_errors: int = 0
    overview_at: list[float] = field(default_factory=list)  # seconds into the load of each overview answer
    behind_s: list[float] = field(default_factory=list)  # how late the senders were against their schedule


def _get_json(url: str, timeout: float = 30.0) -> Any:
    with urllib.request.urlopen(url, timeout=timeout) as r:
        return json.loads(r.read())


def _wait_overview(base: str, timeout: float) -> float:
    """Seconds until ``/api/v1/overview`` has an hour (200, not the 404 of an empty store); raises after
    ``timeout``."""
    t0 = time.monotonic()
    while True:
        try:
            _get_json(base + "/api/v1/overview")
            return time.monotonic() - t0
        except urllib.error.HTTPError as e:
            if e.code != 404 or time.monotonic() - t0 > timeout:
                raise
        time.sleep(0.2)


def _wait_probes(base: str, codes: list[str], hour_end: datetime, expected: float, timeout: float) -> float:
    """Seconds until every probe station's hour ``hour_end`` shows ``expected`` (the warm-up's minutes are all
    loaded and aggregated); raises after ``timeout``."""
    t0 = time.monotonic()
    waiting = list(codes)
    while waiting:
        waiting = [c for c in waiting if (_probe_value(base, c, hour_end) or 0.0) < expected - 0.3]
        if waiting and time.monotonic() - t0 > timeout:
            raise TimeoutError(f"the warm-up's hour of {waiting} was not complete after {timeout:.0f} s")
        if waiting:
            time.sleep(0.25)
    return time.monotonic() - t0


def _pollers(base: str, clients: int, every: float, stop, results) -> None:
    """``clients`` threads polling ``GET /api/v1/overview`` every ``every`` seconds until ``stop`` is set; the
    response times (request sent → last byte read; the client's JSON parsing is not the server's time) go to
    ``results``. Runs in a process of its own (:func:`start_pollers`): in the simulator's process the 20,000
    devices' Python work held the GIL the clients' reads needed, and counted in the overview's times."""
    import threading

    lock = threading.Lock()
    out: dict[str, Any] = {"ms": [], "at": [], "errors": 0, "examples": []}
    t00 = time.monotonic()

    def one() -> None:
        while not stop.is_set():
            t0 = time.perf_counter()
            try:
                with urllib.request.urlopen(base + "/api/v1/overview", timeout=60) as r:
                    body = r.read()
                ms = (time.perf_counter() - t0) * 1000
                json.loads(body)  # a complete, valid answer (not timed)
                with lock:
                    out["ms"].append(ms)
                    out["at"].append(round(time.monotonic() - t00, 2))
            except Exception as e:
                with lock:
                    out["errors"] += 1
                    if len(out["examples"]) < 5:
                        out["examples"].append(repr(e)[:200])
            stop.wait(every)

    threads = [threading.Thread(target=one, daemon=True) for _ in range(clients)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    results.put(out)


def start_pollers(base: str, clients: int, every: float):
    """The overview pollers in their own process: ``(stop, finish)``; ``finish()`` stops them and returns what
    :func:`_pollers` measured."""
    import multiprocessing

    if str(HERE) not in sys.path:  # the child imports this module by name (also when a test loaded it by path)
        sys.path.insert(0, str(HERE))
    ctx = multiprocessing.get_context("spawn")
    stop, results = ctx.Event(), ctx.Queue()
    proc = ctx.Process(target=_pollers, args=(base, clients, every, stop, results), daemon=True)
    proc.start()

    def finish() -> dict[str, Any]:
        stop.set()
        out = results.get(timeout=120)
        proc.join(30)
        return out

    return finish


async def _sse(host: str, port: int, run: Run, stop: asyncio.Event) -> None:
    """Hold ``GET /api/v1/events`` open and count the ``state`` events."""
    try:
        reader, writer = await asyncio.open_connection(host, port)
        writer.write(f"GET /api/v1/events HTTP/1.1\r\nHost: {host}\r\nAccept: text/event-stream\r\n\r\n".encode())
        while not stop.is_set():
            line = await asyncio.wait_for(reader.readline(), timeout=60)
            if not line:
                run.sse_errors += 1
                break
            if line.startswith(b"event: state"):
                run.sse_events += 1
        writer.close()
    except (OSError, asyncio.TimeoutError):
        run.sse_errors += 1


def _probe_value(base: str, code: str, hour_end: datetime) -> float | None:
    day = (hour_end - timedelta(hours=1)).date().isoformat()
    data = _get_json(f"{base}/api/v1/air/stations/{code}/series?start={day}&end={day}&pollutant=pm25")
    want = hour_end.isoformat()
    for h in data.get("hours", []):
        if h["time"].startswith(want[:16]):
            return h.get("pm25")
    return None


async def _probe(base: str, code: str, hour_end: datetime, expected: float, acked_at: float, out: list[float],
                 deadline: float) -> None:
    """Poll the station series until the hour shows (at least) ``expected``; the lag from ``acked_at``."""
    while time.monotonic() < deadline:
        try:
            v = await asyncio.to_thread(_probe_value, base, code, hour_end)
        except Exception:
            v = None
        if v is not None and v >= expected - 0.3:
            out.append(time.monotonic() - acked_at)
            return
        await asyncio.sleep(0.25)


# --- phases -----------------------------------------------------------------------------------------------------


def _links(serve: Serve, n_devices: int, per_connection: int, sources: int, timeout: float) -> list[Link]:
    n = max(1, -(-n_devices // per_connection))
    return [Link(HOST, serve.hj212_port, source=f"127.0.0.{1 + i % sources}", timeout=timeout) for i in range(n)]


async def warm_up(serve: Serve, stations: list[Device], hour_start: datetime, minutes: int, links: list[Link],
                  per_connection: int, run: Run) -> float:
    t0 = time.perf_counter()

    async def one(d: Device) -> None:
        link = links[d.index // per_connection]
        for m in range(minutes):
            qn, pkt = packet(d, hour_start + timedelta(minutes=m))
            if await deliver(link, d.mn, pkt, run.send) in ("9014", "9013"):
                run.acked.append((d.mn, qn))

    await asyncio.gather(*(one(d) for d in stations))
    return time.perf_counter() - t0


async def load(serve: Serve, devs: list[Device], hour_start: datetime, first_minute: int, minutes: int,
               minute_s: float, links: list[Link], per_connection: int, run: Run, clients: int, poll: float) -> dict:
    host, port = serve.url.split("//")[1].split(":")
    stop = asyncio.Event()
    watchers = [asyncio.create_task(_sse(host, int(port), run, stop)) for _ in range(clients // 2)]
    finish_polling = start_pollers(serve.url, clients - clients // 2, poll)
    probes: list[asyncio.Task[None]] = []
    hour_end = hour_start + timedelta(hours=1)
    t0 = time.monotonic() + 1.0
    n = len(devs)

    async def one(d: Device) -> None:
        link = links[d.index // per_connection]
        offset = d.index / n * minute_s
        for k in range(minutes):
            due = t0 + offset + k * minute_s
            wait = due - time.monotonic()
            if wait > 0:
                await asyncio.sleep(wait)
            else:
                run.behind_s.append(-wait)
            m = first_minute + k  # minutes since hour_start
            qn, pkt = packet(d, hour_start + timedelta(minutes=m))
            sent = time.monotonic()
            if await deliver(link, d.mn, pkt, run.send) not in ("9014", "9013"):
                continue
            acked = time.monotonic()
            run.ack_ms.append((acked - sent) * 1000)
            run.acked.append((d.mn, qn))
            if d.station is not None and d.index < PROBES and 45 <= m + 1 <= 60:
                out = run.hour_close_s if m + 1 == 60 else run.ingest_s
                probes.append(asyncio.create_task(_probe(serve.url, d.station, hour_end, probe_mean(m + 1), acked,
                                                         out, acked + 120)))

    async def progress() -> None:
        while True:
            await asyncio.sleep(30)
            print(f"  {time.monotonic() - w0:5.0f} s: acknowledged {len(run.acked)}, ingest lag samples "
                  f"{len(run.ingest_s)}", flush=True)

    cpu0, all0, w0 = _cpu_s(serve.proc.pid), _all_cpu_s(), time.monotonic()
    ticker = asyncio.create_task(progress())
    await asyncio.gather(*(one(d) for d in devs))
    ticker.cancel()
    wall = time.monotonic() - w0
    cpu, all_cpu = _cpu_s(serve.proc.pid) - cpu0, _all_cpu_s() - all0
    rss, _ = _rss_mib(serve.proc.pid)
    polled = await asyncio.to_thread(finish_polling)
    run.overview_ms, run.overview_at = polled["ms"], polled["at"]
    run.overview_errors, run.overview_error_examples = polled["errors"], polled["examples"]
    if probes:
        await asyncio.gather(*probes)
    stop.set()
    for t in watchers:
        t.cancel()
    await asyncio.gather(*watchers, return_exceptions=True)
    return {"wall_s": round(wall, 1), "serve_cpu_s": round(cpu, 1), "serve_cpu_share_of_one_core": round(cpu / wall, 2),
            "machine_cpu_s": round(all_cpu, 1), "rss_end_mib": round(rss, 1)}


def count_store(ws: Path) -> dict[str, Any]:
    import duckdb

    with duckdb.connect(str(ws / "measurements.duckdb"), read_only=True) as con:
        rows = con.execute("SELECT mn, qn FROM hj212_packets WHERE cn = '2051'").fetchall()
        hours = con.execute("SELECT count(*), count(DISTINCT (station, hi)) FROM air_hourly").fetchone()
    return {"rows": rows, "air_hours": hours}


def feed_phase(ws: Path, repeat: int = 3) -> dict[str, Any]:
    """The feed's work for the closed hour of every station, timed in this process on the bench's workspace: from
    the feed's copy of the recent rows (``hj212_feed_rows``, now) and from ``source_data`` (the query every feed
    ran before the copy existed; forced by moving the copy's horizon past the hour).  Median of ``repeat`` runs."""
    from qingshan.feeds.quality import feed_pending
    from qingshan.store.workspace import Workspace

    out: dict[str, Any] = {}
    with Workspace(ws) as w:
        con = w.con
        # the hour that closed during the run: the one with most rows (every station, all its minutes)
        last = con.execute("SELECT feed_hi FROM hj212_feed_rows GROUP BY feed_hi ORDER BY count(*) DESC, feed_hi "
                           "LIMIT 1").fetchone()
        last = None if last is None else last[0]
        if last is None:
            return {"skipped": "no station rows"}
        out["source_data_rows"] = con.execute("SELECT count(*) FROM source_data").fetchone()[0]
        out["copy_rows"] = con.execute("SELECT count(*) FROM hj212_feed_rows").fetchone()[0]
        (horizon,) = con.execute("SELECT complete_from FROM hj212_feed_horizon").fetchone()
        for label, complete_from in (("copy", horizon), ("source_data", int(last) + 1)):
            con.execute("UPDATE hj212_feed_horizon SET complete_from = ?", [complete_from])
            times, hours = [], 0
            for _ in range(repeat):
                con.execute("INSERT INTO hj212_feed_pending SELECT DISTINCT mn, feed_hi FROM hj212_feed_rows "
                            "WHERE feed_hi = ? ON CONFLICT DO NOTHING", [last])
                t0 = time.perf_counter()
                res = feed_pending(con)
                times.append(time.perf_counter() - t0)
                hours = res.station_hours
            out[label] = {"station_hours": hours, "rows_read": res.rows_read, "seconds_median": round(sorted(times)[len(times) // 2], 3),
                          "seconds": [round(t, 3) for t in times]}
        con.execute("UPDATE hj212_feed_horizon SET complete_from = ?", [horizon])
    return out


def run_bench(devices: int = 20_000, stations: int = 2_000, minutes: int = 6, minute_s: float = 60.0,
              per_connection: int = 100, sources: int = 8, clients: int = 20, poll: float = 2.0,
              timeout: float = 10.0, workspace: Path | None = None, feed: bool = True,
              stop_timeout: float = 900.0, profile: Path | None = None) -> dict[str, Any]:
    """The whole benchmark; returns the report (see the module docstring).  ``profile``: sample the serve process
    with ``py-spy record`` (not a project dependency: found on PATH or run through ``uvx``) from the warm-up to the
    end of the load phase, collapsed stacks written to that file."""
    from qingshan.ingest import import_files
    from qingshan.store.workspace import Workspace

    folder = Path(tempfile.mkdtemp(prefix="live-bench-", dir=workspace))
    ws = folder / "ws"
    devs = device_list(devices, stations)
    station_devs = [d for d in devs if d.station is not None]
    stations_csv, registry = write_inputs(folder, devs)
    with Workspace(ws) as w:
        import_files(w, "stations", [stations_csv])
    # the hour H: two hours before now (Beijing), so the data are recent; the warm-up sends its first minutes
    now = datetime.now(ZoneInfo("Asia/Shanghai")).replace(tzinfo=None)
    hour_start = now.replace(minute=0, second=0, microsecond=0) - timedelta(hours=2)
    warm = max(0, 60 - -(-2 * minutes // 3))  # the hour closes two thirds into the load phase
    run = Run()
    serve = start_serve(ws, registry)
    report: dict[str, Any] = {"devices": devices, "stations": stations, "outlets": devices - stations,
                              "minutes": minutes, "minute_seconds": minute_s,
                              "rate_packets_per_s": round(devices / minute_s, 1), "per_connection": per_connection,
                              "source_addresses": sources, "clients": clients, "hour": hour_start.isoformat(),
                              "warm_up_minutes": warm, "cpus": os.cpu_count(), "loadavg_before": os.getloadavg()}
    spy = _start_profiler(serve.proc.pid, profile) if profile is not None else None
    try:
        rss_idle, _ = _rss_mib(serve.proc.pid)

        async def main() -> dict:
            # the clients' blocking HTTP calls run in threads: enough of them that none waits for a thread
            asyncio.get_running_loop().set_default_executor(ThreadPoolExecutor(64))
            links = _links(serve, devices, per_connection, sources, timeout)
            try:
                print(f"warm-up: {len(station_devs)} stations × {warm} minutes …", flush=True)
                t = await warm_up(serve, station_devs, hour_start, warm, links, per_connection, run)
                # acknowledged is durable, not yet stored: the load phase starts once the warm-up's hour is on the
                # overview (the receiver loads its log and the feed aggregates behind the acknowledgements)
                visible = await asyncio.to_thread(_wait_overview, serve.url, 300.0)
                # and the load phase measures the steady state, not the digestion of the warm-up's backlog: it
                # starts once the probes' hour shows all the warm-up's minutes (the log is loaded and fed)
                probes = [d.station for d in station_devs if d.index < PROBES]
                digested = await asyncio.to_thread(_wait_probes, serve.url, probes, hour_start + timedelta(hours=1),
                                                   probe_mean(warm), 600.0) if warm >= 45 else None
                print(f"warm-up done in {t:.0f} s, on the overview after {visible:.0f} s, all in after "
                      f"{digested if digested is None else round(digested)} s; load …", flush=True)
                report["warm_up"] = {"packets": len(run.acked), "seconds": round(t, 1),
                                     "packets_per_s": round(len(run.acked) / t, 1) if t else None,
                                     "on_overview_s": round(visible, 1),
                                     "all_in_s": None if digested is None else round(digested, 1)}
                return await load(serve, devs, hour_start, warm, minutes, minute_s, links, per_connection, run,
                                  clients, poll)
            finally:
                await asyncio.gather(*(link.close() for link in links))

        report["load"] = asyncio.run(main())
        report["load"]["rss_idle_mib"] = round(rss_idle, 1)
        _, hwm = _rss_mib(serve.proc.pid)
        if spy is not None:
            report["profile"] = _stop_profiler(spy, profile)
        t_stop = time.perf_counter()
        serve.proc.send_signal(signal.SIGTERM)  # the receiver loads the rest of its log before the process ends
        try:
            serve.proc.wait(timeout=stop_timeout)
            report["stop_s"] = round(time.perf_counter() - t_stop, 1)
        except subprocess.TimeoutExpired:  # reported, not hidden: the store is counted as the kill leaves it
            report["stop_s"] = f"> {stop_timeout:g} (killed)"
    finally:
        if spy is not None and spy.poll() is None:
            spy.kill()
        if serve.proc.poll() is None:
            serve.proc.kill()
    stored = count_store(ws)
    acked = set(run.acked)
    rows = stored["rows"]
    keys = set(rows)
    report.update({
        "acked": len(run.acked), "acked_distinct": len(acked), "stored": len(rows), "stored_distinct": len(keys),
        "acked_not_stored": len(acked - keys), "stored_not_acked": len(keys - acked),
        "acked_equals_stored": len(acked) == len(run.acked) == len(rows) == len(keys) and acked == keys,
        "resent": run.send.resent, "failed": len(run.send.failed), "failed_examples": run.send.failed[:5],
        "air_hours_rows_distinct": list(stored["air_hours"]),
        "ack_latency_ms": dist(run.ack_ms), "ingest_lag_s": dist(run.ingest_s), "hour_close_s": dist(run.hour_close_s),
        "overview_ms": dist(run.overview_ms), "overview_errors": run.overview_errors,
        "overview_error_examples": run.overview_error_examples,
        "overview_slowest": sorted(zip(run.overview_ms, run.overview_at, strict=True), reverse=True)[:12],
        "sse_events": run.sse_events, "sse_errors": run.sse_errors, "sender_behind_s": dist(run.behind_s),
        "loadavg_after": os.getloadavg(),
    })
    report["load"]["rss_peak_mib"] = round(hwm, 1) if hwm else None
    if feed:
        report["feed"] = feed_phase(ws)
    shutil.rmtree(folder, ignore_errors=True)
    return report


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--devices", type=int, default=20_000)
    ap.add_argument("--stations", type=int, default=2_000, help="of the devices, environmental-quality stations")
    ap.add_argument("--minutes", type=int, default=6, help="simulated minutes of the load phase")
    ap.add_argument("--minute-seconds", type=float, default=60.0, help="real seconds of a simulated minute")
    ap.add_argument("--per-connection", type=int, default=100, help="devices sharing one TCP connection")
    ap.add_argument("--sources", type=int, default=8, help="source addresses 127.0.0.1…")
    ap.add_argument("--clients", type=int, default=20, help="console clients (half SSE, half polling)")
    ap.add_argument("--poll", type=float, default=2.0, help="seconds between a polling client's requests")
    ap.add_argument("--out", type=Path, default=OUT / "live_bench.json")
    ap.add_argument("--profile", type=Path, default=None,
                    help="sample the serve process with py-spy into this collapsed-stacks file")
    a = ap.parse_args()
    OUT.mkdir(exist_ok=True)
    print(f"{a.devices} devices ({a.stations} stations), {a.minutes} × {a.minute_seconds:g} s …", flush=True)
    res = run_bench(a.devices, a.stations, a.minutes, a.minute_seconds, a.per_connection, a.sources, a.clients,
                    a.poll, profile=a.profile)
    res["started"] = datetime.now().isoformat(timespec="seconds")
    a.out.write_text(json.dumps(res, ensure_ascii=False, indent=2))
    print(json.dumps(res, ensure_ascii=False, indent=1))
    print(f"→ {a.out}")


if __name__ == "__main__":
    main()
