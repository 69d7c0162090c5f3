"""Data-validity minimums: GB 3095-2012 表4 (GB 3095-2026 表4 has the same content) and HJ 663 §6.1.2.

All counts are of valid values; a value is valid when it exists (NULL = missing, docs/design.md#missing-values).
"""

from __future__ import annotations

import calendar
from dataclasses import dataclass
from datetime import date


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
