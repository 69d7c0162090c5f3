"""The air engine's cache of derived daily values (migration 8, docs/performance.md#incremental-evaluation).

``air_eval_daily`` holds station daily rows and ``air_eval_group_daily`` city/district/town daily rows exactly as
:func:`qingshan.evaluate.air.station_daily` and ``group_daily`` produce them; ``air_eval_coverage`` records which
day ranges were built from which data (reviewed or raw, dust deducted or not). Everything here is derived from
``air_hourly`` and may be dropped and rebuilt at any time (:func:`clear`)."""

from __future__ import annotations

import duckdb
import pyarrow as pa

STATION_TABLE = "air_eval_daily"
GROUP_TABLE = "air_eval_group_daily"


def _replace(con: duckdb.DuckDBPyConnection, table: str, rows: pa.Table, keys: pa.Table, key_cols: list[str],
             first_day: int, last_day: int, every_key: bool = False) -> None:
    con.register("_cache_rows", rows)
    con.register("_cache_keys", keys)
    try:
        con.execute("BEGIN TRANSACTION")
        match = " AND ".join(f"t.{k} = k.{k}" for k in (key_cols if not every_key else key_cols[:-1]))
        exists = f" AND EXISTS (SELECT 1 FROM _cache_keys k WHERE {match})" if match else ""
        con.execute(f"DELETE FROM {table} t WHERE t.day BETWEEN {int(first_day)} AND {int(last_day)}{exists}")
        if rows.num_rows:
            con.execute(f"INSERT INTO {table} BY NAME SELECT * FROM _cache_rows")
        con.execute("COMMIT")
    except Exception:
        con.execute("ROLLBACK")
        raise
    finally:
        con.unregister("_cache_rows")
        con.unregister("_cache_keys")


def replace_station_daily(con: duckdb.DuckDBPyConnection, rows: pa.Table, stations: list[str] | None, first_day: int,
                          last_day: int) -> None:
    """The cached rows of ``stations`` (None: of every station) in ``first_day … last_day`` become ``rows`` (one
    transaction)."""
    _replace(con, STATION_TABLE, rows, pa.table({"station": pa.array(stations or [], pa.string())}), ["station"],
             first_day, last_day, every_key=stations is None)


def replace_group_daily(con: duckdb.DuckDBPyConnection, level: str, rows: pa.Table, names: list[str] | None,
                        first_day: int, last_day: int) -> None:
    """The cached ``level`` rows (city, district, town) of ``names`` (None: every group of the level) in
    ``first_day … last_day`` become ``rows``."""
    rows = rows.append_column("grp_level", pa.array([level] * rows.num_rows, pa.string()))
    names = [] if names is None else names
    keys = pa.table({"grp_level": pa.array([level] * max(1, len(names)), pa.string()),
                     "station": pa.array(names or [None], pa.string())})
    _replace(con, GROUP_TABLE, rows, keys, ["grp_level", "station"], first_day, last_day, every_key=not names)


def station_daily_query(stations_view: str | None = None) -> str:
    """SQL over the cached station daily rows (columns of ``station_daily``), optionally only the stations listed
    in the ``station`` column of a registered view."""
    where = f" WHERE station IN (SELECT station FROM {stations_view})" if stations_view else ""
    return f"SELECT * EXCLUDE (hours) FROM {STATION_TABLE}{where}"


def group_daily_query(level: str, names_view: str | None = None) -> str:
    """SQL over the cached ``level`` daily rows (columns of ``group_daily``, the group in ``station``)."""
    where = f" AND station IN (SELECT station FROM {names_view})" if names_view else ""
    return f"SELECT * EXCLUDE (grp_level) FROM {GROUP_TABLE} WHERE grp_level = '{level}'{where}"


def station_daily_rows(con: duckdb.DuckDBPyConnection, first_day: int, last_day: int, columns: list[str]) -> pa.Table:
    """Cached station daily rows of ``first_day … last_day`` (the given columns, plus station and day)."""
    cols = ", ".join(["station", "day", *columns])
    return con.sql(f"SELECT {cols} FROM {STATION_TABLE} WHERE day BETWEEN {int(first_day)} AND {int(last_day)}"
                   ).to_arrow_table()


def coverage(con: duckdb.DuckDBPyConnection, data: str, exclude_dust: bool) -> list[tuple[int, int]]:
    """Day ranges built from ``data`` with ``exclude_dust``."""
    return [(int(a), int(b)) for a, b in con.execute(
        "SELECT first_day, last_day FROM air_eval_coverage WHERE data = ? AND exclude_dust = ? ORDER BY 1",
        [data, exclude_dust]).fetchall()]


def record_coverage(con: duckdb.DuckDBPyConnection, first_day: int, last_day: int, data: str, exclude_dust: bool) -> None:
    con.execute("INSERT INTO air_eval_coverage (first_day, last_day, data, exclude_dust) VALUES (?, ?, ?, ?)",
                [first_day, last_day, data, exclude_dust])


def clear(con: duckdb.DuckDBPyConnection) -> None:
    """Drop every cached value (they are rebuilt from air_hourly on demand)."""
    for t in (STATION_TABLE, GROUP_TABLE, "air_eval_coverage"):
        con.execute(f"DELETE FROM {t}")


def _replace_days(con: duckdb.DuckDBPyConnection, table: str, rows: pa.Table, names: list[str], days: list[int],
                  level: str | None = None) -> None:
    con.register("_cache_rows", rows)
    con.register("_cache_names", pa.table({"station": pa.array(names, pa.string())}))
    con.register("_cache_days", pa.table({"day": pa.array(days, pa.int64())}))
    try:
        con.execute("BEGIN TRANSACTION")
        lvl = f"grp_level = '{level}' AND " if level else ""
        con.execute(f"DELETE FROM {table} WHERE {lvl}station IN (SELECT station FROM _cache_names) "
                    "AND day IN (SELECT day FROM _cache_days)")
        if rows.num_rows:
            con.execute(f"INSERT INTO {table} BY NAME SELECT * FROM _cache_rows")
        con.execute("COMMIT")
    except Exception:
        con.execute("ROLLBACK")
        raise
    finally:
        for v in ("_cache_rows", "_cache_names", "_cache_days"):
            con.unregister(v)


def replace_station_daily_days(con: duckdb.DuckDBPyConnection, rows: pa.Table, stations: list[str],
                               days: list[int]) -> None:
    """The cached rows of ``stations`` × ``days`` become ``rows`` (one transaction)."""
    _replace_days(con, STATION_TABLE, rows, stations, days)


def replace_group_daily_days(con: duckdb.DuckDBPyConnection, level: str, rows: pa.Table, names: list[str],
                             days: list[int]) -> None:
    """The cached ``level`` rows of ``names`` × ``days`` become ``rows`` (one transaction)."""
    rows = rows.append_column("grp_level", pa.array([level] * rows.num_rows, pa.string()))
    _replace_days(con, GROUP_TABLE, rows, names, days, level)
