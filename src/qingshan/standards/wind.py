"""Averaging wind: the mean direction as a unit-vector mean, calms left out (pure functions).

Direction is an angle: the arithmetic mean of 350° and 10° is 180°, the opposite of the truth.  The mean direction
is the direction of the mean **unit vector** of the minutes (each minute's direction as (sin θ, cos θ), summed,
atan2 of the sums) — the unit-vector method of the meteorological practice (US EPA-454/R-99-005 *Meteorological
Monitoring Guidance for Regulatory Modeling Applications* §6.1, "unit vector" wind direction; the Chinese surface
observation standard GB/T 35227-2017 地面气象观测规范 风向和风速 averages direction the same way — clause to
verify, docs/rules/open-questions.md).  Speed is the scalar mean of the minute speeds.

Calm: a speed of at most 0.2 m/s (GB/T 28591-2012 风力等级 表1: 0 级 静风 0.0–0.2 m/s) has no meaningful
direction; calm minutes count for the speed but not for the direction.  An hour whose valid minutes are all
calm, or whose unit vectors cancel out, has no mean direction (NaN).  Directions are meteorological: degrees
clockwise from north, where the wind comes from.
"""

from __future__ import annotations

import numpy as np

CALM_MS = 0.2  # GB/T 28591-2012 表1, 0 级: 0.0–0.2 m/s
_CANCEL = 1e-9  # |mean unit vector| below this: directions cancel out, no mean direction


def mean_directions(group: np.ndarray, directions: np.ndarray, speeds: np.ndarray | None, n_groups: int,
                    calm: float = CALM_MS) -> np.ndarray:
    """:func:`mean_direction` of each group at once: ``group`` (0 … n_groups-1) per minute; NaN where a group has
    no direction left or its vectors cancel out."""
    g = np.asarray(group, dtype=np.int64)
    d = np.asarray(directions, dtype=float)
    keep = np.isfinite(d)
    if speeds is not None:
        keep &= np.asarray(speeds, dtype=float) > calm
    r = np.radians(np.where(keep, d, 0.0))
    n = np.bincount(g, weights=keep, minlength=n_groups)
    s = np.bincount(g, weights=np.where(keep, np.sin(r), 0.0), minlength=n_groups)
    c = np.bincount(g, weights=np.where(keep, np.cos(r), 0.0), minlength=n_groups)
    with np.errstate(invalid="ignore", divide="ignore"):
        s, c = s / n, c / n
        deg = np.degrees(np.arctan2(s, c)) % 360.0
    deg = np.where((deg > 360.0 - 1e-9) | (deg < 1e-9), 0.0, deg)
    return np.where((n > 0) & (np.hypot(s, c) >= _CANCEL), deg, np.nan)


def mean_direction(directions: np.ndarray, speeds: np.ndarray | None = None, calm: float = CALM_MS) -> float:
    """Unit-vector mean of ``directions`` (degrees), leaving out minutes whose speed is ≤ ``calm`` when
    ``speeds`` are given; NaN when no direction is left or the vectors cancel out.

    >>> mean_direction(np.array([350.0, 10.0]))
    0.0
    >>> round(mean_direction(np.array([80.0, 100.0, 90.0])), 6)
    90.0
    >>> mean_direction(np.array([90.0, 270.0]))
    nan
    >>> mean_direction(np.array([90.0, 180.0]), np.array([0.1, 3.0]))
    180.0
    """
    d = np.asarray(directions, dtype=float)
    return float(mean_directions(np.zeros(d.size, dtype=np.int64), d, speeds, 1, calm)[0])
