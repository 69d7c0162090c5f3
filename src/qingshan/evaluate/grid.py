"""The hot path of the air engine on a dense station × hour grid (numpy, no per-value Python).

Hourly data are scattered into one ``S × H`` array per pollutant whose column 0 is hour 1 of the day *before* the
first evaluated day (a full day of look-back for the moving means), so ``column = 24·k + h − 1`` for hour label
``h`` (1…24) of day ``k`` and a day is a contiguous block of 24 columns. On that grid:

* moving means are differences of cumulative sums (exact integer sums when the data are at reporting precision);
* daily statistics are reductions over ``(S, D, 24)`` views;
* AQIs come from :func:`qingshan.standards.air_aqi.aqi_arrays`.

The SQL that loads the grid (:func:`load_grid`) stays here, beside the kernels, rather than in
:mod:`qingshan.store.read`: the Spark engine runs the same statements on a lake with the same table names.
"""

from __future__ import annotations

from dataclasses import dataclass

import duckdb
import numpy as np
import pyarrow as pa

from ..standards.air_aqi import PRIMARY_TEXT, AqiRuleSet, aqi_arrays, primary_text
from ..standards.air_validity import Validity
from ..standards.pollutants import SIX, digits_of
from ..standards.rounding import round_gbt8170_array
from ..standards.rulesets import AirEvalRuleSet

MOVING_24H = ("so2", "no2", "co", "pm10", "pm25")
DAILY_MEAN = ("so2", "no2", "co", "pm10", "pm25")
#: Daily columns, in the order of HJ 633 daily indicators' sources.
DAILY_COLUMNS = ("so2", "no2", "co", "o3_1h_max", "o3_8h_max", "pm10", "pm25")


@dataclass
class HourGrid:
    stations: np.ndarray  # station codes, one per grid row
    first_day: int  # first evaluated day; grid column 0 is hour 1 of first_day − 1
    n_days: int  # evaluated days
    values: dict[str, np.ndarray]  # pollutant → S × H float (NaN = missing)
    present: np.ndarray  # S × H bool: a stored row exists (even if all its values are missing)

    @property
    def first_hi(self) -> int:
        return (self.first_day - 1) * 24 + 1

    @property
    def shape(self) -> tuple[int, int]:
        return len(self.stations), (self.n_days + 1) * 24

    def blocks(self, size: int = 200):
        """Float64 grids of at most ``size`` stations each (views of a float64 grid, copies of a compact one): engines
        work block by block to bound their memory."""
        for i in range(0, len(self.stations), size):
            yield self.rows(slice(i, i + size))

    def rows(self, which: slice) -> HourGrid:
        """The grid of some stations, its values as float64 (a view when they are float64 already)."""
        return HourGrid(self.stations[which], self.first_day, self.n_days,
                        {p: np.asarray(v[which], dtype=np.float64) for p, v in self.values.items()},
                        self.present[which])


def load_grid(con: duckdb.DuckDBPyConnection, source: str, first_day: int, last_day: int, where: str = "",
              compact: bool = False) -> HourGrid:
    """Scatter ``source`` (``station, hi`` + six pollutants) for ``first_day − 1 … last_day`` into a grid.

    The rows stream from DuckDB in Arrow record batches and each batch is scattered as it arrives (one scatter, no
    concatenated copy of the rows). With ``compact`` a pollutant's grid is float32 as long as every value read is
    exactly a float32 (integers at reporting precision are; a value such as CO 1.3 is not and turns that
    pollutant's grid float64): half the memory, the same values. :meth:`HourGrid.blocks` hands the kernels float64
    blocks either way."""
    first_hi, last_hi = (first_day - 1) * 24 + 1, (last_day + 1) * 24
    cond = f"hi BETWEEN {first_hi} AND {last_hi}" + (f" AND ({where})" if where else "")
    stations = np.array(
        [r[0] for r in con.execute(f"SELECT DISTINCT station FROM {source} WHERE {cond} ORDER BY 1").fetchall()],
        dtype=object,
    )
    shape = (len(stations), (last_day - first_day + 2) * 24)
    grid = empty_grid(stations, first_day, last_day, np.float32 if compact else np.float64)
    if not len(stations):
        return grid
    con.register("_grid_idx", pa.table({"station": pa.array(stations.astype(str)),
                                        "idx": pa.array(np.arange(len(stations), dtype=np.int32))}))
    try:
        reader = con.sql(
            f"""SELECT CAST(d.idx AS BIGINT) * {shape[1]} + (s.hi - {first_hi}) AS flat, {', '.join('s.' + p for p in SIX)}
                FROM (SELECT * FROM {source} WHERE {cond}) s JOIN _grid_idx d ON d.station = s.station"""
        ).to_arrow_reader(1 << 20)
        for batch in reader:
            scatter_into(grid, batch.column(0).to_numpy(), ((p, batch.column(i + 1)) for i, p in enumerate(SIX)))
    finally:
        con.unregister("_grid_idx")
    return grid


def empty_grid(stations: np.ndarray, first_day: int, last_day: int, dtype=np.float64) -> HourGrid:
    """A grid of ``stations`` for ``first_day − 1 … last_day`` with every value missing."""
    shape = (len(stations), (last_day - first_day + 2) * 24)
    return HourGrid(stations, first_day, last_day - first_day + 1, {p: np.full(shape, np.nan, dtype) for p in SIX},
                    np.zeros(shape, dtype=bool))


def scatter_into(grid: HourGrid, flat: np.ndarray, columns) -> None:
    """Place row values (Arrow or numpy columns, nulls = missing) at their flat grid positions; a float32 grid
    becomes float64 before it would receive a value float32 cannot hold exactly."""
    grid.present.ravel()[flat] = True
    for p, column in columns:
        values = column.to_numpy(zero_copy_only=False) if isinstance(column, pa.Array | pa.ChunkedArray) else column
        g = grid.values[p]
        if g.dtype == np.float32 and values.dtype != np.float32:
            narrow = values.astype(np.float32)
            differ = narrow != values  # NaN (missing) differs from itself: only those may differ
            if differ.any() and not np.isnan(values[differ]).all():
                g = grid.values[p] = g.astype(np.float64)
            else:
                values = narrow
        g.ravel()[flat] = values


def grid_from_rows(station_idx: np.ndarray, hi: np.ndarray, values: dict[str, np.ndarray], n_stations: int) -> HourGrid:
    """Grid from row arrays (used for users' tables); later duplicates of a station-hour overwrite earlier ones."""
    first_day = int((hi.min() - 1) // 24)
    last_day = int((hi.max() - 1) // 24)
    width = (last_day - first_day + 2) * 24
    flat = station_idx.astype(np.int64) * width + (hi - ((first_day - 1) * 24 + 1)).astype(np.int64)
    return scatter(np.arange(n_stations), first_day, last_day, flat, ((p, values[p]) for p in SIX))


def scatter(stations: np.ndarray, first_day: int, last_day: int, flat: np.ndarray, columns) -> HourGrid:
    """Place row values at their flat grid positions (``station × width + hour offset``)."""
    grid = empty_grid(stations, first_day, last_day)
    scatter_into(grid, flat, columns)
    return grid


# --- moving means ---------------------------------------------------------------------------------------------


def moving_mean(a: np.ndarray, window: int, min_count: int, digits: int) -> np.ndarray:
    """Trailing ``window``-hour mean along axis 1 with at least ``min_count`` valid hours (GB 3095 表4), unrounded.

    Sums are exact integers in units of the reporting precision when every value is at that precision (the normal
    case), so a mean that is exactly a half stays a half for GB/T 8170 rounding."""
    ok = ~np.isnan(a)
    scale = 10.0**digits
    scaled = np.where(ok, a, 0.0) * scale
    exact = np.rint(scaled)
    if np.array_equal(exact, scaled) or np.abs(exact - scaled).max() < 1e-6:
        cs = np.cumsum(exact.astype(np.int64), axis=1)
    else:
        cs = np.cumsum(scaled, axis=1)
    cn = np.cumsum(ok, axis=1, dtype=np.int32)
    s = cs.astype(float)
    n = cn.copy()
    s[:, window:] -= cs[:, :-window]
    n[:, window:] -= cn[:, :-window]
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(n >= min_count, s / np.maximum(n, 1) / scale, np.nan)


def moving_means(grid: HourGrid, validity: Validity) -> dict[str, np.ndarray]:
    """``<p>_24h`` for SO2, NO2, CO, PM10, PM2.5 and ``o3_8h`` (unrounded)."""
    out = {f"{p}_24h": moving_mean(grid.values[p], 24, validity.daily_min_hours, digits_of(p)) for p in MOVING_24H}
    out["o3_8h"] = moving_mean(grid.values["o3"], 8, validity.o3_8h_min_hours, digits_of("o3"))
    return out


# --- hourly ---------------------------------------------------------------------------------------------------


def hourly_table(grid: HourGrid, mv: dict[str, np.ndarray], segments: list[tuple[int, int, AqiRuleSet]]) -> pa.Table:
    """Hourly values, rounded moving means and AQI for every stored station-hour of the evaluated days.

    ``segments`` are ``(first_day, last_day, AQI rule set)`` pieces covering the evaluated days."""
    _, width = grid.shape
    parts = []
    for a, b, rs in segments:
        c0, c1 = (a - grid.first_day + 1) * 24, (b - grid.first_day + 2) * 24
        rows, cols = np.nonzero(grid.present[:, c0:c1])
        flat = rows * width + cols + c0

        def take(arr: np.ndarray) -> np.ndarray:
            return np.take(arr.ravel(), flat)

        vals = {p: take(grid.values[p]) for p in SIX}
        moving = {k: take(v) for k, v in mv.items()}
        res = aqi_arrays({**vals, **moving}, rs, "hourly")
        level = res.pop("level")
        cols_out = {
            "station": pa.DictionaryArray.from_arrays(pa.array(rows.astype(np.int32)), pa.array(grid.stations.astype(str))),
            "hi": pa.array((grid.first_hi + cols + c0).astype(np.int64)),
            **{p: pa.array(v, from_pandas=True) for p, v in vals.items()},
            **{k: pa.array(round_gbt8170_array(v, digits_of(k)), from_pandas=True) for k, v in moving.items()},
            **{k: _int_column(v) for k, v in res.items() if k.startswith("iaqi_") or k == "aqi"},
            "level": pa.array(level, pa.int8(), mask=level == 0),
            "primary_pollutants": pa.DictionaryArray.from_arrays(pa.array(res["primary_mask"]), pa.array(PRIMARY_TEXT, pa.string())),
            "aqi_ruleset": pa.DictionaryArray.from_arrays(pa.array(np.zeros(len(rows), np.int8)), pa.array([rs.name])),
        }
        parts.append(pa.table(cols_out))
    return pa.concat_tables(parts) if parts else pa.table({})


def _int_column(v: np.ndarray) -> pa.Array:
    missing = np.isnan(v)
    return pa.array(np.where(missing, 0, v).astype(np.int16), pa.int16(), mask=missing)


# --- daily ----------------------------------------------------------------------------------------------------


def _days(a: np.ndarray, n_days: int) -> np.ndarray:
    """(S, D, 24) view of the evaluated days (the look-back day dropped)."""
    return a[:, 24 : 24 * (n_days + 1)].reshape(a.shape[0], n_days, 24)


def daily_values(grid: HourGrid, o3_8h: np.ndarray, segments: list[tuple[int, int, AirEvalRuleSet]]) -> dict[str, np.ndarray]:
    """Daily statistics per station-day (arrays of shape S × D), HJ 663 / GB 3095 表4 validity applied.

    * SO2, NO2, CO, PM10, PM2.5: mean of ≥ 20 valid hours, GB/T 8170-rounded.
    * O3 max 1-h (2012 daily report): valid with ≥ 20 hours, or when above the 1-h limit (our documented
      extension of the MDA8 exception).
    * O3 daily max 8-h: max of the 17 windows ending 08:00…24:00, valid with ≥ 14 of them, or when above the 8-h
      limit (HJ 663 §6.1.2).
    """
    S, D = len(grid.stations), grid.n_days
    out: dict[str, np.ndarray] = {}
    v = segments[0][2].validity
    for p in DAILY_MEAN:
        h = _days(grid.values[p], D)
        n = (~np.isnan(h)).sum(axis=2)
        with np.errstate(invalid="ignore", divide="ignore"):
            mean = np.nansum(h, axis=2) / np.maximum(n, 1)
        out[f"n_{p}"] = n
        out[p] = np.where(n >= v.daily_min_hours, round_gbt8170_array(mean, digits_of(p)), np.nan)
    o3 = _days(grid.values["o3"], D)
    n_o3 = (~np.isnan(o3)).sum(axis=2)
    o3_1h = round_gbt8170_array(np.fmax.reduce(o3, axis=2), 0)
    w = _days(o3_8h, D)[:, :, 7:]  # windows ending at hour labels 8…24: inside the natural day
    n_w = (~np.isnan(w)).sum(axis=2)
    o3_8h_max = round_gbt8170_array(np.fmax.reduce(w, axis=2), 0)
    out["n_o3"], out["n_o3_8h"] = n_o3, n_w
    out["o3_1h_max"] = np.full((S, D), np.nan)
    out["o3_8h_max"] = np.full((S, D), np.nan)
    for a, b, ev in segments:
        d0, d1 = a - grid.first_day, b - grid.first_day + 1
        lim1, lim8 = ev.limits.limit("o3", "1h"), ev.limits.limit("o3", "8h")
        with np.errstate(invalid="ignore"):
            ok1 = (n_o3[:, d0:d1] >= ev.validity.daily_min_hours) | (o3_1h[:, d0:d1] > lim1)
            ok8 = (n_w[:, d0:d1] >= ev.validity.mda8_min_windows) | (o3_8h_max[:, d0:d1] > lim8)
        out["o3_1h_max"][:, d0:d1] = np.where(ok1, o3_1h[:, d0:d1], np.nan)
        out["o3_8h_max"][:, d0:d1] = np.where(ok8, o3_8h_max[:, d0:d1], np.nan)
    out["hours"] = _days(grid.present, D).sum(axis=2)
    return out


def with_daily_aqi(columns: dict[str, np.ndarray], day: np.ndarray, segments: list[tuple[int, int, AirEvalRuleSet]]) -> dict[str, np.ndarray]:
    """Add daily IAQIs, AQI, level, primary pollutants, the day's validity and rule set (flat arrays, one per
    entity-day). A day counts as valid when every daily indicator is valid, or when the valid ones already give
    AQI > 100 (HJ 633-2026 §5.3.1, applied to every rule set as our documented choice for pre-2026 data)."""
    n = len(day)
    res: dict[str, np.ndarray] = {}
    ruleset_name = np.empty(n, dtype=object)
    for a, b, ev in segments:
        m = (day >= a) & (day <= b)
        if not m.any():
            continue
        r = aqi_arrays({c: columns[c][m] for c in DAILY_COLUMNS}, ev.aqi, "daily")
        r["primary_pollutants"] = primary_text(r.pop("primary_mask"))
        codes = [i.code for i in ev.aqi.daily]
        complete = np.logical_and.reduce([~np.isnan(r[f"iaqi_{c}"]) for c in codes])
        with np.errstate(invalid="ignore"):
            r["day_valid"] = ~np.isnan(r["aqi"]) & (complete | (r["aqi"] > 100))
        for k, v in r.items():
            if k not in res:
                res[k] = np.empty(n, dtype=v.dtype)
                if np.issubdtype(v.dtype, np.floating):
                    res[k][:] = np.nan
            res[k][m] = v
        ruleset_name[m] = ev.name
    res["eval_ruleset"] = ruleset_name
    return res
