"""The console's clock: which "now" the period panels (today, this month, devices offline) count up to.

One rule, one place: **the wall clock in live use, the data's clock when the data stop in the past.** The store
is *live* when it is not pinned (``qingshan serve --as-of``) and its latest stored hour
(:attr:`qingshan.web.store.StoreState.as_of_hi`) lies within :data:`LIVE_WINDOW_HOURS` of the wall clock; "now" is
then the last complete hour of the wall clock (hour-ending label: at 16:35 the hour 15:00–16:00, labelled 16:00),
so hours that did not arrive count as missing. Otherwise (the demo's past year, a copied archive, a pinned
as-of) "now" is the as-of hour itself. "数据截至" always shows the as-of hour (the latest data), which in live use
is the clock hour or a little before it.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from .store import BEIJING, StoreState, hour_day, hour_index, hour_time

#: Latest data older than this (hours before the wall clock) mean "the data stop in the past": a week without any
#: hour is an archive (or the demo), not a live platform with an outage.
LIVE_WINDOW_HOURS = 7 * 24


def wall_now() -> datetime:
    """Now as a naive Beijing datetime (the store's convention); tests replace it."""
    return datetime.now(BEIJING).replace(tzinfo=None)


@dataclass(frozen=True)
class Clock:
    now_hi: int  # the last hour the period panels count (hour-ending index)
    live: bool  # True: wall clock; False: the data's clock
    wall: datetime  # the wall-clock time it was read at (naive Beijing)

    @property
    def now(self) -> datetime:
        return hour_time(self.now_hi)

    @property
    def today(self):
        return hour_day(self.now_hi)

    @property
    def label(self) -> str:
        return "实时（按北京时间钟点）" if self.live else "数据时钟（数据停止于过去或已固定时刻）"


def clock_of(state: StoreState, pinned: bool, wall: datetime | None = None) -> Clock | None:
    """The console's clock for ``state`` (module docstring); ``None`` for an empty store."""
    wall = wall if wall is not None else wall_now()
    if state.as_of_hi is None:
        return None
    wall_hi = hour_index(wall)
    live = not pinned and wall_hi - state.as_of_hi <= LIVE_WINDOW_HOURS
    return Clock(max(wall_hi, state.as_of_hi) if live else state.as_of_hi, live, wall)
