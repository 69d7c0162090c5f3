"""Candidate sources: HJ 212 outlets, construction-dust monitors and grid sensors upwind of the station whose
values rose or exceeded their limit in the hours before (pure functions).

A source is named only when it lies inside the upwind sector (:func:`qingshan.alerts.wind.in_sector`) and within
the radius: without a trusted wind direction (calm, no meteorology) no source is named at all.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass

import numpy as np

from .neighbours import haversine_km
from .wind import bearing, in_sector

#: ``stations.network`` values of construction-site dust monitors (扬尘在线监测) and grid micro-stations (网格化
#: 微型站). The networks module of another branch may spell them otherwise: the lead reconciles these constants.
DUST_NETWORKS: tuple[str, ...] = ("扬尘", "扬尘监测", "工地扬尘")
GRID_NETWORKS: tuple[str, ...] = ("网格微站", "网格", "微站")
SENSOR_NETWORKS = DUST_NETWORKS + GRID_NETWORKS
#: HJ 212-2017 factor codes of the outlet values the note looks at, with Chinese names
OUTLET_FACTORS = {"a21026": "二氧化硫", "a21002": "氮氧化物", "a34013": "颗粒物（烟尘）", "a21005": "一氧化碳"}
#: "rose": the mean of the last 3 hours (the hour included) at least this factor over the 4th–6th hour before
ROSE = 1.3


@dataclass(frozen=True)
class Candidate:
    """A possible source in the upwind sector with its numbers."""

    kind: str  # outlet | dust | grid
    id: str  # MN or station code
    name: str
    factor: str  # what rose (HJ 212 factor code or pollutant)
    factor_zh: str
    distance_km: float
    bearing: float  # from the station to the source, degrees
    recent: float  # mean of the last 3 h
    before: float  # mean of the 4th–6th hour before
    rise: float  # recent / before
    limit: float | None  # emission limit (outlets with a registered limit)
    exceed: float | None  # max of the last 3 h / limit
    score: float
    lon: float | None = None  # the source's coordinates, for the note's map
    lat: float | None = None

    def as_dict(self) -> dict:
        return {k: (round(v, 3) if isinstance(v, float) and math.isfinite(v) else v) for k, v in asdict(self).items()}


def recent_and_before(series: np.ndarray) -> tuple[float, float, float]:
    """(mean of the last 3 values, mean of the 3 before them, max of the last 3) of an hourly series ending at the
    hour; NaN where no value is valid."""
    s = np.asarray(series, float)
    last, prior = s[-3:], s[-6:-3]
    mean = lambda a: float(np.nanmean(a)) if np.isfinite(a).any() else math.nan  # noqa: E731
    return mean(last), mean(prior), float(np.nanmax(last)) if np.isfinite(last).any() else math.nan


def candidate(kind: str, ident: str, name: str, factor: str, factor_zh: str, series: np.ndarray,
              distance_km: float, bearing_deg: float, limit: float | None = None) -> Candidate | None:
    """A :class:`Candidate` when the series rose by :data:`ROSE` or exceeded ``limit`` in the last 3 hours."""
    recent, before, peak = recent_and_before(series)
    if math.isnan(recent):
        return None
    rise = recent / before if before and before > 0 and not math.isnan(before) else math.nan
    exceed = peak / limit if limit else None
    rose = not math.isnan(rise) and rise >= ROSE
    over = exceed is not None and exceed > 1
    if not (rose or over):
        return None
    strength = max(rise - 1 if not math.isnan(rise) else 0.0, (exceed - 1 + 0.5) if over and exceed else 0.0)
    score = strength / (1 + distance_km / 5)  # nearer sources count more (5 km: the scale of a plume's first hour)
    return Candidate(kind, ident, name, factor, factor_zh, distance_km, bearing_deg, recent, before, rise, limit,
                     exceed, score)


def locate(lon: float, lat: float, lons: np.ndarray, lats: np.ndarray, wind_from: float, radius_km: float
           ) -> list[tuple[int, float, float]]:
    """(index, distance km, bearing) of the points within ``radius_km`` inside the upwind sector of ``wind_from``."""
    if math.isnan(wind_from) or not len(lons):
        return []
    dist = haversine_km(lon, lat, np.asarray(lons, float), np.asarray(lats, float))
    out = []
    for i, d in enumerate(dist):
        if d > radius_km or d < 1e-6:
            continue
        b = bearing(lon, lat, float(lons[i]), float(lats[i]))
        if in_sector(b, wind_from):
            out.append((i, float(d), b))
    return out


def rank(cands: list[Candidate]) -> list[Candidate]:
    """Strongest first (score, then nearer)."""
    return sorted(cands, key=lambda c: (-c.score, c.distance_km, c.id))
