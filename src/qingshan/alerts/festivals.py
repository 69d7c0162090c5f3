"""Festival nights with fireworks: 除夕 → 春节 and 元宵节 (lunar dates by the ``lunar-python`` package, MIT)."""

from __future__ import annotations

from datetime import date, datetime, timedelta
from functools import lru_cache

#: hours (labelled by their end, Beijing time) that count as a festival night: 除夕 19:00 … 春节 06:00 and 元宵
#: 19:00 … 正月十六 02:00 — when the fireworks of Chinese cities are set off (the rise of PM2.5, SO2 and CO around
#: midnight of 除夕 is documented for Beijing every year before the 2018 ban inside the Fifth Ring Road)
EVE_FROM, NEW_YEAR_UNTIL, LANTERN_FROM, LANTERN_UNTIL = 19, 6, 19, 2


@lru_cache(maxsize=256)
def festival_dates(year: int) -> dict[str, date]:
    """The solar dates of 除夕, 春节 (lunar 1/1) and 元宵 (lunar 1/15) of the lunar year starting in ``year``."""
    from lunar_python import Lunar  # imported when a date can be a festival: the command's start-up stays light

    new_year = Lunar.fromYmd(year, 1, 1).getSolar()
    ny = date(new_year.getYear(), new_year.getMonth(), new_year.getDay())
    lantern = Lunar.fromYmd(year, 1, 15).getSolar()
    return {"除夕": ny - timedelta(days=1), "春节": ny,
            "元宵节": date(lantern.getYear(), lantern.getMonth(), lantern.getDay())}


def festival_night(t: datetime) -> str | None:
    """The festival whose fireworks night the hour labelled ``t`` belongs to (``除夕`` or ``元宵节``), else None."""
    d, h = t.date(), t.hour
    if d.month > 3:  # 春节 falls between 01-21 and 02-20, so 元宵 and its night end by 03-07
        return None
    f = festival_dates(d.year)
    if (d == f["除夕"] and h >= EVE_FROM) or (d == f["春节"] and h <= NEW_YEAR_UNTIL):
        return "除夕"
    if (d == f["元宵节"] and h >= LANTERN_FROM) or (d == f["元宵节"] + timedelta(days=1) and h <= LANTERN_UNTIL):
        return "元宵节"
    return None
