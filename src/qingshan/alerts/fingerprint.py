"""The chemical and instrumental fingerprint of a station-hour (pure functions over hourly arrays).

Thresholds and where they come from (docs/alerts.md "Fingerprint"):

* PM2.5/PM10: mineral dust is coarse. Studies of northern Chinese cities commonly report ratios of about
  0.1–0.4 in dust storms and near fugitive (construction, road) dust, 0.5–0.7 in ordinary urban air and above 0.7
  in haze dominated by secondary aerosol and combustion; the cut-offs below are qingshan's reading of those ranges
  (not a standard), checked on the Beijing dust episode of the UCI data (docs/alerts.md "Real data"). Below
  :data:`COARSE_RATIO` counts as coarse, above :data:`FINE_RATIO` as fine.
* "rose": the hour is at least a factor above both the mean of the 3rd–6th hour before it and the 30-day median
  of the same hour of day (the diurnal cycle — rush-hour CO and NO2, afternoon O3 — is the baseline, not a rise).
* instrument: the same value four hours running (HJ 817 / HJ 818 data review: constant values are 待确认 / 疑似异常),
  a level shift followed by flat values, PM2.5 above PM10 by more than their joint uncertainty (10 %).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np

from ..standards.pollutants import POLLUTANTS, SIX

COARSE_RATIO = 0.4
PARTLY_COARSE_RATIO = 0.5
FINE_RATIO = 0.6
#: identical values this many hours running (the hour included) mark a stuck channel
STUCK_HOURS = 4
#: a stuck value must be at least this many reporting steps (1 µg/m³, 0.1 mg/m³ for CO) above zero
STUCK_MIN_STEPS = 20
#: a one-hour level change by at least this factor, followed by flat values, is a step
STEP_FACTOR = 2.5
#: flat: coefficient of variation of the values since the step
FLAT_CV = 0.03
#: PM2.5 above PM10 by more than this factor is physically impossible beyond measurement uncertainty
PM25_OVER_PM10 = 1.1


@dataclass(frozen=True)
class Fingerprint:
    """What the pollutants of one station say about the hour."""

    values: dict[str, float]  # at the hour
    before: dict[str, float]  # mean of the 3rd–6th hour before
    baseline: dict[str, float]  # 30-day median of the same hour of day
    up: dict[str, float]  # min(value / before, value / baseline): how much it rose
    pm_ratio: float  # PM2.5 / PM10 at the hour
    stuck: dict[str, int] = field(default_factory=dict)  # pollutant → hours of the same value
    step: dict[str, float] = field(default_factory=dict)  # pollutant → factor of a step followed by flat values
    pm25_over_pm10: bool = False
    gradual: bool = False  # PM2.5 rose over 12 h without any hourly jump above 25 %

    def rose(self, pollutant: str, factor: float) -> bool:
        return self.up.get(pollutant, math.nan) >= factor

    def anomaly(self, pollutant: str) -> float:
        """Value over the 30-day median of the same hour (NaN without a baseline)."""
        return _ratio(self.values[pollutant], self.baseline[pollutant])

    def elevated(self, pollutant: str, factor: float) -> bool:
        """Above the usual level of the hour by ``factor``, whether it rose just now or hours ago (an episode that
        goes on: a dust storm's fourth hour is as much dust as its first)."""
        return self.anomaly(pollutant) >= factor

    @property
    def primary(self) -> str | None:
        """The pollutant that rose most; when none rose by 20 %, the one most above its usual level (by 50 % at
        least); None otherwise."""
        best = max(((v, p) for p, v in self.up.items() if not math.isnan(v)), default=(math.nan, None))
        if best[0] >= 1.2:
            return best[1]
        high = max(((self.anomaly(p), p) for p in self.values if not math.isnan(self.anomaly(p))),
                   default=(math.nan, None))
        return high[1] if high[0] >= 1.5 else None


def _ratio(a: float, b: float) -> float:
    if math.isnan(a) or math.isnan(b) or b <= 0:
        return math.nan
    return a / b


def stuck_hours(series: np.ndarray, min_level: float = 0.0) -> int:
    """Hours of the same (non-missing) value of at least ``min_level`` running up to the last element. Low values
    repeat by rounding alone (SO2 of 3 µg/m³ for hours is normal), hence the floor."""
    s = np.asarray(series, float)
    if not len(s) or not np.isfinite(s[-1]) or s[-1] <= max(min_level, 0.0):
        return 0
    n = 1
    while n < len(s) and np.isfinite(s[-1 - n]) and abs(s[-1 - n] - s[-1]) < 1e-9:
        n += 1
    return n


def step_factor(series: np.ndarray, hours: int = 8, min_level: float = 0.0) -> tuple[float, int]:
    """(factor, position) of an upward level shift within the last ``hours`` that is followed by flat values (≥ 3
    of them, the hour included) of at least ``min_level``; (NaN, -1) when there is none. A real plume or dust front varies from hour
    to hour; a shifted zero or a changed range does not. Downward steps are left out: ozone falls to a low, flat
    night level at dusk every day."""
    s = np.asarray(series, float)
    for k in range(len(s) - hours, len(s) - 2):
        if k < 3:
            continue
        after, prior = s[k:], s[max(0, k - 3):k]
        if not (np.isfinite(after).all() and np.isfinite(prior).any()):
            continue
        level = float(np.nanmean(prior))
        m = float(after.mean())
        if level <= 0 or m <= 0:
            continue
        f = m / level
        if f >= STEP_FACTOR and m >= min_level and after.std() / m < FLAT_CV:
            return f, k
    return math.nan, -1


def moved_together(window: dict[str, np.ndarray], pollutant: str, k: int, by: float = 0.3) -> bool:
    """Did another pollutant change by more than ``by`` (relative) in the same hour ``k``? A front or a new air
    mass moves every channel; a faulty analyser moves one."""
    for q, s in window.items():
        if q == pollutant or k < 1 or k >= len(s):
            continue
        a, b = float(s[k - 1]), float(s[k])
        if np.isfinite(a) and np.isfinite(b) and a > 0 and abs(b / a - 1) > by:
            return True
    return False


def is_gradual(series: np.ndarray) -> bool:
    """Slow accumulation: up by 30 % over the last 12 h, no hour more than 25 % above the one before."""
    s = np.asarray(series, float)[-13:]
    if len(s) < 13 or not np.isfinite(s).all() or s[0] <= 0:
        return False
    steps = s[1:] / np.maximum(s[:-1], 1e-9)
    return bool(s[-1] / s[0] >= 1.3 and steps.max() <= 1.25)


def fingerprint(window: dict[str, np.ndarray], same_hour: dict[str, np.ndarray]) -> Fingerprint:
    """Fingerprint from each pollutant's hourly series ending at the hour (``window``, ≥ 13 h) and its values at the
    same hour of day over the previous 30 days (``same_hour``)."""
    values, before, baseline, up = {}, {}, {}, {}
    stuck, step = {}, {}
    for p in SIX:
        s = np.asarray(window.get(p, np.array([math.nan])), float)
        values[p] = float(s[-1])
        prior = s[max(0, len(s) - 7): len(s) - 3]
        before[p] = float(np.nanmean(prior)) if np.isfinite(prior).any() else math.nan
        sh = np.asarray(same_hour.get(p, np.array([])), float)
        baseline[p] = float(np.nanmedian(sh)) if np.isfinite(sh).any() else math.nan
        ups = [x for x in (_ratio(values[p], before[p]), _ratio(values[p], baseline[p])) if not math.isnan(x)]
        up[p] = min(ups) if ups else math.nan
        floor = STUCK_MIN_STEPS * 10.0 ** -POLLUTANTS[p].digits
        if (n := stuck_hours(s, floor)) >= STUCK_HOURS:
            stuck[p] = n
        f, k = step_factor(s, min_level=floor)
        if not math.isnan(f) and not moved_together(window, p, k):
            step[p] = f
    ratio = _ratio(values["pm25"], values["pm10"])
    over = bool(values["pm10"] > 10 and ratio > PM25_OVER_PM10)
    return Fingerprint(values, before, baseline, up, ratio, stuck, step, over,
                       is_gradual(window.get("pm25", np.array([]))))
