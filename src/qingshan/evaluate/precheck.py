"""Automatic pre-checks of the hourly air data (数据审核·自动预审, docs/review.md#pre-checks).

The checks only **suggest**: they never change an evaluation. Each finding is a run of consecutive station-hours
of one check (a *suggestion*, keyed ``check:station:pollutants:hi_from-hi_to``); a reviewer confirms it (a review
mark, :func:`qingshan.store.review.record_mark`) or dismisses it. The data are the stored (raw) values; all checks
are vectorised over a station × hour grid (numpy / pandas rolling windows).

=============  ===========================================================================================
check          flags an hour when
=============  ===========================================================================================
``flag``       the HJ 212 data flag of the value (表8) is not ``N`` (F 停运, M 维护, S 手工输入, D 故障,
               C 校准, T 超测上限, B 通讯异常 …): read from ``source_data`` of registered stations
``negative``   the value is below zero
``stuck``      the same value repeats for at least ``stuck_hours`` consecutive hours (default 6) above a
               floor (:data:`STUCK_FLOOR`: 10 µg/m³, CO 2.0 mg/m³)
``pm_ratio``   PM2.5 > PM10 by more than the tolerance: ``pm25 > pm10 · (1 + pm_rel_tol) + pm_abs_tol``
               (default 10 % + 5 µg/m³)
``range``      the value lies above the instrument's measuring range (:data:`INSTRUMENT_RANGE`)
``jump``       the value departs from the median of the previous 24 hours by more than ``jump_k`` (8) robust
               standard deviations of those hours (IQR / 1.349) **and** by more than :data:`JUMP_MIN_STEP` from
               the previous hour (both directions)
=============  ===========================================================================================

Thresholds and their reasons:

* **stuck, 6 hours, above a floor.** An analyser that answers is never exactly constant at reporting precision for
  a quarter of a day unless the value is only a few reporting units above zero, where rounding makes runs of equal
  values ordinary: the floor (10 µg/m³; CO 2.0 mg/m³, i.e. 20 of its 0.1 mg/m³ units, because CO barely moves on
  calm nights) leaves those out. 6 h is short enough to catch a frozen data logger within the working day.
  Measured on the real Beijing multi-site data of 2016 (12 stations, 105,408 station-hours; docs/review.md#pre-checks):
  floors of 5 µg/m³ / 0.5 mg/m³ flag 472 runs (396 of them CO, 2,927 hours), the chosen floors 19 runs (131 hours).
  Our choice, configurable.
* **PM2.5 > PM10, 10 % + 5 µg/m³.** PM2.5 is a part of PM10, but the two are measured by separate monitors, each
  allowed about ±10 % (HJ 653 comparison criteria) and a few µg/m³ of zero noise; an excess inside that band is
  measurement noise, above it a fault (e.g. a wet PM2.5 inlet). Our choice, configurable.
* **instrument range.** The measuring ranges required of continuous monitors, converted to the store's units at
  the reference state of GB 3095-2012 (2018 amendment: 298.15 K, 1013.25 hPa; molar volume 24.465 L):
  SO₂, NO₂, O₃ 0–500 nmol/mol and CO 0–50 µmol/mol (HJ 654-2013), PM 0–1000 µg/m³ (HJ 653-2013). Values above
  them are possible (dust storms, fireworks) but outside the calibrated range, so they deserve a look. The figures
  are from our reading of the standards and are listed as an open question (docs/review.md#open-questions).
* **jump, k = 8 and the step floors.** The robust deviation adapts to each station's variability; the step
  floor (the grade-II 24-h limit of GB 3095-2012 for the pollutant, the 8-h limit for O₃, in one hour) keeps a
  quiet station's normal morning rise from being flagged. On the Beijing data of 2016, k = 6 gives 284 runs,
  k = 8 195 (about 16 per station-year, mostly PM at the onset of haze episodes). Our choice, configurable.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import duckdb
import numpy as np
import pandas as pd

from ..standards.pollutants import SIX
from ..store.review import confirmed, dismissed, hj212_flags, hourly_values

#: molar volume at 298.15 K and 101.325 kPa (L/mol): the reference state of GB 3095-2012 (2018 amendment)
MOLAR_VOLUME = 24.465
#: upper end of the instrument measuring range in the store's units (module docstring)
INSTRUMENT_RANGE: dict[str, float] = {
    "so2": round(500 * 64.06 / MOLAR_VOLUME),  # 500 nmol/mol → 1309 µg/m³
    "no2": round(500 * 46.01 / MOLAR_VOLUME),  # → 940 µg/m³
    "o3": round(500 * 48.00 / MOLAR_VOLUME),  # → 981 µg/m³
    "co": round(50 * 28.01 / MOLAR_VOLUME, 1),  # 50 µmol/mol → 57.2 mg/m³
    "pm10": 1000.0,
    "pm25": 1000.0,
}
#: values at or below these may repeat for hours (near the detection limit); the stuck check ignores them
STUCK_FLOOR: dict[str, float] = {"so2": 10, "no2": 10, "co": 2.0, "o3": 10, "pm10": 10, "pm25": 10}
#: the smallest hour-to-hour step the jump check flags (GB 3095-2012 grade-II 24-h limits; O₃: the 8-h limit)
JUMP_MIN_STEP: dict[str, float] = {"so2": 150, "no2": 80, "co": 4, "o3": 160, "pm10": 150, "pm25": 75}

CHECKS: dict[str, str] = {
    "flag": "数采仪标记非正常（HJ 212 数据标记不为 N）",
    "negative": "负值",
    "stuck": "数值恒定不变",
    "pm_ratio": "PM2.5 大于 PM10",
    "range": "超出仪器量程",
    "jump": "突变",
}
COLUMNS = ["key", "check", "check_label", "station", "pollutants", "hi_from", "hi_to", "hours", "value", "detail"]


@dataclass(frozen=True)
class PrecheckConfig:
    stuck_hours: int = 6
    pm_rel_tol: float = 0.10
    pm_abs_tol: float = 5.0
    jump_k: float = 8.0
    jump_window: int = 24
    instrument_range: dict[str, float] = field(default_factory=lambda: dict(INSTRUMENT_RANGE))
    stuck_floor: dict[str, float] = field(default_factory=lambda: dict(STUCK_FLOOR))
    jump_min_step: dict[str, float] = field(default_factory=lambda: dict(JUMP_MIN_STEP))


DEFAULT = PrecheckConfig()


def _grid(frame: pd.DataFrame, first_hi: int, last_hi: int) -> tuple[np.ndarray, dict[str, np.ndarray]]:
    """Station codes and one S × H array per pollutant (NaN = no value) over ``first_hi … last_hi``."""
    stations = np.array(sorted(frame["station"].astype(str).unique()), dtype=object)
    width = last_hi - first_hi + 1
    idx = pd.Index(stations).get_indexer(frame["station"].astype(str))
    flat = idx.astype(np.int64) * width + (frame["hi"].to_numpy(dtype=np.int64) - first_hi)
    grids = {}
    for p in SIX:
        g = np.full((len(stations), width), np.nan)
        g.ravel()[flat] = frame[p].to_numpy(dtype=float)
        grids[p] = g
    return stations, grids


def _runs(mask: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Row, first column and last column (inclusive) of every run of True along axis 1."""
    padded = np.zeros((mask.shape[0], mask.shape[1] + 2), dtype=np.int8)
    padded[:, 1:-1] = mask
    d = np.diff(padded, axis=1)
    rs, starts = np.nonzero(d == 1)
    re_, ends = np.nonzero(d == -1)
    order_s, order_e = np.lexsort((starts, rs)), np.lexsort((ends, re_))
    return rs[order_s], starts[order_s], ends[order_e] - 1


def _stuck(a: np.ndarray, n: int, floor: float) -> np.ndarray:
    """Hours in runs of ≥ ``n`` equal consecutive values above ``floor``."""
    brk = np.ones(a.shape, dtype=bool)
    with np.errstate(invalid="ignore"):
        brk[:, 1:] = ~(a[:, 1:] == a[:, :-1])  # NaN never equals: a missing hour ends a run
        run = np.cumsum(brk.ravel()) - 1  # one id per run (a new row always starts a run)
        length = np.bincount(run)[run].reshape(a.shape)
        return (length >= n) & (a > floor)


def _window_quantiles(a: np.ndarray, window: int, qs: tuple[float, ...], block: int = 64) -> list[np.ndarray]:
    """For every hour, the quantiles ``qs`` (linear interpolation) of the previous ``window`` hours' valid values
    (NaN with fewer than ``window // 2`` of them): sorted sliding windows, a block of stations at a time."""
    S, H = a.shape
    out = [np.full(a.shape, np.nan) for _ in qs]
    for b0 in range(0, S, block):
        part = a[b0 : b0 + block]
        padded = np.concatenate([np.full((len(part), window), np.nan), part], axis=1)
        w = np.sort(np.lib.stride_tricks.sliding_window_view(padded, window, axis=1)[:, :H], axis=-1)  # NaN last
        n = (~np.isnan(w)).sum(axis=-1)
        ok = n >= window // 2
        for k, q in enumerate(qs):
            pos = q * np.maximum(n - 1, 0)
            lo = np.floor(pos).astype(np.int64)[..., None]
            hi = np.ceil(pos).astype(np.int64)[..., None]
            vlo = np.take_along_axis(w, lo, axis=-1)[..., 0]
            vhi = np.take_along_axis(w, hi, axis=-1)[..., 0]
            out[k][b0 : b0 + block] = np.where(ok, vlo + (pos - np.floor(pos)) * (vhi - vlo), np.nan)
    return out


def _jump(a: np.ndarray, k: float, window: int, min_step: float) -> np.ndarray:
    """Hours far from the previous ``window`` hours' median (> k robust σ) and far from the previous hour."""
    q1, med, q3 = _window_quantiles(a, window, (0.25, 0.5, 0.75))
    sigma = (q3 - q1) / 1.349
    prev = np.full(a.shape, np.nan)
    prev[:, 1:] = a[:, :-1]
    with np.errstate(invalid="ignore"):
        return (np.abs(a - med) > k * sigma) & (np.abs(a - prev) > min_step)


def precheck_frame(frame: pd.DataFrame, first_hi: int, last_hi: int, flags: pd.DataFrame | None = None,
                   config: PrecheckConfig = DEFAULT) -> pd.DataFrame:
    """Suggestions (:data:`COLUMNS`) for the hours ``first_hi … last_hi`` of ``frame`` (``station, hi`` + six
    pollutants; hours before ``first_hi`` serve as look-back only) and of the HJ 212 ``flags``
    (``station, hi, pollutant, flag``)."""
    out: list[pd.DataFrame] = []
    lo = min(first_hi, int(frame["hi"].min())) if len(frame) else first_hi
    if len(frame):
        frame = frame[(frame["hi"] >= lo) & (frame["hi"] <= last_hi)]
        stations, g = _grid(frame, lo, last_hi)
        keep = first_hi - lo  # first column reported

        def add(check: str, mask: np.ndarray, pollutants: str, values: np.ndarray, detail: str) -> None:
            rows, s, e = _runs(mask[:, keep:])
            if not len(rows):
                return
            vals = values[:, keep:]
            peak = [float(np.nanmax(vals[r, a0 : b0 + 1])) if np.isfinite(vals[r, a0 : b0 + 1]).any() else None
                    for r, a0, b0 in zip(rows, s, e)]
            out.append(pd.DataFrame({"check": check, "station": stations[rows], "pollutants": pollutants,
                                     "hi_from": s + first_hi, "hi_to": e + first_hi, "value": peak,
                                     "detail": detail}))

        for p in SIX:
            a = g[p]
            with np.errstate(invalid="ignore"):
                add("negative", a < 0, p, a, "小时值为负")
                add("range", a > config.instrument_range[p], p, a,
                    f"高于仪器量程上限 {config.instrument_range[p]:g}")
                add("stuck", _stuck(a, config.stuck_hours, config.stuck_floor[p]), p, a,
                    f"连续 {config.stuck_hours} 小时及以上数值相同")
                add("jump", _jump(a, config.jump_k, config.jump_window, config.jump_min_step[p]), p, a,
                    f"偏离前 {config.jump_window} 小时中位数超过 {config.jump_k:g} 倍稳健标准差，"
                    f"且较上一小时变化超过 {config.jump_min_step[p]:g}")
        with np.errstate(invalid="ignore"):
            ratio = g["pm25"] > g["pm10"] * (1 + config.pm_rel_tol) + config.pm_abs_tol
        add("pm_ratio", ratio, "pm10,pm25", g["pm25"],
            f"PM2.5 超过 PM10 的 {1 + config.pm_rel_tol:g} 倍加 {config.pm_abs_tol:g} µg/m³")
    if flags is not None and len(flags):
        f = flags[(flags["hi"] >= first_hi) & (flags["hi"] <= last_hi)].sort_values(["station", "pollutant", "hi"])
        if len(f):
            brk = (f["station"].ne(f["station"].shift()) | f["pollutant"].ne(f["pollutant"].shift())
                   | f["flag"].ne(f["flag"].shift()) | f["hi"].diff().ne(1))
            grp = f.assign(run=brk.cumsum()).groupby("run")
            runs = grp.agg(station=("station", "first"), pollutants=("pollutant", "first"), hi_from=("hi", "min"),
                           hi_to=("hi", "max"), flag=("flag", "first")).reset_index(drop=True)
            out.append(pd.DataFrame({"check": "flag", "station": runs["station"], "pollutants": runs["pollutants"],
                                     "hi_from": runs["hi_from"], "hi_to": runs["hi_to"], "value": None,
                                     "detail": "数据标记 " + runs["flag"].astype(str)}))
    if not out:
        return pd.DataFrame(columns=COLUMNS)
    res = pd.concat(out, ignore_index=True)
    res["hi_from"] = res["hi_from"].astype(np.int64)
    res["hi_to"] = res["hi_to"].astype(np.int64)
    res["hours"] = res["hi_to"] - res["hi_from"] + 1
    res["check_label"] = res["check"].map(CHECKS)
    res["key"] = (res["check"] + ":" + res["station"].astype(str) + ":" + res["pollutants"] + ":"
                  + res["hi_from"].astype(str) + "-" + res["hi_to"].astype(str))
    order = {c: i for i, c in enumerate(CHECKS)}
    res = res.assign(_o=res["check"].map(order)).sort_values(["station", "hi_from", "_o", "pollutants"])
    return res[COLUMNS].reset_index(drop=True)


def suggest(con: duckdb.DuckDBPyConnection, first_hi: int, last_hi: int, stations: list[str] | None = None,
            config: PrecheckConfig = DEFAULT, include_handled: bool = False) -> pd.DataFrame:
    """The open suggestions for ``first_hi … last_hi`` (stored hours, 24 hours of look-back for the jump check):
    those a reviewer already confirmed or dismissed are left out unless ``include_handled``."""
    frame = hourly_values(con, first_hi - config.jump_window, last_hi, stations)
    flags = hj212_flags(con, first_hi, last_hi)
    if stations is not None and len(flags):
        flags = flags[flags["station"].isin(stations)]
    res = precheck_frame(frame, first_hi, last_hi, flags, config)
    if not include_handled and len(res):
        handled = dismissed(con) | confirmed(con)
        res = res[~res["key"].isin(handled)].reset_index(drop=True)
    return res
