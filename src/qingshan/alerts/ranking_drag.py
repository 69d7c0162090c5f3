"""The alarm rule ``air.ranking_drag`` 一个站点拖累全市排名 (docs/alerts.md "A station that drags the city's ranking").

How the city is ranked (``/work/shared/standards.md`` §3; 城市环境空气质量排名技术规定, 环办监测〔2018〕19号, with
HJ 663 for the city values):

* the city's daily value of a pollutant is the mean of its evaluation stations' valid daily values (HJ 663
  点位平均法), valid when at least ``ceil(f · n)`` of its ``n`` stations have one (``f`` = the rule set's
  ``city_min_station_fraction``), GB/T 8170-rounded to the reporting digits;
* the period statistic C_i is the mean of the daily values for SO2, NO2, PM10 and PM2.5, the HJ 663 附录A 95th
  percentile of the daily means for CO and the 90th percentile of the daily maximum 8-h means for O3, rounded to
  the reporting digits;
* the composite index I = Σ w_i · C_i / S_i (S_i: the grade-II annual limits, the 24-h CO and 8-h O3 limits; w_i = 1
  under the 2018 rule), rounded to 2 decimals (:func:`qingshan.standards.air_ranking.composite_index`); cities rank
  ascending, ties share a rank.

A station s of the city drags the ranking, over the period so far (the calendar month by default, as the monthly
bulletins rank), when either holds:

1. **rank** — the peer cities' composite indices of the same period are configured (``peers``) and the city
   without s — I(city − s), the same arithmetic with s taken out of the city (n − 1 registered stations) — would
   rank better among them than the city does: removing s changes the city's rank
   (level ``rank_level``);
2. **margin** — the station's own composite index I_s (same statistics from its own daily values) is at least
   ``(1 + margin)`` × the city's I, and the station lifts the city's index by at least ``min_lift``
   (I(city) − I(city − s) ≥ min_lift): it is well above the city and its weight shows in the city's figure
   (level: the rule's ``level``).

Only stations with at least ``min_days`` days with all six daily values enter (a station just switched on is no
one's drag). Pure functions over arrays; :func:`ranking_drag_hits` reads the daily values from the evaluation
engine and returns alarm hits.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date

import numpy as np

from ..standards.air_evaluation import percentile_hj663
from ..standards.air_limits import LimitSet
from ..standards.air_ranking import WEIGHTS_2018, composite_index, rank_with_ties
from ..standards.pollutants import digits_of
from ..standards.rounding import round_gbt8170, round_gbt8170_array

#: composite pollutant → (daily column, statistic)
STATISTICS: dict[str, tuple[str, str]] = {
    "so2": ("so2", "mean"), "no2": ("no2", "mean"), "pm10": ("pm10", "mean"), "pm25": ("pm25", "mean"),
    "co": ("co", "p95"), "o3": ("o3_8h_max", "p90"),
}
COLUMNS = tuple(c for c, _ in STATISTICS.values())


def period_statistics(daily: Mapping[str, np.ndarray]) -> dict[str, float | None]:
    """C_i of each composite pollutant from one entity's daily values (column → 1-D array over days, NaN: none)."""
    out: dict[str, float | None] = {}
    for p, (col, stat) in STATISTICS.items():
        v = np.asarray(daily[col], float)
        v = v[np.isfinite(v)]
        if not len(v):
            out[p] = None
            continue
        raw = float(np.mean(v)) if stat == "mean" else percentile_hj663(v.tolist(), 95 if stat == "p95" else 90)
        out[p] = round_gbt8170(raw, digits_of(p))
    return out


def city_daily(daily: Mapping[str, np.ndarray], members: np.ndarray, registered: int, min_fraction: float
               ) -> dict[str, np.ndarray]:
    """The city's daily values from the rows ``members`` (bool over stations) of S × D arrays: the mean of the valid
    station values, valid with at least ``max(1, ceil(min_fraction · registered))`` of them, rounded."""
    need = max(1, math.ceil(min_fraction * registered))
    out = {}
    for col in COLUMNS:
        v = np.asarray(daily[col], float)[members]
        ok = np.isfinite(v)
        n = ok.sum(axis=0)
        with np.errstate(invalid="ignore", divide="ignore"):
            mean = np.where(ok, v, 0.0).sum(axis=0) / np.maximum(n, 1)
        out[col] = np.where(n >= need, round_gbt8170_array(mean, digits_of(col)), np.nan)
    return out


@dataclass(frozen=True)
class Drag:
    """One station's weight in its city's composite index."""

    station: str
    city: str
    station_index: float  # I_s
    city_index: float  # I(city)
    without_index: float | None  # I(city − s); None when s is the only station with values
    lift: float | None  # I(city) − I(city − s)
    city_rank: int | None  # among the peers (None without peers)
    rank_without: int | None
    by_rank: bool
    by_margin: bool

    @property
    def drags(self) -> bool:
        return self.by_rank or self.by_margin


def ranking_drag(codes: np.ndarray, cities: np.ndarray, daily: Mapping[str, np.ndarray], limits: LimitSet, *,
                 weights: Mapping[str, float] = WEIGHTS_2018, margin: float = 0.15, min_lift: float = 0.05,
                 min_days: int = 5, peers: Mapping[str, Mapping[str, float]] | None = None,
                 min_fraction: float = 0.5, registered: Mapping[str, int] | None = None) -> list[Drag]:
    """:class:`Drag` of every station with ``min_days`` complete days (module docstring), in station order.

    ``daily``: column → S × D arrays for the stations ``codes`` of ``cities``; ``peers``: city → {peer city →
    composite index of the same period}; ``registered``: city → its evaluation stations, those without data in
    the period included (default: the rows given), for the city's minimum share of stations."""
    codes, cities = np.asarray(codes, dtype=object), np.asarray(cities, dtype=object)
    complete = np.logical_and.reduce([np.isfinite(np.asarray(daily[c], float)) for c in COLUMNS])
    out: list[Drag] = []
    for city in sorted({str(c) for c in cities}):
        members = cities == city
        n = max(int(members.sum()), int((registered or {}).get(city, 0)))
        i_city = composite_index(period_statistics(city_daily(daily, members, n, min_fraction)), limits, weights)
        if i_city is None:
            continue
        others = [float(v) for v in (peers or {}).get(city, {}).values()]
        for s in np.flatnonzero(members):
            if complete[s].sum() < min_days:
                continue
            i_s = composite_index(period_statistics({c: np.asarray(daily[c], float)[s] for c in COLUMNS}), limits,
                                  weights)
            if i_s is None:
                continue
            rest = members.copy()
            rest[s] = False
            i_wo = (composite_index(period_statistics(city_daily(daily, rest, n - 1, min_fraction)), limits, weights)
                    if rest.any() else None)
            lift = None if i_wo is None else round_gbt8170(i_city - i_wo, 2)
            rank = rank_with_ties([i_city, *others])[0] if others else None
            rank_wo = rank_with_ties([i_wo, *others])[0] if others and i_wo is not None else None
            by_rank = rank is not None and rank_wo is not None and rank_wo < rank
            by_margin = i_s >= (1 + margin) * i_city and lift is not None and lift >= min_lift
            out.append(Drag(str(codes[s]), city, i_s, i_city, i_wo, lift, rank, rank_wo, by_rank, by_margin))
    return out


def period_start(end: date, period: str) -> date:
    """First day of the period that ends on ``end``: the calendar month (``month``) or year (``year``) so far."""
    if period == "month":
        return end.replace(day=1)
    if period == "year":
        return date(end.year, 1, 1)
    raise ValueError(f"未知统计时段：{period}（应为 month 或 year）")
