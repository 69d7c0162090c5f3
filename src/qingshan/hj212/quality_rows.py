"""The ``source_data`` rows the environmental-quality feed needs (SQL on the HJ 212 tables stays in this package).

The loader queues (MN, hour) pairs of quality devices in ``hj212_feed_pending`` in the same transaction as the
data (:mod:`.store`).  The feed (:mod:`qingshan.feeds.quality`) takes a batch of them with :func:`take_pending`,
gathers every row of **every device of the same station** for those hours with :func:`prepare` (an hour is always
recomputed from all it holds, so a late or re-sent value re-aggregates its hour) into temp tables read by the
functions below — column-wise in DuckDB, no row-at-a-time Python — and, in the same transaction as its writes,
drops the batch with :func:`drop_pending`.

Where the rows are read: a batch whose hours are all at or after ``hj212_feed_horizon.complete_from`` reads the
feed's copy ``hj212_feed_rows`` (the last hours of the quality devices only, a few hundred rows per station-hour),
so its work follows what changed rather than the size of ``source_data``; a batch of older hours (late data,
data loaded before the copy existed, hours pruned from it) reads ``source_data`` as before.  Both run the same
query, so the results are the same (tests/test_feeds.py).
"""

from __future__ import annotations

from collections.abc import Iterable

import duckdb
import pyarrow as pa

from .devices import Device
from .store import HOUR_OF_ROW_SQL, QUALITY_DEVICE_SQL, SCHEMA, _registered, init_feed_horizon, read_devices

Con = duckdb.DuckDBPyConnection


def ensure_tables(con: Con) -> None:
    """The HJ 212 tables (idempotent); the feed may run on a workspace that never received a packet."""
    con.execute(SCHEMA)
    init_feed_horizon(con)


def take_pending(con: Con, limit: int) -> int:
    """Snapshot up to ``limit`` pending (MN, hour) pairs, oldest hours first, into the temp table ``_feed_pending``
    and return how many there are."""
    con.execute("CREATE OR REPLACE TEMP TABLE _feed_pending AS "
                "SELECT mn, hi FROM hj212_feed_pending ORDER BY hi, mn LIMIT ?", [limit])
    return int(con.execute("SELECT count(*) FROM _feed_pending").fetchall()[0][0])


def choose_source(con: Con) -> str:
    """Which table the snapshot's rows are read from: ``hj212_feed_rows`` when every snapshot hour is complete
    there, else ``source_data`` for the snapshot's older hours only (the newer pairs are left out of the snapshot
    and stay queued for the next batch)."""
    (complete_from,) = con.execute("SELECT complete_from FROM hj212_feed_horizon WHERE id = 1").fetchall()[0]
    old = con.execute("SELECT count(*) FROM _feed_pending WHERE hi < ?", [complete_from]).fetchall()[0][0]
    if not old:
        return "hj212_feed_rows"
    con.execute("DELETE FROM _feed_pending WHERE hi >= ?", [complete_from])
    return "source_data"


def prune_rows(con: Con, keep_hours: int) -> int:
    """Drop the copy's rows of hours older than ``keep_hours`` before the snapshot's latest hour, and move the
    horizon past them (a late row of such an hour is then fed from ``source_data``).  Returns the new horizon."""
    newest = con.execute("SELECT max(hi) FROM _feed_pending").fetchall()[0][0]
    (complete_from,) = con.execute("SELECT complete_from FROM hj212_feed_horizon WHERE id = 1").fetchall()[0]
    if newest is None or int(newest) - keep_hours <= complete_from:
        return int(complete_from)
    horizon = int(newest) - keep_hours
    con.execute("DELETE FROM hj212_feed_rows WHERE feed_hi < ?", [horizon])
    con.execute("UPDATE hj212_feed_horizon SET complete_from = ? WHERE id = 1", [horizon])
    return horizon


def drop_pending(con: Con) -> None:
    """Remove the snapshot taken by :func:`take_pending` from the queue (call inside the feed's transaction)."""
    con.execute("DELETE FROM hj212_feed_pending p USING _feed_pending f WHERE p.mn = f.mn AND p.hi = f.hi")


def pending_count(con: Con) -> int:
    return int(con.execute("SELECT count(*) FROM hj212_feed_pending").fetchall()[0][0])


def prepare(con: Con, defaults: pa.Table, overrides: pa.Table, valid_flags: Iterable[str],
            source: str = "source_data") -> int:
    """Build the feed's working tables for the snapshot of :func:`take_pending`; returns the rows read.
    ``source``: ``source_data`` or the feed's copy ``hj212_feed_rows`` (:func:`choose_source`).

    ``defaults`` (``st, factor, kind, q, mult``) says which factor of which ST feeds which quantity and the factor
    to the store's unit; ``overrides`` (``mn, factor, mult``) the devices registered with other units or state.
    A value is ``ok`` when it is a finite number and its flag (NULL = N) is in ``valid_flags``.

    * ``_feed_rows``: every 2011/2051/2061 row of the quality devices of each snapshot station for the snapshot's
      hours — ``station, mn, cn, kind, q, data_time, period_end, hi`` (the row's end-of-hour label), ``value``
      (``Rtd`` for 2011, else ``Avg``, × mult), ``ok``, ``seq`` (arrival order: received_at, then packet key);
    * ``_feed_hourly``: the 2061 value of each station, hour, quantity (the later arrival; NULL when not ok);
    * ``_feed_minutes``: one row per station, quantity and minute ``mi`` (minutes since 1970-01-01 Beijing,
      labelled by the end of the minute) inside its hour: a 2051 period of k minutes gives its k minutes, a minute
      sent twice keeps the later arrival; 2011 instants give the mean of the valid values of their minute, only
      where the station-hour-quantity has no 2051 minute.
    """
    if source not in ("source_data", "hj212_feed_rows"):
        raise ValueError(f"unknown feed source {source!r}")
    hour = HOUR_OF_ROW_SQL.format(p="s.") if source == "source_data" else "s.feed_hi"
    # the copy is appended in arrival order, so its row groups hold few hours each: a range on feed_hi (implied by
    # the join) lets DuckDB skip the groups of the other hours the copy keeps instead of scanning them all
    hours = "" if source == "source_data" else "AND s.feed_hi BETWEEN {lo} AND {hi}"
    quality = " AND ".join(f"d.{c.strip()}" for c in QUALITY_DEVICE_SQL.split(" AND "))
    flags = ", ".join("'" + f.replace("'", "''") + "'" for f in sorted(valid_flags)) or "NULL"
    con.execute(f"""
        CREATE OR REPLACE TEMP TABLE _feed_mn AS
        WITH sh AS (SELECT DISTINCT d.station, p.hi FROM _feed_pending p JOIN hj212_devices d USING (mn)
                    WHERE d.station IS NOT NULL)
        SELECT d.mn, d.st, sh.station, sh.hi, coalesce(d.min_interval, 1) AS minutes
        FROM sh JOIN hj212_devices d ON d.station = sh.station AND {quality}""")
    lo, hi, longest = con.execute("SELECT min(hi), max(hi), max(minutes) FROM _feed_mn").fetchall()[0]
    lo, hi, longest = (0, -1, 1) if lo is None else (int(lo), int(hi), int(longest))
    with _registered(con, "_feed_defaults", defaults), _registered(con, "_feed_overrides", overrides):
        con.execute(f"""
            CREATE OR REPLACE TEMP TABLE _feed_rows AS
            WITH b AS (
                SELECT m.station, s.mn, s.cn, f.kind, f.q, s.data_time, s.period_end, m.hi,
                       (CASE WHEN s.cn = '2011' THEN s.rtd ELSE s.avg END) * coalesce(o.mult, f.mult) AS value,
                       s.flag, s.received_at, s.packet_key
                FROM {source} s
                JOIN _feed_mn m ON s.mn = m.mn AND {hour} = m.hi
                JOIN _feed_defaults f ON f.st = m.st AND f.factor = s.factor
                LEFT JOIN _feed_overrides o ON o.mn = s.mn AND o.factor = s.factor
                WHERE s.cn IN ('2011', '2051', '2061')
                  -- the DataTimes that can belong to the hours (a 2061 starts an hour before its label, a 2051
                  -- period up to the longest registered interval before it): DuckDB skips the other row groups
                  AND s.data_time BETWEEN TIMESTAMP '1970-01-01' + to_hours({lo} - 2) - to_minutes({longest})
                                      AND TIMESTAMP '1970-01-01' + to_hours({hi})
                  {hours.format(lo=lo, hi=hi)}
            )
            SELECT station, mn, cn, kind, q, data_time, period_end, hi, value,
                   value IS NOT NULL AND isfinite(value) AND coalesce(flag, 'N') IN ({flags}) AS ok,
                   -- arrival order as one BIGINT: received_at (ms), ties broken by the packet key's low digits
                   epoch_ms(received_at) * 1000000 + CAST(abs(packet_key % 1000000) AS BIGINT) AS seq
            FROM b""")
    con.execute("""
        CREATE OR REPLACE TEMP TABLE _feed_hourly AS
        SELECT station, hi, kind, q, arg_max(value, seq) AS value, arg_max(ok, seq) AS ok
        FROM _feed_rows WHERE cn = '2061' GROUP BY station, hi, kind, q;
        CREATE OR REPLACE TEMP TABLE _feed_m51 AS
        WITH r AS (
            SELECT station, kind, q, hi, value, ok, seq,
                   CAST(epoch(date_trunc('minute', data_time)) // 60 AS BIGINT) AS sm,
                   CAST(coalesce(epoch(date_trunc('minute', period_end)) // 60,
                                 epoch(date_trunc('minute', data_time)) // 60 + 1) AS BIGINT) AS em
            FROM _feed_rows WHERE cn = '2051'
        ), e AS (
            SELECT station, kind, q, hi, value, ok, seq, em AS mi FROM r WHERE em - sm <= 1
            UNION ALL  -- periods of several minutes: each of their minutes
            SELECT station, kind, q, hi, value, ok, seq, em - unnest(range(em - sm)) AS mi FROM r WHERE em - sm > 1
        )
        SELECT station, kind, q, hi, mi, arg_max(value, seq) AS value, arg_max(ok, seq) AS ok
        FROM e WHERE CAST(ceil(mi / 60) AS BIGINT) = hi GROUP BY station, kind, q, hi, mi;
        CREATE OR REPLACE TEMP TABLE _feed_minutes AS
        SELECT station, kind, q, hi, mi, value, ok FROM _feed_m51
        UNION ALL
        SELECT station, kind, q, hi, CAST(epoch(date_trunc('minute', data_time)) // 60 AS BIGINT) + 1 AS mi,
               avg(value) FILTER (WHERE ok) AS value, bool_or(ok) AS ok
        FROM _feed_rows r WHERE cn = '2011' AND NOT EXISTS (
            SELECT 1 FROM _feed_m51 x WHERE x.station = r.station AND x.q = r.q AND x.hi = r.hi)
        GROUP BY ALL""")
    return int(con.execute("SELECT count(*) FROM _feed_rows").fetchall()[0][0])


def _arrow(con: Con, sql: str, params: list | None = None) -> pa.Table:
    rel = con.sql(sql, params=params or None)
    f = getattr(rel, "to_arrow_table", None) or rel.arrow
    return f()


def station_hours(con: Con, kind: str) -> pa.Table:
    """``station, hi`` of every station-hour with rows of ``kind`` (air | met | water), sorted."""
    return _arrow(con, "SELECT DISTINCT station, hi FROM _feed_rows WHERE kind = ? ORDER BY station, hi", [kind])


def hourly_values(con: Con, kind: str) -> pa.Table:
    """``station, hi, q, value`` (NULL when its flag is not valid) of the 2061 values of ``kind``."""
    return _arrow(con, "SELECT station, hi, q, CASE WHEN ok THEN value END AS value FROM _feed_hourly "
                       "WHERE kind = ? ORDER BY station, hi, q", [kind])


def minutes_wide(con: Con, kind: str, quantities: Iterable[str]) -> pa.Table:
    """The minutes of ``kind`` as one row per station and minute for
    :func:`qingshan.evaluate.minutes.aggregate_minutes`: ``station, ts`` (end of the minute), per quantity its
    value and ``<q>_flag`` (``N`` when valid, ``X`` when not; NULL when not sent)."""
    cols = []
    for q in quantities:
        cols.append(f"max(value) FILTER (WHERE q = '{q}') AS \"{q}\"")
        cols.append(f"max(CASE WHEN ok THEN 'N' ELSE 'X' END) FILTER (WHERE q = '{q}') AS \"{q}_flag\"")
    return _arrow(con, f"""SELECT station, TIMESTAMP '1970-01-01' + to_minutes(mi) AS ts, {", ".join(cols)}
                           FROM _feed_minutes WHERE kind = ? GROUP BY station, mi ORDER BY station, mi""", [kind])


def minutes_grouped(con: Con, kind: str) -> pa.Table:
    """``g, q, mi, value, ok`` of the minutes of ``kind``; ``g`` is the position of the row's station-hour in
    :func:`station_hours` (0-based)."""
    return _arrow(con, """
        WITH k AS (SELECT station, hi, row_number() OVER (ORDER BY station, hi) - 1 AS g
                   FROM (SELECT DISTINCT station, hi FROM _feed_rows WHERE kind = ?))
        SELECT k.g, m.q, m.mi, m.value, m.ok FROM _feed_minutes m JOIN k USING (station, hi)
        WHERE m.kind = ? ORDER BY k.g, m.q, m.mi""", [kind, kind])


def minute_means(con: Con, kind: str) -> pa.Table:
    """``station, hi, q, value``: the mean of the valid minutes of each station, hour and quantity (any count)."""
    return _arrow(con, "SELECT station, hi, q, avg(value) FILTER (WHERE ok) AS value FROM _feed_minutes "
                       "WHERE kind = ? GROUP BY station, hi, q ORDER BY station, hi, q", [kind])


def feed_devices(con: Con) -> list[Device]:
    """The registered quality devices with their own units or state (the others use the defaults)."""
    rows = con.execute(f"SELECT mn FROM hj212_devices WHERE {QUALITY_DEVICE_SQL} "
                       "AND (units IS NOT NULL OR state IS NOT NULL)").fetchall()
    return list(read_devices(con, registered_only=True, mns=[r[0] for r in rows]).values()) if rows else []
