"""Concentration limits: GB 3095-2012 表1 and GB 3095-2026 表1 (transitional to 2030-12-31, final from 2031-01-01).

Keys are ``(pollutant, averaging)`` with averaging ``annual``, ``24h`` (daily mean), ``8h`` (O3 daily max 8-h)
and ``1h``. Units: µg/m³, CO mg/m³. Gases at reference state 298.15 K / 1013.25 hPa (GB 3095-2012 修改单 2018,
GB 3095-2026 §4.3); particles at actual conditions.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Mapping


@dataclass(frozen=True)
class LimitSet:
    name: str
    title_zh: str
    grade1: Mapping[tuple[str, str], float]
    grade2: Mapping[tuple[str, str], float]

    def limit(self, pollutant: str, averaging: str, grade: int = 2) -> float | None:
        return (self.grade2 if grade == 2 else self.grade1).get((pollutant, averaging))


def _limits(so2, no2, co, o3, pm10, pm25) -> dict[tuple[str, str], float]:
    """so2/no2 = (annual, 24h, 1h); co = (24h, 1h); o3 = (8h, 1h); pm = (annual, 24h)."""
    return {
        ("so2", "annual"): so2[0], ("so2", "24h"): so2[1], ("so2", "1h"): so2[2],
        ("no2", "annual"): no2[0], ("no2", "24h"): no2[1], ("no2", "1h"): no2[2],
        ("co", "24h"): co[0], ("co", "1h"): co[1],
        ("o3", "8h"): o3[0], ("o3", "1h"): o3[1],
        ("pm10", "annual"): pm10[0], ("pm10", "24h"): pm10[1],
        ("pm25", "annual"): pm25[0], ("pm25", "24h"): pm25[1],
    }  # fmt: skip


GB3095_2012 = LimitSet(
    "gb3095-2012",
    "GB 3095-2012",
    grade1=_limits((20, 50, 150), (40, 80, 200), (4, 10), (100, 160), (40, 50), (15, 35)),
    grade2=_limits((60, 150, 500), (40, 80, 200), (4, 10), (160, 200), (70, 150), (35, 75)),
)

GB3095_2026_TRANSITIONAL = LimitSet(
    "gb3095-2026-transitional",
    "GB 3095-2026（过渡期限值，至2030-12-31）",
    grade1=_limits((20, 50, 150), (40, 80, 200), (4, 10), (100, 160), (40, 50), (15, 35)),
    grade2=_limits((60, 150, 500), (40, 80, 200), (4, 10), (160, 200), (60, 120), (30, 60)),
)

GB3095_2026_FINAL = LimitSet(
    "gb3095-2026-final",
    "GB 3095-2026（2031-01-01起限值）",
    grade1=_limits((20, 50, 150), (30, 50, 200), (4, 10), (100, 160), (20, 50), (10, 25)),
    grade2=_limits((20, 50, 150), (30, 50, 200), (4, 10), (160, 200), (50, 100), (25, 50)),
)

LIMIT_SETS: dict[str, LimitSet] = {s.name: s for s in (GB3095_2012, GB3095_2026_TRANSITIONAL, GB3095_2026_FINAL)}
