"""A small workspace of 常州 for the map tests (a module of helpers, not a test file).

Six evaluation/town stations at their real positions, eight grid sensors, one day of hours (2025-03-01); three water
sections — 青河桥 and 白鹭渡 with positions, 无名闸 without — sampled in January and February 2025 so that
白鹭渡's latest month (劣Ⅴ, by ammonia) differs from its two-month class (Ⅴ); and, with ``towns=True``, two
square "towns" imported as the bureau's town boundaries (:func:`two_squares`, constructed here: no third-party
data)."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path

import pandas as pd

DAY = dt.date(2025, 3, 1)
STATIONS = [("CZ01", "城区甲站", 119.97, 31.78, "国控"), ("CZ02", "城区乙站", 119.95, 31.81, "国控"),
            ("CZ03", "武进站", 119.94, 31.70, "国控"), ("CZ04", "新北站", 119.97, 31.86, "省控"),
            ("CZ05", "金坛站", 119.58, 31.74, "国控"), ("CZ06", "溧阳站", 119.48, 31.42, "国控"),
            *[(f"W{i:02d}", f"微站{i}", 119.90 + 0.03 * (i % 4), 31.72 + 0.04 * (i // 4), "网格微站") for i in range(8)]]

SECTIONS_CSV = """断面编码,断面名称,水体类型,考核级别,目标,经度,纬度
QH01,青河桥,河流,国考,Ⅲ,119.99,31.75
BL02,白鹭渡,河流,省考,Ⅲ,119.80,31.66
WM03,无名闸,河流,市考,Ⅳ,,
"""
# ammonia sets the class (DO ≥ 7.5 and pH are Ⅰ): 0.4 Ⅱ; 0.8 Ⅲ then 2.5 劣Ⅴ (mean 1.65 Ⅴ); 1.2 Ⅳ
SAMPLES_CSV = """section,date,ph,do,nh3n
QH01,2025-01-10,7.5,8.0,0.4
QH01,2025-02-10,7.5,8.0,0.4
BL02,2025-01-10,7.4,8.1,0.8
BL02,2025-02-10,7.4,8.1,2.5
WM03,2025-02-10,7.6,8.2,1.2
"""
#: what the map should show for the two placed sections: (latest month, its class, the two months' class)
EXPECTED = {"QH01": ("2025-02", "Ⅱ", "Ⅱ"), "BL02": ("2025-02", "劣Ⅴ", "Ⅴ")}


#: the two squares' names; the first is a Polygon, the second a MultiPolygon
TOWNS = ("测试甲镇", "测试乙街道")


def square(w: float, s: float, size: float) -> list[list[float]]:
    """A closed ring, counter-clockwise as RFC 7946 asks (the map re-orients it for d3-geo)."""
    return [[w, s], [w + size, s], [w + size, s + size], [w, s + size], [w, s]]


def two_squares(name_property: str = "名称", **extra: object) -> dict:
    """A FeatureCollection of two adjacent 0.12° squares between 金坛 and 溧阳 (clear of the stations' markers)."""
    return {"type": "FeatureCollection", **extra, "features": [
        {"type": "Feature", "properties": {name_property: TOWNS[0], "代码": "320412100"},
         "geometry": {"type": "Polygon", "coordinates": [square(119.56, 31.48, 0.12)]}},
        {"type": "Feature", "properties": {name_property: TOWNS[1], "代码": "320412001"},
         "geometry": {"type": "MultiPolygon", "coordinates": [[square(119.68, 31.48, 0.12)]]}},
    ]}


def write_geojson(path: Path, doc: object) -> Path:
    path.write_text(json.dumps(doc, ensure_ascii=False), encoding="utf-8")
    return path


def build_map_workspace(path: Path, towns: bool = True) -> Path:
    from qingshan.ingest import import_files
    from qingshan.ingest.water_samples import import_water_samples
    from qingshan.store.workspace import Workspace

    path.mkdir(parents=True)
    pd.DataFrame([{"code": c, "name": n, "city": "常州", "district": "武进区", "lon": lon, "lat": lat,
                   "is_control": "N", "town": None, "network": net} for c, n, lon, lat, net in STATIONS]
                 ).to_csv(path / "stations.csv", index=False)
    t0 = dt.datetime(DAY.year, DAY.month, DAY.day)
    rows = [{"station": c, "time": (t0 + dt.timedelta(hours=h)).strftime("%Y-%m-%d %H:%M"),
             "pm25": 20.0 + 7 * i + h, "pm10": 50.0 + 5 * i}
            for i, (c, *_rest) in enumerate(STATIONS) for h in range(1, 25)]
    pd.DataFrame(rows).to_csv(path / "hourly.csv", index=False)
    (path / "sections.csv").write_text(SECTIONS_CSV, encoding="utf-8")
    (path / "samples.csv").write_text(SAMPLES_CSV, encoding="utf-8")
    ws = Workspace(path)
    try:
        import_files(ws, "stations", [path / "stations.csv"])
        import_files(ws, "long", [path / "hourly.csv"])
        import_water_samples(ws, path / "sections.csv")
        import_water_samples(ws, path / "samples.csv")
    finally:
        ws.close()
    if towns:
        from qingshan.ingest.boundaries import import_boundaries

        import_boundaries(path, write_geojson(path / "towns.geojson", two_squares()))
    return path
