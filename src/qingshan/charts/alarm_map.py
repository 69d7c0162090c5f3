"""The map of the cause note (docs/alerts.md "The alarm page"): the station, its neighbours and the candidate
sources at their coordinates, the upwind sector drawn as a wedge of ± :data:`SECTOR_HALF_WIDTH` around the
vector-mean wind direction, every point labelled with its value, and a scale bar.

Offline by construction: no tiles, no base map, no boundary file (the repository holds no district boundaries);
a Mercator projection of the points' own extent keeps local shapes and distances true, so the wedge's angle and
the scale bar drawn as a line of known length on the ground read correctly at any width the page gives the chart.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from typing import Any

from ..numbers import finite
from .specs import _chart

#: half-width of the upwind sector drawn (degrees); the cause note uses the same ± 45° (alerts.wind)
SECTOR_HALF_WIDTH = 45.0
EARTH_RADIUS_KM = 6371.0088
#: point kinds → legend text, in legend order
KIND_ZH = {"station": "本站", "neighbour": "邻近站点", "outlet": "污染源排口", "dust": "工地扬尘监测", "grid": "网格微站"}
KIND_SHAPE = {"station": "diamond", "neighbour": "circle", "outlet": "triangle-up", "dust": "square", "grid": "cross"}
KIND_COLOUR = {"station": "#111111", "neighbour": "#7F8C8D", "outlet": "#C0392B", "dust": "#D68910", "grid": "#8E44AD"}
WEDGE_COLOUR = "#F5B041"
NICE_KM = (0.5, 1, 2, 5, 10, 20, 50)


def destination(lon: float, lat: float, bearing_deg: float, km: float) -> tuple[float, float]:
    """The point ``km`` from (lon, lat) along the initial bearing (great circle on the IUGG mean sphere)."""
    d, b = km / EARTH_RADIUS_KM, math.radians(bearing_deg)
    p1, l1 = math.radians(lat), math.radians(lon)
    p2 = math.asin(math.sin(p1) * math.cos(d) + math.cos(p1) * math.sin(d) * math.cos(b))
    l2 = l1 + math.atan2(math.sin(b) * math.sin(d) * math.cos(p1), math.cos(d) - math.sin(p1) * math.sin(p2))
    return (math.degrees(l2) + 540) % 360 - 180, math.degrees(p2)


def wedge(lon: float, lat: float, wind_from: float, radius_km: float, steps: int = 18) -> dict[str, Any]:
    """GeoJSON Feature of the upwind sector: from the station out to ``radius_km`` between ``wind_from`` ∓ the
    half-width. The ring runs clockwise on the map (bearing increasing), as d3-geo wants an exterior ring; the
    other winding would mean "the whole globe but the wedge"."""
    ring = [[lon, lat]]
    for k in range(steps + 1):
        b = wind_from - SECTOR_HALF_WIDTH + 2 * SECTOR_HALF_WIDTH * k / steps
        ring.append(list(destination(lon, lat, b, radius_km)))
    ring.append([lon, lat])
    return {"type": "Feature", "properties": {"name": "上风向扇区"}, "geometry": {"type": "Polygon", "coordinates": [ring]}}


def scale_km(span_km: float) -> float:
    """A round scale-bar length of about a quarter of the map's east–west span."""
    target = max(span_km / 4, 0.1)
    return max((k for k in NICE_KM if k <= target), default=NICE_KM[0])


def alarm_map(points: Sequence[Mapping[str, Any]], title: str, unit: str, *, wind_from: float | None = None,
              radius_km: float = 30.0, size: int = 340) -> dict:
    """Vega-Lite spec of the note's map.

    points: ``{"kind": station|neighbour|outlet|dust|grid, "name", "lon", "lat", "value": float | None,
    "label": str | None}`` — ``label`` replaces the value text (a source's "SO2 92 ×3.1"). Points without
    coordinates are left out. ``wind_from``: the vector-mean direction the wind comes from (degrees); none: calm,
    no sector drawn.
    """
    values: list[dict[str, Any]] = []
    for p in points:
        lon, lat = finite(p.get("lon")), finite(p.get("lat"))
        if lon is None or lat is None:
            continue
        v = finite(p.get("value"))
        label = p.get("label") or ("" if v is None else f"{v:g}")
        kind = str(p["kind"])
        values.append({"lon": lon, "lat": lat, "name": str(p.get("name") or ""), "kind": KIND_ZH.get(kind, kind),
                       "value": v, "text": f"{p.get('name') or ''} {label}".strip()})
    if not values:
        raise ValueError("地图没有带坐标的点位")
    home = next((v for v in values if v["kind"] == KIND_ZH["station"]), values[0])
    layers: list[dict[str, Any]] = []
    lons, lats = [v["lon"] for v in values], [v["lat"] for v in values]
    if wind_from is not None and math.isfinite(wind_from):
        w = wedge(home["lon"], home["lat"], wind_from, radius_km)
        lons += [c[0] for c in w["geometry"]["coordinates"][0]]
        lats += [c[1] for c in w["geometry"]["coordinates"][0]]
        layers.append({"data": {"values": [w]}, "mark": {"type": "geoshape", "fill": WEDGE_COLOUR, "fillOpacity": 0.25,
                                                         "stroke": WEDGE_COLOUR, "strokeWidth": 1}})
    # the scale bar: a horizontal line of a round length in km on the ground, under the south-west corner
    west, south, north = min(lons), min(lats), max(lats)
    span_km = (max(lons) - west) * math.cos(math.radians(home["lat"])) * math.pi / 180 * EARTH_RADIUS_KM
    bar = scale_km(span_km)
    y = south - (north - south) * 0.06
    east = destination(west, y, 90.0, bar)[0]
    layers.append({"data": {"values": [{"lon": west, "lat": y, "lon2": east, "lat2": y, "text": f"{bar:g} km"}]},
                   "layer": [
                       {"mark": {"type": "rule", "strokeWidth": 3, "color": "#333"},
                        "encoding": {"longitude": {"field": "lon", "type": "quantitative"},
                                     "latitude": {"field": "lat", "type": "quantitative"},
                                     "longitude2": {"field": "lon2"}, "latitude2": {"field": "lat2"}}},
                       {"mark": {"type": "text", "dy": -8, "align": "left", "fontSize": 10},
                        "encoding": {"longitude": {"field": "lon", "type": "quantitative"},
                                     "latitude": {"field": "lat", "type": "quantitative"},
                                     "text": {"field": "text"}}}]})
    # room for the labels: invisible corners a little outside the drawn extent, which the projection's fit takes in
    east_all, north_all = max(lons), max(lats + [north])
    dx, dy = (east_all - west) * 0.12 or 0.01, (north_all - y) * 0.06 or 0.01
    frame = [{"lon": x, "lat": yy} for x in (west - dx, east_all + dx) for yy in (y - dy, north_all + dy)]
    layers.append({"data": {"values": frame}, "mark": {"type": "point", "opacity": 0},
                   "encoding": {"longitude": {"field": "lon", "type": "quantitative"},
                                "latitude": {"field": "lat", "type": "quantitative"}}})
    kinds = [KIND_ZH[k] for k in KIND_ZH if KIND_ZH[k] in {v["kind"] for v in values}]
    kind_keys = [k for k in KIND_ZH if KIND_ZH[k] in kinds]
    geo = {"longitude": {"field": "lon", "type": "quantitative"}, "latitude": {"field": "lat", "type": "quantitative"}}
    layers.append({"data": {"values": values}, "layer": [
        {"mark": {"type": "point", "filled": True, "size": 120, "opacity": 1, "stroke": "white", "strokeWidth": 0.8},
         "encoding": {**geo,
                      "shape": {"field": "kind", "type": "nominal", "title": "点位",
                                "scale": {"domain": kinds, "range": [KIND_SHAPE[k] for k in kind_keys]}},
                      "color": {"field": "kind", "type": "nominal", "title": "点位",
                                "scale": {"domain": kinds, "range": [KIND_COLOUR[k] for k in kind_keys]}},
                      "tooltip": [{"field": "kind", "title": "类型"}, {"field": "name", "title": "名称"},
                                  {"field": "value", "type": "quantitative", "title": f"数值（{unit}）"}]}},
        # the station's own label under it, every other one above: a source next to the station stays readable
        {"transform": [{"filter": {"field": "kind", "equal": KIND_ZH["station"]}}],
         "mark": {"type": "text", "dy": 14, "fontSize": 10, "fontWeight": "bold", "limit": 200},
         "encoding": {**geo, "text": {"field": "text"}}},
        {"transform": [{"filter": {"not": {"field": "kind", "equal": KIND_ZH["station"]}}}],
         "mark": {"type": "text", "dy": -11, "fontSize": 10, "limit": 200},
         "encoding": {**geo, "text": {"field": "text"}}},
    ]})
    spec = _chart(title, [], width=size, height=size, projection={"type": "mercator"}, layer=layers)
    del spec["data"]  # every layer has its own
    return spec
