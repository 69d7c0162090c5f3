"""Drift of calibrated grid sensors from their neighbours (docs/networks.md#drift).

A sensor's neighbours are the reference stations (raw values: they are the standard) and the other calibrated
sensors within :data:`RADIUS_KM`. Each hour the sensor's calibrated value is compared with the median of its
neighbours' values that hour; the difference is smoothed by a rolling median over :data:`WINDOW_HOURS` hours (at
least :data:`MIN_WINDOW_HOURS` compared hours in the window), and so is the neighbours' level. A sensor is
flagged when, at some hour since ``since``, the smoothed difference exceeds both :data:`ABS_THRESHOLD` (µg/m³) and
:data:`REL_THRESHOLD` of the smoothed neighbour level: a persistent offset, not a passing plume (a medians over
three days ignores a few hours of local smoke). Sensors without an accepted calibration are not checked (their raw
offset is what calibration removes).
"""

from __future__ import annotations

import warnings
from dataclasses import asdict, dataclass

import duckdb
import numpy as np
import pandas as pd

from ..store import calibration as store
from .calibration import calibrated_frame, haversine_km, references_of, sensors_of

RADIUS_KM = 10.0
WINDOW_HOURS = 72
MIN_WINDOW_HOURS = 48
ABS_THRESHOLD = 10.0
REL_THRESHOLD = 0.30


@dataclass(frozen=True)
class DriftCheck:
    """One sensor's drift check with its evidence (``flagged``: the rule fired at ``first_hi``)."""

    sensor: str
    pollutant: str
    flagged: bool
    neighbours: tuple[str, ...]
    hours_compared: int
    first_hi: int | None
    median_diff: float | None
    neighbour_level: float | None
    max_abs_median_diff: float | None
    reason: str

    def as_dict(self) -> dict:
        d = asdict(self)
        d["neighbours"] = list(self.neighbours)
        return d


def drift_flags(con: duckdb.DuckDBPyConnection, since: int | None = None, pollutant: str = "pm25",
                radius_km: float = RADIUS_KM) -> list[DriftCheck]:
    """The drift check of every calibrated sensor over the hours from ``since`` (``hi``; None: all stored hours),
    the windows reaching back :data:`WINDOW_HOURS` before it."""
    st = store.stations_located(con)
    refs = references_of(st).dropna(subset=["lon", "lat"])
    cal = store.calibrations(con, pollutant=pollutant, accepted_only=True)
    sensors = sensors_of(st).dropna(subset=["lon", "lat"])
    sensors = sensors[sensors["code"].isin(set(cal["sensor"]))]
    if not len(sensors):
        return []
    first = None if since is None else int(since) - WINDOW_HOURS + 1
    # one station × hour matrix: calibrated values of the sensors, raw values of the references
    own = calibrated_frame(con, list(sensors["code"]), pollutant, first)
    ref_values = store.hourly_values(con, refs["code"], pollutant, first)
    long = pd.concat([own[["station", "hi", "calibrated"]].rename(columns={"calibrated": "value"}), ref_values],
                     ignore_index=True).dropna()
    if not len(long):
        return [_empty(c, pollutant, (), "没有校准后数据") for c in sensors["code"]]
    # scatter into an hour × station matrix (each station-hour is stored once)
    hi = long["hi"].to_numpy(dtype=np.int64)
    col_of, stations = pd.factorize(long["station"])
    h0 = int(hi.min())
    index = pd.RangeIndex(h0, int(hi.max()) + 1)
    grid = np.full((len(index), len(stations)), np.nan)
    grid[hi - h0, col_of] = long["value"].to_numpy(dtype=float)
    col = {c: i for i, c in enumerate(stations)}
    diffs, levels, names = {}, {}, {}
    codes = sensors["code"].to_numpy()
    s_lon, s_lat = sensors["lon"].to_numpy(dtype=float), sensors["lat"].to_numpy(dtype=float)
    r_codes = refs["code"].to_numpy()
    r_lon, r_lat = refs["lon"].to_numpy(dtype=float), refs["lat"].to_numpy(dtype=float)
    for i, code in enumerate(codes):
        near_s = codes[(haversine_km(s_lon[i], s_lat[i], s_lon, s_lat) <= radius_km) & (codes != code)]
        near_r = r_codes[haversine_km(s_lon[i], s_lat[i], r_lon, r_lat) <= radius_km]
        near = [*near_r, *near_s]
        names[code] = tuple(sorted(str(c) for c in near))
        idx = [col[c] for c in near if c in col]
        if not idx or code not in col:
            continue
        with warnings.catch_warnings():  # an hour without any neighbour is NaN, as meant
            warnings.simplefilter("ignore", RuntimeWarning)
            nb = np.nanmedian(grid[:, idx], axis=1)
        mine = grid[:, col[code]]
        both = ~np.isnan(mine) & ~np.isnan(nb)
        diffs[code] = np.where(both, mine - nb, np.nan)
        levels[code] = np.where(both, nb, np.nan)
    if not diffs:
        return [_empty(c, pollutant, names[c], "半径内没有邻近站点" if not names[c] else "与邻近站点没有同期数据")
                for c in sensors["code"]]
    d_frame, l_frame = pd.DataFrame(diffs, index=index), pd.DataFrame(levels, index=index)
    md = d_frame.rolling(WINDOW_HOURS, min_periods=MIN_WINDOW_HOURS).median()
    lv = l_frame.rolling(WINDOW_HOURS, min_periods=MIN_WINDOW_HOURS).median()
    in_range = md.index >= since if since is not None else np.ones(len(md), dtype=bool)
    out = []
    for code in sensors["code"]:
        if code not in diffs:
            out.append(_empty(code, pollutant, names[code],
                              "半径内没有邻近站点" if not names[code] else "与邻近站点没有同期数据"))
            continue
        out.append(_check(code, pollutant, names[code], md[code][in_range], lv[code][in_range],
                          int(d_frame[code][in_range].notna().sum())))
    return out


def _empty(code: str, pollutant: str, names: tuple[str, ...], reason: str) -> DriftCheck:
    return DriftCheck(code, pollutant, False, names, 0, None, None, None, None, reason)


def _check(code: str, pollutant: str, names: tuple[str, ...], md: pd.Series, level: pd.Series,
           hours: int) -> DriftCheck:
    exceed = (md.abs() > ABS_THRESHOLD) & (md.abs() > REL_THRESHOLD * level.abs())
    valid = md.dropna()
    worst = round(float(valid.abs().max()), 2) if len(valid) else None
    if exceed.any():
        h = int(exceed[exceed].index[0])
        return DriftCheck(code, pollutant, True, names, hours, h, round(float(md[h]), 2), round(float(level[h]), 2),
                          worst, f"{WINDOW_HOURS} 小时滑动中位差 {md[h]:.1f} 超过 {ABS_THRESHOLD:g} 且超过邻近水平的 "
                                 f"{REL_THRESHOLD:.0%}")
    if not len(valid):
        return DriftCheck(code, pollutant, False, names, hours, None, None, None, None,
                          f"同期小时数不足 {MIN_WINDOW_HOURS}")
    last = valid.index[-1]
    return DriftCheck(code, pollutant, False, names, hours, None, round(float(md[last]), 2),
                      round(float(level[last]), 2), worst, "未发现漂移")
