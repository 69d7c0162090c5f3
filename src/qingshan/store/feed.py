"""Writes of the HJ 212 environmental-quality feed (:mod:`qingshan.feeds.quality`;
docs/hj212.md#环境质量站点入库feed).

* Provenance: one ``imports`` row of kind :data:`FEED_KIND` per Beijing day the feed ran (``source`` =
  ``hj212-feed YYYY-MM-DD``), its counts accumulated over the day's batches; every row the feed writes carries
  that ``import_id``, and the packets behind a station-hour are the ``source_data`` rows of its devices for that
  hour (which keep their ``packet_key``).  A per-batch row would add ~86,000 rows a day at one batch a second.
* ``air_hourly``: the feed owns the six pollutant values of the station-hours it writes — an hour recomputed from
  everything it holds **replaces** the stored values, NULL included (a re-sent packet flagged C may invalidate a
  value that was valid).  The importers' merge (:meth:`~.workspace.Workspace.upsert_air_hourly`) never erases a
  value, which is right for files and wrong here.  ``pub_*`` columns are left as they are.
"""

from __future__ import annotations

from datetime import datetime

import duckdb
import pyarrow as pa

from ..standards.pollutants import SIX
from . import eval_cache
from .plausible import check_batch

Con = duckdb.DuckDBPyConnection
FEED_KIND = "hj212-feed"


def feed_import(con: Con, day: datetime) -> int:
    """The ``import_id`` of the feed's ``imports`` row for the Beijing day of ``day`` (created when missing)."""
    source = f"{FEED_KIND} {day:%Y-%m-%d}"
    row = con.execute("SELECT min(import_id) FROM imports WHERE kind = ? AND source = ?", [FEED_KIND, source]).fetchall()
    if row and row[0][0] is not None:
        return int(row[0][0])
    (iid,) = con.execute("SELECT nextval('import_id_seq')").fetchall()[0]
    con.execute("INSERT INTO imports (import_id, kind, source, started_at, rows_read, rows_new, rows_updated, "
                "rows_unchanged, rows_quarantined, messages) VALUES (?, ?, ?, now(), 0, 0, 0, 0, 0, '')",
                [iid, FEED_KIND, source])
    return int(iid)


def add_feed_counts(con: Con, import_id: int, counts: dict[str, int]) -> None:
    """Add a batch's counts to the feed's ``imports`` row and stamp it finished now."""
    con.execute(
        """UPDATE imports SET finished_at = now(), rows_read = rows_read + ?, rows_new = rows_new + ?,
           rows_updated = rows_updated + ?, rows_unchanged = rows_unchanged + ?,
           rows_quarantined = rows_quarantined + ? WHERE import_id = ?""",
        [counts.get(k, 0) for k in ("read", "new", "updated", "unchanged", "quarantined")] + [import_id])


def add_feed_quarantine(con: Con, import_id: int, rows: list[tuple[str, str, str, str]]) -> None:
    """Quarantine entries (source, field, raw, reason) of the feed."""
    if not rows:
        return
    t = pa.table({"source": [r[0] for r in rows], "field": [r[1] for r in rows], "raw": [r[2] for r in rows],
                  "reason": [r[3] for r in rows]})
    con.register("_fq", t)
    try:
        con.execute("INSERT INTO quarantine (import_id, source, line, field, raw, reason) "
                    "SELECT ?, source, NULL, field, raw, reason FROM _fq", [import_id])
    finally:
        con.unregister("_fq")


def replace_air_hours(con: Con, batch: pa.Table, import_id: int) -> dict[str, int]:
    """Write ``batch`` (``station, hi`` and the six pollutants, one row per station-hour, NULL = missing) into
    ``air_hourly``: the six values of a stored station-hour are replaced when any differs; counts of new, updated,
    unchanged station-hours."""
    if not batch.num_rows:
        return {"new": 0, "updated": 0, "unchanged": 0}
    check_batch("air_hourly", batch, list(SIX))
    cols = ", ".join(SIX)
    con.register("_fa", batch)
    try:
        con.execute(
            "CREATE OR REPLACE TEMP TABLE _fas AS SELECT CAST(station AS VARCHAR) AS station, CAST(hi AS INTEGER) AS hi, "
            + ", ".join(f"CAST({c} AS DOUBLE) AS {c}" for c in SIX) + " FROM _fa")
    finally:
        con.unregister("_fa")
    differs = " OR ".join(f"s.{c} IS DISTINCT FROM a.{c}" for c in SIX)
    matched, changed = con.execute(
        f"SELECT count(*), count(*) FILTER (WHERE {differs}) FROM _fas s JOIN air_hourly a USING (station, hi)"
    ).fetchall()[0]
    total = con.execute("SELECT count(*) FROM _fas").fetchall()[0][0]
    eval_cache.note_hours(con, f"SELECT station, hi FROM _fas s WHERE NOT EXISTS (SELECT 1 FROM air_hourly a WHERE a.station = s.station AND a.hi = s.hi AND NOT ({differs}))")  # noqa: E501 - the evaluation cache recomputes new and changed station-days
    if changed:
        sets = ", ".join(f"{c} = s.{c}" for c in SIX)
        con.execute(f"""UPDATE air_hourly a SET {sets}, import_id = {int(import_id)} FROM _fas s
                        WHERE a.station = s.station AND a.hi = s.hi AND ({differs})""")
    con.execute(f"""INSERT INTO air_hourly (station, hi, ts, {cols}, import_id)
                    SELECT station, hi, TIMESTAMP '1970-01-01 00:00:00' + to_hours(hi), {cols}, {int(import_id)}
                    FROM _fas s WHERE NOT EXISTS (SELECT 1 FROM air_hourly a WHERE a.station = s.station
                                                  AND a.hi = s.hi)""")
    con.execute("DROP TABLE IF EXISTS _fas")
    return {"new": int(total - matched), "updated": int(changed), "unchanged": int(matched - changed)}
