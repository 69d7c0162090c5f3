"""Lake trophic state: 综合营养状态指数 TLI(Σ) (湖泊（水库）富营养化评价方法及分级技术规定, 中国环境监测总站
总站生字〔2001〕090号, used by 地表水环境质量评价办法 一(一)2 / 二(三)).

Clauses implemented (docs/rules/water.md#trophic-state-tli, formulas verified in two reproductions of the 规定)
----------------------------------------------------------------------------------------
* Five indices: chlorophyll a (chla, mg/m³ = µg/L), TP, TN, CODMn (mg/L) and Secchi depth SD (m).
* TLI(j): TLI(chla) = 10(2.5 + 1.086 ln chla); TLI(TP) = 10(9.436 + 1.624 ln TP); TLI(TN) = 10(5.453 + 1.694 ln TN);
  TLI(SD) = 10(5.118 − 1.94 ln SD); TLI(CODMn) = 10(0.109 + 2.661 ln CODMn).
* TLI(Σ) = Σ W_j·TLI(j) with W_j = r_ij² / Σ r_ij² and r (vs chla) = 1, 0.84, 0.82, −0.83, 0.83.
* Grades: TLI < 30 贫营养; 30 ≤ TLI ≤ 50 中营养; TLI > 50 富营养, split 50 < TLI ≤ 60 轻度富营养,
  60 < TLI ≤ 70 中度富营养, TLI > 70 重度富营养 (upper bound of each band included).

Choices (documented in docs/water.md)
-------------------------------------
* TLI values are reported to 2 decimals (GB/T 8170) and the grade is taken from the reported value (修约值比较).
* When an index is missing, TLI(Σ) uses the remaining indices with their weights renormalised to sum 1; the result
  says which indices it used. Zero or negative inputs have no index (ln undefined).
"""

from __future__ import annotations

import math
from typing import Mapping

import numpy as np

from .rounding import round_gbt8170, round_gbt8170_array

#: index → (a, b): TLI = 10 (a + b ln x).
TLI_COEF: dict[str, tuple[float, float]] = {
    "chla": (2.5, 1.086),
    "tp": (9.436, 1.624),
    "tn": (5.453, 1.694),
    "sd": (5.118, -1.94),
    "codmn": (0.109, 2.661),
}
#: Correlation of each index with chla (r_ij).
TLI_R: dict[str, float] = {"chla": 1.0, "tp": 0.84, "tn": 0.82, "sd": -0.83, "codmn": 0.83}
_R2_SUM = sum(r * r for r in TLI_R.values())
#: W_j = r² / Σ r² (chla 0.2663, TP 0.1879, TN 0.1790, SD 0.1834, CODMn 0.1834).
TLI_WEIGHTS: dict[str, float] = {k: r * r / _R2_SUM for k, r in TLI_R.items()}
TLI_INDICES: tuple[str, ...] = ("chla", "tp", "tn", "sd", "codmn")

#: (upper bound inclusive, grade, is eutrophic)
TLI_GRADES: tuple[tuple[float, str], ...] = (
    (30.0, "贫营养"),  # < 30 (30 itself is 中营养)
    (50.0, "中营养"),
    (60.0, "轻度富营养"),
    (70.0, "中度富营养"),
    (math.inf, "重度富营养"),
)
DIGITS = 2


def tli_index(index: str, value: float | None) -> float | None:
    """TLI(j) of one index value (unrounded); None when missing or ≤ 0."""
    if value is None or value != value or value <= 0:
        return None
    a, b = TLI_COEF[index]
    return 10.0 * (a + b * math.log(value))


def tli(values: Mapping[str, float | None]) -> tuple[float | None, dict[str, float | None]]:
    """TLI(Σ) (rounded to 2 decimals) and the unrounded TLI(j) of each index given.

    >>> total, parts = tli({"chla": 10, "tp": 0.05, "tn": 1.0, "sd": 1.0, "codmn": 4.0})
    >>> total, tli_grade(total)
    (48.02, '中营养')
    """
    parts = {k: tli_index(k, values.get(k)) for k in TLI_INDICES if k in values}
    used = {k: v for k, v in parts.items() if v is not None}
    if not used:
        return None, parts
    w = sum(TLI_WEIGHTS[k] for k in used)
    total = sum(TLI_WEIGHTS[k] * v for k, v in used.items()) / w
    return round_gbt8170(total, DIGITS), parts


def tli_grade(value: float | None) -> str:
    """营养状态分级 of a TLI(Σ) value ('' for none)."""
    if value is None or value != value:
        return ""
    if value < 30.0:
        return "贫营养"
    for upper, name in TLI_GRADES[1:]:
        if value <= upper:
            return name
    raise AssertionError("unreachable")


def is_eutrophic(value: float | None) -> bool:
    return value is not None and value == value and value > 50.0


def tli_array(values: Mapping[str, np.ndarray]) -> np.ndarray:
    """:func:`tli` for arrays (rounded to 2 decimals, NaN where no index is available)."""
    n = len(next(iter(values.values())))
    num = np.zeros(n)
    den = np.zeros(n)
    for k in TLI_INDICES:
        if k not in values:
            continue
        x = np.asarray(values[k], dtype=float)
        with np.errstate(invalid="ignore", divide="ignore"):
            ok = x > 0
            a, b = TLI_COEF[k]
            t = 10.0 * (a + b * np.log(np.where(ok, x, 1.0)))
        num += np.where(ok, TLI_WEIGHTS[k] * t, 0.0)
        den += np.where(ok, TLI_WEIGHTS[k], 0.0)
    with np.errstate(invalid="ignore", divide="ignore"):
        out = np.where(den > 0, num / np.where(den > 0, den, 1.0), np.nan)
    return round_gbt8170_array(out, DIGITS)


_GRADE_EDGES = np.array([30.0, 50.0, 60.0, 70.0])
_GRADE_NAMES = np.array(["贫营养", "中营养", "轻度富营养", "中度富营养", "重度富营养", ""], dtype=object)


def tli_grade_array(values: np.ndarray) -> np.ndarray:
    v = np.asarray(values, dtype=float)
    # < 30 → 0; 30 ≤ v ≤ 50 → 1; (50, 60] → 2; (60, 70] → 3; > 70 → 4
    k = np.where(v < 30.0, 0, np.searchsorted(_GRADE_EDGES[1:], v, side="left") + 1)
    return _GRADE_NAMES[np.where(np.isnan(v), 5, k)]
