"""Grid-sensor benchmark: the seed's scale (8 + 4 reference stations, 208 grid micro-sensors) over 30 days of hours.

Builds a throw-away workspace (synthetic, seeded: each sensor reads ``(ref − b)/a`` of its nearest reference with
its own a, b and noise; every tenth sensor drifts by +25 from day 20), then times:

* ``calibrate`` — ``qingshan.evaluate.calibration.calibrate`` of every sensor (linear, the first 14 days);
* ``drift`` — ``qingshan.evaluate.drift.drift_flags`` over the last 16 days;
* ``sensor_list`` — ``qingshan.web.data.grid.sensor_rows`` (what ``GET /api/v1/grid/sensors`` returns);
* ``series`` — one sensor's calibrated week (``sensor_series``).

Usage: ``uv run python bench/grid_bench.py [--sensors 208] [--days 30]``. Results: ``bench/out/grid_bench.json``.
"""

from __future__ import annotations

import argparse
import json
import tempfile
import time
from pathlib import Path

import numpy as np
import pandas as pd


def build(path: Path, n_sensors: int, days: int) -> dict:
    from qingshan.store.workspace import Workspace

    rng = np.random.default_rng(7)
    h0 = (pd.Timestamp("2025-01-01") - pd.Timestamp("1970-01-01")).days * 24 + 1
    hours = np.arange(h0, h0 + days * 24)
    k = np.arange(len(hours))
    refs = [(f"R{i:02d}", 119.8 + 0.1 * (i % 4), 31.6 + 0.1 * (i // 4)) for i in range(12)]
    stations, frames, truth = [], [], {}
    for code, lon, lat in refs:
        level = 35 + 15 * np.sin(2 * np.pi * (k + rng.integers(24)) / 24) + rng.normal(0, 2, len(k))
        truth[code] = level
        stations.append((code, "国控" if code < "R08" else "省控", lon, lat))
        frames.append(pd.DataFrame({"station": code, "hi": hours, "pm25": level}))
    drifting = 0
    for i in range(n_sensors):
        code, lon, lat = refs[i % len(refs)]
        s = f"G{i:03d}"
        a, b = rng.uniform(0.6, 0.9), rng.uniform(-5, 5)
        raw = (truth[code] - b) / a + rng.normal(0, 1.0, len(k))
        if i % 10 == 0:
            raw[20 * 24:] += 25
            drifting += 1
        stations.append((s, "网格微站", lon + rng.uniform(-0.03, 0.03), lat + rng.uniform(-0.03, 0.03)))
        frames.append(pd.DataFrame({"station": s, "hi": hours, "pm25": raw}))
    with Workspace(path) as w:
        w.con.executemany("INSERT INTO stations (code, name, city, lon, lat, is_control, network) "
                          "VALUES (?, ?, '测试市', ?, ?, FALSE, ?)",
                          [(c, c, lon, lat, net) for c, net, lon, lat in stations])
        hourly = pd.concat(frames, ignore_index=True)
        hourly["ts"] = pd.Timestamp("1970-01-01") + pd.to_timedelta(hourly["hi"], unit="h")
        w.con.register("_h", hourly)
        w.con.execute("INSERT INTO air_hourly (station, hi, ts, pm25, import_id) SELECT station, hi, ts, pm25, 1 FROM _h")
        w.con.unregister("_h")
    return {"h0": int(h0), "last": int(hours[-1]), "drifting": drifting, "rows": int(len(hourly))}


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--sensors", type=int, default=208)
    ap.add_argument("--days", type=int, default=30)
    args = ap.parse_args()
    from qingshan.evaluate.calibration import calibrate
    from qingshan.evaluate.drift import drift_flags
    from qingshan.store.workspace import Workspace
    from qingshan.web.data.grid import sensor_rows, sensor_series

    out: dict = {"sensors": args.sensors, "days": args.days}
    with tempfile.TemporaryDirectory() as tmp:
        info = build(Path(tmp) / "ws", args.sensors, args.days)
        out.update(info)
        with Workspace(Path(tmp) / "ws") as w:
            t = time.perf_counter()
            got = calibrate(w.con, last_hi=info["h0"] + 14 * 24 - 1)
            out["calibrate_s"] = round(time.perf_counter() - t, 2)
            out["accepted"] = sum(o.status == "accepted" for o in got)
            t = time.perf_counter()
            checks = drift_flags(w.con, since=info["h0"] + 14 * 24)
            out["drift_s"] = round(time.perf_counter() - t, 2)
            out["flagged"] = sum(c.flagged for c in checks)
            t = time.perf_counter()
            sensor_rows(w.con)
            out["sensor_list_s"] = round(time.perf_counter() - t, 2)
            t = time.perf_counter()
            sensor_series(w.con, "G001", True, None, None)
            out["series_s"] = round(time.perf_counter() - t, 3)
    dest = Path(__file__).parent / "out"
    dest.mkdir(exist_ok=True)
    (dest / "grid_bench.json").write_text(json.dumps(out, ensure_ascii=False, indent=1), encoding="utf-8")
    print(json.dumps(out, ensure_ascii=False, indent=1))


if __name__ == "__main__":
    main()
