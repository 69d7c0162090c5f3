"""Run the alarm rules over the latest hours and keep the episodes in the store (the scheduler calls this hourly;
``qingshan alerts run`` by hand). Idempotent: the same window twice changes nothing (:mod:`qingshan.store.alarms`).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import duckdb
import pandas as pd

from ..evaluate.air import evaluate_hourly
from ..evaluate.periods import Period, day_date
from ..standards.networks import is_official
from ..store.alarms import hourly_window, save_episodes, station_places
from .config import AlarmRules, load_rules
from .detect import detect
from .episodes import episodes
from .other_rules import OTHER_DETECTORS

#: hours before the window the rules may look back on (the 24-h baseline and a margin)
LOOKBACK_HOURS = 48


@dataclass(frozen=True)
class RunResult:
    window: tuple[int, int]
    rules_version: str
    hits: int
    episodes: int
    new: int
    extended: int
    unchanged: int


def _with_aqi(con: duckdb.DuckDBPyConnection, data: pd.DataFrame, first_hi: int, last_hi: int) -> pd.DataFrame:
    """Add the hourly AQI (HJ 633, with the moving means the hourly AQI needs) to the window's rows."""
    first_day, last_day = day_date((first_hi - 1) // 24), day_date((last_hi - 1) // 24)
    table = evaluate_hourly(con, Period(first_day, last_day, "alarm window"))
    if table.num_rows == 0:
        return data.assign(aqi=float("nan"))
    aqi = table.select(["station", "hi", "aqi"]).to_pandas()
    aqi["station"] = aqi["station"].astype(str)
    aqi["aqi"] = aqi["aqi"].astype(float)
    return data.merge(aqi, on=["station", "hi"], how="left")


def run_alarm_rules(con: duckdb.DuckDBPyConnection, until_hi: int, hours: int = 24, *,
                    workspace: Path | None = None, rules: AlarmRules | None = None,
                    actor: str = "系统") -> RunResult:
    """Detect over the ``hours`` hours ending at ``until_hi`` and merge the episodes into ``alarms``."""
    rules = rules or load_rules(workspace)
    lo = until_hi - hours + 1
    # the air rules watch the stations that take part in official figures; grid micro-sensors and dust monitors
    # read raw (uncalibrated, humidity-biased) values and would flood the centre — nor are they anyone's neighbours
    places = station_places(con)
    places = places[[is_official(n) for n in places["network"]]]
    data = hourly_window(con, lo - LOOKBACK_HOURS, until_hi, places["code"].tolist())
    if not data.empty:
        data = _with_aqi(con, data, lo - LOOKBACK_HOURS, until_hi)
    hits = detect(data, places, rules, (lo, until_hi))
    others = [OTHER_DETECTORS[r.kind](con, r, (lo, until_hi), workspace) for r in rules.enabled()
              if r.kind in OTHER_DETECTORS]
    hits = pd.concat([h for h in [hits, *others] if len(h)], ignore_index=True) if any(len(h) for h in others) else hits
    found = episodes(hits)
    counts = save_episodes(con, found, rules.version, actor=actor)
    return RunResult((lo, until_hi), rules.version, len(hits), len(found), **counts)
