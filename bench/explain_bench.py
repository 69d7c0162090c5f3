"""Time of the cause note (issue 14 Done-when 4: ≤ 2 s per answer): a year of 300 stations with meteorology.

    uv run python bench/explain_bench.py [--stations 300] [--days 365] [--queries 40] [--commands 8] [--keep DIR]
                                         [--baseline-src DIR]

Builds once, seeded, a workspace under a temporary folder (or ``--keep DIR``, reused when it is already there):
300 stations in 10 cities (30 each, within ~40 km), a year of hourly values with diurnal cycles, a shared regional
component and local noise; ``met_hourly`` for one station in five, spread over every city (the others use the
nearest one, as the note does); 20 HJ 212 outlets with coordinates and a year of hourly SO2 and particulates. Then it times random
station-hours two ways:

* in-process: :func:`qingshan.alerts.explain.explain` on an open connection (median, p95, max; wall and CPU);
* whole command: ``python -m qingshan --workspace W alerts explain --station S --at T --json`` in a new process
  (what a user waits for: start-up, opening the store, the note).

``--baseline-src DIR`` (a ``src`` folder of another revision, e.g. ``git archive <rev> src | tar -x -C /tmp/old``)
times the whole command alternately with that code and with this one, station-hour by station-hour, so that a
before/after comparison sees the same load. The load average is printed with the figures.

Not a test: timings depend on the machine (on a shared one, compare only figures taken side by side).
"""

from __future__ import annotations

import argparse
import math
import os
import random
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from collections import Counter
from datetime import datetime, timedelta
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent / "src"))
sys.path.insert(0, str(HERE.parent))

import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402

from qingshan.alerts.explain import explain, hour_index  # noqa: E402
from qingshan.store.workspace import DB_FILE  # noqa: E402
from tests.explain_fixtures import empty_store, load_frames  # noqa: E402

START = datetime(2024, 1, 1, 1)
SIX = ("so2", "no2", "co", "o3", "pm10", "pm25")


def ar1(rng: np.random.Generator, shape: tuple[int, int], phi: float, sigma: float) -> np.ndarray:
    """AR(1) along axis 0 for every column at once."""
    e = rng.normal(0, sigma, shape)
    out = np.empty(shape)
    out[0] = e[0] / math.sqrt(1 - phi * phi)
    for i in range(1, shape[0]):
        out[i] = phi * out[i - 1] + e[i]
    return out


def build(path: Path, n_stations: int, days: int, seed: int = 7) -> tuple[list[str], int, int]:
    """Write the workspace; returns (station codes, first hi, last hi)."""
    rng = np.random.default_rng(seed)
    n_hours = days * 24
    first = hour_index(START)
    hours = np.arange(first, first + n_hours)
    hod = hours % 24
    cities = 10
    centres = [(116 + 0.8 * (c % 5), 31 + 0.7 * (c // 5)) for c in range(cities)]
    codes = [f"B{i:04d}" for i in range(n_stations)]
    city_of = [i % cities for i in range(n_stations)]
    lon = np.array([centres[c][0] for c in city_of]) + rng.uniform(-0.2, 0.2, n_stations)
    lat = np.array([centres[c][1] for c in city_of]) + rng.uniform(-0.17, 0.17, n_stations)
    stations = pd.DataFrame({"code": codes, "name": [f"站{i}" for i in range(n_stations)],
                             "city": [f"城市{c}" for c in city_of], "district": None, "lon": lon, "lat": lat,
                             "is_control": False, "network": "国控"})
    t0 = time.perf_counter()
    regional = ar1(rng, (n_hours, cities), 0.97, 0.08)[:, city_of]
    local = ar1(rng, (n_hours, n_stations), 0.8, 0.08)
    night = (1 + 0.18 * np.cos((hod - 23) * math.pi / 12))[:, None]
    rush = (1 + 0.45 * np.exp(-((hod - 8) ** 2) / 3) + 0.4 * np.exp(-((hod - 19) ** 2) / 4))[:, None]
    sunlit = np.where((hod >= 8) & (hod <= 19), 1 + 0.9 * np.sin((hod - 8) * math.pi / 11), 0.45)[:, None]
    pm25 = 40 * np.exp(regional + local) * night
    values = {
        "pm25": pm25, "pm10": pm25 / 0.56 * np.exp(rng.normal(0, 0.05, pm25.shape)),
        "no2": 28 * rush * np.exp(0.5 * regional + local), "co": 0.6 * rush * np.exp(0.5 * regional + 0.5 * local),
        "so2": 9 * np.exp(0.3 * regional + local), "o3": 55 * sunlit * np.exp(local),
    }
    air = pd.DataFrame({"station": np.tile(np.array(codes, dtype=object), n_hours), "hi": np.repeat(hours, n_stations)})
    for p in SIX:  # time-major rows: DuckDB's zone maps then skip most of the table for an hour window
        air[p] = np.round(values[p].reshape(-1), 1 if p == "co" else 0)
    met_idx = np.array([i for i in range(n_stations) if (i // cities) % 5 == 0])  # 6 in every city
    wdir = (np.array([rng.uniform(0, 360) for _ in range(cities)])[None, :] + ar1(rng, (n_hours, cities), 0.95, 10))
    wdir = wdir[:, [city_of[i] for i in met_idx]] % 360
    wspd = np.clip(2.5 + ar1(rng, (n_hours, len(met_idx)), 0.9, 0.4), 0.2, None)
    rh = np.clip(60 + ar1(rng, (n_hours, len(met_idx)), 0.95, 4), 10, 100)
    met = pd.DataFrame({"station": np.tile(np.array([codes[i] for i in met_idx], dtype=object), n_hours),
                        "hi": np.repeat(hours, len(met_idx)), "temp": 15.0, "rh": np.round(rh.reshape(-1)),
                        "pressure": 1010.0, "wind_speed": np.round(wspd.reshape(-1), 1),
                        "wind_dir": np.round(wdir.reshape(-1))})
    outlets = pd.DataFrame({"mn": [f"MN{i:012d}" for i in range(20)], "enterprise": [f"企业{i}" for i in range(20)],
                            "outlet": "1号排口", "name": None, "limits": '{"a21026": 50.0, "a34013": 20.0}',
                            "lon": [centres[i % cities][0] + rng.uniform(-0.15, 0.15) for i in range(20)],
                            "lat": [centres[i % cities][1] + rng.uniform(-0.15, 0.15) for i in range(20)]})
    oh = []
    for mn in outlets["mn"]:
        for f, level in (("a21026", 30.0), ("a34013", 8.0)):
            oh.append(pd.DataFrame({"mn": mn, "hi": hours, "factor": f,
                                    "avg": np.round(level * np.exp(rng.normal(0, 0.2, n_hours)), 2)}))
    print(f"generated in {time.perf_counter() - t0:.1f} s: {len(air):,} air rows, {len(met):,} met rows, "
          f"{sum(len(x) for x in oh):,} outlet rows")
    t0 = time.perf_counter()
    path.mkdir(parents=True, exist_ok=True)
    con = empty_store(str(path / DB_FILE))
    load_frames(con, stations, air, met, outlets, pd.concat(oh, ignore_index=True))
    con.execute("CHECKPOINT")
    con.close()
    print(f"stored in {time.perf_counter() - t0:.1f} s: {(path / DB_FILE).stat().st_size / 1e6:.0f} MB")
    (path / "bench.txt").write_text(f"{n_stations} {days}\n", encoding="utf-8")
    return codes, first, first + n_hours - 1


def summary(xs: list[float]) -> str:
    xs = sorted(xs)
    p95 = xs[min(len(xs) - 1, math.ceil(0.95 * len(xs)) - 1)]
    return f"median {statistics.median(xs):.3f} s, p95 {p95:.3f} s, max {xs[-1]:.3f} s (n={len(xs)})"


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--stations", type=int, default=300)
    ap.add_argument("--days", type=int, default=365)
    ap.add_argument("--queries", type=int, default=40, help="in-process answers to time")
    ap.add_argument("--commands", type=int, default=8, help="whole commands to time")
    ap.add_argument("--keep", type=Path, help="workspace folder to build in (and reuse)")
    ap.add_argument("--baseline-src", type=Path, help="src folder of another revision to time the command against")
    args = ap.parse_args()
    tmp = None
    if args.keep:
        ws = args.keep
    else:
        tmp = tempfile.TemporaryDirectory(prefix="qingshan-explain-bench-")
        ws = Path(tmp.name)
    marker = ws / "bench.txt"
    if marker.exists() and marker.read_text().split() == [str(args.stations), str(args.days)]:
        codes = [f"B{i:04d}" for i in range(args.stations)]
        first = hour_index(START)
        last = first + args.days * 24 - 1
    else:
        codes, first, last = build(ws, args.stations, args.days)
    rnd = random.Random(11)
    picks = [(rnd.choice(codes), rnd.randint(first + 31 * 24, last)) for _ in range(args.queries + args.commands)]

    import duckdb

    con = duckdb.connect(str(ws / DB_FILE), read_only=True)
    wall, cpu, firsts = [], [], []
    for code, hi in picks[: args.queries]:
        at = START + timedelta(hours=hi - first)
        w0, c0 = time.perf_counter(), time.process_time()
        note = explain(con, code, at)
        wall.append(time.perf_counter() - w0)
        cpu.append(time.process_time() - c0)
        firsts.append(note.first)
    con.close()
    print(f"in-process explain(): wall {summary(wall)}; CPU {summary(cpu)}")
    env = {**os.environ, "QINGSHAN_LEDGER_URL": ""}
    codes_tried = {"this code": env}
    if args.baseline_src:
        codes_tried = {"baseline": {**env, "PYTHONPATH": str(args.baseline_src.resolve())}, "this code": env}
    timed: dict[str, tuple[list[float], list[float]]] = {k: ([], []) for k in codes_tried}
    loads = [os.getloadavg()[0]]
    for code, hi in picks[args.queries:]:
        at = (START + timedelta(hours=hi - first)).strftime("%Y-%m-%d %H:00")
        for name, run_env in codes_tried.items():
            before = resource.getrusage(resource.RUSAGE_CHILDREN)
            w0 = time.perf_counter()
            res = subprocess.run([sys.executable, "-m", "qingshan", "--workspace", str(ws), "alerts", "explain",
                                  "--station", code, "--at", at, "--json"], capture_output=True, text=True, env=run_env)
            timed[name][0].append(time.perf_counter() - w0)
            after = resource.getrusage(resource.RUSAGE_CHILDREN)
            timed[name][1].append(after.ru_utime - before.ru_utime + after.ru_stime - before.ru_stime)
            if res.returncode != 0:
                raise SystemExit(res.stderr)
        loads.append(os.getloadavg()[0])
    for name, (cmd_wall, cmd_cpu) in timed.items():
        print(f"whole command qingshan alerts explain --json ({name}): wall {summary(cmd_wall)}; CPU {summary(cmd_cpu)}")
    print(f"load average (1 min) while the commands ran: {min(loads):.1f}–{max(loads):.1f}")
    print("first causes of the in-process answers:", dict(Counter(firsts)))
    print(f"load average: {os.getloadavg()[0]:.1f} (1 min) on {os.cpu_count()} CPUs")
    if tmp:
        tmp.cleanup()


if __name__ == "__main__":
    main()
