"""Rounding rules.

* GB/T 8170-2008 §3.3 "数值修约规则": round half to even on the discarded digits (四舍六入五成双), applied once,
  to the final statistic.
* HJ 633-2012 §6.2 / HJ 633-2026 §4.2.6: IAQI and AQI are always rounded **up** to an integer
  ("全部进位取整数") — see :func:`qingshan.standards.air_aqi.iaqi`.

Binary floating point cannot hold most decimal halves (2.675 is stored as 2.67499999…), so a statistic computed in
floating point may sit a few ulps off an exact half. :func:`round_gbt8170` treats anything within ``HALF_TOL`` of a
half as the half, which is what the exact decimal computation would have given for data with a finite number of
decimals.
"""

from __future__ import annotations

import math
from decimal import ROUND_HALF_EVEN, Decimal

import numpy as np

HALF_TOL = 1e-9


def round_gbt8170(value: float | Decimal | None, digits: int = 0) -> float | None:
    """Round one value per GB/T 8170 (half to even). ``None``/NaN stay missing.

    >>> round_gbt8170(34.5), round_gbt8170(35.5), round_gbt8170(1.25, 1), round_gbt8170(1.251, 1)
    (34.0, 36.0, 1.2, 1.3)
    """
    if value is None:
        return None
    if isinstance(value, Decimal):
        return float(value.quantize(Decimal(1).scaleb(-digits), rounding=ROUND_HALF_EVEN))
    if math.isnan(value):
        return math.nan
    return float(round_gbt8170_array(np.asarray([value], dtype=float), digits)[0])


def round_gbt8170_array(values: np.ndarray, digits: int = 0) -> np.ndarray:
    """Vectorised GB/T 8170 rounding with the float tolerance described in the module docstring.

    ``np.rint`` already rounds exact binary halves to even; only values within a hair of a half (where binary
    representation may have moved them off it) are re-examined, so the common case costs a few passes."""
    arr = np.asarray(values, dtype=float)
    scale = 10.0**digits
    x = arr.reshape(-1) * scale if digits else arr.reshape(-1)
    r = np.rint(x)
    d = np.abs(x - r)
    near = np.flatnonzero(d > 0.5 - 1e-6)
    if len(near):
        xn = x[near]
        fl = np.floor(xn)
        is_half = np.abs(xn - fl - 0.5) < HALF_TOL * np.maximum(1.0, np.abs(xn))
        r[near] = np.where(is_half, fl + np.mod(fl, 2.0), r[near])
    return (r / scale if digits else r).reshape(arr.shape)
