"""Year-to-date progress against an annual target and what the rest of the year must achieve — pure functions.

Rules shared by every indicator
-------------------------------
* **Rounding.** The annual value is compared with the target *after* GB/T 8170 rounding (half to even) to the
  target's ``digits`` (PM2.5 0, ratios 0.1 %, dustfall 0.1). So "≤ 31" is met by a raw annual mean < 31.5
  (31.5 rounds to 32), and "≥ 80.0 %" by a raw ratio ≥ 79.95 % (79.95 rounds to 80.0). :func:`threshold` turns a
  target into the exact raw bound and whether the bound itself qualifies; all bound arithmetic is exact
  (:class:`fractions.Fraction`), so boundary equality is decided without floating-point error.
* **Calendar.** ``days_left`` = days after ``as_of`` up to 31 December; a year has 366 days when it is a leap year.
  A month counts as completed only when ``as_of`` is its last day (monthly indicators).
* **Remaining days are assumed valid.** The annual daily mean is the mean of the valid daily values of the year,
  and the good-days ratio is good days / valid days. We assume every remaining day will be valid, so the annual
  denominator is ``n_ytd + days_left``. (Invalid days ahead shrink the denominator; the requirement is then
  recomputed as the year goes on.)
* **Status.**
  - ``missed`` (未达标/已无法完成): even the best possible rest of the year cannot meet the target (for a mean with
    an upper target: 0 on every remaining day; for a count: every remaining day/section good), or the year is over
    and the annual value fails.
  - ``at_risk`` (有风险): still achievable, not yet secured, and the year-to-date value — rounded like the annual
    value — does **not** meet the target, i.e. continuing at the year-to-date pace would miss it.
  - ``on_track`` (正常): achievable and the year-to-date value meets the target (includes ``secured``).
  - ``no_data`` (无数据): no year-to-date data; the requirement for the rest of the year is still given.
* **Requirement kinds** (``requirement``): ``secured`` (已确保: met whatever the rest of the year brings),
  ``needed`` (the figure in ``required``), ``impossible`` (无法实现), ``final`` (year over, nothing left).
"""

from __future__ import annotations

import calendar
import math
from collections.abc import Mapping
from dataclasses import asdict, dataclass, field
from datetime import date
from fractions import Fraction

from ..standards.rounding import round_gbt8170

STATUS_TEXT = {"on_track": "正常", "at_risk": "有风险", "missed": "未达标", "no_data": "无数据"}
NON_FINITE_TEXT = "年初至今数据中有超出计算范围的数值（如 inf 或极大值），无法计算；请核查测量库中的异常值"
REQUIREMENT_TEXT = {"secured": "已确保达标", "needed": "仍需努力", "impossible": "已无法实现", "final": "年度已结束"}


# --- calendar ---------------------------------------------------------------------------------------------------


def days_in_year(year: int) -> int:
    """365, or 366 in a leap year."""
    return 366 if calendar.isleap(year) else 365


def days_elapsed(as_of: date) -> int:
    """Days from 1 January through ``as_of`` inclusive."""
    return as_of.timetuple().tm_yday


def days_left(as_of: date) -> int:
    """Days after ``as_of`` up to 31 December inclusive (0 on 31 December)."""
    return days_in_year(as_of.year) - days_elapsed(as_of)


def months_completed(as_of: date) -> int:
    """Calendar months fully elapsed by ``as_of``: its month counts only when ``as_of`` is the month's last day."""
    last = calendar.monthrange(as_of.year, as_of.month)[1]
    return as_of.month if as_of.day == last else as_of.month - 1


# --- thresholds -------------------------------------------------------------------------------------------------


def _frac(x: float | Fraction) -> Fraction:
    return x if isinstance(x, Fraction) else Fraction(repr(float(x))) if isinstance(x, float) else Fraction(x)


@dataclass(frozen=True)
class Threshold:
    """The raw-value condition equivalent to "rounded annual value ``comparison`` target".

    ``upper``: the value must stay below ``bound`` (``≤ bound`` when ``inclusive`` else ``< bound``);
    otherwise it must stay above it (``≥``/``>``)."""

    bound: Fraction
    inclusive: bool
    upper: bool

    def ok(self, x: float | Fraction) -> bool:
        x = _frac(x)
        if self.upper:
            return x <= self.bound if self.inclusive else x < self.bound
        return x >= self.bound if self.inclusive else x > self.bound


def threshold(comparison: str, target: float, digits: int) -> Threshold:
    """Raw bound of a target compared after GB/T 8170 rounding to ``digits`` (targets lie on that grid).

    ``≤ T``: rounded ≤ T ⇔ raw < T + h, or raw = T + h when that half rounds down to T (T's last digit even);
    ``< T`` is ``≤ T − step``; ``≥ T``: raw > T − h, or raw = T − h when that half rounds up to T;
    ``> T`` is ``≥ T + step`` (h = step/2, step = 10^−digits)."""
    step = Fraction(1, 10**digits)
    t = _frac(target)
    if comparison in ("<", ">"):
        t = t - step if comparison == "<" else t + step
        comparison = "≤" if comparison == "<" else "≥"
    h = step / 2
    if comparison == "≤":
        b = t + h
        return Threshold(b, round_gbt8170(float(b), digits) <= float(t) + 1e-12, True)
    if comparison == "≥":
        b = t - h
        return Threshold(b, round_gbt8170(float(b), digits) >= float(t) - 1e-12, False)
    raise ValueError(f"比较符无效：{comparison}")


def meets(value: float, comparison: str, target: float, digits: int) -> bool:
    """Whether ``value`` rounded per GB/T 8170 to ``digits`` meets ``comparison target``."""
    r = round_gbt8170(float(value), digits)
    return {"≤": r <= target + 1e-12, "<": r < target - 1e-12, "≥": r >= target - 1e-12, ">": r > target + 1e-12}[comparison]


# --- result -----------------------------------------------------------------------------------------------------


@dataclass
class Progress:
    """Progress of one target. ``required`` is in the target's unit (or a count); ``required_text`` says it in
    Chinese; ``coverage`` = ``n`` / ``expected`` (valid days, months or sections so far over those expected)."""

    status: str
    requirement: str
    ytd_value: float | None
    n: int
    expected: int
    remaining: int
    required: float | int | None = None
    required_text: str = ""
    details: dict = field(default_factory=dict)

    @property
    def coverage(self) -> float | None:
        return None if self.expected <= 0 else round_gbt8170(self.n / self.expected * 100, 1)

    @property
    def status_text(self) -> str:
        return STATUS_TEXT[self.status]

    def as_dict(self) -> dict:
        d = asdict(self)
        d.update(coverage=self.coverage, status_text=self.status_text,
                 requirement_text=REQUIREMENT_TEXT[self.requirement])
        return d


def _status(achievable: bool, ytd_ok: bool | None) -> str:
    if not achievable:
        return "missed"
    if ytd_ok is None:
        return "no_data"
    return "on_track" if ytd_ok else "at_risk"


def _shown(x: Fraction, digits: int, up: bool) -> Fraction:
    """``x`` cut to ``digits`` decimals towards safety (down for a ceiling, up for a floor), exactly."""
    q = x * 10**digits
    return Fraction(math.ceil(q) if up else math.floor(q), 10**digits)


def _fmt(x: float, digits: int) -> str:
    return f"{x:.{digits}f}"


# --- means (PM2.5 daily values, dustfall monthly values) -------------------------------------------------------


def mean_progress(comparison: str, target: float, digits: int, ytd_sum: float | None, n: int, remaining: int,
                  expected: int, unit: str = "", period_word: str = "天") -> Progress:
    """An annual mean of ``n`` year-to-date values (their exact sum ``ytd_sum``; daily values are already rounded,
    so the sum is exact) and ``remaining`` values still to come, each assumed valid, so the annual mean is
    ``(ytd_sum + remaining·r) / (n + remaining)``
    where ``r`` is the mean of the remaining values. Values are ≥ 0.

    Upper target (≤/<): ``r`` must not exceed ``r_max = (bound·(n+remaining) − ytd_sum) / remaining`` (strictly
    below it when the bound itself does not qualify). Impossible when ``r_max < 0`` (or = 0 with a strict bound):
    even 0 on every remaining day would not do. Never secured while values remain (one remaining value could be
    arbitrarily high). Lower target (≥/>): ``r`` must reach ``r_min`` likewise; secured when ``r_min ≤ 0``."""
    thr = threshold(comparison, target, digits)
    if n and isinstance(ytd_sum, float) and not math.isfinite(ytd_sum):
        # an absurd stored value (inf, or finite values whose sum overflows): no year-to-date figure to judge by
        return Progress("no_data", "needed", None, n, expected, remaining, None, NON_FINITE_TEXT)
    s = _frac(ytd_sum) if n and ytd_sum is not None else Fraction(0)
    ytd_value = round_gbt8170(float(s / n), digits) if n and ytd_sum is not None else None
    ytd_ok = thr.ok(s / n) if ytd_value is not None else None
    if remaining <= 0:
        if n == 0:
            return Progress("no_data", "final", None, 0, expected, 0, None, "年度已结束，无数据")
        ok = thr.ok(s / n)
        return Progress("on_track" if ok else "missed", "final", ytd_value, n, expected, 0, None,
                        f"年度已结束，年均值 {ytd_value:g} {unit}，{'达标' if ok else '未达标'}")
    total = n + remaining
    r = (thr.bound * total - s) / remaining
    op = ("≤" if thr.inclusive else "<") if thr.upper else ("≥" if thr.inclusive else ">")
    details = {"bound": float(thr.bound), "inclusive": thr.inclusive, "remaining_mean_limit": float(r),
               "assumption": f"剩余 {remaining} {period_word}均为有效数据"}
    if thr.upper:
        impossible = r < 0 or (r == 0 and not thr.inclusive)
        if impossible:
            return Progress("missed", "impossible", ytd_value, n, expected, remaining, None,
                            f"即使剩余 {remaining} {period_word}均为 0，年均值也无法{comparison} {target:g} {unit}", details)
        shown = _shown(r, digits + 1, up=False)  # rounded towards safety: meeting the shown figure meets the target
        op = op if shown == r else "≤"
        return Progress(_status(True, ytd_ok), "needed", ytd_value, n, expected, remaining, float(r),
                        f"剩余 {remaining} {period_word}的平均值须 {op} {_fmt(float(shown), digits + 1)} {unit}", details)
    if r < 0 or (r == 0 and thr.inclusive):
        return Progress(_status(True, ytd_ok if ytd_ok is not None else True), "secured", ytd_value, n, expected,
                        remaining, 0.0, "已确保达标：剩余各期任意取值均可", details)
    shown = _shown(r, digits + 1, up=True)
    op = op if shown == r else "≥"
    return Progress(_status(True, ytd_ok), "needed", ytd_value, n, expected, remaining, float(r),
                    f"剩余 {remaining} {period_word}的平均值须 {op} {_fmt(float(shown), digits + 1)} {unit}", details)


# --- counts: good days, sections ---------------------------------------------------------------------------------


def min_count(comparison: str, target_pct: float, digits: int, total: int) -> int:
    """Smallest count ``k`` (0…total+1) whose share ``k / total · 100`` meets a lower target after rounding;
    ``total + 1`` when no count does. ``k ≥ bound·total/100`` (ceil), or ``>`` (floor + 1) for a strict bound."""
    thr = threshold(comparison, target_pct, digits)
    if thr.upper:
        raise ValueError("min_count 仅用于下限目标（≥、>）")
    x = thr.bound * total / 100
    k = math.ceil(x) if thr.inclusive else math.floor(x) + 1
    return max(0, min(k, total + 1))


def good_days_progress(comparison: str, target_pct: float, digits: int, good_days: int, valid_days: int,
                       remaining: int, expected: int) -> Progress:
    """Good-days ratio = good days / valid days · 100 of the whole year, remaining days assumed valid, so the annual
    denominator is ``N = valid_days + remaining``. Good days still needed = ``max(0, k − good_days)`` where ``k``
    is :func:`min_count` over ``N``. Secured when that is 0 (good days never decrease; fewer valid days ahead
    only raise the ratio); impossible when it exceeds the days left."""
    total = valid_days + remaining
    ratio = good_days / valid_days * 100 if valid_days else None
    ytd_value = round_gbt8170(ratio, digits) if ratio is not None else None
    ytd_ok = threshold(comparison, target_pct, digits).ok(Fraction(100 * good_days, valid_days)) if valid_days else None
    k = min_count(comparison, target_pct, digits, total)
    need = max(0, k - good_days)
    details = {"annual_days": total, "good_days_required": k, "good_days": good_days,
               "assumption": f"剩余 {remaining} 天均为有效天"}
    if remaining <= 0:
        if valid_days == 0:
            return Progress("no_data", "final", None, 0, expected, 0, None, "年度已结束，无数据", details)
        ok = need == 0
        return Progress("on_track" if ok else "missed", "final", ytd_value, valid_days, expected, 0, None,
                        f"年度已结束，优良天数比率 {ytd_value:.{digits}f}%，{'达标' if ok else '未达标'}", details)
    if need == 0:
        return Progress(_status(True, ytd_ok if ytd_ok is not None else True), "secured", ytd_value, valid_days,
                        expected, remaining, 0, f"已确保达标：全年至少需 {k} 个优良天，已有 {good_days} 个", details)
    if need > remaining:
        return Progress("missed", "impossible", ytd_value, valid_days, expected, remaining, need,
                        f"已无法实现：还需 {need} 个优良天，但只剩 {remaining} 天", details)
    return Progress(_status(True, ytd_ok), "needed", ytd_value, valid_days, expected, remaining, need,
                    f"剩余 {remaining} 天中至少还需 {need} 个优良天（占 {need / remaining * 100:.1f}%）", details)


def share_progress(comparison: str, target_pct: float, digits: int, n_sections: int, n_meeting: int,
                   year_over: bool = False) -> Progress:
    """Share of sections at or better than a class (优Ⅲ/优Ⅱ) = meeting / sections · 100. The required number is
    ``k`` = :func:`min_count` over the sections; "more sections must reach the class" = ``max(0, k − meeting)``.
    The year-to-date class of each section (from the year-to-date mean concentrations) stands in for its annual
    class; since later months can still change any section's class, this target is never ``secured`` before the
    year is over. Impossible only when ``k`` exceeds the number of sections."""
    if n_sections <= 0:
        return Progress("no_data", "needed", None, 0, 0, 0, None, "无断面数据")
    share = n_meeting / n_sections * 100
    ytd_value = round_gbt8170(share, digits)
    k = min_count(comparison, target_pct, digits, n_sections)
    more = max(0, k - n_meeting)
    details = {"sections_required": k, "sections": n_sections, "meeting": n_meeting}
    if k > n_sections:
        return Progress("missed", "impossible", ytd_value, n_sections, n_sections, 0, None,
                        f"{n_sections} 个断面全部达到也无法满足目标", details)
    if year_over:
        return Progress("on_track" if more == 0 else "missed", "final", ytd_value, n_sections, n_sections, 0, None,
                        f"年度已结束，{n_meeting}/{n_sections} 个断面达到，{'达标' if more == 0 else '未达标'}", details)
    if more == 0:
        return Progress("on_track", "needed", ytd_value, n_sections, n_sections, 0, 0,
                        f"须保持至少 {k} 个断面达到（现有 {n_meeting} 个）", details)
    return Progress("at_risk", "needed", ytd_value, n_sections, n_sections, 0, more,
                    f"还需 {more} 个断面提升到目标类别（共需 {k}/{n_sections} 个）", details)


def no_worse_v_progress(bad_months: Mapping[str, int], months_done: int, max_months: int = 0) -> Progress:
    """"No 劣Ⅴ" on monthly evaluations. Rule: a section meets the target for the year when at most ``max_months``
    (the target value; 0 for 消除劣Ⅴ) of its 12 monthly evaluations are 劣Ⅴ; the indicator is met when every
    section meets it. A section can still afford ``min(max_months − bad, 12 − months_done)`` 劣Ⅴ months; the
    indicator reports the smallest. ``missed`` when a section already has more than ``max_months``; ``at_risk`` when
    a section's pace ``bad · 12 / months_done`` exceeds ``max_months``."""
    months_left = max(0, 12 - months_done)
    if not bad_months:
        return Progress("no_data", "needed", None, 0, 0, months_left, None, "无断面月评价数据")
    afford = {s: min(max_months - b, months_left) for s, b in bad_months.items()}
    worst = min(afford.values())
    over = sorted(s for s, b in bad_months.items() if b > max_months)
    pace = sorted(s for s, b in bad_months.items() if months_done and b * 12 / months_done > max_months)
    n = len(bad_months)
    details = {"affordable": afford, "over": over, "max_months": max_months}
    if over:
        return Progress("missed", "impossible", float(max(bad_months.values())), n, n, months_left, None,
                        f"{len(over)} 个断面劣Ⅴ月数已超过 {max_months}：{'、'.join(over)}", details)
    status = "at_risk" if pace else "on_track"
    if months_left == 0:
        return Progress("on_track", "final", float(max(bad_months.values())), n, n,
                        0, None, "年度已结束，各断面劣Ⅴ月数均未超过允许值", details)
    return Progress(status, "needed", float(max(bad_months.values())), n, n, months_left, worst,
                    f"剩余 {months_left} 个月，单个断面最多还可出现 {worst} 个劣Ⅴ月", details)
