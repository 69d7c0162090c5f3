"""Dustfall and acid-rain tables of the measurement store (docs/store.md, docs/water.md).

* ``dustfall`` — one row per site and month: ``site``, ``month`` (``YYYY-MM``), ``value`` in t/(km²·30d) (a flux
  measured over n days is normalised to 30 days at import, :func:`qingshan.ingest.dust.dust_values`),
  ``import_id``. Key: (site, month).
* ``rain_samples`` — one row per site and sampling day: ``site``, ``date``, ``ph``, ``rainfall_mm``, ``import_id``.
  Key: (site, date). Wet deposition is sampled per day (HJ/T 165-2004 酸沉降监测技术规范: the rain of one day,
  09:00 to 09:00, is one sample; several showers of that day are combined), so site and day identify a sample;
  two rows of one site and day in a file are a duplicate (identical, kept once) or a conflict (the later one is
  quarantined).

Re-import is idempotent (:func:`qingshan.store.water.upsert`): rows are matched on their key, identical rows are
counted unchanged and not written, differing rows are corrected (updated), the rest inserted (new). As in
``air_hourly``, an empty cell in a later file never erases a stored value.

Read-back: :func:`load_dust` and :func:`load_rain` return the input-table shape that
:func:`qingshan.evaluate.dustfall.evaluate_dust` and :func:`qingshan.evaluate.acid_rain.evaluate_rain` read from
a file, plus the ``import_id`` of each row (for provenance). They never write: on a store without these tables
(a workspace from before they existed, opened read-only) they return no rows.
"""

from __future__ import annotations

from datetime import date

import duckdb
import pandas as pd

from .schema import has_table

SCHEMA = """
CREATE TABLE IF NOT EXISTS dustfall (
    site VARCHAR NOT NULL,
    month VARCHAR NOT NULL,
    value DOUBLE,
    import_id INTEGER NOT NULL
);
CREATE TABLE IF NOT EXISTS rain_samples (
    site VARCHAR NOT NULL,
    date DATE NOT NULL,
    ph DOUBLE,
    rainfall_mm DOUBLE,
    import_id INTEGER NOT NULL
);
"""

KEYS: dict[str, tuple[str, ...]] = {"dustfall": ("site", "month"), "rain_samples": ("site", "date")}
#: Value columns that keep the stored value when a later file leaves the cell empty.
KEEP_WHEN_EMPTY: dict[str, tuple[str, ...]] = {"dustfall": ("value",), "rain_samples": ("ph", "rainfall_mm")}

DUST_COLUMNS = ["site", "month", "dustfall", "import_id"]
RAIN_COLUMNS = ["site", "date", "ph", "rainfall", "import_id"]


def ensure_schema(con: duckdb.DuckDBPyConnection) -> None:
    con.execute(SCHEMA)


def load_dust(con: duckdb.DuckDBPyConnection, year: int | None = None) -> pd.DataFrame:
    """Stored dustfall as the table ``site, month, dustfall, import_id`` (ordered by month and site).

    ``year``: only that year and the previous one (what :func:`evaluate_dust` uses for the year and its change);
    None: every stored month."""
    if not has_table(con, "dustfall"):
        return pd.DataFrame(columns=DUST_COLUMNS)
    where, params = ("WHERE month BETWEEN ? AND ?", [f"{year - 1:04d}-01", f"{year:04d}-12"]) if year is not None else ("", [])
    return con.execute(f"SELECT site, month, value AS dustfall, import_id FROM dustfall {where} "
                       "ORDER BY month, site", params).df()


def load_rain(con: duckdb.DuckDBPyConnection, first: date | None = None, last: date | None = None) -> pd.DataFrame:
    """Stored rain samples as the table ``site, date (YYYY-MM-DD), ph, rainfall (mm), import_id`` (ordered by
    date and site), optionally only from ``first`` to ``last`` inclusive."""
    if not has_table(con, "rain_samples"):
        return pd.DataFrame(columns=RAIN_COLUMNS)
    conds, params = [], []
    if first is not None:
        conds.append("date >= ?")
        params.append(first)
    if last is not None:
        conds.append("date <= ?")
        params.append(last)
    where = ("WHERE " + " AND ".join(conds)) if conds else ""
    return con.execute(f"SELECT site, strftime(date, '%Y-%m-%d') AS date, ph, rainfall_mm AS rainfall, import_id "
                       f"FROM rain_samples {where} ORDER BY date, site", params).df()


def import_ids(frame: pd.DataFrame) -> list[int]:
    """The distinct import ids of read-back rows, sorted (the provenance of an evaluation on stored data)."""
    return sorted({int(i) for i in frame["import_id"]}) if "import_id" in frame and len(frame) else []
