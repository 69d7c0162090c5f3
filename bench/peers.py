"""The peer implementations the benchmark compares qingshan against.

* :func:`python_aqi_hourly` — the hourly AQI through python-aqi 0.6.1 (``aqi.to_iaqi(..., algo=ALGO_MEP)``), one
  call per value, as a user of that package would write it. Used on a sample to measure the per-value cost. Its
  results differ from HJ 633 by design of that package (concentrations truncated to integers — CO included —,
  IAQI rounded half-even instead of up, no PM "24-h table for 1-h values" rule, no SO2 > 800 rule), so it is a
  timing peer, not a correctness oracle.
* :func:`pandas_evaluate` — the same work as our engine written in plain pandas/numpy by a competent analyst:
  hourly IAQI/AQI, 24-h and 8-h moving means, station daily values and daily AQI, annual statistics per station,
  and city daily/annual values over non-control stations.
* :func:`polars_evaluate` — the same work in Polars (lazy API, rolling windows over each station), the library a
  data engineer would pick instead of pandas; it gives the outputs of :func:`pandas_evaluate` (same rows, same
  columns, the same values up to floating-point summation order).

Input of :func:`pandas_evaluate`: a long DataFrame ``station, hi, so2, no2, co, o3, pm10, pm25`` where ``hi`` is the
hour-ending label as whole hours since 1970-01-01 00:00 Beijing time (so the day of a value is ``(hi - 1) // 24``),
and the station table as written by ``bench/generate.py`` (``监测点编码, 城市, 对照点``) or with columns
``station, city, control``.
"""

from __future__ import annotations

import aqi
import numpy as np
import pandas as pd
from aqi.constants import POLLUTANT_CO_1H  # not re-exported at package level in 0.6.1

SIX = ("so2", "no2", "co", "o3", "pm10", "pm25")
DAILY_MEAN = ("so2", "no2", "co", "pm10", "pm25")
STEPS = (0, 50, 100, 150, 200, 300, 400, 500)
BP_1H = {  # HJ 633-2012 表1; PM use the 24-h columns for 1-h values (national platform practice)
    "so2": (0, 150, 500, 650, 800),
    "no2": (0, 100, 200, 700, 1200, 2340, 3090, 3840),
    "co": (0, 5, 10, 35, 60, 90, 120, 150),
    "o3": (0, 160, 200, 300, 400, 800, 1000, 1200),
    "pm10": (0, 50, 150, 250, 350, 420, 500, 600),
    "pm25": (0, 35, 75, 115, 150, 250, 350, 500),
}
BP_24H = {
    "so2": (0, 50, 150, 475, 800, 1600, 2100, 2620),
    "no2": (0, 40, 80, 180, 280, 565, 750, 940),
    "co": (0, 2, 4, 14, 24, 36, 48, 60),
    "pm10": BP_1H["pm10"],
    "pm25": BP_1H["pm25"],
}
BP_O3_8H = (0, 100, 160, 215, 265, 800)
O3_8H_LIMIT = 160  # GB 3095 grade II; an MDA8 above it is valid even with < 14 windows (HJ 663)
PERCENTILES = {"so2": 0.98, "no2": 0.98, "pm10": 0.95, "pm25": 0.95, "co": 0.95, "o3_8h_max": 0.90}

# --- (a) python-aqi, one call per value --------------------------------------------------------------------------

PYAQI_CODE = {
    "so2": aqi.POLLUTANT_SO2_1H,
    "no2": aqi.POLLUTANT_NO2_1H,
    "co": POLLUTANT_CO_1H,
    "o3": aqi.POLLUTANT_O3_1H,
    "pm10": aqi.POLLUTANT_PM10,
    "pm25": aqi.POLLUTANT_PM25,
}


def python_aqi_hourly(df: pd.DataFrame) -> np.ndarray:
    """Hourly AQI per row with python-aqi's MEP algorithm, value by value (NaN where all six are missing)."""
    cols = [(PYAQI_CODE[p], df[p].to_numpy(dtype=float)) for p in SIX]
    out = np.full(len(df), np.nan)
    for r in range(len(df)):
        best = None
        for code, col in cols:
            v = col[r]
            if v != v:  # missing
                continue
            try:
                i = float(aqi.to_iaqi(code, str(v), algo=aqi.ALGO_MEP))
            except (IndexError, TypeError):  # above the package's tables (SO2_1H > 800, anything above the top)
                i = 500.0
            best = i if best is None or i > best else best
        if best is not None:
            out[r] = best
    return out


# --- (b) plain pandas --------------------------------------------------------------------------------------------


def rnd(x, digits: int = 0):
    """Round half to even at reporting precision (the inner round absorbs float noise such as 12.4999999999)."""
    s = 10.0**digits
    return np.round(np.round(np.asarray(x, dtype=float) * s, 6)) / s


def iaqi(conc, bp) -> np.ndarray:
    """IAQI by linear interpolation rounded up; 500 above the top breakpoint, NaN stays NaN."""
    x = np.asarray(conc, dtype=float)
    v = np.ceil(np.round(np.interp(x, bp, STEPS[: len(bp)]), 9))
    return np.where(x > bp[-1], 500.0, v)


def daily_aqi(d: pd.DataFrame) -> pd.Series:
    """Daily AQI (HJ 633-2012): 24-h tables, O3 1-h max and MDA8 (MDA8 > 800 → its IAQI is left to the 1-h one)."""
    parts = {p: iaqi(rnd(d[p], 1 if p == "co" else 0), BP_24H[p]) for p in DAILY_MEAN}
    parts["o3"] = iaqi(rnd(d["o3_1h_max"]), BP_1H["o3"])
    o8 = rnd(d["o3_8h_max"])
    parts["o3_8h"] = np.where(o8 > 800, np.nan, iaqi(o8, BP_O3_8H))
    return pd.DataFrame(parts, index=d.index).max(axis=1)


def annual(daily: pd.DataFrame, key: str) -> pd.DataFrame:
    """Annual statistics of valid daily values (numpy 'linear' percentiles, HJ 663 附录A)."""
    g = daily.groupby(key)
    cols = list(DAILY_MEAN) + ["o3_8h_max"]
    out = g[cols].mean().add_suffix("_mean")
    for c, q in PERCENTILES.items():
        out[f"{c}_p{round(q * 100)}"] = g[c].quantile(q)
    out = out.join(g[cols].count().add_suffix("_days"))
    out["aqi_days"] = g["aqi"].count()
    out["good_days"] = (daily["aqi"] <= 100).groupby(daily[key]).sum()
    out["good_ratio"] = out["good_days"] / out["aqi_days"]
    return out


def _stations(stations: pd.DataFrame) -> pd.DataFrame:
    st = stations.rename(columns={"监测点编码": "station", "城市": "city", "对照点": "control"})
    ctl = st["control"]
    if ctl.dtype != bool:
        ctl = ctl.astype(str).str.upper().isin(["Y", "YES", "TRUE", "1", "是"])
    return st.assign(control=ctl)[["station", "city", "control"]]


def pandas_evaluate(df: pd.DataFrame, stations: pd.DataFrame) -> dict[str, pd.DataFrame]:
    # (1) hourly IAQI / AQI of every row
    hourly = df[["station", "hi"]].copy()
    for p in SIX:
        hourly[f"iaqi_{p}"] = iaqi(df[p], BP_1H[p])
    hourly.loc[df["so2"] > 800, "iaqi_so2"] = 200.0
    hourly["aqi"] = hourly[[f"iaqi_{p}" for p in SIX]].max(axis=1)

    # (2) moving means per station over a complete hourly grid
    grid = pd.MultiIndex.from_product(
        [df["station"].unique(), np.arange(df["hi"].min(), df["hi"].max() + 1)], names=["station", "hi"]
    )
    full = df.set_index(["station", "hi"])[list(SIX)].reindex(grid)
    by_station = full.groupby(level="station", sort=False)
    moving = by_station.rolling(24, min_periods=20).mean().droplevel(0).add_suffix("_24h")
    moving["o3_8h"] = by_station["o3"].rolling(8, min_periods=6).mean().droplevel(0)

    # (3) daily values per station
    full = full.reset_index()
    full["day"] = (full["hi"] - 1) // 24
    full["o3_8h"] = moving["o3_8h"].to_numpy()
    by_day = full.groupby(["station", "day"])
    daily = by_day[list(DAILY_MEAN)].mean().where(by_day[list(DAILY_MEAN)].count() >= 20)
    daily["o3_1h_max"] = by_day["o3"].max().where(by_day["o3"].count() >= 20)
    windows = full[(full["hi"] - 1) % 24 + 1 >= 8].groupby(["station", "day"])["o3_8h"].agg(["max", "count"])
    daily["o3_8h_max"] = windows["max"].where((windows["count"] >= 14) | (windows["max"] > O3_8H_LIMIT))
    daily["aqi"] = daily_aqi(daily)
    daily = daily.reset_index()

    # (4) annual per station
    station_annual = annual(daily, "station")

    # (5) city: daily value = mean over the non-control stations' valid daily values
    st = _stations(stations)
    sd = daily.merge(st, on="station")
    city_daily = sd[~sd["control"]].groupby(["city", "day"])[list(DAILY_MEAN) + ["o3_1h_max", "o3_8h_max"]].mean()
    city_daily["aqi"] = daily_aqi(city_daily)
    city_daily = city_daily.reset_index()
    city_annual = annual(city_daily, "city")

    return {
        "hourly": hourly,
        "moving": moving.reset_index(),
        "station_daily": daily,
        "station_annual": station_annual.reset_index(),
        "city_daily": city_daily,
        "city_annual": city_annual.reset_index(),
    }


# --- (c) Polars, lazy ---------------------------------------------------------------------------------------------


def _pl_iaqi(x, bp, steps=STEPS):
    """:func:`iaqi` as a Polars expression: numpy's ``interp`` formula (slope × offset + step) segment by segment,
    the same ``round(9)`` then ceiling, 500 above the top breakpoint, null stays null."""
    import polars as pl

    expr = pl.when(x > bp[-1]).then(pl.lit(500.0)).when(x < bp[0]).then(pl.lit(float(steps[0])))
    for k in range(len(bp) - 1):
        slope = (steps[k + 1] - steps[k]) / (bp[k + 1] - bp[k])
        expr = expr.when(x < bp[k + 1]).then(slope * (x - bp[k]) + steps[k])
    raw = expr.when(x == bp[-1]).then(pl.lit(float(steps[len(bp) - 1]))).otherwise(None)
    return _ceil9(raw)


_TWO52 = 2.0**52


def _rint(e):
    """``np.rint`` as an expression: adding and removing 2⁵² rounds half to even in IEEE arithmetic (|x| < 2⁵²).
    (Polars' own ``round(mode="half_to_even")`` is off for large values: 5e11 → 500000000000.00006.)"""
    import polars as pl

    return pl.when(e < 0).then(-((-e + _TWO52) - _TWO52)).otherwise((e + _TWO52) - _TWO52)


def _div(e, c: float):
    """``e / c`` rounded as IEEE division. Polars divides by a scalar through its reciprocal (5e11 / 1e9 gives
    500.00000000000006), so the divisor is made a column: ``e · 0 + c``."""
    return e / (e * 0.0 + c)


def _ceil9(e):
    """``ceil(np.round(e, 9))``: numpy rounds ``e · 1e9`` half to even and divides back."""
    import polars as pl

    return _div(_rint(e * 1e9), 1e9).ceil().cast(pl.Float64)


def _pl_rnd(e, digits: int = 0):
    """:func:`rnd`: ``round(round(x · s, 6)) / s`` half to even, as numpy computes it."""
    s = 10.0**digits
    return _div(_rint(_div(_rint((e * s) * 1e6), 1e6)), s)


def _pl_daily_aqi(cols):
    """:func:`daily_aqi` as an expression over daily columns."""
    import polars as pl

    parts = [_pl_iaqi(_pl_rnd(pl.col(p), 1 if p == "co" else 0), BP_24H[p]) for p in DAILY_MEAN]
    parts.append(_pl_iaqi(_pl_rnd(pl.col("o3_1h_max")), BP_1H["o3"]))
    o8 = _pl_rnd(pl.col("o3_8h_max"))
    parts.append(pl.when(o8 > 800).then(None).otherwise(_pl_iaqi(o8, BP_O3_8H)))
    return pl.max_horizontal(parts)


def _pl_annual(daily, key: str):
    import polars as pl

    cols = list(DAILY_MEAN) + ["o3_8h_max"]
    aggs = [pl.col(c).mean().alias(f"{c}_mean") for c in cols]
    aggs += [pl.col(c).quantile(q, interpolation="linear").alias(f"{c}_p{round(q * 100)}") for c, q in PERCENTILES.items()]
    aggs += [pl.col(c).count().alias(f"{c}_days") for c in cols]
    aggs += [pl.col("aqi").count().alias("aqi_days"), (pl.col("aqi") <= 100).sum().alias("good_days")]
    return (daily.group_by(key).agg(aggs)
            .with_columns((pl.col("good_days") / pl.col("aqi_days")).alias("good_ratio")).sort(key))


def polars_evaluate(df, stations: pd.DataFrame) -> dict:
    """:func:`pandas_evaluate` in Polars (lazy): ``df`` is a Polars or pandas frame ``station, hi`` + six (missing =
    null). Returns Polars DataFrames with the keys and columns of :func:`pandas_evaluate`."""
    import polars as pl

    lf = (pl.from_pandas(df) if isinstance(df, pd.DataFrame) else df).lazy()
    lf = lf.with_columns([pl.col(p).fill_nan(None) for p in SIX])
    # (1) hourly IAQI / AQI of every row
    iaqis = [_pl_iaqi(pl.col(p), BP_1H[p]).alias(f"iaqi_{p}") for p in SIX]
    iaqis[0] = pl.when(pl.col("so2") > 800).then(pl.lit(200.0)).otherwise(iaqis[0]).alias("iaqi_so2")
    hourly = lf.select("station", "hi", *iaqis).with_columns(
        pl.max_horizontal([f"iaqi_{p}" for p in SIX]).alias("aqi"))

    # (2) moving means per station over a complete hourly grid (rolling windows over each station's rows); the
    # grid is keyed by one integer (station number × hours + hour offset), which joins faster than two keys
    codes = lf.select(pl.col("station").unique().sort()).with_row_index("s").collect().lazy()
    lo, last = lf.select(pl.col("hi").min().alias("lo"), pl.col("hi").max().alias("last")).collect().row(0)
    n = last - lo + 1
    keyed = lf.join(codes, on="station").select((pl.col("s").cast(pl.Int64) * n + pl.col("hi") - lo).alias("k"), *SIX)
    full = (codes.select(pl.int_range(0, pl.len() * n, dtype=pl.Int64).alias("k"))
            .join(keyed, on="k", how="left")
            .with_columns((pl.col("k") // n).cast(pl.UInt32).alias("s"), (pl.col("k") % n + lo).alias("hi"))
            .join(codes, on="s").sort("k").select("station", "hi", *SIX))
    moving = full.with_columns(
        [pl.col(p).rolling_mean(24, min_samples=20).over("station").alias(f"{p}_24h") for p in SIX]
        + [pl.col("o3").rolling_mean(8, min_samples=6).over("station").alias("o3_8h")]
    )
    hourly, moving = pl.collect_all([hourly, moving])  # materialised once: every later plan starts from them

    # (3) daily values per station
    mv = moving.lazy().with_columns(((pl.col("hi") - 1) // 24).alias("day"))
    mean_aggs = [pl.when(pl.col(p).count() >= 20).then(pl.col(p).mean()).alias(p) for p in DAILY_MEAN]
    win = pl.col("o3_8h").filter((pl.col("hi") - 1) % 24 + 1 >= 8)
    daily = mv.group_by(["station", "day"]).agg(
        mean_aggs
        + [pl.when(pl.col("o3").count() >= 20).then(pl.col("o3").max()).alias("o3_1h_max"),
           pl.when((win.count() >= 14) | (win.max() > O3_8H_LIMIT)).then(win.max()).alias("o3_8h_max")]
    ).with_columns(_pl_daily_aqi(None).alias("aqi")).sort(["station", "day"]).collect().lazy()

    # (4) annual per station, (5) city daily and annual over the non-control stations
    st = pl.from_pandas(_stations(stations)).lazy()
    city_daily = (daily.join(st, on="station").filter(~pl.col("control"))
                  .group_by(["city", "day"]).agg([pl.col(c).mean() for c in list(DAILY_MEAN) + ["o3_1h_max", "o3_8h_max"]])
                  .with_columns(_pl_daily_aqi(None).alias("aqi")).sort(["city", "day"]))
    plans = {
        "station_daily": daily,
        "station_annual": _pl_annual(daily, "station"),
        "city_daily": city_daily,
        "city_annual": _pl_annual(city_daily, "city"),
    }
    return {"hourly": hourly, "moving": moving.select("station", "hi", *[f"{p}_24h" for p in SIX], "o3_8h"),
            **dict(zip(plans, pl.collect_all(list(plans.values()))))}


def load_long(path) -> pd.DataFrame:
    """Read ``long/hourly_YYYY.csv`` from bench/generate.py into the peer's input layout (station, hi, six)."""
    df = pd.read_csv(path, dtype={p: "float64" for p in SIX})
    t = pd.to_datetime(df.pop("time"), format="%Y-%m-%d %H:%M")
    df.insert(1, "hi", ((t - pd.Timestamp("1970-01-01")) // pd.Timedelta(hours=1)).astype("int64"))
    return df
