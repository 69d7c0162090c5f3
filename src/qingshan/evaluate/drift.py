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

from dataclasses import asdict, dataclass

import duckdb
import numpy as np
import pandas as pd

from ..store import calibration as store
from .calibration import calibrated_series, haversine_km, references_of, sensors_of

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


def _rolling(s: pd.Series, full: pd.RangeIndex) -> pd.Series:
    return s.reindex(full).rolling(WINDOW_HOURS, min_periods=MIN_WINDOW_HOURS).median()


def drift_flags(con: duckdb.DuckDBPyConnection, since: int | None = None, pollutant: str = "pm25",
                radius_km: float = RADIUS_KM) -> list[DriftCheck]:
    """The drift check of every calibrated sensor over the hours from ``since`` (``hi``; None: all stored hours),
    the windows reaching back :data:`WINDOW_HOURS` before it."""
    st = store.stations_located(con)
    sensors = sensors_of(st).dropna(subset=["lon", "lat"])
    refs = references_of(st).dropna(subset=["lon", "lat"])
    cal = store.calibrations(con, pollutant=pollutant, accepted_only=True)
    calibrated_codes = set(cal["sensor"])
    sensors = sensors[sensors["code"].isin(calibrated_codes)]
    if not len(sensors):
        return []
    first = None if since is None else int(since) - WINDOW_HOURS + 1
    series = {code: calibrated_series(con, code, pollutant, first).set_index("hi")["calibrated"].dropna()
              for code in sensors["code"]}
    ref_values = store.hourly_values(con, refs["code"], pollutant, first)
    ref_series = {code: g.set_index("hi")["value"] for code, g in ref_values.groupby("station")}
    out = []
    for s in sensors.itertuples():
        near = []
        for other in (refs, sensors[sensors["code"] != s.code]):
            d = haversine_km(s.lon, s.lat, other["lon"].to_numpy(), other["lat"].to_numpy())
            near += [c for c, km in zip(other["code"], d) if km <= radius_km]
        out.append(_check(s.code, pollutant, series[s.code],
                          {c: series[c] if c in series else ref_series.get(c, pd.Series(dtype=float)) for c in near},
                          since))
    return out


def _check(code: str, pollutant: str, own: pd.Series, neighbours: dict[str, pd.Series], since: int | None) -> DriftCheck:
    names = tuple(sorted(neighbours))
    if not neighbours or not len(own):
        return DriftCheck(code, pollutant, False, names, 0, None, None, None, None,
                          "半径内没有邻近站点" if not neighbours else "没有校准后数据")
    nb = pd.concat(neighbours, axis=1).median(axis=1, skipna=True)
    both = pd.concat({"own": own, "nb": nb}, axis=1).dropna()
    if not len(both):
        return DriftCheck(code, pollutant, False, names, 0, None, None, None, None, "与邻近站点没有同期数据")
    full = pd.RangeIndex(int(both.index.min()), int(both.index.max()) + 1)
    md = _rolling(both["own"] - both["nb"], full)
    level = _rolling(both["nb"], full)
    window = md.index >= since if since is not None else np.ones(len(md), dtype=bool)
    md, level = md[window], level[window]
    exceed = (md.abs() > ABS_THRESHOLD) & (md.abs() > REL_THRESHOLD * level.abs())
    hours = int(both.index.to_series().ge(since).sum()) if since is not None else len(both)
    valid = md.dropna()
    worst = float(valid.abs().max()) if len(valid) else None
    if exceed.any():
        h = int(exceed[exceed].index[0])
        return DriftCheck(code, pollutant, True, names, hours, h, round(float(md[h]), 2), round(float(level[h]), 2),
                          round(worst, 2) if worst is not None else None,
                          f"{WINDOW_HOURS} 小时滑动中位差 {md[h]:.1f} 超过 {ABS_THRESHOLD:g} 且超过邻近水平的 "
                          f"{REL_THRESHOLD:.0%}")
    last = valid.index[-1] if len(valid) else None
    return DriftCheck(code, pollutant, False, names, hours, None,
                      round(float(md[last]), 2) if last is not None else None,
                      round(float(level[last]), 2) if last is not None else None,
                      round(worst, 2) if worst is not None else None,
                      "未发现漂移" if last is not None else f"同期小时数不足 {MIN_WINDOW_HOURS}")
