"""Alarm rules beyond the air stations: the HJ 212 receiver's pollution-source alerts brought into the alarm centre,
and the automatic water stations (class worse than the section's target, sudden change of a factor).

Both return hits in the layout of :mod:`.detect` (``rule, subject, pollutant, hi, level, value, reference``), so
the same episode merging and alarm workflow apply.
"""

from __future__ import annotations

from datetime import datetime, timedelta

import numpy as np
import pandas as pd

from ..evaluate.water_auto import AUTO_CLASS_ITEMS, recompute
from ..store.alarms import hj212_alert_rows, water_auto_window
from .config import AlarmRule
from .detect import HIT_COLUMNS

EPOCH = datetime(1970, 1, 1)
DEFAULT_SOURCE_LEVELS = {"exceed": 3, "silent": 2, "flags": 1, "flat": 1, "missing": 1}


def hj212_hits(con, rule: AlarmRule, window: tuple[int, int], workspace=None) -> pd.DataFrame:
    """The receiver's alerts (``hj212_alerts``: exceedance, device silent, flags, flat values, missing factors;
    docs/hj212.md) of the window, one hit per alert, subject = the device (MN), pollutant = the factor code."""
    rows = hj212_alert_rows(con, *window)
    levels = {**DEFAULT_SOURCE_LEVELS, **(rule.param("levels", {}) or {})}
    rows = rows[rows["kind"].isin([k for k in levels if k in rule.param("kinds", list(levels))])]
    if rows.empty:
        return pd.DataFrame(columns=HIT_COLUMNS)
    return pd.DataFrame({
        "rule": rule.name + "." + rows["kind"], "subject": rows["mn"], "pollutant": rows["factor"],
        "hi": rows["hi"].astype(np.int64), "level": rows["kind"].map(levels).astype(np.int64),
        "value": rows["value"].astype(float), "reference": rows["threshold"].astype(float)})


def _hour_label(ts: pd.Series) -> np.ndarray:
    """The hour label (end of the hour) holding each time: 08:00 → 08:00, 08:20 → 09:00."""
    hours = (pd.to_datetime(ts) - EPOCH) / pd.Timedelta(hours=1)
    return np.ceil(hours.to_numpy(dtype=float)).astype(np.int64)


def _window_times(window: tuple[int, int], lookback_h: int = 0) -> tuple[datetime, datetime]:
    return EPOCH + timedelta(hours=window[0] - 1 - lookback_h), EPOCH + timedelta(hours=window[1])


def water_class_hits(con, rule: AlarmRule, window: tuple[int, int], workspace=None) -> pd.DataFrame:
    """A sample whose GB 3838 class (recomputed from the published items, river limits) is worse than the section's
    target class; one class worse is the rule's level, two or more one level higher."""
    rows = water_auto_window(con, *_window_times(window), AUTO_CLASS_ITEMS)
    if rows.empty:
        return pd.DataFrame(columns=HIT_COLUMNS)
    rows = rows[rows["target_class"].notna()]
    cls = recompute(rows)["class"].astype(np.int64)
    target = rows["target_class"].to_numpy(dtype=np.int64)
    bad = (cls > target) & (cls > 0)
    hi = _hour_label(rows["ts"])
    ok = bad & (hi >= window[0]) & (hi <= window[1])
    return pd.DataFrame({
        "rule": rule.name, "subject": rows["station"].to_numpy()[ok], "pollutant": "",
        "hi": hi[ok], "level": np.where(cls[ok] - target[ok] >= 2, min(rule.level + 1, 4), rule.level),
        "value": cls[ok].astype(float), "reference": target[ok].astype(float)})


def water_change_hits(con, rule: AlarmRule, window: tuple[int, int], workspace=None) -> pd.DataFrame:
    """A factor that moved from the median of the station's previous ``baseline_samples`` samples by at least
    ``min_delta`` (in its unit) and by at least ``ratio`` × (or, for dissolved oxygen, down to 1/``ratio`` of) it."""
    deltas: dict[str, float] = rule.param("min_delta", {})
    items = [c for c in deltas if c in AUTO_CLASS_ITEMS]
    n, ratio = int(rule.param("baseline_samples", 6)), float(rule.param("ratio", 2.0))
    rows = water_auto_window(con, *_window_times(window, lookback_h=24 * 7), items)
    if rows.empty:
        return pd.DataFrame(columns=HIT_COLUMNS)
    hi = _hour_label(rows["ts"])
    parts = []
    for item in items:
        v = rows[item].astype(float)
        base = v.groupby(rows["station"]).transform(lambda s: s.shift(1).rolling(n, min_periods=max(1, n // 2)).median())
        if item == "do":  # oxygen falls when water quality worsens
            moved = (base - v >= deltas[item]) & (v * ratio <= base)
        else:
            moved = (v - base >= deltas[item]) & (v >= ratio * base)
        ok = moved.to_numpy() & (hi >= window[0]) & (hi <= window[1])
        parts.append(pd.DataFrame({"rule": rule.name, "subject": rows["station"].to_numpy()[ok], "pollutant": item,
                                   "hi": hi[ok], "level": rule.level, "value": v.to_numpy()[ok],
                                   "reference": base.to_numpy()[ok]}))
    return pd.concat(parts, ignore_index=True) if parts else pd.DataFrame(columns=HIT_COLUMNS)




def _city_configs(con, year: int, workspace) -> list[tuple[str, object]]:
    """(city, target config) for every city of the store that has a target file for ``year``: the workspace's
    ``targets/`` folder first, then the shipped files (as the console looks them up)."""
    from pathlib import Path

    from ..store.read import station_cities
    from ..targets.config import TargetConfigError, find_config

    out = []
    dirs = ([Path(workspace) / "targets"] if workspace is not None and (Path(workspace) / "targets").is_dir() else [])
    for city in station_cities(con):
        for d in [*dirs, None]:
            try:
                out.append((city, find_config(city, year, d)))
                break
            except TargetConfigError:
                continue
    return out


def target_hits(con, rule: AlarmRule, window: tuple[int, int], workspace=None) -> pd.DataFrame:
    """Annual targets at risk or missed on the last complete day of the window (the targets engine's status):
    one hit per hour of the window, so the alarm of a target lasts as long as the risk does. Subject = the city,
    pollutant = the target's id; value = the year-to-date value, reference = what the rest of the year must
    achieve (NaN when nothing can)."""
    from ..evaluate.periods import day_date
    from ..targets.evaluate import target_status

    as_of = day_date(window[1] // 24 - 1) if window[1] % 24 == 0 else day_date((window[1] - 1) // 24 - 1)
    levels = {"at_risk": rule.level, "missed": min(rule.level + 1, 4)}
    parts = []
    for city, config in _city_configs(con, as_of.year, workspace):
        status = target_status(con, config, city, as_of)
        bad = status[status["status"].isin(list(levels))]
        for t in bad.itertuples(index=False):
            hours = np.arange(window[0], window[1] + 1)
            parts.append(pd.DataFrame({
                "rule": rule.name, "subject": city, "pollutant": t.id, "hi": hours, "level": levels[t.status],
                "value": float(t.ytd_value) if t.ytd_value is not None else np.nan,
                "reference": float(t.required) if t.required is not None else np.nan}))
    return pd.concat(parts, ignore_index=True) if parts else pd.DataFrame(columns=HIT_COLUMNS)


def ranking_drag_hits(con, rule: AlarmRule, window: tuple[int, int], workspace=None) -> pd.DataFrame:
    """Stations that drag their city's composite index over the period up to the last complete day of the window
    (:mod:`.ranking_drag`): one hit per hour of the window, subject = the station; value = the station's composite
    index, reference = the city's."""
    from ..evaluate.air import member_daily
    from ..evaluate.periods import Period, day_date
    from .ranking_drag import period_start, ranking_drag

    as_of = day_date(window[1] // 24 - 1) if window[1] % 24 == 0 else day_date((window[1] - 1) // 24 - 1)
    start = period_start(as_of, str(rule.param("period", "month")))
    md = member_daily(con, Period(start, as_of, "排名拖累"))
    if not len(md.codes):
        return pd.DataFrame(columns=HIT_COLUMNS)
    ev = md.ruleset
    found = ranking_drag(md.codes, md.cities, md.values, ev.limits, weights=ev.composite_weights,
                         margin=float(rule.param("margin", 0.15)), min_lift=float(rule.param("min_lift", 0.02)),
                         min_days=int(rule.param("min_days", 5)), peers=rule.param("peers") or None,
                         min_fraction=ev.city_min_station_fraction, registered=md.registered)
    hours = np.arange(window[0], window[1] + 1)
    rank_level = int(rule.param("rank_level", min(rule.level + 1, 4)))
    parts = [pd.DataFrame({"rule": rule.name, "subject": d.station, "pollutant": "", "hi": hours,
                           "level": rank_level if d.by_rank else rule.level, "value": d.station_index,
                           "reference": d.city_index}) for d in found if d.drags]
    return pd.concat(parts, ignore_index=True) if parts else pd.DataFrame(columns=HIT_COLUMNS)


OTHER_DETECTORS = {"hj212": hj212_hits, "water_class": water_class_hits, "water_change": water_change_hits,
                   "targets": target_hits, "ranking_drag": ranking_drag_hits}
