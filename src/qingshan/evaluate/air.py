"""Air-quality engine: applies :mod:`qingshan.standards` to hourly data with vectorised SQL (DuckDB).

Pipeline (every step is one SQL statement generated from the standards' tables; no per-value Python):

1. **hourly**: per station-hour, 24-h moving means (SO2, NO2, CO, PM10, PM2.5; ≥ 20 valid of the trailing 24) and the
   O3 8-h moving mean (≥ 6 of the trailing 8), GB 3095 表4; the hourly IAQIs, AQI, level and primary pollutants of
   the AQI rule set in force (or the override).
2. **daily** (station): daily means (≥ 20 valid hours), O3 max 1-h and daily max 8-h over the 17 windows inside
   the day (≥ 14 valid, or valid anyway above the 8-h limit, HJ 663 §6.1.2), daily AQI (日报) and whether the
   day counts as a valid day.
3. **city daily**: the arithmetic mean of the city's evaluation stations (control sites 对照点 and stopped stations
   excluded) of each daily statistic, O3 daily max 8-h included ("点位平均法"); a city value needs valid values
   from at least ``city_min_station_fraction`` of the city's evaluation stations (our documented choice, 0.5).
   The city daily AQI is computed from the city daily concentrations (HJ 633-2026 §4.2), not as a max of
   station AQIs.
4. **period statistics** per station and per city (:func:`evaluate_period`): HJ 663 annual items with coverage and
   validity, compliance and exceedance multiples, daily ranges and daily compliance rates, good-days ratio, days
   by category and by primary pollutant, composite index.

A day switches rule set on 2026-03-01 unless an override is given; every output names the rule sets used.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from datetime import date

import duckdb
import numpy as np
import pandas as pd

from ..standards import air_aqi
from ..standards.air_aqi import AqiRuleSet, sql_aqi_select, sql_category_level, sql_primary
from ..standards.air_evaluation import ANNUAL_ITEMS, COMPOSITE_ITEMS
from ..standards.air_ranking import DENOMINATOR_AVERAGING, rank_with_ties
from ..standards.air_validity import period_months
from ..standards.pollutants import PRIMARY_CODES, SIX, digits_of
from ..standards.rounding import round_gbt8170_array, sql_round_gbt8170
from ..standards.rulesets import SWITCH_2026, AirEvalRuleSet, aqi_ruleset_for, eval_ruleset_for
from .periods import Period, day_date, day_index

MOVING_24H = ("so2", "no2", "co", "pm10", "pm25")
DAILY_MEAN = ("so2", "no2", "co", "pm10", "pm25")
DAILY_COLUMNS = ("so2", "no2", "co", "o3_1h_max", "o3_8h_max", "pm10", "pm25")


def _segments(first_day: int, last_day: int, override):
    """[(first_day, last_day, ruleset)] pieces of a day range, split at the 2026 switch unless overridden."""
    if override is not None:
        return [(first_day, last_day, override)]
    switch = day_index(SWITCH_2026)
    out = []
    if first_day < switch:
        out.append((first_day, min(last_day, switch - 1), None))
    if last_day >= switch:
        out.append((max(first_day, switch), last_day, None))
    return [(a, b, eval_ruleset_for(day_date(a)) if r is None else r) for a, b, r in out]


# --- 1. hourly ------------------------------------------------------------------------------------------------


def moving_means_sql(src: str) -> str:
    """24-h and 8-h trailing moving means (unrounded) with their validity counts, GB 3095 表4."""
    w24 = "(PARTITION BY station ORDER BY hi RANGE BETWEEN 23 PRECEDING AND CURRENT ROW)"
    w8 = "(PARTITION BY station ORDER BY hi RANGE BETWEEN 7 PRECEDING AND CURRENT ROW)"
    items = [
        f"CASE WHEN count({p}) OVER {w24} >= 20 THEN avg({p}) OVER {w24} END AS {p}_24h" for p in MOVING_24H
    ]
    items.append(f"CASE WHEN count(o3) OVER {w8} >= 6 THEN avg(o3) OVER {w8} END AS o3_8h")
    return f"SELECT station, hi, {', '.join(SIX)}, {', '.join(items)} FROM {src}"


def hourly_aqi_sql(src: str, ruleset: AqiRuleSet) -> str:
    """Hourly IAQIs, AQI, level and primary pollutants over a relation that has the columns the rule set needs
    (``so2 … pm25`` and, for ``hj633-2012``, the moving means). Every ``iaqi_<code>`` of
    :data:`~qingshan.standards.pollutants.PRIMARY_CODES` is present (NULL where the rule set has no such term)."""
    codes = tuple(i.code for i in ruleset.hourly)
    inner = f"SELECT *, {', '.join(sql_aqi_select(ruleset, 'hourly'))} FROM {src}"
    missing = "".join(f", CAST(NULL AS INTEGER) AS iaqi_{c}" for c in PRIMARY_CODES if c not in codes)
    return (
        f"SELECT *, {sql_category_level('aqi')} AS level, {sql_primary(codes)} AS primary_pollutants, "
        f"'{ruleset.name}' AS aqi_ruleset{missing} FROM ({inner})"
    )


def hourly_sql(src: str, first_hi: int, last_hi: int, override: AqiRuleSet | None = None) -> str:
    """Hourly evaluation of ``src`` (station, hi, six pollutants) for hours ``first_hi … last_hi``.

    Moving means look back 23 hours before ``first_hi``; output moving means are rounded to reporting precision
    (the IAQI kernels round their inputs themselves)."""
    lookback = f"(SELECT station, hi, {', '.join(SIX)} FROM {src} WHERE hi BETWEEN {first_hi - 23} AND {last_hi})"
    mv = f"(SELECT * FROM ({moving_means_sql(lookback)}) WHERE hi BETWEEN {first_hi} AND {last_hi})"
    parts = []
    for a, b, _ in _segments((first_hi - 1) // 24, (last_hi - 1) // 24, None):
        rs = override or aqi_ruleset_for(day_date(a))
        seg = f"(SELECT * FROM {mv} WHERE hi BETWEEN {max(first_hi, a * 24 + 1)} AND {min(last_hi, (b + 1) * 24)})"
        parts.append(hourly_aqi_sql(seg, rs))
    rounded = ", ".join(
        f"{sql_round_gbt8170(c, digits_of(c))} AS {c}" for c in [f"{p}_24h" for p in MOVING_24H] + ["o3_8h"]
    )
    iaqis = ", ".join(f"iaqi_{c}" for c in PRIMARY_CODES)
    return (
        f"SELECT station, hi, {', '.join(SIX)}, {rounded}, {iaqis}, aqi, level, primary_pollutants, aqi_ruleset "
        f"FROM ({_union_all_by_name(parts)})"
    )


def _union_all_by_name(parts: list[str]) -> str:
    return " UNION ALL BY NAME ".join(f"SELECT * FROM ({p})" for p in parts) if len(parts) > 1 else parts[0]


def evaluate_hourly(
    con: duckdb.DuckDBPyConnection, src: str, first_hi: int, last_hi: int, override: AqiRuleSet | None = None
) -> duckdb.DuckDBPyRelation:
    return con.sql(hourly_sql(src, first_hi, last_hi, override))


# --- 2. daily -------------------------------------------------------------------------------------------------


def daily_sql(hourly: str, first_day: int, last_day: int, ev_override: AirEvalRuleSet | None = None) -> str:
    """Station daily statistics and daily AQI from an hourly relation that has ``o3_8h`` (unrounded or rounded)."""
    parts = []
    for a, b, ev in _segments(first_day, last_day, ev_override):
        v = ev.validity
        o3_limit_8h = ev.limits.limit("o3", "8h")
        o3_limit_1h = ev.limits.limit("o3", "1h")
        means = ", ".join(
            f"count({p}) AS n_{p}, CASE WHEN count({p}) >= {v.daily_min_hours} THEN "
            f"{sql_round_gbt8170(f'avg({p})', digits_of(p))} END AS {p}" for p in DAILY_MEAN
        )
        in_day = "((hi - 1) % 24 + 1) >= 8"
        agg = (
            f"SELECT station, (hi - 1) // 24 AS day, {means}, "
            f"count(o3) AS n_o3, max(o3) AS o3_1h_raw, "
            f"count(o3_8h) FILTER (WHERE {in_day}) AS n_o3_8h, max(o3_8h) FILTER (WHERE {in_day}) AS o3_8h_raw "
            f"FROM {hourly} WHERE hi BETWEEN {a * 24 + 1} AND {(b + 1) * 24} GROUP BY station, day"
        )
        o3_1h = sql_round_gbt8170("o3_1h_raw", 0)
        o3_8h = sql_round_gbt8170("o3_8h_raw", 0)
        valid = (
            f"SELECT * EXCLUDE (o3_1h_raw, o3_8h_raw), "
            f"CASE WHEN n_o3 >= {v.daily_min_hours} OR {o3_1h} > {o3_limit_1h} THEN {o3_1h} END AS o3_1h_max, "
            f"CASE WHEN n_o3_8h >= {v.mda8_min_windows} OR {o3_8h} > {o3_limit_8h} THEN {o3_8h} END AS o3_8h_max "
            f"FROM ({agg})"
        )
        parts.append(daily_aqi_sql(valid, ev))
    return _union_all_by_name(parts)


def daily_aqi_sql(src: str, ev: AirEvalRuleSet) -> str:
    """Daily AQI (日报) and day validity over a relation with the daily columns of :data:`DAILY_COLUMNS`.

    A day counts as a valid day when every indicator of the daily AQI is valid, or when the valid ones already
    give AQI > 100 (HJ 633-2026 §5.3.1, applied to every rule set as our documented choice for pre-2026 data)."""
    rs = ev.aqi
    codes = tuple(i.code for i in rs.daily)
    items = sql_aqi_select(rs, "daily")
    all_present = " AND ".join(f"iaqi_{c} IS NOT NULL" for c in codes)
    inner = f"SELECT *, {', '.join(items)} FROM ({src})"
    missing = ", ".join(f"CAST(NULL AS INTEGER) AS iaqi_{c}" for c in PRIMARY_CODES if c not in codes)
    return (
        f"SELECT *, {sql_category_level('aqi')} AS level, {sql_primary(codes)} AS primary_pollutants, "
        f"(aqi IS NOT NULL AND ({all_present} OR aqi > 100)) AS day_valid, "
        f"'{ev.name}' AS eval_ruleset{', ' + missing if missing else ''} FROM ({inner})"
    )


def city_daily_sql(daily: str, stations: str, level: str = "city", ev_override: AirEvalRuleSet | None = None,
                   first_day: int | None = None, last_day: int | None = None) -> str:
    """City (or district) daily values: mean of the evaluation stations' valid daily values."""
    frac = (ev_override or eval_ruleset_for(day_date(first_day or 0))).city_min_station_fraction
    group = "s.city" if level == "city" else "s.district"
    n_eval = (
        f"(SELECT {group.split('.')[1]} AS entity, count(*) AS n_stations FROM {stations} s "
        f"WHERE NOT s.is_control AND {group} IS NOT NULL GROUP BY 1)"
    )
    cols = []
    for c in DAILY_COLUMNS:
        need = f"greatest(1, ceil({frac} * n.n_stations))"
        digits = digits_of(c)
        cols.append(
            f"CASE WHEN count(d.{c}) >= {need} THEN {sql_round_gbt8170(f'avg(d.{c})', digits)} END AS {c}, "
            f"count(d.{c}) AS ns_{c}"
        )
    agg = (
        f"SELECT {group} AS station, d.day, any_value(n.n_stations) AS n_stations, "
        + ", ".join(c.replace("n.n_stations", "any_value(n.n_stations)") for c in cols)
        + f" FROM ({daily}) d JOIN {stations} s ON s.code = d.station "
        f"JOIN {n_eval} n ON n.entity = {group} "
        f"WHERE NOT s.is_control AND {group} IS NOT NULL GROUP BY {group}, d.day"
    )
    if first_day is None:
        first_day, last_day = 0, 10**6
    parts = []
    for a, b, ev in _segments(first_day, last_day, ev_override):
        seg = f"SELECT * FROM ({agg}) WHERE day BETWEEN {a} AND {b}"
        parts.append(daily_aqi_sql(seg, ev))
    return _union_all_by_name(parts)


# --- 4. period statistics -------------------------------------------------------------------------------------


@dataclass
class EvaluationResult:
    """HJ 663 evaluation of one period: one row per entity (station or city), plus what produced it."""

    period: Period
    table: pd.DataFrame
    eval_rulesets: list[str]
    aqi_rulesets: list[str]
    limits: str
    notes: list[str] = field(default_factory=list)


def _period_aggregate_sql(daily: str, first_day: int, last_day: int) -> str:
    aggs = ["station AS code", "count(*) AS days_with_data",
            "count(*) FILTER (WHERE day_valid) AS valid_days",
            "count(*) FILTER (WHERE day_valid AND aqi <= 100) AS good_days"]
    for lvl in range(1, 7):
        aggs.append(f"count(*) FILTER (WHERE day_valid AND level = {lvl}) AS days_level{lvl}")
    for c in PRIMARY_CODES:
        aggs.append(
            f"count(*) FILTER (WHERE day_valid AND list_contains(string_split(primary_pollutants, ','), '{c}')) "
            f"AS primary_days_{c}"
        )
    for c in ("so2", "no2", "co", "pm10", "pm25", "o3_8h_max"):
        aggs += [f"count({c}) AS n_{c}", f"avg({c}) AS {c}_mean_raw", f"min({c}) AS {c}_min", f"max({c}) AS {c}_max"]
    for item in ANNUAL_ITEMS:
        if item.percentile is not None:
            aggs.append(f"quantile_cont({item.source}, {item.percentile / 100}) AS {item.key}_raw")
    return f"SELECT {', '.join(aggs)} FROM ({daily}) WHERE day BETWEEN {first_day} AND {last_day} GROUP BY station"


def _monthly_counts_sql(daily: str, first_day: int, last_day: int) -> str:
    counts = ", ".join(f"count({c}) AS n_{c}" for c in ("so2", "no2", "co", "pm10", "pm25", "o3_8h_max"))
    return (
        f"SELECT station AS code, year(DATE '1970-01-01' + CAST(day AS INTEGER)) AS y, "
        f"month(DATE '1970-01-01' + CAST(day AS INTEGER)) AS m, {counts} "
        f"FROM ({daily}) WHERE day BETWEEN {first_day} AND {last_day} GROUP BY ALL"
    )


_STAT_SOURCE = {"so2": "so2", "no2": "no2", "co": "co", "pm10": "pm10", "pm25": "pm25", "o3": "o3_8h_max"}


def period_statistics(
    con: duckdb.DuckDBPyConnection, daily: str, period: Period, ev: AirEvalRuleSet, entities: pd.DataFrame | None = None
) -> pd.DataFrame:
    """HJ 663 statistics for every entity of ``daily`` over ``period`` (pandas only on per-entity rows)."""
    agg = con.sql(_period_aggregate_sql(daily, period.first_day, period.last_day)).df()
    monthly = con.sql(_monthly_counts_sql(daily, period.first_day, period.last_day)).df()
    v = ev.validity
    months = period_months(period.start, period.end)
    required = {(y, m): v.required_days(y, m, d) for y, m, d in months}
    # Validity per entity and pollutant: every month of the period meets its minimum, and a whole calendar year
    # also needs ≥ 324 days (GB 3095 表4).
    valid_flags: dict[str, pd.Series] = {}
    for p, src in _STAT_SOURCE.items():
        need = monthly[["y", "m"]].apply(lambda r: required[(int(r.y), int(r.m))], axis=1) if len(monthly) else pd.Series(dtype=float)
        ok_month = (monthly[f"n_{src}"] >= need) if len(monthly) else pd.Series(dtype=bool)
        months_ok = ok_month.groupby(monthly["code"]).sum() if len(monthly) else pd.Series(dtype=float)
        n_months_present = monthly.groupby("code").size() if len(monthly) else pd.Series(dtype=float)
        flag = (months_ok == len(months)) & (n_months_present == len(months))
        if len(months) and all(required[(y, m)] == 0 for y, m, _ in months):
            flag = pd.Series(True, index=agg["code"])
        valid_flags[p] = flag.reindex(agg["code"]).fillna(False).astype(bool).to_numpy()
    year_min = v.year_min_days if period.is_calendar_year() else 0
    codes = agg["code"].to_numpy()
    out: dict[str, object] = {"code": codes, "expected_days": np.full(len(codes), period.n_days)}
    valid_days = agg["valid_days"].to_numpy()
    good_days = agg["good_days"].to_numpy()
    out["valid_days"], out["good_days"] = valid_days, good_days
    with np.errstate(invalid="ignore", divide="ignore"):
        ratio = np.where(valid_days > 0, good_days / np.maximum(valid_days, 1) * 100, np.nan)
    out["good_ratio"] = round_gbt8170_array(ratio, 1)
    for p, src in _STAT_SOURCE.items():
        out[f"n_{p}"] = agg[f"n_{src}"].to_numpy()
        out[f"valid_{p}"] = valid_flags[p] & (agg[f"n_{src}"].to_numpy() >= year_min)
    limits = ev.limits
    for item in ANNUAL_ITEMS:
        raw = agg[f"{item.source}_mean_raw"] if item.statistic == "mean" else agg[f"{item.key}_raw"]
        val = round_gbt8170_array(raw.to_numpy(dtype=float), digits_of(item.pollutant))
        out[item.key] = val
        lim = limits.limit(item.pollutant, item.averaging)
        out[f"{item.key}_limit"] = np.full(len(codes), lim)
        out[f"{item.key}_complies"] = np.where(np.isnan(val), None, val <= lim)
        with np.errstate(invalid="ignore"):
            mult = np.where(val > lim, (val - lim) / lim, np.nan)
        out[f"{item.key}_exceed_multiple"] = round_gbt8170_array(mult, 2)
    for p, src in _STAT_SOURCE.items():
        out[f"{p}_daily_min"] = agg[f"{src}_min"].to_numpy()
        out[f"{p}_daily_max"] = agg[f"{src}_max"].to_numpy()
    # daily compliance rate: share of valid daily values ≤ the 24-h limit (O3: the 8-h limit)
    exceed = con.sql(
        "SELECT station AS code, "
        + ", ".join(
            f"count(*) FILTER (WHERE {src} > {limits.limit(p, '8h' if p == 'o3' else '24h')}) AS exceed_{p}"
            for p, src in _STAT_SOURCE.items()
        )
        + f" FROM ({daily}) WHERE day BETWEEN {period.first_day} AND {period.last_day} GROUP BY station"
    ).df().set_index("code").reindex(codes)
    for p in _STAT_SOURCE:
        n = np.asarray(out[f"n_{p}"], dtype=float)
        e = exceed[f"exceed_{p}"].to_numpy(dtype=float)
        out[f"{p}_exceed_days"] = e
        with np.errstate(invalid="ignore", divide="ignore"):
            out[f"{p}_daily_compliance"] = round_gbt8170_array(np.where(n > 0, (n - e) / np.maximum(n, 1) * 100, np.nan), 1)
    for lvl in range(1, 7):
        out[f"days_level{lvl}"] = agg[f"days_level{lvl}"].to_numpy()
    for c in PRIMARY_CODES:
        out[f"primary_days_{c}"] = agg[f"primary_days_{c}"].to_numpy()
    # composite index from the rounded statistics
    total = np.zeros(len(codes))
    for p, key in COMPOSITE_ITEMS.items():
        idx = np.asarray(out[key], dtype=float) / limits.limit(p, DENOMINATOR_AVERAGING[p])
        out[f"index_{p}"] = round_gbt8170_array(idx, 2)
        total = total + ev.composite_weights[p] * idx
    out["composite_index"] = round_gbt8170_array(total, 2)
    out["valid_all"] = np.logical_and.reduce([np.asarray(out[f"valid_{p}"], dtype=bool) for p in _STAT_SOURCE])
    comply = np.logical_and.reduce([np.asarray(out[f"{i.key}_complies"] == True, dtype=bool) for i in ANNUAL_ITEMS])  # noqa: E712
    out["complies_all"] = np.where(np.isnan(total), None, comply)
    frame = pd.DataFrame(out)
    if entities is not None:
        frame = entities.merge(frame, on="code", how="right")
    return frame


def evaluate_period(
    con: duckdb.DuckDBPyConnection,
    period: Period,
    source: str = "air_hourly",
    stations: str = "stations",
    city: str | None = None,
    ev_override: AirEvalRuleSet | None = None,
    levels: tuple[str, ...] = ("station", "city"),
    station_filter: str | None = None,
) -> EvaluationResult:
    """HJ 663 evaluation of ``period`` for stations and cities (optionally one city) from the hourly store."""
    where = [f"hi BETWEEN {period.first_hi - 23} AND {period.last_hi}"]
    if city is not None:
        where.append(f"station IN (SELECT code FROM {stations} WHERE city = {_q(city)})")
    if station_filter:
        where.append(station_filter)
    src = f"(SELECT station, hi, {', '.join(SIX)} FROM {source} WHERE {' AND '.join(where)})"
    mv = f"({moving_means_sql(src)})"
    con.execute(f"CREATE OR REPLACE TEMP TABLE _daily AS {daily_sql(mv, period.first_day, period.last_day, ev_override)}")
    segs = _segments(period.first_day, period.last_day, ev_override)
    ev_last = segs[-1][2]
    ent = con.sql(f"SELECT code, name, city, district, is_control FROM {stations}").df()
    frames = []
    if "station" in levels:
        st = period_statistics(con, "SELECT * FROM _daily", period, ev_last, ent)
        st = pd.concat([pd.DataFrame({"level": ["station"] * len(st)}), st], axis=1)
        frames.append(st)
    for lvl in ("city", "district"):
        if lvl in levels:
            con.execute(
                f"CREATE OR REPLACE TEMP TABLE _cdaily AS "
                f"{city_daily_sql('SELECT * FROM _daily', stations, lvl, ev_override, period.first_day, period.last_day)}"
            )
            ct = period_statistics(con, "SELECT * FROM _cdaily", period, ev_last)
            ct = pd.concat([pd.DataFrame({"level": [lvl] * len(ct), "name": ct["code"].to_numpy()}), ct], axis=1)
            frames.append(ct)
    table = pd.concat(frames, ignore_index=True) if frames else pd.DataFrame()
    notes = [n for _, _, ev in segs for n in ev.notes]
    return EvaluationResult(
        period=period,
        table=table,
        eval_rulesets=[ev.name for _, _, ev in segs],
        aqi_rulesets=sorted({ev.aqi.name for _, _, ev in segs}),
        limits=ev_last.limits.name,
        notes=notes,
    )


def rank(table: pd.DataFrame, by: str = "composite_index") -> pd.DataFrame:
    """Rank entities (ties share a rank): composite index and PM2.5 ascending, good-days ratio descending."""
    ascending = by != "good_ratio"
    out = table.copy()
    vals = [None if (x is None or (isinstance(x, float) and math.isnan(x))) else float(x) for x in out[by]]
    out[f"rank_{by}"] = rank_with_ties(vals, ascending=ascending)
    return out.sort_values([f"rank_{by}", "code"], na_position="last").reset_index(drop=True)


def _q(s: str) -> str:
    return "'" + s.replace("'", "''") + "'"
