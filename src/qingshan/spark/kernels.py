"""Executor side of the Spark engine: Arrow partitions in, the embedded engine's numpy kernels, Arrow out.

Nothing here restates a rule. Each function gathers one Spark partition (all hours of the stations hashed to it,
or all daily rows of the groups hashed to it) into the same dense arrays the embedded engine builds, and calls the
same functions: :func:`qingshan.evaluate.grid.moving_means`/``hourly_table`` (hourly AQI and moving means),
:func:`qingshan.evaluate.air.station_daily` (daily values, MDA8, daily AQI) and
:func:`qingshan.evaluate.air.group_daily` (city/district/town daily values and AQI). Rule sets travel by name and
are looked up in :mod:`qingshan.standards.rulesets` on the executor.

The functions are module-level so that Spark pickles them by reference: executors import ``qingshan`` from their
own Python environment (the same package version as the driver; docs/scale-out.md).
"""

from __future__ import annotations

from typing import Iterable, Iterator

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from ..evaluate.air import aqi_segments, group_daily, ruleset_segments, station_daily
from ..evaluate.grid import DAILY_COLUMNS, HourGrid, hourly_table, moving_means, scatter
from ..standards.pollutants import SIX
from ..standards.rulesets import get_aqi_ruleset, get_eval_ruleset

HOURLY_INPUT = ("station", "hi", *SIX)


def segments(first_day: int, last_day: int, ev_name: str | None):
    return ruleset_segments(first_day, last_day, get_eval_ruleset(ev_name) if ev_name else None)


def grid_of(table: pa.Table, first_day: int, last_day: int) -> HourGrid:
    """The embedded engine's station × hour grid (:func:`qingshan.evaluate.grid.load_grid`) of the rows of one
    partition: hours ``first_day − 1 … last_day``, stations sorted by code."""
    station = table.column("station").combine_chunks()
    codes = pc.unique(station).sort()
    idx = pc.index_in(station, value_set=codes).to_numpy()
    first_hi = (first_day - 1) * 24 + 1
    width = (last_day - first_day + 2) * 24
    flat = idx.astype(np.int64) * width + (table.column("hi").to_numpy().astype(np.int64) - first_hi)
    return scatter(np.array(codes.to_pylist(), dtype=object), first_day, last_day, flat,
                    ((p, table.column(p).to_numpy()) for p in SIX))  # nulls arrive as NaN


def conform(table: pa.Table, schema: pa.Schema) -> pa.Table:
    """``table`` in the column order and types Spark was promised (dictionaries decoded, absent columns null)."""
    cols = []
    for f in schema:
        if f.name in table.column_names:
            c = table.column(f.name)
            if pa.types.is_dictionary(c.type):
                c = c.cast(c.type.value_type)
            cols.append(c.cast(f.type))
        else:
            cols.append(pa.nulls(table.num_rows, f.type))
    return pa.table(cols, schema=schema)


def _gather(batches: Iterable[pa.RecordBatch]) -> pa.Table | None:
    batches = [b for b in batches if b.num_rows]
    return pa.Table.from_batches(batches) if batches else None


def _emit(table: pa.Table, schema: pa.Schema) -> Iterator[pa.RecordBatch]:
    yield from conform(table, schema).to_batches(max_chunksize=65_536)


# --- station work ---------------------------------------------------------------------------------------------


def station_daily_partition(batches: Iterable[pa.RecordBatch], first_day: int, last_day: int, ev_name: str | None,
                            schema: pa.Schema) -> Iterator[pa.RecordBatch]:
    """Daily rows (daily values, counts, daily AQI, validity) of every station-day of the partition."""
    table = _gather(batches)
    if table is None:
        return
    grid = grid_of(table, first_day, last_day)
    del table
    daily, _ = station_daily(grid, segments(first_day, last_day, ev_name))
    yield from _emit(daily, schema)


def station_hourly_partition(batches: Iterable[pa.RecordBatch], first_day: int, last_day: int, aqi_name: str | None,
                             schema: pa.Schema) -> Iterator[pa.RecordBatch]:
    """Hourly AQI, IAQIs, primary pollutants and rounded moving means of every stored station-hour of the
    evaluated days (:func:`qingshan.evaluate.air.evaluate_hourly` rows)."""
    table = _gather(batches)
    if table is None:
        return
    grid = grid_of(table, first_day, last_day)
    del table
    segs = segments(first_day, last_day, None)
    aqi_segs = aqi_segments(first_day, last_day, get_aqi_ruleset(aqi_name) if aqi_name else None)
    for part in grid.blocks():
        yield from _emit(hourly_table(part, moving_means(part, segs[0][2].validity), aqi_segs), schema)


# --- group work -----------------------------------------------------------------------------------------------


def group_daily_partition(batches: Iterable[pa.RecordBatch], first_day: int, last_day: int, ev_name: str | None,
                          schema: pa.Schema) -> Iterator[pa.RecordBatch]:
    """Daily rows of the groups (cities, districts or towns) of the partition from their members' daily rows.

    Input rows: ``grp, n_members, station, day`` and the daily columns of the member's day."""
    table = _gather(batches)
    if table is None:
        return
    segs = segments(first_day, last_day, ev_name)
    grp = table.column("grp").combine_chunks()
    names = pc.unique(grp).sort()
    gi = pc.index_in(grp, value_set=names).to_numpy()
    st = table.column("station").combine_chunks()
    codes = pc.unique(st).sort()
    si = pc.index_in(st, value_set=codes).to_numpy()
    n_days = last_day - first_day + 1
    di = table.column("day").to_numpy().astype(np.int64) - first_day
    dv = {}
    for c in DAILY_COLUMNS:
        a = np.full((len(codes), n_days), np.nan)
        a[si, di] = table.column(c).to_numpy()
        dv[c] = a
    m = np.zeros((len(names), len(codes)))
    m[gi, si] = 1.0
    n_members = np.zeros(len(names))
    n_members[gi] = table.column("n_members").to_numpy()
    names_np = np.array(names.to_pylist(), dtype=object)
    daily = group_daily(names_np, m, n_members, dv, first_day, segs, segs[-1][2].city_min_station_fraction)
    if daily.num_rows:
        yield from _emit(daily, schema)


# --- output schemas, taken from the kernels themselves --------------------------------------------------------


def _probe_grid(first_day: int, last_day: int, ev_name: str | None) -> HourGrid:
    """One station with one full day of data at the start of each rule-set segment of the period."""
    segs = segments(first_day, last_day, ev_name)
    flat = np.concatenate([np.arange(24) + (a - first_day + 1) * 24 for a, _, _ in segs])
    return scatter(np.array(["probe"], dtype=object), first_day, last_day, flat,
                    ((p, np.full(len(flat), 10.0)) for p in SIX))


def daily_schema(first_day: int, last_day: int, ev_name: str | None) -> pa.Schema:
    daily, _ = station_daily(_probe_grid(first_day, last_day, ev_name), segments(first_day, last_day, ev_name))
    return daily.schema


def group_schema(first_day: int, last_day: int, ev_name: str | None) -> pa.Schema:
    segs = segments(first_day, last_day, ev_name)
    _, dv = station_daily(_probe_grid(first_day, last_day, ev_name), segs)
    daily = group_daily(np.array(["probe"], dtype=object), np.ones((1, 1)), np.ones(1), dv, first_day, segs, 0.5)
    return daily.schema


def hourly_schema(first_day: int, last_day: int, aqi_name: str | None) -> pa.Schema:
    grid = _probe_grid(first_day, last_day, None)
    segs = segments(first_day, last_day, None)
    aqi_segs = aqi_segments(first_day, last_day, get_aqi_ruleset(aqi_name) if aqi_name else None)
    table = hourly_table(grid, moving_means(grid, segs[0][2].validity), aqi_segs)
    return pa.schema([pa.field(f.name, f.type.value_type if pa.types.is_dictionary(f.type) else f.type)
                      for f in table.schema])
