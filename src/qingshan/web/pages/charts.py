"""The pages' charts: the data of the ``/api/v1`` functions reshaped into the rows of the shared chart
definitions (:mod:`qingshan.charts.specs`), the same specs the reports render."""

from __future__ import annotations

from typing import Any

from ...charts import specs
from ...charts.alarm_map import alarm_map
from ...charts.rose import pollution_rose
from ...standards.pollutants import POLLUTANTS
from ..data.common import COLUMN_LABELS
from .render import chart

SERIES_LABEL = {"aqi": "AQI", **{k: v[0] for k, v in COLUMN_LABELS.items()}}


def today_aqi(today_hourly: list[dict[str, Any]], city: str) -> dict[str, Any]:
    rows = [{"time": h["time"], "series": "城市 AQI", "value": h["aqi"]} for h in today_hourly]
    return chart("city-aqi-today", specs.time_series(rows, f"{city}今日逐时 AQI", "AQI"))


KIND = {"city": "城市评价点位", "town": "乡镇站", "control": "对照点"}


def station_map(stations: list[dict[str, Any]], city: str) -> dict[str, Any]:
    rows = [{"name": s["name"], "lon": s["lon"], "lat": s["lat"], "aqi": s.get("aqi"),
             "kind": KIND.get(s.get("group"), s.get("group"))} for s in stations]
    return chart("station-map", specs.station_map(rows, f"{city}各站点实时 AQI 分布"))


def station_series(series: dict[str, Any], columns: list[str]) -> dict[str, Any]:
    rows = [{"time": h["time"], "series": SERIES_LABEL.get(c, c), "value": h.get(c)}
            for c in columns for h in series["hours"]]
    unit = "AQI" if columns == ["aqi"] else "浓度（µg/m³；CO 为 mg/m³）"
    title = f"{series['station']['name']} 逐时变化（{series['start']} 至 {series['end']}）"
    return chart("station-series", specs.time_series(rows, title, unit))


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
