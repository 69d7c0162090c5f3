"""Several stations on one chart with the city mean and the city mean of the same period a year earlier.

The stations' hourly values and the city's come from the same engine call (:func:`qingshan.evaluate.air.
evaluate_hourly` over the city; reviewed data), the city mean by :func:`qingshan.evaluate.city_hourly.city_hourly`
(点位平均法: the evaluation stations, no control sites, no town stations, the minimum share of stations of the rule
set in force). Last year's series is the same computation for the same dates one year earlier (29 February → 28
February), drawn on this year's time axis."""

from __future__ import annotations

from datetime import date
from typing import Any

import pandas as pd

from ...evaluate.air import city_members, evaluate_hourly
from ...evaluate.city_hourly import CITY_COLUMNS, city_hourly
from ...evaluate.periods import Period
from ...numbers import finite
from ...standards.rulesets import eval_ruleset_for
from ..console import Console
from ..store import StoreState, hour_time
from .air_now import station_meta
from .air_station import day_range
from .common import COLUMN_LABELS, BadParameter, resolve_city

#: at most this many stations on one chart (more lines cannot be told apart)
MAX_STATIONS = 8
CITY_SERIES = "城市均值"
LAST_YEAR_SERIES = "城市均值（去年同期）"


def _year_before(d: date) -> date:
    try:
        return d.replace(year=d.year - 1)
    except ValueError:  # 29 February
        return d.replace(year=d.year - 1, day=28)


def _frame(console: Console, period: Period, city: str) -> pd.DataFrame:
    with console.store.cursor() as cur:
        t = evaluate_hourly(cur, period, city=city)
    frame = t.to_pandas() if t.num_rows else pd.DataFrame(columns=["station", "hi", *CITY_COLUMNS])
    frame["station"] = frame["station"].astype(str)
    return frame


def _city_series(frame: pd.DataFrame, members: list[str], pollutant: str, day: date) -> list[tuple[int, Any]]:
    if not len(frame):
        return []
    rows = city_hourly(frame, members, eval_ruleset_for(day).city_min_station_fraction)
    return [(int(r["hi"]), finite(r[pollutant])) for r in rows[["hi", pollutant]].to_dict("records")]


def air_compare(console: Console, codes: list[str], pollutant: str = "pm25", start: str | None = None,
                end: str | None = None, city: str | None = None) -> dict[str, Any]:
    """``{"city", "pollutant", "label", "unit", "start", "end", "stations": [{code, name}], "series": [{"name",
    "kind" (station | city | last_year), "hours": [{"time", "value"}]}]}``; cached per store state."""
    if pollutant not in CITY_COLUMNS:
        raise BadParameter(f"污染物 {pollutant!r} 无效，可选：{'、'.join(CITY_COLUMNS)}")
    codes = list(dict.fromkeys(c.strip() for c in codes if c.strip()))
    if len(codes) > MAX_STATIONS:
        raise BadParameter(f"一次最多比较 {MAX_STATIONS} 个站点（收到 {len(codes)} 个）")
    state = console.store.state()
    name = resolve_city(console, state, city)
    period, _ = day_range(start, end, state, 7)

    def compute(st: StoreState) -> dict[str, Any]:
        meta = station_meta(console, st, name)
        names = {str(m["code"]): m["name"] for m in meta.to_dict("records")}
        unknown = [c for c in codes if c not in names]
        if unknown:
            raise BadParameter(f"站点不属于{name}：{'、'.join(unknown)}")
        members = meta.loc[city_members(meta), "code"].astype(str).tolist()
        frame = _frame(console, period, name)
        series = []
        for c in codes:
            g = frame[frame["station"] == c].sort_values("hi")
            series.append({"name": names[c], "kind": "station",
                           "hours": [{"time": hour_time(int(h)).isoformat(), "value": finite(v)}
                                     for h, v in zip(g["hi"], g[pollutant])]})
        series.append({"name": CITY_SERIES, "kind": "city",
                       "hours": [{"time": hour_time(h).isoformat(), "value": v}
                                 for h, v in _city_series(frame, members, pollutant, period.end)]})
        a, b = _year_before(period.start), _year_before(period.end)
        last = _frame(console, Period(a, b, f"{a}:{b}"), name)
        shift = period.start - a  # drawn on this year's axis
        series.append({"name": LAST_YEAR_SERIES, "kind": "last_year",
                       "hours": [{"time": (hour_time(h) + shift).isoformat(), "value": v}
                                 for h, v in _city_series(last, members, pollutant, b)]})
        label, unit = COLUMN_LABELS[pollutant]
        return {"city": name, "pollutant": pollutant, "label": label, "unit": unit,
                "start": period.start.isoformat(), "end": period.end.isoformat(),
                "last_year": {"start": a.isoformat(), "end": b.isoformat()},
                "stations": [{"code": c, "name": names[c]} for c in codes], "series": series}

    return console.cached("air_compare", (name, tuple(codes), pollutant, period.label), compute, state)



