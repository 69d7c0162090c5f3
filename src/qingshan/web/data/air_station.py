"""One air station: its metadata, hourly series with AQI, AQI calendar of a year and diurnal profile.

All values come from the air engine: the series and the diurnal profile from
:func:`qingshan.evaluate.air.evaluate_hourly` (hourly values, moving means, AQI of the rule set in force), the
calendar from the engine's station daily values (:func:`qingshan.evaluate.air.station_daily`: daily means with the
GB 3095 表4 validity, O3 daily max 8-h, daily AQI 日报 and the day's validity).
"""

from __future__ import annotations

from datetime import date, timedelta
from typing import Any

import numpy as np
import pandas as pd

from ...evaluate import air
from ...evaluate.city_hourly import CITY_COLUMNS
from ...evaluate.grid import load_grid
from ...evaluate.periods import Period, day_date
from ...numbers import finite, integer
from ...standards.air_aqi import AQI_RULESETS
from ...standards.rounding import round_gbt8170_array
from ...store.read import station_hours, station_record
from ..console import Console
from ..jsonable import value
from ..store import StoreState, hour_day, hour_time
from .common import (
    COLUMN_LABELS,
    BadParameter,
    DataNotFound,
    category_info,
    data_meta,
    data_param,
    need_data,
    primary_info,
    year_param,
)

SERIES_MAX_DAYS = 366
DEFAULT_SERIES_DAYS = 7
DEFAULT_DIURNAL_DAYS = 30
SERIES_COLUMNS = (*CITY_COLUMNS, "aqi")


def _q(text: str) -> str:
    return "'" + text.replace("'", "''") + "'"


def station_info(console: Console, code: str, state: StoreState | None = None) -> dict[str, Any]:
    """Metadata and data range of a station (:class:`DataNotFound` for an unknown code)."""
    st = state or console.store.state()

    def compute(_: StoreState) -> dict[str, Any]:
        with console.store.cursor() as cur:
            row = station_record(cur, code)
            if row is None:
                return {}
            first, last, n = station_hours(cur, code)
        out = {k: value(v) for k, v in row.items()}
        out["is_control"] = bool(out["is_control"])
        out["first_hour"] = hour_time(first).isoformat() if first is not None else None
        out["last_hour"] = hour_time(last).isoformat() if last is not None else None
        out["hours"] = int(n)
        return out

    info = console.cached("station_info", (code,), compute, st)
    if not info:
        raise DataNotFound(f"未知站点：{code}")
    return info


def _date_param(text: str | None, name: str) -> date | None:
    if text is None or not str(text).strip():
        return None
    try:
        return date.fromisoformat(str(text).strip())
    except ValueError:
        raise BadParameter(f"参数 {name} 应为日期 YYYY-MM-DD，而不是 {text!r}") from None


def day_range(start: str | None, end: str | None, state: StoreState, default_days: int) -> tuple[Period, bool]:
    """The requested days, or the ``default_days`` ending with the as-of day; ``True`` when defaulted (then the
    hours after the as-of hour are left out)."""
    a, b = _date_param(start, "start"), _date_param(end, "end")
    as_of_day = hour_day(need_data(state))
    defaulted = a is None and b is None
    b = b or (as_of_day if a is None else a + timedelta(days=default_days - 1))
    a = a or b - timedelta(days=default_days - 1)
    if b < a:
        raise BadParameter(f"结束日期 {b} 早于开始日期 {a}")
    if (b - a).days + 1 > SERIES_MAX_DAYS:
        raise BadParameter(f"时段 {a} 至 {b} 超过单次查询上限 {SERIES_MAX_DAYS} 天")
    return Period(a, b, f"{a.isoformat()}:{b.isoformat()}"), defaulted


def _hourly(console: Console, code: str, period: Period, data: str = "reviewed") -> pd.DataFrame:
    with console.store.cursor() as cur:
        t = air.evaluate_hourly(cur, period, where=f"station = {_q(code)}", data=data)
    return t.to_pandas() if t.num_rows else pd.DataFrame(columns=["hi", *SERIES_COLUMNS, "primary_pollutants",
                                                                   "aqi_ruleset"])


def _rulesets(frame: pd.DataFrame) -> dict[str, Any]:
    names = sorted({str(x) for x in frame["aqi_ruleset"].dropna().unique()}) if len(frame) else []
    return {"aqi": names, "aqi_titles": {n: AQI_RULESETS[n].title_zh for n in names if n in AQI_RULESETS}}


def station_series(console: Console, code: str, start: str | None = None, end: str | None = None,
                   pollutant: str | None = None, data: str | None = None) -> dict[str, Any]:
    """Hourly values (all columns, or one ``pollutant``) with AQI, category and primary pollutants; reviewed data
    (invalidated hours are null) unless ``data="raw"``."""
    kind = data_param(data)
    state = console.store.state()
    info = station_info(console, code, state)
    period, defaulted = day_range(start, end, state, DEFAULT_SERIES_DAYS)
    if pollutant is not None and pollutant not in SERIES_COLUMNS:
        raise BadParameter(f"污染物 {pollutant!r} 无效，可选：{'、'.join(SERIES_COLUMNS)}")
    cols = list(SERIES_COLUMNS) if pollutant is None else [pollutant] + (["aqi"] if pollutant != "aqi" else [])

    def compute(st: StoreState) -> dict[str, Any]:
        frame = _hourly(console, code, period, kind)
        if defaulted:
            frame = frame[frame["hi"] <= st.as_of_hi]
        rows = []
        for r in frame.to_dict("records"):
            item: dict[str, Any] = {"time": hour_time(int(r["hi"])).isoformat()}
            for c in cols:
                item[c] = integer(r.get(c)) if c == "aqi" else finite(r.get(c))
            cat = category_info(r.get("aqi"))
            item.update(category=cat["category"], colour=cat["colour"],
                        primary=value(r.get("primary_pollutants")) or "")
            rows.append(item)
        return {"station": info, "start": period.start.isoformat(), "end": period.end.isoformat(),
                "columns": {c: {"label": COLUMN_LABELS.get(c, ("AQI", ""))[0], "unit": COLUMN_LABELS.get(c, ("", ""))[1]}
                            for c in cols},
                "hours": rows, "rulesets": _rulesets(frame), "data": data_meta(kind),
                "time_convention": "小时结束时刻（16:00 表示 15:00—16:00 的小时均值），北京时间"}

    return console.cached("series", (code, period.label, pollutant, defaulted, kind), compute, state)


def station_calendar(console: Console, code: str, year: int | None = None) -> dict[str, Any]:
    """Daily AQI (日报), category and primary pollutants of every day of ``year`` with data."""
    state = console.store.state()
    info = station_info(console, code, state)
    y = year_param(year, hour_day(need_data(state)).year)
    period = Period(date(y, 1, 1), date(y, 12, 31), str(y))

    def compute(st: StoreState) -> dict[str, Any]:
        last_day = min(period.last_day, (int(st.as_of_hi) - 1) // 24)  # nothing after "now"
        segs = air.ruleset_segments(period.first_day, period.last_day, None)
        with console.store.cursor() as cur:
            source, _ = air.store_source(cur, "air_hourly", "reviewed", False)
            grid = load_grid(cur, source, period.first_day, period.last_day, f"station = {_q(code)}")
        days: list[dict[str, Any]] = []
        if len(grid.stations):
            daily, _ = air.station_daily(grid, segs)
            d = daily.to_pandas()
            for r in d[d["day"] <= last_day].to_dict("records"):
                cat = category_info(r["aqi"])
                days.append({"date": day_date(int(r["day"])).isoformat(), "aqi": cat["aqi"],
                             "level": cat["level"], "category": cat["category"], "colour": cat["colour"],
                             "primary": primary_info(r["primary_pollutants"]), "valid": bool(r["day_valid"]),
                             "pm25": finite(r["pm25"]), "o3_8h_max": finite(r["o3_8h_max"]),
                             "eval_ruleset": value(r["eval_ruleset"])})
        counts = {c: 0 for c in ("优", "良", "轻度污染", "中度污染", "重度污染", "严重污染")}
        for day in days:
            if day["valid"] and day["category"] in counts:
                counts[day["category"]] += 1
        return {"station": info, "year": y, "days": days, "category_days": counts,
                "valid_days": sum(1 for d in days if d["valid"]), "expected_days": period.n_days,
                "rulesets": {"eval": [ev.name for _, _, ev in segs],
                             "aqi": sorted({ev.aqi.name for _, _, ev in segs})}}

    return console.cached("calendar", (code, y), compute, state)


def station_diurnal(console: Console, code: str, start: str | None = None, end: str | None = None) -> dict[str, Any]:
    """Mean of each pollutant and of the AQI by hour of day (hour-ending labels 1…24) over the days asked."""
    state = console.store.state()
    info = station_info(console, code, state)
    period, defaulted = day_range(start, end, state, DEFAULT_DIURNAL_DAYS)

    def compute(st: StoreState) -> dict[str, Any]:
        frame = _hourly(console, code, period)
        if defaulted:
            frame = frame[frame["hi"] <= st.as_of_hi]
        hours = []
        if len(frame):
            hod = (frame["hi"].astype(np.int64) - 1) % 24 + 1
            cols = [c for c in ("so2", "no2", "co", "o3", "pm10", "pm25", "aqi") if c in frame]
            g = frame[cols].astype(float).groupby(hod.to_numpy())
            means, counts = g.mean(), g.count()
            for h in range(1, 25):
                item: dict[str, Any] = {"hour": h}
                for c in cols:
                    if h in means.index:
                        digits = 2 if c == "co" else 1
                        item[c] = finite(round_gbt8170_array(np.array([means.loc[h, c]]), digits)[0])
                        item[f"n_{c}"] = int(counts.loc[h, c])
                    else:
                        item[c], item[f"n_{c}"] = None, 0
                hours.append(item)
        return {"station": info, "start": period.start.isoformat(), "end": period.end.isoformat(), "hours": hours,
                "rulesets": _rulesets(frame),
                "method": "按小时结束时刻（1—24 时）分组的小时浓度与 AQI 算术平均，缺测小时不计"}

    return console.cached("diurnal", (code, period.label, defaulted), compute, state)

