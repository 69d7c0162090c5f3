"""The cause note's map (charts/alarm_map.py) and its place on the alarm page's data: the upwind wedge, the scale
bar, the labelled points with coordinates."""

from __future__ import annotations

import math

import pytest

from qingshan.alerts.explain import explain
from qingshan.alerts.neighbours import haversine_km
from qingshan.alerts.scenarios import generate
from qingshan.alerts.wind import bearing, in_sector
from qingshan.charts.alarm_map import alarm_map, destination, scale_km, wedge
from qingshan.charts.render import to_svg
from qingshan.web.pages import charts

from .explain_fixtures import scenario_store


def test_destination_lands_at_the_distance_and_bearing() -> None:
    for b in (0.0, 45.0, 135.0, 270.0, 313.0):
        lon, lat = destination(120.0, 31.8, b, 30.0)
        assert haversine_km(120.0, 31.8, lon, lat) == pytest.approx(30.0, abs=0.01)
        assert bearing(120.0, 31.8, lon, lat) == pytest.approx(b, abs=0.1)


def _shoelace(ring: list[list[float]]) -> float:
    """Signed area in lon/lat: negative for a clockwise ring (east right, north up)."""
    return sum(x0 * y1 - x1 * y0 for (x0, y0), (x1, y1) in zip(ring, ring[1:])) / 2


def test_wedge_spans_the_upwind_sector_and_winds_clockwise() -> None:
    lon, lat, wind_from = 120.0, 31.8, 350.0  # a sector across north: 305° … 35°
    ring = wedge(lon, lat, wind_from, 30.0)["geometry"]["coordinates"][0]
    assert ring[0] == ring[-1] == [lon, lat]
    arc = ring[1:-1]
    assert all(haversine_km(lon, lat, x, y) == pytest.approx(30.0, abs=0.01) for x, y in arc)
    bearings = [bearing(lon, lat, x, y) for x, y in arc]
    assert bearings[0] == pytest.approx(305.0, abs=0.1) and bearings[-1] == pytest.approx(35.0, abs=0.1)
    assert all(in_sector(b, wind_from) for b in bearings[1:-1])  # the ends lie on the edges (± rounding)
    # d3-geo reads an anticlockwise ring as the whole globe but the wedge: the map would zoom out to the Earth
    assert _shoelace(ring) < 0


def test_scale_bar_is_a_round_length_of_about_a_quarter_of_the_span() -> None:
    assert [scale_km(s) for s in (1.0, 9.0, 45.0, 70.0, 300.0)] == [0.5, 2, 10, 10, 50]


POINTS = [
    {"kind": "station", "name": "本站", "lon": 120.0, "lat": 31.8, "value": 120.0},
    {"kind": "neighbour", "name": "邻站", "lon": 120.1, "lat": 31.85, "value": 40.0},
    {"kind": "neighbour", "name": "无坐标", "lon": None, "lat": None, "value": 10.0},
    {"kind": "outlet", "name": "某厂1号排口", "lon": 119.9, "lat": 31.9, "value": 95.5, "label": "二氧化硫 95.5"},
]


def test_map_spec_labels_every_located_point_and_draws_offline() -> None:
    spec = alarm_map(POINTS, "地图", "µg/m³", wind_from=315.0, radius_km=30.0)
    layers = spec["layer"]
    assert layers[0]["mark"]["type"] == "geoshape"
    points = layers[-1]["data"]["values"]
    assert [p["text"] for p in points] == ["本站 120", "邻站 40", "某厂1号排口 二氧化硫 95.5"]
    bar = layers[1]["data"]["values"][0]
    km = haversine_km(bar["lon"], bar["lat"], bar["lon2"], bar["lat2"])
    assert km == pytest.approx(float(bar["text"].split()[0]), rel=1e-3)
    # nothing fetched: no tiles, no boundary file — every layer's data is inline
    assert all("values" in lay["data"] and "url" not in lay["data"] for lay in layers)
    svg = to_svg(spec)
    assert "某厂1号排口" in svg and "km" in svg


def test_calm_draws_no_wedge() -> None:
    spec = alarm_map(POINTS, "地图", "µg/m³", wind_from=None)
    assert all(lay.get("mark", {}).get("type") != "geoshape" for lay in spec["layer"])
    with pytest.raises(ValueError):
        alarm_map([POINTS[2]], "地图", "µg/m³")


def test_note_map_puts_the_candidate_source_inside_the_drawn_wedge() -> None:
    sc = generate("industry", 1)
    note = explain(scenario_store(sc), "S00", sc.at)
    assert note.candidates, "the industry scenario has an upwind outlet"
    pts = {p["kind"]: p for p in note.map_points}
    outlet, home = pts["outlet"], pts["station"]
    assert outlet["lon"] is not None and outlet["value"] == pytest.approx(note.candidates[0].recent, abs=0.01)
    assert home["value"] is not None
    assert all(p["value"] is not None for p in note.map_points if p["kind"] == "neighbour")
    spec = charts.note_map(note)["spec"]
    ring = spec["layer"][0]["data"]["values"][0]["geometry"]["coordinates"][0]
    b = bearing(home["lon"], home["lat"], outlet["lon"], outlet["lat"])
    lo, hi = (bearing(home["lon"], home["lat"], *ring[1]), bearing(home["lon"], home["lat"], *ring[-2]))
    assert math.fmod(b - lo + 360, 360) <= math.fmod(hi - lo + 360, 360)
    assert charts.note_rose(note)["name"] == "pollution-rose"


def test_a_source_with_two_rising_factors_is_one_labelled_point() -> None:
    class Note:  # the fields note_map reads
        rose_pollutant, station_name, wind, sector = "pm10", "本站", None, None
        map_points = [{"kind": "station", "id": "S", "name": "本站", "lon": 120.0, "lat": 31.8, "value": 150.0},
                      {"kind": "dust", "id": "D1", "name": "某工地", "lon": 120.02, "lat": 31.81, "factor_zh": "PM10",
                       "value": 420.0},
                      {"kind": "dust", "id": "D1", "name": "某工地", "lon": 120.02, "lat": 31.81, "factor_zh": "PM2.5",
                       "value": 80.0}]

    spec = charts.note_map(Note())["spec"]
    texts = [p["text"] for p in spec["layer"][-1]["data"]["values"]]
    assert texts == ["本站 150", "某工地 PM10 420.0、PM2.5 80.0"]
