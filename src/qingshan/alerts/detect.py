"""Alarm rules over hourly station data, vectorised on station × hour matrices (docs/alerts.md "Alarm rules").

Input: a long table ``station, hi`` + pollutant columns (store units) and optionally ``aqi`` (the hourly AQI of
HJ 633), covering the detection window **and** the hours before it that the rules look back on (the baseline);
a stations table ``code, lon, lat`` for the neighbour rule. Output: one row per rule hit — ``rule, subject
(station), pollutant ('' when the rule is not about one pollutant), hi, level, value, reference`` — only for hours
inside the window. Hits become episodes in :mod:`.episodes`.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import pandas as pd

from .config import AIR_KINDS, AlarmRule, AlarmRules

POLLUTANTS = ("so2", "no2", "co", "o3", "pm10", "pm25")
HIT_COLUMNS = ["rule", "subject", "pollutant", "hi", "level", "value", "reference"]
EARTH_RADIUS_KM = 6371.0088


class Grid:
    """Station × hour matrices of one window (NaN = no value); hours are every hour from the first to the last."""

    def __init__(self, hours: pd.DataFrame, columns: tuple[str, ...]) -> None:
        self.stations = np.array(sorted(hours["station"].astype(str).unique()), dtype=object)
        self.first = int(hours["hi"].min()) if len(hours) else 0
        n_h = int(hours["hi"].max()) - self.first + 1 if len(hours) else 0
        row = pd.Index(self.stations).get_indexer(hours["station"].astype(str))
        col = hours["hi"].to_numpy(dtype=np.int64) - self.first
        self.m: dict[str, np.ndarray] = {}
        for c in columns:
            if c in hours.columns:
                a = np.full((len(self.stations), n_h), np.nan)
                a[row, col] = hours[c].to_numpy(dtype=float)
                self.m[c] = a
        self.n_hours = n_h

    def his(self) -> np.ndarray:
        return np.arange(self.first, self.first + self.n_hours)


def _hits(rule: AlarmRule, grid: Grid, mask: np.ndarray, value: np.ndarray, reference: np.ndarray | None,
          window: tuple[int, int], pollutant: str = "", level: np.ndarray | None = None) -> pd.DataFrame:
    lo, hi = window[0] - grid.first, window[1] - grid.first
    mask = mask.copy()
    mask[:, : max(lo, 0)] = False
    mask[:, hi + 1 :] = False
    s, h = np.nonzero(mask)
    return pd.DataFrame({
        "rule": rule.name, "subject": grid.stations[s], "pollutant": pollutant, "hi": (h + grid.first).astype(np.int64),
        "level": (np.full(len(s), rule.level) if level is None else level[s, h]).astype(np.int64),
        "value": value[s, h], "reference": np.full(len(s), np.nan) if reference is None else reference[s, h]})


def _delta(rule: AlarmRule, p: str) -> float:
    d = rule.param("min_delta", {})
    return float(d.get(p, 0.0)) if isinstance(d, dict) else float(d)


def spike_baseline(rule: AlarmRule, grid: Grid, window: tuple[int, int]) -> list[pd.DataFrame]:
    """Value ≥ ``ratio`` × the median of the station's previous ``baseline_hours`` hours (at least half of them
    present) and ≥ ``min_delta`` above it."""
    n, ratio = int(rule.param("baseline_hours", 24)), float(rule.param("ratio", 2.0))
    out = []
    for p in rule.param("pollutants", POLLUTANTS):
        if p not in grid.m:
            continue
        v = grid.m[p]
        base = pd.DataFrame(v.T).shift(1).rolling(n, min_periods=max(1, n // 2)).median().to_numpy().T
        with np.errstate(invalid="ignore"):
            mask = (v >= ratio * base) & (v - base >= _delta(rule, p))
        out.append(_hits(rule, grid, mask, v, base, window, p))
    return out


def haversine_km(lon1: np.ndarray, lat1: np.ndarray, lon2: np.ndarray, lat2: np.ndarray) -> np.ndarray:
    """Great-circle distance (km) on a sphere of the IUGG mean Earth radius; arrays broadcast."""
    p1, p2 = np.radians(lat1), np.radians(lat2)
    a = np.sin((p2 - p1) / 2) ** 2 + np.cos(p1) * np.cos(p2) * np.sin(np.radians(lon2 - lon1) / 2) ** 2
    return 2 * EARTH_RADIUS_KM * np.arcsin(np.sqrt(np.clip(a, 0, 1)))


def neighbour_weights(grid: Grid, stations: pd.DataFrame, radius_km: float) -> np.ndarray:
    """S × S matrix: 1 where the other station lies within ``radius_km`` (never the station itself)."""
    at = stations.set_index(stations["code"].astype(str)).reindex(grid.stations)
    lon, lat = at["lon"].to_numpy(dtype=float), at["lat"].to_numpy(dtype=float)
    d = haversine_km(lon[:, None], lat[:, None], lon[None, :], lat[None, :])
    w = (d <= radius_km) & np.isfinite(d)
    np.fill_diagonal(w, False)
    return w.astype(float)


def spike_neighbours(rule: AlarmRule, grid: Grid, window: tuple[int, int], stations: pd.DataFrame) -> list[pd.DataFrame]:
    """Value ≥ ``ratio`` × the mean of the stations within ``radius_km`` at the same hour (at least
    ``min_neighbours`` of them with a value) and ≥ ``min_delta`` above it."""
    w = neighbour_weights(grid, stations, float(rule.param("radius_km", 10)))
    k, ratio = int(rule.param("min_neighbours", 2)), float(rule.param("ratio", 1.5))
    out = []
    for p in rule.param("pollutants", POLLUTANTS):
        if p not in grid.m:
            continue
        v = grid.m[p]
        ok = np.isfinite(v)
        count = w @ ok
        with np.errstate(invalid="ignore", divide="ignore"):
            mean = np.where(count >= k, (w @ np.where(ok, v, 0.0)) / count, np.nan)
            mask = (v >= ratio * mean) & (v - mean >= _delta(rule, p))
        out.append(_hits(rule, grid, mask, v, mean, window, p))
    return out


def aqi_category(rule: AlarmRule, grid: Grid, window: tuple[int, int]) -> list[pd.DataFrame]:
    """Hourly AQI at or above a threshold; the level is the highest threshold reached."""
    if "aqi" not in grid.m:
        return []
    aqi = grid.m["aqi"]
    level = np.zeros(aqi.shape, dtype=np.int64)
    thresholds = rule.param("thresholds", [])
    for t in sorted(thresholds, key=lambda t: t["aqi"]):
        with np.errstate(invalid="ignore"):
            level[aqi >= float(t["aqi"])] = int(t["level"])
    first = min((float(t["aqi"]) for t in thresholds), default=np.inf)
    with np.errstate(invalid="ignore"):
        return [_hits(rule, grid, aqi >= first, aqi, None, window, "", level)]


def runs_at_least(mask: np.ndarray, length: int) -> np.ndarray:
    """Positions of ``mask`` (S × H) that belong to a run of at least ``length`` True values along the hours."""
    out = np.zeros_like(mask, dtype=bool)
    for s in range(mask.shape[0]):
        edges = np.diff(np.concatenate(([0], mask[s].astype(np.int8), [0])))
        starts, ends = np.flatnonzero(edges == 1), np.flatnonzero(edges == -1)
        for a, b in zip(starts, ends):
            if b - a >= length:
                out[s, a:b] = True
    return out


def sustained_rise(rule: AlarmRule, grid: Grid, window: tuple[int, int]) -> list[pd.DataFrame]:
    """Rising from hour to hour for ``hours`` steps and by at least ``min_total`` over them (hit at the last)."""
    n = int(rule.param("hours", 4))
    out = []
    for p in rule.param("pollutants", ("pm25",)):
        if p not in grid.m or grid.n_hours <= n:
            continue
        v = grid.m[p]
        up = np.zeros(v.shape, dtype=bool)
        with np.errstate(invalid="ignore"):
            up[:, 1:] = v[:, 1:] > v[:, :-1]
        run = np.zeros(v.shape, dtype=np.int64)  # length of the rising run ending at each hour
        for h in range(1, v.shape[1]):
            run[:, h] = np.where(up[:, h], run[:, h - 1] + 1, 0)
        before = np.full(v.shape, np.nan)
        before[:, n:] = v[:, :-n]
        with np.errstate(invalid="ignore"):
            mask = (run >= n) & (v - before >= _delta_total(rule, p))
        out.append(_hits(rule, grid, mask, v, before, window, p))
    return out


def _delta_total(rule: AlarmRule, p: str) -> float:
    d = rule.param("min_total", {})
    return float(d.get(p, 0.0)) if isinstance(d, dict) else float(d)


def missing_hours(rule: AlarmRule, grid: Grid, window: tuple[int, int]) -> list[pd.DataFrame]:
    """A pollutant missing ``hours`` or more hours in a row at a station that reported anything in the window and
    measured that pollutant in the hours looked at (a station without an SO2 analyser raises nothing for SO2)."""
    n = int(rule.param("hours", 3))
    lo, hi = window[0] - grid.first, window[1] - grid.first + 1
    present = [np.isfinite(grid.m[p]) for p in POLLUTANTS if p in grid.m]
    if not present:
        return []
    reporting = np.any(np.stack(present)[:, :, max(lo, 0):hi], axis=(0, 2))
    out = []
    for p in POLLUTANTS:
        if p in grid.m:
            measures = np.isfinite(grid.m[p]).any(axis=1)
            gap = ~np.isfinite(grid.m[p]) & (reporting & measures)[:, None]
            out.append(_hits(rule, grid, runs_at_least(gap, n), grid.m[p], None, window, p))
    return out


def flat_line(rule: AlarmRule, grid: Grid, window: tuple[int, int]) -> list[pd.DataFrame]:
    """The same value ``hours`` or more hours in a row."""
    n = int(rule.param("hours", 6))
    out = []
    for p in rule.param("pollutants", POLLUTANTS):
        if p not in grid.m:
            continue
        v = grid.m[p]
        same = np.zeros(v.shape, dtype=bool)
        same[:, 1:] = v[:, 1:] == v[:, :-1]
        # a run of k equal steps covers k + 1 hours: mark the first hour of the run too
        flat = runs_at_least(same, n - 1)
        flat[:, :-1] |= flat[:, 1:] & ~flat[:, :-1]
        out.append(_hits(rule, grid, flat, v, None, window, p))
    return out


def pm25_gt_pm10(rule: AlarmRule, grid: Grid, window: tuple[int, int]) -> list[pd.DataFrame]:
    if "pm25" not in grid.m or "pm10" not in grid.m:
        return []
    with np.errstate(invalid="ignore"):
        mask = grid.m["pm25"] - grid.m["pm10"] > float(rule.param("tolerance", 5))
    return [_hits(rule, grid, mask, grid.m["pm25"], grid.m["pm10"], window)]


DETECTORS: dict[str, Callable[..., list[pd.DataFrame]]] = {
    "spike_baseline": spike_baseline, "aqi_category": aqi_category, "sustained_rise": sustained_rise,
    "missing_hours": missing_hours, "flat_line": flat_line, "pm25_gt_pm10": pm25_gt_pm10,
}


def detect(hours: pd.DataFrame, stations: pd.DataFrame, rules: AlarmRules, window: tuple[int, int]) -> pd.DataFrame:
    """Every hit of every enabled rule inside ``window`` (first and last hour label, inclusive)."""
    if hours.empty:
        return pd.DataFrame(columns=HIT_COLUMNS)
    grid = Grid(hours, POLLUTANTS + ("aqi",))
    parts: list[pd.DataFrame] = []
    for rule in rules.enabled():
        if rule.kind not in AIR_KINDS:
            continue
        if rule.kind == "spike_neighbours":
            parts += spike_neighbours(rule, grid, window, stations)
        else:
            parts += DETECTORS[rule.kind](rule, grid, window)
    parts = [p for p in parts if len(p)]
    if not parts:
        return pd.DataFrame(columns=HIT_COLUMNS)
    return pd.concat(parts, ignore_index=True).sort_values(["rule", "subject", "pollutant", "hi"], ignore_index=True)
