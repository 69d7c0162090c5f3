"""The map's water layer: every registered or evaluated section with its position (``water_sections.lon/lat``)
and its latest evaluated GB 3838 class.

The class is the one the water page shows as 最新月类别: the water evaluation of the year (or the period asked for)
as :func:`.water.water_evaluation` computes and caches it (:func:`qingshan.evaluate.water.evaluate_water`, 地表水环境
质量评价办法（试行） on GB 3838-2002 表1), read for each section's latest sampled month of that period: the month's
mean concentrations classed, with the items that set the class (定类因子). Nothing is recomputed here. The period's
class (年度类别) is given beside it. Sections without a position are listed by name (``without_coordinates``) so
the page can say how many the map cannot place.
"""

from __future__ import annotations

from datetime import date
from typing import Any
from urllib.parse import quote

from ...charts.specs import NO_DATA, NO_DATA_COLOUR, WATER_CLASS_COLOURS
from ...evaluate.periods import Period
from ...numbers import finite, integer
from ...standards.water_class import ITEMS, class_roman, parse_class
from ...standards.water_eval import EVAL_2011
from ...store.read import water_section_positions
from ..console import Console
from ..jsonable import value
from ..store import StoreState
from .common import period_param, year_param
from .water import WATER_BODY_LABELS, default_year, water_evaluation

BASIS = "最新监测月份的月均值定类"


def _roman(text: Any) -> str:
    return class_roman(parse_class(text)) if isinstance(text, str) and text else ""


def _factor_names(codes: Any) -> list[str]:
    return [ITEMS[c].name_zh if c in ITEMS else c for c in str(codes or "").split(",") if c]


DARK_INK = "#1F2933"


def _luminance(hex_colour: str) -> float:
    """WCAG 2.1 relative luminance of ``#RRGGBB``."""
    rgb = [int(hex_colour[i:i + 2], 16) / 255 for i in (1, 3, 5)]
    lin = [c / 12.92 if c <= 0.04045 else ((c + 0.055) / 1.055) ** 2.4 for c in rgb]
    return 0.2126 * lin[0] + 0.7152 * lin[1] + 0.0722 * lin[2]


def ink(background: str) -> str:
    """White or dark text, whichever contrasts more with ``background`` (WCAG 2.1 contrast ratio).

    >>> ink("#1F5FBF"), ink("#F5D300")
    ('#FFFFFF', '#1F2933')
    """
    bg = _luminance(background)
    white = 1.05 / (bg + 0.05)
    dark = (bg + 0.05) / (_luminance(DARK_INK) + 0.05)
    return "#FFFFFF" if white >= dark else DARK_INK


def _legend() -> list[dict[str, str]]:
    return [*({"class": k, "colour": v, "ink": ink(v)} for k, v in WATER_CLASS_COLOURS.items()),
            {"class": NO_DATA, "colour": NO_DATA_COLOUR, "ink": ink(NO_DATA_COLOUR)}]


def water_map(console: Console, year: int | None = None, period: str | None = None) -> dict[str, Any]:
    """The water layer (module docstring) of ``year`` (default: the water page's year) or ``period``."""
    state = console.store.state()
    p = None
    if period is not None and period.strip():
        p = period_param(period, Period(date(2000, 1, 1), date(2000, 1, 1), ""))
        year = p.start.year
    y = year_param(year, year) if year is not None else default_year(console, state)
    span = (p.start, p.end, p.label) if p else ()
    return console.cached("water_map", (y, *span), lambda st: _water_map(console, st, y, p), state)


def _water_map(console: Console, state: StoreState, y: int | None, p: Period | None) -> dict[str, Any]:
    with console.store.cursor() as cur:
        positions = water_section_positions(cur)
    latest: dict[str, dict[str, Any]] = {}
    period_rows: dict[str, dict[str, Any]] = {}
    dates = None
    label = None
    notes: list[str] = []
    if y is not None:
        ev = water_evaluation(console, state, y, p)
        dates = {"start": ev.period.start.isoformat(), "end": ev.period.end.isoformat()}
        label = ev.period.label
        if not ev.months.empty:
            for r in ev.months.sort_values(["section", "month"]).to_dict("records"):
                latest[str(r["section"])] = r  # the last month of each section wins
        if not ev.sections.empty:
            period_rows = {str(r["section"]): r for r in ev.sections.to_dict("records")}
    else:
        notes.append("测量库中还没有地表水手工监测数据：断面按登记位置绘制，无类别")
    names = {str(s): value(n) for s, n in zip(positions["section"], positions["name"])}
    where = {str(s): (finite(lon), finite(lat)) for s, lon, lat in
             zip(positions["section"], positions["lon"], positions["lat"])}
    query = f"period={quote(label)}" if p is not None and label else (f"year={y}" if y is not None else "")
    placed, unplaced = [], []
    for sec in sorted(set(names) | set(period_rows) | set(latest)):
        m = latest.get(sec, {})
        r = period_rows.get(sec, {})
        name = names.get(sec) or value(r.get("name")) or sec
        klass = _roman(m.get("class"))
        lon, lat = where.get(sec, (None, None))
        if lon is None or lat is None:
            unplaced.append({"section": sec, "name": name})
            continue
        target = integer(r.get("target_class"))
        placed.append({
            "section": sec, "name": name, "lon": lon, "lat": lat,
            "class": klass or NO_DATA, "colour": (colour := WATER_CLASS_COLOURS.get(klass, NO_DATA_COLOUR)),
            "ink": ink(colour),
            "month": value(m.get("month")), "factors": _factor_names(m.get("class_factors")) if klass else [],
            "main_pollutants": value(m.get("main_pollutants")) or "",
            "period_class": _roman(r.get("class")), "target_class": class_roman(target) if target else "",
            "meets_target": value(r.get("meets_target")),
            "water_body_label": WATER_BODY_LABELS.get(value(r.get("water_body")) or "", ""),
            "note": value(m.get("note")) or ("" if klass else "该时段无监测数据"),
            "url": f"/water?{query}#section-{quote(sec)}" if sec in period_rows else None,
        })
    return {"year": y, "period": label, "dates": dates, "basis": BASIS, "ruleset": EVAL_2011.name,
            "ruleset_title": EVAL_2011.title_zh, "legend": _legend(), "sections": placed,
            "without_coordinates": unplaced, "notes": notes}
