"""Spark vs embedded engine on the same lake: the national year (2,000 stations × 8,760 h) and more years of it.

    python bench/spark_bench.py [--stations 2000] [--years 2014-2023 | --years 2023] [--master local-cluster[2,1,2048]]

Steps, each in its own process so that its wall time and peak memory are its own:

* ``lake`` — the years generated with bench/generate.py's model (same station network every year, a different
  year seed), bulk-loaded into a workspace and written with ``qingshan export lake`` (the real export);
* ``embedded`` — the annual HJ 663 evaluation (stations, cities) of each year by the embedded engine, reading the
  lake through DuckDB (:func:`qingshan.lake.lake_connection`);
* ``spark`` — the same evaluations by the Spark engine on a two-executor cluster (``local-cluster[2,1,MB]``: two
  executor JVMs with one core each, plus their Python workers; or ``--master spark://…``), session start reported
  apart; peak memory is the sum over the driver's whole process tree (driver JVM, executors, Python workers),
  sampled every 0.2 s. Per-task costs come from Spark's event log.
* the two tables are compared value by value (the equality is the point; timings mean nothing without it).

Results: ``bench/out/spark_bench.json``. docs/scale-out.md has the figures and the extrapolation.
"""

from __future__ import annotations

import argparse
import json
import resource
import shutil
import subprocess
import sys
import threading
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
sys.path.insert(0, str(HERE.parent / "src"))


def _peak_gb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1e6


def _years(text: str) -> list[int]:
    if "-" in text:
        a, b = (int(x) for x in text.split("-"))
        return list(range(a, b + 1))
    return [int(x) for x in text.split(",")]


# --- lake -----------------------------------------------------------------------------------------------------


def phase_lake(args) -> dict:
    from datetime import date

    import numpy as np
    import pyarrow as pa
    from generate import Model, make_network, write_stations

    from qingshan.evaluate.periods import day_index
    from qingshan.ingest import import_files
    from qingshan.lake import export_lake
    from qingshan.store.workspace import Workspace

    work = Path(args.work)
    ws_path, lake = work / "spark-ws", work / "spark-lake"
    shutil.rmtree(ws_path, ignore_errors=True)
    shutil.rmtree(lake, ignore_errors=True)
    net = make_network(args.stations, np.random.default_rng([7, 1]))
    t0 = time.perf_counter()
    gen_s = 0.0
    with Workspace(ws_path) as ws:
        write_stations(net, work / "spark-stations.csv")
        import_files(ws, "stations", [work / "spark-stations.csv"])
        iid = ws.new_import("bench", "bench/generate.py", None)
        codes = np.array(net.codes, dtype=object)
        for year in _years(args.years):
            model = Model(net, year, 7)
            base = day_index(date(year, 1, 1)) * 24 + 1  # hi of hour index 0 (YEAR-01-01 01:00)
            step = 24 * 31
            for a in range(0, model.H, step):
                b = min(model.H, a + step)
                g = time.perf_counter()
                v = model.values(a, b)
                gen_s += time.perf_counter() - g
                T = b - a
                batch = pa.table({
                    "station": pa.array(np.tile(codes, T).astype(str)),
                    "hi": pa.array(np.repeat(np.arange(base + a, base + b, dtype=np.int64), len(codes))),
                    **{p: pa.array(v[p].ravel(), from_pandas=True) for p in ("so2", "no2", "co", "o3", "pm10", "pm25")},
                    "import_id": pa.array(np.full(T * len(codes), iid, dtype=np.int32)),
                })
                ws.upsert_air_hourly(batch)
        load_s = time.perf_counter() - t0
        t1 = time.perf_counter()
        m = export_lake(ws.con, lake, source="bench/spark_bench.py")
        export_s = time.perf_counter() - t1
    size = sum(f.stat().st_size for f in lake.rglob("*.parquet"))
    shutil.rmtree(ws_path, ignore_errors=True)
    h = m["tables"]["air_hourly"]
    return {"years": _years(args.years), "station_hours": h["rows"], "files": len(h["files"]), "lake_bytes": size,
            "generate_and_load_seconds": load_s, "model_seconds": gen_s, "export_seconds": export_s,
            "peak_gb": _peak_gb()}


# --- engines --------------------------------------------------------------------------------------------------


def phase_embedded(args) -> dict:
    from qingshan.evaluate.air import evaluate_period
    from qingshan.evaluate.periods import parse_period
    from qingshan.lake import lake_connection

    lake = Path(args.work) / "spark-lake"
    con = lake_connection(lake)
    per_year, tables = {}, []
    t0 = time.perf_counter()
    for y in _years(args.years):
        t = time.perf_counter()
        tab = evaluate_period(con, parse_period(str(y))).table
        per_year[y] = time.perf_counter() - t
        tables.append(tab.assign(year=y))
    seconds = time.perf_counter() - t0
    _save(tables, Path(args.work) / "spark-bench-embedded.parquet")
    return {"seconds": seconds, "per_year_seconds": per_year, "rows": int(sum(len(t) for t in tables)),
            "peak_gb": _peak_gb()}


class TreeMemory:
    """Peak of the summed RSS of this process and all its descendants (driver JVM, executors, Python workers)."""

    def __init__(self, interval: float = 0.2):
        import psutil

        self.proc, self.interval, self.peak, self._stop = psutil.Process(), interval, 0, threading.Event()
        self.thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        import psutil

        while not self._stop.is_set():
            total = 0
            for p in [self.proc, *self.proc.children(recursive=True)]:
                try:
                    total += p.memory_info().rss
                except psutil.Error:
                    pass
            self.peak = max(self.peak, total)
            self._stop.wait(self.interval)

    def __enter__(self):
        self.thread.start()
        return self

    def __exit__(self, *exc):
        self._stop.set()
        self.thread.join()


def phase_spark(args) -> dict:
    from qingshan.evaluate.periods import parse_period
    from qingshan.spark import spark_session
    from qingshan.spark.engine import SparkLake, evaluate_period_spark

    lake = Path(args.work) / "spark-lake"
    events = Path(args.work) / "spark-events"
    shutil.rmtree(events, ignore_errors=True)
    events.mkdir(parents=True)
    with TreeMemory() as mem:
        t0 = time.perf_counter()
        spark = spark_session(args.master, "qingshan-bench", conf={
            "spark.ui.enabled": "false", "spark.eventLog.enabled": "true", "spark.eventLog.compress": "false",
            "spark.eventLog.dir": events.as_uri(), "spark.sql.shuffle.partitions": "8",
            "spark.executor.memory": args.executor_memory,
        })
        spark.range(4).repartition(2).count()  # executors up and a Python-free job through them
        start_s = time.perf_counter() - t0
        per_year, tables = {}, []
        t1 = time.perf_counter()
        sl = SparkLake(spark, str(lake))
        for y in _years(args.years):
            t = time.perf_counter()
            tab = evaluate_period_spark(spark, sl, parse_period(str(y))).table
            per_year[y] = time.perf_counter() - t
            tables.append(tab.assign(year=y))
        seconds = time.perf_counter() - t1
        spark.stop()
    _save(tables, Path(args.work) / "spark-bench-spark.parquet")
    print(json.dumps({"seconds": seconds, "session_start_seconds": start_s, "peak_tree_gb": mem.peak / 1e9}),
          file=sys.stderr, flush=True)  # kept even if the event log cannot be read
    return {"session_start_seconds": start_s, "seconds": seconds, "per_year_seconds": per_year,
            "rows": int(sum(len(t) for t in tables)), "peak_tree_gb": mem.peak / 1e9, "driver_peak_gb": _peak_gb(),
            "tasks": _task_costs(events)}


def _task_costs(events: Path) -> dict:
    """Per-stage task statistics from the event log: the station-daily stage is the per-partition cost."""
    stages: dict[int, dict] = {}
    for f in events.rglob("events_*"):  # the event files (the directory also holds status and .crc files)
        for line in f.read_text(errors="replace").splitlines():
            if not line.strip():
                continue
            e = json.loads(line)
            if e.get("Event") == "SparkListenerStageCompleted":
                si = e["Stage Info"]
                stages.setdefault(si["Stage ID"], {}).update(
                    name=si["Stage Name"].split(" at ")[0], tasks=si["Number of Tasks"],
                    wall_s=(si["Completion Time"] - si["Submission Time"]) / 1000)
            elif e.get("Event") == "SparkListenerTaskEnd" and e.get("Task Metrics"):
                m, s = e["Task Metrics"], stages.setdefault(e["Stage ID"], {})
                s.setdefault("run_s", []).append(m["Executor Run Time"] / 1000)
                s.setdefault("cpu_s", []).append(m["Executor CPU Time"] / 1e9)
                s.setdefault("records_in", []).append(m.get("Input Metrics", {}).get("Records Read", 0)
                                                      + m.get("Shuffle Read Metrics", {}).get("Total Records Read", 0))
    out = []
    for sid in sorted(stages):
        s = stages[sid]
        run = s.get("run_s", [])
        out.append({"stage": sid, "name": s.get("name"), "tasks": s.get("tasks"), "wall_s": s.get("wall_s"),
                    "task_run_s_sum": sum(run), "task_run_s_max": max(run, default=0),
                    "task_cpu_s_sum": sum(s.get("cpu_s", [])), "records_in": sum(s.get("records_in", []))})
    return {"stages": out}


def _save(tables, path: Path) -> None:
    import pandas as pd

    pd.concat(tables, ignore_index=True).to_pickle(path.with_suffix(".pkl"))


def compare(work: Path) -> dict:
    import math

    import pandas as pd

    a = pd.read_pickle(work / "spark-bench-embedded.pkl")
    b = pd.read_pickle(work / "spark-bench-spark.pkl")
    key = ["year", "level", "code"]
    a, b = (t.sort_values(key).reset_index(drop=True) for t in (a, b))
    if list(a.columns) != list(b.columns) or a[key].astype(str).values.tolist() != b[key].astype(str).values.tolist():
        return {"equal": False, "reason": "rows or columns differ"}
    diffs = 0
    for c in a.columns:
        for x, y in zip(a[c].tolist(), b[c].tolist()):
            mx = x is None or (isinstance(x, float) and math.isnan(x))
            my = y is None or (isinstance(y, float) and math.isnan(y))
            if not (mx and my) and (mx or my or x != y):
                diffs += 1
    return {"equal": diffs == 0, "values_compared": int(a.size), "differences": diffs}


PHASES = {"lake": phase_lake, "embedded": phase_embedded, "spark": phase_spark}


def run_phase(name: str, argv: list[str]) -> dict:
    proc = subprocess.run([sys.executable, __file__, "--phase", name, *argv], capture_output=True, text=True)
    if proc.returncode:
        tail = proc.stderr.strip().splitlines()[-5:] if proc.stderr.strip() else [f"exit {proc.returncode}"]
        return {"error": "\n".join(tail)}
    return json.loads(proc.stdout.strip().splitlines()[-1])


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    ap.add_argument("--stations", type=int, default=2000)
    ap.add_argument("--years", default="2023", help="2023 | 2014-2023 | 2022,2023")
    ap.add_argument("--master", default="local-cluster[2,1,2048]")
    ap.add_argument("--executor-memory", default="1g")
    ap.add_argument("--work", default=str(HERE / "out"))
    ap.add_argument("--phase", choices=sorted(PHASES))
    ap.add_argument("--skip-lake", action="store_true", help="reuse the lake of a previous run")
    args = ap.parse_args(argv)
    if args.phase:
        print(json.dumps(PHASES[args.phase](args), ensure_ascii=False, default=float))
        return 0
    Path(args.work).mkdir(parents=True, exist_ok=True)
    passthru = ["--stations", str(args.stations), "--years", args.years, "--master", args.master,
                "--executor-memory", args.executor_memory, "--work", args.work]
    import os

    results = {"stations": args.stations, "years": _years(args.years), "master": args.master,
               "cpus": os.cpu_count(), "load_average_at_start": os.getloadavg()}
    for name in (() if args.skip_lake else ("lake",)) + ("embedded", "spark"):
        print(f"{name} …", flush=True)
        results[name] = run_phase(name, passthru)
        print(f"  {json.dumps(results[name], ensure_ascii=False, default=float)[:600]}", flush=True)
    if "error" not in results["embedded"] and "error" not in results["spark"]:
        results["equality"] = compare(Path(args.work))
    results["load_average_at_end"] = os.getloadavg()
    out = Path(args.work) / "spark_bench.json"
    out.write_text(json.dumps(results, ensure_ascii=False, indent=1, default=float))
    e, s = results["embedded"], results["spark"]
    print("\nsummary")
    if "lake" in results and "error" not in results["lake"]:
        lk = results["lake"]
        print(f"  lake: {lk['station_hours']} station-hours, {lk['lake_bytes'] / 1e6:.0f} MB Parquet, "
              f"export {lk['export_seconds']:.1f} s")
    print(f"  embedded: {e.get('seconds', float('nan')):.1f} s, peak {e.get('peak_gb', float('nan')):.2f} GB")
    print(f"  spark: {s.get('seconds', float('nan')):.1f} s (+ session {s.get('session_start_seconds', float('nan')):.1f} s), "
          f"peak of all processes {s.get('peak_tree_gb', float('nan')):.2f} GB")
    print(f"  equal: {results.get('equality')}")
    print(f"  → {out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
