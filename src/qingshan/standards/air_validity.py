"""Data-validity minimums: GB 3095-2012 表4 (GB 3095-2026 表4 has the same content) and HJ 663 §6.1.2.

All counts are of valid values; a value is valid when it exists (NULL = missing, docs/design.md#missing-values).
The 1-hour rule of 表4 (≥ 45 minutes of sampling in the hour) is the minute rule set below (:class:`MinuteRule`).
"""

from __future__ import annotations

import calendar
from dataclasses import dataclass, field
from datetime import date
from typing import Mapping

import numpy as np

from ..errors import QingshanError


@dataclass(frozen=True)
class Validity:
    daily_min_hours: int = 20  # 表4: SO2, NO2, CO, PM10, PM2.5 daily mean ≥ 20 hourly values
    o3_8h_min_hours: int = 6  # 表4: O3 8-h mean ≥ 6 hourly values in the window
    mda8_min_windows: int = 14  # HJ 663 §6.1.2: ≥ 14 valid 8-h values, or valid anyway above the limit
    month_min_days: int = 27  # 表4: annual mean needs ≥ 27 daily values in every month …
    feb_min_days: int = 25  # … February ≥ 25
    year_min_days: int = 324  # … and ≥ 324 per year

    def month_minimum(self, year: int, month: int) -> int:
        return self.feb_min_days if month == 2 else self.month_min_days

    def required_days(self, year: int, month: int, days_in_period: int) -> int:
        """Minimum valid days for the part of a month that lies in a period.

        For a whole month this is the 表4 monthly minimum. For a partial month (a period that starts or ends
        inside it) the month may miss as many days as a whole month could, i.e. ``days - (month_len - min)``,
        never below zero. This is our documented extension of 表4 to year-to-date and custom periods.
        """
        month_len = calendar.monthrange(year, month)[1]
        allowed_missing = month_len - self.month_minimum(year, month)
        return max(0, days_in_period - allowed_missing)


GB3095_TABLE4 = Validity()


def period_months(start: date, end: date) -> list[tuple[int, int, int]]:
    """(year, month, days of that month inside [start, end]) for every month touched by the period."""
    out: list[tuple[int, int, int]] = []
    y, m = start.year, start.month
    while (y, m) <= (end.year, end.month):
        month_len = calendar.monthrange(y, m)[1]
        first = start.day if (y, m) == (start.year, start.month) else 1
        last = end.day if (y, m) == (end.year, end.month) else month_len
        out.append((y, m, last - first + 1))
        y, m = (y + 1, 1) if m == 12 else (y, m + 1)
    return out


# --- minute → hour (表4, 1-hour averaging time) -----------------------------------------------------------------

#: Pollutants that minute data may carry, in output order: the six of the AQI and NOx.
MINUTE_POLLUTANTS: tuple[str, ...] = ("so2", "no2", "co", "o3", "nox", "pm10", "pm25")
#: 表4 "1 小时平均: SO2, NO2, CO, O3, NOx — 每小时至少有 45 分钟的采样时间".
TABLE4_GASES: tuple[str, ...] = ("so2", "no2", "co", "o3", "nox")
#: HJ 212-2017 表8: only N (正常) marks a measured value fit for statistics.
NORMAL_FLAGS: frozenset[str] = frozenset({"N"})


class MinuteRuleError(QingshanError, ValueError):
    """An unknown minute rule set name."""


@dataclass(frozen=True)
class MinuteRule:
    """How minute values become an hourly mean: the minimum valid minutes in the hour, per pollutant.

    PM10/PM2.5 have no 1-hour sampling rule in 表4, so their minimum is this rule set's choice
    (docs/scale-out.md#minute--hour-aggregation)."""

    name: str
    title_zh: str
    min_minutes: Mapping[str, int]
    valid_flags: frozenset[str] = NORMAL_FLAGS
    notes: tuple[str, ...] = field(default=())

    def minimum(self, pollutant: str) -> int:
        return self.min_minutes[pollutant]


MINUTES_45 = MinuteRule(
    name="gb3095-45min",
    title_zh="GB 3095 表4：1 小时平均至少 45 分钟（颗粒物同样按 45 分钟）",
    min_minutes={p: 45 for p in MINUTE_POLLUTANTS},
    notes=("PM10、PM2.5 在表4中没有 1 小时采样时间要求，本规则集对其同样要求 45 分钟（本项目的选择）。",),
)
MINUTES_45_GASES_ONLY = MinuteRule(
    name="gb3095-45min-gases",
    title_zh="GB 3095 表4 字面：气态污染物至少 45 分钟，颗粒物有 1 分钟即可",
    min_minutes={p: (45 if p in TABLE4_GASES else 1) for p in MINUTE_POLLUTANTS},
)
MINUTE_RULES: dict[str, MinuteRule] = {r.name: r for r in (MINUTES_45, MINUTES_45_GASES_ONLY)}
DEFAULT_MINUTE_RULE = MINUTES_45.name


def get_minute_rule(name: str | MinuteRule | None) -> MinuteRule:
    if isinstance(name, MinuteRule):
        return name
    rule = MINUTE_RULES.get(name or DEFAULT_MINUTE_RULE)
    if rule is None:
        raise MinuteRuleError(f"未知的分钟数据规则集：{name}（可用：{'、'.join(MINUTE_RULES)}）")
    return rule


def hour_of_minute(minute: np.ndarray) -> np.ndarray:
    """Hour index of minute indices, both labelled by the **end** of their interval (docs/design.md#time).

    The minute labelled 15:01 is 15:00–15:01, so the hour labelled 16:00 holds the minutes labelled
    15:01 … 16:00 and the minute labelled 16:00 closes it: ``hi = ceil(mi / 60)``."""
    return -(-np.asarray(minute, dtype=np.int64) // 60)


def hourly_mean_valid(valid_minutes: np.ndarray, pollutant: str, rule: MinuteRule) -> np.ndarray:
    """Whether each hour's mean is valid: at least the rule's minimum of valid minutes."""
    return np.asarray(valid_minutes) >= rule.minimum(pollutant)
