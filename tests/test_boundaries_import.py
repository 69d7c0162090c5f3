"""Town (乡镇/街道) boundaries from the bureau's GIS file (issue 15): ``qingshan import boundaries`` checks the file
(FeatureCollection of Polygon/MultiPolygon, a name property, WGS-84/CGCS2000, closed rings, positions inside China)
and stores it in the workspace; a bad file is refused with one line and the stored boundaries stay; the same file
again writes nothing; ``/map`` draws the outlines over the districts (names only on a wide map) and without a file
is as before. The test data are two squares constructed here."""

from __future__ import annotations

import copy
import json

import pytest
from fastapi.testclient import TestClient
from typer.testing import CliRunner

from qingshan.charts import station_map as M
from qingshan.cli import app as cli_app
from qingshan.ingest.boundaries import BoundaryError, import_boundaries, towns_path

from .map_fixtures import TOWNS, build_map_workspace, square, two_squares, write_geojson


def test_two_squares_are_stored_with_their_names_and_again_changes_nothing(tmp_path):
    ws = tmp_path / "ws"
    src = write_geojson(tmp_path / "乡镇.geojson", two_squares())
    r = import_boundaries(ws, src)
    assert (r.features, r.name_property, r.unchanged) == (2, "名称", False)
    assert r.path == towns_path(ws) == ws / "boundaries" / "towns.geojson"
    assert r.bbox == (119.56, 31.48, 119.80, 31.60)
    stored = json.loads(r.path.read_text(encoding="utf-8"))
    assert [f["properties"] for f in stored["features"]] == [{"name": TOWNS[0]}, {"name": TOWNS[1]}]
    assert {f["geometry"]["type"] for f in stored["features"]} == {"MultiPolygon"}
    assert stored["source"] == "乡镇.geojson"
    before = r.path.stat().st_mtime_ns
    again = import_boundaries(ws, src)
    assert again.unchanged and r.path.stat().st_mtime_ns == before
    # a configurable name property; CGCS2000 (EPSG:4490) is accepted as geographic
    for crs in ("urn:ogc:def:crs:EPSG::4490", "urn:ogc:def:crs:OGC:1.3:CRS84", "EPSG:4326"):
        other = write_geojson(tmp_path / "xzq.geojson", two_squares("XZQMC2", crs={"type": "name", "properties": {
            "name": crs}}))
        assert import_boundaries(ws, other, "XZQMC2").features == 2


def broken(kind: str) -> dict:
    doc = two_squares()
    g1 = doc["features"][1]["geometry"]
    if kind == "open ring":
        g1["coordinates"][0][0] = g1["coordinates"][0][0][:-1]
    elif kind == "projected":
        doc["features"][0]["geometry"]["coordinates"] = [square(500000.0, 3500000.0, 1000.0)]
    elif kind == "web mercator":
        doc["crs"] = {"type": "name", "properties": {"name": "EPSG:3857"}}
    elif kind == "utm":
        doc["crs"] = {"type": "name", "properties": {"name": "WGS 84 / UTM zone 50N"}}
    elif kind == "point":
        doc["features"][0]["geometry"] = {"type": "Point", "coordinates": [119.9, 31.7]}
    elif kind == "no name":
        doc["features"][1]["properties"]["名称"] = ""
    elif kind == "unknown name property":
        for f in doc["features"]:
            f["properties"] = {"代码": f["properties"]["代码"]}
    elif kind == "three points":
        g1["coordinates"][0][0] = [[119.96, 31.68], [120.0, 31.7], [119.96, 31.68]]
    return doc


@pytest.mark.parametrize("kind,message", [
    ("open ring", "第 2 个要素（测试乙街道）外环未闭合"),
    ("projected", "第 1 个要素（测试甲镇）外环的坐标 (500000, 3.5e+06) 不在中国范围内"),
    ("web mercator", "坐标系为 EPSG:3857，应为 WGS-84 经纬度"),
    ("utm", "坐标系为 WGS 84 / UTM zone 50N，应为 WGS-84 经纬度"),
    ("point", "几何类型为 Point，应为 Polygon 或 MultiPolygon"),
    ("no name", "第 2 个要素没有名称（属性 名称 为空或缺失）"),
    ("unknown name property", "找不到名称属性（试过 name、NAME、Name、名称、乡镇、乡镇名称 等），要素的属性有：代码；请用 --name-property 指定"),
    ("three points", "少于 4 个顶点"),
])
def test_a_bad_file_is_refused_in_one_line_and_the_stored_towns_stay(tmp_path, kind, message):
    ws = tmp_path / "ws"
    import_boundaries(ws, write_geojson(tmp_path / "good.geojson", two_squares()))
    kept = towns_path(ws).read_bytes()
    with pytest.raises(BoundaryError) as e:
        import_boundaries(ws, write_geojson(tmp_path / "bad.geojson", broken(kind)))
    assert message in str(e.value) and "\n" not in str(e.value) and str(e.value).startswith("bad.geojson：")
    assert towns_path(ws).read_bytes() == kept


def test_not_geojson_at_all(tmp_path):
    (tmp_path / "x.geojson").write_text("{", encoding="utf-8")
    with pytest.raises(BoundaryError, match="不是有效的 JSON"):
        import_boundaries(tmp_path / "ws", tmp_path / "x.geojson")
    write_geojson(tmp_path / "y.geojson", {"type": "Feature", "geometry": None})
    with pytest.raises(BoundaryError, match="应为 GeoJSON FeatureCollection"):
        import_boundaries(tmp_path / "ws", tmp_path / "y.geojson")


def test_cli_imports_and_refuses_with_exit_code_2(tmp_path):
    ws = tmp_path / "ws"
    good = write_geojson(tmp_path / "乡镇.geojson", two_squares("name"))
    res = CliRunner().invoke(cli_app, ["--workspace", str(ws), "import", "boundaries", str(good)])
    assert res.exit_code == 0, res.output
    assert "乡镇边界 乡镇.geojson：2 个（名称属性 name" in res.output and "已保存到" in res.output
    res = CliRunner().invoke(cli_app, ["--workspace", str(ws), "import", "boundaries", str(good)])
    assert "内容与已导入的相同，未改动" in res.output
    bad = write_geojson(tmp_path / "bad.geojson", broken("open ring"))
    res = CliRunner().invoke(cli_app, ["--workspace", str(ws), "import", "boundaries", str(bad)])
    assert res.exit_code == 2 and "导入失败：bad.geojson：第 2 个要素（测试乙街道）外环未闭合" in res.output
    res = CliRunner().invoke(cli_app, ["--workspace", str(ws), "import", "boundaries", str(good),
                                       "--name-property", "名字"])
    assert res.exit_code == 2 and "第 1 个要素没有名称（属性 名字 为空或缺失）" in res.output


def test_town_labels_keep_clear_of_each_other_and_of_markers():
    extent = (119.8, 31.6, 120.1, 31.8)
    labels = [("甲镇", 119.93, 31.71), ("乙镇", 119.931, 31.711), ("丙镇", 119.99, 31.71)]
    assert [n for n, *_ in M.place_town_labels(labels, [], extent)] == ["甲镇", "丙镇"]
    assert [n for n, *_ in M.place_town_labels(labels, [(119.99, 31.71)], extent)] == ["甲镇"]


@pytest.fixture(scope="module")
def towns_app(tmp_path_factory):
    from qingshan.web.app import create_console_app

    ws = build_map_workspace(tmp_path_factory.mktemp("towns") / "ws")
    app = create_console_app(ws, warm=False, bundle_cache_dir=tmp_path_factory.mktemp("bundle"))
    with TestClient(app) as c:
        yield c, ws


def _spec(html: str) -> dict:
    from .test_map_water import map_spec

    return map_spec(html)


def test_map_draws_the_imported_towns_and_serves_them_cached(towns_app):
    c, ws = towns_app
    spec = _spec(c.get("/map").text)
    outline = [lay for lay in spec["layer"] if "url" in lay.get("data", {}) and "towns" in lay["data"]["url"]]
    assert len(outline) == 1 and outline[0]["mark"]["filled"] is False and outline[0]["mark"]["strokeWidth"] < 0.8
    url = outline[0]["data"]["url"]
    names = [lay for lay in spec["layer"] if lay.get("transform") == [{"filter": f"width >= {M.TOWN_LABEL_MIN_WIDTH}"}]]
    assert len(names) == 1 and {v["name"] for v in names[0]["data"]["values"]} == set(TOWNS)
    assert "乡镇（街道）边界：本局导入的 GIS 文件 towns.geojson" in spec["usermeta"]["caption"]
    r = c.get(url, headers={"Accept-Encoding": "gzip"})
    assert r.status_code == 200 and r.headers["content-encoding"] == "gzip" and r.headers["etag"]
    fc = r.json()
    assert [f["properties"]["name"] for f in fc["features"]] == list(TOWNS)
    ring = fc["features"][0]["geometry"]["coordinates"][0][0]
    from qingshan.charts.geo import signed_area

    assert signed_area(ring) < 0  # re-oriented clockwise for d3-geo (the file's ring was counter-clockwise)
    # a re-import with other content changes the URL (the browser's cached copy is never shown again)
    doc = copy.deepcopy(two_squares())
    doc["features"][0]["properties"]["名称"] = "测试丙镇"
    import_boundaries(ws, write_geojson(ws / "towns2.geojson", doc))
    again = _spec(c.get("/map").text)
    url2 = next(lay["data"]["url"] for lay in again["layer"] if "towns" in lay.get("data", {}).get("url", ""))
    assert url2 != url and "测试丙镇" in c.get(url2).text


def test_without_a_town_file_the_map_is_as_before(tmp_path):
    from qingshan.web.app import create_console_app

    ws = build_map_workspace(tmp_path / "ws", towns=False)
    with TestClient(create_console_app(ws, warm=False, bundle_cache_dir=tmp_path / "bundle")) as c:
        page = c.get("/map").text
        spec = _spec(page)
        assert not any("towns" in str(lay.get("data", {}).get("url", "")) for lay in spec["layer"])
        assert "乡镇（街道）边界" not in spec["usermeta"]["caption"] and "乡镇（街道）边界" not in page
        assert c.get("/map/towns.geojson").status_code == 404
