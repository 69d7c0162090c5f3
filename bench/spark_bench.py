"""Spark vs embedded engine on the same lake: the national year (2,000 stations × 8,760 h) and more years of it.

    nice -n 10 uv run --group dev python bench/spark_bench.py [--stations 2000] [--years 2023 | 2014-2023]
        [--master standalone | local-cluster[2,1,2048] | spark://HOST:PORT] [--skip-lake]
        [--copy-year-from LAKE] [--work DIR]

Steps, each in its own process so that its wall time and peak memory are its own (progress in WORK/<step>.log):

* ``lake`` — the years generated with bench/generate.py's model (same station network every year, a different
  year seed), bulk-loaded into a workspace and written with ``qingshan export lake`` (the real export; DuckDB's
  sort bounded by ``--duckdb-memory``). ``--copy-year-from LAKE`` writes the one year of an existing lake into
  every year instead (no model, no workspace: for many years);
* ``embedded`` — the annual HJ 663 evaluation (stations, cities) of each year by the embedded engine, reading the
  lake through DuckDB (:func:`qingshan.lake.lake_connection`); peak RSS of the process;
* ``spark`` — the same evaluations by the Spark engine on a two-executor cluster: ``standalone`` (default) starts
  a master and two workers on 127.0.0.1 as the tests do (tests/spark_cluster.py; one 1-core executor on each
  worker), ``local-cluster[2,1,MB]`` runs two executor JVMs under the driver, ``spark://…`` uses a running
  master. Cluster and session start are reported apart; the RSS of every process of the tree (driver Python,
  driver JVM, master and worker daemons, each executor JVM and the Python workers under it) is sampled every
  0.2 s and reported as peaks per process, per executor with its Python workers, and of the sum. The engine's
  step times per year come from its log, per-task costs from Spark's event log.
* the two tables are compared value by value (the equality is the point; timings mean nothing without it).

Results: ``WORK/spark_bench.json`` (default WORK bench/out). docs/scale-out.md has the figures and the
extrapolation.
"""

from __future__ import annotations

import argparse
import json
import logging
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
    if args.copy_year_from:
        return _export_copies(Path(args.copy_year_from), _years(args.years), lake, args.duckdb_memory)
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
            print(f"lake: {year} loaded at {time.perf_counter() - t0:.0f} s", file=sys.stderr, flush=True)
        load_s = time.perf_counter() - t0
        # bound DuckDB's sort (it spills to the workspace's temp directory): ten years must not take the machine
        ws.con.execute(f"SET memory_limit = '{args.duckdb_memory}'")
        t1 = time.perf_counter()
        m = export_lake(ws.con, lake, source="bench/spark_bench.py")
        export_s = time.perf_counter() - t1
    size = sum(f.stat().st_size for f in lake.rglob("*.parquet"))
    shutil.rmtree(ws_path, ignore_errors=True)
    h = m["tables"]["air_hourly"]
    return {"years": _years(args.years), "station_hours": h["rows"], "files": len(h["files"]), "lake_bytes": size,
            "generate_and_load_seconds": load_s, "model_seconds": gen_s, "export_seconds": export_s,
            "peak_gb": _peak_gb()}


def _export_copies(source: Path, years: list[int], lake: Path, memory: str) -> dict:
    """A lake of ``years``, each the one year of the lake ``source`` (same stations) shifted by whole days so that
    1 January stays 1 January (in a leap year the days after 28 February move one day earlier and 31 December has
    no data). Each year is written by :func:`qingshan.lake.export_lake` from DuckDB views over ``source`` (no
    workspace: the copy of ten national years is minutes, not hours), into its own ``year=`` partitions; the
    manifest describes the whole. The engines' work per year is the same as on a modelled year."""
    from datetime import date

    import duckdb

    from qingshan.evaluate.periods import day_date, day_index
    from qingshan.lake import HOURLY_DIR, STATIONS_FILE, export_lake, open_lake, write_manifest

    src = open_lake(source)
    t0 = time.perf_counter()
    glob = f"'{src.hourly_path}/**/*.parquet'"
    lake.mkdir(parents=True)
    for year in years:
        con = duckdb.connect()
        con.execute(f"SET memory_limit = '{memory}'")
        con.execute(f"CREATE VIEW stations AS SELECT * FROM read_parquet('{src.stations_path}')")
        (hi0,) = con.execute(f"SELECT min(hi) FROM read_parquet({glob}, hive_partitioning = false)").fetchone()
        y0 = day_date((hi0 - 1) // 24).year
        shift = (day_index(date(year, 1, 1)) - day_index(date(y0, 1, 1))) * 24
        con.execute(f"""CREATE VIEW air_hourly AS SELECT * REPLACE (hi + {shift} AS hi,
                            ts + INTERVAL ({shift}) HOUR AS ts)
                        FROM read_parquet({glob}, hive_partitioning = false)""")
        part = lake.parent / f"spark-lake-{year}"
        shutil.rmtree(part, ignore_errors=True)
        export_lake(con, part, source="bench/spark_bench.py --copy-year-from")
        for d in (part / HOURLY_DIR).iterdir():
            (lake / HOURLY_DIR).mkdir(exist_ok=True)
            d.rename(lake / HOURLY_DIR / d.name)
        if not (lake / STATIONS_FILE).exists():
            (lake / STATIONS_FILE).parent.mkdir(parents=True)
            (part / STATIONS_FILE).rename(lake / STATIONS_FILE)
        shutil.rmtree(part)
        con.close()
        print(f"lake: {year} (copy of {y0}) written at {time.perf_counter() - t0:.0f} s", file=sys.stderr, flush=True)
    m = write_manifest(duckdb.connect(), lake, source=f"bench/spark_bench.py --copy-year-from {source}")
    size = sum(f.stat().st_size for f in lake.rglob("*.parquet"))
    h = m["tables"]["air_hourly"]
    return {"years": years, "station_hours": h["rows"], "files": len(h["files"]), "lake_bytes": size,
            "generate_and_load_seconds": 0.0, "model_seconds": 0.0, "export_seconds": time.perf_counter() - t0,
            "copied_from": str(source), "peak_gb": _peak_gb()}


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
        print(json.dumps({"year": y, "seconds": per_year[y], "peak_gb_so_far": _peak_gb()}), file=sys.stderr,
              flush=True)
    seconds = time.perf_counter() - t0
    _save(tables, Path(args.work) / "spark-bench-embedded.parquet")
    return {"seconds": seconds, "per_year_seconds": per_year, "rows": int(sum(len(t) for t in tables)),
            "peak_gb": _peak_gb()}


def role_of(cmdline: list[str]) -> str:
    """What a process of the benchmark's tree is, from its command line."""
    text = " ".join(cmdline)
    if "CoarseGrainedExecutorBackend" in text:
        return "executor_jvm"
    if "deploy.master.Master" in text:
        return "master_jvm"
    if "deploy.worker.Worker" in text:
        return "worker_jvm"
    if "SparkSubmit" in text or "pyspark-shell" in text:
        return "driver_jvm"
    if "pyspark.daemon" in text or "pyspark.worker" in text or "pyspark/daemon" in text:
        return "python_worker"
    return "other"


class TreeMemory:
    """RSS of this process and all its descendants, sampled every ``interval`` s: the peak of the sum, and the peak
    of each process by role (driver Python, driver JVM, each executor JVM, the Python workers under each executor,
    the standalone master and worker daemons)."""

    def __init__(self, interval: float = 0.2):
        import psutil

        self.proc, self.interval, self.peak, self._stop = psutil.Process(), interval, 0, threading.Event()
        self.thread = threading.Thread(target=self._run, daemon=True)
        self.roles: dict[int, str] = {}
        self.parent: dict[int, int] = {}
        self.by_pid: dict[int, int] = {}  # peak RSS of each process
        self.groups: dict[str, int] = {}  # peak of the summed RSS of a group (e.g. executor 1 + its Python workers)

    def _role(self, p) -> str:
        if p.pid not in self.roles:
            try:
                self.roles[p.pid] = "driver_python" if p.pid == self.proc.pid else role_of(p.cmdline())
                self.parent[p.pid] = p.ppid()
            except Exception:  # noqa: BLE001 — the process ended between listing and reading
                return "other"
        return self.roles[p.pid]

    def _executor_of(self, pid: int) -> int | None:
        seen = 0
        while pid in self.parent and seen < 20:
            if self.roles.get(pid) == "executor_jvm":
                return pid
            pid, seen = self.parent[pid], seen + 1
        return None

    def _run(self) -> None:
        import psutil

        while not self._stop.is_set():
            total, groups = 0, {}
            for p in [self.proc, *self.proc.children(recursive=True)]:
                try:
                    rss = p.memory_info().rss
                except psutil.Error:
                    continue
                role = self._role(p)
                total += rss
                self.by_pid[p.pid] = max(self.by_pid.get(p.pid, 0), rss)
                groups[role] = groups.get(role, 0) + rss
                ex = self._executor_of(p.pid)
                if ex is not None:
                    key = f"executor_{ex}_with_python_workers"
                    groups[key] = groups.get(key, 0) + rss
            for k, v in groups.items():
                self.groups[k] = max(self.groups.get(k, 0), v)
            self.peak = max(self.peak, total)
            self._stop.wait(self.interval)

    def report(self) -> dict:
        gb = 1e9
        return {
            "peak_sum_gb": self.peak / gb,
            "peak_by_process_gb": sorted(({"pid": pid, "role": self.roles.get(pid, "other"), "peak_gb": v / gb}
                                          for pid, v in self.by_pid.items() if v > 50e6),
                                         key=lambda r: (r["role"], r["pid"])),
            "peak_of_group_sum_gb": {k: v / gb for k, v in sorted(self.groups.items())},
        }

    def __enter__(self):
        self.thread.start()
        return self

    def __exit__(self, *exc):
        self._stop.set()
        self.thread.join()


class StepLog(logging.Handler):
    """The engine's own step timings (``qingshan.spark`` logs "what: N s" at INFO)."""

    def __init__(self):
        super().__init__(logging.INFO)
        self.steps: list[tuple[str, float]] = []

    def emit(self, record: logging.LogRecord) -> None:
        what, _, secs = record.getMessage().rpartition(": ")
        try:
            self.steps.append((what, float(secs.split()[0])))
        except (ValueError, IndexError):
            pass

    def take(self) -> dict[str, float]:
        out: dict[str, float] = {}
        for what, secs in self.steps:
            out[what] = out.get(what, 0.0) + secs
        self.steps.clear()
        return out


def phase_spark(args) -> dict:
    from qingshan.evaluate.periods import parse_period
    from qingshan.spark import spark_session
    from qingshan.spark.engine import SparkLake, evaluate_period_spark

    lake = Path(args.work) / "spark-lake"
    events = Path(args.work) / "spark-events"
    shutil.rmtree(events, ignore_errors=True)
    events.mkdir(parents=True)
    steps = StepLog()
    logging.getLogger("qingshan.spark").addHandler(steps)
    logging.getLogger("qingshan.spark").setLevel(logging.INFO)
    cluster, conf = None, {}
    with TreeMemory() as mem:
        t0 = time.perf_counter()
        master = args.master
        if master == "standalone":  # a master and two workers on 127.0.0.1, as in the tests (separate JVMs)
            sys.path.insert(0, str(HERE.parent))
            from tests.spark_cluster import start_cluster

            cdir = Path(args.work) / "spark-cluster"
            shutil.rmtree(cdir, ignore_errors=True)
            cdir.mkdir(parents=True)
            cluster = start_cluster(cdir)
            master = cluster.master_url
            conf = {"spark.cores.max": "2", "spark.executor.cores": "1"}  # one 1-core executor on each worker
        cluster_s = time.perf_counter() - t0
        try:
            spark = spark_session(master, "qingshan-bench", conf={
                "spark.ui.enabled": "false", "spark.eventLog.enabled": "true", "spark.eventLog.compress": "false",
                "spark.eventLog.dir": events.as_uri(), "spark.sql.shuffle.partitions": "8",
                "spark.executor.memory": args.executor_memory, **conf,
            })
            if cluster is not None:
                from tests.spark_cluster import wait_executors

                wait_executors(spark, 2, cluster)
            spark.range(4).repartition(2).count()  # executors up and a Python-free job through them
            start_s = time.perf_counter() - t0
            per_year, year_steps, tables = {}, {}, []
            t1 = time.perf_counter()
            sl = SparkLake(spark, str(lake))
            for y in _years(args.years):
                t = time.perf_counter()
                tab = evaluate_period_spark(spark, sl, parse_period(str(y))).table
                per_year[y] = time.perf_counter() - t
                year_steps[y] = steps.take()
                tables.append(tab.assign(year=y))
                _save(tables, Path(args.work) / "spark-bench-spark.parquet")  # kept if the run is ended early
                print(json.dumps({"year": y, "seconds": per_year[y], "steps": year_steps[y],
                                  "elapsed_s": time.perf_counter() - t0, "peak_sum_gb_so_far": mem.peak / 1e9}),
                      file=sys.stderr, flush=True)
            seconds = time.perf_counter() - t1
            spark.stop()
        finally:
            if cluster is not None:
                cluster.stop()
    memory = mem.report()
    print(json.dumps({"seconds": seconds, "session_start_seconds": start_s, "memory": memory}),
          file=sys.stderr, flush=True)  # kept even if the event log cannot be read
    return {"cluster_start_seconds": cluster_s, "session_start_seconds": start_s, "seconds": seconds,
            "per_year_seconds": per_year, "per_year_steps": year_steps, "rows": int(sum(len(t) for t in tables)),
            "peak_tree_gb": memory["peak_sum_gb"], "memory": memory, "driver_peak_gb": _peak_gb(),
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


def run_phase(name: str, argv: list[str], work: Path) -> dict:
    """One phase in its own process; its progress lines go to WORK/<phase>.log (follow it with tail -f)."""
    log = work / f"{name}.log"
    with open(log, "w") as err:
        proc = subprocess.run([sys.executable, __file__, "--phase", name, *argv], stdout=subprocess.PIPE,
                              stderr=err, text=True)
    if proc.returncode:
        lines = log.read_text(errors="replace").strip().splitlines()
        return {"error": "\n".join(lines[-5:]) if lines else f"exit {proc.returncode}"}
    return json.loads(proc.stdout.strip().splitlines()[-1])


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    ap.add_argument("--stations", type=int, default=2000)
    ap.add_argument("--years", default="2023", help="2023 | 2014-2023 | 2022,2023")
    ap.add_argument("--master", default="standalone",
                    help="local-cluster[2,1,MB] | standalone (a master and two workers started on 127.0.0.1) | spark://…")
    ap.add_argument("--executor-memory", default="1g")
    ap.add_argument("--work", default=str(HERE / "out"))
    ap.add_argument("--duckdb-memory", default="6GB", help="DuckDB memory limit of the lake export (it spills beyond)")
    ap.add_argument("--phase", choices=sorted(PHASES))
    ap.add_argument("--copy-year-from", metavar="LAKE",
                    help="build the lake from the one year of LAKE copied into each of --years (no model run)")
    ap.add_argument("--skip-lake", action="store_true", help="reuse the lake of a previous run")
    args = ap.parse_args(argv)
    if args.phase:
        print(json.dumps(PHASES[args.phase](args), ensure_ascii=False, default=float))
        return 0
    Path(args.work).mkdir(parents=True, exist_ok=True)
    passthru = ["--stations", str(args.stations), "--years", args.years, "--master", args.master,
                "--executor-memory", args.executor_memory, "--work", args.work, "--duckdb-memory", args.duckdb_memory]
    if args.copy_year_from:
        passthru += ["--copy-year-from", args.copy_year_from]
    import os

    results = {"stations": args.stations, "years": _years(args.years), "master": args.master,
               "cpus": os.cpu_count(), "load_average_at_start": os.getloadavg()}
    for name in (() if args.skip_lake else ("lake",)) + ("embedded", "spark"):
        print(f"{name} …", flush=True)
        results[name] = run_phase(name, passthru, Path(args.work))
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
