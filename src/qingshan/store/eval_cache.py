"""The air engine's cache of derived daily values (migrations 8 and 9, docs/performance.md#incremental-evaluation).

``air_eval_daily`` holds station daily rows and ``air_eval_group_daily`` city/district/town daily rows exactly as
:func:`qingshan.evaluate.air.station_daily` and ``group_daily`` produce them; ``air_eval_month`` the same values
of each entity (``station:<code>``, ``city:<name>`` …) and month as 31-day blocks (the statistic sources and the
day flags of :class:`qingshan.evaluate.period_arrays.DailyMatrix`), so that a year to date reads ≤ 12 rows per
entity; ``air_eval_coverage`` records which day ranges were built from which data (reviewed or raw, dust deducted
or not) and under which fingerprint (engine version and station register).

``air_eval_pending`` lists the station-days written since the cache last caught up: every function of the store
that changes ``air_hourly`` or the review marks calls :func:`note_hours` or :func:`note_range` *before* its write
(a crash between the two leaves an entry too many, never one too few), whoever runs it — the platform's writer or
a command line with no platform running. :func:`qingshan.evaluate.incremental.refresh` drains the list.

Everything here is derived from ``air_hourly`` and may be dropped and rebuilt at any time (:func:`clear`)."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

import duckdb
import pyarrow as pa

#: connections (by id) inside a :func:`transaction` block
_OPEN: set[int] = set()


@contextmanager
def transaction(con: duckdb.DuckDBPyConnection) -> Iterator[None]:
    """One transaction around the block; a block inside another's (on the same connection or cursor) joins it, so
    an incremental update writes its daily rows, month blocks and forgotten notes all or nothing."""
    if id(con) in _OPEN:
        yield
        return
    con.execute("BEGIN TRANSACTION")
    _OPEN.add(id(con))
    try:
        yield
        con.execute("COMMIT")
    except BaseException:
        con.execute("ROLLBACK")
        raise
    finally:
        _OPEN.discard(id(con))


STATION_TABLE = "air_eval_daily"
GROUP_TABLE = "air_eval_group_daily"
MONTH_TABLE = "air_eval_month"
PENDING_TABLE = "air_eval_pending"


def _replace(con: duckdb.DuckDBPyConnection, table: str, rows: pa.Table, keys: pa.Table, key_cols: list[str],
             first_day: int, last_day: int, every_key: bool = False) -> None:
    con.register("_cache_rows", rows)
    con.register("_cache_keys", keys)
    try:
        with transaction(con):
            match = " AND ".join(f"t.{k} = k.{k}" for k in (key_cols if not every_key else key_cols[:-1]))
            exists = f" AND EXISTS (SELECT 1 FROM _cache_keys k WHERE {match})" if match else ""
            con.execute(f"DELETE FROM {table} t WHERE t.day BETWEEN {int(first_day)} AND {int(last_day)}{exists}")
            if rows.num_rows:
                con.execute(f"INSERT INTO {table} BY NAME SELECT * FROM _cache_rows")
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


def station_daily_rows(con: duckdb.DuckDBPyConnection, first_day: int, last_day: int, columns: list[str]) -> pa.Table:
    """Cached station daily rows of ``first_day … last_day`` (the given columns, plus station and day)."""
    cols = ", ".join(["station", "day", *columns])
    return con.sql(f"SELECT {cols} FROM {STATION_TABLE} WHERE day BETWEEN {int(first_day)} AND {int(last_day)}"
                   ).to_arrow_table()


def coverage(con: duckdb.DuckDBPyConnection, data: str, exclude_dust: bool,
             fingerprint: str | None = None) -> list[tuple[int, int]]:
    """Day ranges built from ``data`` with ``exclude_dust`` (and, when given, under ``fingerprint``)."""
    fp = " AND fingerprint = ?" if fingerprint is not None else ""
    return [(int(a), int(b)) for a, b in con.execute(
        f"SELECT first_day, last_day FROM air_eval_coverage WHERE data = ? AND exclude_dust = ?{fp} ORDER BY 1",
        [data, exclude_dust, *([fingerprint] if fingerprint is not None else [])]).fetchall()]


def covered(con: duckdb.DuckDBPyConnection) -> list[tuple[int, int, str, bool, str | None]]:
    """Every built day range: ``(first_day, last_day, data, exclude_dust, fingerprint)``."""
    return [(int(a), int(b), str(d), bool(x), f) for a, b, d, x, f in con.execute(
        "SELECT first_day, last_day, data, exclude_dust, fingerprint FROM air_eval_coverage ORDER BY 1").fetchall()]


def record_coverage(con: duckdb.DuckDBPyConnection, first_day: int, last_day: int, data: str, exclude_dust: bool,
                    fingerprint: str | None = None) -> None:
    """The days ``first_day … last_day`` now hold values built from ``data``: any other record of those days goes
    (the cache holds one kind of data per day)."""
    con.execute("DELETE FROM air_eval_coverage WHERE first_day <= ? AND last_day >= ?", [last_day, first_day])
    con.execute("INSERT INTO air_eval_coverage (first_day, last_day, data, exclude_dust, fingerprint) "
                "VALUES (?, ?, ?, ?, ?)", [first_day, last_day, data, exclude_dust, fingerprint])


def clear(con: duckdb.DuckDBPyConnection) -> None:
    """Drop every cached value (they are rebuilt from air_hourly on demand)."""
    _changed(con)
    for t in (STATION_TABLE, GROUP_TABLE, MONTH_TABLE, PENDING_TABLE, "air_eval_coverage"):
        con.execute(f"DELETE FROM {t}")


# --- month blocks ---------------------------------------------------------------------------------------------


#: per database file, a number that changes whenever its month blocks change in this process (a writer's
#: in-memory copy of blocks is current while the number is unchanged; DuckDB lets one process write a file)
_GENERATION: dict[str, int] = {}


def database(con: duckdb.DuckDBPyConnection) -> str | None:
    """The file of the connection's database (None in memory: several in-memory databases share a name)."""
    path = con.execute("SELECT path FROM duckdb_databases() WHERE database_name = current_database()").fetchall()
    return str(path[0][0]) if path and path[0][0] else None


def generation(con: duckdb.DuckDBPyConnection) -> int | None:
    """The month blocks' change number of the connection's database in this process (:data:`_GENERATION`);
    None for a database in memory."""
    db = database(con)
    return None if db is None else _GENERATION.get(db, 0)


def _changed(con: duckdb.DuckDBPyConnection) -> None:
    db = database(con)
    if db is not None:
        _GENERATION[db] = _GENERATION.get(db, 0) + 1


def replace_month_blocks(con: duckdb.DuckDBPyConnection, blocks: pa.Table, keys: list[str] | None,
                         months: list[int]) -> None:
    """The month blocks of ``keys`` (None: of every entity) in ``months`` become ``blocks`` (one transaction)."""
    _changed(con)
    con.register("_month_rows", blocks)
    con.register("_month_keys", pa.table({"key": pa.array(keys or [], pa.string())}))
    try:
        with transaction(con):
            only = " AND key IN (SELECT key FROM _month_keys)" if keys is not None else ""
            con.execute(f"DELETE FROM {MONTH_TABLE} WHERE month IN ({', '.join(str(int(m)) for m in months)}){only}")
            if blocks.num_rows:
                con.execute(f"INSERT INTO {MONTH_TABLE} BY NAME SELECT * FROM _month_rows")
    finally:
        con.unregister("_month_rows")
        con.unregister("_month_keys")


def month_blocks(con: duckdb.DuckDBPyConnection, first_month: int, last_month: int,
                 keys_view: str | None = None) -> pa.Table:
    """The month blocks of ``first_month … last_month`` (of the entities listed in the ``key`` column of a
    registered view, when given)."""
    only = f" AND key IN (SELECT key FROM {keys_view})" if keys_view else ""
    return con.sql(f"SELECT * FROM {MONTH_TABLE} WHERE month BETWEEN {int(first_month)} AND {int(last_month)}{only}"
                   ).to_arrow_table()


# --- station-days written since the cache caught up -----------------------------------------------------------


def _covered_days(con: duckdb.DuckDBPyConnection) -> str | None:
    """A SQL condition on ``day`` true inside the built ranges; None when nothing is built (nothing to note)."""
    try:
        ranges = con.execute("SELECT DISTINCT first_day, last_day FROM air_eval_coverage").fetchall()
    except duckdb.CatalogException:  # a store without the cache's tables (a lake's, a test's): nothing cached
        return None
    if not ranges:
        return None
    return "(" + " OR ".join(f"day BETWEEN {int(a)} AND {int(b)}" for a, b in ranges) + ")"


def note_hours(con: duckdb.DuckDBPyConnection, relation: str) -> None:
    """Note the station-days of the ``station, hi`` rows of ``relation`` (a table, view or ``SELECT``) as written:
    call it before writing them to ``air_hourly``."""
    cond = _covered_days(con)
    if cond is not None:
        con.execute(f"INSERT INTO {PENDING_TABLE} SELECT DISTINCT * FROM (SELECT CAST(station AS VARCHAR) AS station, "
                    f"(CAST(hi AS BIGINT) - 1) // 24 AS day FROM ({_relation(relation)})) WHERE {cond}")


def note_range(con: duckdb.DuckDBPyConnection, station: str, hi_from: int, hi_to: int) -> None:
    """Note the station-days of ``station``'s hours ``hi_from … hi_to`` as changed (a review mark)."""
    cond = _covered_days(con)
    if cond is not None:
        con.execute(f"INSERT INTO {PENDING_TABLE} SELECT ? AS station, day FROM range(?, ?) t(day) WHERE {cond}",
                    [station, (int(hi_from) - 1) // 24, (int(hi_to) - 1) // 24 + 1])


def _relation(relation: str) -> str:
    return relation if relation.lstrip().upper().startswith("SELECT") else f"SELECT * FROM {relation}"


def pending(con: duckdb.DuckDBPyConnection) -> pa.Table:
    """The distinct noted station-days (``station``, ``day``)."""
    return con.sql(f"SELECT DISTINCT station, day FROM {PENDING_TABLE} ORDER BY 1, 2").to_arrow_table()


def has_pending(con: duckdb.DuckDBPyConnection, first_day: int | None = None, last_day: int | None = None) -> bool:
    """Are station-days noted (in ``first_day … last_day``, when given)?"""
    where = f" WHERE day BETWEEN {int(first_day)} AND {int(last_day)}" if first_day is not None else ""
    try:
        return bool(con.execute(f"SELECT count(*) FROM (SELECT 1 FROM {PENDING_TABLE}{where} LIMIT 1)").fetchall()[0][0])
    except duckdb.CatalogException:  # a store without the cache's tables
        return False


def drop_pending_days(con: duckdb.DuckDBPyConnection, first_day: int, last_day: int) -> None:
    """Forget the noted station-days of ``first_day … last_day`` (rebuilt, or no longer cached)."""
    con.execute(f"DELETE FROM {PENDING_TABLE} WHERE day BETWEEN {int(first_day)} AND {int(last_day)}")


def drop_pending_uncovered(con: duckdb.DuckDBPyConnection) -> None:
    """Forget the noted station-days outside every built range (nothing cached to correct)."""
    cond = _covered_days(con)
    con.execute(f"DELETE FROM {PENDING_TABLE}" + (f" WHERE NOT {cond}" if cond else ""))


def drop_pending(con: duckdb.DuckDBPyConnection, done: pa.Table) -> None:
    """Forget the noted station-days listed in ``done`` (``station``, ``day``): their cached values are current."""
    con.register("_pending_done", done)
    try:
        con.execute(f"DELETE FROM {PENDING_TABLE} p USING _pending_done d WHERE p.station = d.station AND p.day = d.day")
    finally:
        con.unregister("_pending_done")


def _replace_days(con: duckdb.DuckDBPyConnection, table: str, rows: pa.Table, names: list[str], days: list[int],
                  level: str | None = None) -> None:
    con.register("_cache_rows", rows)
    con.register("_cache_names", pa.table({"station": pa.array(names, pa.string())}))
    con.register("_cache_days", pa.table({"day": pa.array(days, pa.int64())}))
    try:
        with transaction(con):
            lvl = f"grp_level = '{level}' AND " if level else ""
            con.execute(f"DELETE FROM {table} WHERE {lvl}station IN (SELECT station FROM _cache_names) "
                        "AND day IN (SELECT day FROM _cache_days)")
            if rows.num_rows:
                con.execute(f"INSERT INTO {table} BY NAME SELECT * FROM _cache_rows")
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
