"""Noise: GB 3096-2008 声环境质量标准 (zone limits) and HJ 640-2012 环境噪声监测技术规范 城市声环境常规监测
(regional and road-traffic grades, functional-zone compliance).

Clauses implemented (docs/rules/noise-rain-dust.md)
------------------------------------
* GB 3096-2008 表1: equivalent sound level limits L_Aeq in dB(A) per functional zone, day (06:00–22:00) / night
  (22:00–06:00): 0 类 50/40, 1 类 55/45, 2 类 60/50, 3 类 65/55, 4a 类 70/55, 4b 类 70/60.
* HJ 640-2012 区域声环境 (grid method): the city day/night level is the arithmetic mean of the grid-point L_eq,
  S̄ = (1/n) Σ L_i, kept to 1 decimal, graded 一级 好 ≤ 50.0 / 二级 较好 ≤ 55.0 / 三级 一般 ≤ 60.0 / 四级 较差 ≤ 65.0 /
  五级 差 (night 40/45/50/55).
* HJ 640-2012 道路交通声环境: the length-weighted mean L̄ = Σ l_i·L_i / Σ l_i, kept to 1 decimal, graded
  ≤ 68.0 / 70.0 / 72.0 / 74.0 (night 58/60/62/64). The bulletin's table of road length per band uses the same bands.
* Functional-zone compliance: per zone class and day/night, compliant point-sessions ÷ all point-sessions × 100 %,
  each point-session's L_d / L_n compared with its zone limit (docs/rules/open-questions.md#functional-zone-compliance-formula: formula wording from memory).
* L_eq of several measurements: energy mean 10·lg(mean 10^(0.1·L_i)).

Choices: levels are rounded to 1 decimal per GB/T 8170 before grading and before comparison with a limit
(修约值比较); a level equal to the limit complies.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Literal, Sequence

import numpy as np

from .rounding import round_gbt8170

Period = Literal["day", "night"]

#: GB 3096-2008 表1: zone → (day, night) L_Aeq limit, dB(A).
ZONE_LIMITS: dict[str, tuple[float, float]] = {
    "0": (50.0, 40.0),
    "1": (55.0, 45.0),
    "2": (60.0, 50.0),
    "3": (65.0, 55.0),
    "4a": (70.0, 55.0),
    "4b": (70.0, 60.0),
}
ZONE_NAMES_ZH: dict[str, str] = {z: f"{z}类" for z in ZONE_LIMITS}

GRADE_NAMES: tuple[tuple[str, str], ...] = (("一级", "好"), ("二级", "较好"), ("三级", "一般"), ("四级", "较差"), ("五级", "差"))
#: HJ 640-2012: upper bounds (inclusive) of grades 一…四; above the last is 五级.
REGIONAL_BOUNDS: dict[str, tuple[float, ...]] = {"day": (50.0, 55.0, 60.0, 65.0), "night": (40.0, 45.0, 50.0, 55.0)}
ROAD_BOUNDS: dict[str, tuple[float, ...]] = {"day": (68.0, 70.0, 72.0, 74.0), "night": (58.0, 60.0, 62.0, 64.0)}

DIGITS = 1


def normalise_zone(text: object) -> str | None:
    """``2``, ``2类``, ``4A``, ``4a类``, ``Ⅱ类`` … → a key of :data:`ZONE_LIMITS`; None if unknown."""
    t = str(text).strip().lower().replace("类", "").replace(" ", "")
    t = {"ⅰ": "1", "ⅱ": "2", "ⅲ": "3", "〇": "0", "零": "0", "一": "1", "二": "2", "三": "3"}.get(t, t)
    return t if t in ZONE_LIMITS else None


def zone_limit(zone: str, period: Period) -> float:
    day, night = ZONE_LIMITS[zone]
    return day if period == "day" else night


def _grade(level: float | None, bounds: tuple[float, ...]) -> tuple[int, str, str] | None:
    if level is None or level != level:
        return None
    v = round_gbt8170(level, DIGITS)
    for k, b in enumerate(bounds):
        if v <= b + 1e-9:
            return (k + 1, *GRADE_NAMES[k])
    return (5, *GRADE_NAMES[4])


def regional_grade(level: float | None, period: Period) -> tuple[int, str, str] | None:
    """HJ 640 区域声环境质量等级 (1…5, 一级…五级, 好…差) of a city mean.

    >>> regional_grade(53.7, "day"), regional_grade(44.8, "night")
    ((2, '二级', '较好'), (2, '二级', '较好'))
    """
    return _grade(level, REGIONAL_BOUNDS[period])


def road_grade(level: float | None, period: Period) -> tuple[int, str, str] | None:
    """HJ 640 道路交通声环境质量等级.

    >>> road_grade(65.9, "day"), road_grade(58.9, "night")
    ((1, '一级', '好'), (2, '二级', '较好'))
    """
    return _grade(level, ROAD_BOUNDS[period])


def energy_mean(levels: Sequence[float]) -> float | None:
    """L_eq of several levels: 10·lg(mean 10^(0.1·L)) (unrounded)."""
    xs = [float(x) for x in levels if x is not None and x == x]
    if not xs:
        return None
    return 10.0 * math.log10(sum(10.0 ** (0.1 * x) for x in xs) / len(xs))


def regional_mean(levels: Sequence[float]) -> float | None:
    """S̄ = arithmetic mean of the grid-point levels, 1 decimal."""
    xs = [float(x) for x in levels if x is not None and x == x]
    return round_gbt8170(sum(xs) / len(xs), DIGITS) if xs else None


def road_mean(levels: Sequence[float], lengths: Sequence[float]) -> float | None:
    """L̄ = Σ l_i L_i / Σ l_i over segments with a level and a positive length, 1 decimal.

    >>> road_mean([66.0, 70.0], [3.0, 1.0])
    67.0
    """
    pairs = [(float(lv), float(ln)) for lv, ln in zip(levels, lengths)
             if lv is not None and lv == lv and ln is not None and ln == ln and ln > 0]
    total = sum(ln for _, ln in pairs)
    return round_gbt8170(sum(lv * ln for lv, ln in pairs) / total, DIGITS) if total > 0 else None


def complies(level: float | None, zone: str, period: Period) -> bool | None:
    """Whether one point-session meets its GB 3096 zone limit (None when the level is missing)."""
    if level is None or level != level:
        return None
    return round_gbt8170(level, DIGITS) <= zone_limit(zone, period) + 1e-9


@dataclass(frozen=True)
class ComplianceRate:
    zone: str  # a zone key or "all"
    period: Period
    n: int
    compliant: int

    @property
    def rate(self) -> float | None:
        return 100.0 * self.compliant / self.n if self.n else None


def compliance_rates(zones: Sequence[str], levels: Sequence[float | None], period: Period) -> list[ComplianceRate]:
    """Functional-zone compliance by zone class and overall ("all") for one of day/night."""
    out: list[ComplianceRate] = []
    per: dict[str, list[bool]] = {}
    for z, L in zip(zones, levels):
        ok = complies(L, z, period)
        if ok is not None:
            per.setdefault(z, []).append(ok)
    for z in ZONE_LIMITS:
        if z in per:
            out.append(ComplianceRate(z, period, len(per[z]), sum(per[z])))
    allv = [x for v in per.values() for x in v]
    out.append(ComplianceRate("all", period, len(allv), sum(allv)))
    return out


def road_band_index(levels: np.ndarray, period: Period) -> np.ndarray:
    """Band 0…4 (≤68.0, 68.1–70.0, …, >74.0 by day) of each road-segment level rounded to 1 decimal; -1 = missing."""
    from .rounding import round_gbt8170_array

    v = round_gbt8170_array(np.asarray(levels, dtype=float), DIGITS)
    k = np.searchsorted(np.asarray(ROAD_BOUNDS[period]) + 1e-9, v, side="left")
    return np.where(np.isnan(v), -1, k)
