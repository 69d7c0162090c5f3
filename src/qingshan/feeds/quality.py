"""HJ 212 environmental-quality stations into the measurement store (issue 13 item 3;
docs/hj212.md#环境质量站点入库feed, rules in docs/rules/hj212-feed.md).

A device feeds a station when the registry gives it a ``station`` (the store's station code) and ST=22 (air,
meteorology) or ST=21 (surface water).  After each load the receiver queues the (MN, hour) pairs whose rows
changed (``hj212_feed_pending``, same transaction as the data); :func:`feed_pending` takes them in batches and
recomputes each **station-hour from every row it holds** (all devices of the station), so a late minute or a
re-sent packet re-aggregates its hour and re-feeding the same data changes nothing.

Per station-hour and quantity:

* **CN 2061** (hourly value) as sent, when the station sent one: the station's own hourly value wins over an
  aggregation of its minute values, because the data logger computes it from the analyser's full record (HJ 818 /
  HJ 817 make the station's hourly value the reported one); a 2061 value with an invalid flag makes the hour
  missing — the station itself says the hour was calibration, maintenance … — and is not replaced by minutes.
* else **CN 2051** minute values, else **CN 2011** real-time values (binned to the minute they fall in, the minute
  being the mean of its valid real-time values), aggregated with
  :func:`qingshan.evaluate.minutes.aggregate_minutes` under the minute rule set (default ``gb3095-45min``: at
  least 45 valid minutes, GB 3095-2012 表4).  A 2051 period of k minutes (registry ``min_interval``) counts as
  k minutes of sampling.
* A value is valid when it is a finite number and its flag (HJ 212-2017 表8) is N or absent: F 停运, M 维护,
  S 手工输入, D 故障, C 校准, T 超测定上限 and B 通讯异常 make it invalid (HJ 818-2018 / HJ 817-2018
  数据有效性判断: data of calibration, checks, maintenance, faults and outages are invalid; docs/rules/hj212-feed.md).
* Units: to the store's (µg/m³, CO mg/m³; gases at the reference state, GB 3095-2012 修改单 2018) with
  :func:`qingshan.standards.units.factor_to_store`; pressure kPa → hPa.
* Meteorology: temperature, humidity, pressure arithmetic means of valid minutes; wind speed scalar mean, wind
  direction unit-vector mean without calms (:mod:`qingshan.standards.wind`), 45 valid minutes like the gases.
* Water: 2061 as sent, else the mean of the hour's valid 2051/2011 values (no minute minimum is prescribed for
  water automatic stations).

An hourly value outside the store's range (:mod:`qingshan.standards.ranges`, e.g. a negative mean of readings
around zero) is stored as missing and quarantined with its reason.
"""

from __future__ import annotations

import logging
import math
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime

import duckdb
import numpy as np
import pandas as pd
import pyarrow as pa

from ..evaluate.minutes import aggregate_minutes
from ..hj212 import quality_rows
from ..hj212.config import beijing_now
from ..hj212.devices import Device
from ..hj212.store import LoadResult
from ..standards.air_validity import MinuteRule, get_minute_rule
from ..standards.pollutants import SIX
from ..standards.ranges import range_of
from ..standards.units import factor_to_store, kpa_to_hpa
from ..standards.wind import mean_directions
from ..store import met as met_store
from ..store import water as water_store
from ..store.feed import add_feed_counts, add_feed_quarantine, feed_import, replace_air_hours
from .codes import AIR_CODES, AIR_DEFAULT_UNITS, AIR_ST, MET_CODES, WATER_CODES, WATER_ST

log = logging.getLogger("qingshan.feeds")

Con = duckdb.DuckDBPyConnection
#: Valid minutes an hourly meteorological mean needs: the 45 minutes of GB 3095 表4 (our choice for meteorology,
#: which 表4 does not cover; docs/rules/hj212-feed.md).
MET_MIN_MINUTES = 45
BATCH_PAIRS = 50_000  # (MN, hour) pairs per transaction


@dataclass
class FeedResult:
    station_hours: int = 0
    rows_read: int = 0
    air: dict[str, int] = field(default_factory=dict)
    met: dict[str, int] = field(default_factory=dict)
    water: dict[str, int] = field(default_factory=dict)
    quarantined: int = 0
    seconds: float = 0.0


@dataclass
class Hours:
    """What one batch computes: rows for each table and the quarantine entries."""

    air: pd.DataFrame
    met: pd.DataFrame
    water: pd.DataFrame
    quarantine: list[tuple[str, str, str, str]]


# --- minutes ------------------------------------------------------------------------------------------------------


def _minute_index(ts: pd.Series) -> np.ndarray:
    """Whole minutes since 1970-01-01 (naive Beijing) of the start of each timestamp's minute."""
    return ts.to_numpy(dtype="datetime64[ns]").astype("datetime64[m]").astype(np.int64)


def minute_rows(df: pd.DataFrame) -> pd.DataFrame:
    """2051/2011 rows as one row per station, quantity and minute (``mi`` labelled by the end of the minute):
    ``station, q, mi, hi, value, ok, seq``.  A 2051 period of k minutes becomes its k minutes (those inside the
    row's hour); 2011 instants become the mean of the valid values of their minute; where a station-hour-quantity
    has 2051 minutes, its 2011 values are left out; a minute sent twice keeps the later arrival."""
    cols = ["station", "q", "mi", "hi", "value", "ok", "seq"]
    m51 = df[df["cn"] == "2051"]
    parts = []
    if len(m51):
        start = _minute_index(m51["data_time"])
        end = np.where(m51["period_end"].notna(), _minute_index(m51["period_end"].fillna(m51["data_time"])),
                       start + 1)
        n = np.maximum(end - start, 1)
        rep = np.repeat(np.arange(len(m51)), n)
        k = np.arange(len(rep)) - np.repeat(np.cumsum(n) - n, n)  # 0 … n-1 within each row
        e = m51.iloc[rep].reset_index(drop=True)
        e["mi"] = np.repeat(end, n) - k
        e = e[-(-e["mi"] // 60) == e["hi"]]
        parts.append(e[cols])
    m11 = df[df["cn"] == "2011"]
    if len(m11):
        m11 = m11.assign(mi=_minute_index(m11["data_time"]) + 1)
        if parts:  # 2051 minutes take precedence per station-hour-quantity
            have = parts[0][["station", "hi", "q"]].drop_duplicates()
            m11 = m11.merge(have, how="left", indicator=True)
            m11 = m11[m11["_merge"] == "left_only"].drop(columns="_merge")
        m11 = m11.assign(v=m11["value"].where(m11["ok"]))
        g = m11.groupby(["station", "q", "mi", "hi"], sort=False)
        agg = g.agg(value=("v", "mean"), seq=("seq", "max")).reset_index()
        agg["ok"] = agg["value"].notna()
        parts.append(agg[cols])
    if not parts:
        return pd.DataFrame(columns=cols)
    out = pd.concat(parts, ignore_index=True)
    return out.sort_values("seq", kind="stable").drop_duplicates(["station", "q", "mi"], keep="last")


def hourly_2061(df: pd.DataFrame) -> pd.DataFrame:
    """The 2061 value of each station, hour and quantity (the later arrival when sent twice), NaN when invalid."""
    h = df[df["cn"] == "2061"].drop_duplicates(["station", "hi", "q"], keep="last")
    return h.assign(value=h["value"].where(h["ok"]))[["station", "hi", "q", "value"]]


# --- air ------------------------------------------------------------------------------------------------------------


def air_hours(df: pd.DataFrame, rule: MinuteRule) -> pd.DataFrame:
    """``station, hi`` and the six pollutants (NaN = missing) for every station-hour with air rows."""
    keys = df[["station", "hi"]].drop_duplicates().reset_index(drop=True)
    out = keys.copy()
    mins = minute_rows(df)
    agg = None
    if len(mins):
        wide = mins.pivot(index=["station", "mi"], columns="q", values="value")
        okw = mins.pivot(index=["station", "mi"], columns="q", values="ok").reindex(wide.index)
        t = pd.DataFrame({"station": wide.index.get_level_values(0),
                          "ts": pd.to_datetime(wide.index.get_level_values(1).to_numpy() * 60, unit="s")})
        for p in wide.columns:
            t[p] = wide[p].to_numpy(dtype=float)
            t[f"{p}_flag"] = np.where(okw[p].fillna(False).to_numpy(dtype=bool), "N", "X")
        agg = aggregate_minutes(pa.Table.from_pandas(t, preserve_index=False), rule, device="station").to_pandas()
        agg["hi"] = agg["hi"].astype(np.int64)
    h61 = hourly_2061(df)
    for p in SIX:
        col = pd.Series(np.nan, index=out.index)
        if agg is not None and p in agg.columns:
            m = out.merge(agg[["station", "hi", p]], on=["station", "hi"], how="left")[p]
            col = m.astype(float)
        hp = h61[h61["q"] == p]
        if len(hp):
            m = out.merge(hp, on=["station", "hi"], how="left", indicator=True)
            has = (m["_merge"] == "both").to_numpy()
            col = pd.Series(np.where(has, m["value"].to_numpy(dtype=float), col.to_numpy()), index=out.index)
        out[p] = col
    return out


# --- meteorology ---------------------------------------------------------------------------------------------------


def met_hours(df: pd.DataFrame) -> pd.DataFrame:
    """``station, hi``, temp, rh, pressure, wind_speed, wind_dir and the valid-minute counts."""
    keys = df[["station", "hi"]].drop_duplicates().reset_index(drop=True)
    out = keys.copy()
    mins = minute_rows(df)
    ok = mins[mins["ok"].astype(bool) & np.isfinite(mins["value"].astype(float))] if len(mins) else mins
    for q in ("temp", "rh", "pressure"):
        sub = ok[ok["q"] == q]
        g = sub.groupby(["station", "hi"])["value"].agg(["mean", "count"]).reset_index()
        m = out.merge(g, on=["station", "hi"], how="left")
        n = m["count"].fillna(0).astype(int)
        out[q] = np.where(n >= MET_MIN_MINUTES, m["mean"], np.nan)
        out[f"{q}_minutes"] = n.where(n > 0)
    speed = ok[ok["q"] == "wind_speed"][["station", "hi", "mi", "value"]].rename(columns={"value": "s"})
    direc = ok[ok["q"] == "wind_dir"][["station", "hi", "mi", "value"]].rename(columns={"value": "d"})
    w = speed.merge(direc, on=["station", "hi", "mi"], how="left")
    gid = out.reset_index().merge(w, on=["station", "hi"], how="inner")
    n_groups = len(out)
    g = gid["index"].to_numpy(dtype=np.int64)
    n = np.bincount(g, minlength=n_groups)
    sp = np.bincount(g, weights=gid["s"].to_numpy(dtype=float), minlength=n_groups)
    direction = mean_directions(g, gid["d"].to_numpy(dtype=float), gid["s"].to_numpy(dtype=float), n_groups)
    enough = n >= MET_MIN_MINUTES
    with np.errstate(invalid="ignore", divide="ignore"):
        out["wind_speed"] = np.where(enough, sp / n, np.nan)
    out["wind_dir"] = np.where(enough, direction, np.nan)
    out["wind_minutes"] = pd.Series(n, index=out.index).where(n > 0)
    h61 = hourly_2061(df)
    for q in ("temp", "rh", "pressure", "wind_speed", "wind_dir"):
        hp = h61[h61["q"] == q]
        if not len(hp):
            continue
        m = out.merge(hp, on=["station", "hi"], how="left", indicator=True)
        has = (m["_merge"] == "both").to_numpy()
        out[q] = np.where(has, m["value"].to_numpy(dtype=float), out[q].to_numpy(dtype=float))
        cnt = "wind_minutes" if q.startswith("wind") else f"{q}_minutes"
        if q != "wind_dir":
            out[cnt] = pd.Series(out[cnt]).where(~has, None)
    return out


# --- water ----------------------------------------------------------------------------------------------------------


def water_hours(df: pd.DataFrame) -> pd.DataFrame:
    """``station, hi`` and one column per water item: 2061 as sent, else the mean of the hour's valid values."""
    keys = df[["station", "hi"]].drop_duplicates().reset_index(drop=True)
    out = keys.copy()
    other = df[df["cn"] != "2061"]
    valid = other[other["ok"]]
    mean = valid.groupby(["station", "hi", "q"])["value"].mean().reset_index()
    h61 = hourly_2061(df)
    for item in water_store.AUTO_ITEMS:
        col = out.merge(mean[mean["q"] == item], on=["station", "hi"], how="left")["value"].to_numpy(dtype=float)
        hp = h61[h61["q"] == item]
        if len(hp):
            m = out.merge(hp, on=["station", "hi"], how="left", indicator=True)
            col = np.where((m["_merge"] == "both").to_numpy(), m["value"].to_numpy(dtype=float), col)
        if item in WATER_CODES.values():
            out[item] = col
    return out


# --- one batch ------------------------------------------------------------------------------------------------------


def _prepare(rows: pa.Table, devices: dict[str, Device], valid_flags: frozenset[str]) -> pd.DataFrame:
    """Rows with their kind (air | met | water), quantity ``q``, value in store units, ``ok`` and arrival ``seq``."""
    df = rows.to_pandas()
    df["seq"] = np.arange(len(df))
    if not len(df):
        return df.assign(kind=pd.Series(dtype=str), q=pd.Series(dtype=str), ok=pd.Series(dtype=bool))
    # per distinct (device, factor): kind, quantity and the factor to store units; joined back in one merge
    pairs = df[["mn", "factor"]].drop_duplicates()
    kinds, qs, mults = [], [], []
    for mn, code in pairs.itertuples(index=False):
        dev = devices.get(mn)
        st = dev.st if dev is not None else None
        unit = dev.units.get(code) if dev is not None else None
        kind, q, mult = "", None, 1.0
        if st == AIR_ST and code in MET_CODES:
            kind, q = "met", MET_CODES[code]
            mult = 1.0 if code != "a01006" or unit == "hPa" else kpa_to_hpa(1.0)
        elif st == AIR_ST and code in AIR_CODES:
            kind, q = "air", AIR_CODES[code]
            mult = factor_to_store(q, unit or AIR_DEFAULT_UNITS[q], (dev.state if dev else None) or "reference")
        elif st == WATER_ST and code in WATER_CODES:
            kind, q = "water", WATER_CODES[code]
        kinds.append(kind)
        qs.append(q)
        mults.append(mult)
    pairs = pairs.assign(kind=kinds, q=qs, mult=mults)
    df = df.merge(pairs[pairs["kind"] != ""], on=["mn", "factor"], how="inner").sort_values("seq", kind="stable")
    df["value"] = df["value"].astype(float) * df["mult"].to_numpy()
    flag = df["flag"].fillna("N")
    df["ok"] = flag.isin(valid_flags).to_numpy() & np.isfinite(df["value"].to_numpy())
    df["hi"] = df["hi"].astype(np.int64)
    return df


def _out_of_range(frame: pd.DataFrame, columns: list[str], what: str,
                  quarantine: list[tuple[str, str, str, str]]) -> pd.DataFrame:
    """Values outside the store's range become NaN, each with a quarantine entry."""
    for c in columns:
        rng = range_of(c)
        if rng is None or c not in frame.columns:
            continue
        v = frame[c].to_numpy(dtype=float)
        bad = np.isfinite(v) & ((v < rng.lo) | (v > rng.hi))
        for i in np.flatnonzero(bad):
            ts = datetime(1970, 1, 1) + pd.Timedelta(hours=int(frame["hi"].iloc[i]))
            quarantine.append((f"hj212-feed {what} {frame['station'].iloc[i]} {ts:%Y-%m-%d %H:%M}", c,
                               f"{v[i]:.6g}", f"小时值超出 {rng.lo:g}–{rng.hi:g} {rng.unit}，按缺失处理"))
        frame[c] = np.where(bad, np.nan, v)
    return frame


def compute_hours(rows: pa.Table, devices: dict[str, Device], rule: MinuteRule) -> Hours:
    """The rows for ``air_hourly``, ``met_hourly`` and ``water_auto`` of the station-hours in ``rows`` (pure)."""
    df = _prepare(rows, devices, rule.valid_flags)
    quarantine: list[tuple[str, str, str, str]] = []
    air = df[df["kind"] == "air"]
    met = df[df["kind"] == "met"]
    water = df[df["kind"] == "water"]
    a = _out_of_range(air_hours(air, rule), list(SIX), "air", quarantine) if len(air) else pd.DataFrame()
    m = met_hours(met) if len(met) else pd.DataFrame()
    w = _out_of_range(water_hours(water), list(WATER_CODES.values()), "water", quarantine) if len(water) \
        else pd.DataFrame()
    return Hours(a, m, w, quarantine)


def _water_batch(w: pd.DataFrame) -> pa.Table:
    items = [c for c in water_store.AUTO_ITEMS if c in w.columns]
    data: dict[str, object] = {
        "station": w["station"].astype(str).to_numpy(),
        "section": w["station"].astype(str).to_numpy(),
        "ts": pd.to_datetime(w["hi"].to_numpy() * 3600, unit="s"),
    }
    for c in items:
        v = w[c].to_numpy(dtype=float)
        data[c] = pa.array(v, pa.float64(), from_pandas=True)
        data[f"{c}_shown"] = [f"{x:g}" if math.isfinite(x) else "--" for x in v]
    return pa.table(data)


def _nan_to_null(frame: pd.DataFrame) -> pa.Table:
    return pa.Table.from_pandas(frame, preserve_index=False)


def feed_batch(con: Con, rule: MinuteRule, now: datetime, limit: int = BATCH_PAIRS) -> tuple[FeedResult, int]:
    """One transaction: take up to ``limit`` pending pairs, recompute their station-hours, write them, drop the
    pairs.  Returns the result and the number of pairs taken (0: nothing was pending)."""
    res = FeedResult()
    con.execute("BEGIN TRANSACTION")
    try:
        taken = quality_rows.take_pending(con, limit)
        if not taken:
            con.execute("ROLLBACK")
            return res, 0
        rows = quality_rows.station_hour_rows(con)
        res.rows_read = rows.num_rows
        mns = set(rows.column("mn").to_pylist()) if rows.num_rows else set()
        hours = compute_hours(rows, quality_rows.quality_devices(con, mns), rule)
        iid = feed_import(con, now)
        counts = {"read": rows.num_rows, "new": 0, "updated": 0, "unchanged": 0, "quarantined": len(hours.quarantine)}
        if len(hours.air):
            res.air = replace_air_hours(con, _nan_to_null(hours.air[["station", "hi", *SIX]]), iid)
        if len(hours.met):
            res.met = met_store.upsert_met_hourly(con, _nan_to_null(hours.met), iid)
        if len(hours.water):
            water_store.ensure_schema(con)
            res.water = water_store.upsert(con, "water_auto", _water_batch(hours.water), iid)
        for c in (res.air, res.met, res.water):
            for k in ("new", "updated", "unchanged"):
                counts[k] += c.get(k, 0)
        add_feed_quarantine(con, iid, hours.quarantine)
        add_feed_counts(con, iid, counts)
        quality_rows.drop_pending(con)
        con.execute("COMMIT")
    except BaseException:
        con.execute("ROLLBACK")
        raise
    res.station_hours = sum(len(x) for x in (hours.air, hours.met, hours.water))
    res.quarantined = len(hours.quarantine)
    return res, taken


def feed_pending(con: Con, rule: str | MinuteRule | None = None, now: datetime | None = None) -> FeedResult:
    """Feed every pending (MN, hour) pair into the measurement tables, in batches; idempotent."""
    t0 = time.perf_counter()
    r = get_minute_rule(rule)
    quality_rows.ensure_tables(con)
    met_store.ensure_schema(con)
    total = FeedResult()
    while True:
        res, taken = feed_batch(con, r, now or beijing_now())
        total.station_hours += res.station_hours
        total.rows_read += res.rows_read
        total.quarantined += res.quarantined
        for mine, theirs in ((total.air, res.air), (total.met, res.met), (total.water, res.water)):
            for k, v in theirs.items():
                mine[k] = mine.get(k, 0) + v
        if taken < BATCH_PAIRS:
            break
    total.seconds = time.perf_counter() - t0
    return total


def after_load_hook(rule: str | MinuteRule | None = None) -> Callable[[Con, LoadResult], None]:
    """The receiver's ``after_load`` callback: feed what the load queued (and anything a crash left queued)."""
    r = get_minute_rule(rule)

    def hook(con: Con, res: LoadResult) -> None:
        out = feed_pending(con, r)
        if out.station_hours:
            log.debug("入库：%d 个站点小时（%.3f 秒）", out.station_hours, out.seconds)

    return hook


__all__ = ["FeedResult", "after_load_hook", "compute_hours", "feed_pending"]
