"""Noise tables of the measurement store (docs/store.md, docs/water.md#noise-noise-evaluate). Levels are L_eq in dB(A).

The monitoring files carry no year (a regional survey or a road survey is one campaign per year), so the year is
given at import (``--year``) or, for functional zones, read from the session date.

* ``noise_regional`` — one row per grid point and year: ``year``, ``point``, ``leq_day``, ``leq_night``,
  ``district``, ``import_id``. Key: (year, point).
* ``noise_road`` — one row per road segment and year: ``year``, ``segment``, ``length_km``, ``leq_day``,
  ``leq_night``, ``district``, ``import_id``. Key: (year, segment).
* ``noise_zone`` — one row per functional-zone point and monitoring session: ``year``, ``point``, ``session``,
  ``zone`` (``0, 1, 2, 3, 4a, 4b``), ``date``, ``leq_day``, ``leq_night``, ``import_id``. Key: (year, point,
  session). A point is monitored several times a year (quarterly), so the session is part of the key: the date
  (``YYYY-MM-DD``) when the file has a readable date, else the date cell's text (``一季度``), else ``第k次`` — the
  point's k-th dateless row in the file (re-importing the same file gives the same sessions).

Re-import is idempotent (:func:`qingshan.store.water.upsert`); an empty cell in a later file never erases a
stored value. :func:`load_noise` returns the input-table shape of the :mod:`qingshan.evaluate.noise` functions.
"""

from __future__ import annotations

import duckdb
import pandas as pd

from .schema import has_table

SCHEMA = """
CREATE TABLE IF NOT EXISTS noise_regional (
    year SMALLINT NOT NULL,
    point VARCHAR NOT NULL,
    leq_day DOUBLE,
    leq_night DOUBLE,
    district VARCHAR,
    import_id INTEGER NOT NULL
);
CREATE TABLE IF NOT EXISTS noise_road (
    year SMALLINT NOT NULL,
    segment VARCHAR NOT NULL,
    length_km DOUBLE,
    leq_day DOUBLE,
    leq_night DOUBLE,
    district VARCHAR,
    import_id INTEGER NOT NULL
);
CREATE TABLE IF NOT EXISTS noise_zone (
    year SMALLINT NOT NULL,
    point VARCHAR NOT NULL,
    session VARCHAR NOT NULL,
    zone VARCHAR NOT NULL,
    date DATE,
    leq_day DOUBLE,
    leq_night DOUBLE,
    import_id INTEGER NOT NULL
);
"""

#: kind (as in ``qingshan import noise-<kind>``) → table
TABLES: dict[str, str] = {"regional": "noise_regional", "road": "noise_road", "zone": "noise_zone"}
KEYS: dict[str, tuple[str, ...]] = {"noise_regional": ("year", "point"), "noise_road": ("year", "segment"),
                                    "noise_zone": ("year", "point", "session")}
KEEP_WHEN_EMPTY: dict[str, tuple[str, ...]] = {
    "noise_regional": ("leq_day", "leq_night", "district"),
    "noise_road": ("length_km", "leq_day", "leq_night", "district"),
    "noise_zone": ("date", "leq_day", "leq_night"),
}
_SELECT: dict[str, str] = {
    "regional": "point, leq_day, leq_night, coalesce(district, '') AS district",
    "road": "segment, length_km, leq_day, leq_night, coalesce(district, '') AS district",
    "zone": "point, zone, leq_day, leq_night, coalesce(strftime(date, '%Y-%m-%d'), '') AS date, session",
}
_ORDER: dict[str, str] = {"regional": "point", "road": "segment", "zone": "point, session"}
COLUMNS: dict[str, list[str]] = {
    "regional": ["point", "leq_day", "leq_night", "district", "import_id"],
    "road": ["segment", "length_km", "leq_day", "leq_night", "district", "import_id"],
    "zone": ["point", "zone", "leq_day", "leq_night", "date", "session", "import_id"],
}


def ensure_schema(con: duckdb.DuckDBPyConnection) -> None:
    con.execute(SCHEMA)


def noise_years(con: duckdb.DuckDBPyConnection, kind: str) -> list[int]:
    """The years stored for ``kind`` (regional, road, zone), ascending."""
    table = TABLES[kind]
    if not has_table(con, table):
        return []
    return [int(r[0]) for r in con.execute(f"SELECT DISTINCT year FROM {table} ORDER BY 1").fetchall()]


def load_noise(con: duckdb.DuckDBPyConnection, kind: str, year: int) -> pd.DataFrame:
    """The stored rows of ``kind`` for ``year`` as the evaluation's input table (plus ``import_id``):
    regional ``point, leq_day, leq_night, district``; road ``segment, length_km, leq_day, leq_night, district``;
    zone ``point, zone, leq_day, leq_night, date, session``. Empty districts and dates are empty strings, as in
    a file."""
    table = TABLES[kind]
    if not has_table(con, table):
        return pd.DataFrame(columns=COLUMNS[kind])
    return con.execute(f"SELECT {_SELECT[kind]}, import_id FROM {table} WHERE year = ? ORDER BY {_ORDER[kind]}",
                       [year]).df()
