"""Hourly AQI of a user's table (the ``qingshan air aqi`` contract), computed by the same kernels as the store.

Input columns: ``station,time,so2,no2,co,o3,pm10,pm25`` — hourly values, hour-ending Beijing time, µg/m³ and CO
mg/m³; other columns are kept untouched and in place. Output adds ``iaqi_so2 … iaqi_pm25`` (and ``iaqi_o3_8h``
under ``hj633-2012``, whose real-time report includes the O3 8-h moving mean), ``aqi``, ``level`` (一级…六级),
``category`` (优…严重污染) and ``primary_pollutants`` (comma-joined codes from ``so2,no2,co,o3,o3_8h,pm10,pm25``,
empty when AQI ≤ 50 or missing). Moving means (``hj633-2012``) come from the table's own rows per station.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from ..ingest.cnemc_api import parse_hour_index
from ..ingest.common import Quarantine, coerce_numeric
from ..standards.air_aqi import CATEGORIES, AqiRuleSet, aqi_arrays, primary_text
from ..standards.pollutants import SIX
from ..standards.rulesets import GB3095_TABLE4
from .air import aqi_segments
from .grid import grid_from_rows, moving_means

OUTPUT_IAQI = ("so2", "no2", "co", "o3", "pm10", "pm25")
_LEVEL_ZH = np.array([""] + [c.level_zh for c in CATEGORIES], dtype=object)
_NAME_ZH = np.array([""] + [c.name_zh for c in CATEGORIES], dtype=object)


@dataclass
class AqiTableResult:
    table: pd.DataFrame
    problems: Quarantine
    rulesets: list[str] = field(default_factory=list)


def compute_aqi_table(df: pd.DataFrame, override: AqiRuleSet | None = None, source: str = "<input>") -> AqiTableResult:
    """Add the AQI columns to ``df`` (cells as text or numbers). Bad cells are reported and treated as missing."""
    missing = [c for c in ("station", "time") if c not in df.columns]
    if missing:
        raise ValueError(f"输入缺少必需列：{', '.join(missing)}（需要 station,time,so2,no2,co,o3,pm10,pm25）")
    q = Quarantine(source)
    n = len(df)
    line_no = np.arange(n, dtype=np.int64) + 2
    hi = parse_hour_index(df["time"].astype(str), line_no, q, "time")
    values = {p: coerce_numeric(df[p].astype("string"), line_no, p, q) if p in df.columns else np.full(n, np.nan) for p in SIX}
    res = {f"iaqi_{c}": np.full(n, np.nan) for c in (*OUTPUT_IAQI, "o3_8h")}
    res.update(aqi=np.full(n, np.nan), level=np.zeros(n, dtype=np.int8), primary_mask=np.zeros(n, dtype=np.int16))
    used: list[str] = []
    known = ~np.isnan(hi)
    if known.any():
        station_idx, _ = pd.factorize(df["station"].astype(str).str.strip())
        rows = np.flatnonzero(known)
        h = hi[rows].astype(np.int64)
        grid = grid_from_rows(station_idx[rows], h, {p: values[p][rows] for p in SIX}, int(station_idx.max()) + 1)
        mv = moving_means(grid, GB3095_TABLE4)
        t = h - grid.first_hi
        moving = {k: v[station_idx[rows], t] for k, v in mv.items()}
        day = (h - 1) // 24
        for a, b, rs in aqi_segments(int(day.min()), int(day.max()), override):
            m = (day >= a) & (day <= b)
            r = aqi_arrays({**{p: values[p][rows][m] for p in SIX}, **{k: v[m] for k, v in moving.items()}}, rs, "hourly")
            for k in res:
                res[k][rows[m]] = r[k]
            used.append(rs.name)
    out = df.copy()
    iaqi_cols = list(OUTPUT_IAQI) + (["o3_8h"] if "hj633-2012" in used else [])
    for c in iaqi_cols:
        out[f"iaqi_{c}"] = pd.array(res[f"iaqi_{c}"], dtype="Float64").astype("Int64")
    out["aqi"] = pd.array(res["aqi"], dtype="Float64").astype("Int64")
    out["level"] = _LEVEL_ZH[res["level"]]
    out["category"] = _NAME_ZH[res["level"]]
    out["primary_pollutants"] = primary_text(res["primary_mask"])
    return AqiTableResult(out, q, used)
