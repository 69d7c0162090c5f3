"""Hourly meteorology of the stations (``met_hourly``, migration 3; docs/store.md#met_hourly).

One row per station-hour: ``hi`` (hours since 1970-01-01 Beijing, labelled by the end of the hour, like
``air_hourly``) and ``ts`` (its naive Beijing timestamp), ``temp`` (°C), ``rh`` (%), ``pressure`` (hPa),
``wind_speed`` (m/s, scalar mean), ``wind_dir`` (degrees clockwise from north, where the wind comes from; unit-vector
mean, NULL for a calm or undefined hour), ``*_minutes`` (valid minutes behind each value; NULL when the value is
the device's own hourly value, CN 2061), ``import_id`` of the write that last changed the row.

Written by the HJ 212 feed (:mod:`qingshan.feeds.quality`) with :func:`upsert_met_hourly`: a row is replaced as a
whole when anything differs (an hour is always recomputed from everything it holds), so re-feeding the same data
changes nothing.
"""

from __future__ import annotations

import duckdb
import pandas as pd
import pyarrow as pa

from .schema import MET_COUNTS, MET_SCHEMA, MET_VALUES, has_table  # the migration (3) owns the DDL

Con = duckdb.DuckDBPyConnection

MET_UNITS: dict[str, str] = {"temp": "℃", "rh": "%", "pressure": "hPa", "wind_speed": "m/s", "wind_dir": "°"}
SCHEMA = MET_SCHEMA
__all__ = ["MET_COUNTS", "MET_UNITS", "MET_VALUES", "ensure_schema", "latest_met_hour", "met_hours",
           "upsert_met_hourly"]


def ensure_schema(con: Con) -> None:
    """Create ``met_hourly`` when missing (migration 3 and the feed)."""
    con.execute(SCHEMA)


def upsert_met_hourly(con: Con, batch: pa.Table, import_id: int) -> dict[str, int]:
    """Merge ``batch`` (``station, hi`` and any of the value and count columns; one row per station-hour) under
    ``import_id``; a row that differs in any column is replaced as a whole.  Counts of new, updated, unchanged."""
    if not batch.num_rows:
        return {"new": 0, "updated": 0, "unchanged": 0}
    cols = [c for c in (*MET_VALUES, *MET_COUNTS)]
    missing = [c for c in cols if c not in batch.column_names]
    for c in missing:
        batch = batch.append_column(c, pa.nulls(batch.num_rows, pa.float64() if c in MET_VALUES else pa.int32()))
    con.register("_met", batch)
    try:
        con.execute(
            "CREATE OR REPLACE TEMP TABLE _ms AS SELECT CAST(station AS VARCHAR) AS station, "
            "CAST(hi AS INTEGER) AS hi, TIMESTAMP '1970-01-01 00:00:00' + to_hours(CAST(hi AS INTEGER)) AS ts, "
            + ", ".join(f"CAST({c} AS {'DOUBLE' if c in MET_VALUES else 'INTEGER'}) AS {c}" for c in cols)
            + f", CAST({int(import_id)} AS INTEGER) AS import_id FROM _met")
    finally:
        con.unregister("_met")
    differs = " OR ".join(f"s.{c} IS DISTINCT FROM t.{c}" for c in cols)
    matched, changed = con.execute(
        f"SELECT count(*), count(*) FILTER (WHERE {differs}) FROM _ms s JOIN met_hourly t USING (station, hi)"
    ).fetchall()[0]
    total = con.execute("SELECT count(*) FROM _ms").fetchall()[0][0]
    con.execute(f"DELETE FROM met_hourly t USING _ms s WHERE t.station = s.station AND t.hi = s.hi AND ({differs})")
    con.execute("DELETE FROM _ms s USING met_hourly t WHERE t.station = s.station AND t.hi = s.hi")
    con.execute("INSERT INTO met_hourly SELECT station, hi, ts, "
                + ", ".join(cols) + ", import_id FROM _ms")
    con.execute("DROP TABLE IF EXISTS _ms")
    return {"new": int(total - matched), "updated": int(changed), "unchanged": int(matched - changed)}


def met_hours(con: Con, stations: list[str] | None, first_hi: int, last_hi: int) -> pd.DataFrame:
    """The ``met_hourly`` rows of ``stations`` (all when None) with ``first_hi ≤ hi ≤ last_hi``, by station and
    hour; an empty frame when the store has no ``met_hourly`` (read-only opening of an old store)."""
    cols = ["station", "hi", "ts", *MET_VALUES, *MET_COUNTS, "import_id"]
    if not has_table(con, "met_hourly"):
        return pd.DataFrame(columns=cols)
    where, params = "hi BETWEEN ? AND ?", [first_hi, last_hi]
    if stations is not None:
        where += " AND station IN (SELECT unnest(?))"
        params.append(list(stations))
    return con.execute(f"SELECT {', '.join(cols)} FROM met_hourly WHERE {where} ORDER BY station, hi", params).df()


def latest_met_hour(con: Con, station: str | None = None) -> int | None:
    """The latest hour held in ``met_hourly`` (of ``station`` when given); None when there is none."""
    if not has_table(con, "met_hourly"):
        return None
    sql, params = "SELECT max(hi) FROM met_hourly", []
    if station is not None:
        sql, params = sql + " WHERE station = ?", [station]
    v = con.execute(sql, params).fetchall()[0][0]
    return None if v is None else int(v)
