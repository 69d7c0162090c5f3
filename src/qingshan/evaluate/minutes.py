"""Minute → hour aggregation of sensor data (GB 3095 表4 1-hour rule), vectorised numpy.

Input: an Arrow table or a pandas DataFrame with

* ``device`` (or another column named by ``device=``): the device or station code;
* ``ts``: the minute, labelled by the **end** of the minute in Beijing time (naive = Beijing time; a time-zone
  aware timestamp is converted, Beijing being UTC+8 all year), whole minutes only;
* pollutant columns in store units (any of :data:`~qingshan.standards.air_validity.MINUTE_POLLUTANTS`);
* optionally ``<pollutant>_flag`` (HJ 212 data flag; a missing flag counts as N) and ``seq`` (arrival order).

Output (:func:`aggregate_minutes`): one row per device-hour that has at least one minute row, sorted by device
and hour — ``device, hi, ts`` (``hi`` = hours since 1970-01-01 00:00 Beijing time labelling the end of the hour,
``ts`` its naive Beijing timestamp), then per pollutant its mean (NaN when fewer valid minutes than the rule
asks) and ``<pollutant>_minutes`` (valid minutes), and ``rule`` (the minute rule set's name).

A minute is valid for a pollutant when its value is finite and its flag is in the rule's valid flags. When the
same device-minute appears more than once, the **last** row wins as a whole (a re-sent or corrected packet
replaces the earlier one): last = the highest ``seq`` when given, else the later row of the input. Rows are
sorted (device, minute, seq) before any sum, so the result does not depend on the input order and the Spark
engine (:mod:`qingshan.spark.minutes`), which runs this very function per partition, gets the same floats.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from ..errors import QingshanError
from ..standards.air_validity import MINUTE_POLLUTANTS, MinuteRule, get_minute_rule, hour_of_minute, hourly_mean_valid

BEIJING_OFFSET_MIN = 8 * 60
_UNIT_PER_MINUTE = {"s": 60, "ms": 60_000, "us": 60_000_000, "ns": 60_000_000_000}


class MinuteDataError(QingshanError, ValueError):
    """Minute data that cannot be aggregated (missing column, bad timestamp …); nothing is aggregated."""


def pollutants_of(columns: list[str]) -> list[str]:
    """The pollutant columns present, in :data:`MINUTE_POLLUTANTS` order."""
    return [p for p in MINUTE_POLLUTANTS if p in columns]


def checked_columns(columns: list[str], device: str = "device") -> list[str]:
    """The pollutant columns of minute data with these ``columns``; :class:`MinuteDataError` when the device or
    timestamp column is missing or no pollutant column is there (both engines check the same way)."""
    for c in (device, "ts"):
        if c not in columns:
            raise MinuteDataError(f"分钟数据缺少列 {c}")
    pols = pollutants_of(columns)
    if not pols:
        raise MinuteDataError(f"分钟数据没有污染物列（可用：{'、'.join(MINUTE_POLLUTANTS)}）")
    return pols


def output_schema(pollutants: list[str], device: str = "device") -> pa.Schema:
    fields = [pa.field(device, pa.string()), pa.field("hi", pa.int64()), pa.field("ts", pa.timestamp("us"))]
    for p in pollutants:
        fields += [pa.field(p, pa.float64()), pa.field(f"{p}_minutes", pa.int32())]
    return pa.schema(fields + [pa.field("rule", pa.string())])


def _as_table(data: pa.Table | pd.DataFrame) -> pa.Table:
    if isinstance(data, pa.Table):
        return data
    if isinstance(data, pd.DataFrame):
        return pa.Table.from_pandas(data, preserve_index=False)
    raise MinuteDataError(f"分钟数据应为 Arrow 表或 DataFrame，收到 {type(data).__name__}")


def minute_index(ts: pa.ChunkedArray | pa.Array) -> np.ndarray:
    """Minutes since 1970-01-01 00:00 Beijing time of a timestamp column (whole minutes only)."""
    if not pa.types.is_timestamp(ts.type):
        raise MinuteDataError(f"时间列应为时间戳类型，实际为 {ts.type}")
    if ts.null_count:
        raise MinuteDataError(f"时间列有 {ts.null_count} 个空值")
    raw = pc.cast(ts, pa.int64()).to_numpy()
    per_min = _UNIT_PER_MINUTE[ts.type.unit]
    off = raw % per_min
    if off.any():
        bad = int(np.flatnonzero(off)[0])
        raise MinuteDataError(f"第 {bad + 1} 行的时间不是整分钟：{ts[bad]}")
    mi = raw // per_min
    return mi + BEIJING_OFFSET_MIN if ts.type.tz is not None else mi


def _flag_ok(table: pa.Table, p: str, rule: MinuteRule) -> np.ndarray:
    name = f"{p}_flag"
    if name not in table.column_names:
        return np.ones(table.num_rows, dtype=bool)
    flags = pc.fill_null(pc.cast(table.column(name), pa.string()), "N")
    return pc.is_in(flags, value_set=pa.array(sorted(rule.valid_flags))).to_numpy(zero_copy_only=False)


def _values(table: pa.Table, p: str) -> np.ndarray:
    col = table.column(p)
    t = col.type
    if not (pa.types.is_floating(t) or pa.types.is_integer(t) or pa.types.is_decimal(t) or pa.types.is_null(t)):
        raise MinuteDataError(f"{p} 列应为数值，实际为 {col.type}")
    return pc.cast(col, pa.float64()).to_numpy(zero_copy_only=False)  # nulls → NaN


def _sequence(table: pa.Table) -> np.ndarray:
    """Arrival order: the ``seq`` column, else the row position."""
    if "seq" not in table.column_names:
        return np.arange(table.num_rows, dtype=np.int64)
    seq = table.column("seq")
    if seq.null_count:
        raise MinuteDataError(f"seq 列有 {seq.null_count} 个空值")
    if not pa.types.is_integer(seq.type):
        raise MinuteDataError(f"seq 列应为整数，实际为 {seq.type}")
    return pc.cast(seq, pa.int64()).to_numpy()


def aggregate_minutes(data: pa.Table | pd.DataFrame, rule: str | MinuteRule | None = None,
                      device: str = "device") -> pa.Table:
    """Hourly means of minute data under a minute rule set (default ``gb3095-45min``); see the module doc."""
    rule = get_minute_rule(rule)
    table = _as_table(data)
    pols = checked_columns(table.column_names, device)
    schema = output_schema(pols, device)
    if table.num_rows == 0:
        return schema.empty_table()
    dev_col = pc.cast(table.column(device).combine_chunks(), pa.string())
    if dev_col.null_count:
        raise MinuteDataError(f"{device} 列有 {dev_col.null_count} 个空值")
    codes = pc.unique(dev_col).sort()
    dev = pc.index_in(dev_col, value_set=codes).to_numpy().astype(np.int64)
    mi = minute_index(table.column("ts"))
    seq = _sequence(table)
    # sorted by device, minute, arrival; the last row of each device-minute wins
    order = np.lexsort((seq, mi, dev))
    dev, mi = dev[order], mi[order]
    last = np.ones(len(order), dtype=bool)
    last[:-1] = (dev[1:] != dev[:-1]) | (mi[1:] != mi[:-1])
    order, dev, mi = order[last], dev[last], mi[last]
    hi = hour_of_minute(mi)
    start = np.ones(len(order), dtype=bool)
    start[1:] = (dev[1:] != dev[:-1]) | (hi[1:] != hi[:-1])
    group = np.cumsum(start) - 1
    n_groups = int(group[-1]) + 1
    first = np.flatnonzero(start)
    hours = hi[first]
    cols: dict[str, pa.Array] = {
        device: codes.take(pa.array(dev[first])),
        "hi": pa.array(hours, pa.int64()),
        "ts": pa.array(hours * 3_600_000_000, pa.int64()).cast(pa.timestamp("us")),
    }
    for p in pols:
        v = _values(table, p)[order]
        ok = np.isfinite(v) & _flag_ok(table, p, rule)[order]
        n = np.bincount(group, weights=ok, minlength=n_groups).astype(np.int32)
        total = np.bincount(group, weights=np.where(ok, v, 0.0), minlength=n_groups)
        with np.errstate(invalid="ignore", divide="ignore"):
            mean = np.where(hourly_mean_valid(n, p, rule), total / np.maximum(n, 1), np.nan)
        cols[p] = pa.array(mean, pa.float64())
        cols[f"{p}_minutes"] = pa.array(n, pa.int32())
    cols["rule"] = pa.array([rule.name] * n_groups, pa.string())
    return pa.table(cols, schema=schema)
