"""Data review (数据审核): the fixed reasons of a review mark and the dust-storm rule (docs/review.md).

A reviewer marks a station × pollutant(s) × hour range invalid (无效) or restores it (恢复有效), always with one
of :data:`REASONS` (codes stored, Chinese labels shown; "其他" needs a free text).

**Dust storms (沙尘).** 《受沙尘天气过程影响城市空气质量评价补充规定》(环境保护部办公厅，环办监测〔2016〕120号，
2016-12-30 印发，2017-01-01 起施行) applies to air-quality assessment (考核) and the monthly city ranking: once the
period and area affected by a dust-weather process are determined (CNEMC from satellite and meteorological
evidence; the local bureau reports the affected period the same day), the **particulate** data (PM10, PM2.5) of
the affected period are deducted during data review and the remaining data are used for evaluation, assessment and
ranking. Other pollutants are not touched. :func:`dust_pollutants` is that rule; the rule-set option
:attr:`qingshan.standards.rulesets.AirEvalRuleSet.exclude_dust` switches it on (off for publication: the public
sees the air as it was). The thresholds of the document's annex that decide when a process counts as affecting a
city could not be verified here (docs/review.md#open-questions): the affected hours are what reviewers mark with
reason ``dust``.
"""

from __future__ import annotations

from collections.abc import Iterable

from ..errors import QingshanError
from .pollutants import SIX

#: reason code → Chinese label (the fixed list of the review form and the XLSX column 原因)
REASONS: dict[str, str] = {
    "calibration": "校准",
    "fault": "故障",
    "power": "停电",
    "maintenance": "维护",
    "outlier": "异常值",
    "dust": "沙尘天气影响",
    "other": "其他",
}
DUST = "dust"
OTHER = "other"
#: the pollutants a dust-storm mark deducts (环办监测〔2016〕120号: particulate matter only)
DUST_POLLUTANTS: tuple[str, ...] = ("pm10", "pm25")

INVALIDATE = "invalidate"
RESTORE = "restore"
ACTIONS: dict[str, str] = {INVALIDATE: "标记无效", RESTORE: "恢复有效"}


class ReviewInputError(QingshanError, ValueError):
    """A review mark that cannot be recorded (message in Chinese, one line)."""


def reason_code(text: str) -> str:
    """The reason code of ``text`` (a code or a Chinese label); :class:`ReviewInputError` for anything else."""
    t = (text or "").strip()
    if t in REASONS:
        return t
    for code, label in REASONS.items():
        if t == label:
            return code
    raise ReviewInputError(f"原因 {t!r} 不在列表中，可选：{'、'.join(REASONS.values())}")


def parse_pollutants(items: str | Iterable[str] | None, reason: str) -> tuple[str, ...]:
    """The pollutants of a mark in :data:`SIX` order: empty or ``all`` means all six, except for a dust mark,
    which covers PM10 and PM2.5 only (naming another pollutant with reason ``dust`` is an error)."""
    if items is None or (isinstance(items, str) and items.strip().lower() in ("", "all", "全部")):
        wanted: set[str] = set()
    else:
        parts = items.replace("，", ",").split(",") if isinstance(items, str) else list(items)
        wanted = {p.strip().lower().replace(".", "") for p in parts if p and p.strip()}
    unknown = wanted - set(SIX)
    if unknown:
        raise ReviewInputError(f"未知的污染物 {', '.join(sorted(unknown))}，可选：{', '.join(SIX)}")
    if reason == DUST:
        return dust_pollutants(wanted)
    return tuple(p for p in SIX if not wanted or p in wanted)


def dust_pollutants(wanted: set[str]) -> tuple[str, ...]:
    """The pollutants a dust mark deducts: PM10 and PM2.5, or the named subset of them (环办监测〔2016〕120号)."""
    other = wanted - set(DUST_POLLUTANTS)
    if other:
        raise ReviewInputError(f"沙尘天气影响只扣除颗粒物（PM10、PM2.5），不能用于 {', '.join(sorted(other))}")
    return tuple(p for p in DUST_POLLUTANTS if not wanted or p in wanted)
