"""Ranking tables with the bulletin's highlights, shared by the console and the reports.

Changzhou's monthly ranking bulletin (anchors §0.10) shades a value **yellow** when it is worse than the city
average of the same period and the year-on-year change **red** when the value is worse than the entity's value in
the same period of the previous year. Which direction is "worse" depends on the metric (PM2.5 and the composite
index: higher; the good-days ratio: lower). An entity is ranked only when its value is valid for the metric (the
engine's ``valid_<pollutant>`` flag; the good-days ratio follows the bulletin and uses the PM2.5 validity); ranks
are competition ranks with ties (:func:`qingshan.evaluate.air.rank`). Every number is an engine value
(:func:`qingshan.evaluate.air.evaluate_period`); this module only compares them.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date
from typing import Any

import pandas as pd

from ..standards.rounding import round_gbt8170
from .air import rank
from .periods import Period

HIGHLIGHT_MEANING: dict[str, str] = {"yellow": "劣于全市平均水平", "red": "较上年同期变差"}


@dataclass(frozen=True)
class RankingMetric:
    key: str  # column of the engine's evaluation table
    name_zh: str
    unit: str
    digits: int
    higher_is_worse: bool
    valid: str  # engine column telling whether the value is valid
    change: str  # "pct": relative change in %; "pp": difference in percentage points


RANKING_METRICS: dict[str, RankingMetric] = {m.key: m for m in (
    RankingMetric("composite_index", "环境空气质量综合指数", "", 2, True, "valid_all", "pct"),
    RankingMetric("pm25_mean", "细颗粒物（PM2.5）平均浓度", "µg/m³", 0, True, "valid_pm25", "pct"),
    RankingMetric("good_ratio", "优良天数比例", "%", 1, False, "valid_pm25", "pp"),
    RankingMetric("pm10_mean", "可吸入颗粒物（PM10）平均浓度", "µg/m³", 0, True, "valid_pm10", "pct"),
    RankingMetric("no2_mean", "二氧化氮平均浓度", "µg/m³", 0, True, "valid_no2", "pct"),
    RankingMetric("so2_mean", "二氧化硫平均浓度", "µg/m³", 0, True, "valid_so2", "pct"),
    RankingMetric("o3_8h_p90", "臭氧日最大8小时平均第90百分位数", "µg/m³", 0, True, "valid_o3", "pct"),
    RankingMetric("co_p95", "一氧化碳日均值第95百分位数", "mg/m³", 1, True, "valid_co", "pct"),
)}


def number(v: Any) -> float | None:
    """A finite float, or ``None`` for missing/NaN/non-numbers."""
    if v is None or v is pd.NA:
        return None
    try:
        f = float(v)
    except (TypeError, ValueError):
        return None
    return None if math.isnan(f) else f


def worse(metric: RankingMetric, value: float, reference: float) -> bool:
    """Is ``value`` worse than ``reference`` for this metric (strictly)?"""
    return value > reference if metric.higher_is_worse else value < reference


def change(metric: RankingMetric, current: float | None, previous: float | None) -> float | None:
    """Year-on-year change: relative % (concentrations, index) or percentage points (ratio), 1 decimal (GB/T 8170)."""
    if current is None or previous is None:
        return None
    if metric.change == "pct":
        return None if previous == 0 else round_gbt8170((current - previous) / previous * 100, 1)
    return round_gbt8170(current - previous, 1)


def year_ago(period: Period) -> Period:
    """The same period one year earlier (29 February becomes 28 February)."""

    def back(d: date) -> date:
        try:
            return d.replace(year=d.year - 1)
        except ValueError:
            return d.replace(year=d.year - 1, day=28)

    start, end = back(period.start), back(period.end)
    label = f"{start.isoformat()}:{end.isoformat()}"
    if period.label.isdigit() and len(period.label) == 4:
        label = str(start.year)
    elif len(period.label) == 7 and period.label[4] == "-":
        label = f"{start.year}-{start.month:02d}"
    return Period(start, end, label)


def valid_value(row: Mapping[str, Any] | None, metric: RankingMetric) -> float | None:
    """The row's value of the metric when the engine says it is valid, else ``None``."""
    if row is None or not bool(row.get(metric.valid, False)):
        return None
    return number(row.get(metric.key))


def ranking_rows(current: pd.DataFrame, city_row: Mapping[str, Any] | None, previous: pd.DataFrame | None,
                 metric: RankingMetric) -> list[dict[str, Any]]:
    """Ranked rows of one level (stations or districts) of one period.

    ``current``/``previous``: the engine's evaluation rows of that level for the period and for the same period of
    the previous year (control sites already removed); ``city_row``: the city's row of the period. Each output row
    has ``code, name, district, value, valid, rank, city_value, previous_value, change, worse_than_city,
    worse_than_previous, highlight`` (``"red"`` when worse than last year, else ``"yellow"`` when worse than the
    city, else ``None``) and ``highlights`` (both flags as a list). Ranked rows first, in rank order."""
    if current.empty:
        return []
    prev = {str(r["code"]): r for r in previous.to_dict("records")} if previous is not None and len(previous) else {}
    city_value = number(city_row.get(metric.key)) if city_row is not None else None
    records = current.to_dict("records")
    ok = current[[valid_value(r, metric) is not None for r in records]]
    ranks: dict[str, int] = {}
    if len(ok):
        ranked = rank(ok.reset_index(drop=True), metric.key)
        ranks = {str(c): int(k) for c, k in zip(ranked["code"], ranked[f"rank_{metric.key}"]) if number(k) is not None}
    rows = []
    for r in records:
        code = str(r["code"])
        value = valid_value(r, metric)
        pv = valid_value(prev.get(code), metric)
        yellow = value is not None and city_value is not None and worse(metric, value, city_value)
        red = value is not None and pv is not None and worse(metric, value, pv)
        district = r.get("district")
        rows.append({
            "code": code,
            "name": r.get("name") if isinstance(r.get("name"), str) and r.get("name") else code,
            "district": district if isinstance(district, str) else None,
            "value": value,
            "raw_value": number(r.get(metric.key)),
            "valid": value is not None,
            "rank": ranks.get(code),
            "city_value": city_value,
            "previous_value": pv,
            "change": change(metric, value, pv),
            "worse_than_city": yellow,
            "worse_than_previous": red,
            "highlight": "red" if red else "yellow" if yellow else None,
            "highlights": [h for h, on in (("yellow", yellow), ("red", red)) if on],
        })
    rows.sort(key=lambda x: (x["rank"] is None, x["rank"] or 0, x["code"]))
    return rows
