"""Console latency under load: p50/p95 of the overview and air endpoints with 20 concurrent clients.

A workspace with a city-year of hourly data for 80 stations (the seeded generator of ``qingshan.synth``, stations
spread over one synthetic city) is built once, ``qingshan serve`` is started as its own process on loopback, and
a load generator (threads with keep-alive HTTP connections, bounded in time) requests each endpoint for a fixed
duration. The first request of each endpoint is timed separately (cold: evaluation not yet cached).

    python bench/console_bench.py [--stations 80] [--clients 20] [--seconds 15] [--out bench/out/console_bench.json]

Results go to the JSON file and the terminal; the issue note quotes them.
"""

from __future__ import annotations

import argparse
import http.client
import json
import os
import socket
import statistics
import subprocess
import sys
import threading
import time
from pathlib import Path
from urllib.parse import quote

import numpy as np
import pandas as pd

CITY = "基准市"
YEAR = 2023


def build_workspace(path: Path, n_stations: int) -> None:
    from qingshan.ingest import import_files
    from qingshan.store.workspace import Workspace
    from qingshan.synth import generate_hourly, to_long_csv

    if (path / "measurements.duckdb").exists():
        return
    path.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(80)
    stations = pd.DataFrame({
        "code": [f"B{i:03d}A" for i in range(n_stations)],
        "name": [f"站点{i:03d}" for i in range(n_stations)],
        "city": CITY,
        "district": [f"第{i % 8 + 1}区" for i in range(n_stations)],
        "lon": rng.uniform(119.6, 120.2, n_stations).round(4),
        "lat": rng.uniform(31.4, 32.0, n_stations).round(4),
        "is_control": [False] * n_stations,
    })
    csv_st = stations.copy()
    csv_st["is_control"] = "N"
    csv_st.to_csv(path / "stations.csv", index=False)
    to_long_csv(generate_hourly(stations, YEAR, seed=YEAR)).to_csv(path / "hourly.csv", index=False)
    with Workspace(path) as ws:
        import_files(ws, "stations", [path / "stations.csv"])
        import_files(ws, "long", [path / "hourly.csv"])
    (path / "hourly.csv").unlink()


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_ready(port: int, timeout: float = 60.0) -> None:
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        try:
            c = http.client.HTTPConnection("127.0.0.1", port, timeout=2)
            c.request("GET", "/api/v1/health")
            if c.getresponse().status == 200:
                return
        except OSError:
            time.sleep(0.2)
    raise RuntimeError("服务未在规定时间内启动")


def timed_get(conn: http.client.HTTPConnection, url: str) -> tuple[float, int]:
    t0 = time.perf_counter()
    conn.request("GET", url)
    r = conn.getresponse()
    r.read()
    return time.perf_counter() - t0, r.status


def load(port: int, url: str, clients: int, seconds: float) -> dict:
    latencies: list[float] = []
    errors = [0]
    lock = threading.Lock()
    stop = time.monotonic() + seconds

    def worker() -> None:
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
        mine: list[float] = []
        bad = 0
        while time.monotonic() < stop:
            dt, status = timed_get(conn, url)
            mine.append(dt)
            bad += status != 200
        conn.close()
        with lock:
            latencies.extend(mine)
            errors[0] += bad

    threads = [threading.Thread(target=worker) for _ in range(clients)]
    t0 = time.perf_counter()
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    wall = time.perf_counter() - t0
    ms = np.array(latencies) * 1000
    return {"url": url, "requests": len(ms), "errors": errors[0], "throughput_rps": round(len(ms) / wall, 1),
            "p50_ms": round(float(np.percentile(ms, 50)), 1), "p95_ms": round(float(np.percentile(ms, 95)), 1),
            "p99_ms": round(float(np.percentile(ms, 99)), 1), "mean_ms": round(statistics.fmean(ms), 1)}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--stations", type=int, default=80)
    ap.add_argument("--clients", type=int, default=20)
    ap.add_argument("--seconds", type=float, default=15.0)
    ap.add_argument("--workspace", type=Path, default=Path("/tmp/qingshan-console-bench"))
    ap.add_argument("--out", type=Path, default=Path(__file__).parent / "out" / "console_bench.json")
    args = ap.parse_args()

    t0 = time.perf_counter()
    build_workspace(args.workspace, args.stations)
    build_s = time.perf_counter() - t0
    port = free_port()
    env = {**os.environ, "PYTHONUNBUFFERED": "1"}
    server = subprocess.Popen([sys.executable, "-m", "qingshan.cli", "--workspace", str(args.workspace), "serve",
                               "--host", "127.0.0.1", "--port", str(port)], env=env)
    try:
        wait_ready(port)
        c = quote(CITY)
        urls = [f"/api/v1/overview?city={c}", f"/api/v1/air/stations?city={c}",
                "/api/v1/air/stations/B000A/series?start=2023-12-25&end=2023-12-31",
                f"/api/v1/air/evaluation?city={c}&period=2023-12&level=station"]
        results = []
        for url in urls:
            conn = http.client.HTTPConnection("127.0.0.1", port, timeout=120)
            cold, status = timed_get(conn, url)
            conn.close()
            if status != 200:
                raise RuntimeError(f"{url} → HTTP {status}")
            r = load(port, url, args.clients, args.seconds)
            r["cold_ms"] = round(cold * 1000, 1)
            results.append(r)
            print(json.dumps(r, ensure_ascii=False))
    finally:
        server.terminate()
        server.wait(timeout=30)
    out = {"stations": args.stations, "station_hours": args.stations * 8760, "clients": args.clients,
           "seconds_per_endpoint": args.seconds, "workspace_build_s": round(build_s, 1), "cpus": os.cpu_count(),
           "results": results}
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(out, ensure_ascii=False, indent=1), encoding="utf-8")
    print(f"写入 {args.out}")


if __name__ == "__main__":
    main()
