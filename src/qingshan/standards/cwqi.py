"""城市地表水环境质量排名技术规定（试行）(环办监测〔2017〕51号) — 城市水质指数 CWQI.

Clauses implemented (docs/rules/water.md#city-water-quality-index-cwqi; formulas as in the regulation and one public implementation)
-------------------------------------------------------------------------------------------------
* Items: the 21 evaluation items of 地表水环境质量评价办法 (no 水温, 总氮, 粪大肠菌群).
* For the 19 upper-limit items CWQI(i) = C(i) / C_s(i), C_s = the GB 3838 **class Ⅲ** limit; lakes and
  reservoirs use the lake TP class-Ⅲ limit 0.05.
* DO: CWQI(DO) = C_s(DO) / C(DO), C_s = 5 mg/L.
* pH: pH ≤ 7 → (7.0 − pH) / (7.0 − 6); pH > 7 → (pH − 7.0) / (9 − 7.0).
* Section CWQI = Σ CWQI(i) over the items measured.

Open question (docs/rules/open-questions.md#city-cwqi) and the choice made: the city CWQI is the **arithmetic mean of the section
CWQIs** (:func:`city_cwqi`); CWQI values are reported to 4 decimals (GB/T 8170) — the rounding is not verified.
Non-detects enter with the water rule set's non-detect value, like every other mean.
"""

from __future__ import annotations

from typing import Mapping, Sequence

import numpy as np

from .rounding import round_gbt8170
from .water_class import ITEMS
from .water_eval import EVAL_ITEMS

DIGITS = 4
DO_STANDARD = 5.0
PH_LOW, PH_HIGH = 6.0, 9.0


def class3_limit(code: str, water_body: str = "river") -> float:
    limits = ITEMS[code].limits_for(water_body)
    assert limits is not None
    return limits[2]


def cwqi_item(code: str, value: float | None, water_body: str = "river") -> float | None:
    """CWQI(i) of one item (unrounded); None when missing or not one of the 21 items.

    >>> cwqi_item("nh3n", 1.5), cwqi_item("do", 4.0), cwqi_item("ph", 6.5), cwqi_item("tp", 0.1, "lake")
    (1.5, 1.25, 0.5, 2.0)
    """
    if code not in EVAL_ITEMS or value is None or value != value or value < 0:
        return None
    if code == "ph":
        return (7.0 - value) / (7.0 - PH_LOW) if value <= 7.0 else (value - 7.0) / (PH_HIGH - 7.0)
    if code == "do":
        return DO_STANDARD / value if value > 0 else None
    return value / class3_limit(code, water_body)


def section_cwqi(means: Mapping[str, float | None], water_body: str = "river") -> float | None:
    """Σ CWQI(i) of a section's period means (rounded to 4 decimals); None when no item is available."""
    parts = [cwqi_item(c, means.get(c), water_body) for c in EVAL_ITEMS if c in means]
    parts = [p for p in parts if p is not None]
    return round_gbt8170(sum(parts), DIGITS) if parts else None


def city_cwqi(section_values: Sequence[float | None]) -> float | None:
    """City CWQI = mean of its sections' CWQI (documented choice, see module docstring)."""
    xs = [v for v in section_values if v is not None and v == v]
    return round_gbt8170(sum(xs) / len(xs), DIGITS) if xs else None


def cwqi_array(values: Mapping[str, np.ndarray], is_lake: np.ndarray | bool = False) -> np.ndarray:
    """:func:`section_cwqi` for arrays (unrounded; NaN where no item is available)."""
    n = len(next(iter(values.values())))
    lake = np.broadcast_to(np.asarray(is_lake, dtype=bool), (n,))
    total = np.zeros(n)
    seen = np.zeros(n, dtype=bool)
    for c in EVAL_ITEMS:
        if c not in values:
            continue
        x = np.asarray(values[c], dtype=float)
        with np.errstate(invalid="ignore", divide="ignore"):
            ok = x >= 0
            if c == "ph":
                part = np.where(x <= 7.0, (7.0 - x) / (7.0 - PH_LOW), (x - 7.0) / (PH_HIGH - 7.0))
            elif c == "do":
                ok &= x > 0
                part = DO_STANDARD / x
            else:
                s = np.where(lake, class3_limit(c, "lake"), class3_limit(c, "river"))
                part = x / s
        total += np.where(ok, part, 0.0)
        seen |= ok
    return np.where(seen, total, np.nan)
