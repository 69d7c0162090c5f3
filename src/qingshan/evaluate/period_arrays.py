"""The HJ 663 period aggregates of :func:`qingshan.evaluate.air.period_aggregate_queries`, computed in numpy.

The SQL path (DuckDB, or Spark SQL on a lake) stays the reference; this path serves the incremental engine
(:mod:`.incremental`), which needs the month and year to date of every station and group after each new hour and
cannot afford six aggregate queries over the year's cached daily rows each time. The daily rows of the entities
are read once and scattered into an entity × day matrix per column; the month to date is a column slice of the
year's matrix. Each output frame has the columns, values and dtypes of its SQL counterpart, so
:func:`qingshan.evaluate.air.statistics_from_aggregates` turns either into the same statistics
(tests/test_period_arrays.py compares them cell for cell; tests/test_air_incremental.py end to end).

Exactness: counts, minima, maxima and exceedance counts are exact. Means are ``sum / count`` of the daily values
(GB/T 8170-rounded integers for the mean items: the sums are exact in float64). Percentiles follow HJ 663 附录A
(:func:`percentile_rows`); DuckDB interpolates with the same formula, but its build may contract it into a fused
multiply-add, so an unrounded percentile can differ in the last bit: after GB/T 8170 rounding (which treats values
within 1e-9 of a half as the half, :mod:`qingshan.standards.rounding`) the statistics are identical.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from ..standards.air_evaluation import ANNUAL_ITEMS
from ..standards.pollutants import PRIMARY_CODES, digits_of
from ..standards.rulesets import AirEvalRuleSet
from .parallel import cores, map_ordered
from .periods import Period, day_date

#: the daily columns the period statistics read (the ``_STAT_SOURCE`` of :mod:`.air`)
SOURCES = ("so2", "no2", "co", "pm10", "pm25", "o3_8h_max")
#: the columns of the daily rows :func:`DailyMatrix.from_rows` needs, besides the entity key and the day
COLUMNS = (*SOURCES, "aqi", "level", "primary_pollutants", "day_valid")
#: 10 ** reporting digits of each source (CO at one decimal): the cache's integer units
_SCALE = {c: 10.0 ** digits_of(c) for c in SOURCES}
_LIMIT_KEY = {"so2": "so2", "no2": "no2", "co": "co", "pm10": "pm10", "pm25": "pm25", "o3_8h_max": "o3"}


def percentile_rows(sorted_values: np.ndarray, counts: np.ndarray, p: float) -> np.ndarray:
    """HJ 663 附录A percentile of each row of ``sorted_values`` (ascending, NaN after the ``counts`` valid values):
    k = 1 + (n − 1)·p/100, s = ⌊k⌋, m_p = X(s) + (X(s+1) − X(s))·(k − s), written as DuckDB's ``quantile_cont``
    evaluates it (0-based r = (n − 1)·q, lo·(1 − d) + hi·d); NaN for rows without values.

    >>> percentile_rows(np.array([[10., 20., 30., 40., 50.], [1., 2., np.nan, np.nan, np.nan]]), np.array([5, 2]), 95)
    array([48. ,  1.95])
    """
    n = np.asarray(counts, dtype=np.int64)
    out = np.full(len(n), np.nan)
    has = n > 0
    if not has.any():
        return out
    q = p / 100  # the literal the SQL path writes: the same double
    rn = (n[has] - 1).astype(float) * q
    lo_i, hi_i = np.floor(rn).astype(np.int64), np.ceil(rn).astype(np.int64)
    rows = np.flatnonzero(has)
    lo, hi = sorted_values[rows, lo_i], sorted_values[rows, hi_i]
    d = rn - lo_i
    out[has] = np.where(lo_i == hi_i, lo, lo * (1.0 - d) + hi * d)
    return out


#: the day flags of each entity-day (bit positions): a row exists, valid, good (valid and AQI ≤ 100), valid at
#: level 1–6, valid with each of PRIMARY_CODES as a primary pollutant
_PRESENT, _VALID, _GOOD, _LEVEL0, _PRIMARY0 = 0, 1, 2, 2, 9
#: columns per month in the month-padded layout (days past a month's end stay empty: NaN values, no flags)
MONTH_COLUMNS = 31


def month_number(d: int) -> int:
    """Months since January 1970 of day index ``d`` (the month key of the layout and the cache)."""
    day = day_date(d)
    return (day.year - 1970) * 12 + day.month - 1


def _layout(days: np.ndarray, first_month: int) -> np.ndarray:
    """Column of each day index in the month-padded layout starting at ``first_month``."""
    dt = days.astype("datetime64[D]")
    months = dt.astype("datetime64[M]")
    return ((months.astype(np.int64) - first_month) * MONTH_COLUMNS
            + (dt - months.astype("datetime64[D]")).astype(np.int64))


@dataclass
class DailyMatrix:
    """Daily rows of entities (stations or groups) as entity × column arrays in a month-padded layout: month
    ``first_month + k`` fills columns ``31k … 31k + 30``, day of month ``d`` in column ``31k + d − 1``. Holds the
    six statistic sources and the day counts as bit flags. The same blocks are what the month cache stores
    (:mod:`qingshan.store.eval_cache`), so a year to date is read as ≤ 12 blocks per entity, not ≤ 365 rows."""

    codes: np.ndarray  # entity keys in sorted order (object); aggregates name entities by their index here
    first_month: int  # month_number of column 0
    flags: np.ndarray  # E × C uint16: bits _PRESENT, _VALID, _GOOD, _LEVEL0 + level, _PRIMARY0 + i
    values: dict[str, np.ndarray]  # SOURCES → E × C float (NaN: no value)

    @classmethod
    def from_rows(cls, rows: pa.Table, key: str, first_day: int, last_day: int) -> "DailyMatrix":
        """``rows``: daily rows with the entity in column ``key``, ``day`` and :data:`COLUMNS`; the matrix spans
        the months of ``first_day … last_day``, rows outside those days are ignored."""
        day = rows.column("day").to_numpy()
        keep = (day >= first_day) & (day <= last_day)
        if not keep.all():
            rows, day = rows.filter(pa.array(keep)), day[keep]
        codes, entity = _encode(rows.column(key))
        first_month = month_number(first_day)
        shape = (len(codes), (month_number(last_day) - first_month + 1) * MONTH_COLUMNS)
        cell = entity * shape[1] + _layout(day, first_month)
        values = {}
        for c in SOURCES:
            a = np.full(shape, np.nan)
            a.reshape(-1)[cell] = rows.column(c).to_numpy(zero_copy_only=False)  # nulls → NaN
            values[c] = a
        flags = np.zeros(shape, dtype=np.uint16)
        flags.reshape(-1)[cell] = _row_flags(rows)
        return cls(codes, first_month, flags, values)

    @classmethod
    def from_blocks(cls, blocks: pa.Table, first_month: int, last_month: int,
                    codes: list[str] | None = None) -> "DailyMatrix":
        """From month blocks (``key``, ``month``, ``flags`` and :data:`SOURCES` as 31-element arrays: the month
        cache's rows) of ``first_month … last_month``; ``codes``: the entities (a superset of the blocks' keys),
        default the blocks' keys."""
        if codes is None:
            codes, entity = _encode(blocks.column("key"))
        else:
            codes = np.array(sorted(codes), dtype=object)
            entity = np.searchsorted(codes, np.array(blocks.column("key").to_pylist(), dtype=object))
        n_months = last_month - first_month + 1
        month = blocks.column("month").to_numpy() - first_month
        shape = (len(codes), n_months, MONTH_COLUMNS)

        def dense(col: str, fill, dtype, scale: float = 1.0) -> np.ndarray:
            a = np.full(shape, fill, dtype=dtype)
            flat = blocks.column(col).combine_chunks().values.to_numpy(zero_copy_only=False)  # NULL → NaN
            a[entity, month] = (flat / scale if scale != 1.0 else flat).reshape(-1, MONTH_COLUMNS)
            return a.reshape(len(codes), -1)

        return cls(codes, first_month, dense("flags", 0, np.uint16),
                   {c: dense(c, np.nan, float, _SCALE[c]) for c in SOURCES})

    def set_days(self, keys: list[str], days: np.ndarray, rows: pa.Table, key: str, key_prefix: str = "") -> None:
        """Replace the cells of the entities ``keys`` (in :attr:`codes`) on ``days`` by the daily ``rows`` of those
        entity-days (entity in column ``key`` without ``key_prefix``; an entity-day without a row becomes empty)."""
        idx = np.searchsorted(self.codes, np.array(keys, dtype=object))
        cells = np.ix_(idx, _layout(np.asarray(days, dtype=np.int64), self.first_month))
        self.flags[cells] = 0
        for c in SOURCES:
            self.values[c][cells] = np.nan
        if not rows.num_rows:
            return
        entity = np.searchsorted(self.codes, np.array([key_prefix + str(k) for k in rows.column(key).to_pylist()],
                                                      dtype=object))
        col = _layout(rows.column("day").to_numpy(), self.first_month)
        for c in SOURCES:
            self.values[c][entity, col] = rows.column(c).to_numpy(zero_copy_only=False)
        self.flags[entity, col] = _row_flags(rows)

    def blocks(self, key_prefix: str = "", months: list[int] | None = None) -> pa.Table:
        """The month blocks with a daily row (the month cache's rows), of every month or of ``months``: ``key``
        (``key_prefix`` + entity), ``month``, ``flags`` and :data:`SOURCES` as fixed-size lists of 31."""
        n_months = self.flags.shape[1] // MONTH_COLUMNS
        flags = self.flags.reshape(len(self.codes), n_months, MONTH_COLUMNS)
        filled = flags.any(axis=2)
        if months is not None:
            wanted = np.zeros(n_months, dtype=bool)
            wanted[[m - self.first_month for m in months]] = True
            filled &= wanted
        ei, mi = np.nonzero(filled)
        cols = {"key": pa.array([key_prefix + str(c) for c in self.codes[ei]], pa.string()),
                "month": pa.array(self.first_month + mi, pa.int64()),
                "flags": pa.FixedSizeListArray.from_arrays(pa.array(flags[ei, mi].reshape(-1)), MONTH_COLUMNS)}
        for c in SOURCES:
            v = self.values[c].reshape(len(self.codes), n_months, MONTH_COLUMNS)[ei, mi].reshape(-1)
            cols[c] = pa.FixedSizeListArray.from_arrays(_encode_values(v, c), MONTH_COLUMNS)
        return pa.table(cols)

    def aggregates(self, period: Period, ev: AirEvalRuleSet) -> tuple[pd.DataFrame, pd.DataFrame, pd.DataFrame]:
        """``agg``, ``monthly`` and ``exceed`` of ``period`` (inside the matrix's months), as the SQL of
        :func:`qingshan.evaluate.air.period_aggregate_queries` gives them — one row per entity with a daily row
        in the period — except that ``code`` is the entity's index in :attr:`codes` (integer keys keep the
        grouping in :func:`~qingshan.evaluate.air.month_validity` cheap; map them back afterwards)."""
        a, b = _layout(np.array([period.first_day, period.last_day]), self.first_month)
        b += 1
        if month_number(period.first_day) < self.first_month or b > self.flags.shape[1]:
            raise ValueError("period outside the daily matrix")
        flags = self.flags[:, a:b]
        rows = np.flatnonzero((flags & (1 << _PRESENT)).any(axis=1))
        every = len(rows) == len(self.codes)  # the usual case: slices are views, no row is copied

        def take(x: np.ndarray) -> np.ndarray:
            return x[:, a:b] if every else x[rows, a:b]

        flags = take(self.flags)
        counts = np.stack([np.count_nonzero(flags & np.uint16(1 << bit), axis=1) for bit in range(16)], axis=1)
        agg: dict[str, object] = {"code": rows, "days_with_data": counts[:, _PRESENT],
                                  "valid_days": counts[:, _VALID], "good_days": counts[:, _GOOD]}
        for lvl in range(1, 7):
            agg[f"days_level{lvl}"] = counts[:, _LEVEL0 + lvl]
        for i, c in enumerate(PRIMARY_CODES):
            agg[f"primary_days_{c}"] = counts[:, _PRIMARY0 + i]
        months = []  # (year, month, first column, end column) relative to a
        for k in range(int(a) // MONTH_COLUMNS, (int(b) - 1) // MONTH_COLUMNS + 1):
            y, m = divmod(self.first_month + k + 1970 * 12, 12)
            months.append((y, m + 1, max(a, k * MONTH_COLUMNS) - a, min(b, (k + 1) * MONTH_COLUMNS) - a))
        month_rows = np.stack([(flags[:, m0:m1] & (1 << _PRESENT)).any(axis=1) for _, _, m0, m1 in months], axis=1)
        exceed: dict[str, object] = {"code": rows}
        month_counts = {}
        percentiles = {item.key: item for item in ANNUAL_ITEMS if item.percentile is not None}
        def source(c: str) -> dict[str, np.ndarray]:  # one statistic source; numpy releases the GIL
            v = take(self.values[c])
            ok = ~np.isnan(v)
            n = ok.sum(axis=1)
            s = np.sort(v, axis=1)  # NaN last
            out = {f"n_{c}": n}
            with np.errstate(invalid="ignore", divide="ignore"):
                out[f"{c}_mean_raw"] = np.where(n > 0, np.where(ok, v, 0.0).sum(axis=1) / np.maximum(n, 1), np.nan)
            out[f"{c}_min"] = np.where(n > 0, s[:, 0], np.nan)
            out[f"{c}_max"] = np.where(n > 0, s[np.arange(len(rows)), np.maximum(n - 1, 0)], np.nan)
            for key, item in percentiles.items():
                if item.source == c:
                    out[f"{key}_raw"] = percentile_rows(s, n, item.percentile)
            lim = ev.limits.limit(_LIMIT_KEY[c], "8h" if c == "o3_8h_max" else "24h")
            out["exceed"] = (v > lim).sum(axis=1)  # NaN compares False
            out["months"] = np.stack([ok[:, m0:m1].sum(axis=1) for _, _, m0, m1 in months], axis=1)
            return out

        big = len(rows) * (b - a) > 100_000  # threads pay off on a year of many entities, not on a month
        for c, out in zip(SOURCES, map_ordered(source, SOURCES, min(2, cores()) if big else 1)):
            exceed[f"exceed_{_LIMIT_KEY[c]}"] = out.pop("exceed")
            month_counts[c] = out.pop("months")
            agg.update(out)
        # monthly: one row per entity-month with a daily row in it (GROUP BY station, year, month)
        ei, mi = np.nonzero(month_rows)
        ym = np.array([(y, m) for y, m, _, _ in months], dtype=np.int64).reshape(-1, 2)
        monthly = {"code": rows[ei], "y": ym[mi, 0], "m": ym[mi, 1]}
        monthly.update({f"n_{c}": month_counts[c][ei, mi] for c in SOURCES})
        return pd.DataFrame(agg), pd.DataFrame(monthly), pd.DataFrame(exceed)


def _encode_values(v: np.ndarray, source: str) -> pa.Array:
    """Daily values as integers in units of their reporting precision (NULL: none): the cache stores them so
    (4 bytes, not 8; a new hour rewrites a quarter of the bytes it would as doubles). Exact: a cached daily value
    is GB/T 8170-rounded, ``k / 10**digits``, and ``k / 10**digits`` is what reading gives back."""
    scale = _SCALE[source]
    missing = np.isnan(v)
    k = np.rint(np.where(missing, 0.0, v) * scale)
    if not np.array_equal(np.where(missing, 0.0, k / scale if scale != 1.0 else k), np.where(missing, 0.0, v)) \
            or np.abs(k).max(initial=0) >= 2**31:
        raise ValueError(f"daily {source} values not at reporting precision: not cached")
    return pa.array(k.astype(np.int32), mask=missing)


def _encode(keys: pa.ChunkedArray | pa.Array) -> tuple[np.ndarray, np.ndarray]:
    """Sorted distinct keys (object array) and each row's index into them."""
    enc = pc.dictionary_encode(keys)
    if isinstance(enc, pa.ChunkedArray):
        enc = enc.combine_chunks() if enc.num_chunks else pa.array([], pa.dictionary(pa.int32(), pa.string()))
    dictionary = enc.dictionary.to_numpy(zero_copy_only=False).astype(object)
    order = np.argsort(dictionary.astype(str), kind="stable")
    rank = np.empty(len(order), dtype=np.int64)
    rank[order] = np.arange(len(order))
    return dictionary[order], rank[enc.indices.to_numpy(zero_copy_only=False)] if len(enc) else np.zeros(0, np.int64)


def _row_flags(rows: pa.Table) -> np.ndarray:
    """The day flags of each daily row (the bits of :class:`DailyMatrix`)."""
    valid = pc.fill_null(rows.column("day_valid"), False).to_numpy(zero_copy_only=False)
    good = valid & pc.fill_null(pc.less_equal(rows.column("aqi"), 100), False).to_numpy(zero_copy_only=False)
    level = pc.fill_null(rows.column("level"), 0).to_numpy(zero_copy_only=False).astype(np.int64)
    bits = 1 << _PRESENT | valid.astype(np.int64) << _VALID | good.astype(np.int64) << _GOOD
    bits |= np.where(valid & (level >= 1) & (level <= 6), 1 << (_LEVEL0 + np.clip(level, 1, 6)), 0)
    prim = pc.dictionary_encode(rows.column("primary_pollutants"))
    if isinstance(prim, pa.ChunkedArray):
        prim = prim.combine_chunks() if prim.num_chunks else pa.array([], pa.dictionary(pa.int32(), pa.string()))
    tokens = [set((t or "").split(",")) for t in prim.dictionary.to_pylist()]
    pbits = np.array([sum(1 << (_PRIMARY0 + i) for i, c in enumerate(PRIMARY_CODES) if c in t) for t in tokens]
                     + [0], dtype=np.int64)
    bits |= np.where(valid, pbits[prim.indices.fill_null(-1).to_numpy(zero_copy_only=False)], 0)
    return bits.astype(np.uint16)
