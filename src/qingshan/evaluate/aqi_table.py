"""Hourly AQI of a user's table (the ``qingshan air aqi`` contract), computed by the same SQL kernels as the store.

Input columns: ``station,time,so2,no2,co,o3,pm10,pm25`` — hourly values, hour-ending Beijing time, µg/m³ and CO
mg/m³; other columns are kept untouched. Output adds ``iaqi_so2 … iaqi_pm25`` (and ``iaqi_o3_8h`` for the
``hj633-2012`` rule set, whose real-time report includes the O3 8-h moving mean), ``aqi``, ``level`` (一级…六级),
``category`` (优…严重污染) and ``primary_pollutants`` (comma-joined codes from ``so2,no2,co,o3,o3_8h,pm10,pm25``,
empty when AQI ≤ 50 or missing).
"""

from __future__ import annotations

from dataclasses import dataclass, field

import duckdb
import numpy as np
import pandas as pd

from ..ingest.cnemc_api import parse_hour_index
from ..ingest.common import Quarantine, coerce_numeric
from ..standards.air_aqi import CATEGORIES, AqiRuleSet
from ..standards.pollutants import SIX
from .air import hourly_aqi_sql, moving_means_sql, _segments, _union_all_by_name
from .periods import day_date
from ..standards.rulesets import aqi_ruleset_for

OUTPUT_IAQI = ("so2", "no2", "co", "o3", "pm10", "pm25")


@dataclass
class AqiTableResult:
    table: pd.DataFrame
    problems: Quarantine
    rulesets: list[str] = field(default_factory=list)


def compute_aqi_table(df: pd.DataFrame, override: AqiRuleSet | None = None, source: str = "<input>") -> AqiTableResult:
    """Add the AQI columns to ``df`` (cells as text or numbers). Bad cells are reported, not fatal."""
    missing = [c for c in ("station", "time") if c not in df.columns]
    if missing:
        raise ValueError(f"输入缺少必需列：{', '.join(missing)}（需要 station,time,so2,no2,co,o3,pm10,pm25）")
    q = Quarantine(source)
    line_no = np.arange(len(df), dtype=np.int64) + 2
    frame = pd.DataFrame({"rid": np.arange(len(df)), "station": df["station"].astype(str).str.strip()})
    frame["hi"] = parse_hour_index(df["time"].astype(str), line_no, q, "time")
    for p in SIX:
        frame[p] = coerce_numeric(df[p].astype("string"), line_no, p, q) if p in df.columns else np.nan
    con = duckdb.connect()
    con.register("t", frame)
    # moving means (needed by hj633-2012) from one row per station-hour
    con.execute("CREATE TEMP TABLE u AS SELECT station, CAST(hi AS BIGINT) AS hi, " + ", ".join(f"any_value({p}) AS {p}" for p in SIX)
                + " FROM t WHERE hi IS NOT NULL GROUP BY station, hi")
    con.execute(f"CREATE TEMP TABLE mv AS {moving_means_sql('u')}")
    base = ("(SELECT t.rid, t.station, t.hi, " + ", ".join(f"t.{p}" for p in SIX) + ", "
            + ", ".join(f"mv.{c}" for c in ("so2_24h", "no2_24h", "co_24h", "pm10_24h", "pm25_24h", "o3_8h"))
            + " FROM t LEFT JOIN mv ON mv.station = t.station AND mv.hi = CAST(t.hi AS BIGINT))")
    parts: list[str] = []
    used: list[str] = []
    if override is not None:
        parts.append(hourly_aqi_sql(base, override))
        used.append(override.name)
    else:
        hi = frame["hi"].to_numpy()
        known = hi[~np.isnan(hi)]
        if len(known):
            first_day, last_day = int((known.min() - 1) // 24), int((known.max() - 1) // 24)
            for a, b, _ in _segments(first_day, last_day, None):
                rs = aqi_ruleset_for(day_date(a))
                used.append(rs.name)
                parts.append(hourly_aqi_sql(f"(SELECT * FROM {base} WHERE hi BETWEEN {a * 24 + 1} AND {(b + 1) * 24})", rs))
    if parts:
        res = con.sql(f"SELECT * FROM ({_union_all_by_name(parts)}) ORDER BY rid").df().set_index("rid")
    else:
        res = pd.DataFrame(index=pd.Index([], name="rid"))
    con.close()
    res = res.reindex(np.arange(len(df)))
    out = df.copy()
    iaqi_cols = list(OUTPUT_IAQI)
    if any(r == "hj633-2012" for r in used):
        iaqi_cols.append("o3_8h")
    for c in iaqi_cols:
        out[f"iaqi_{c}"] = res.get(f"iaqi_{c}", pd.Series(index=res.index, dtype=float)).astype("Int64").to_numpy()
    aqi = res.get("aqi", pd.Series(index=res.index, dtype=float)).astype("Int64")
    out["aqi"] = aqi.to_numpy()
    lvl = res.get("level", pd.Series(index=res.index, dtype=float))
    by_level = {c.level: c for c in CATEGORIES}
    out["level"] = [by_level[int(v)].level_zh if v == v and v is not None else "" for v in lvl]
    out["category"] = [by_level[int(v)].name_zh if v == v and v is not None else "" for v in lvl]
    prim = res.get("primary_pollutants", pd.Series(index=res.index, dtype=object))
    out["primary_pollutants"] = [p if isinstance(p, str) else "" for p in prim]
    return AqiTableResult(out, q, used)
