"""Acid rain (酸雨): precipitation-weighted mean pH, frequency and the bulletin grades.

Clauses implemented (docs/rules/noise-rain-dust.md#acid-rain)
------------------------------------
* Acid rain is precipitation with pH < 5.6 (GB/T 19117-2017).
* Period mean pH (HJ/T 165-2004 §4.5 data processing, as summarised): [H⁺]_i = 10^(−pH_i);
  mean [H⁺] = Σ [H⁺]_i·V_i / Σ V_i; pH = −lg(mean [H⁺]). Never the arithmetic mean of the pH values.
* Frequency (酸雨频率) = samples with pH < 5.6 ÷ samples × 100 %.
* Bulletin grades of the mean pH: ≥ 5.6 非酸雨; 5.0 ≤ pH < 5.6 酸雨; 4.5 ≤ pH < 5.0 较重酸雨; pH < 4.5 重酸雨.

Open question (docs/rules/open-questions.md#acid-rain-weights) and the choice made: the weight V_i is the event's **rainfall depth (mm)**; a
table that carries sample volume instead can pass it as the weight, the formula is the same. Samples without a
weight are left out of the weighted mean (and counted in the frequency). Mean pH is reported to 2 decimals
(GB/T 8170), frequency to 1 decimal.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Sequence

from .rounding import round_gbt8170

ACID_PH = 5.6
GRADES: tuple[tuple[float, str], ...] = ((4.5, "重酸雨"), (5.0, "较重酸雨"), (5.6, "酸雨"))
PH_DIGITS = 2
FREQ_DIGITS = 1


def weighted_mean_ph(ph: Sequence[float | None], weights: Sequence[float | None]) -> float | None:
    """Rainfall-weighted H⁺ mean pH, 2 decimals.

    >>> weighted_mean_ph([4.5, 5.0, 6.0], [10, 20, 70])
    5.23
    """
    num = den = 0.0
    for p, w in zip(ph, weights):
        if p is None or p != p or w is None or w != w or w <= 0:
            continue
        num += 10.0 ** (-float(p)) * float(w)
        den += float(w)
    if den <= 0:
        return None
    return round_gbt8170(-math.log10(num / den), PH_DIGITS)


def acid_frequency(ph: Sequence[float | None]) -> float | None:
    """酸雨频率 in %, 1 decimal."""
    xs = [p for p in ph if p is not None and p == p]
    if not xs:
        return None
    return round_gbt8170(100.0 * sum(1 for p in xs if p < ACID_PH) / len(xs), FREQ_DIGITS)


def ph_grade(ph: float | None) -> str:
    """Grade of a (mean) pH: 重酸雨 / 较重酸雨 / 酸雨 / 非酸雨."""
    if ph is None or ph != ph:
        return ""
    for bound, name in GRADES:
        if ph < bound:
            return name
    return "非酸雨"


@dataclass(frozen=True)
class RainSummary:
    n: int
    n_acid: int
    frequency: float | None
    mean_ph: float | None
    grade: str
    ph_min: float | None
    ph_max: float | None
    rainfall: float


def summarise(ph: Sequence[float | None], rainfall: Sequence[float | None]) -> RainSummary:
    xs = [(p, r) for p, r in zip(ph, rainfall) if p is not None and p == p]
    phs = [p for p, _ in xs]
    mean = weighted_mean_ph(phs, [r for _, r in xs])
    return RainSummary(len(phs), sum(1 for p in phs if p < ACID_PH), acid_frequency(phs), mean, ph_grade(mean),
                       min(phs) if phs else None, max(phs) if phs else None,
                       float(sum(r for _, r in xs if r is not None and r == r and r > 0)))
