"""Air-quality engine: applies :mod:`qingshan.standards` to the hourly store, vectorised end to end.

1. **hourly** (:func:`evaluate_hourly`, numpy on a station × hour grid, :mod:`.grid`): 24-h moving means (SO2, NO2,
   CO, PM10, PM2.5; ≥ 20 valid of the trailing 24) and the O3 8-h moving mean (≥ 6 of 8), GB 3095 表4; hourly
   IAQIs, AQI, level and primary pollutants of the AQI rule set in force (or the override).
2. **station daily**: daily means (≥ 20 valid hours), O3 max 1-h and daily max 8-h over the 17 windows inside the
   day (≥ 14 valid, or valid anyway above the 8-h limit, HJ 663 §6.1.2), daily AQI (日报) and day validity.
3. **city/district daily**: the arithmetic mean of the evaluation stations' valid daily values (control sites
   对照点 and stopped stations excluded), O3 daily max 8-h included ("点位平均法"); a city value needs valid values
   from at least ``city_min_station_fraction`` of the city's evaluation stations (our documented choice, 0.5).
   The city daily AQI is computed from the city daily concentrations (HJ 633-2026 §4.2), never as a max of
   station AQIs.
4. **period statistics** (:func:`period_statistics`, DuckDB SQL over the daily rows): HJ 663 annual items with
   coverage and validity, compliance and exceedance multiples, daily ranges and daily compliance rates,
   good-days ratio, days by category and by primary pollutant, composite index; :func:`rank` with ties.

A day switches rule set on 2026-03-01 unless an override is given; every output names the rule sets used.

**Reviewed data.** Read from the store (``source="air_hourly"``), the engine reads reviewed data by default: the
review marks are applied at read time by :func:`qingshan.store.review.air_source` (invalidated values are
missing; with the rule set's ``exclude_dust`` also PM10/PM2.5 of hours marked 沙尘天气影响). ``data="raw"`` reads
the hours as stored. Every result says which it used (``data``, ``exclude_dust`` and a note, docs/review.md).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Callable

import duckdb
import numpy as np
import pandas as pd
import pyarrow as pa

from ..standards.air_aqi import AqiRuleSet
from ..standards.air_evaluation import ANNUAL_ITEMS, COMPOSITE_ITEMS
from ..standards.air_ranking import DENOMINATOR_AVERAGING, rank_with_ties
from ..standards.air_validity import period_months
from ..standards.networks import city_mask, station_rank_mask, town_mask
from ..standards.pollutants import PRIMARY_CODES, digits_of
from ..standards.rounding import round_gbt8170_array
from ..standards.rulesets import SWITCH_2026, AirEvalRuleSet, aqi_ruleset_for, eval_ruleset_for
from ..store.review import air_source, data_label, reviewed_available
from .grid import DAILY_COLUMNS, daily_values, hourly_table, load_grid, moving_mean, moving_means, with_daily_aqi
from .parallel import block_size, cores, map_ordered
from .periods import Period, day_date, day_index


def ruleset_segments(first_day: int, last_day: int, override: AirEvalRuleSet | None) -> list[tuple[int, int, AirEvalRuleSet]]:
    """``(first_day, last_day, rule set)`` pieces of a day range, split at the 2026 switch unless overridden."""
    if override is not None:
        return [(first_day, last_day, override)]
    switch = day_index(SWITCH_2026)
    pieces = []
    if first_day < switch:
        pieces.append((first_day, min(last_day, switch - 1)))
    if last_day >= switch:
        pieces.append((max(first_day, switch), last_day))
    return [(a, b, eval_ruleset_for(day_date(a))) for a, b in pieces]




def aqi_segments(first_day: int, last_day: int, override: AqiRuleSet | None) -> list[tuple[int, int, AqiRuleSet]]:
    return [(a, b, override or aqi_ruleset_for(day_date(a))) for a, b, _ in ruleset_segments(first_day, last_day, None)]


def _station_where(stations: str, city: str | None, extra: str | None) -> str:
    conds = []
    if city is not None:
        conds.append(f"station IN (SELECT code FROM {stations} WHERE city = {_q(city)})")
    if extra:
        conds.append(extra)
    return " AND ".join(conds)


# --- 1. hourly ------------------------------------------------------------------------------------------------


def store_source(con: duckdb.DuckDBPyConnection, source: str, data: str, exclude_dust: bool) -> tuple[str, str]:
    """The relation to read and the data kind it gives: the store's ``air_hourly`` goes through the review marks
    (:func:`qingshan.store.review.air_source`); any other source (a user's table, a lake without marks) is raw."""
    if source != "air_hourly" or not reviewed_available(con):
        return source, "raw"
    return air_source(con, data, exclude_dust), data


def evaluate_hourly(
    con: duckdb.DuckDBPyConnection, period: Period, source: str = "air_hourly", override: AqiRuleSet | None = None,
    stations: str = "stations", city: str | None = None, where: str | None = None, data: str = "reviewed",
) -> pa.Table:
    """Hourly AQI, IAQIs, primary pollutants and the rounded 24-h / 8-h moving means of every stored station-hour
    of ``period`` (one Arrow table; ``aqi_ruleset`` names the rule set of each row); reviewed data unless
    ``data="raw"``."""
    batches = list(evaluate_hourly_batches(con, period, source, override, stations, city, where, data=data))
    return pa.concat_tables(batches) if batches else pa.table({})


def evaluate_hourly_batches(
    con: duckdb.DuckDBPyConnection, period: Period, source: str = "air_hourly", override: AqiRuleSet | None = None,
    stations: str = "stations", city: str | None = None, where: str | None = None, block: int = 200,
    data: str = "reviewed",
):
    """:func:`evaluate_hourly` as Arrow tables of at most ``block`` stations each, so callers can stream them."""
    source, _ = store_source(con, source, data, False)
    grid = load_grid(con, source, period.first_day, period.last_day, _station_where(stations, city, where))
    validity = ruleset_segments(period.first_day, period.last_day, None)[0][2].validity
    segs = aqi_segments(period.first_day, period.last_day, override)
    for part in grid.blocks(block):
        yield hourly_table(part, moving_means(part, validity), segs)


# --- 2. and 3. daily values of stations and cities -------------------------------------------------------------


def _daily_arrow(codes: np.ndarray, first_day: int, values: dict[str, np.ndarray], counts: dict[str, np.ndarray],
                 keep: np.ndarray, segments) -> pa.Table:
    """Flatten S × D daily arrays (rows where ``keep``) and add the daily AQI."""
    rows, days = np.nonzero(keep)
    day = (first_day + days).astype(np.int64)
    flat = {c: values[c][rows, days] for c in DAILY_COLUMNS}
    aqi = with_daily_aqi(flat, day, segments)
    cols = {"station": pa.array(codes.astype(str)).take(pa.array(rows)), "day": pa.array(day)}
    cols.update({c: pa.array(v, from_pandas=True) for c, v in flat.items()})
    cols.update({k: pa.array(v[rows, days]) for k, v in counts.items()})
    for k, v in aqi.items():
        if k == "level":
            cols[k] = pa.array(np.where(v == 0, None, v).astype(object), pa.int8())
        elif k in ("primary_pollutants", "eval_ruleset"):
            cols[k] = pa.array(v, pa.string())
        elif k == "day_valid":
            cols[k] = pa.array(v.astype(bool))
        else:
            cols[k] = pa.array(v, pa.int16(), from_pandas=True)
    return pa.table(cols)


def station_daily(grid, segments, hourly_sink: Callable[[pa.Table], None] | None = None,
                  aqi_override: AqiRuleSet | None = None, workers: int | None = None) -> tuple[pa.Table, dict[str, np.ndarray]]:
    """Daily rows (with daily AQI) of every station-day with data, and the S × D daily arrays.

    Blocks of stations are evaluated on ``workers`` threads (default: every core, :mod:`.parallel`). With
    ``hourly_sink`` the hourly evaluation of each block is produced in the same pass (the moving means are
    computed once) and handed to the sink in station order, so a full evaluation never holds all hourly results."""
    validity = segments[0][2].validity
    aqi_segs = aqi_segments(grid.first_day, grid.first_day + grid.n_days - 1, aqi_override)
    workers = cores() if workers is None else workers

    def evaluate_block(part):
        if hourly_sink is not None:
            mv = moving_means(part, validity)
            return daily_values(part, mv["o3_8h"], segments), hourly_table(part, mv, aqi_segs)
        o3_8h = moving_mean(part.values["o3"], 8, validity.o3_8h_min_hours, 0)
        return daily_values(part, o3_8h, segments), None

    size = block_size(len(grid.stations), workers)
    blocks = (slice(i, i + size) for i in range(0, len(grid.stations), size))
    parts = []
    for daily_part, hourly in map_ordered(lambda rows: evaluate_block(grid.rows(rows)), blocks, workers):
        if hourly is not None:
            hourly_sink(hourly)
        parts.append(daily_part)
    if not parts:
        parts = [daily_values(grid, moving_mean(grid.values["o3"], 8, validity.o3_8h_min_hours, 0), segments)]
    dv = {k: np.concatenate([p[k] for p in parts]) for k in parts[0]}
    counts = {k: v for k, v in dv.items() if k.startswith("n_") or k == "hours"}
    return _daily_arrow(grid.stations, grid.first_day, dv, counts, dv["hours"] > 0, segments), dv


def group_sum(groups: np.ndarray) -> Callable[[np.ndarray], np.ndarray]:
    """``groups @ x`` for a G × S 0/1 membership matrix. When every station is in at most one group (cities,
    districts, towns) the sum is a scatter-add in station order: exact, single-threaded and far cheaper than a BLAS
    product, whose threads spin on a busy machine."""
    if not groups.size or groups.sum(axis=0).max() > 1:
        return lambda x: groups @ x
    member = groups.any(axis=0)
    group_of = groups.argmax(axis=0)[member]

    def summed(x: np.ndarray) -> np.ndarray:
        out = np.zeros((groups.shape[0],) + x.shape[1:])
        np.add.at(out, group_of, x[member])
        return out

    return summed


def group_daily(codes: np.ndarray, groups: np.ndarray, n_members: np.ndarray, dv: dict[str, np.ndarray], first_day: int,
                segments, min_fraction: float) -> pa.Table:
    """City (or district) daily values: the mean of its evaluation stations' valid daily values ("点位平均法").

    ``groups`` is a G × S 0/1 membership matrix over the grid's stations (evaluation stations only) and
    ``n_members`` the number of evaluation stations registered for each group. A group-day value needs valid
    values from at least ``max(1, ceil(min_fraction · n_members))`` stations."""
    need = np.maximum(1, np.ceil(min_fraction * n_members))[:, None]
    values, counts = {}, {}
    summed = group_sum(groups)
    for c in DAILY_COLUMNS:
        v = dv[c]
        ok = ~np.isnan(v)
        total = summed(np.where(ok, v, 0.0))
        n = summed(ok.astype(float))
        with np.errstate(invalid="ignore", divide="ignore"):
            mean = total / np.maximum(n, 1)
        values[c] = np.where(n >= need, round_gbt8170_array(mean, digits_of(c)), np.nan)
        counts[f"ns_{c}"] = n.astype(np.int32)
    keep = np.logical_or.reduce([counts[f"ns_{c}"] > 0 for c in DAILY_COLUMNS])
    counts["n_stations"] = np.repeat(n_members[:, None], keep.shape[1], axis=1).astype(np.int32)
    return _daily_arrow(codes, first_day, values, counts, keep, segments)


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
    data: str = "raw"  # "reviewed" (review marks applied) or "raw"
    exclude_dust: bool = False  # PM10/PM2.5 of hours marked 沙尘天气影响 deducted (环办监测〔2016〕120号)


def _period_aggregate_sql(daily: str, first_day: int, last_day: int) -> str:
    # Portable SQL: the same text runs on DuckDB and on Spark SQL (qingshan.spark), so both engines take their
    # group values from one definition. percentile_cont … WITHIN GROUP is DuckDB's quantile_cont and Spark's exact
    # percentile, both the HJ 663 附录A interpolation.
    aggs = ["station AS code", "count(*) AS days_with_data",
            "count(*) FILTER (WHERE day_valid) AS valid_days",
            "count(*) FILTER (WHERE day_valid AND aqi <= 100) AS good_days"]
    for lvl in range(1, 7):
        aggs.append(f"count(*) FILTER (WHERE day_valid AND level = {lvl}) AS days_level{lvl}")
    for c in PRIMARY_CODES:
        aggs.append(
            f"count(*) FILTER (WHERE day_valid AND array_contains(split(primary_pollutants, ','), '{c}')) "
            f"AS primary_days_{c}"
        )
    for c in ("so2", "no2", "co", "pm10", "pm25", "o3_8h_max"):
        aggs += [f"count({c}) AS n_{c}", f"avg({c}) AS {c}_mean_raw", f"min({c}) AS {c}_min", f"max({c}) AS {c}_max"]
    for item in ANNUAL_ITEMS:
        if item.percentile is not None:
            aggs.append(f"percentile_cont({item.percentile / 100}) WITHIN GROUP (ORDER BY {item.source}) "
                        f"AS {item.key}_raw")
    return f"SELECT {', '.join(aggs)} FROM ({daily}) AS d WHERE day BETWEEN {first_day} AND {last_day} GROUP BY station"


def _monthly_counts_sql(daily: str, first_day: int, last_day: int) -> str:
    counts = ", ".join(f"count({c}) AS n_{c}" for c in ("so2", "no2", "co", "pm10", "pm25", "o3_8h_max"))
    return (
        f"SELECT station AS code, year(date_add(DATE '1970-01-01', CAST(day AS INTEGER))) AS y, "
        f"month(date_add(DATE '1970-01-01', CAST(day AS INTEGER))) AS m, {counts} "
        f"FROM ({daily}) AS d WHERE day BETWEEN {first_day} AND {last_day} GROUP BY 1, 2, 3"
    )


def _exceed_sql(daily: str, first_day: int, last_day: int, limits) -> str:
    return (
        "SELECT station AS code, "
        + ", ".join(
            f"count(*) FILTER (WHERE {src} > {limits.limit(p, '8h' if p == 'o3' else '24h')}) AS exceed_{p}"
            for p, src in _STAT_SOURCE.items()
        )
        + f" FROM ({daily}) AS d WHERE day BETWEEN {first_day} AND {last_day} GROUP BY station"
    )


def period_aggregate_queries(daily: str, period: Period, ev: AirEvalRuleSet) -> dict[str, str]:
    """The SQL group values behind :func:`period_statistics` (``agg``, ``monthly``, ``exceed``), in a dialect that
    DuckDB and Spark SQL both run; ``daily`` is a query over daily rows (station, day, daily columns, AQI)."""
    return {"agg": _period_aggregate_sql(daily, period.first_day, period.last_day),
            "monthly": _monthly_counts_sql(daily, period.first_day, period.last_day),
            "exceed": _exceed_sql(daily, period.first_day, period.last_day, ev.limits)}


_STAT_SOURCE = {"so2": "so2", "no2": "no2", "co": "co", "pm10": "pm10", "pm25": "pm25", "o3": "o3_8h_max"}


def period_statistics(
    con: duckdb.DuckDBPyConnection, daily: str, period: Period, ev: AirEvalRuleSet, entities: pd.DataFrame | None = None
) -> pd.DataFrame:
    """HJ 663 statistics for every entity of ``daily`` over ``period`` (pandas only on per-entity rows)."""
    q = period_aggregate_queries(daily, period, ev)
    agg, monthly, exceed = (con.sql(q[k]).df() for k in ("agg", "monthly", "exceed"))
    return statistics_from_aggregates(agg, monthly, exceed, period, ev, entities)


def month_validity(monthly: pd.DataFrame, codes: np.ndarray, months: list[tuple[int, int, int]],
                   v) -> dict[str, np.ndarray]:
    """Per pollutant, which of ``codes`` meet the monthly minimum of valid days in every month of the period
    (GB 3095 表4; HJ 663 §6.1): one grouped reduction over the ``monthly`` counts, no per-row Python.

    ``monthly`` has ``code, y, m, n_<source>`` rows (one per entity-month with data); ``months`` are the period's
    ``(year, month, days in the period)``. An entity lacking a month's row fails that month, unless every month
    of the period requires no day at all."""
    required = pd.Series({y * 12 + m: v.required_days(y, m, d) for y, m, d in months}, dtype=np.int64)
    if len(months) and not required.any():
        return {p: np.ones(len(codes), dtype=bool) for p in _STAT_SOURCE}
    if not len(monthly):
        return {p: np.zeros(len(codes), dtype=bool) for p in _STAT_SOURCE}
    key = monthly["y"].to_numpy(dtype=np.int64) * 12 + monthly["m"].to_numpy(dtype=np.int64)
    need = required.reindex(key).to_numpy()
    ok = pd.DataFrame({p: monthly[f"n_{src}"].to_numpy() >= need for p, src in _STAT_SOURCE.items()})
    grouped = ok.groupby(monthly["code"].to_numpy())
    months_ok, present = grouped.sum(), grouped.size()
    flags = months_ok.eq(len(months)) & present.eq(len(months)).to_numpy()[:, None]
    flags = flags.reindex(codes, fill_value=False)
    return {p: flags[p].to_numpy(dtype=bool) for p in _STAT_SOURCE}


def statistics_from_aggregates(agg: pd.DataFrame, monthly: pd.DataFrame, exceed: pd.DataFrame, period: Period,
                               ev: AirEvalRuleSet, entities: pd.DataFrame | None = None) -> pd.DataFrame:
    """Period statistics from the per-entity results of :func:`period_aggregate_queries`, whichever engine ran
    them: validity, GB/T 8170 rounding, compliance, exceedance, daily compliance rates, composite index."""
    v = ev.validity
    months = period_months(period.start, period.end)
    valid_flags = month_validity(monthly, agg["code"].to_numpy(), months, v)
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
    exceed = exceed.set_index("code").reindex(codes)
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
    hourly_sink: Callable[[pa.Table], None] | None = None,
    aqi_override: AqiRuleSet | None = None,
    data: str = "reviewed",
    exclude_dust: bool | None = None,
    workers: int | None = None,
) -> EvaluationResult:
    """HJ 663 evaluation of ``period`` for stations and cities/districts (optionally of one city).

    ``hourly_sink``, when given, receives the hourly evaluation (:func:`evaluate_hourly` columns) block by block,
    computed in the same pass. ``data``: reviewed (default) or raw; ``exclude_dust`` (default: the rule set's
    option) deducts the particulate data of hours marked 沙尘天气影响. ``workers``: threads over blocks of
    stations (default: every core)."""
    segs = ruleset_segments(period.first_day, period.last_day, ev_override)
    ev_last = segs[-1][2]
    dust = any(ev.exclude_dust for _, _, ev in segs) if exclude_dust is None else exclude_dust
    source, used = store_source(con, source, data, dust)
    grid = load_grid(con, source, period.first_day, period.last_day, _station_where(stations, city, station_filter),
                     compact=True)
    result = empty_result(period, segs)
    result.data, result.exclude_dust = used, dust and used == "reviewed"
    result.notes.append(data_label(result.data, result.exclude_dust))
    if not len(grid.stations):
        return result
    daily, dv = station_daily(grid, segs, hourly_sink, aqi_override, workers)
    ent = entities(con, stations)
    frames = []
    con.register("_daily", daily)
    try:
        if "station" in levels:
            st = period_statistics(con, "SELECT * FROM _daily", period, ev_last, ent)
            frames.append(pd.concat([pd.DataFrame({"level": ["station"] * len(st)}), st], axis=1))
    finally:
        con.unregister("_daily")
    for lvl in ("city", "district", "town"):
        if lvl not in levels:
            continue
        members = level_members(ent, lvl, city)
        names = np.array(sorted(members[lvl].unique()), dtype=object)
        if not len(names):
            continue
        m = membership(names, grid.stations, members[lvl].to_numpy(), members["code"].to_numpy())
        n_members = members.groupby(lvl).size().reindex(names).to_numpy(dtype=float)
        cdaily = group_daily(names, m, n_members, dv, grid.first_day, segs, ev_last.city_min_station_fraction)
        if not cdaily.num_rows:  # no member has data in the period (e.g. town stations set up later)
            continue
        con.register("_cdaily", cdaily)
        try:
            ct = period_statistics(con, "SELECT * FROM _cdaily", period, ev_last)
        finally:
            con.unregister("_cdaily")
        frames.append(pd.concat([pd.DataFrame({"level": [lvl] * len(ct), "name": ct["code"].to_numpy()}), ct], axis=1))
    result.table = pd.concat(frames, ignore_index=True) if frames else pd.DataFrame()
    return result


@dataclass
class MemberDaily:
    """The HJ 663 daily values of the stations that enter city values, as S × D arrays (NaN: no valid value)."""

    codes: np.ndarray  # station codes, one per row
    cities: np.ndarray  # each station's city
    first_day: int  # column 0
    values: dict[str, np.ndarray]  # DAILY_COLUMNS → S × D
    ruleset: AirEvalRuleSet  # the evaluation rule set of the period's last day (limits, weights, city threshold)
    registered: dict[str, int] = field(default_factory=dict)  # city → its evaluation stations, with data or not


def member_daily(con: duckdb.DuckDBPyConnection, period: Period, stations: str = "stations",
                 data: str = "reviewed") -> MemberDaily:
    """Daily values (validity and rounding as :func:`evaluate_period` applies them) of every station that enters
    city values (:func:`city_members`), for rules that compare a station with its city (the alarm rule
    ``air.ranking_drag``)."""
    segs = ruleset_segments(period.first_day, period.last_day, None)
    ent = con.sql(f"SELECT code, city, is_control, network FROM {stations}").df()
    members = ent[city_members(ent) & ent["city"].notna()]
    registered = {str(k): int(v) for k, v in members.groupby("city").size().items()}
    source, _ = store_source(con, "air_hourly", data, any(ev.exclude_dust for _, _, ev in segs))
    if members.empty:
        return MemberDaily(np.array([], dtype=object), np.array([], dtype=object), period.first_day, {}, segs[-1][2])
    where = f"station IN ({', '.join(_q(str(c)) for c in members['code'])})"
    grid = load_grid(con, source, period.first_day, period.last_day, where)
    if not len(grid.stations):
        return MemberDaily(np.array([], dtype=object), np.array([], dtype=object), period.first_day, {}, segs[-1][2])
    _, dv = station_daily(grid, segs)
    city_of = dict(zip(members["code"], members["city"]))
    return MemberDaily(grid.stations, np.array([city_of[c] for c in grid.stations], dtype=object), grid.first_day,
                       {c: dv[c] for c in DAILY_COLUMNS}, segs[-1][2], registered)


def membership(names: np.ndarray, stations: np.ndarray, member_group: np.ndarray, member_code: np.ndarray) -> np.ndarray:
    """The G × S 0/1 matrix of :func:`group_daily`: group ``names[g]`` holds grid station ``stations[s]`` when a
    member row pairs them (members without data in the grid are left out)."""
    m = np.zeros((len(names), len(stations)))
    s = pd.Index(stations).get_indexer(member_code)
    g = pd.Index(names).get_indexer(member_group)
    keep = s >= 0
    m[g[keep], s[keep]] = 1.0
    return m


def entities(con: duckdb.DuckDBPyConnection, stations: str = "stations") -> pd.DataFrame:
    """The station register columns the evaluation needs (code, name, city, district, town, is_control, network)."""
    return con.sql(f"SELECT code, name, city, district, town, is_control, network FROM {stations}").df()


def empty_result(period: Period, segs) -> EvaluationResult:
    """The result of ``period`` with the rule sets of its day segments named and no rows yet."""
    notes = list(dict.fromkeys(n for _, _, ev in segs for n in ev.notes))
    return EvaluationResult(period, pd.DataFrame(), [ev.name for _, _, ev in segs],
                            sorted({ev.aqi.name for _, _, ev in segs}), segs[-1][2].limits.name, notes)


def level_members(ent: pd.DataFrame, lvl: str, city: str | None = None) -> pd.DataFrame:
    """Station rows entering the ``lvl`` values (city, district: :func:`city_members`; town:
    :func:`qingshan.standards.networks.counts_for_town` — no control sites, no sensors), optionally of one city;
    the group is the row's ``lvl`` column."""
    members = ent[(city_members(ent) if lvl != "town" else town_mask(ent)) & ent[lvl].notna()]
    return members[members["city"] == city] if city is not None else members


def city_members(stations: pd.DataFrame) -> pd.Series:
    """Which stations enter city and district values (:func:`qingshan.standards.networks.counts_for_city`): not
    control sites (对照点, 停运), not town stations (乡镇, they only rank their towns), never grid micro-sensors,
    dust monitors or outlets. ``stations`` has ``is_control`` and ``network`` columns."""
    return city_mask(stations)


def ranked_stations(stations: pd.DataFrame) -> pd.Series:
    """Which station rows appear in official station tables and rankings
    (:func:`qingshan.standards.networks.ranks_as_station`): no control sites, no sensors or outlets."""
    return station_rank_mask(stations)


def rank(table: pd.DataFrame, by: str = "composite_index") -> pd.DataFrame:
    """Rank entities (ties share a rank): composite index and PM2.5 ascending, good-days ratio descending."""
    ascending = by != "good_ratio"
    out = table.copy()
    vals = [None if (x is None or (isinstance(x, float) and math.isnan(x))) else float(x) for x in out[by]]
    out[f"rank_{by}"] = rank_with_ties(vals, ascending=ascending)
    return out.sort_values([f"rank_{by}", "code"], na_position="last").reset_index(drop=True)


def _q(s: str) -> str:
    return "'" + s.replace("'", "''") + "'"
