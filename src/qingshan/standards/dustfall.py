"""Dustfall (降尘): monthly and annual means against a target, e.g. Changzhou's 2.3 t/(km²·30d)
(常州市大气污染防治行动计划 / 2023 work plan: "全市降尘不得高于2.3吨/平方千米·月").

Rules (there is no national standard limit; the bulletin's conventions)
---------------------------------------------------------------------
* Unit: t/(km²·30d). A result measured over n days is normalised to 30 days: D = m / A × 30 / n (see
  :func:`normalise`), m in t and A in km² — or, with the flux over the sampling period already in t/km², ×30/n.
* Site annual mean = mean of its monthly values; city monthly mean = mean of the sites' values in the month; city
  annual mean = mean of the site annual means (each site counts once). Reported to 1 decimal (GB/T 8170) and
  compared with the target as reported (修约值比较): a value equal to the target complies.
* Change vs the previous year: (now − before) / before × 100 %, 1 decimal.
"""

from __future__ import annotations

from typing import Sequence

from .rounding import round_gbt8170

DEFAULT_TARGET = 2.3
DIGITS = 1


def normalise(flux_t_per_km2: float, days: float) -> float:
    """Dustfall of a sampling period of ``days`` days expressed per 30 days."""
    if days <= 0:
        raise ValueError("采样天数必须为正")
    return flux_t_per_km2 * 30.0 / days


def mean(values: Sequence[float | None]) -> float | None:
    xs = [float(v) for v in values if v is not None and v == v]
    return sum(xs) / len(xs) if xs else None


def reported(value: float | None) -> float | None:
    return None if value is None else round_gbt8170(value, DIGITS)


def meets_target(value: float | None, target: float = DEFAULT_TARGET) -> bool | None:
    """Whether a mean (rounded to 1 decimal) is ≤ the target.

    >>> meets_target(2.24), meets_target(2.26), meets_target(2.36)
    (True, True, False)
    """
    if value is None:
        return None
    return round_gbt8170(value, DIGITS) <= target + 1e-9


def change_percent(now: float | None, before: float | None) -> float | None:
    if now is None or before is None or before == 0:
        return None
    return round_gbt8170((now - before) / before * 100.0, 1)
