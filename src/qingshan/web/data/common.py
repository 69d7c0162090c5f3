"""Pieces shared by the console's data functions: errors, parameters, the city, display labels."""

from __future__ import annotations

from datetime import date
from typing import Any

from ...errors import QingshanError
from ...evaluate.periods import Period, parse_period
from ...numbers import finite
from ...standards.air_aqi import category
from ...standards.pollutants import POLLUTANTS, PRIMARY_NAMES_ZH
from ...store.read import city_station_counts
from ...store.review import ReviewError, data_kind, data_label
from ..console import Console
from ..store import StoreState, last_complete_day

#: Longest period the console evaluates in one request (three years): a bound on memory and time per request.
MAX_PERIOD_DAYS = 3 * 366


class DataNotFound(QingshanError, LookupError):
    """Unknown station, city, year without data … (HTTP 404; message in Chinese)."""


class BadParameter(QingshanError, ValueError):
    """A malformed or out-of-range parameter (HTTP 422; message in Chinese)."""


def data_param(data: str | None) -> str:
    """The ``data`` query parameter: ``reviewed`` (default) or ``raw`` (docs/review.md)."""
    try:
        return data_kind(data)
    except ReviewError as e:
        raise BadParameter(str(e)) from None


def data_meta(kind: str, exclude_dust: bool = False) -> dict[str, Any]:
    """What every air answer says about its data: ``{"kind": reviewed|raw, "exclude_dust", "label"}``."""
    return {"kind": kind, "exclude_dust": exclude_dust, "label": data_label(kind, exclude_dust)}


def need_data(state: StoreState) -> int:
    """The as-of hour, or :class:`DataNotFound` when the store holds no hourly air data."""
    if state.as_of_hi is None:
        raise DataNotFound("测量库中还没有空气质量小时数据，请先导入数据（qingshan import 或 qingshan demo）")
    return state.as_of_hi


def period_param(text: str | None, default: Period) -> Period:
    """Parse ``period`` (2025, 2025-03, 2025-01-01:2025-03-31, 2025-03-05) or use ``default``."""
    if text is None or not text.strip():
        return default
    try:
        p = parse_period(text)
    except ValueError as e:
        raise BadParameter(f"时段参数 period 无效：{e}") from None
    if p.n_days > MAX_PERIOD_DAYS:
        raise BadParameter(f"时段 {p.label} 共 {p.n_days} 天，超过单次查询上限 {MAX_PERIOD_DAYS} 天")
    return p


def ytd_period(state: StoreState) -> Period:
    """1 January … the last complete day of the as-of hour's year (the console's default period)."""
    end = last_complete_day(need_data(state))
    start = date(end.year, 1, 1)  # on 1 January before 24:00 this is still the previous year
    return Period(start, end, f"{start.isoformat()}:{end.isoformat()}")


def cities(console: Console, state: StoreState) -> list[dict[str, Any]]:
    """Cities of the station table with their number of evaluation stations, most stations first."""

    def compute(_: StoreState) -> list[dict[str, Any]]:
        with console.store.cursor() as cur:
            rows = city_station_counts(cur)
        return [{"city": c, "evaluation_stations": int(e), "stations": int(n), "stations_with_data": int(d)}
                for c, e, n, d in rows]

    return console.cached("cities", (), compute, state)


def resolve_city(console: Console, state: StoreState, city: str | None) -> str:
    """``city`` when the station table knows it; the city with most stations with data when not given."""
    known = cities(console, state)
    if city is None or not city.strip():
        if not known:
            raise DataNotFound("测量库中还没有站点信息，请先导入站点表")
        return known[0]["city"]
    name = city.strip()
    if name not in {c["city"] for c in known}:
        raise DataNotFound(f"未知城市：{name}（站点表中有：{'、'.join(c['city'] for c in known) or '无'}）")
    return name


def year_param(year: int | None, default: int) -> int:
    y = default if year is None else year
    if not 2000 <= y <= 2100:
        raise BadParameter(f"年份 {y} 超出范围（2000–2100）")
    return y


def category_info(aqi: Any) -> dict[str, Any]:
    """AQI with its HJ 633 level, category name and colour (and a readable text colour on that background)."""
    x = finite(aqi)
    if x is None:
        return {"aqi": None, "level": None, "level_name": None, "category": "无数据", "colour": "#B0B7BF",
                "text_colour": "#1F2933"}
    a = int(x)
    c = category(a)
    return {"aqi": a, "level": c.level, "level_name": c.level_zh, "category": c.name_zh, "colour": c.colour,
            "text_colour": "#FFFFFF" if c.level >= 4 else "#1F2933"}


def primary_info(text: Any) -> list[dict[str, str]]:
    """``[{code, name}]`` of a comma-joined primary-pollutant text (empty when none)."""
    if not isinstance(text, str) or not text:
        return []
    return [{"code": c, "name": PRIMARY_NAMES_ZH.get(c, c)} for c in text.split(",") if c]


#: Column → (Chinese label, unit) for the pollutant columns shown by the console.
COLUMN_LABELS: dict[str, tuple[str, str]] = {
    **{p: (POLLUTANTS[p].short_zh, POLLUTANTS[p].unit) for p in POLLUTANTS},
    **{f"{p}_24h": (f"{POLLUTANTS[p].short_zh} 24小时", POLLUTANTS[p].unit) for p in ("so2", "no2", "co", "pm10", "pm25")},
    "o3_8h": ("O₃ 8小时", "µg/m³"),
}
