"""Incremental air evaluation: new or corrected hours recompute only what they touch (docs/performance.md).

The derived daily values live in the store (:mod:`qingshan.store.eval_cache`, migration 8) with the day ranges
they cover. :func:`update` takes the station-hours that changed in ``air_hourly`` and

1. recomputes the hourly evaluation of those hours (AQI, 24-h and 8-h moving means; returned, not persisted);
2. recomputes the daily values of the touched station-days (a day's values depend on its own 24 hours only: the
   MDA8 windows end at 08:00…24:00 inside the day) and replaces them in the cache;
3. recomputes the city, district and town daily values of the touched groups and days from the cached station
   rows of their members, and replaces them;
4. recomputes the HJ 663 statistics, month to date and year to date, of the touched stations and groups from the
   cached daily rows (the very SQL of the full evaluation).

Every step runs the functions of the full evaluation on a smaller input, so the results equal a full
recomputation (tests/test_air_incremental.py checks it on random late and corrected data). A year that is not
yet in the cache (or was built from other data: raw vs reviewed, dust deducted or not) is built first
(:func:`build`).
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from datetime import date
from typing import Iterable

import duckdb
import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from ..store import eval_cache
from .air import (
    aqi_segments,
    entities,
    group_daily,
    level_members,
    membership,
    period_statistics,
    ruleset_segments,
    station_daily,
    store_source,
)
from .grid import DAILY_COLUMNS, hourly_table, load_grid, moving_means
from .periods import Period, day_date, day_index

GROUP_LEVELS = ("city", "district", "town")


@dataclass
class UpdateSummary:
    """What :func:`update` recomputed, and the results of the touched stations and groups."""

    station_hours: int  # distinct station-hours given
    station_days: int  # station daily rows recomputed
    group_days: int  # city/district/town daily rows recomputed
    hourly: pa.Table  # hourly evaluation of the given station-hours (evaluate_hourly columns)
    month: pd.DataFrame  # month to date of the latest touched day: touched stations and groups (HJ 663 columns)
    year: pd.DataFrame  # year to date, same rows
    periods: tuple[Period, Period] | None = None  # (month to date, year to date)
    seconds: float = 0.0
    built_years: list[int] = field(default_factory=list)  # years built first (not yet in the cache)


def _dust(first_day: int, last_day: int, exclude_dust: bool | None) -> bool:
    segs = ruleset_segments(first_day, last_day, None)
    return any(ev.exclude_dust for _, _, ev in segs) if exclude_dust is None else exclude_dust


def build(con: duckdb.DuckDBPyConnection, year: int, data: str = "reviewed", exclude_dust: bool | None = None,
          workers: int | None = None) -> None:
    """Compute the station and group daily values of calendar ``year`` from ``air_hourly`` into the cache."""
    first, last = day_index(date(year, 1, 1)), day_index(date(year, 12, 31))
    dust = _dust(first, last, exclude_dust)
    source, used = store_source(con, "air_hourly", data, dust)
    segs = ruleset_segments(first, last, None)
    grid = load_grid(con, source, first, last, compact=True)
    daily, dv = station_daily(grid, segs, workers=workers)
    eval_cache.replace_station_daily(con, daily, None, first, last)
    ent = entities(con)
    for lvl in GROUP_LEVELS:
        rows = _group_rows(ent, lvl, None, grid.stations, dv, first, segs)
        if rows is not None:
            eval_cache.replace_group_daily(con, lvl, rows, None, first, last)
    eval_cache.record_coverage(con, first, last, used, dust and used == "reviewed")


def _group_rows(ent: pd.DataFrame, lvl: str, names: list[str] | None, stations: np.ndarray,
                dv: dict[str, np.ndarray], first_day: int, segs) -> pa.Table | None:
    """Daily rows of the ``lvl`` groups (all, or ``names``) from the members' S × D daily arrays."""
    members = level_members(ent, lvl)
    if names is not None:
        members = members[members[lvl].isin(names)]
    groups = np.array(sorted(members[lvl].unique()), dtype=object)
    if not len(groups):
        return None
    m = membership(groups, stations, members[lvl].to_numpy(), members["code"].to_numpy())
    n_members = members.groupby(lvl).size().reindex(groups).to_numpy(dtype=float)
    return group_daily(groups, m, n_members, dv, first_day, segs, segs[-1][2].city_min_station_fraction)


def _ensure_years(con, first_day: int, last_day: int, data: str, exclude_dust: bool | None) -> list[int]:
    built = []
    for year in range(day_date(first_day).year, day_date(last_day).year + 1):
        a, b = day_index(date(year, 1, 1)), day_index(date(year, 12, 31))
        dust = _dust(a, b, exclude_dust)
        _, used = store_source(con, "air_hourly", data, dust)
        have = eval_cache.coverage(con, used, dust and used == "reviewed")
        if not any(x <= a and b <= y for x, y in have):
            build(con, year, data, exclude_dust)
            built.append(year)
    return built


def _daily_arrays(rows: pa.Table, first_day: int, n_days: int) -> tuple[np.ndarray, dict[str, np.ndarray]]:
    """S × D arrays of the daily columns from cached rows (stations in code order, NaN where no row)."""
    codes, idx = np.unique(rows.column("station").to_numpy(zero_copy_only=False).astype(str), return_inverse=True)
    day = rows.column("day").to_numpy() - first_day
    dv = {}
    for c in DAILY_COLUMNS:
        a = np.full((len(codes), n_days), np.nan)
        a[idx, day] = rows.column(c).to_numpy(zero_copy_only=False)
        dv[c] = a
    return codes.astype(object), dv


def update(con: duckdb.DuckDBPyConnection, hours: Iterable[tuple[str, int]], data: str = "reviewed",
           exclude_dust: bool | None = None, workers: int | None = None) -> UpdateSummary:
    """Re-evaluate after the station-hours ``hours`` (``(station code, hi)``, hour-ending index as in
    :mod:`.periods`) were added, corrected or deleted in ``air_hourly``; see the module docstring."""
    t0 = time.perf_counter()
    pairs = sorted(set((str(s), int(h)) for s, h in hours))
    if not pairs:
        empty = pd.DataFrame()
        return UpdateSummary(0, 0, 0, pa.table({}), empty, empty)
    touched = pa.table({"station": pa.array([s for s, _ in pairs], pa.string()),
                        "hi": pa.array([h for _, h in pairs], pa.int64())})
    stations = sorted({s for s, _ in pairs})
    days = (np.array([h for _, h in pairs]) - 1) // 24
    d0, d1 = int(days.min()), int(days.max())
    built = _ensure_years(con, d0, d1, data, exclude_dust)
    dust = _dust(day_index(date(day_date(d0).year, 1, 1)), day_index(date(day_date(d1).year, 12, 31)), exclude_dust)
    source, _ = store_source(con, "air_hourly", data, dust)
    segs = ruleset_segments(d0, d1, None)
    st_view = pa.table({"station": pa.array(stations, pa.string())})
    con.register("_touched_stations", st_view)
    try:
        # 1. and 2. hourly results and station daily values of the touched stations and days
        grid = load_grid(con, source, d0, d1, "station IN (SELECT station FROM _touched_stations)", compact=True)
        daily, _ = station_daily(grid, segs, workers=workers)
        keep = pc.is_in(daily.column("day"), value_set=pa.array(np.unique(days)))
        daily = daily.filter(keep)
        eval_cache.replace_station_daily_days(con, daily, stations, np.unique(days).tolist())
        hourly = _touched_hourly(grid, segs, touched, d0, d1)
        # 3. group daily values of the touched groups and days, from the members' cached rows
        ent = entities(con)
        group_days = 0
        cached = eval_cache.station_daily_rows(con, d0, d1, list(DAILY_COLUMNS))
        codes, dv = _daily_arrays(cached, d0, d1 - d0 + 1)
        touched_groups: dict[str, list[str]] = {}
        for lvl in GROUP_LEVELS:
            members = level_members(ent, lvl)
            names = sorted(members.loc[members["code"].isin(stations), lvl].unique())
            if not names:
                continue
            touched_groups[lvl] = names
            rows = _group_rows(ent, lvl, names, codes, dv, d0, segs)
            rows = rows.filter(pc.is_in(rows.column("day"), value_set=pa.array(np.unique(days))))
            eval_cache.replace_group_daily_days(con, lvl, rows, names, np.unique(days).tolist())
            group_days += rows.num_rows
        # 4. month and year to date of the touched stations and groups
        end = day_date(d1)
        month = Period(date(end.year, end.month, 1), end, f"{end.year}-{end.month:02d}至{end.isoformat()}")
        year = Period(date(end.year, 1, 1), end, f"{end.year}至{end.isoformat()}")
        tables = [_to_date(con, p, ent, touched_groups) for p in (month, year)]
    finally:
        con.unregister("_touched_stations")
    return UpdateSummary(len(pairs), daily.num_rows, group_days, hourly, tables[0], tables[1], (month, year),
                         time.perf_counter() - t0, built)


def _touched_hourly(grid, segs, touched: pa.Table, d0: int, d1: int) -> pa.Table:
    """The hourly evaluation (as :func:`qingshan.evaluate.air.evaluate_hourly`) of the touched station-hours."""
    if not len(grid.stations):
        return pa.table({})
    part = grid.rows(slice(None))
    table = hourly_table(part, moving_means(part, segs[0][2].validity), aqi_segments(d0, d1, None))
    if not table.num_rows:
        return table
    plain = table.set_column(0, "station", table.column("station").cast(pa.string()))
    return plain.join(touched, ["station", "hi"], join_type="inner").sort_by([("station", "ascending"), ("hi", "ascending")])


def _to_date(con, period: Period, ent: pd.DataFrame, groups: dict[str, list[str]]) -> pd.DataFrame:
    """HJ 663 statistics of ``period`` for the touched stations and groups, in one pass of the period SQL: the
    daily rows of every level are unioned under a ``level:code`` key and split afterwards."""
    ev = ruleset_segments(period.first_day, period.last_day, None)[-1][2]
    parts = [f"SELECT * REPLACE ('station:' || station AS station) FROM ({eval_cache.station_daily_query('_touched_stations')})"]
    views = []
    for lvl, names in groups.items():
        view = f"_touched_{lvl}"
        con.register(view, pa.table({"station": pa.array(names, pa.string())}))
        views.append(view)
        parts.append(f"SELECT * REPLACE ('{lvl}:' || station AS station) FROM ({eval_cache.group_daily_query(lvl, view)})")
    try:
        table = period_statistics(con, " UNION ALL BY NAME ".join(parts), period, ev)
    finally:
        for view in views:
            con.unregister(view)
    split = table["code"].str.split(":", n=1, expand=True)
    table.insert(0, "level", split[0].to_numpy())
    table["code"] = split[1].to_numpy()
    stations = table[table["level"] == "station"].drop(columns="level")
    frames = [pd.concat([pd.DataFrame({"level": ["station"] * len(stations)}),
                         ent.merge(stations, on="code", how="right")], axis=1)]
    for lvl in groups:
        ct = table[table["level"] == lvl].reset_index(drop=True)
        ct.insert(1, "name", ct["code"].to_numpy())
        frames.append(ct)
    return pd.concat(frames, ignore_index=True)
