"""The period picker of every console page that asks for a period: presets 今日, 本月, 上月, 今年, 去年同期 and a
custom range, resolved on the platform's one clock (:mod:`qingshan.web.clock`: the data's clock in the demo and
for an archive, the wall clock in live use).

One parser (:func:`resolve`) turns the form's ``preset``/``start``/``end`` into the ``period`` text the data
functions take (``2025-03-01:2025-03-19``), so the API and the pages keep one period syntax; one macro
(``period_macros.html``: ``period_picker``) draws the form from :func:`picker`. Ranges "to date" (本月, 今年,
去年同期) end on the last *complete* day of the clock, as the default period of the evaluation does
(:func:`qingshan.web.data.common.ytd_period`); 今日 is the clock's current day itself (possibly incomplete). A bad
range is a :class:`~qingshan.web.data.common.BadParameter` (HTTP 422, one Chinese line), never a 500.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta
from typing import Any

from ...evaluate.periods import Period
from ...evaluate.ranking import year_ago
from ..clock import Clock
from ..console import Console
from ..data.capture import console_clock
from ..data.common import MAX_PERIOD_DAYS, BadParameter, DataNotFound, need_data
from ..store import last_complete_day

#: preset key → label, in the order the picker shows them
PRESETS: dict[str, str] = {"today": "今日", "month": "本月", "last_month": "上月", "year": "今年",
                           "year_ago": "去年同期"}
CUSTOM = "custom"


@dataclass(frozen=True)
class Range:
    start: date
    end: date

    @property
    def text(self) -> str:
        """The ``period`` parameter of the data functions."""
        return f"{self.start.isoformat()}:{self.end.isoformat()}"


def clock(console: Console) -> Clock:
    """The console's clock (404 :class:`~qingshan.web.data.common.DataNotFound` when the store holds no hour)."""
    state = console.store.state()
    need_data(state)
    c = console_clock(console, state)
    assert c is not None  # need_data: the store holds hours
    return c


def preset_range(key: str, now: Clock) -> Range:
    """The dates of preset ``key`` on clock ``now`` (module docstring)."""
    today = now.today
    done = last_complete_day(now.now_hi)

    def to_date(first: date) -> Range:
        return Range(first, done if done >= first else today)  # the first day of a month/year: today itself

    if key == "today":
        return Range(today, today)
    if key == "month":
        return to_date(today.replace(day=1))
    if key == "last_month":
        last = today.replace(day=1) - timedelta(days=1)
        return Range(last.replace(day=1), last)
    if key == "year":
        return to_date(date(today.year, 1, 1))
    if key == "year_ago":
        this_year = to_date(date(today.year, 1, 1))
        p = year_ago(Period(this_year.start, this_year.end, this_year.text))
        return Range(p.start, p.end)
    raise BadParameter(f"未知的时段预设 preset={key!r}，可选：{'、'.join(f'{k}（{v}）' for k, v in PRESETS.items())}、"
                       f"{CUSTOM}（自定义）")


def _day(text: str, what: str) -> date:
    try:
        return date.fromisoformat(text.strip())
    except ValueError:
        raise BadParameter(f"{what} {text.strip()!r} 无效：日期应写作 YYYY-MM-DD，例如 2025-03-01") from None


def custom_range(start: str | None, end: str | None, now: Clock) -> Range:
    """A custom range, checked: both dates, start ≤ end, not after the clock's day, at most
    :data:`~qingshan.web.data.common.MAX_PERIOD_DAYS` days."""
    if not (start or "").strip() or not (end or "").strip():
        raise BadParameter("自定义时段需要开始日期和结束日期（YYYY-MM-DD）")
    a, b = _day(start or "", "开始日期"), _day(end or "", "结束日期")
    if b < a:
        raise BadParameter(f"结束日期 {b} 早于开始日期 {a}")
    if a > now.today:
        clock_name = "今日" if now.live else "数据时钟的今日"
        raise BadParameter(f"开始日期 {a} 晚于{clock_name} {now.today}：该时段还没有数据")
    if b > now.today:
        raise BadParameter(f"结束日期 {b} 晚于{'今日' if now.live else '数据时钟的今日'} {now.today}")
    days = (b - a).days + 1
    if days > MAX_PERIOD_DAYS:
        raise BadParameter(f"时段 {a} 至 {b} 共 {days} 天，超过单次查询上限 {MAX_PERIOD_DAYS} 天")
    return Range(a, b)


def resolve(console: Console, preset: str | None, start: str | None, end: str | None,
            period: str | None = None) -> str | None:
    """The ``period`` text for a page's data function: a preset, else a custom range (``start`` and ``end``),
    else the typed ``period`` as it is (the data function parses it), else ``None`` (the page's default)."""
    key = (preset or "").strip()
    if key and key != CUSTOM:
        return preset_range(key, clock(console)).text
    if key == CUSTOM or (start or "").strip() or (end or "").strip():
        return custom_range(start, end, clock(console)).text
    return period


def picker(console: Console, start: str, end: str, keys: tuple[str, ...] = tuple(PRESETS),
           custom: bool = True, name: str = "preset", chosen: str | None = None) -> dict[str, Any] | None:
    """What ``period_picker`` draws for a page showing ``start``…``end`` (ISO dates): every preset with its dates
    and whether it is the shown period (else the custom range is; ``chosen`` names it when the page knows).
    ``None`` while the store holds no air hour (no clock: e.g. a workspace with water samples only)."""
    try:
        now = clock(console)
    except DataNotFound:
        return None
    shown = (start, end)
    presets = []
    for k in keys:
        r = preset_range(k, now)
        presets.append({"key": k, "label": PRESETS[k], "start": r.start.isoformat(), "end": r.end.isoformat(),
                        "checked": (r.start.isoformat(), r.end.isoformat()) == shown})
    chosen = chosen or next((p["key"] for p in presets if p["checked"]), CUSTOM if custom else "")
    return {"name": name, "presets": presets, "custom": custom, "chosen": chosen, "start": start, "end": end,
            "today": now.today.isoformat(), "live": now.live, "clock": now.label}
