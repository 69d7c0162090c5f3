"""HJ 663 — 环境空气质量评价技术规范: statistics, annual items, compliance.

* Percentile (HJ 663 附录A): sort ascending, k = 1 + (n − 1)·p/100, s = ⌊k⌋,
  m_p = X(s) + (X(s+1) − X(s))·(k − s). Identical to numpy's ``linear`` method, Excel ``PERCENTILE.INC`` and
  DuckDB ``quantile_cont`` (the engine relies on the latter, written ``percentile_cont(p) WITHIN GROUP (ORDER BY x)``
  so that Spark SQL runs the same text with its exact ``percentile``; tests check they agree).
* Annual items (HJ 663 表1 年评价): SO2 and NO2 annual mean and daily-mean P98; PM10 and PM2.5 annual mean and
  daily-mean P95; CO daily-mean P95; O3 daily max 8-h P90. Each is compared with the matching limit.
* Compliance: a statistic complies when its GB/T 8170-rounded value is ≤ the limit (修约值比较法); exceedance
  multiple (超标倍数) = (C − S)/S, only when C > S.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Sequence

from .rounding import round_gbt8170


def percentile_hj663(values: Sequence[float], p: float) -> float | None:
    """HJ 663 附录A percentile of the valid values (``None``/NaN ignored); ``None`` when there are none.

    >>> percentile_hj663(range(1, 11), 90)
    9.1
    >>> percentile_hj663([10, 20, 30, 40, 50], 95)
    48.0
    """
    xs = sorted(float(v) for v in values if v is not None and v == v)
    n = len(xs)
    if n == 0:
        return None
    k = 1 + (n - 1) * p / 100.0
    s = int(math.floor(k))
    if s >= n:
        return xs[-1]
    return xs[s - 1] + (xs[s] - xs[s - 1]) * (k - s)


@dataclass(frozen=True)
class AnnualItem:
    """One row of HJ 663 表1: statistic of a pollutant compared with one limit."""

    key: str  # column name in outputs, e.g. "pm25_p95"
    pollutant: str
    statistic: str  # "mean" or "pNN"
    source: str  # daily column the statistic is taken over
    averaging: str  # which limit it is compared with
    name_zh: str

    @property
    def percentile(self) -> float | None:
        return float(self.statistic[1:]) if self.statistic.startswith("p") else None


ANNUAL_ITEMS: tuple[AnnualItem, ...] = (
    AnnualItem("so2_mean", "so2", "mean", "so2", "annual", "SO₂年平均"),
    AnnualItem("so2_p98", "so2", "p98", "so2", "24h", "SO₂日平均第98百分位数"),
    AnnualItem("no2_mean", "no2", "mean", "no2", "annual", "NO₂年平均"),
    AnnualItem("no2_p98", "no2", "p98", "no2", "24h", "NO₂日平均第98百分位数"),
    AnnualItem("pm10_mean", "pm10", "mean", "pm10", "annual", "PM₁₀年平均"),
    AnnualItem("pm10_p95", "pm10", "p95", "pm10", "24h", "PM₁₀日平均第95百分位数"),
    AnnualItem("pm25_mean", "pm25", "mean", "pm25", "annual", "PM₂.₅年平均"),
    AnnualItem("pm25_p95", "pm25", "p95", "pm25", "24h", "PM₂.₅日平均第95百分位数"),
    AnnualItem("co_p95", "co", "p95", "co", "24h", "CO日平均第95百分位数"),
    AnnualItem("o3_8h_p90", "o3", "p90", "o3_8h_max", "8h", "O₃日最大8小时平均第90百分位数"),
)

#: The statistic of each pollutant used by the composite index (城市环境空气质量排名技术规定).
COMPOSITE_ITEMS: dict[str, str] = {
    "so2": "so2_mean",
    "no2": "no2_mean",
    "pm10": "pm10_mean",
    "pm25": "pm25_mean",
    "co": "co_p95",
    "o3": "o3_8h_p90",
}


def complies(rounded_value: float | None, limit: float | None) -> bool | None:
    """修约值比较法: the rounded statistic complies when ≤ the limit; unknown when either is missing."""
    if rounded_value is None or limit is None or rounded_value != rounded_value:
        return None
    return rounded_value <= limit


def exceedance_multiple(rounded_value: float | None, limit: float | None) -> float | None:
    """超标倍数 (C − S)/S when C > S, else ``None``; rounded to 2 decimals (GB/T 8170)."""
    if rounded_value is None or limit is None or rounded_value != rounded_value or rounded_value <= limit:
        return None
    return round_gbt8170((rounded_value - limit) / limit, 2)
