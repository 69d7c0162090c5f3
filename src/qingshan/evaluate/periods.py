"""Periods and the integer time indexes used by the engines.

* ``hi``: hours since 1970-01-01 00:00 Beijing time of the **end** of the hour.
* ``day``: days since 1970-01-01; natural day D holds the hours labelled D 01:00 … D+1 00:00, so
  ``day = (hi − 1) // 24`` and the hour-of-day label is ``(hi − 1) % 24 + 1`` ∈ 1…24 (docs/design.md#time).
"""

from __future__ import annotations

import calendar
import re
from dataclasses import dataclass
from datetime import date, timedelta

EPOCH = date(1970, 1, 1)


def day_index(d: date) -> int:
    return (d - EPOCH).days


def day_date(i: int) -> date:
    return EPOCH + timedelta(days=int(i))


@dataclass(frozen=True)
class Period:
    start: date
    end: date  # inclusive
    label: str

    @property
    def first_day(self) -> int:
        return day_index(self.start)

    @property
    def last_day(self) -> int:
        return day_index(self.end)

    @property
    def n_days(self) -> int:
        return self.last_day - self.first_day + 1

    def is_calendar_year(self) -> bool:
        return self.start == date(self.start.year, 1, 1) and self.end == date(self.start.year, 12, 31)


_YEAR = re.compile(r"^(\d{4})$")
_MONTH = re.compile(r"^(\d{4})-(\d{1,2})$")
_RANGE = re.compile(r"^(\d{4}-\d{1,2}-\d{1,2})\s*[:~至]\s*(\d{4}-\d{1,2}-\d{1,2})$")
_DAY = re.compile(r"^(\d{4}-\d{1,2}-\d{1,2})$")


def parse_period(text: str) -> Period:
    """``2023`` | ``2023-01`` | ``2023-01-01:2023-03-31`` | ``2023-01-20`` → :class:`Period`."""
    t = text.strip()
    if m := _YEAR.match(t):
        y = int(m.group(1))
        return Period(date(y, 1, 1), date(y, 12, 31), t)
    if m := _MONTH.match(t):
        y, mo = int(m.group(1)), int(m.group(2))
        if not 1 <= mo <= 12:
            raise ValueError(f"月份无效：{text}")
        return Period(date(y, mo, 1), date(y, mo, calendar.monthrange(y, mo)[1]), f"{y}-{mo:02d}")
    if m := _RANGE.match(t):
        a, b = date.fromisoformat(_pad(m.group(1))), date.fromisoformat(_pad(m.group(2)))
        if b < a:
            raise ValueError(f"时段结束日期早于开始日期：{text}")
        return Period(a, b, f"{a.isoformat()}:{b.isoformat()}")
    if m := _DAY.match(t):
        d = date.fromisoformat(_pad(m.group(1)))
        return Period(d, d, d.isoformat())
    raise ValueError(f"无法识别的时段 {text!r}：应为 2023、2023-01、2023-01-01:2023-03-31 或 2023-01-20")


def _pad(s: str) -> str:
    y, m, d = s.split("-")
    text = f"{int(y):04d}-{int(m):02d}-{int(d):02d}"
    try:
        date.fromisoformat(text)
    except ValueError:
        raise ValueError(f"日期无效：{s}") from None
    return text


def period_before(period: Period) -> Period:
    """The period compared 环比 (with the period just before) with ``period``.

    Within one calendar month from its 1st (a whole month, or a month to date): the same days of the previous month
    (1st … the same day, cut at that month's last day) — the whole previous month for a whole month. Otherwise the
    same number of days ending the day before ``period`` starts."""
    s, e = period.start, period.end
    if s.day == 1 and (s.year, s.month) == (e.year, e.month):
        last_prev = s - timedelta(days=1)
        first = last_prev.replace(day=1)
        whole = e.day == calendar.monthrange(e.year, e.month)[1]
        end = last_prev if whole else first.replace(day=min(e.day, last_prev.day))
        label = f"{first.year}-{first.month:02d}" if whole else f"{first.isoformat()}:{end.isoformat()}"
        return Period(first, end, label)
    end = s - timedelta(days=1)
    start = end - timedelta(days=period.n_days - 1)
    return Period(start, end, f"{start.isoformat()}:{end.isoformat()}")
