"""Data capture (数据获取率): per station, the share of the expected hours that arrived, today and this month; the
stations and HJ 212 devices that went quiet (docs/console.md#实时更新与数据获取率).

Definitions (stated in every answer):

* **expected hours** — the hours of the period elapsed up to "now" of the console's clock (:mod:`qingshan.web.clock`:
  the wall clock in live use, the data's clock when the data stop in the past): today = 01:00 … now, this month =
  the 1st 01:00 … now (hour-ending labels, Beijing time);
* **received hours** — the hours of the station that hold a value of at least one of the six pollutants (SO₂,
  NO₂, CO, O₃, PM₁₀, PM₂.₅); the same count per pollutant is given beside it;
* **share** — received ÷ expected, in per cent, one decimal;
* **national minimum** — GB 3095-2012 表4 (and HJ 663 §6.1.2): a daily mean needs ≥ 20 hourly values, so a day
  that has already lost more than 4 hours can no longer be a valid day; a month needs ≥ 27 valid days (February
  ≥ 25). A station is marked when its period can no longer meet that minimum (``lost``);
* **offline station** — no hour with any value in the last :data:`OFFLINE_HOURS` hours up to now;
* **offline device** — a registered HJ 212 device whose last packet (``last_seen``, receive time) is older than
  its reporting interval × ``silence_factor`` (at least ``silence_min_s``; the receiver's own silence rule,
  :class:`qingshan.hj212.config.RuleConfig`); a device without an interval counts as hourly. Judged in live use
  only: against an archive's clock a receive time means nothing.

Anonymous (public) callers get the station shares and the number of offline devices, not the devices
themselves (MN, enterprise outlet, peer address).
"""

from __future__ import annotations

import calendar
from datetime import date, datetime
from typing import Any

from ...evaluate.air import city_members
from ...evaluate.periods import day_index
from ...hj212.config import RuleConfig
from ...numbers import integer
from ...standards.air_validity import GB3095_TABLE4
from ...store.read import CAPTURE_POLLUTANTS, air_capture_counts, hj212_offline_devices
from ..clock import Clock, clock_of
from ..console import Console
from ..jsonable import value
from ..store import StoreState, hour_day, hour_time
from .air_now import station_meta
from .common import BadParameter, need_data, resolve_city

PERIODS = {"today": "今日", "month": "本月"}
#: A station with no hour in this many hours up to "now" is listed as offline.
OFFLINE_HOURS = 3
#: A device whose interval is unknown is judged as reporting hourly.
DEFAULT_INTERVAL_S = 3600
#: How long (seconds) the offline-device list is reused before ``last_seen`` is read again.
DEVICE_RECHECK_S = 10


def console_clock(console: Console, state: StoreState) -> Clock | None:
    """The console's clock for ``state`` (:func:`qingshan.web.clock.clock_of`; pinned = ``serve --as-of``)."""
    return clock_of(state, console.store.pinned_hi is not None)


def _pct(n: int, d: int) -> float | None:
    return round(100.0 * n / d, 1) if d > 0 else None


def _bounds(now_hi: int, period: str) -> tuple[date, int]:
    """(first day, first hour index) of ``period`` ending at hour ``now_hi``."""
    today = hour_day(now_hi)
    first = today if period == "today" else today.replace(day=1)
    return first, day_index(first) * 24 + 1


def _rule(period: str, first_day: date) -> dict[str, Any]:
    v = GB3095_TABLE4
    day_min = v.daily_min_hours
    if period == "today":
        return {"day_min_hours": day_min, "hours_may_miss": 24 - day_min,
                "text": f"GB 3095-2012 表4：日均值至少 {day_min} 个有效小时值（{_pct(day_min, 24)}%），"
                        f"当日缺测超过 {24 - day_min} 小时即无法形成有效日均值"}
    month_len = calendar.monthrange(first_day.year, first_day.month)[1]
    need = v.month_minimum(first_day.year, first_day.month)
    return {"day_min_hours": day_min, "month_min_days": need, "month_days": month_len, "days_may_miss": month_len - need,
            "text": f"GB 3095-2012 表4、HJ 663 §6.1.2：月内至少 {need} 个有效日（每日至少 {day_min} 个小时值）"
                    f"；本月 {month_len} 天，缺失超过 {month_len - need} 天即无法满足"}


def _counts(console: Console, codes: list[str], first_hi: int, now_hi: int) -> dict[str, dict[str, Any]]:
    with console.store.cursor() as cur:
        counts = air_capture_counts(cur, codes, first_hi, now_hi, GB3095_TABLE4.daily_min_hours)
    return {str(r["station"]): r for r in counts.to_dict("records")}


def _stations(console: Console, state: StoreState, city: str, period: str, now_hi: int) -> dict[str, Any]:
    """The station part of :func:`capture` (cached per store state, clock hour, city and period)."""
    first_day, first_hi = _bounds(now_hi, period)
    expected = now_hi - first_hi + 1
    meta = station_meta(console, state, city)
    members = set(meta.loc[city_members(meta), "code"].astype(str))
    codes = meta["code"].astype(str).tolist()
    rule = _rule(period, first_day)
    got = _counts(console, codes, first_hi, now_hi)
    today_first = ((now_hi - 1) // 24) * 24 + 1
    today_hours = now_hi - today_first + 1  # hours of the current day so far (24: the day is complete)
    may_miss_today = 24 - GB3095_TABLE4.daily_min_hours
    today = got if period == "today" else _counts(console, codes, today_first, now_hi)
    complete_days = (expected - today_hours) // 24 + (1 if today_hours == 24 else 0)
    rows = []
    for m in meta.to_dict("records"):
        code = str(m["code"])
        c = got.get(code, {})
        hours = int(c.get("hours", 0) or 0)
        last_hi = integer(c.get("last_hi"))
        today_lost = today_hours - int(today.get(code, {}).get("hours", 0) or 0) > may_miss_today
        if period == "today":
            valid_days, lost = None, today_lost
        else:
            valid_days = int(c.get("valid_days", 0) or 0)
            today_valid = today_hours < 24 and int(today.get(code, {}).get("hours", 0) or 0) >= GB3095_TABLE4.daily_min_hours
            lost_days = complete_days - (valid_days - int(today_valid)) + (int(today_lost) if today_hours < 24 else 0)
            lost = lost_days > rule["days_may_miss"]
        rows.append({
            "code": code, "name": m["name"], "network": value(m["network"]), "district": value(m["district"]),
            "group": "city" if code in members else "control" if m["is_control"] else "town",
            "expected": expected, "received": hours, "share": _pct(hours, expected),
            "by_pollutant": {p: {"received": int(c.get(f"hours_{p}", 0) or 0),
                                 "share": _pct(int(c.get(f"hours_{p}", 0) or 0), expected)}
                             for p in CAPTURE_POLLUTANTS},
            "valid_days": valid_days,
            "last_hour": hour_time(last_hi).isoformat() if last_hi is not None else None,
            "offline": last_hi is None or now_hi - last_hi >= OFFLINE_HOURS,
            "lost": lost,
        })
    shares = [r["share"] for r in rows if r["share"] is not None]
    return {
        "first_day": first_day.isoformat(), "first_hour": hour_time(first_hi).isoformat(), "expected": expected,
        "rule": rule, "stations": rows,
        "summary": {"stations": len(rows), "mean_share": round(sum(shares) / len(shares), 1) if shares else None,
                    "complete": sum(1 for r in rows if r["received"] >= expected),
                    "lost": sum(1 for r in rows if r["lost"]), "offline": sum(1 for r in rows if r["offline"])},
    }


def _offline_devices(console: Console, wall: datetime) -> tuple[int, list[dict[str, Any]]]:
    """(registered devices, the offline ones — longest silent first) at wall-clock time ``wall``."""
    cfg = RuleConfig()
    with console.store.cursor() as cur:
        total, rows = hj212_offline_devices(cur, wall, cfg.silence_factor, cfg.silence_min_s, DEFAULT_INTERVAL_S)
    offline = [{"mn": d["mn"], "name": d["name"] or d["station"] or d["enterprise"] or d["mn"],
                "enterprise": d["enterprise"], "outlet": d["outlet"], "station": d["station"], "st": d["st"],
                "interval_s": d["interval_s"],
                "last_seen": d["last_seen"].isoformat(sep=" ", timespec="seconds") if d["last_seen"] else None,
                "silent_s": round(d["silent_s"]) if d["silent_s"] is not None else None, "limit_s": d["limit_s"],
                "last_peer": d["last_peer"]} for d in rows]
    return total, offline


def _devices(console: Console, clock: Clock, public: bool, limit: int) -> dict[str, Any]:
    """Registered HJ 212 devices and the offline ones (live use only; module docstring). Recomputed at most every
    :data:`DEVICE_RECHECK_S` seconds: ``last_seen`` moves with every packet without changing the store state."""
    cfg = RuleConfig()
    bucket = int(clock.wall.timestamp() // DEVICE_RECHECK_S)
    # keyed by the bucket alone: ``last_seen`` moves with every packet, the store state with every load (every
    # second under live traffic) — per state this read 20,000 devices each time
    total, offline = console.cache.get_or_compute(("capture_devices", bucket),
                                                  lambda: _offline_devices(console, clock.wall))
    out: dict[str, Any] = {"available": total > 0, "total": total, "judged": clock.live, "hidden": public,
                           "rule": f"最后一次上报早于上报间隔 × {cfg.silence_factor:g}（至少 {cfg.silence_min_s:g} 秒；"
                                   f"未登记间隔的设备按每小时一次）即判为离线，按接收时间（北京时间）计",
                           "note": None}
    if not clock.live:
        out.update(offline_count=None, offline=[], note="数据停止于过去（演示或归档数据）：不按当前时间判断设备是否在线")
        return out
    out["offline_count"] = len(offline)
    out["offline"] = [] if public else offline[:limit]
    if public and offline:
        out["note"] = "污染源及设备明细仅对登录用户显示"
    elif len(offline) > limit:
        out["note"] = f"仅列出静默最久的 {limit} 台"
    return out


def capture(console: Console, city: str | None = None, period: str = "today", *, public: bool = True,
            device_limit: int = 500) -> dict[str, Any]:
    """The data-capture panel of ``city`` for ``period`` (``today`` | ``month``); see the module docstring. At most
    ``device_limit`` offline devices are listed (the longest silent first); ``offline_count`` counts them all."""
    if period not in PERIODS:
        raise BadParameter(f"时段参数 period 只能是 today（今日）或 month（本月），而不是 {period!r}")
    state = console.store.state()
    as_of = need_data(state)
    clock = console_clock(console, state)
    assert clock is not None  # need_data: the store holds hours
    name = resolve_city(console, state, city)
    part = console.cached("capture", (name, period, clock.now_hi),
                          lambda st: _stations(console, st, name, period, clock.now_hi), state, panel=True)
    return {
        "city": name, "period": period, "period_label": PERIODS[period],
        "as_of": hour_time(as_of).isoformat(),
        "clock": {"now": clock.now.isoformat(), "live": clock.live, "label": clock.label},
        "definition": {"expected": "时段内截至当前时刻已经过的小时数（小时结束时刻，北京时间）",
                       "received": "至少有一项污染物（SO₂、NO₂、CO、O₃、PM₁₀、PM₂.₅）数值的小时数；各污染物分别计数见 by_pollutant",
                       "offline": f"最近 {OFFLINE_HOURS} 小时无任何数据的站点"},
        "offline_hours": OFFLINE_HOURS,
        **part,
        "devices": _devices(console, clock, public, device_limit),
    }
