"""Chart definitions: pure functions that return Vega-Lite v5 specifications with their data inline.

One definition serves both faces (docs/design.md#charts): the web console hands the dict to vega-embed in the
browser, the reports render it server-side with vl-convert (:mod:`qingshan.charts.render`). So every spec here is
self-contained — data in ``data.values``, fixed pixel sizes, colours and sort orders spelled out — and uses only
plain JSON types, so that it can be serialised unchanged into a page.

Conventions:

* Titles, axis titles, legends and tooltips are in Chinese; ``config.font`` is :data:`~.fonts.CJK_FAMILY`.
* AQI categories use the HJ 633 附录A colours from :data:`qingshan.standards.air_aqi.CATEGORIES` (never retyped).
* Water classes Ⅰ…劣Ⅴ use :data:`WATER_CLASS_COLOURS` below. No standard fixes them; we follow the progression
  Chinese water bulletins and maps commonly use — blues for Ⅰ–Ⅱ (source-water quality), green for Ⅲ (the usual
  target class), yellow, orange and red as quality worsens — so that "good" and "bad" read at a glance.
* Shares shown as text (``33.3%``) are rounded once, per GB/T 8170, in Python — the same rule as the report
  tables — rather than left to the JavaScript number formatter.
* Values are read with :func:`qingshan.numbers.finite` (``strict``): a missing or infinite value is a gap in the
  chart, a word where a number belongs raises :class:`qingshan.numbers.NotANumber` (a ``ValueError``).
* Times are shown as Beijing wall-clock time: aware timestamps are converted to Asia/Shanghai and passed without
  an offset, which Vega reads as local time both in the browser and in vl-convert, so nothing shifts by the
  viewer's or the server's time zone.
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Mapping, Sequence
from typing import Any
from zoneinfo import ZoneInfo

from ..numbers import finite, integer
from ..standards.air_aqi import CATEGORIES, category
from ..standards.rounding import round_gbt8170
from ..standards.water_class import CLASS_ROMAN, parse_class
from ..targets.progress import STATUS_TEXT
from .fonts import CJK_FAMILY
from .highlights import HIGHLIGHT_MEANING

SCHEMA = "https://vega.github.io/schema/vega-lite/v5.json"
BEIJING = ZoneInfo("Asia/Shanghai")

WIDTH = 520
HEIGHT = 260

#: AQI category names in HJ 633 order (优 … 严重污染) and their 附录A colours
AQI_NAMES: tuple[str, ...] = tuple(c.name_zh for c in CATEGORIES)
AQI_COLOURS: tuple[str, ...] = tuple(c.colour for c in CATEGORIES)
NO_DATA = "无数据"
NO_DATA_COLOUR = "#E0E0E0"

#: water quality classes Ⅰ…劣Ⅴ (not standardised; see the module docstring for the choice)
WATER_CLASS_COLOURS: dict[str, str] = {
    "Ⅰ": "#1F5FBF",  # deep blue
    "Ⅱ": "#4FB3E8",  # light blue
    "Ⅲ": "#3CB043",  # green
    "Ⅳ": "#F5D300",  # yellow
    "Ⅴ": "#F28C28",  # orange
    "劣Ⅴ": "#D7191C",  # red
}

#: the neutral colour of ordinary bars and single series
NEUTRAL = "#5B7FA6"
#: colours of target statuses (keys: the Chinese texts of :data:`qingshan.targets.progress.STATUS_TEXT`)
STATUS_COLOURS: dict[str, str] = {
    STATUS_TEXT["on_track"]: "#3CA03C",
    STATUS_TEXT["at_risk"]: "#F28C28",
    STATUS_TEXT["missed"]: "#D7191C",
    STATUS_TEXT["no_data"]: "#A0A0A0",
}
SERIES_SCHEME = "tableau10"
#: the ranking's highlights on screen (the chart, and the console's ranking table: ``.hl-city`` / ``.hl-yoy`` in
#: console.css): the printed bulletin's yellow and red fills are the AQI 良 and 中度污染 colours, so next to AQI
#: colours they would read as air quality; a purple and a dark teal (apart from every HJ 633 colour and from the
#: neutral blue) say "worse than the city" and "worse than last year" instead
RANKING_COLOURS: dict[str, str] = {"yellow": "#7B3FA0", "red": "#00695C"}
LIMIT_COLOUR = "#C0392B"
WEEKDAYS = ("一", "二", "三", "四", "五", "六", "日")


# --- helpers ----------------------------------------------------------------------------------------------------


def _config() -> dict[str, Any]:
    return {
        "font": CJK_FAMILY,
        "background": "white",
        "title": {"fontSize": 15, "fontWeight": "bold", "anchor": "middle", "offset": 10},
        "axis": {"labelFontSize": 11, "titleFontSize": 12, "titleFontWeight": "normal"},
        "legend": {"labelFontSize": 11, "titleFontSize": 12, "orient": "bottom", "titleFontWeight": "normal"},
        "header": {"labelFontSize": 12, "titleFontSize": 12},
        "view": {"stroke": None},
    }


def _chart(title: str, values: list[dict[str, Any]], **body: Any) -> dict[str, Any]:
    spec: dict[str, Any] = {"$schema": SCHEMA, "title": {"text": title}, "data": {"values": values}}
    spec.update(body)
    spec["config"] = _config()
    return spec


def _count(value: Any, what: str) -> int:
    n = int(value or 0)
    if n < 0:
        raise ValueError(f"{what}不能为负数：{value!r}")
    return n


def _pct_label(part: int, total: int) -> str:
    return f"{round_gbt8170(part / total * 100, 1):.1f}%" if total else ""


def _first_seen(values: Sequence[str]) -> list[str]:
    seen: dict[str, None] = {}
    for v in values:
        seen.setdefault(v, None)
    return list(seen)


def _wallclock(value: Any) -> dt.datetime:
    """A Beijing wall-clock datetime from an ISO string, a date or a datetime (aware ones are converted)."""
    if isinstance(value, dt.datetime):
        t = value
    elif isinstance(value, dt.date):
        t = dt.datetime(value.year, value.month, value.day)
    else:
        try:
            t = dt.datetime.fromisoformat(str(value).strip())
        except ValueError:
            raise ValueError(f"无法识别的时间：{value!r}（应为 ISO 格式，如 2024-01-01T08:00:00+08:00）") from None
    if t.tzinfo is not None:
        t = t.astimezone(BEIJING).replace(tzinfo=None)
    return t


def _time_format(span: dt.timedelta) -> str:
    if span <= dt.timedelta(days=3):
        return "%m-%d %H时"
    if span <= dt.timedelta(days=93):
        return "%m-%d"
    return "%Y-%m"


#: the tick interval of a date format: at most one tick per labelled day or month, so a wide chart (the console
#: draws at its container's width) does not repeat a label ("10-25 10-25 10-26 …")
_TICK_INTERVAL = {"%m-%d": "day", "%Y-%m": "month"}


def _aqi_category_name(name: str) -> str:
    if name not in AQI_NAMES:
        raise ValueError(f"未知的空气质量类别：{name!r}（应为 {'、'.join(AQI_NAMES)}）")
    return name


# --- AQI ----------------------------------------------------------------------------------------------------------


def aqi_category_days(counts: Mapping[str, int], title: str) -> dict:
    """Bar chart of the number of days in each AQI category, in HJ 633 order with the 附录A colours.

    ``counts`` is keyed by the category names of :data:`~qingshan.standards.air_aqi.CATEGORIES` (优, 良, 轻度污染,
    中度污染, 重度污染, 严重污染); absent categories are drawn as zero so the axis is the same in every report.
    """
    for k in counts:
        _aqi_category_name(k)
    values = [{"category": c.name_zh, "level": c.level_zh, "days": _count(counts.get(c.name_zh, 0), "天数")}
              for c in CATEGORIES]
    x = {"field": "category", "type": "nominal", "sort": list(AQI_NAMES), "title": "空气质量类别",
         "axis": {"labelAngle": 0}}
    y = {"field": "days", "type": "quantitative", "title": "天数", "axis": {"tickMinStep": 1}}
    return _chart(
        title, values, width=WIDTH, height=HEIGHT,
        encoding={"x": x, "y": y},
        layer=[
            {"mark": {"type": "bar", "stroke": "#666666", "strokeWidth": 0.5},
             "encoding": {
                 "color": {"field": "category", "type": "nominal",
                           "scale": {"domain": list(AQI_NAMES), "range": list(AQI_COLOURS)}, "legend": None},
                 "tooltip": [{"field": "category", "title": "类别"}, {"field": "level", "title": "级别"},
                             {"field": "days", "type": "quantitative", "title": "天数"}]}},
            {"mark": {"type": "text", "dy": -7, "fontSize": 11},
             "encoding": {"text": {"field": "days", "type": "quantitative"}}},
        ],
    )


def category_share(counts: Mapping[str, int], title: str, *, colours: Mapping[str, str] | None = None) -> dict:
    """Donut chart of shares (e.g. primary pollutants, or days per AQI category) labelled with percentages.

    Slices keep the order of ``counts``; zero counts are left out (they would only stack labels). Colours: the
    ``colours`` given (name → hex), else the HJ 633 colours when every key is an AQI category, else a scheme.
    """
    items = [(str(k), _count(v, "数量")) for k, v in counts.items()]
    items = [(k, n) for k, n in items if n > 0]
    total = sum(n for _, n in items)
    values = [{"name": k, "count": n, "order": i, "share": _pct_label(n, total)} for i, (k, n) in enumerate(items)]
    names = [k for k, _ in items]
    if colours is not None:
        missing = [k for k in names if k not in colours]
        if missing:
            raise ValueError(f"未给出颜色：{'、'.join(missing)}")
        scale: dict[str, Any] = {"domain": names, "range": [colours[k] for k in names]}
    elif names and all(k in AQI_NAMES for k in names):
        scale = {"domain": list(AQI_NAMES), "range": list(AQI_COLOURS)}
    else:
        scale = {"domain": names, "scheme": SERIES_SCHEME}
    return _chart(
        title, values, width=320, height=260,
        encoding={
            "theta": {"field": "count", "type": "quantitative", "stack": True},
            "order": {"field": "order", "type": "quantitative"},
            "color": {"field": "name", "type": "nominal", "sort": names, "scale": scale,
                      "legend": {"title": None, "columns": 3}},
        },
        layer=[
            {"mark": {"type": "arc", "innerRadius": 55, "outerRadius": 105, "stroke": "white", "strokeWidth": 1},
             "encoding": {"tooltip": [{"field": "name", "title": "类别"},
                                      {"field": "count", "type": "quantitative", "title": "数量"},
                                      {"field": "share", "title": "占比"}]}},
            {"mark": {"type": "text", "radius": 124, "fontSize": 11},
             "encoding": {"text": {"field": "share"}}},
        ],
    )


def aqi_calendar(days: Sequence[Mapping], title: str) -> dict:
    """Calendar heat map of daily AQI coloured by HJ 633 category, with the AQI in the tooltip.

    One month is drawn as a wall calendar (weekday columns 一…日, one row per week, the day number in each cell);
    longer spans as a month × day-of-month grid. Every date between the first and the last row is drawn; dates
    without a row, or without an AQI, are grey "无数据". A row without ``category`` gets the category of its AQI.
    """
    by_date: dict[dt.date, Mapping] = {}
    for r in days:
        d = r["date"] if isinstance(r["date"], dt.date) else dt.date.fromisoformat(str(r["date"])[:10])
        by_date[d] = r
    if not by_date:
        return _chart(title, [], mark="rect")
    first, last = min(by_date), max(by_date)
    months = sorted({(y, m) for y in range(first.year, last.year + 1) for m in range(1, 13)
                     if (first.year, first.month) <= (y, m) <= (last.year, last.month)})
    wall = len(months) == 1
    values = []
    d = first
    while d <= last:
        r = by_date.get(d, {})
        aqi = r.get("aqi")
        aqi = integer(aqi)
        cat = r.get("category") or (c.name_zh if (c := category(aqi)) is not None else None)
        cat = _aqi_category_name(cat) if cat else NO_DATA
        level = AQI_NAMES.index(cat) + 1 if cat != NO_DATA else 0
        lead = dt.date(d.year, d.month, 1).weekday()  # 0 = Monday
        values.append({
            "date": d.isoformat(), "aqi": aqi, "category": cat, "day": d.day,
            "month": f"{d.year}年{d.month}月", "weekday": WEEKDAYS[d.weekday()],
            "week": f"第{(d.day + lead - 1) // 7 + 1}周",
            "ink": "white" if level >= 4 else "black",
        })
        d += dt.timedelta(days=1)
    colour = {"field": "category", "type": "nominal", "title": "空气质量类别",
              "scale": {"domain": [*AQI_NAMES, NO_DATA], "range": [*AQI_COLOURS, NO_DATA_COLOUR]}}
    tooltip = [{"field": "date", "title": "日期"}, {"field": "aqi", "type": "quantitative", "title": "AQI"},
               {"field": "category", "title": "类别"}]
    rect = {"mark": {"type": "rect", "stroke": "white", "strokeWidth": 1.5},
            "encoding": {"color": colour, "tooltip": tooltip}}
    if wall:
        weeks = _first_seen([v["week"] for v in values])
        return _chart(
            title, values, width=7 * 52, height=len(weeks) * 40,
            encoding={"x": {"field": "weekday", "type": "ordinal", "sort": list(WEEKDAYS), "title": None,
                            "axis": {"orient": "top", "labelAngle": 0, "domain": False, "ticks": False}},
                      "y": {"field": "week", "type": "ordinal", "sort": weeks, "title": None,
                            "axis": {"domain": False, "ticks": False}}},
            layer=[rect,
                   {"mark": {"type": "text", "fontSize": 11, "baseline": "middle"},
                    "encoding": {"text": {"field": "day", "type": "quantitative"},
                                 "color": {"field": "ink", "type": "nominal", "scale": None}}}],
        )
    month_labels = [f"{y}年{m}月" for y, m in months]
    return _chart(
        title, values, width=31 * 17, height=len(month_labels) * 17,
        encoding={"x": {"field": "day", "type": "ordinal", "sort": list(range(1, 32)), "title": "日",
                        "axis": {"labelAngle": 0, "domain": False, "ticks": False}},
                  "y": {"field": "month", "type": "ordinal", "sort": month_labels, "title": None,
                        "axis": {"domain": False, "ticks": False}}},
        layer=[rect],
    )


def station_map(rows: Sequence[Mapping], title: str) -> dict:
    """Stations at their coordinates, coloured by the HJ 633 category of their current AQI, labelled with it.

    rows: ``{"name", "lon", "lat", "aqi": int | None, "kind": str}`` (kind: 城市评价点位 / 乡镇站 / 对照点, drawn as
    circle / square / triangle). An equirectangular projection of the stations' own extent, no base map: nothing
    is fetched, and positions stay true to each other. Rows without coordinates are left out.
    """
    values = []
    for r in rows:
        lon, lat = finite(r.get("lon"), strict=True), finite(r.get("lat"), strict=True)
        if lon is None or lat is None:
            continue
        aqi = r.get("aqi")
        aqi = integer(aqi)
        c = category(aqi)
        values.append({"name": str(r["name"]), "lon": lon, "lat": lat, "aqi": aqi,
                       "category": c.name_zh if c is not None else NO_DATA, "kind": str(r.get("kind") or "")})
    colour = {"field": "category", "type": "nominal", "title": "空气质量类别",
              "scale": {"domain": [*AQI_NAMES, NO_DATA], "range": [*AQI_COLOURS, NO_DATA_COLOUR]}}
    kinds = _first_seen([v["kind"] for v in values])
    geo = {"longitude": {"field": "lon", "type": "quantitative"}, "latitude": {"field": "lat", "type": "quantitative"}}
    tooltip = [{"field": "name", "title": "站点"}, {"field": "aqi", "type": "quantitative", "title": "AQI"},
               {"field": "category", "title": "类别"}, {"field": "kind", "title": "类型"}]
    return _chart(
        title, values, width=460, height=360, projection={"type": "equirectangular"},
        layer=[
            {"mark": {"type": "point", "filled": True, "size": 320, "stroke": "#333", "strokeWidth": 0.8,
                      "opacity": 1},
             "encoding": {**geo, "color": colour, "tooltip": tooltip,
                          "shape": {"field": "kind", "type": "nominal", "title": "站点类型",
                                    "scale": {"domain": kinds,
                                              "range": ["circle", "square", "triangle-up"][:len(kinds)]}}}},
            {"mark": {"type": "text", "dy": -16, "fontSize": 10},
             "encoding": {**geo, "text": {"field": "name"}}},
        ],
    )


# --- series -------------------------------------------------------------------------------------------------------


def monthly_bars(rows: Sequence[Mapping], title: str, y_title: str, limit: float | None = None, *,
                 limit_label: str | None = None) -> dict:
    """Grouped bars: one group per month, one bar per series (e.g. 2023年 vs 2024年), optional limit line.

    ``rows``: ``{"month": "2023-01" or "1月", "series": "2023年", "value": float | None}``. Months and series keep
    the order in which they first appear (give the rows in calendar order); missing values leave a gap. ``limit``
    draws a dashed horizontal rule labelled ``limit_label`` (default "限值 <limit>").
    """
    values = [{"month": str(r["month"]), "series": str(r["series"]), "value": finite(r.get("value"), strict=True)} for r in rows]
    months = _first_seen([v["month"] for v in values])
    series = _first_seen([v["series"] for v in values])
    layers: list[dict[str, Any]] = [{
        "mark": {"type": "bar"},
        "encoding": {
            "x": {"field": "month", "type": "nominal", "sort": months, "title": None, "axis": {"labelAngle": 0}},
            "xOffset": {"field": "series", "type": "nominal", "sort": series},
            "y": {"field": "value", "type": "quantitative", "title": y_title},
            "color": {"field": "series", "type": "nominal", "sort": series, "title": None,
                      "scale": {"domain": series, "scheme": SERIES_SCHEME}},
            "tooltip": [{"field": "month", "title": "月份"}, {"field": "series", "title": "系列"},
                        {"field": "value", "type": "quantitative", "title": y_title}],
        },
    }]
    if limit is not None:
        lim = finite(limit, strict=True)
        text = limit_label or f"限值 {lim:g}"
        rule_data = {"values": [{"limit": lim, "label": text}]}
        layers += [
            {"data": rule_data,
             "mark": {"type": "rule", "color": LIMIT_COLOUR, "strokeDash": [6, 4], "strokeWidth": 1.5},
             "encoding": {"y": {"field": "limit", "type": "quantitative"}}},
            {"data": rule_data, "mark": {"type": "text", "color": LIMIT_COLOUR, "align": "right", "dy": -7,
                                         "fontSize": 11},
             "encoding": {"y": {"field": "limit", "type": "quantitative"}, "x": {"value": WIDTH},
                          "text": {"field": "label"}}},
        ]
    return _chart(title, values, width=WIDTH, height=HEIGHT, layer=layers)


def value_domain(values: Sequence[float | None], *, pad: float = 0.1) -> list[float] | None:
    """The value axis's range, or None for a zero-based axis (the rule, docs/console.md#charts).

    Zero-based unless the values are all positive and span less than half of the largest (max − min < max / 2):
    then a zero-based axis squeezes the differences into a sliver (3.46 and 3.58 on a 0–4 axis look equal), so the
    axis runs from ``pad`` × span below the smallest value (never below 0) to ``pad`` × span above the largest.

    >>> value_domain([3.46, 3.58, 3.52])
    [3.448, 3.592]
    >>> value_domain([10, 80]) is None
    True
    >>> value_domain([]) is None
    True
    """
    xs = [float(v) for v in values if v is not None]
    if not xs:
        return None
    lo, hi = min(xs), max(xs)
    if lo <= 0 or hi - lo >= hi / 2:
        return None
    span = (hi - lo) or hi * 0.05
    return [round(max(0.0, lo - pad * span), 6), round(hi + pad * span, 6)]


def _field(name: str) -> str:
    """A data field name as Vega-Lite reads it: dots and brackets escaped (PM₂.₅ is not a nested field)."""
    return name.replace("\\", "\\\\").replace(".", "\\.").replace("[", "\\[").replace("]", "\\]")


def _limit_layers(limits: Sequence[tuple[float, str]]) -> list[dict[str, Any]]:
    """Dashed horizontal rules across the chart at each limit, labelled at the right end (the inherited x and
    colour encodings are removed: the limits' data have neither)."""
    if not limits:
        return []
    data = {"values": [{"limit": finite(v, strict=True), "label": str(label)} for v, label in limits]}
    return [
        {"data": data, "mark": {"type": "rule", "color": LIMIT_COLOUR, "strokeDash": [6, 4], "strokeWidth": 1.5},
         "encoding": {"y": {"field": "limit", "type": "quantitative"}, "x": None, "color": None}},
        {"data": data, "mark": {"type": "text", "color": LIMIT_COLOUR, "align": "right", "dy": -7, "fontSize": 11,
                                "x": {"expr": "width"}},
         "encoding": {"y": {"field": "limit", "type": "quantitative"}, "x": None, "color": None,
                      "text": {"field": "label"}}},
    ]


def time_series(rows: Sequence[Mapping], title: str, y_title: str, *,
                limits: Sequence[tuple[float, str]] = (), peak: bool = True, dashed: Sequence[str] = (),
                emphasised: Sequence[str] = ()) -> dict:
    """Lines over time, one per series; missing values break the line.

    ``rows``: ``{"time": ISO string (or datetime), "series": str, "value": float | None}``. Times are drawn as
    Beijing wall-clock time (see the module docstring); the axis label format follows the span. Hovering anywhere
    shows a vertical rule and a tooltip with every series at that time (the ``hover`` param, nearest time).
    ``limits``: ``(value, label)`` dashed rules (e.g. 75 µg/m³, GB 3095 二级 24 小时平均); they count for the axis
    range, which follows :func:`value_domain`. ``peak``: the highest value is marked and labelled. Series named in
    ``dashed`` are drawn dashed (last year's same period), those in ``emphasised`` thicker (the city mean).
    """
    times = [_wallclock(r["time"]) for r in rows]
    values = [{"time": t.isoformat(timespec="minutes"), "series": str(r["series"]), "value": finite(r.get("value"), strict=True)}
              for t, r in zip(times, rows)]
    series = _first_seen([v["series"] for v in values])
    fmt = _time_format(max(times) - min(times)) if times else "%Y-%m-%d"
    domain = value_domain([v["value"] for v in values] + [float(v) for v, _ in limits])
    enc = {
        "x": {"field": "time", "type": "temporal", "title": None, "axis": {"format": fmt, "labelAngle": 0}},
        "y": {"field": "value", "type": "quantitative", "title": y_title,
              "scale": {"zero": False, "domain": domain} if domain else {"zero": True}},
        "color": {"field": "series", "type": "nominal", "sort": series, "title": None,
                  "scale": {"domain": series, "scheme": SERIES_SCHEME}},
    }
    if fmt in _TICK_INTERVAL:
        enc["x"]["axis"]["tickCount"] = {"interval": _TICK_INTERVAL[fmt]}
    many = len(values) > 120
    hover_tooltip = [{"field": "time", "type": "temporal", "title": "时间", "format": "%Y-%m-%d %H:%M"}] + [
        {"field": _field(s), "type": "quantitative", "title": s} for s in series]
    line: dict[str, Any] = {"mark": {"type": "line", "strokeWidth": 1.5, "invalid": "break-paths-show-domains"}}
    if dashed or emphasised:
        def among(names: Sequence[str]) -> str:
            return f"indexof({json.dumps(list(names), ensure_ascii=False)}, datum.series) >= 0"

        line["encoding"] = {
            "strokeDash": {"condition": {"test": among(dashed), "value": [6, 4]}, "value": [1, 0]},
            "strokeWidth": {"condition": {"test": among(emphasised), "value": 3}, "value": 1.5}}
    layers: list[dict[str, Any]] = [
        line,
        {"mark": {"type": "point", "filled": True, "size": 18, "opacity": 0 if many else 0.9},
         "encoding": {"tooltip": [{"field": "time", "type": "temporal", "title": "时间",
                                   "format": "%Y-%m-%d %H:%M"},
                                  {"field": "series", "title": "系列"},
                                  {"field": "value", "type": "quantitative", "title": y_title}]}},
        {"transform": [{"pivot": "series", "value": "value", "groupby": ["time"]}],
         "mark": {"type": "rule", "color": "#555555", "strokeWidth": 6},
         "encoding": {"x": enc["x"], "y": None, "color": None,
                      "opacity": {"condition": {"param": "hover", "empty": False, "value": 0.25}, "value": 0},
                      "tooltip": hover_tooltip},
         "params": [{"name": "hover", "select": {"type": "point", "fields": ["time"], "nearest": True,
                                                 "on": "pointerover", "clear": "pointerout"}}]},
    ]
    layers += _limit_layers(limits)
    known = [v for v in values if v["value"] is not None]
    if peak and known:
        top = max(known, key=lambda v: v["value"])
        pdata = {"values": [{**top, "label": f"峰值 {top['value']:g}"}]}
        layers += [
            {"data": pdata, "mark": {"type": "point", "shape": "triangle-down", "filled": True, "size": 90,
                                     "color": "#222222", "yOffset": -8},
             "encoding": {"x": enc["x"], "y": {"field": "value", "type": "quantitative"}, "color": None}},
            {"data": pdata, "mark": {"type": "text", "dy": -22, "fontSize": 11, "color": "#222222"},
             "encoding": {"x": enc["x"], "y": {"field": "value", "type": "quantitative"}, "color": None,
                          "text": {"field": "label"}}},
        ]
    return _chart(title, values, width=WIDTH, height=HEIGHT, encoding=enc, layer=layers)


def diurnal_profile(rows: Sequence[Mapping], title: str, y_title: str) -> dict:
    """The mean diurnal cycle: one line per series over the hours 1…24 (hours labelled by their end, as CNEMC)."""
    values = []
    for r in rows:
        h = int(r["hour"])
        if not 1 <= h <= 24:
            raise ValueError(f"小时应为 1–24（按小时结束时刻标记）：{r['hour']!r}")
        values.append({"hour": h, "series": str(r["series"]), "value": finite(r.get("value"), strict=True)})
    series = _first_seen([v["series"] for v in values])
    return _chart(
        title, values, width=WIDTH, height=HEIGHT,
        encoding={
            "x": {"field": "hour", "type": "quantitative", "title": "时（北京时间，按小时结束时刻）",
                  "scale": {"domain": [1, 24], "nice": False}, "axis": {"values": list(range(1, 25))}},
            "y": {"field": "value", "type": "quantitative", "title": y_title},
            "color": {"field": "series", "type": "nominal", "sort": series, "title": None,
                      "scale": {"domain": series, "scheme": SERIES_SCHEME}},
        },
        layer=[
            {"mark": {"type": "line", "strokeWidth": 1.5, "invalid": "break-paths-show-domains"}},
            {"mark": {"type": "point", "filled": True, "size": 22},
             "encoding": {"tooltip": [{"field": "hour", "type": "quantitative", "title": "时"},
                                      {"field": "series", "title": "系列"},
                                      {"field": "value", "type": "quantitative", "title": y_title}]}},
        ],
    )


# --- classes, rankings, targets -----------------------------------------------------------------------------------


def class_share(rows: Sequence[Mapping], title: str) -> dict:
    """100 % stacked bars of water quality classes per group (e.g. per river or per year), Ⅰ → 劣Ⅴ left to right.

    ``rows``: ``{"group": str, "class": "Ⅰ" … "劣Ⅴ" (also III, Ⅲ类 …), "count": int}``. The stacking is done
    here (each segment gets its start and end share), so the printed chart and the tooltip agree exactly, and
    segments wide enough carry their count.
    """
    counts: dict[str, dict[str, int]] = {}
    for r in rows:
        c = parse_class(str(r["class"]))
        if c is None or not 1 <= c <= 6:
            raise ValueError(f"无法识别的水质类别：{r['class']!r}（应为 Ⅰ、Ⅱ、Ⅲ、Ⅳ、Ⅴ、劣Ⅴ）")
        slot = counts.setdefault(str(r["group"]), {})
        roman = CLASS_ROMAN[c - 1]
        slot[roman] = slot.get(roman, 0) + _count(r.get("count"), "断面数")
    values = []
    for group, by_class in counts.items():
        total = sum(by_class.values())
        start = 0
        for roman in CLASS_ROMAN:
            n = by_class.get(roman, 0)
            if not n:
                continue
            values.append({"group": group, "class": f"{roman}类", "count": n, "total": total,
                           "x0": start / total, "x1": (start + n) / total, "mid": (start + n / 2) / total,
                           "share": _pct_label(n, total), "label": str(n) if n / total >= 0.06 else ""})
            start += n
    groups = list(counts)
    labels = [f"{c}类" for c in CLASS_ROMAN]
    y = {"field": "group", "type": "nominal", "sort": groups, "title": None}
    return _chart(
        title, values, width=WIDTH, height=max(60, 34 * len(groups)),
        layer=[
            {"mark": {"type": "bar", "stroke": "white", "strokeWidth": 0.5},
             "encoding": {
                 "y": y,
                 "x": {"field": "x0", "type": "quantitative", "title": "比例",
                       "scale": {"domain": [0, 1], "nice": False}, "axis": {"format": "%"}},
                 "x2": {"field": "x1"},
                 "color": {"field": "class", "type": "nominal", "title": "水质类别",
                           "scale": {"domain": labels, "range": [WATER_CLASS_COLOURS[c] for c in CLASS_ROMAN]}},
                 "tooltip": [{"field": "group", "title": "分组"}, {"field": "class", "title": "类别"},
                             {"field": "count", "type": "quantitative", "title": "数量"},
                             {"field": "share", "title": "占比"}]}},
            {"mark": {"type": "text", "fontSize": 11, "color": "black"},
             "encoding": {"y": y, "x": {"field": "mid", "type": "quantitative"}, "text": {"field": "label"}}},
        ],
    )


def ranking_bars(rows: Sequence[Mapping], title: str, x_title: str, *, descending: bool = True) -> dict:
    """Horizontal ranking bars sorted by value (highest on top unless ``descending`` is False).

    ``rows``: ``{"name": str, "value": float, "highlight": None | "yellow" | "red"}`` — the highlights of the
    monthly ranking tables (yellow = worse than the city average, red = worse than a year ago), drawn in
    :data:`RANKING_COLOURS` (not the tables' fills: those are AQI colours), bars without a highlight neutral. The
    value axis follows :func:`value_domain`; the bars are clipped at its start and each carries its number.
    """
    legend_domain = [HIGHLIGHT_MEANING["yellow"], HIGHLIGHT_MEANING["red"], "其他"]
    legend_range = [RANKING_COLOURS["yellow"], RANKING_COLOURS["red"], NEUTRAL]
    values = []
    for r in rows:
        h = r.get("highlight")
        if h not in (None, "yellow", "red"):
            raise ValueError(f"highlight 应为 None、'yellow' 或 'red'：{h!r}")
        v = finite(r.get("value"), strict=True)
        values.append({"name": str(r["name"]), "value": v, "mark": HIGHLIGHT_MEANING[h] if h else "其他",
                       "text": "—" if v is None else f"{v:g}"})
    sign = -1 if descending else 1
    ordered = sorted(values, key=lambda v: (v["value"] is None, sign * (v["value"] or 0)))
    names = [v["name"] for v in ordered]
    y = {"field": "name", "type": "nominal", "sort": names, "title": None}
    domain = value_domain([v["value"] for v in values])
    x = {"field": "value", "type": "quantitative", "title": x_title,
         "scale": {"zero": False, "domain": domain} if domain else {"zero": True}}
    return _chart(
        title, values, width=WIDTH - 80, height=max(60, 22 * len(values)),
        layer=[
            {"mark": {"type": "bar", "stroke": "#666666", "strokeWidth": 0.5, "clip": True},
             "encoding": {"y": y, "x": x,
                          "color": {"field": "mark", "type": "nominal", "title": None,
                                    "scale": {"domain": legend_domain, "range": legend_range}},
                          "tooltip": [{"field": "name", "title": "名称"},
                                      {"field": "value", "type": "quantitative", "title": x_title},
                                      {"field": "mark", "title": "标注"}]}},
            {"mark": {"type": "text", "align": "left", "dx": 4, "fontSize": 11},
             "encoding": {"y": y, "x": {"field": "value", "type": "quantitative"}, "text": {"field": "text"}}},
        ],
    )


def _status_text(status: str) -> str:
    return STATUS_TEXT.get(status, status)


def target_progress(rows: Sequence[Mapping], title: str) -> dict:
    """One small bar chart per target: the year-to-date value (bar, coloured by status) against the target (tick).

    ``rows``: ``{"name": str, "ytd": float | None, "target": float, "unit": str, "status": str}`` where status is
    a code of :data:`qingshan.targets.progress.STATUS_TEXT` (on_track …) or its Chinese text (正常 …). Each
    target gets its own x scale (units differ), so the facets are independent.
    """
    values = []
    for r in rows:
        ytd, target = finite(r.get("ytd"), strict=True), finite(r.get("target"), strict=True)
        if target is None:
            raise ValueError(f"目标值不能为空：{r.get('name')!r}")
        unit = str(r.get("unit") or "")
        status = _status_text(str(r.get("status") or "no_data"))
        shown = NO_DATA if ytd is None else f"{ytd:g}"
        name = f"{r['name']}（{unit}）" if unit else str(r["name"])
        # an invisible mark a little beyond the larger of value and target keeps the tick off the frame edge
        xmax = max(v for v in (ytd, target, 0.0) if v is not None) * 1.08
        values.append({"label": f"{name}：累计 {shown}，目标 {target:g}，{status}", "ytd": ytd, "target": target,
                       "status": status, "xmax": xmax})
    labels = [v["label"] for v in values]
    x = {"type": "quantitative", "title": None, "scale": {"zero": True}}
    statuses = list(STATUS_COLOURS)
    extra = _first_seen([v["status"] for v in values if v["status"] not in STATUS_COLOURS])
    return _chart(
        title, values,
        facet={"row": {"field": "label", "type": "nominal", "sort": labels,
                       "header": {"title": None, "labelAngle": 0, "labelAlign": "left", "labelAnchor": "start",
                                  "labelOrient": "top", "labelFontSize": 12}}},
        spec={
            "width": WIDTH - 60, "height": 24,
            "layer": [
                {"mark": {"type": "bar", "height": 16},
                 "encoding": {"x": {**x, "field": "ytd"},
                              "color": {"field": "status", "type": "nominal", "title": "状态",
                                        "scale": {"domain": statuses + extra,
                                                  "range": [STATUS_COLOURS[s] for s in statuses]
                                                  + [NEUTRAL] * len(extra)}},
                              "tooltip": [{"field": "label", "title": "指标"},
                                          {"field": "ytd", "type": "quantitative", "title": "累计值"},
                                          {"field": "target", "type": "quantitative", "title": "目标"},
                                          {"field": "status", "title": "状态"}]}},
                {"mark": {"type": "tick", "color": "black", "thickness": 2.5, "size": 24},
                 "encoding": {"x": {**x, "field": "target"}}},
                {"mark": {"type": "point", "opacity": 0}, "encoding": {"x": {**x, "field": "xmax"}}},
            ],
        },
        resolve={"scale": {"x": "independent"}},
    )
