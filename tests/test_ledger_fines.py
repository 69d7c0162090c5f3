"""按日连续处罚: the daily continuing fine (《环境保护法》第五十九条; 环境保护部令第28号)."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest

from qingshan.ledger.fines import Recheck, daily_fine
from qingshan.ledger.service import ValidationFailed

from .ledger_fixtures import (  # noqa: F401
    TODAY,
    fast_password_hashing,
    ledger,
    ledger_url,
    org,
    principal_of,
    service,
    workspace,
)

D = dt.date


def test_days_run_from_the_day_after_service_to_the_recheck():
    f = daily_fine(100000, D(2024, 3, 1), [Recheck(D(2024, 3, 21), True)])
    # 2 March … 21 March = 20 days
    assert (f.days, f.start, f.end) == (20, D(2024, 3, 2), D(2024, 3, 21))
    assert f.amount == Decimal("2000000.00") and f.daily_amount == Decimal(100000)


def test_days_accumulate_over_rechecks_that_find_the_violation_continuing():
    f = daily_fine("50000", D(2024, 3, 1), [Recheck(D(2024, 3, 21), True), Recheck(D(2024, 4, 10), True)])
    assert f.days == 40 and f.amount == Decimal("2000000.00")


def test_a_corrected_recheck_ends_the_count():
    f = daily_fine(20000, D(2024, 3, 1), [Recheck(D(2024, 3, 11), True), Recheck(D(2024, 3, 25), False),
                                          Recheck(D(2024, 4, 30), True)])
    assert f.days == 10 and f.amount == Decimal("200000.00")
    assert any("已改正" in n for n in f.notes)


def test_no_continuing_violation_means_no_daily_fine():
    f = daily_fine(20000, D(2024, 3, 1), [Recheck(D(2024, 3, 11), False)])
    assert f.days == 0 and f.amount == Decimal("0.00")
    assert daily_fine(20000, D(2024, 3, 1), []).days == 0


def test_seal_up_or_production_stop_ends_the_count():
    f = daily_fine(10000, D(2024, 3, 1), [Recheck(D(2024, 3, 31), True)], stop_measure_on=D(2024, 3, 16))
    assert f.days == 15 and f.end == D(2024, 3, 16) and f.amount == Decimal("150000.00")
    assert daily_fine(10000, D(2024, 3, 1), [Recheck(D(2024, 3, 31), True)], D(2024, 2, 1)).days == 0


def test_late_first_recheck_is_flagged_and_bad_input_refused():
    f = daily_fine(1000, D(2024, 3, 1), [Recheck(D(2024, 4, 15), True)])
    assert f.days == 45 and any("30 日" in n for n in f.notes)
    with pytest.raises(ValueError):
        daily_fine(1000, D(2024, 3, 1), [Recheck(D(2024, 3, 1), True)])
    with pytest.raises(ValueError):
        daily_fine(0, D(2024, 3, 1), [Recheck(D(2024, 3, 5), True)])


def test_exact_decimal_amounts():
    f = daily_fine("12345.67", D(2024, 1, 1), [Recheck(D(2024, 1, 4), True)])
    assert f.amount == Decimal("37037.01")


def test_daily_fine_on_a_ledger_case(ledger, org):
    with ledger.session() as s:
        bureau = service(s, principal_of(s, "bureau"))
        sl = service(s, principal_of(s, "sl"))
        with pytest.raises(ValidationFailed, match="送达"):
            sl.add_recheck(org.case, "2024-05-10", True)
        sl.update_record(org.case, {"order_served_on": "2024-04-01"})
        with pytest.raises(ValidationFailed, match="罚款数额"):
            sl.daily_fine(org.case)
        sl.transition(org.case, "investigate", {"note": "调查终结"})
        sl.transition(org.case, "notify", {"note": "已告知"})
        bureau.transition(org.case, "decide", {"decision_no": "常环罚〔2024〕9号", "penalty_amount": "100000"})
        sl.add_recheck(org.case, "2024-04-20", True, "暗查：仍在超标排放")
        sl.add_recheck(org.case, "2024-05-06", True)
        f = sl.daily_fine(org.case)
        assert f.days == 35 and f.amount == Decimal("3500000.00")
        sl.update_record(org.case, {"stop_measure_on": "2024-04-25"})
        assert sl.daily_fine(org.case).days == 24
