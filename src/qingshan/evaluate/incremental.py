"""Incremental air evaluation: new or corrected hours recompute only what they touch (docs/performance.md).

The derived daily values live in the store (:mod:`qingshan.store.eval_cache`, migration 8) with the day ranges
they cover. :func:`update` takes the station-hours that changed in ``air_hourly`` and

1. recomputes the hourly evaluation of those hours (AQI, 24-h and 8-h moving means; returned, not persisted);
2. recomputes the daily values of the touched station-days (a day's values depend on its own 24 hours only: the
   MDA8 windows end at 08:00…24:00 inside the day) and replaces them in the cache;
3. recomputes the city, district and town daily values of the touched groups and days from the cached station
   rows of their members, and replaces them;
4. rewrites the month blocks (``air_eval_month``: the month's daily values of an entity as 31-day arrays) of the
   touched stations, groups and months, and computes the HJ 663 statistics, month to date and year to date, of
   the touched stations and groups from the blocks of the year: ≤ 12 rows per entity, aggregated in numpy
   (:mod:`.period_arrays`, equal to the period SQL of the full evaluation).

Every step runs the functions of the full evaluation on a smaller input, so the results equal a full
recomputation (tests/test_air_incremental.py checks it on random late and corrected data). A year that is not
yet in the cache (or was built from other data: raw vs reviewed, dust deducted or not; or under another station
register or engine version: :func:`fingerprint`) is built first (:func:`build`).

**Keeping the cache current.** The store notes every station-day written to ``air_hourly`` or touched by a review
mark (``air_eval_pending``, :mod:`qingshan.store.eval_cache`), whoever writes; :func:`update` takes the noted days
along with the hours it is given, and :func:`refresh` — run by the platform's store writer after every write —
recomputes whatever is noted. A write made while no platform runs is caught up by the next :func:`refresh` or
:func:`update`; :func:`is_current` tells a reader whether the cache may be used as it stands.
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
from ..store.review import data_kind
from .air import (
    aqi_segments,
    entities,
    group_daily,
    level_members,
    membership,
    ruleset_segments,
    station_daily,
    statistics_from_aggregates,
    store_source,
)
from .grid import DAILY_COLUMNS, hourly_table, load_grid, moving_means
from .period_arrays import DailyMatrix, month_number
from .periods import Period, day_date, day_index

GROUP_LEVELS = ("city", "district", "town")
#: bumped whenever the cached values would be computed differently: a cache built by another version is rebuilt
CACHE_VERSION = "9"


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
    source, _ = store_source(con, "air_hourly", data, dust)
    segs = ruleset_segments(first, last, None)
    grid = load_grid(con, source, first, last, compact=True)
    daily, dv = station_daily(grid, segs, workers=workers)
    ent = entities(con)
    with eval_cache.transaction(con):  # the year's cache all or nothing
        eval_cache.replace_station_daily(con, daily, None, first, last)
        blocks = [DailyMatrix.from_rows(daily, "station", first, last).blocks("station:")]
        for lvl in GROUP_LEVELS:
            rows = _group_rows(level_members(ent, lvl), lvl, None, grid.stations, dv, first, segs)
            if rows is not None:
                eval_cache.replace_group_daily(con, lvl, rows, None, first, last)
                blocks.append(DailyMatrix.from_rows(rows, "station", first, last).blocks(f"{lvl}:"))
        eval_cache.replace_month_blocks(con, pa.concat_tables(blocks), None,
                                        list(range(month_number(first), month_number(last) + 1)))
        eval_cache.drop_pending_days(con, first, last)  # the year now reflects every write
        eval_cache.record_coverage(con, first, last, *_kind(year, data, exclude_dust), fingerprint(ent))


def fingerprint(ent: pd.DataFrame) -> str:
    """The engine version and a hash of the station register (code, city, district, town, control site,
    network: what decides which stations enter which group): a cache built under another one is rebuilt."""
    frame = ent.sort_values("code").reset_index(drop=True).astype(object)
    return f"{CACHE_VERSION}:{int(pd.util.hash_pandas_object(frame, index=False).sum()) & (2**64 - 1):016x}"


def _group_rows(members: pd.DataFrame, lvl: str, names: list[str] | None, stations: np.ndarray,
                dv: dict[str, np.ndarray], first_day: int, segs) -> pa.Table | None:
    """Daily rows of the ``lvl`` groups (all, or ``names``) from the members' S × D daily arrays (``members``:
    :func:`~qingshan.evaluate.air.level_members` of the level)."""
    if names is not None:
        members = members[members[lvl].isin(names)]
    groups = np.array(sorted(members[lvl].unique()), dtype=object)
    if not len(groups):
        return None
    m = membership(groups, stations, members[lvl].to_numpy(), members["code"].to_numpy())
    n_members = members.groupby(lvl).size().reindex(groups).to_numpy(dtype=float)
    return group_daily(groups, m, n_members, dv, first_day, segs, segs[-1][2].city_min_station_fraction)


def _ensure_years(con, first_day: int, last_day: int, data: str, exclude_dust: bool | None, fp: str,
                  workers: int | None = None) -> list[int]:
    built = []
    for year in range(day_date(first_day).year, day_date(last_day).year + 1):
        a, b = day_index(date(year, 1, 1)), day_index(date(year, 12, 31))
        have = eval_cache.coverage(con, *_kind(year, data, exclude_dust), fp)
        if not any(x <= a and b <= y for x, y in have):
            build(con, year, data, exclude_dust, workers)
            built.append(year)
    return built


def _kind(year: int, data: str, exclude_dust: bool | None) -> tuple[str, bool]:
    """The (data, exclude_dust) a cache of ``year`` built for this request is recorded under: the data asked
    for. Reviewed data without any mark equal the raw data, and every mark recorded later is noted (its days are
    recomputed), so a cache built for reviewed data stays the reviewed data's."""
    kind = data_kind(data)
    dust = _dust(day_index(date(year, 1, 1)), day_index(date(year, 12, 31)), exclude_dust)
    return kind, dust and kind == "reviewed"


def is_current(con: duckdb.DuckDBPyConnection, year: int, data: str = "reviewed",
               exclude_dust: bool | None = None) -> bool:
    """May the cached values of ``year`` be read as they stand (built for this data, under the current station
    register and engine, and nothing written since)? A reader that gets False evaluates in full (or, on the
    store's writer, calls :func:`refresh`/:func:`update` first)."""
    a, b = day_index(date(year, 1, 1)), day_index(date(year, 12, 31))
    have = eval_cache.coverage(con, *_kind(year, data, exclude_dust), fingerprint(entities(con)))
    return any(x <= a and b <= y for x, y in have) and not eval_cache.has_pending(con, a, b)


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
    :mod:`.periods`) were added, corrected or deleted in ``air_hourly``; see the module docstring. The station-days
    the store noted as written (in the years cached for this data) are recomputed too, and forgotten."""
    t0 = time.perf_counter()
    pairs = sorted(set((str(s), int(h)) for s, h in hours))
    ent = entities(con)
    fp = fingerprint(ent)
    noted = _noted(con, data, exclude_dust)
    station_days = {(s, (h - 1) // 24) for s, h in pairs} | set(zip(noted.column("station").to_pylist(),
                                                                     noted.column("day").to_pylist()))
    if not station_days:
        empty = pd.DataFrame()
        return UpdateSummary(0, 0, 0, pa.table({}), empty, empty)
    touched = pa.table({"station": pa.array([s for s, _ in pairs], pa.string()),
                        "hi": pa.array([h for _, h in pairs], pa.int64())})
    stations = sorted({s for s, _ in station_days})
    days = np.unique([d for _, d in station_days])
    d0, d1 = int(days.min()), int(days.max())
    built = _ensure_years(con, d0, d1, data, exclude_dust, fp, workers)
    dust = _dust(day_index(date(day_date(d0).year, 1, 1)), day_index(date(day_date(d1).year, 12, 31)), exclude_dust)
    source, _ = store_source(con, "air_hourly", data, dust)
    segs = ruleset_segments(d0, d1, None)
    con.register("_touched_stations", pa.table({"station": pa.array(stations, pa.string())}))
    try:
        # 1. and 2. hourly results and station daily values of the touched stations and days
        grid = load_grid(con, source, d0, d1, "station IN (SELECT station FROM _touched_stations)", compact=True)
        daily, _ = station_daily(grid, segs, workers=workers)
        daily = daily.filter(pc.is_in(daily.column("day"), value_set=pa.array(days)))
        # the cache's writes below in one transaction: all or nothing (and one commit)
        with eval_cache.transaction(con):
            eval_cache.replace_station_daily_days(con, daily, stations, days.tolist())
            hourly = _touched_hourly(grid, segs, touched, d0, d1) if pairs else pa.table({})
            # 3. group daily values of the touched groups and days, from the members' cached rows
            # (object columns: the membership look-ups on Arrow-backed strings are slow)
            ment = ent.astype({c: object for c in ent.columns if pd.api.types.is_string_dtype(ent[c])})
            group_days = 0
            cached = eval_cache.station_daily_rows(con, d0, d1, list(DAILY_COLUMNS))
            codes, dv = _daily_arrays(cached, d0, d1 - d0 + 1)
            touched_groups: dict[str, list[str]] = {}
            group_rows: dict[str, pa.Table] = {}
            for lvl in GROUP_LEVELS:
                members = level_members(ment, lvl)
                names = sorted(members.loc[members["code"].isin(stations), lvl].unique())
                if not names:
                    continue
                touched_groups[lvl] = names
                rows = _group_rows(members, lvl, names, codes, dv, d0, segs)
                rows = rows.filter(pc.is_in(rows.column("day"), value_set=pa.array(days)))
                eval_cache.replace_group_daily_days(con, lvl, rows, names, days.tolist())
                group_rows[lvl] = rows
                group_days += rows.num_rows
            # 4. the year's month blocks of the touched entities read once, the touched days set from the new daily
            # rows, the touched months written back; month and year to date from the same arrays
            keys = _register_keys(con, stations, touched_groups)
            end = day_date(d1)
            m0, m1 = month_number(min(d0, day_index(date(end.year, 1, 1)))), month_number(d1)
            memo_key = (*_kind(end.year, data, exclude_dust), fp, m0, m1, tuple(keys))
            matrix = _recall(con, memo_key)
            if matrix is None:
                matrix = DailyMatrix.from_blocks(eval_cache.month_blocks(con, m0, m1, "_touched_keys"), m0, m1, keys)
            matrix.set_days([f"station:{s}" for s in stations], days, daily, "station", "station:")
            for lvl, names in touched_groups.items():
                matrix.set_days([f"{lvl}:{n}" for n in names], days, group_rows[lvl], "station", f"{lvl}:")
            months = sorted({month_number(int(d)) for d in days})
            eval_cache.replace_month_blocks(con, matrix.blocks(months=months), keys, months)
            eval_cache.drop_pending(con, noted)
        _remember(con, memo_key, matrix)  # committed: the arrays are the blocks now stored
        month = Period(date(end.year, end.month, 1), end, f"{end.year}-{end.month:02d}至{end.isoformat()}")
        year = Period(date(end.year, 1, 1), end, f"{end.year}至{end.isoformat()}")
        tables = _to_date(matrix, (month, year), ent)
    finally:
        for view in ("_touched_stations", "_touched_keys"):
            try:
                con.unregister(view)
            except Exception:  # noqa: BLE001 - not registered: an earlier step failed
                pass
    return UpdateSummary(len(pairs), daily.num_rows, group_days, hourly, tables[0], tables[1], (month, year),
                         time.perf_counter() - t0, built)


#: per database file: the month-block arrays of the last update (its key, the blocks' generation, the arrays). The
#: platform's writer updates the same stations hour after hour, so the next update takes them from memory instead of
#: reading and scattering the year's blocks again (≈ 40 MB for 2,000 stations). Taken out while an update runs and
#: put back only after its transaction committed, so a failed update never leaves arrays the store does not hold.
_MEMO: dict[str, tuple[tuple, int, DailyMatrix]] = {}


def _recall(con, key: tuple) -> DailyMatrix | None:
    db = eval_cache.database(con)
    held = _MEMO.pop(db, None) if db is not None else None
    if held is None or held[0] != key or held[1] != eval_cache.generation(con):
        return None
    return held[2]


def _remember(con, key: tuple, matrix: DailyMatrix) -> None:
    db = eval_cache.database(con)
    if db is not None:
        _MEMO[db] = (key, eval_cache.generation(con), matrix)


def refresh(con: duckdb.DuckDBPyConnection, workers: int | None = None) -> list[UpdateSummary]:
    """Recompute the cached values of every station-day the store noted as written (:func:`update` without new
    hours, once per kind of data cached); nothing when nothing is noted. Run on the store's writer after each
    write, and by anything about to read the cache."""
    if not eval_cache.has_pending(con):
        return []
    eval_cache.drop_pending_uncovered(con)
    kinds = sorted({(data, dust) for _, _, data, dust, _ in eval_cache.covered(con)})
    return [update(con, [], data=data, exclude_dust=dust, workers=workers) for data, dust in kinds
            if eval_cache.has_pending(con)]


def to_date(con: duckdb.DuckDBPyConnection, end_day: int, data: str = "reviewed",
            exclude_dust: bool | None = None) -> tuple[Period, Period, pd.DataFrame, pd.DataFrame] | None:
    """Month and year to date ending on ``end_day`` of every station and group of the cache (the columns of
    ``evaluate_period(...).table``; levels station, city, district, town), read from the month blocks — or None
    when the cache of that year is not current (:func:`is_current`): the caller then evaluates in full."""
    end = day_date(end_day)
    if not is_current(con, end.year, data, exclude_dust):
        return None
    month = Period(date(end.year, end.month, 1), end, f"{end.year}-{end.month:02d}至{end.isoformat()}")
    year = Period(date(end.year, 1, 1), end, f"{end.year}至{end.isoformat()}")
    m0, m1 = month_number(year.first_day), month_number(end_day)
    tables = _to_date(DailyMatrix.from_blocks(eval_cache.month_blocks(con, m0, m1), m0, m1), (month, year),
                      entities(con))
    return month, year, tables[0], tables[1]


def _noted(con, data: str, exclude_dust: bool | None) -> pa.Table:
    """The noted station-days inside the years cached for this request's data."""
    rows = eval_cache.pending(con)
    if not rows.num_rows:
        return rows
    day = rows.column("day").to_numpy()
    keep = np.zeros(len(day), dtype=bool)
    for first, last, cdata, cdust, _ in eval_cache.covered(con):
        if (cdata, cdust) == _kind(day_date(first).year, data, exclude_dust):
            keep |= (day >= first) & (day <= last)
    return rows.filter(pa.array(keep))


def _register_keys(con, stations: list[str], groups: dict[str, list[str]]) -> list[str]:
    """Register ``_touched_keys``: the month-block keys of the touched stations and groups."""
    keys = [f"station:{s}" for s in stations] + [f"{lvl}:{n}" for lvl, names in groups.items() for n in names]
    con.register("_touched_keys", pa.table({"key": pa.array(keys, pa.string())}))
    return keys


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


def _to_date(matrix: DailyMatrix, periods: tuple[Period, Period], ent: pd.DataFrame) -> list[pd.DataFrame]:
    """HJ 663 statistics of the entities of ``matrix`` (month blocks: ``level:code`` keys) for each of
    ``periods`` (month and year to date, both ending on the same day), aggregated in numpy."""
    out = []
    for period in periods:
        ev = ruleset_segments(period.first_day, period.last_day, None)[-1][2]
        table = statistics_from_aggregates(*matrix.aggregates(period, ev), period, ev)
        split = pd.Series(matrix.codes[table["code"].to_numpy()], dtype=object).str.split(":", n=1, expand=True)
        level, code = (split[0].to_numpy(), split[1].to_numpy()) if len(table) else (np.array([]), np.array([]))
        table["code"] = code
        st = table[level == "station"].reset_index(drop=True)
        frames = [pd.concat([pd.DataFrame({"level": ["station"] * len(st)}), ent.merge(st, on="code", how="right")],
                            axis=1)]
        for lvl in GROUP_LEVELS:
            ct = table[level == lvl].reset_index(drop=True)
            if len(ct):
                ct.insert(0, "level", lvl)
                ct.insert(1, "name", ct["code"].to_numpy())
                frames.append(ct)
        out.append(pd.concat(frames, ignore_index=True))
    return out
