"""Air quality "now": every station's and the city's latest hour, today's primary pollutants, air alerts.

One engine call per store state and city: :func:`qingshan.evaluate.air.evaluate_hourly` over the as-of day and the
day before (the engine loads one more day of look-back for the moving means), which gives

* the stations' hourly values, 24-h / 8-h moving means, IAQIs, AQI and primary pollutants at the as-of hour;
* the city's hourly values and AQI (:func:`qingshan.evaluate.city_hourly.city_hourly`: mean of the evaluation
  stations — :func:`qingshan.evaluate.air.city_members`: no control sites, no town stations) — the as-of hour and
  every hour of today so far;
* the stations whose hourly AQI exceeded 200 (重度污染 and worse) during the last 24 hours.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pandas as pd

from ...evaluate.air import city_members, evaluate_hourly
from ...evaluate.city_hourly import CITY_COLUMNS, city_hourly
from ...evaluate.periods import Period
from ...numbers import finite, integer
from ...standards.air_aqi import AQI_RULESETS
from ...standards.networks import is_official
from ...standards.rulesets import eval_ruleset_for
from ...store.read import stations_of_city
from ..console import Console
from ..jsonable import value
from ..store import StoreState, hour_day, hour_time
from .common import category_info, data_meta, need_data, primary_info, resolve_city

#: Hourly AQI above which a station-hour raises an air alert (重度污染 and worse, HJ 633 level ≥ 5).
ALERT_AQI = 200
IAQI_CODES = ("so2", "no2", "co", "o3", "o3_8h", "pm10", "pm25")


def station_meta(console: Console, state: StoreState, city: str) -> pd.DataFrame:
    def compute(_: StoreState) -> pd.DataFrame:
        with console.store.cursor() as cur:
            return stations_of_city(cur, city)

    return console.cached("stations", (city,), compute, state)


def _values(row: dict[str, Any] | None) -> dict[str, Any]:
    return {c: (finite(row.get(c)) if row else None) for c in CITY_COLUMNS}


def _iaqi(row: dict[str, Any] | None) -> dict[str, Any]:
    return {c: (integer(row.get(f"iaqi_{c}")) if row else None) for c in IAQI_CODES}


def _hour_row(row: dict[str, Any] | None) -> dict[str, Any]:
    aqi = row.get("aqi") if row else None
    return {**category_info(aqi), "primary": primary_info(row.get("primary_pollutants") if row else None),
            "values": _values(row), "iaqi": _iaqi(row),
            "aqi_ruleset": value(row.get("aqi_ruleset")) if row else None}


def air_now(console: Console, city: str | None = None) -> dict[str, Any]:
    """The "now" snapshot of a city (see module docstring); cached per store state and city."""
    state = console.store.state()
    as_of = need_data(state)
    name = resolve_city(console, state, city)
    return console.cached("air_now", (name,), lambda st: _compute(console, st, name, as_of), state, panel=True)


def _compute(console: Console, state: StoreState, city: str, as_of: int) -> dict[str, Any]:
    day = hour_day(as_of)
    period = Period(day - timedelta(days=1), day, f"{day - timedelta(days=1)}:{day}")
    with console.store.cursor() as cur:
        hourly = evaluate_hourly(cur, period, city=city)
    frame = hourly.to_pandas() if hourly.num_rows else pd.DataFrame(columns=["station", "hi", "aqi"])
    frame["station"] = frame["station"].astype(str)
    frame = frame[frame["hi"] <= as_of]
    meta = station_meta(console, state, city)
    members = meta.loc[city_members(meta), "code"].astype(str).tolist()
    ev = eval_ruleset_for(day)
    city_rows = city_hourly(frame, members, ev.city_min_station_fraction)
    now_rows = {r["station"]: r for r in frame[frame["hi"] == as_of].to_dict("records")}

    member_set = set(members)
    stations = []
    for m in meta.to_dict("records"):
        row = now_rows.get(str(m["code"]))
        stations.append({"code": m["code"], "name": m["name"], "district": value(m["district"]),
                         "town": value(m["town"]), "network": value(m["network"]),
                         "lon": finite(m["lon"]), "lat": finite(m["lat"]), "is_control": bool(m["is_control"]),
                         "in_city_mean": str(m["code"]) in member_set, "has_data": row is not None,
                         "group": "city" if str(m["code"]) in member_set else "control" if m["is_control"]
                         else "sensor" if not is_official(m["network"]) else "town",
                         **_hour_row(row)})

    crow = city_rows[city_rows["hi"] == as_of]
    city_now = _hour_row(crow.iloc[0].to_dict() if len(crow) else None)
    city_now["stations_averaged"] = integer(crow.iloc[0]["n_pm25"]) if len(crow) else 0
    city_now["evaluation_stations"] = len(members)

    today_rows = city_rows[(city_rows["hi"] - 1) // 24 == (as_of - 1) // 24]
    counts: dict[str, int] = {}
    for text in today_rows["primary_pollutants"]:
        for p in primary_info(text):
            counts[p["code"]] = counts.get(p["code"], 0) + 1
    top = max(counts.values(), default=0)
    primary_today = [p for p in primary_info(",".join(c for c in IAQI_CODES if counts.get(c) == top and top > 0))]
    peak = today_rows.loc[today_rows["aqi"].idxmax()] if today_rows["aqi"].notna().any() else None
    today = {
        "date": day.isoformat(),
        "hours": len(today_rows),
        "primary": primary_today,
        "primary_hours": {c: counts[c] for c in IAQI_CODES if c in counts},
        "max_aqi": integer(peak["aqi"]) if peak is not None else None,
        "max_aqi_time": hour_time(int(peak["hi"])).isoformat() if peak is not None else None,
        "max_category": category_info(peak["aqi"] if peak is not None else None),
        "hourly": [{"time": hour_time(int(r["hi"])).isoformat(), "aqi": integer(r["aqi"]),
                    "primary": value(r["primary_pollutants"]) or ""} for r in today_rows.to_dict("records")],
    }

    names = {str(m["code"]): m["name"] for m in meta.to_dict("records")}
    last24 = frame[(frame["hi"] > as_of - 24) & (frame["aqi"] > ALERT_AQI)]
    alerts = []
    for code, g in last24.groupby("station", sort=True):
        top_row = g.loc[g["aqi"].idxmax()]
        cat = category_info(top_row["aqi"])
        alerts.append({
            "kind": "air_aqi", "kind_label": "空气质量重污染", "station": code, "name": names.get(code, code),
            "hours": len(g), "max_aqi": integer(top_row["aqi"]), "category": cat["category"],
            "colour": cat["colour"], "time": hour_time(int(top_row["hi"])).isoformat(),
            "first": hour_time(int(g["hi"].min())).isoformat(), "last": hour_time(int(g["hi"].max())).isoformat(),
            "message": f"{names.get(code, code)} 近24小时有 {len(g)} 个小时 AQI 超过 {ALERT_AQI}，"
                       f"最高 {integer(top_row['aqi'])}（{cat['category']}）",
        })
    alerts.sort(key=lambda a: (-a["max_aqi"], a["station"]))
    used = sorted({str(x) for x in frame["aqi_ruleset"].dropna().unique()}) if len(frame) else []
    return {
        "city": city,
        "as_of": hour_time(as_of).isoformat(),
        "city_now": city_now,
        "stations": stations,
        "today": today,
        "alerts": alerts,
        "rulesets": {"aqi": used, "aqi_titles": {n: AQI_RULESETS[n].title_zh for n in used if n in AQI_RULESETS},
                     "data": data_meta("reviewed"),  # hourly values with the review marks applied
                     "city_min_station_fraction": ev.city_min_station_fraction,
                     "method": "城市小时浓度为评价点位（不含对照点、乡镇站）小时浓度的算术平均，再按 AQI 规则集计算"},
    }
