"""Water tables of the measurement store (the workspace's DuckDB file; see docs/water.md).

* ``water_sections`` — one row per assessment section (断面) or lake point: ``section`` (the key used in sample
  files), ``name``, ``water_body`` (``river`` | ``lake``; lake = 湖、库), ``basin``, ``river``, ``level``
  (国考/省考/市考 …), ``target_class`` (1…6), ``district``, ``province``, ``city``, ``lon``/``lat`` (WGS-84
  decimal degrees, both or neither; migration 10 added them to older stores).
* ``water_samples`` — manual monthly samples in long form, one row per section, date and item: ``value`` in the
  canonical unit (mg/L; fecal coliform 个/L; chla mg/m³; sd m; temp ℃; pH —), ``nondetect`` true for a result
  below the detection limit ``dl`` (``value`` is then NULL: how it enters a mean is a rule of the rule set).
* ``water_auto`` — national automatic-station rows as published (one row per station and time): the values
  (``<item>``: the tooltip's 原始值 when published, else the displayed value), what was displayed
  (``<item>_shown``: the number, ``--`` missing, ``*`` not measured) and any other tooltip text (``<item>_note``,
  e.g. 极值过滤), the official class text, the station status text (正常/维护/停站/…).

Re-import is idempotent: rows are matched on their key; identical rows are counted unchanged, differing rows
replace the stored ones (updated), the rest are inserted (new).
"""

from __future__ import annotations

from datetime import date

import duckdb
import pandas as pd
import pyarrow as pa

from .plausible import check_batch
from .schema import has_table

#: Items of the automatic stations, in publication order, and their canonical units.
AUTO_ITEMS: tuple[str, ...] = ("temp", "ph", "do", "cond", "turb", "codmn", "nh3n", "tp", "tn", "chla", "algae")
AUTO_UNITS: dict[str, str] = {
    "temp": "℃", "ph": "无量纲", "do": "mg/L", "cond": "µS/cm", "turb": "NTU", "codmn": "mg/L", "nh3n": "mg/L",
    "tp": "mg/L", "tn": "mg/L", "chla": "mg/m³", "algae": "cells/L",
}

SECTION_COLUMNS: tuple[str, ...] = ("section", "name", "water_body", "basin", "river", "level", "target_class",
                                    "district", "province", "city", "lon", "lat")

SCHEMA = f"""
CREATE TABLE IF NOT EXISTS water_sections (
    section VARCHAR PRIMARY KEY,
    name VARCHAR,
    water_body VARCHAR,
    basin VARCHAR,
    river VARCHAR,
    level VARCHAR,
    target_class TINYINT,
    district VARCHAR,
    province VARCHAR,
    city VARCHAR,
    import_id INTEGER,
    lon DOUBLE,
    lat DOUBLE
);
CREATE TABLE IF NOT EXISTS water_samples (
    section VARCHAR NOT NULL,
    date DATE NOT NULL,
    item VARCHAR NOT NULL,
    value DOUBLE,
    nondetect BOOLEAN NOT NULL,
    dl DOUBLE,
    import_id INTEGER NOT NULL
);
CREATE TABLE IF NOT EXISTS water_auto (
    station VARCHAR NOT NULL,
    province VARCHAR,
    basin VARCHAR,
    section VARCHAR NOT NULL,
    city VARCHAR,
    river VARCHAR,
    ts TIMESTAMP NOT NULL,
    time_published VARCHAR,
    official_class VARCHAR,
    status VARCHAR,
    {", ".join(f'"{c}" DOUBLE, {c}_shown VARCHAR, {c}_note VARCHAR' for c in AUTO_ITEMS)},
    import_id INTEGER NOT NULL
);
"""

KEYS: dict[str, tuple[str, ...]] = {
    "water_sections": ("section",),
    "water_samples": ("section", "date", "item"),
    "water_auto": ("station", "ts"),
}


def ensure_schema(con: duckdb.DuckDBPyConnection) -> None:
    """Create the water tables when missing (write path: migrations and importers)."""
    con.execute(SCHEMA)


SAMPLE_COLUMNS = ["section", "date", "item", "value", "nondetect", "dl", "name", "water_body", "basin", "river",
                  "level", "target_class", "district"]


def load_sections(con: duckdb.DuckDBPyConnection, columns: list[str]) -> pd.DataFrame:
    """Every section's ``section`` and the given metadata ``columns`` (of :data:`SECTION_COLUMNS`); an empty frame
    when the store has no section table (runs no DDL)."""
    unknown = [c for c in columns if c not in SECTION_COLUMNS]
    if unknown:
        raise ValueError(f"unknown section columns: {unknown}")
    if not has_table(con, "water_sections"):
        return pd.DataFrame(columns=["section", *columns])
    return con.execute(f"SELECT section, {', '.join(q(c) for c in columns)} FROM water_sections").df()


def load_samples(con: duckdb.DuckDBPyConnection, first: date, last: date) -> pd.DataFrame:
    """Samples dated ``first``…``last`` joined with their section metadata (NULLs for a section without it), by
    section, date and item; an empty frame when the store has no water tables (runs no DDL)."""
    if not has_table(con, "water_samples") or not has_table(con, "water_sections"):
        return pd.DataFrame(columns=SAMPLE_COLUMNS)
    return con.execute(
        """SELECT s.section, s.date, s.item, s.value, s.nondetect, s.dl,
                  m.name, m.water_body, m.basin, m.river, m.level, m.target_class, m.district
           FROM water_samples s LEFT JOIN water_sections m USING (section)
           WHERE s.date BETWEEN ? AND ? ORDER BY s.section, s.date, s.item""",
        [first, last],
    ).df()


def q(name: str) -> str:
    """Quoted SQL identifier (item codes such as ``do`` and ``as`` are SQL keywords)."""
    return '"' + name.replace('"', '""') + '"'


def table_columns(con: duckdb.DuckDBPyConnection, table: str) -> list[str]:
    return [r[0] for r in con.execute(f"DESCRIBE {table}").fetchall()]


def upsert(con: duckdb.DuckDBPyConnection, table: str, batch: pa.Table, import_id: int,
           keep_existing_when_null: tuple[str, ...] = (), keys: tuple[str, ...] | None = None) -> dict[str, int]:
    """Merge ``batch`` (one row per key, columns a subset of the table's) into ``table`` under ``import_id``.

    Returns the counts of new, updated and unchanged rows. Columns named in ``keep_existing_when_null`` keep the
    stored value when the batch has NULL (used for section metadata given partly in a later file). A boolean batch
    column ``_keep_<c>`` marks the rows whose ``c`` keeps the stored value whatever the batch holds (a cell the
    importer rejected: a quarantined value never overwrites a stored one). ``keys``: the table's key columns, by
    default those of :data:`KEYS` (other store modules pass their own)."""
    if not batch.num_rows:
        return {"new": 0, "updated": 0, "unchanged": 0}
    keys = keys if keys is not None else KEYS[table]
    cols = [c for c in table_columns(con, table) if c != "import_id" and c in batch.column_names]
    values = [c for c in cols if c not in keys]
    check_batch(table, batch, values)  # never let an absurd value overwrite a stored one
    flags = {c: f"_keep_{c}" for c in values if f"_keep_{c}" in batch.column_names}
    con.register("_wb", batch)
    try:
        casts = {r[0]: r[1] for r in con.execute(f"DESCRIBE {table}").fetchall()}
        con.execute(
            "CREATE OR REPLACE TEMP TABLE _ws AS SELECT "
            + ", ".join(f"CAST({q(c)} AS {casts[c]}) AS {q(c)}" for c in cols)
            + "".join(f", CAST({q(f)} AS BOOLEAN) AS {q(f)}" for f in flags.values())
            + f", CAST({int(import_id)} AS INTEGER) AS import_id FROM _wb"
        )
    finally:
        con.unregister("_wb")
    match = " AND ".join(f"t.{q(k)} = _ws.{q(k)}" for k in keys)
    for c in keep_existing_when_null:
        if c in values:
            con.execute(f"UPDATE _ws SET {q(c)} = t.{q(c)} FROM {table} t WHERE _ws.{q(c)} IS NULL AND {match}")
    for c, f in flags.items():
        con.execute(f"UPDATE _ws SET {q(c)} = t.{q(c)} FROM {table} t WHERE _ws.{q(f)} AND {match}")
    on = " AND ".join(f"t.{q(k)} = s.{q(k)}" for k in keys)
    differs = " OR ".join(f"s.{q(c)} IS DISTINCT FROM t.{q(c)}" for c in values) or "FALSE"
    matched, changed = con.execute(
        f"SELECT count(*), count(*) FILTER (WHERE {differs}) FROM _ws s JOIN {table} t ON {on}"
    ).fetchall()[0]
    total = con.execute("SELECT count(*) FROM _ws").fetchall()[0][0]
    if changed:
        con.execute(
            f"DELETE FROM {table} t USING _ws s WHERE {on} AND ({differs})"
        )
    if matched - changed:  # drop the unchanged rows from the batch
        con.execute(f"DELETE FROM _ws s USING {table} t WHERE {on}")
    all_cols = ", ".join(q(c) for c in [*cols, "import_id"])
    con.execute(f"INSERT INTO {table} ({all_cols}) SELECT {all_cols} FROM _ws")
    con.execute("DROP TABLE IF EXISTS _ws")
    return {"new": int(total - matched), "updated": int(changed), "unchanged": int(matched - changed)}
