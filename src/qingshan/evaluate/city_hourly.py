"""City (or district) hourly values and real-time AQI from the stations' hourly results ("点位平均法").

For each hour, a city's concentration of each pollutant — and of each moving mean (``pm25_24h`` …, ``o3_8h``) —
is the arithmetic mean of its evaluation stations' values for that hour (control sites excluded by the caller),
rounded per GB/T 8170 to the reporting precision; the real-time AQI is then computed from those city values with
the hourly terms of the AQI rule set in force on the hour's day (HJ 633: the city AQI comes from city
concentrations, never as a maximum of station AQIs). A city hour needs values from at least
``max(1, ceil(min_fraction · n_members))`` stations for a pollutant, the same documented rule as the city daily
values (:attr:`~qingshan.standards.rulesets.AirEvalRuleSet.city_min_station_fraction`).

Input: rows of :func:`qingshan.evaluate.air.evaluate_hourly` (``station, hi`` and the value columns).
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np
import pandas as pd
import pyarrow as pa

from ..standards.air_aqi import AqiRuleSet, aqi_arrays, primary_text
from ..standards.pollutants import SIX, digits_of
from ..standards.rounding import round_gbt8170_array
from ..standards.rulesets import aqi_ruleset_for
from .grid import MOVING_24H
from .periods import day_date

#: Value columns averaged over the stations: the six hourly pollutants and the moving means.
CITY_COLUMNS: tuple[str, ...] = (*SIX, *(f"{p}_24h" for p in MOVING_24H), "o3_8h")


def city_hourly(hourly: pa.Table | pd.DataFrame, members: Sequence[str], min_fraction: float,
                override: AqiRuleSet | None = None) -> pd.DataFrame:
    """One row per hour ``hi`` with data from any member: the city values, ``n_<column>`` (stations averaged),
    the hourly IAQIs, ``aqi``, ``level`` (0 = none), ``primary_pollutants`` and ``aqi_ruleset``."""
    frame = hourly.to_pandas() if isinstance(hourly, pa.Table) else hourly
    out_cols = ["hi", *CITY_COLUMNS, *(f"n_{c}" for c in CITY_COLUMNS), "aqi", "level", "primary_pollutants",
                "aqi_ruleset"]
    if frame.empty or not len(members):
        return pd.DataFrame(columns=out_cols)
    frame = frame[frame["station"].astype(str).isin(set(members))]
    if frame.empty:
        return pd.DataFrame(columns=out_cols)
    need = max(1, math.ceil(min_fraction * len(members)))
    cols = [c for c in CITY_COLUMNS if c in frame.columns]
    grouped = frame.groupby("hi", sort=True)[cols]
    means, counts = grouped.mean(), grouped.count()
    out = pd.DataFrame({"hi": means.index.to_numpy(dtype=np.int64)})
    for c in CITY_COLUMNS:
        if c not in cols:
            out[c], out[f"n_{c}"] = np.nan, 0
            continue
        n = counts[c].to_numpy()
        out[c] = np.where(n >= need, round_gbt8170_array(means[c].to_numpy(dtype=float), digits_of(c)), np.nan)
        out[f"n_{c}"] = n
    day = (out["hi"].to_numpy() - 1) // 24
    aqi = np.full(len(out), np.nan)
    level = np.zeros(len(out), dtype=np.int8)
    mask = np.zeros(len(out), dtype=np.int64)
    names = np.empty(len(out), dtype=object)
    iaqi: dict[str, np.ndarray] = {}
    for d in np.unique(day):
        rs = override or aqi_ruleset_for(day_date(int(d)))
        m = day == d
        res = aqi_arrays({c: out[c].to_numpy(dtype=float)[m] for c in CITY_COLUMNS}, rs, "hourly")
        aqi[m], level[m], mask[m], names[m] = res["aqi"], res["level"], res["primary_mask"], rs.name
        for k, v in res.items():
            if k.startswith("iaqi_"):
                iaqi.setdefault(k, np.full(len(out), np.nan))[m] = v
    for k, v in sorted(iaqi.items()):
        out[k] = v
    out["aqi"], out["level"] = aqi, level
    out["primary_pollutants"] = primary_text(mask)
    out["aqi_ruleset"] = names
    return out
