"""Wind for the cause note: vector means, the upwind sector, stagnation and the pollution rose (pure functions).

Wind directions are meteorological: degrees clockwise from north of where the wind comes **from** (the
``met_hourly.wind_dir`` convention, as openair's ``wd``). A source lies upwind of a station when the bearing from
the station to the source is within the sector around that direction.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

#: half-width of the upwind sector, degrees (± 45°: a quarter of the compass, docs/alerts.md)
SECTOR_HALF_WIDTH = 45.0
#: below this speed (m/s) the air counts as calm: no direction is trusted (WMO "calm" is < 0.5 m/s at 10 m; the
#: Chinese 静稳天气 indices use < 1–2 m/s — 1 m/s here, the brief's threshold)
CALM_SPEED = 1.0
#: relative humidity (%) above which calm air counts as humid stagnation (hygroscopic growth and secondary
#: formation; the 静稳 criterion of RH > 80 % used in the CMA haze forecasts)
HUMID_RH = 80.0
#: the 16 compass points, clockwise from north
COMPASS16 = ("N", "NNE", "NE", "ENE", "E", "ESE", "SE", "SSE", "S", "SSW", "SW", "WSW", "W", "WNW", "NW", "NNW")
COMPASS16_ZH = ("北", "北东北", "东北", "东东北", "东", "东东南", "东南", "南东南", "南", "南西南", "西南", "西西南", "西",
                "西西北", "西北", "北西北")
#: wind-speed bins of the pollution rose (m/s), as openair's pollutionRose default breaks roughly
SPEED_BINS = (0.0, 1.0, 2.0, 4.0, 6.0, math.inf)


def compass_degrees(point: str) -> float:
    """Degrees of a 16-point compass name (``NNW`` → 337.5); ``CV`` (calm and variable) → NaN."""
    p = point.strip().upper()
    if p in COMPASS16:
        return COMPASS16.index(p) * 22.5
    if p in ("CV", "C", "CALM"):
        return math.nan
    raise ValueError(f"unknown compass point {point!r}")


def compass_name_zh(deg: float) -> str:
    """Chinese 16-point name of a direction (风向, where the wind comes from)."""
    return COMPASS16_ZH[int(((deg % 360) + 11.25) // 22.5) % 16]


def vector_mean(speed: np.ndarray, direction: np.ndarray) -> tuple[float, float]:
    """(speed, direction) of the vector mean of hourly winds; NaN rows are skipped; (NaN, NaN) with no wind.

    The direction of the mean is what a plume follows; the mean *scalar* speed is returned as the speed, since
    stagnation is about how fast the air moves, not about the net displacement."""
    s, d = np.asarray(speed, float), np.asarray(direction, float)
    ok = ~(np.isnan(s) | np.isnan(d))
    if not ok.any():
        return math.nan, math.nan
    rad = np.radians(d[ok])
    u, v = (s[ok] * np.sin(rad)).mean(), (s[ok] * np.cos(rad)).mean()
    if math.hypot(u, v) < 1e-9:
        return float(s[ok].mean()), math.nan
    return float(s[ok].mean()), float(math.degrees(math.atan2(u, v)) % 360)


def angle_between(a: float, b: float) -> float:
    """Smallest absolute difference of two directions, degrees (0 … 180)."""
    diff = abs((a - b) % 360)
    return min(diff, 360 - diff)


def bearing(lon1: float, lat1: float, lon2: float, lat2: float) -> float:
    """Initial great-circle bearing from point 1 to point 2, degrees clockwise from north."""
    p1, p2, dl = math.radians(lat1), math.radians(lat2), math.radians(lon2 - lon1)
    x = math.sin(dl) * math.cos(p2)
    y = math.cos(p1) * math.sin(p2) - math.sin(p1) * math.cos(p2) * math.cos(dl)
    return math.degrees(math.atan2(x, y)) % 360


def in_sector(bearing_deg: float, wind_from: float, half_width: float = SECTOR_HALF_WIDTH) -> bool:
    """Is a point at ``bearing_deg`` from the station inside the upwind sector of wind from ``wind_from``?"""
    if math.isnan(wind_from) or math.isnan(bearing_deg):
        return False
    return angle_between(bearing_deg, wind_from) <= half_width


@dataclass(frozen=True)
class WindSummary:
    """Wind at the hour and before it (docs/alerts.md "Meteorology")."""

    speed_at: float
    dir_at: float
    speed_3h: float  # mean scalar speed of the last 3 hours (the hour included)
    dir_3h: float  # vector-mean direction of the last 3 hours: the axis of the upwind sector
    speed_6h: float
    rh_at: float
    rh_6h: float
    calm: bool  # mean speed of the last 6 h below CALM_SPEED
    stagnant: bool  # calm and humid

    @property
    def sector(self) -> tuple[float, float] | None:
        """(from, to) degrees of the upwind sector, clockwise; None when calm or without direction."""
        if math.isnan(self.dir_3h) or self.speed_3h < CALM_SPEED:
            return None
        return ((self.dir_3h - SECTOR_HALF_WIDTH) % 360, (self.dir_3h + SECTOR_HALF_WIDTH) % 360)


def summarise(speed: np.ndarray, direction: np.ndarray, rh: np.ndarray) -> WindSummary:
    """Wind summary from hourly arrays ending at the hour (last element = the hour)."""
    s, d, h = (np.asarray(a, float) for a in (speed, direction, rh))
    sp3, d3 = vector_mean(s[-3:], d[-3:])
    sp6 = float(np.nanmean(s[-6:])) if np.isfinite(s[-6:]).any() else math.nan
    rh6 = float(np.nanmean(h[-6:])) if np.isfinite(h[-6:]).any() else math.nan
    calm = bool(np.isfinite(sp6) and sp6 < CALM_SPEED)
    return WindSummary(speed_at=float(s[-1]), dir_at=float(d[-1]), speed_3h=sp3, dir_3h=d3, speed_6h=sp6,
                       rh_at=float(h[-1]), rh_6h=rh6, calm=calm, stagnant=calm and bool(rh6 > HUMID_RH))


def rh_from_dewpoint(temp_c: np.ndarray, dewpoint_c: np.ndarray) -> np.ndarray:
    """Relative humidity (%) from temperature and dew point by the Magnus formula (Alduchov & Eskridge 1996
    coefficients a = 17.625, b = 243.04 °C)."""
    a, b = 17.625, 243.04
    t, td = np.asarray(temp_c, float), np.asarray(dewpoint_c, float)
    return np.clip(100.0 * np.exp(a * td / (b + td) - a * t / (b + t)), 0.0, 100.0)


def pollution_rose(values: np.ndarray, speed: np.ndarray, direction: np.ndarray) -> list[dict[str, float | str]]:
    """Mean concentration and share of hours by 16 direction sectors × :data:`SPEED_BINS` (openair's
    ``polarPlot``/``pollutionRose`` as a table): one row per non-empty cell with ``sector`` (degrees of its
    centre), ``sector_zh``, ``speed_lo``, ``speed_hi`` (None for the open top bin), ``mean``, ``hours``, ``share``."""
    v, s, d = (np.asarray(a, float) for a in (values, speed, direction))
    ok = np.isfinite(v) & np.isfinite(s) & np.isfinite(d)
    v, s, d = v[ok], s[ok], d[ok]
    if not len(v):
        return []
    sector = (((d % 360) + 11.25) // 22.5).astype(int) % 16
    speed_bin = np.digitize(s, SPEED_BINS[1:-1])
    rows: list[dict[str, float | str]] = []
    for sec in range(16):
        for b in range(len(SPEED_BINS) - 1):
            m = (sector == sec) & (speed_bin == b)
            if m.any():
                hi = SPEED_BINS[b + 1]
                rows.append({"sector": sec * 22.5, "sector_zh": COMPASS16_ZH[sec], "speed_lo": SPEED_BINS[b],
                             "speed_hi": None if math.isinf(hi) else hi, "mean": round(float(v[m].mean()), 1),
                             "hours": int(m.sum()), "share": round(float(m.sum()) / len(v), 4)})
    return rows
