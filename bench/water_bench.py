"""Water-class benchmark: GB 3838 single-factor class of N generated samples (default 10 M) with all 23 classed
items, through the vectorised kernel (``classify_arrays``, the engine's hot path) — and, in the same run, through a
plain per-row Python implementation (a dict of limits and a loop per item, as one would write it without numpy) on a
slice of the same rows, whose results must be identical.

Usage: ``python bench/water_bench.py [--rows 10000000] [--python-rows 200000] [--seed 1]``.
Results: ``bench/out/water_bench.json`` (rows/s of each, the ratio, peak memory).
"""

from __future__ import annotations

import argparse
import json
import math
import resource
import sys
import time
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent / "src"))

from qingshan.standards.water_class import CLASSED_ITEMS, ITEMS, classify_arrays, factor_text  # noqa: E402


def generate(n: int, seed: int) -> tuple[dict[str, np.ndarray], np.ndarray]:
    """Plausible monitoring values: per item, 85 % log-uniform between a fifth of the class-Ⅰ limit and the class-Ⅲ
    limit, 14 % between the Ⅲ and Ⅴ limits, 1 % up to twice the Ⅴ limit (pH 6–9 with 1 % outside, DO 2–10 with
    1 % below 2); 5 % missing per item; 10 % lake samples."""
    rng = np.random.default_rng(seed)
    values: dict[str, np.ndarray] = {}
    for code in CLASSED_ITEMS:
        item = ITEMS[code]
        u = rng.random(n)
        if code == "ph":
            v = np.where(u < 0.99, rng.uniform(6.0, 9.0, n), rng.uniform(4.0, 11.0, n))
        elif code == "do":
            v = np.where(u < 0.99, rng.uniform(2.0, 10.0, n), rng.uniform(0.2, 2.0, n))
        else:
            lim = item.limits
            lo, mid, top, hi = (math.log(x) for x in (lim[0] / 5, lim[2], lim[4], lim[4] * 2))
            x = rng.random(n)
            v = np.exp(np.where(u < 0.85, lo + (mid - lo) * x, np.where(u < 0.99, mid + (top - mid) * x, top + (hi - top) * x)))
        v[rng.random(n) < 0.05] = np.nan
        values[code] = v
    return values, rng.random(n) < 0.10


# --- the plain per-row peer ------------------------------------------------------------------------------------

LIMITS = {c: (ITEMS[c].kind, ITEMS[c].limits, ITEMS[c].lake_limits, ITEMS[c].lake_only) for c in CLASSED_ITEMS}


def plain_row_class(row: dict[str, float], lake: bool) -> tuple[int, str]:
    worst, factors = 0, []
    for code, v in row.items():
        if v is None or v != v or v < 0:
            continue
        kind, limits, lake_limits, lake_only = LIMITS[code]
        if lake_only and not lake:
            continue
        if lake and lake_limits:
            limits = lake_limits
        if kind == "range":
            k = 1 if limits[0] * (1 - 1e-9) <= v <= limits[1] * (1 + 1e-9) else 6
        elif kind == "ge":
            k = next((i + 1 for i, lim in enumerate(limits) if v >= lim * (1 - 1e-9)), 6)
        else:
            k = next((i + 1 for i, lim in enumerate(limits) if v <= lim * (1 + 1e-9)), 6)
        if k > worst:
            worst, factors = k, [code]
        elif k == worst:
            factors.append(code)
    return worst, ",".join(factors)


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--rows", type=int, default=10_000_000)
    ap.add_argument("--python-rows", type=int, default=200_000)
    ap.add_argument("--seed", type=int, default=1)
    args = ap.parse_args()

    t0 = time.perf_counter()
    values, lake = generate(args.rows, args.seed)
    t_gen = time.perf_counter() - t0

    t0 = time.perf_counter()
    res = classify_arrays(values, lake)
    t_kernel = time.perf_counter() - t0
    t0 = time.perf_counter()
    texts = factor_text(res["factor_mask"])
    t_text = time.perf_counter() - t0

    m = min(args.python_rows, args.rows)
    rows = [{c: float(values[c][i]) for c in CLASSED_ITEMS} for i in range(m)]
    lk = lake[:m].tolist()
    t0 = time.perf_counter()
    plain = [plain_row_class(r, lake_flag) for r, lake_flag in zip(rows, lk)]
    t_plain = time.perf_counter() - t0
    same = all(k == int(res["class"][i]) and f == texts[i] for i, (k, f) in enumerate(plain))

    kernel_rate = args.rows / t_kernel
    plain_rate = m / t_plain
    counts = np.bincount(res["class"], minlength=7)
    out = {
        "rows": args.rows,
        "items": len(CLASSED_ITEMS),
        "generate_seconds": round(t_gen, 2),
        "kernel_seconds": round(t_kernel, 2),
        "kernel_rows_per_second": round(kernel_rate),
        "factor_text_seconds": round(t_text, 2),
        "kernel_plus_text_rows_per_second": round(args.rows / (t_kernel + t_text)),
        "plain_python_rows": m,
        "plain_python_seconds": round(t_plain, 2),
        "plain_python_rows_per_second": round(plain_rate),
        "ratio_kernel_vs_plain_python": round(kernel_rate / plain_rate, 1),
        "plain_python_identical": same,
        "class_counts": {k: int(counts[i + 1]) for i, k in enumerate(("I", "II", "III", "IV", "V", "劣V"))},
        "unclassed": int(counts[0]),
        "peak_gb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1e6, 2),
    }
    (HERE / "out").mkdir(exist_ok=True)
    (HERE / "out" / "water_bench.json").write_text(json.dumps(out, ensure_ascii=False, indent=1))
    print(json.dumps(out, ensure_ascii=False, indent=1))
    if not same:
        raise SystemExit("the kernel and the plain implementation disagree")


if __name__ == "__main__":
    main()
