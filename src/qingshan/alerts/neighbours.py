"""Regional or local: a station's rise against its neighbours and the city (pure functions over arrays)."""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

EARTH_RADIUS_KM = 6371.0088  # IUGG mean radius
#: hours before the hour whose mean is the "before" level: the 3rd … 6th hour back (a spike that began one or two
#: hours earlier does not lift its own reference)
BEFORE = (3, 6)
#: share of neighbours rising at least half as much as the station that makes a rise regional
REGIONAL_SHARE = 0.6


def haversine_km(lon1: float, lat1: float, lon2: np.ndarray | float, lat2: np.ndarray | float) -> np.ndarray:
    """Great-circle distance in km from one point to one or many."""
    p1, p2 = math.radians(lat1), np.radians(lat2)
    dphi, dl = p2 - p1, np.radians(np.asarray(lon2, float) - lon1)
    a = np.sin(dphi / 2) ** 2 + math.cos(p1) * np.cos(p2) * np.sin(dl / 2) ** 2
    return 2 * EARTH_RADIUS_KM * np.arcsin(np.sqrt(a))


def before_level(series: np.ndarray) -> float:
    """Mean of the hours :data:`BEFORE` back from the last element (NaN when none is valid)."""
    s = np.asarray(series, float)
    lo, hi = BEFORE
    window = s[max(0, len(s) - 1 - hi): len(s) - lo]
    return float(np.nanmean(window)) if np.isfinite(window).any() else math.nan


def rise(series: np.ndarray) -> tuple[float, float]:
    """(value at the hour − before level, value / before level) of an hourly series ending at the hour."""
    s = np.asarray(series, float)
    at, before = float(s[-1]), before_level(s)
    if math.isnan(at) or math.isnan(before):
        return math.nan, math.nan
    return at - before, at / before if before > 0 else math.inf


def recent_rise(series: np.ndarray) -> float:
    """Mean of the last 3 hours minus the mean of the 7th–12th hour back: the rise a station shares with its
    neighbours even when theirs began a few hours earlier or later (a front takes hours to cross 30 km)."""
    s = np.asarray(series, float)
    last, ref = s[-3:], s[-13:-6]
    if not (np.isfinite(last).any() and np.isfinite(ref).any()):
        return math.nan
    return float(np.nanmean(last) - np.nanmean(ref))


@dataclass(frozen=True)
class Spatial:
    """The station's rise against its neighbours (docs/alerts.md "Regional or local")."""

    pollutant: str
    station_rise: float  # µg/m³ (mg/m³ for CO) over the before level
    station_ratio: float
    near: int  # neighbours within the inner radius with data
    near_rise: float  # median :func:`recent_rise` of those neighbours
    far: int  # neighbours within the outer radius with data
    far_rise: float
    city_rise: float  # rise of the mean of the city's stations (the station included)
    share_rising: float  # share of neighbours (outer radius) whose recent rise is at least half the station's
    own_recent: float  # the station's rise the neighbours are compared with (recent_rise, or rise for a fresh one)
    lead_upwind: float  # mean rise of upwind neighbours 1–2 h before the hour minus the station's own (≥ 0: they led)

    @property
    def scope(self) -> str:
        """``regional``, ``local`` or ``unknown`` (no neighbours)."""
        if self.far == 0 or math.isnan(self.station_rise):
            return "unknown"
        return "regional" if self.share_rising >= REGIONAL_SHARE else "local"


def spatial(pollutant: str, station: np.ndarray, near: list[np.ndarray], far: list[np.ndarray],
            city: np.ndarray, upwind: list[np.ndarray]) -> Spatial:
    """Compare the station's series with neighbour series (all ending at the hour, same length).

    ``near`` are neighbours within the inner radius, ``far`` those within the outer radius (``near`` included),
    ``city`` the hourly mean of the city's stations, ``upwind`` the outer-radius neighbours in the upwind sector."""
    d, r = rise(station)
    own, measure = recent_rise(station), recent_rise
    if not own > 0 and d > 0:  # a rise too fresh for a 3-hour mean: compare the hour with the 3rd–6th before
        own, measure = d, lambda x: rise(x)[0]
    near_r = [measure(x) for x in near]
    far_r = [measure(x) for x in far]
    near_r = [x for x in near_r if not math.isnan(x)]
    far_r = [x for x in far_r if not math.isnan(x)]
    share = float(np.mean([x >= 0.5 * own for x in far_r])) if far_r and own > 0 else math.nan
    lead = math.nan
    own_early = _early_rise(station)
    ups = [_early_rise(u) for u in upwind]
    ups = [x for x in ups if not math.isnan(x)]
    if ups and not math.isnan(own_early):
        lead = float(np.mean(ups)) - own_early
    return Spatial(pollutant, d, r, len(near_r), float(np.median(near_r)) if near_r else math.nan, len(far_r),
                   float(np.median(far_r)) if far_r else math.nan, recent_rise(city), share, own, lead)


def _early_rise(series: np.ndarray) -> float:
    """Rise reached 1–2 h before the hour (mean of those two hours minus the before level)."""
    s = np.asarray(series, float)
    if len(s) < 3:
        return math.nan
    early = s[-3:-1]
    b = before_level(s)
    return float(np.nanmean(early)) - b if np.isfinite(early).any() and not math.isnan(b) else math.nan
