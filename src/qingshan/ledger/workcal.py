"""Working days on China's official calendar, with the swapped working days (调休) — for petition time limits.

The State Council publishes each year's public holidays and the weekend days that become working days (e.g. the
2024 National Day holiday 1–7 October was paid for by working on Sunday 29 September and Saturday 12 October).
:class:`WorkCalendar` reads them from the maintained PyPI package ``chinese-calendar`` (``chinese_calendar``),
which covers 2004 up to the last year whose notice it has. For other years it can be completed by hand
(``extra_holidays`` / ``extra_workdays``, e.g. from a newly published notice before the package is updated);
dates outside the package's coverage are otherwise counted as Monday–Friday working days and
:meth:`WorkCalendar.is_exact` says so, so that the callers can flag a computed deadline as provisional.

Counting rule (期间计算, 《民法典》第二百零一条 and the usual administrative practice): a limit of *N* working days
starting on day *D* ends on the *N*-th working day **after** *D* — the start day itself is not counted, whether it
is a working day or not.
"""

from __future__ import annotations

import datetime as dt
import functools
from dataclasses import dataclass, field

import chinese_calendar

ONE_DAY = dt.timedelta(days=1)


@functools.lru_cache(maxsize=16384)
def official_workday(day: dt.date) -> bool | None:
    """The official calendar's answer for ``day``; None outside the package's coverage. Cached: the package checks
    every call against the min and max of its whole holiday table (~0.3 ms each), and a petition's deadlines and
    statistics ask about the same days thousands of times."""
    try:
        return bool(chinese_calendar.is_workday(day))
    except NotImplementedError:
        return None


@dataclass
class WorkCalendar:
    """A working-day calendar: the official one, completed or corrected by explicit extra days."""

    extra_holidays: frozenset[dt.date] = field(default_factory=frozenset)
    extra_workdays: frozenset[dt.date] = field(default_factory=frozenset)

    def is_exact(self, day: dt.date) -> bool:
        """True if the official calendar (or an explicit extra day) knows whether ``day`` is a working day."""
        if day in self.extra_holidays or day in self.extra_workdays:
            return True
        return official_workday(day) is not None

    def is_workday(self, day: dt.date) -> bool:
        if day in self.extra_holidays:
            return False
        if day in self.extra_workdays:
            return True
        official = official_workday(day)
        return day.weekday() < 5 if official is None else official

    def holiday_name(self, day: dt.date) -> str | None:
        """The official holiday's English name from the package (e.g. 'National Day'), or None."""
        try:
            on, name = chinese_calendar.get_holiday_detail(day)
        except NotImplementedError:
            return None
        return name if on and name else None

    def add_workdays(self, start: dt.date, n: int) -> dt.date:
        """The ``n``-th working day after ``start`` (``n`` ≥ 1); for ``n`` = 0, ``start`` itself."""
        if n < 0:
            raise ValueError("a time limit cannot be negative")
        day = start
        while n > 0:
            day += ONE_DAY
            if self.is_workday(day):
                n -= 1
        return day

    def workdays_between(self, start: dt.date, end: dt.date) -> int:
        """Working days in the half-open interval (start, end] — the days used up of a limit started on ``start``.

        Negative when ``end`` is before ``start``.
        """
        if end < start:
            return -self.workdays_between(end, start)
        n, day = 0, start
        while day < end:
            day += ONE_DAY
            if self.is_workday(day):
                n += 1
        return n

    def add_days(self, start: dt.date, n: int, kind: str) -> dt.date:
        """Add ``n`` days of ``kind`` ('working' or 'calendar'); a calendar-day limit that ends on a rest day is
        moved to the next working day (the same 民法典 rule)."""
        if kind == "working":
            return self.add_workdays(start, n)
        if kind != "calendar":
            raise ValueError(f"unknown day kind {kind!r} (working | calendar)")
        day = start + dt.timedelta(days=n)
        while not self.is_workday(day):
            day += ONE_DAY
        return day

    def days_between(self, start: dt.date, end: dt.date, kind: str) -> int:
        return self.workdays_between(start, end) if kind == "working" else (end - start).days


DEFAULT_CALENDAR = WorkCalendar()
