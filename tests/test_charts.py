"""Chart specs (structure, order, colours, numbers) and their server-side rendering with CJK fonts.

The HJ 633 colours are checked against the RGB triples of HJ 633-2012 附录A typed here as an independent oracle,
not only against the table in ``standards.air_aqi`` that the specs import.
"""

from __future__ import annotations

import io
import json
import re
import struct

import numpy as np
import pytest

from qingshan.charts import specs as S
from qingshan.charts.fonts import CJK_FAMILY, ENV_VAR, FontMissing, cjk_font_dir, serif_family
from qingshan.charts.station_map import station_map
from qingshan.standards.air_aqi import CATEGORIES

# HJ 633-2012 附录A: 优 (0,228,0), 良 (255,255,0), 轻度 (255,126,0), 中度 (255,0,0), 重度 (153,0,76), 严重 (126,0,35)
HJ633_RGB = [(0, 228, 0), (255, 255, 0), (255, 126, 0), (255, 0, 0), (153, 0, 76), (126, 0, 35)]
HJ633_NAMES = ["优", "良", "轻度污染", "中度污染", "重度污染", "严重污染"]


def rgb(hex_colour: str) -> tuple[int, int, int]:
    h = hex_colour.lstrip("#")
    return int(h[0:2], 16), int(h[2:4], 16), int(h[4:6], 16)


def layer_with(spec: dict, mark: str) -> dict:
    layers = spec.get("layer") or spec["spec"]["layer"]
    return next(lyr for lyr in layers
                if (lyr["mark"]["type"] if isinstance(lyr["mark"], dict) else lyr["mark"]) == mark)


def test_every_spec_is_plain_json_with_cjk_font():
    specs = [
        S.aqi_category_days({"优": 3}, "标题"), S.category_share({"臭氧": 2}, "标题"),
        S.monthly_bars([{"month": "1月", "series": "2023年", "value": 1.5}], "标题", "浓度"),
        S.time_series([{"time": "2024-01-01T01:00:00+08:00", "series": "甲", "value": 1}], "标题", "浓度"),
        S.aqi_calendar([{"date": "2024-05-01", "aqi": 40, "category": None}], "标题"),
        S.diurnal_profile([{"hour": 1, "series": "甲", "value": 1}], "标题", "浓度"),
        S.class_share([{"group": "甲", "class": "Ⅱ", "count": 1}], "标题"),
        S.ranking_bars([{"name": "甲", "value": 1, "highlight": None}], "标题", "浓度"),
        S.target_progress([{"name": "甲", "ytd": 1, "target": 2, "unit": "%", "status": "on_track"}], "标题"),
    ]
    for spec in specs:
        assert json.loads(json.dumps(spec, ensure_ascii=False)) == spec
        assert spec["$schema"].endswith("/vega-lite/v5.json")
        assert spec["config"]["font"] == CJK_FAMILY == "Noto Sans CJK SC"
        assert spec["title"]["text"] == "标题"
        assert "values" in spec["data"]


def test_aqi_category_days_order_and_hj633_colours():
    spec = S.aqi_category_days({"良": 180, "优": 120, "重度污染": 3}, "2023年空气质量类别天数")
    values = spec["data"]["values"]
    assert [v["category"] for v in values] == HJ633_NAMES == [c.name_zh for c in CATEGORIES]
    assert [v["days"] for v in values] == [120, 180, 0, 0, 3, 0]
    colour = layer_with(spec, "bar")["encoding"]["color"]["scale"]
    assert colour["domain"] == HJ633_NAMES
    assert [rgb(c) for c in colour["range"]] == HJ633_RGB
    assert spec["encoding"]["x"]["sort"] == HJ633_NAMES
    with pytest.raises(ValueError, match="未知的空气质量类别"):
        S.aqi_category_days({"轻度": 2}, "x")
    with pytest.raises(ValueError, match="负数"):
        S.aqi_category_days({"优": -1}, "x")


def test_category_share_labels_round_half_even():
    # 1/16 = 6.25 % → 6.2 (GB/T 8170, half to even), 15/16 = 93.75 % → 93.8; zero slices are dropped
    spec = S.category_share({"二氧化氮": 1, "臭氧": 15, "一氧化碳": 0}, "首要污染物")
    values = spec["data"]["values"]
    assert [(v["name"], v["count"], v["share"]) for v in values] == [("二氧化氮", 1, "6.2%"), ("臭氧", 15, "93.8%")]
    assert spec["encoding"]["color"]["scale"]["domain"] == ["二氧化氮", "臭氧"]
    aqi = S.category_share({"优": 1, "良": 2}, "类别")
    assert [rgb(c) for c in aqi["encoding"]["color"]["scale"]["range"]] == HJ633_RGB
    fixed = S.category_share({"已完成": 1, "推进中": 3}, "x", colours={"已完成": "#00AA00", "推进中": "#888888"})
    assert fixed["encoding"]["color"]["scale"]["range"] == ["#00AA00", "#888888"]


def test_monthly_bars_keeps_month_order_gaps_and_limit():
    rows = [{"month": f"{m}月", "series": s, "value": None if (m, s) == (3, "2024年") else m * 1.5}
            for m in range(1, 13) for s in ("2023年", "2024年")]
    spec = S.monthly_bars(rows, "PM2.5月均浓度", "微克/立方米", limit=35)
    bar = layer_with(spec, "bar")["encoding"]
    assert bar["x"]["sort"] == [f"{m}月" for m in range(1, 13)]  # 10月 after 9月, not after 1月
    assert bar["xOffset"]["sort"] == ["2023年", "2024年"]
    assert bar["y"]["title"] == "微克/立方米"
    gap = [v for v in spec["data"]["values"] if v["month"] == "3月" and v["series"] == "2024年"]
    assert gap == [{"month": "3月", "series": "2024年", "value": None}]
    rule = layer_with(spec, "rule")
    assert rule["data"]["values"] == [{"limit": 35.0, "label": "限值 35"}]
    assert layer_with(spec, "text")["encoding"]["text"] == {"field": "label"}
    no_limit = S.monthly_bars(rows, "x", "y")
    assert len(no_limit["layer"]) == 1


def test_time_series_shows_beijing_wall_clock():
    rows = [{"time": "2024-01-01T00:00:00+00:00", "series": "东区站", "value": 30},  # 08:00 in Beijing
            {"time": "2024-01-01T09:00:00", "series": "东区站", "value": None},
            {"time": "2024-01-02", "series": "西区站", "value": 12.5}]
    spec = S.time_series(rows, "PM2.5小时浓度", "微克/立方米")
    assert [v["time"] for v in spec["data"]["values"]] == ["2024-01-01T08:00", "2024-01-01T09:00",
                                                           "2024-01-02T00:00"]
    assert spec["data"]["values"][1]["value"] is None
    assert spec["encoding"]["x"]["type"] == "temporal"
    assert spec["encoding"]["x"]["axis"]["format"] == "%m-%d %H时"  # span ≤ 3 days
    point = layer_with(spec, "point")
    assert point["encoding"]["tooltip"][0]["format"] == "%Y-%m-%d %H:%M"
    with pytest.raises(ValueError, match="无法识别的时间"):
        S.time_series([{"time": "昨天", "series": "a", "value": 1}], "x", "y")


def test_aqi_calendar_month_layout_fills_missing_days():
    days = [{"date": "2024-05-01", "aqi": 120, "category": None},  # a Wednesday
            {"date": "2024-05-06", "aqi": 45, "category": "优"},
            {"date": "2024-05-07", "aqi": None, "category": None},
            {"date": "2024-05-31", "aqi": 230, "category": "重度污染"}]
    spec = S.aqi_calendar(days, "2024年5月空气质量日历")
    values = {v["date"]: v for v in spec["data"]["values"]}
    assert len(values) == 31
    first = values["2024-05-01"]
    assert (first["weekday"], first["week"], first["category"], first["aqi"]) == ("三", "第1周", "轻度污染", 120)
    assert values["2024-05-06"]["week"] == "第2周" and values["2024-05-06"]["weekday"] == "一"
    assert values["2024-05-02"]["category"] == "无数据" and values["2024-05-07"]["category"] == "无数据"
    assert values["2024-05-31"]["ink"] == "white"
    assert spec["encoding"]["x"]["field"] == "weekday" and spec["encoding"]["x"]["sort"][0] == "一"
    colour = layer_with(spec, "rect")["encoding"]["color"]["scale"]
    assert colour["domain"][:6] == HJ633_NAMES and [rgb(c) for c in colour["range"][:6]] == HJ633_RGB
    assert colour["domain"][6] == "无数据"
    year = S.aqi_calendar([{"date": "2024-01-15", "aqi": 60, "category": None},
                           {"date": "2024-03-02", "aqi": 90, "category": None}], "x")
    assert year["encoding"]["y"]["sort"] == ["2024年1月", "2024年2月", "2024年3月"]
    assert len(year["data"]["values"]) == (17 + 29 + 2)


def test_diurnal_profile_hours():
    rows = [{"hour": h, "series": "臭氧", "value": float(h)} for h in range(1, 25)]
    spec = S.diurnal_profile(rows, "日变化", "微克/立方米")
    assert spec["encoding"]["x"]["scale"]["domain"] == [1, 24]
    assert spec["encoding"]["x"]["axis"]["values"] == list(range(1, 25))
    with pytest.raises(ValueError, match="1–24"):
        S.diurnal_profile([{"hour": 0, "series": "a", "value": 1}], "x", "y")


def test_class_share_stacks_in_class_order():
    rows = [{"group": "2024年", "class": "劣Ⅴ", "count": 1}, {"group": "2024年", "class": "III", "count": 6},
            {"group": "2024年", "class": "Ⅱ类", "count": 1}, {"group": "2023年", "class": "Ⅳ", "count": 2}]
    spec = S.class_share(rows, "断面水质类别")
    v24 = [v for v in spec["data"]["values"] if v["group"] == "2024年"]
    assert [(v["class"], v["x0"], v["x1"]) for v in v24] == [("Ⅱ类", 0.0, 0.125), ("Ⅲ类", 0.125, 0.875),
                                                             ("劣Ⅴ类", 0.875, 1.0)]
    assert [v["share"] for v in v24] == ["12.5%", "75.0%", "12.5%"]
    scale = layer_with(spec, "bar")["encoding"]["color"]["scale"]
    assert scale["domain"] == ["Ⅰ类", "Ⅱ类", "Ⅲ类", "Ⅳ类", "Ⅴ类", "劣Ⅴ类"]
    assert scale["range"] == list(S.WATER_CLASS_COLOURS.values())
    with pytest.raises(ValueError, match="水质类别"):
        S.class_share([{"group": "a", "class": "七类", "count": 1}], "x")


def test_ranking_bars_sorted_and_coloured_by_highlight():
    rows = [{"name": "西区", "value": 30, "highlight": None}, {"name": "东区", "value": 52, "highlight": "yellow"},
            {"name": "南区", "value": 45, "highlight": "red"}]
    spec = S.ranking_bars(rows, "各区PM2.5", "微克/立方米")
    bar = layer_with(spec, "bar")["encoding"]
    assert bar["y"]["sort"] == ["东区", "南区", "西区"]
    marks = {v["name"]: v["mark"] for v in spec["data"]["values"]}
    assert marks == {"东区": "劣于全市平均水平", "南区": "较上年同期变差", "西区": "其他"}
    # issue 15: not the tables' yellow/red fills, which are the AQI colours of 良 and 中度污染
    assert bar["color"]["scale"]["range"] == [S.RANKING_COLOURS["yellow"], S.RANKING_COLOURS["red"], S.NEUTRAL]
    assert S.ranking_bars(rows, "x", "y", descending=False)["layer"][0]["encoding"]["y"]["sort"][0] == "西区"


def test_target_progress_facets_per_target():
    rows = [{"name": "PM2.5年均浓度", "ytd": 32, "target": 35, "unit": "微克/立方米", "status": "on_track"},
            {"name": "优良天数比例", "ytd": None, "target": 80, "unit": "%", "status": "无数据"}]
    spec = S.target_progress(rows, "年度目标进度")
    labels = [v["label"] for v in spec["data"]["values"]]
    assert labels == ["PM2.5年均浓度（微克/立方米）：累计 32，目标 35，正常", "优良天数比例（%）：累计 无数据，目标 80，无数据"]
    assert spec["facet"]["row"]["sort"] == labels
    assert spec["resolve"] == {"scale": {"x": "independent"}}
    assert layer_with(spec, "tick")["encoding"]["x"]["field"] == "target"
    with pytest.raises(ValueError, match="目标值"):
        S.target_progress([{"name": "甲", "ytd": 1, "target": None, "unit": "", "status": "on_track"}], "x")


# --- fonts and rendering ------------------------------------------------------------------------------------------


def test_font_dir_and_clear_error(monkeypatch, tmp_path):
    d = cjk_font_dir()
    assert any(p.suffix.lower() in (".ttc", ".otf", ".ttf") for p in d.iterdir())
    assert serif_family(d) in ("Noto Serif CJK SC", CJK_FAMILY)
    monkeypatch.setenv(ENV_VAR, str(tmp_path))
    with pytest.raises(FontMissing, match=ENV_VAR):
        cjk_font_dir()


def test_font_missing_names_the_debian_package(monkeypatch, tmp_path):
    from qingshan.charts import fonts

    monkeypatch.delenv(ENV_VAR, raising=False)
    monkeypatch.setattr(fonts, "SYSTEM_DIRS", (tmp_path / "none",))
    monkeypatch.setattr(fonts, "_mplfonts_dir", lambda: None)
    with pytest.raises(FontMissing, match="fonts-noto-cjk"):
        fonts.cjk_font_dir()


def png_size(data: bytes) -> tuple[int, int]:
    assert data[:8] == b"\x89PNG\r\n\x1a\n" and data[12:16] == b"IHDR"
    return struct.unpack(">II", data[16:24])


def test_png_render_has_expected_size_and_colours():
    from PIL import Image

    from qingshan.charts.render import to_png, to_svg

    spec = S.aqi_category_days({"优": 10, "良": 20, "轻度污染": 5}, "空气质量类别天数")
    svg = to_svg(spec)
    w, h = (float(x) for x in re.search(r'<svg[^>]*width="([\d.]+)" height="([\d.]+)"', svg).groups())
    png = to_png(spec, scale=2.0)
    assert png_size(png) == (round(2 * w), round(2 * h))
    pixels = np.asarray(Image.open(io.BytesIO(png)).convert("RGB")).reshape(-1, 3)
    colours = set(map(tuple, np.unique(pixels, axis=0).tolist()))
    assert {(0, 228, 0), (255, 255, 0), (255, 126, 0)} <= colours  # the bars in HJ 633 colours
    assert int((pixels.sum(axis=1) < 150).sum()) > 500  # dark pixels: text and axes


def test_svg_keeps_cjk_text():
    from qingshan.charts.render import to_svg

    svg = to_svg(S.monthly_bars([{"month": "1月", "series": "2023年", "value": 30}], "细颗粒物月均浓度", "微克/立方米",
                                limit=35))
    for text in ("细颗粒物月均浓度", "微克/立方米", "限值 35", "2023年", "1月"):
        assert text in svg
    assert "Noto Sans CJK SC" in svg


def test_javascript_bundle_is_cached_on_disk(tmp_path):
    from qingshan.charts import render

    path = render.bundle_path(tmp_path)
    assert path.parent == tmp_path and render.vl_version() in path.name
    code = render.javascript_bundle(tmp_path)
    assert len(code) > 100_000 and "vegaEmbed" in code
    path.write_text("/* cached */", encoding="utf-8")  # a second call must read the file, not rebuild
    assert render.javascript_bundle(tmp_path) == "/* cached */"


def test_station_map_places_stations_by_coordinates_in_hj633_colours():
    from PIL import Image

    from qingshan.charts.render import to_png

    rows = [{"name": "甲站", "lon": 119.9, "lat": 31.7, "aqi": 45, "kind": "城市评价点位"},
            {"name": "乙站", "lon": 120.1, "lat": 31.9, "aqi": 160, "kind": "乡镇站"},
            {"name": "丙站", "lon": None, "lat": 31.8, "aqi": 80, "kind": "城市评价点位"},  # no coordinates
            {"name": "丁站", "lon": 119.8, "lat": 31.6, "aqi": None, "kind": "对照点"}]
    spec = station_map(rows, "站点分布")
    values = spec["data"]["values"]
    assert [v["name"] for v in values] == ["甲站", "乙站", "丁站"]
    assert [v["category"] for v in values] == ["优", "中度污染", S.NO_DATA]
    assert spec["projection"]["type"] == "mercator"
    pixels = np.asarray(Image.open(io.BytesIO(to_png(spec))).convert("RGB")).reshape(-1, 3)
    colours = set(map(tuple, np.unique(pixels, axis=0).tolist()))
    assert {(0, 228, 0), (255, 0, 0)} <= colours  # 优 and 中度污染 markers (the legend lists every category)
    red = int(np.all(pixels == (255, 0, 0), axis=1).sum())
    yellow = int(np.all(pixels == (255, 255, 0), axis=1).sum())
    assert red > 3 * yellow > 0  # a marker for 乙站 against a legend swatch for 良


def test_wide_time_series_labels_each_day_once():
    """The console draws charts at their container's width (1440 px desks): a week of hours labelled ``%m-%d``
    must not get two ticks per day with the same label ("10-25 10-25 10-26 …", seen before the tick interval)."""
    from qingshan.charts.render import to_svg

    rows = [{"time": f"2023-10-{25 + h // 24:02d}T{h % 24:02d}:00:00", "series": "PM₂.₅", "value": 30 + h % 7}
            for h in range(7 * 24)]
    spec = S.time_series(rows, "逐时变化", "µg/m³")
    assert spec["encoding"]["x"]["axis"]["format"] == "%m-%d"
    spec["width"] = 1240
    labels = re.findall(r">(\d\d-\d\d)</text>", to_svg(spec))
    assert labels and len(labels) == len(set(labels)), labels
