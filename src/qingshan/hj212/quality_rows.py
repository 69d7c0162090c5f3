"""The ``source_data`` rows the environmental-quality feed needs (SQL on the HJ 212 tables stays in this package).

The loader queues (MN, hour) pairs of quality devices in ``hj212_feed_pending`` in the same transaction as the
data (:mod:`.store`).  The feed (:mod:`qingshan.feeds.quality`) takes a batch of them with :func:`take_pending`,
reads every row of **every device of the same station** for those hours with :func:`station_hour_rows` (an hour
is always recomputed from all it holds, so a late or re-sent value re-aggregates its hour) and, in the same
transaction as its writes, drops the batch with :func:`drop_pending`.
"""

from __future__ import annotations

from collections.abc import Iterable

import duckdb
import pyarrow as pa

from .devices import Device
from .store import HOUR_OF_ROW_SQL, QUALITY_DEVICE_SQL, SCHEMA, read_devices

Con = duckdb.DuckDBPyConnection

#: Columns of :func:`station_hour_rows`, in order of arrival (``received_at``, then packet key).
ROW_COLUMNS = ("station", "mn", "cn", "factor", "data_time", "period_end", "hi", "value", "flag", "received_at")


def ensure_tables(con: Con) -> None:
    """The HJ 212 tables (idempotent); the feed may run on a workspace that never received a packet."""
    con.execute(SCHEMA)


def take_pending(con: Con, limit: int) -> int:
    """Snapshot up to ``limit`` pending (MN, hour) pairs, oldest hours first, into the temp table ``_feed_pending``
    and return how many there are."""
    con.execute("CREATE OR REPLACE TEMP TABLE _feed_pending AS "
                "SELECT mn, hi FROM hj212_feed_pending ORDER BY hi, mn LIMIT ?", [limit])
    return int(con.execute("SELECT count(*) FROM _feed_pending").fetchall()[0][0])


def drop_pending(con: Con) -> None:
    """Remove the snapshot taken by :func:`take_pending` from the queue (call inside the feed's transaction)."""
    con.execute("DELETE FROM hj212_feed_pending p USING _feed_pending f WHERE p.mn = f.mn AND p.hi = f.hi")


def pending_count(con: Con) -> int:
    return int(con.execute("SELECT count(*) FROM hj212_feed_pending").fetchall()[0][0])


def station_hour_rows(con: Con) -> pa.Table:
    """Every 2011/2051/2061 row of the quality devices of each station in the snapshot, for the snapshot's hours:
    ``station, mn, cn, factor, data_time, period_end, hi`` (the row's end-of-hour label), ``value`` (``Rtd`` for
    2011, ``Avg`` otherwise, as sent), ``flag`` (表8, as sent), ``received_at``; in order of arrival."""
    hour = HOUR_OF_ROW_SQL.format(p="s.")
    quality = " AND ".join(f"d.{c.strip()}" for c in QUALITY_DEVICE_SQL.split(" AND "))
    con.execute(f"""
        CREATE OR REPLACE TEMP TABLE _feed_mn AS
        WITH sh AS (SELECT DISTINCT d.station, p.hi FROM _feed_pending p JOIN hj212_devices d USING (mn)
                    WHERE d.station IS NOT NULL)
        SELECT d.mn, sh.station, sh.hi FROM sh JOIN hj212_devices d ON d.station = sh.station AND {quality}""")
    lo, hi = con.execute("SELECT min(hi), max(hi) FROM _feed_mn").fetchall()[0]
    if lo is None:
        return pa.table({c: pa.array([], pa.string()) for c in ROW_COLUMNS})
    # a generous DataTime window around the hours lets DuckDB skip row groups (a 2051 period is ≤ 1 day)
    rel = con.sql(f"""
        SELECT m.station, s.mn, s.cn, s.factor, s.data_time, s.period_end, m.hi,
               CASE WHEN s.cn = '2011' THEN s.rtd ELSE s.avg END AS value, s.flag, s.received_at
        FROM source_data s JOIN _feed_mn m ON s.mn = m.mn AND {hour} = m.hi
        WHERE s.cn IN ('2011', '2051', '2061')
          AND s.data_time BETWEEN TIMESTAMP '1970-01-01' + to_hours({int(lo)} - 26)
                              AND TIMESTAMP '1970-01-01' + to_hours({int(hi)})
        ORDER BY s.received_at, s.packet_key""")
    f = getattr(rel, "to_arrow_table", None) or rel.arrow
    return f()


def quality_devices(con: Con, mns: Iterable[str]) -> dict[str, Device]:
    """The registry entries of ``mns`` (registered or not)."""
    return read_devices(con, registered_only=False, mns=mns)
