"""Dispatch deadlines and escalation of command-and-dispatch events (指挥调度, docs/ledger.md#指挥调度).

Pure functions over the tables below; the service (:mod:`.service.event`) applies them.

Levels are the four grades of 《国家突发环境事件应急预案》(国办函〔2014〕119号, 附件1 突发环境事件分级标准):
特别重大 (Ⅰ级), 重大 (Ⅱ级), 较大 (Ⅲ级), 一般 (Ⅳ级). The plan grades emergencies; for the other three kinds the
same four words grade urgency, so one scale serves the whole dispatch board and escalation moves along it.

Deadlines (from dispatch to the unit's answer, 反馈):

* 突发环境事件: 《突发环境事件信息报告办法》(环境保护部令 第17号) 第七条 — 一般、较大 events are reported within
  4 hours of being found, 重大、特别重大 within 2 hours; the unit's first verified answer is held to the same clock.
* 环境质量问题 (alarms of the monitoring network): seed 002 asks for a first cause within 30 minutes of a data
  fluctuation and same-day verification on site; the hours below are this project's default.
* 环境违法线索: verification of a clue on site, in working days (the non-site enforcement path, seed 002).
* 环境信访事项: 《信访工作条例》 — 15 days to decide on acceptance; here counted in working days, as the
  ledger's petition policy does (:data:`.workflow.POLICIES`).

The hour and day values that do not come from a cited text are defaults for the bureau to confirm; change them in
:data:`DEADLINES`.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from .models import EVENT_LEVELS
from .workcal import WorkCalendar


@dataclass(frozen=True)
class Limit:
    """``amount`` hours, or working days (the N-th working day after dispatch, end of that day)."""

    amount: int
    unit: str  # "hours" | "workdays"

    @property
    def label(self) -> str:
        return f"{self.amount} 小时" if self.unit == "hours" else f"{self.amount} 个工作日"


H, W = "hours", "workdays"

#: kind → level → limit (lowest level first, as EVENT_LEVELS)
DEADLINES: dict[str, dict[str, Limit]] = {
    "emergency": {"general": Limit(4, H), "larger": Limit(4, H), "major": Limit(2, H),
                  "especially_major": Limit(2, H)},
    "quality": {"general": Limit(24, H), "larger": Limit(12, H), "major": Limit(6, H),
                "especially_major": Limit(2, H)},
    "violation": {"general": Limit(5, W), "larger": Limit(3, W), "major": Limit(1, W),
                  "especially_major": Limit(24, H)},
    "petition": {"general": Limit(15, W), "larger": Limit(10, W), "major": Limit(5, W),
                 "especially_major": Limit(1, W)},
}

BASIS = {
    "emergency": "《突发环境事件信息报告办法》第七条：一般、较大 4 小时内，重大、特别重大 2 小时内",
    "quality": "本平台默认（种子文件 002：30 分钟内初步得出数据波动原因，当日现场核实）",
    "violation": "本平台默认（非现场执法线索现场核查）",
    "petition": "《信访工作条例》：15 日内告知是否受理（按工作日计）",
}


def limit_for(kind: str, level: str) -> Limit:
    return DEADLINES[kind][level]


def due_at(kind: str, level: str, start: dt.datetime, cal: WorkCalendar) -> dt.datetime:
    """When the answer is due for an event dispatched at ``start`` (aware). Hours are elapsed hours; working days
    end at midnight after the N-th working day following the dispatch day (the dispatch day is not counted, as
    :meth:`.workcal.WorkCalendar.add_workdays`)."""
    lim = limit_for(kind, level)
    if lim.unit == H:
        return start + dt.timedelta(hours=lim.amount)
    last = cal.add_days(start.date(), lim.amount, "working")
    return dt.datetime.combine(last + dt.timedelta(days=1), dt.time(0), tzinfo=start.tzinfo)


def next_level(level: str) -> str:
    """One grade up (特别重大 stays 特别重大)."""
    i = EVENT_LEVELS.index(level)
    return EVENT_LEVELS[min(i + 1, len(EVENT_LEVELS) - 1)]
