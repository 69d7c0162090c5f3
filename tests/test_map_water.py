"""The map's water layer (issue 15): ``/api/v1/water/map`` (schema in the OpenAPI document) gives the sections with a
position, coloured by the class of their latest evaluated month as the water evaluation computes it, with the items
that set it; the sections without a position are listed; ``/map`` draws the same sections under a 专题 radio and
lists them (with links to their rows on ``/water``) and says how many it cannot place."""

from __future__ import annotations

import json
import re

import pytest
from fastapi.testclient import TestClient

from qingshan.charts.specs import NO_DATA, WATER_CLASS_COLOURS

from .map_fixtures import EXPECTED, build_map_workspace


@pytest.fixture(scope="module")
def client(tmp_path_factory):
    from qingshan.web.app import create_console_app

    ws = build_map_workspace(tmp_path_factory.mktemp("map-water") / "ws")
    app = create_console_app(ws, warm=False, bundle_cache_dir=tmp_path_factory.mktemp("bundle"))
    with TestClient(app) as c:
        yield c


def map_spec(html: str) -> dict:
    m = re.search(r'data-chart="station-map-full">.*?<script type="application/json" class="chart-spec">(.*?)</script>',
                  html, re.S)
    assert m
    return json.loads(m.group(1))


def test_api_gives_positions_latest_month_class_and_factors(client):
    from qingshan.web.api.water import WaterMap

    r = client.get("/api/v1/water/map")
    assert r.status_code == 200, r.text
    body = r.json()
    WaterMap.model_validate(body)  # the documented schema holds
    assert body["year"] == 2025 and body["period"] == "2025" and body["dates"] == {"start": "2025-01-01",
                                                                                 "end": "2025-12-31"}
    got = {s["section"]: s for s in body["sections"]}
    assert set(got) == set(EXPECTED)
    for sec, (month, klass, period_class) in EXPECTED.items():
        s = got[sec]
        assert (s["month"], s["class"], s["period_class"]) == (month, klass, period_class)
        assert s["colour"] == WATER_CLASS_COLOURS[klass] and s["factors"] == ["氨氮"]
        assert s["url"] == f"/water?year=2025#section-{sec}"
    assert (got["QH01"]["lon"], got["QH01"]["lat"]) == (119.99, 31.75)
    assert got["BL02"]["ink"] == "#FFFFFF" and got["QH01"]["ink"] == "#1F2933"  # readable on the class colour
    assert body["without_coordinates"] == [{"section": "WM03", "name": "无名闸"}]
    # January alone: BL02 was Ⅲ then
    jan = {s["section"]: s for s in client.get("/api/v1/water/map", params={"period": "2025-01"}).json()["sections"]}
    assert (jan["BL02"]["month"], jan["BL02"]["class"]) == ("2025-01", "Ⅲ")
    assert jan["BL02"]["url"] == "/water?period=2025-01#section-BL02"
    # a year without samples: the sections keep their places, without a class
    empty = client.get("/api/v1/water/map", params={"year": 2024}).json()
    assert {s["class"] for s in empty["sections"]} == {NO_DATA} and all(s["url"] is None for s in empty["sections"])
    schema = client.get("/api/v1/openapi.json").json()
    assert "WaterMap" in schema["components"]["schemas"] and "/api/v1/water/map" in schema["paths"]


def test_map_page_draws_the_sections_under_a_theme_radio_and_lists_them(client):
    page = client.get("/map")
    assert page.status_code == 200
    spec = map_spec(page.text)
    theme = next(p for p in spec["params"] if p["name"] == "theme")
    assert theme["value"] == "air" and theme["bind"]["input"] == "radio"
    heading = spec["title"]["text"]["expr"]  # the heading follows the theme (it said "AQI 分布" over the sections)
    assert heading.startswith("theme === 'water' ? \"") and "地表水断面水质类别" in heading and "实时 AQI 分布" in heading
    water = [v for v in spec["data"]["values"] if v["layer"] == "water"]
    api = client.get("/api/v1/water/map").json()["sections"]
    assert sorted((v["name"], v["lon"], v["lat"], v["water_class"]) for v in water) == \
        sorted((s["name"], s["lon"], s["lat"], s["class"]) for s in api)
    fills = [lay["encoding"]["fill"] for lay in spec["layer"] if "fill" in lay.get("encoding", {})
             and lay["encoding"]["fill"].get("field") == "water_class"]
    assert len(fills) == 1 and fills[0]["scale"]["range"][:6] == list(WATER_CLASS_COLOURS.values())
    assert fills[0]["title"] == "水质类别"
    assert "水质断面（菱形）按 GB 3838 类别着色：2025 内最新监测月份的月均值定类" in spec["usermeta"]["caption"]
    assert spec["resolve"] == {"scale": {"fill": "independent"}}
    assert 'data-unplaced="1"' in page.text and "1 个断面无坐标" in page.text and "无名闸" in page.text
    assert '<a href="/water?year=2025#section-BL02">白鹭渡</a>' in page.text
    # opening on the water theme
    assert next(p for p in map_spec(client.get("/map", params={"theme": "water"}).text)["params"]
                if p["name"] == "theme")["value"] == "water"
    # the row the link points at
    assert 'id="section-BL02"' in client.get("/water", params={"year": 2025}).text
