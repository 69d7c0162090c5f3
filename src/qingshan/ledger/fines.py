"""按日连续处罚 — the daily continuing fine (《环境保护法》第五十九条; 《环境保护主管部门实施按日连续处罚办法》,
环境保护部令第28号).

The rules encoded here (docs/rules/ledger.md#daily-continuing-fine; docs/ledger.md#daily-fine-按日连续处罚):

* the counted days run from the day **after** the correction order (责令改正违法行为决定书) was served to the day
  of the re-inspection (复查) that found the illegal discharge continuing — both ends as stated, so the count is
  ``recheck − served`` days;
* if a later re-inspection again finds it continuing, the days accumulate (计罚日数累计执行): the count runs to
  the **last** re-inspection that found it continuing, without a gap;
* a re-inspection that finds the violation corrected ends the period; a later new violation needs a new
  penalty decision and restarts the count (that is a new case, not this calculation);
* each day's fine is the fine of the original decision: amount = original fine × days;
* days after a seal-up/seizure (查封、扣押) or production-limit/stop (限制生产、停产整治) measure that stopped the
  discharge are not counted (the count ends on the day the measure was taken);
* the first re-inspection is due within 30 days of serving the order; a later one is flagged, not refused.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from dataclasses import dataclass, field
from decimal import ROUND_HALF_UP, Decimal

RECHECK_WITHIN_DAYS = 30


@dataclass(frozen=True)
class Recheck:
    on: dt.date
    violation_continues: bool


@dataclass
class DailyFine:
    days: int
    daily_amount: Decimal
    amount: Decimal
    start: dt.date | None = None
    end: dt.date | None = None
    notes: list[str] = field(default_factory=list)


def daily_fine(original_fine: Decimal | int | str, order_served_on: dt.date, rechecks: Iterable[Recheck],
               stop_measure_on: dt.date | None = None) -> DailyFine:
    """Days and amount of the daily continuing fine (see the module docstring for the rules)."""
    fine = Decimal(str(original_fine))
    if fine <= 0:
        raise ValueError("原处罚决定的罚款数额必须大于零")
    checks = sorted(rechecks, key=lambda r: r.on)
    notes: list[str] = []
    if any(r.on <= order_served_on for r in checks):
        raise ValueError("复查日期必须晚于责令改正决定书送达日期")
    if not checks:
        return DailyFine(0, fine, Decimal("0.00"), notes=["尚无复查记录"])
    if (checks[0].on - order_served_on).days > RECHECK_WITHIN_DAYS:
        notes.append(f"首次复查距送达超过 {RECHECK_WITHIN_DAYS} 日（{(checks[0].on - order_served_on).days} 日）")
    end: dt.date | None = None
    for r in checks:
        if not r.violation_continues:
            notes.append(f"{r.on.isoformat()} 复查已改正，计罚期间终止")
            break
        end = r.on
    if end is None:
        return DailyFine(0, fine, Decimal("0.00"), notes=notes + ["首次复查未发现继续违法排放，不适用按日连续处罚"])
    if stop_measure_on is not None and stop_measure_on < end:
        if stop_measure_on <= order_served_on:
            return DailyFine(0, fine, Decimal("0.00"), notes=notes + ["送达前已采取查封扣押或限产停产措施"])
        notes.append(f"{stop_measure_on.isoformat()} 已采取查封扣押/限产停产措施，此后不计罚")
        end = stop_measure_on
    days = (end - order_served_on).days
    amount = (fine * days).quantize(Decimal("0.01"), rounding=ROUND_HALF_UP)
    return DailyFine(days, fine, amount, order_served_on + dt.timedelta(days=1), end, notes)
