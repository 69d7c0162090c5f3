"""城市环境空气质量排名技术规定 (环办监测〔2018〕19号): composite index and ranking with ties.

* Single index I_i = C_i / S_i with C_i the period statistic of :data:`~.air_evaluation.COMPOSITE_ITEMS`
  (rounded to reporting precision first) and S_i the grade-II annual limit (SO2, NO2, PM10, PM2.5), the 24-h CO
  limit and the 8-h O3 limit.
* Composite index I_sum = Σ w_i·I_i; weights are all 1 under the 2018 rule. The 2026 weights (PM2.5 ×3, NO2 ×2,
  O3 ×2) come from a third-party implementation and are **unverified**: they live only in the
  ``gb3095-2026-*`` evaluation rule sets, which say so in their notes.
* Decimals: I_i and I_sum are reported with 2 decimals (GB/T 8170); the decimals are not verified in the rule.
* Ranking: ascending (smaller is better); equal values share a rank and the next rank skips (1, 1, 3).
"""

from __future__ import annotations

from typing import Mapping, Sequence

from .air_limits import LimitSet
from .rounding import round_gbt8170

DENOMINATOR_AVERAGING: dict[str, str] = {
    "so2": "annual",
    "no2": "annual",
    "pm10": "annual",
    "pm25": "annual",
    "co": "24h",
    "o3": "8h",
}

WEIGHTS_2018: dict[str, float] = {p: 1.0 for p in DENOMINATOR_AVERAGING}


def single_indices(stats: Mapping[str, float | None], limits: LimitSet) -> dict[str, float | None]:
    """I_i per pollutant from already rounded statistics keyed by pollutant code."""
    out: dict[str, float | None] = {}
    for p, averaging in DENOMINATOR_AVERAGING.items():
        c = stats.get(p)
        s = limits.limit(p, averaging)
        out[p] = None if c is None or c != c or not s else c / s
    return out


def composite_index(
    stats: Mapping[str, float | None], limits: LimitSet, weights: Mapping[str, float] = WEIGHTS_2018
) -> float | None:
    """Σ w_i·I_i over the six pollutants, rounded to 2 decimals; ``None`` if any statistic is missing."""
    idx = single_indices(stats, limits)
    if any(v is None for v in idx.values()):
        return None
    return round_gbt8170(sum(weights[p] * v for p, v in idx.items()), 2)


def rank_with_ties(values: Sequence[float | None], ascending: bool = True) -> list[int | None]:
    """Competition ranking (1, 1, 3); missing values get no rank."""
    present = [v for v in values if v is not None and v == v]
    ordered = sorted(present, reverse=not ascending)
    first: dict[float, int] = {}
    for i, v in enumerate(ordered, start=1):
        first.setdefault(v, i)
    return [None if v is None or v != v else first[v] for v in values]
