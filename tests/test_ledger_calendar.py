"""Working days with China's swapped days (调休), and the petition time limits computed on them."""

from __future__ import annotations

import datetime as dt

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from qingshan.ledger.workcal import WorkCalendar
from qingshan.ledger.workflow import POLICIES, accept_due, reply_due

from .ledger_fixtures import fast_password_hashing, ledger, ledger_url, service, workspace  # noqa: F401

D = dt.date
CAL = WorkCalendar()


def test_2024_national_day_and_its_swapped_days():
    # 2024: holiday 1–7 October; Sunday 29 September and Saturday 12 October are working days
    assert CAL.is_workday(D(2024, 9, 29))
    assert CAL.is_workday(D(2024, 10, 12))
    assert all(not CAL.is_workday(D(2024, 10, d)) for d in range(1, 8))
    assert not CAL.is_workday(D(2024, 10, 13))  # an ordinary Sunday
    assert CAL.holiday_name(D(2024, 10, 3)) == "National Day"


def test_add_workdays_across_national_day():
    assert CAL.add_workdays(D(2024, 9, 27), 1) == D(2024, 9, 29)  # Friday → the working Sunday
    assert CAL.add_workdays(D(2024, 9, 29), 1) == D(2024, 9, 30)
    assert CAL.add_workdays(D(2024, 9, 30), 1) == D(2024, 10, 8)  # over the whole holiday
    assert CAL.add_workdays(D(2024, 10, 11), 1) == D(2024, 10, 12)  # the working Saturday counts
    # 15 working days from Friday 27 September 2024, counted by hand:
    # 9/29, 9/30, 10/8, 10/9, 10/10, 10/11, 10/12(Sat), 10/14, 10/15, 10/16, 10/17, 10/18, 10/21, 10/22, 10/23
    assert CAL.add_workdays(D(2024, 9, 27), 15) == D(2024, 10, 23)
    # a naive Monday–Friday count would give 10/18 (it skips 9/29 and 10/12 but counts 10/1–10/4, 10/7)


def test_start_day_is_not_counted_even_on_a_holiday():
    assert CAL.add_workdays(D(2024, 10, 3), 1) == D(2024, 10, 8)
    assert CAL.add_workdays(D(2024, 10, 3), 0) == D(2024, 10, 3)
    with pytest.raises(ValueError):
        CAL.add_workdays(D(2024, 10, 3), -1)


def test_spring_festival_2024():
    # 2024 Spring Festival: 10–17 February off; Sunday 4 and Sunday 18 February worked
    assert CAL.is_workday(D(2024, 2, 4)) and CAL.is_workday(D(2024, 2, 18))
    assert not CAL.is_workday(D(2024, 2, 12))
    assert CAL.add_workdays(D(2024, 2, 9), 1) == D(2024, 2, 18)
    assert CAL.workdays_between(D(2024, 2, 9), D(2024, 2, 19)) == 2


def test_workdays_between():
    assert CAL.workdays_between(D(2024, 9, 27), D(2024, 10, 23)) == 15
    assert CAL.workdays_between(D(2024, 10, 23), D(2024, 9, 27)) == -15
    assert CAL.workdays_between(D(2024, 10, 1), D(2024, 10, 7)) == 0


def test_calendar_days_end_on_a_rest_day_move_to_next_working_day():
    # 11 calendar days after 20 September 2024 is 1 October (holiday) → 8 October
    assert CAL.add_days(D(2024, 9, 20), 11, "calendar") == D(2024, 10, 8)
    assert CAL.add_days(D(2024, 9, 20), 10, "calendar") == D(2024, 9, 30)
    with pytest.raises(ValueError):
        CAL.add_days(D(2024, 9, 20), 1, "lunar")


def test_years_outside_the_package_fall_back_and_say_so():
    assert CAL.is_exact(D(2024, 10, 1))
    far = D(2099, 10, 1)  # a Thursday; no official calendar yet
    assert not CAL.is_exact(far)
    assert CAL.is_workday(far)
    fixed = WorkCalendar(extra_holidays=frozenset({far}), extra_workdays=frozenset({D(2099, 10, 10)}))
    assert fixed.is_exact(far) and not fixed.is_workday(far)
    assert fixed.is_workday(D(2099, 10, 10))  # a Saturday made a working day by hand


@settings(max_examples=60, deadline=None)
@given(start=st.dates(min_value=D(2020, 1, 1), max_value=D(2026, 6, 30)), n=st.integers(min_value=1, max_value=80))
def test_add_then_count_round_trips(start, n):
    end = CAL.add_workdays(start, n)
    assert CAL.is_workday(end)
    assert CAL.workdays_between(start, end) == n
    assert CAL.workdays_between(start, end - dt.timedelta(days=1)) == n - 1


def test_policy_due_dates():
    p = POLICIES["hotline_12369"]
    assert (p.accept_days, p.reply_days, p.max_extension_days, p.day_kind) == (15, 60, 30, "working")
    assert accept_due(p, D(2024, 9, 27)) == D(2024, 10, 23)
    # 60 working days from acceptance on 8 October 2024
    assert reply_due(p, D(2024, 10, 8)) == CAL.add_workdays(D(2024, 10, 8), 60)
    assert reply_due(p, D(2024, 10, 8), 30) == CAL.add_workdays(D(2024, 10, 8), 90)


def test_petition_deadlines_in_the_ledger(ledger):
    with ledger.session() as s:
        svc = service(s, today=D(2024, 12, 31))
        p = svc.create_petition(channel="hotline_12369", received_on="2024-09-27", content="夜间施工噪声")
        assert p.accept_due == D(2024, 10, 23) and p.deadline == D(2024, 10, 23)
        svc.transition(p.id, "accept", {"on": "2024-10-12"})  # accepted on the working Saturday
        assert p.accepted_on == D(2024, 10, 12)
        # 60 working days: 14 left in October, 21 in November, 22 in December, then 2, 3 and 6 January
        # (1 January is a holiday, 4–5 January a weekend)
        assert p.deadline == D(2025, 1, 6) == CAL.add_workdays(D(2024, 10, 12), 60)
        due = p.deadline
        assert not svc.deadline_state(p).overdue
        late = service(s, today=due + dt.timedelta(days=1))
        assert late.deadline_state(p).overdue
        on_time = service(s, today=due)
        assert not on_time.deadline_state(p).overdue


def test_the_official_calendar_is_asked_once_per_day(monkeypatch):
    """The package scans its whole holiday table on each call; deadlines and statistics ask about the same days
    thousands of times (the demo ledger's petitions: ~28,000 calls, a tenth of its build time), so answers are
    cached."""
    import chinese_calendar

    from qingshan.ledger import workcal

    asked: list[dt.date] = []
    real = chinese_calendar.is_workday

    def counting(day: dt.date) -> bool:
        asked.append(day)
        return real(day)

    monkeypatch.setattr(chinese_calendar, "is_workday", counting)
    workcal.official_workday.cache_clear()
    try:
        cal = WorkCalendar()
        first = cal.add_workdays(dt.date(2024, 9, 20), 15)
        assert cal.add_workdays(dt.date(2024, 9, 20), 15) == first == dt.date(2024, 10, 16)  # 29 Sep and 12 Oct are worked
        assert cal.workdays_between(dt.date(2024, 9, 20), first) == 15
        assert len(asked) == len(set(asked)) == (first - dt.date(2024, 9, 20)).days
    finally:
        workcal.official_workday.cache_clear()
