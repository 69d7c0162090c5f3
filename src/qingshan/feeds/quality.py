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
from collections.abc import Callable, Iterable
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
from ..standards.units import GASES, factor_to_store, kpa_to_hpa
from ..standards.wind import mean_directions
from ..store import met as met_store
from ..store import water as water_store
from ..store.feed import add_feed_counts, add_feed_quarantine, feed_import, replace_air_hours
from ..store.met import MET_VALUES
from .codes import AIR_CODES, AIR_DEFAULT_UNITS, AIR_ST, MET_CODES, WATER_CODES, WATER_ST

log = logging.getLogger("qingshan.feeds")

Con = duckdb.DuckDBPyConnection
#: Valid minutes an hourly meteorological mean needs: the 45 minutes of GB 3095 表4 (our choice for meteorology,
#: which 表4 does not cover; docs/rules/hj212-feed.md).
MET_MIN_MINUTES = 45
BATCH_PAIRS = 50_000  # (MN, hour) pairs per transaction
#: Hours the feed's copy of the rows (``hj212_feed_rows``) keeps behind the latest hour fed: the hours still
#: filling; a late row of an older hour is fed from ``source_data``.
KEEP_HOURS = 3


@dataclass
class FeedResult:
    station_hours: int = 0
    rows_read: int = 0
    air: dict[str, int] = field(default_factory=dict)
    met: dict[str, int] = field(default_factory=dict)
    water: dict[str, int] = field(default_factory=dict)
    quarantined: int = 0
    seconds: float = 0.0
    source: str = ""  # where the last batch read its rows (hj212_feed_rows | source_data)


@dataclass
class Hours:
    """What one batch computes: rows for each table and the quarantine entries."""

    air: pd.DataFrame
    met: pd.DataFrame
    water: pd.DataFrame
    quarantine: list[tuple[str, str, str, str]]


# --- conversion tables ----------------------------------------------------------------------------------------


def _mult(code: str, unit: str | None, state: str | None) -> float:
    """The factor from a device's value of ``code`` (in ``unit`` at ``state``; None = default) to store units."""
    if code in AIR_CODES:
        q = AIR_CODES[code]
        # the registry's state is that of the gases; particles are measured at actual conditions (GB 3095 修改单)
        return factor_to_store(q, unit or AIR_DEFAULT_UNITS[q], (state or "reference") if q in GASES else "actual")
    if code == "a01006":
        return 1.0 if unit == "hPa" else kpa_to_hpa(1.0)
    return 1.0


def conversion_tables(devices: Iterable[Device]) -> tuple[pa.Table, pa.Table]:
    """``defaults`` (``st, factor, kind, q, mult``: which factor of which ST feeds which quantity, at the default
    units) and ``overrides`` (``mn, factor, mult``: devices registered with other units or state)."""
    rows = [(AIR_ST, c, "air", q, _mult(c, None, None)) for c, q in AIR_CODES.items()]
    rows += [(AIR_ST, c, "met", q, _mult(c, None, None)) for c, q in MET_CODES.items()]
    rows += [(WATER_ST, c, "water", q, 1.0) for c, q in WATER_CODES.items()]
    defaults = pa.table({k: [r[i] for r in rows] for i, k in enumerate(("st", "factor", "kind", "q", "mult"))})
    over: list[tuple[str, str, float]] = []
    for d in devices:
        if d.st == AIR_ST and (d.units or d.state):
            for c in (*AIR_CODES, "a01006"):
                m = _mult(c, d.units.get(c), d.state)
                if m != _mult(c, None, None):
                    over.append((d.mn, c, m))
    overrides = pa.table({"mn": pa.array([o[0] for o in over], pa.string()),
                          "factor": pa.array([o[1] for o in over], pa.string()),
                          "mult": pa.array([o[2] for o in over], pa.float64())})
    return defaults, overrides


# --- station-hours ------------------------------------------------------------------------------------------------


def _keys(con: Con, kind: str) -> pd.DataFrame:
    return quality_rows.station_hours(con, kind).to_pandas()


def _with_hourly(out: pd.DataFrame, hourly: pd.DataFrame, quantities: Iterable[str],
                 counts: dict[str, str] | None = None) -> pd.DataFrame:
    """Where a station-hour has a 2061 value of a quantity (valid or not), it replaces the minute result; the
    quantity's minute count (``counts``) becomes NULL there."""
    for q in quantities:
        hq = hourly[hourly["q"] == q]
        if not len(hq):
            continue
        m = out[["station", "hi"]].merge(hq, on=["station", "hi"], how="left", indicator=True)
        has = (m["_merge"] == "both").to_numpy()
        out[q] = np.where(has, m["value"].to_numpy(dtype=float), out[q].to_numpy(dtype=float))
        if counts and q in counts:
            c = counts[q]
            out[c] = pd.Series(out[c].to_numpy(dtype=float), index=out.index).where(~has)
    return out


def hourly_from_minutes(wide: pa.Table, rule: MinuteRule) -> pd.DataFrame:
    """The one place the feed asks the evaluation for hourly values: ``station, hi`` and the six pollutants of
    the minute rows ``wide`` (``station, ts``, per pollutant its value and ``<p>_flag``) under the minute rule
    set (GB 3095-2012 表4 by default; :func:`qingshan.evaluate.minutes.aggregate_minutes`).  Only the
    station-hours of the batch are passed, so an incremental evaluation can take its place here."""
    return aggregate_minutes(wide, rule, device="station").to_pandas()


def air_hours(con: Con, rule: MinuteRule) -> pd.DataFrame:
    """``station, hi`` and the six pollutants (NaN = missing) of every station-hour with air rows: 2061 values,
    else :func:`hourly_from_minutes` of the minutes."""
    out = _keys(con, "air")
    if not len(out):  # none of the batch's station-hours has this kind: nothing to compute (nor written)
        return out
    for p in SIX:
        out[p] = np.nan
    wide = quality_rows.minutes_wide(con, "air", SIX)
    if wide.num_rows:
        agg = hourly_from_minutes(wide, rule)
        agg["hi"] = agg["hi"].astype(np.int64)
        m = out[["station", "hi"]].merge(agg, on=["station", "hi"], how="left")
        for p in SIX:
            out[p] = m[p].to_numpy(dtype=float)
    return _with_hourly(out, quality_rows.hourly_values(con, "air").to_pandas(), SIX)


def met_hours(con: Con) -> pd.DataFrame:
    """``station, hi``, temp, rh, pressure, wind_speed, wind_dir and the valid-minute counts."""
    out = _keys(con, "met")
    if not len(out):  # none of the batch's station-hours has this kind: nothing to compute (nor written)
        return out
    n_groups = len(out)
    t = quality_rows.minutes_grouped(con, "met")
    g = t.column("g").to_numpy().astype(np.int64)
    q = np.asarray(t.column("q").to_pylist(), dtype=object) if t.num_rows else np.array([], dtype=object)
    mi = t.column("mi").to_numpy().astype(np.int64)
    v = t.column("value").to_numpy(zero_copy_only=False).astype(float)
    ok = t.column("ok").to_numpy(zero_copy_only=False).astype(bool) & np.isfinite(v)
    for name in ("temp", "rh", "pressure"):
        sel = ok & (q == name)
        n = np.bincount(g[sel], minlength=n_groups)
        total = np.bincount(g[sel], weights=v[sel], minlength=n_groups)
        with np.errstate(invalid="ignore", divide="ignore"):
            out[name] = np.where(n >= MET_MIN_MINUTES, total / np.maximum(n, 1), np.nan)
        out[f"{name}_minutes"] = pd.Series(n, index=out.index, dtype=float).where(n > 0)
    sp, dr = ok & (q == "wind_speed"), ok & (q == "wind_dir")
    key = g * 100_000_000 + mi  # one minute of one station-hour
    _, i_s, i_d = np.intersect1d(key[sp], key[dr], assume_unique=True, return_indices=True)
    direction = np.full(int(sp.sum()), np.nan)
    direction[i_s] = v[dr][i_d]
    gs, speeds = g[sp], v[sp]
    n = np.bincount(gs, minlength=n_groups)
    total = np.bincount(gs, weights=speeds, minlength=n_groups)
    enough = n >= MET_MIN_MINUTES
    with np.errstate(invalid="ignore", divide="ignore"):
        out["wind_speed"] = np.where(enough, total / np.maximum(n, 1), np.nan)
    out["wind_dir"] = np.where(enough, mean_directions(gs, direction, speeds, n_groups), np.nan)
    out["wind_minutes"] = pd.Series(n, index=out.index, dtype=float).where(n > 0)
    counts = {"temp": "temp_minutes", "rh": "rh_minutes", "pressure": "pressure_minutes",
              "wind_speed": "wind_minutes"}
    return _with_hourly(out, quality_rows.hourly_values(con, "met").to_pandas(), MET_VALUES, counts)


def water_hours(con: Con) -> pd.DataFrame:
    """``station, hi`` and one column per water item: 2061 as sent, else the mean of the hour's valid minutes
    (2051, else 2011 binned to minutes; a minute sent twice counts once)."""
    out = _keys(con, "water")
    if not len(out):  # none of the batch's station-hours has this kind: nothing to compute (nor written)
        return out
    items = list(WATER_CODES.values())
    means = quality_rows.minute_means(con, "water").to_pandas()
    for item in items:
        mq = means[means["q"] == item]
        out[item] = out[["station", "hi"]].merge(mq, on=["station", "hi"], how="left")["value"].to_numpy(dtype=float)
    return _with_hourly(out, quality_rows.hourly_values(con, "water").to_pandas(), items)


# --- one batch ------------------------------------------------------------------------------------------------------


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


def compute_hours(con: Con, rule: MinuteRule) -> Hours:
    """The rows for ``air_hourly``, ``met_hourly`` and ``water_auto`` of the station-hours gathered by
    :func:`qingshan.hj212.quality_rows.prepare`."""
    quarantine: list[tuple[str, str, str, str]] = []
    a = _out_of_range(air_hours(con, rule), list(SIX), "air", quarantine)
    m = met_hours(con)
    w = _out_of_range(water_hours(con), list(WATER_CODES.values()), "water", quarantine)
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
    """One transaction: take up to ``limit`` pending pairs, recompute their station-hours from the feed's copy of
    the recent rows (or, for older hours, from ``source_data``), write them, drop the pairs, prune the copy.
    Returns the result and the number of pairs taken (0: nothing was pending)."""
    res = FeedResult()
    con.execute("BEGIN TRANSACTION")
    try:
        taken = quality_rows.take_pending(con, limit)
        if not taken:
            con.execute("ROLLBACK")
            return res, 0
        source = quality_rows.choose_source(con)
        defaults, overrides = conversion_tables(quality_rows.feed_devices(con))
        res.rows_read = quality_rows.prepare(con, defaults, overrides, rule.valid_flags, source)
        hours = compute_hours(con, rule)
        iid = feed_import(con, now)
        counts = {"read": res.rows_read, "new": 0, "updated": 0, "unchanged": 0, "quarantined": len(hours.quarantine)}
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
        if source == "hj212_feed_rows":
            quality_rows.prune_rows(con, KEEP_HOURS)
        con.execute("COMMIT")
    except BaseException:
        con.execute("ROLLBACK")
        raise
    res.station_hours = sum(len(x) for x in (hours.air, hours.met, hours.water))
    res.quarantined = len(hours.quarantine)
    res.source = source
    return res, taken


def feed_pending(con: Con, rule: str | MinuteRule | None = None, now: datetime | None = None,
                 ensure: bool = True) -> FeedResult:
    """Feed every pending (MN, hour) pair into the measurement tables, in batches; idempotent.  ``ensure``: create
    the tables first when missing (the hook does it once)."""
    t0 = time.perf_counter()
    r = get_minute_rule(rule)
    if ensure:
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
        if not taken:  # a batch may leave pairs queued (newer hours than an old batch's), so until none is left
            break
        total.source = res.source
    total.seconds = time.perf_counter() - t0
    return total


class QualityFeed:
    """The receiver's ``after_load`` callback: feed what the load queued (and anything a crash left queued).

    ``every`` > 0: feed at most once per ``every`` seconds (a quarter of it after a load that completes an hour:
    :attr:`~qingshan.hj212.store.LoadResult.closes_hour`); a load in between leaves its hours queued (nothing is
    lost: the queue is in the store) and :attr:`behind` says so, for :meth:`flush` — the platform calls it once
    the throttle window has passed, so the last packets of a burst are fed without waiting for the next load, and
    once at start for what a crash left queued.  Each feed recomputes its station-hours from all their rows, so
    with thousands of devices reporting every minute a few seconds between feeds save re-reading the open hour at
    every load."""

    def __init__(self, rule: str | MinuteRule | None = None, every: float = 0.0,
                 clock: Callable[[], float] = time.monotonic) -> None:
        self.rule = get_minute_rule(rule)
        self.every = every
        self.clock = clock
        self.behind = False  # a load was not fed (throttled): flush() has work
        self._ensured: list[Con] = []  # the connection whose tables were ensured (held, so it cannot be confused)
        self._last = -math.inf

    def __call__(self, con: Con, res: LoadResult) -> None:
        # a load that completes an hour waits a quarter of the window at most: the hour that just ended is what the
        # duty officer watches for (the other loads of that minute are fed with it)
        window = self.every / 4 if res.closes_hour else self.every
        if self.every > 0 and self.clock() - self._last < window:
            self.behind = True
            return
        self.flush(con)

    def due(self) -> bool:
        """A throttled load is waiting and its window has passed."""
        return self.behind and self.clock() - self._last >= self.every

    def flush(self, con: Con) -> FeedResult:
        """Feed every queued pair now (on the store's writer)."""
        self._last = self.clock()
        self.behind = False
        out = feed_pending(con, self.rule, ensure=not self._ensured or self._ensured[0] is not con)
        self._ensured[:] = [con]
        if out.station_hours:
            log.debug("入库：%d 个站点小时（%.3f 秒）", out.station_hours, out.seconds)
        return out


def after_load_hook(rule: str | MinuteRule | None = None, every: float = 0.0) -> QualityFeed:
    """The receiver's ``after_load`` callback (:class:`QualityFeed`)."""
    return QualityFeed(rule, every)
