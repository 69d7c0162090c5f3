"""The station map: a Vega-Lite spec with boundaries, an interpolated PM2.5 surface and toggled layers.

Drawn in a Mercator projection fitted to the city (its boundary box, else the stations' extent), so shapes and
distances look right at city scale. Layers, bottom to top:

1. **Boundaries** (optional): the city's districts filled pale, neighbouring cities outlined grey and clipped at
   the frame — a GeoJSON FeatureCollection inline or a URL the console serves (:mod:`.geo`). Without them the
   stations stand on plain coordinates (the package may be absent). Over them, the bureau's town (乡镇/街道)
   boundaries when imported: thin dashed outlines, names only on a wide map.
2. **PM2.5 surface** (optional, toggled): cells of :func:`.interpolate.surface`, coloured by the PM2.5 24-hour
   breakpoints of HJ 633 表1 (35/75/115/150/250 µg/m³) in the 附录A colours, translucent.
3. **Points** by layer, each toggled by a checkbox under the chart (:data:`LAYERS`): evaluation stations (and
   control sites) and town stations as circles/squares/triangles filled in the HJ 633 colour of their AQI with the
   number written inside; grid sensors small circles; enterprise outlets as crosses (they have no AQI). Water
   sections are diamonds in the colour of their GB 3838 class (:data:`.specs.WATER_CLASS_COLOURS`); a radio 专题
   (空气质量 / 地表水) shows either the air layers or the sections, each theme with its own legend.
4. **Labels**: station names placed by :func:`place_labels` so that they overlap neither each other nor a marker
   at the narrowest width the console draws (a phone); a name that finds no free place is left to the tooltip.
"""

from __future__ import annotations

import json
import math
from collections.abc import Mapping, Sequence
from typing import Any

from ..numbers import finite, integer
from ..standards.air_aqi import TABLES_2012, category
from .interpolate import Cell
from .specs import AQI_COLOURS, AQI_NAMES, NO_DATA, NO_DATA_COLOUR, WATER_CLASS_COLOURS, _chart

#: the point layers in drawing order: (key used by rows and params, Chinese name on the checkbox)
LAYERS: tuple[tuple[str, str], ...] = (("evaluation", "评价点位"), ("town", "乡镇站"), ("sensor", "网格微站"),
                                       ("water", "水质断面"), ("outlet", "企业排口"))
LAYER_NAMES = dict(LAYERS)
#: marker shapes of the kinds within the station layers
KIND_SHAPES = {"城市评价点位": "circle", "乡镇站": "square", "对照点": "triangle-up", "网格微站": "circle",
               "水质断面": "diamond", "企业排口": "cross"}
#: the width (px) at which labels must not collide: the phone (390 px screen minus the page's margins)
LABEL_WIDTH = 340
HEIGHT = 420
FONT_PX = 11
DISTRICT_FONT_PX = 11
#: marker radius (px) of a station with its AQI inside
MARKER_R = 11
PM25_BREAKS: tuple[float, ...] = tuple(TABLES_2012["pm25_24h"].conc[1:6])  # 35, 75, 115, 150, 250
SURFACE_OPACITY = 0.45
#: town outlines and names (thinner and lighter than the districts': they sit over them)
TOWN_STROKE = "#7A6F5D"
TOWN_FONT_PX = 10
#: town names are written only when the map is at least this wide (px): not on a phone, where they would cover it
TOWN_LABEL_MIN_WIDTH = 600
#: the width (px) at which town names must not collide (a desk's map panel)
TOWN_LABEL_WIDTH = 800
#: marker area (px²) of a water section: a diamond a little smaller than a station's circle
WATER_SIZE = 200
OUTLET_COLOUR = "#5D4037"
ANCHORS = ("right", "left", "top", "bottom")


def _merc(lat: float) -> float:
    return math.log(math.tan(math.pi / 4 + math.radians(lat) / 2))


def project(points: Sequence[tuple[float, float]], extent: tuple[float, float, float, float], width: float,
            height: float) -> list[tuple[float, float]]:
    """Pixel positions of (lon, lat) points in a Mercator projection of ``extent`` (w, s, e, n) fitted into
    width × height and centred, as Vega's ``fit`` does (approximately: Vega also keeps a margin for strokes).

    >>> project([(0.0, 0.0), (1.0, 0.0)], (0.0, -0.5, 1.0, 0.5), 100, 200)
    [(0.0, 100.0), (100.0, 100.0)]
    """
    w, s, e, n = extent
    dx = math.radians(max(e - w, 1e-6))
    dy = max(_merc(n) - _merc(s), 1e-6)
    k = min(width / dx, height / dy)
    ox = (width - dx * k) / 2
    oy = (height - dy * k) / 2
    return [(round(ox + math.radians(lon - w) * k, 6), round(oy + (_merc(n) - _merc(lat)) * k, 6))
            for lon, lat in points]


def _box(anchor: str, x: float, y: float, w: float, h: float, r: float) -> tuple[float, float, float, float]:
    gap = r + 2
    if anchor == "right":
        return x + gap, y - h / 2, x + gap + w, y + h / 2
    if anchor == "left":
        return x - gap - w, y - h / 2, x - gap, y + h / 2
    if anchor == "top":
        return x - w / 2, y - gap - h, x + w / 2, y - gap
    return x - w / 2, y + gap, x + w / 2, y + gap + h


def _overlap(a: tuple[float, float, float, float], b: tuple[float, float, float, float]) -> bool:
    return a[0] < b[2] and b[0] < a[2] and a[1] < b[3] and b[1] < a[3]


def place_labels(positions: Sequence[tuple[float, float]], names: Sequence[str], *,
                 markers: Sequence[tuple[float, float]] = (), blocked: Sequence[tuple[float, float, float, float]] = (),
                 width: float, height: float, font_px: float = FONT_PX, radius: float = MARKER_R) -> list[str | None]:
    """An anchor (right, left, top, bottom of its marker) for each label, or None where every place collides.

    Greedy in the given order (put the important stations first): a label's box (its characters at ``font_px``
    each) may overlap no placed label, no marker (``positions`` and the extra ``markers``, each a square of
    ``radius``), no ``blocked`` box (x0, y0, x1, y1: the district names) and must stay inside width × height.

    >>> place_labels([(50, 50), (60, 50)], ["甲站", "乙站"], width=200, height=100)
    ['left', 'right']
    >>> place_labels([(50, 50), (50, 50)], ["甲站", "乙站"], width=200, height=100)
    ['right', 'left']
    """
    placed: list[tuple[float, float, float, float]] = list(blocked)
    dots = [(x - radius, y - radius, x + radius, y + radius) for x, y in [*positions, *markers]]
    out: list[str | None] = []
    for i, ((x, y), name) in enumerate(zip(positions, names)):
        w, h = len(name) * font_px, font_px + 2
        choice = None
        for anchor in ANCHORS:
            b = _box(anchor, x, y, w, h, radius)
            if b[0] < 0 or b[1] < 0 or b[2] > width or b[3] > height:
                continue
            if any(_overlap(b, p) for p in placed):
                continue
            if any(_overlap(b, d) for j, d in enumerate(dots) if j != i):
                continue
            choice = anchor
            break
        if choice is not None:
            placed.append(_box(choice, x, y, w, h, radius))
        out.append(choice)
    return out


def _point_rows(rows: Sequence[Mapping]) -> list[dict[str, Any]]:
    values = []
    for r in rows:
        lon, lat = finite(r.get("lon"), strict=True), finite(r.get("lat"), strict=True)
        if lon is None or lat is None:
            continue
        layer = str(r.get("layer") or "evaluation")
        if layer not in LAYER_NAMES:
            raise ValueError(f"未知的图层：{layer!r}（应为 {'、'.join(LAYER_NAMES)}）")
        aqi = integer(r.get("aqi"))
        c = category(aqi)
        level = AQI_NAMES.index(c.name_zh) + 1 if c is not None else 0
        kind = str(r.get("kind") or LAYER_NAMES[layer])
        values.append({"name": str(r["name"]), "lon": lon, "lat": lat, "aqi": aqi, "layer": layer,
                       "layer_name": LAYER_NAMES[layer], "kind": kind, "shape": KIND_SHAPES.get(kind, "circle"),
                       "category": c.name_zh if c is not None else NO_DATA,
                       "aqi_text": "" if aqi is None else str(aqi), "ink": "white" if level >= 4 else "black",
                       "pm25": finite(r.get("pm25"), strict=True), "detail": str(r.get("detail") or "")})
    return values


def _water_rows(rows: Sequence[Mapping]) -> list[dict[str, Any]]:
    """The water sections as points of the ``water`` layer (rows without a position left out)."""
    values = []
    for r in rows:
        lon, lat = finite(r.get("lon"), strict=True), finite(r.get("lat"), strict=True)
        if lon is None or lat is None:
            continue
        klass = str(r.get("class") or NO_DATA)
        if klass not in WATER_CLASS_COLOURS:
            klass = NO_DATA
        factors = "、".join(r.get("factors") or ()) or "—"
        month = str(r.get("month") or "")
        values.append({"name": str(r["name"]), "lon": lon, "lat": lat, "aqi": None, "layer": "water",
                       "layer_name": LAYER_NAMES["water"], "kind": "水质断面", "shape": KIND_SHAPES["水质断面"],
                       "water_class": klass, "month": month or "—", "factors": factors,
                       "period_class": str(r.get("period_class") or "—"),
                       "detail": str(r.get("main_pollutants") or r.get("note") or ""),
                       "url": r.get("url") or None, "link": "点击标记打开断面所在行" if r.get("url") else "",
                       "anchor": "none"})
    return values


def _extent(values: list[dict[str, Any]], bbox: Sequence[float] | None) -> tuple[float, float, float, float]:
    if bbox:
        return float(bbox[0]), float(bbox[1]), float(bbox[2]), float(bbox[3])
    if not values:
        return 119.0, 31.0, 121.0, 32.0
    lons = [v["lon"] for v in values]
    lats = [v["lat"] for v in values]
    pad_x = max((max(lons) - min(lons)) * 0.08, 0.02)
    pad_y = max((max(lats) - min(lats)) * 0.08, 0.02)
    return min(lons) - pad_x, min(lats) - pad_y, max(lons) + pad_x, max(lats) + pad_y


def _centred(name: str, x: float, y: float, font_px: float) -> tuple[float, float, float, float]:
    half = len(name) * font_px / 2
    return x - half, y - font_px / 2 - 1, x + half, y + font_px / 2 + 1


def place_town_labels(labels: Sequence[tuple[str, float, float]], markers: Sequence[tuple[float, float]],
                      extent: tuple[float, float, float, float], width: float = TOWN_LABEL_WIDTH,
                      height: float = HEIGHT,
                      districts: Sequence[tuple[str, float, float]] = ()) -> list[tuple[str, float, float]]:
    """The town names that can be written centred on their label point at ``width`` × ``height`` without touching
    another kept name, a marker or a district's name (greedy in the given order; the rest stay in the tooltip).

    >>> place_town_labels([("甲镇", 120.0, 31.0), ("乙镇", 120.0001, 31.0)], [], (119.9, 30.9, 120.1, 31.1))
    [('甲镇', 120.0, 31.0)]
    >>> place_town_labels([("甲镇", 120.0, 31.0)], [], (119.9, 30.9, 120.1, 31.1), districts=[("某区", 120.0, 31.0)])
    []
    """
    pos = project([(lon, lat) for _, lon, lat in labels], extent, width, height)
    dots = [(x - MARKER_R, y - MARKER_R, x + MARKER_R, y + MARKER_R) for x, y in project(markers, extent, width, height)]
    dots += [_centred(n, x, y, DISTRICT_FONT_PX)
             for (n, _, _), (x, y) in zip(districts, project([(lo, la) for _, lo, la in districts], extent, width,
                                                             height))]
    placed: list[tuple[float, float, float, float]] = []
    out = []
    for (name, lon, lat), (x, y) in zip(labels, pos):
        box = _centred(name, x, y, TOWN_FONT_PX)
        if box[0] < 0 or box[2] > width or box[1] < 0 or box[3] > height:
            continue
        if any(_overlap(box, b) for b in [*placed, *dots]):
            continue
        placed.append(box)
        out.append((name, lon, lat))
    return out


def _square(c: Cell) -> dict[str, Any]:
    w, e, s, n = c.lon - c.half_lon, c.lon + c.half_lon, c.lat - c.half_lat, c.lat + c.half_lat
    ring = [[w, s], [w, n], [e, n], [e, s], [w, s]]  # clockwise, as d3-geo wants an exterior ring
    return {"type": "Feature", "geometry": {"type": "Polygon", "coordinates": [ring]},
            "properties": {"pm25": c.value}}


def param_name(layer: str) -> str:
    return f"show_{layer}"


def station_map(rows: Sequence[Mapping], title: str, *, boundaries: Mapping[str, Any] | str | None = None,
                bbox: Sequence[float] | None = None, surface: Sequence[Cell] = (),
                district_labels: Sequence[tuple[str, float, float]] = (), caption: str | None = None,
                water: Sequence[Mapping] = (), water_title: str = "水质类别", theme: str = "air",
                water_heading: str | None = None,
                towns: Mapping[str, Any] | str | None = None,
                town_labels: Sequence[tuple[str, float, float]] = ()) -> dict:
    """The map (module docstring).

    rows: ``{"name", "lon", "lat", "aqi": int | None, "layer": one of LAYERS' keys, "kind": 城市评价点位 / 乡镇站 /
    对照点 / 网格微站 / 水质断面 / 企业排口, "pm25", "detail"}``; rows without coordinates are left out.
    ``boundaries``: a FeatureCollection, or the URL of one (the console's cached route); ``bbox`` (w, s, e, n) the
    frame to fit (default: the FeatureCollection's ``bbox``, else the points' extent). ``surface``: IDW cells.
    ``district_labels``: ``(name, lon, lat)`` written in grey (:func:`.geo.district_labels`) where they touch no
    station label or marker (the stations' names come first).
    ``water``: the sections of :func:`qingshan.web.data.water_map.water_map` (``name``, ``lon``, ``lat``, ``class``
    Ⅰ…劣Ⅴ, ``month``, ``factors``, ``period_class``, ``url``): diamonds filled in their class colour (legend
    ``water_title``), shown instead of the air layers when the radio 专题 is on 地表水 (``theme``: the initial one,
    ``air`` or ``water``); a click on one opens its ``url`` (the console's chart script).
    ``towns``: the bureau's town (乡镇/街道) boundaries, a FeatureCollection or its URL, outlined thinly over the
    districts; ``town_labels`` ``(name, lon, lat)`` are written only where the map is drawn at least
    :data:`TOWN_LABEL_MIN_WIDTH` px wide (a desk; a phone shows the outlines and the names in the tooltip), and only
    those that touch no other town's name or a station marker there (:func:`place_town_labels`).
    """
    values = _point_rows(rows) + _water_rows(water)
    if bbox is None and isinstance(boundaries, Mapping):
        bbox = boundaries.get("bbox")
    extent = _extent(values, bbox)
    labelled = [v for v in values if v["layer"] in ("evaluation", "town")]
    order = sorted(range(len(labelled)), key=lambda i: (labelled[i]["layer"] != "evaluation",
                                                        labelled[i]["kind"] == "对照点", labelled[i]["name"]))
    pos = project([(v["lon"], v["lat"]) for v in labelled], extent, LABEL_WIDTH, HEIGHT)
    others = project([(v["lon"], v["lat"]) for v in values if v["layer"] not in ("evaluation", "town")], extent,
                     LABEL_WIDTH, HEIGHT)
    anchors = place_labels([pos[i] for i in order], [labelled[i]["name"] for i in order], markers=others,
                           width=LABEL_WIDTH, height=HEIGHT)
    # the district names yield to the stations: one that would touch a station's label or marker is not written
    taken = [_box(a, *pos[i], len(labelled[i]["name"]) * FONT_PX, FONT_PX + 2, MARKER_R)
             for i, a in zip(order, anchors) if a] + [
        (x - MARKER_R, y - MARKER_R, x + MARKER_R, y + MARKER_R) for x, y in [*pos, *others]]
    districts = project([(lon, lat) for _, lon, lat in district_labels], extent, LABEL_WIDTH, HEIGHT)
    district_labels = [d for d, (x, y) in zip(district_labels, districts)
                       if not any(_overlap((x - len(d[0]) * DISTRICT_FONT_PX / 2, y - DISTRICT_FONT_PX / 2 - 1,
                                            x + len(d[0]) * DISTRICT_FONT_PX / 2, y + DISTRICT_FONT_PX / 2 + 1), t)
                                  for t in taken)]
    for i, a in zip(order, anchors):
        labelled[i]["anchor"] = a or "none"
    for v in values:
        v.setdefault("anchor", "none")

    w, s, e, n = extent
    fit = {"type": "Feature", "geometry": {"type": "MultiPoint", "coordinates": [[w, s], [e, n], [w, n], [e, s]]},
           "properties": {}}
    present = [k for k, _ in LAYERS if any(v["layer"] == k for v in values)]
    has_water = "water" in present
    params: list[dict[str, Any]] = []
    if has_water:  # the two themes have legends of their own: one at a time on the map
        params.append({"name": "theme", "value": "water" if theme == "water" else "air",
                       "bind": {"input": "radio", "options": ["air", "water"], "labels": ["空气质量", "地表水"],
                                "name": "专题 "}})
    air_on = "theme === 'air' && " if has_water else ""
    params += [
        {"name": param_name(k), "value": k != "sensor" or not surface,
         "bind": {"input": "checkbox", "name": f"{LAYER_NAMES[k]} "}} for k in present if k != "water"]
    if surface:
        params.append({"name": "show_surface", "value": True, "bind": {"input": "checkbox", "name": "PM2.5 插值面 "}})
    show = " || ".join("(theme === 'water' && datum.layer === 'water')" if k == "water" else
                       f"({air_on if k != 'outlet' else ''}{param_name(k)} && datum.layer === '{k}')"
                       for k in present) or "false"
    geo = {"longitude": {"field": "lon", "type": "quantitative"},
           "latitude": {"field": "lat", "type": "quantitative"}}
    tooltip = [{"field": "name", "title": "名称"}, {"field": "layer_name", "title": "图层"},
               {"field": "kind", "title": "类型"}, {"field": "aqi", "type": "quantitative", "title": "AQI"},
               {"field": "category", "title": "类别"}, {"field": "pm25", "type": "quantitative", "title": "PM2.5"},
               {"field": "detail", "title": "说明"}]
    colour = {"field": "category", "type": "nominal", "title": "空气质量类别",
              "scale": {"domain": [*AQI_NAMES, NO_DATA], "range": [*AQI_COLOURS, NO_DATA_COLOUR]},
              "legend": {"orient": "bottom", "columns": 3, "symbolType": "circle"}}
    layers: list[dict[str, Any]] = []
    if boundaries is not None:
        data = ({"url": boundaries, "format": {"type": "json", "property": "features"}} if isinstance(boundaries, str)
                else {"values": list(boundaries.get("features", []))})
        layers.append({
            "data": data, "mark": {"type": "geoshape", "clip": True, "strokeWidth": 0.8},
            "encoding": {
                "fill": {"condition": {"test": "datum.properties.kind === '区县'", "value": "#F4F1EA"},
                         "value": "#FAFAFA"},
                "stroke": {"condition": {"test": "datum.properties.kind === '区县'", "value": "#8C7B62"},
                           "value": "#C8C8C8"},
                "tooltip": [{"field": "properties.name", "title": "行政区"}]}})
    if towns is not None:
        data = ({"url": towns, "format": {"type": "json", "property": "features"}} if isinstance(towns, str)
                else {"values": list(towns.get("features", []))})
        layers.append({"data": data,
                       "mark": {"type": "geoshape", "clip": True, "filled": False, "stroke": TOWN_STROKE,
                                "strokeWidth": 0.6, "strokeDash": [3, 2]},
                       "encoding": {"tooltip": [{"field": "properties.name", "title": "乡镇（街道）"}]}})
    if surface:
        layers.append({
            "data": {"values": [_square(c) for c in surface]},
            "transform": [{"filter": f"{air_on}show_surface"}],
            "mark": {"type": "geoshape", "clip": True, "opacity": SURFACE_OPACITY, "strokeWidth": 0},
            "encoding": {"fill": {"field": "properties.pm25", "type": "quantitative", "title": "PM2.5 插值（µg/m³）",
                                   "scale": {"type": "threshold", "domain": list(PM25_BREAKS),
                                             "range": list(AQI_COLOURS)},
                                   "legend": {"orient": "top", "format": "d", "gradientLength": 180}},
                         "tooltip": [{"field": "properties.pm25", "type": "quantitative", "title": "PM2.5 插值"}]}})
    # the big markers (stations with their AQI, water sections) keep their place; small sensors may be covered
    kept_towns = place_town_labels(town_labels, [(v["lon"], v["lat"]) for v in values if v["layer"] != "sensor"],
                                   extent, districts=district_labels)
    if kept_towns:
        layers.append({"data": {"values": [{"name": n, "lon": lon, "lat": lat} for n, lon, lat in kept_towns]},
                       "transform": [{"filter": f"width >= {TOWN_LABEL_MIN_WIDTH}"}],
                       "mark": {"type": "text", "fontSize": TOWN_FONT_PX, "color": TOWN_STROKE, "aria": False},
                       "encoding": {**geo, "text": {"field": "name"}}})
    if district_labels:
        layers.append({"data": {"values": [{"name": n, "lon": lon, "lat": lat} for n, lon, lat in district_labels]},
                       "mark": {"type": "text", "fontSize": DISTRICT_FONT_PX, "color": "#6B5E4A", "opacity": 0.8},
                       "encoding": {**geo, "text": {"field": "name"}}})
    visible = [{"filter": show}]
    layers += [
        {"transform": [*visible, {"filter": "datum.layer === 'sensor'"}],
         "mark": {"type": "point", "filled": True, "size": 60, "stroke": "#333", "strokeWidth": 0.5, "opacity": 1,
                  "aria": False},  # may be empty: an empty SVG group keeps its ARIA role without a label (axe)
         "encoding": {**geo, "color": colour, "tooltip": tooltip}},
        {"transform": [*visible, {"filter": "datum.layer === 'outlet'"}],
         "mark": {"type": "point", "filled": True, "size": 110, "stroke": "white", "strokeWidth": 0.8,
                  "aria": False},
         "encoding": {**geo, "shape": {"field": "shape", "type": "nominal", "scale": None},
                      "color": {"value": OUTLET_COLOUR}, "tooltip": tooltip}},
        {"transform": [*visible, {"filter": "datum.layer === 'evaluation' || datum.layer === 'town'"}],
         "mark": {"type": "point", "filled": True, "size": (2 * MARKER_R) ** 2, "stroke": "#333",
                  "strokeWidth": 0.8, "opacity": 1},
         "encoding": {**geo, "color": colour, "shape": {"field": "shape", "type": "nominal", "scale": None},
                      "tooltip": tooltip}},
        {"transform": [*visible, {"filter": "datum.layer === 'evaluation' || datum.layer === 'town'"}],
         "mark": {"type": "text", "fontSize": 10, "fontWeight": "bold", "baseline": "middle"},
         "encoding": {**geo, "text": {"field": "aqi_text"}, "color": {"field": "ink", "type": "nominal",
                                                                       "scale": None}}},
    ]
    if has_water:
        classes = [*WATER_CLASS_COLOURS, NO_DATA]
        layers.append({
            "transform": [*visible, {"filter": "datum.layer === 'water'"}],
            # the sections' text alternative is the list under the map (with links): no ARIA on marks that are
            # hidden (an empty group) while the air theme is on
            "mark": {"type": "point", "filled": True, "size": WATER_SIZE, "stroke": "#333", "strokeWidth": 0.8,
                     "opacity": 1, "cursor": "pointer", "aria": False},
            "encoding": {**geo, "shape": {"field": "shape", "type": "nominal", "scale": None},
                         "fill": {"field": "water_class", "type": "nominal", "title": water_title,
                                  "scale": {"domain": classes,
                                            "range": [*WATER_CLASS_COLOURS.values(), NO_DATA_COLOUR]},
                                  # two columns: beside the AQI legend on a phone's width
                                  "legend": {"orient": "bottom", "columns": 2, "symbolType": "diamond"}},
                         "tooltip": [{"field": "name", "title": "断面"}, {"field": "water_class", "title": "水质类别"},
                                     {"field": "month", "title": "监测月份"}, {"field": "factors", "title": "定类因子"},
                                     {"field": "period_class", "title": "时段类别"},
                                     {"field": "detail", "title": "说明"}, {"field": "link", "title": "详情"}]}})
    gap = MARKER_R + 2
    offsets = {"right": {"dx": gap, "align": "left", "baseline": "middle"},
               "left": {"dx": -gap, "align": "right", "baseline": "middle"},
               "top": {"dy": -gap, "align": "center", "baseline": "bottom"},
               "bottom": {"dy": gap, "align": "center", "baseline": "top"}}
    for anchor, props in offsets.items():
        layers.append({"transform": [*visible, {"filter": f"datum.anchor === '{anchor}'"}],
                       "mark": {"type": "text", "fontSize": FONT_PX, **props},
                       "encoding": {**geo, "text": {"field": "name"}}})
    extra = {"resolve": {"scale": {"fill": "independent"}}} if has_water else {}
    spec = _chart(title, values, width=LABEL_WIDTH + 120, height=HEIGHT,
                  projection={"type": "mercator", "fit": fit}, params=params, layer=layers, **extra)
    if has_water and water_heading:  # the heading follows the radio 专题
        spec["title"]["text"] = {"expr": f"theme === 'water' ? {json.dumps(water_heading, ensure_ascii=False)} : "
                                         f"{json.dumps(title, ensure_ascii=False)}"}
    spec["usermeta"] = {"layers": present, "extent": list(extent), "surface_cells": len(surface),
                        "caption": caption or ""}
    return spec

