"""The interpolated PM2.5 surface of the map: inverse-distance weighting (IDW) on a regular lon/lat grid.

Method (stated on the map and in docs/console.md#map):

* **IDW, power 2**: a cell's value is ``Σ wᵢ·vᵢ / Σ wᵢ`` with ``wᵢ = 1 / dᵢ²`` over every point with a value;
  a cell within :data:`SNAP_KM` of a point takes that point's value (no division by ~0).
* Distances are in kilometres on a local equirectangular approximation (longitude scaled by cos of the mean
  latitude) — exact enough within a city (≤ 0.1 % over 100 km).
* **Only where the points are dense enough**: a cell is drawn when its centre lies inside the convex hull of the
  points *and* at least :data:`MIN_NEIGHBOURS` points lie within :data:`RADIUS_KM` of it; with fewer than
  :data:`MIN_POINTS` points there is no surface at all. IDW extrapolates nothing outside the hull, and the density
  rule keeps a single station from painting a whole district.

This is a picture of where the measured values are higher or lower, not a measurement: no standard defines a
spatial PM2.5 field, and grid micro-sensors are indicative (docs/networks.md). Pure functions, no I/O.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

POWER = 2.0
RADIUS_KM = 15.0
MIN_NEIGHBOURS = 3
MIN_POINTS = 4
SNAP_KM = 0.05
KM_PER_DEG = 111.32
#: at most this many cells (the surface is sent inline with the page); the step grows to keep under it
MAX_CELLS = 2500
METHOD_TEXT = (f"反距离加权（IDW，幂 {POWER:g}），仅绘于点位凸包内且 {RADIUS_KM:g} 公里内至少 {MIN_NEIGHBOURS} 个点位的格网；"
               "网格微站为指示性数据，插值面仅示意高低分布，不是监测结果。")


@dataclass(frozen=True)
class Cell:
    """One grid cell of the surface: its centre, half its size in degrees and the interpolated value."""

    lon: float
    lat: float
    half_lon: float
    half_lat: float
    value: float


def idw(points: Sequence[tuple[float, float, float]], lon: float, lat: float, *, power: float = POWER) -> float:
    """IDW estimate at (lon, lat) from ``(lon, lat, value)`` points (see the module docstring).

    >>> idw([(120.0, 31.0, 10.0), (120.1, 31.0, 30.0)], 120.05, 31.0)
    20.0
    >>> idw([(120.0, 31.0, 10.0), (120.1, 31.0, 30.0)], 120.0, 31.0)
    10.0
    """
    if not points:
        raise ValueError("插值至少需要一个点")
    arr = np.asarray(points, dtype=float)
    d = _km(arr[:, 0], arr[:, 1], lon, lat, float(arr[:, 1].mean()))
    near = d < SNAP_KM
    if near.any():
        return float(arr[near, 2][np.argmin(d[near])])
    w = 1.0 / d**power
    return float(round((w * arr[:, 2]).sum() / w.sum(), 9))


def _km(lons: np.ndarray, lats: np.ndarray, lon: float | np.ndarray, lat: float | np.ndarray,
        mean_lat: float) -> np.ndarray:
    kx = KM_PER_DEG * math.cos(math.radians(mean_lat))
    return np.hypot((lons - lon) * kx, (lats - lat) * KM_PER_DEG)


def convex_hull(points: Sequence[tuple[float, float]]) -> list[tuple[float, float]]:
    """The convex hull (Andrew's monotone chain), counter-clockwise, without repeating the first point.

    >>> convex_hull([(0, 0), (2, 0), (1, 1), (2, 2), (0, 2)])
    [(0, 0), (2, 0), (2, 2), (0, 2)]
    """
    pts = sorted(set((float(x), float(y)) for x, y in points))
    if len(pts) < 3:
        return pts

    def cross(o: tuple[float, float], a: tuple[float, float], b: tuple[float, float]) -> float:
        return (a[0] - o[0]) * (b[1] - o[1]) - (a[1] - o[1]) * (b[0] - o[0])

    lower: list[tuple[float, float]] = []
    for p in pts:
        while len(lower) >= 2 and cross(lower[-2], lower[-1], p) <= 0:
            lower.pop()
        lower.append(p)
    upper: list[tuple[float, float]] = []
    for p in reversed(pts):
        while len(upper) >= 2 and cross(upper[-2], upper[-1], p) <= 0:
            upper.pop()
        upper.append(p)
    return lower[:-1] + upper[:-1]


def inside_hull(hull: Sequence[tuple[float, float]], x: np.ndarray, y: np.ndarray) -> np.ndarray:
    """Which of the points (x, y) lie inside or on a counter-clockwise convex hull."""
    inside = np.ones(np.shape(x), dtype=bool)
    if len(hull) < 3:
        return np.zeros(np.shape(x), dtype=bool)
    for (x0, y0), (x1, y1) in zip(hull, [*hull[1:], hull[0]]):
        inside &= (x1 - x0) * (y - y0) - (y1 - y0) * (x - x0) >= -1e-12
    return inside


def surface(points: Sequence[tuple[float, float, float]], *, step: float = 0.02, power: float = POWER,
            radius_km: float = RADIUS_KM, min_neighbours: int = MIN_NEIGHBOURS,
            max_cells: int = MAX_CELLS) -> list[Cell]:
    """The IDW surface over a grid of ``step`` degrees (grown if the hull would need more than ``max_cells``),
    only in cells inside the points' convex hull with ``min_neighbours`` points within ``radius_km``.

    Points whose value is missing or not finite are left out; duplicates of one position are averaged (two sensors
    on one pole count once). Fewer than :data:`MIN_POINTS` distinct positions → no surface (an empty list).
    """
    by_pos: dict[tuple[float, float], list[float]] = {}
    for lon, lat, v in points:
        if v is None or lon is None or lat is None:
            continue
        if not all(math.isfinite(float(t)) for t in (lon, lat, v)):
            continue
        by_pos.setdefault((float(lon), float(lat)), []).append(float(v))
    if len(by_pos) < MIN_POINTS:
        return []
    pts = np.array([(lon, lat, sum(vs) / len(vs)) for (lon, lat), vs in by_pos.items()])
    hull = convex_hull([(p[0], p[1]) for p in pts])
    if len(hull) < 3:
        return []
    lo_x, hi_x = pts[:, 0].min(), pts[:, 0].max()
    lo_y, hi_y = pts[:, 1].min(), pts[:, 1].max()
    while ((hi_x - lo_x) / step + 1) * ((hi_y - lo_y) / step + 1) > max_cells:
        step *= 1.25
    xs = np.arange(lo_x + step / 2, hi_x, step)
    ys = np.arange(lo_y + step / 2, hi_y, step)
    gx, gy = np.meshgrid(xs, ys)
    gx, gy = gx.ravel(), gy.ravel()
    keep = inside_hull(hull, gx, gy)
    gx, gy = gx[keep], gy[keep]
    if not len(gx):
        return []
    mean_lat = float(pts[:, 1].mean())
    d = _km(pts[:, 0][None, :], pts[:, 1][None, :], gx[:, None], gy[:, None], mean_lat)  # cells × points
    dense = (d <= radius_km).sum(axis=1) >= min_neighbours
    d, gx, gy = d[dense], gx[dense], gy[dense]
    snapped = d < SNAP_KM
    with np.errstate(divide="ignore"):
        w = np.where(snapped, 0.0, 1.0 / np.maximum(d, SNAP_KM) ** power)
    values = (w * pts[:, 2][None, :]).sum(axis=1) / w.sum(axis=1)
    any_snap = snapped.any(axis=1)
    if any_snap.any():
        values[any_snap] = pts[np.argmin(d[any_snap], axis=1), 2]
    half = step / 2
    return [Cell(round(float(x), 5), round(float(y), 5), round(half, 6), round(half, 6), round(float(v), 1))
            for x, y, v in zip(gx, gy, values)]
