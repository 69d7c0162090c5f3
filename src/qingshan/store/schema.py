"""Versions of the measurement store's schema and the migrations between them (docs/store.md).

The store records its version in the table ``schema_version`` (one row per applied migration: version, when,
what). Opening a workspace **for writing** applies, in order and in one transaction, every migration above the
recorded version; a workspace written before versions were recorded (no such table) counts as version 0, and
since every migration is idempotent (``IF NOT EXISTS``) it is brought up to date without loss. Opening
**read-only** runs no DDL: it only refuses a store newer than this code (:class:`StoreTooNew`).

The optional tables (water, dustfall and rain, noise, HJ 212) are created by their importers when first written
(``ensure_schema`` of their module); a later change to one of them is a migration here that checks
:func:`has_table` first.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

import duckdb

from ..errors import QingshanError
from ..standards.pollutants import SIX

VERSION_TABLE = "schema_version"

PUBLISHED = (
    "pub_aqi",
    "pub_so2_24h",
    "pub_no2_24h",
    "pub_co_24h",
    "pub_o3_24h",
    "pub_o3_8h",
    "pub_o3_8h_24h",
    "pub_pm10_24h",
    "pub_pm25_24h",
)
VALUE_COLUMNS: tuple[str, ...] = SIX + PUBLISHED

CORE_SCHEMA = f"""
CREATE SEQUENCE IF NOT EXISTS import_id_seq START 1;
CREATE TABLE IF NOT EXISTS imports (
    import_id INTEGER PRIMARY KEY,
    kind VARCHAR NOT NULL,
    source VARCHAR NOT NULL,
    sha256 VARCHAR,
    started_at TIMESTAMP,
    finished_at TIMESTAMP,
    rows_read BIGINT,
    rows_new BIGINT,
    rows_updated BIGINT,
    rows_unchanged BIGINT,
    rows_quarantined BIGINT,
    messages VARCHAR
);
CREATE TABLE IF NOT EXISTS stations (
    code VARCHAR PRIMARY KEY,
    name VARCHAR,
    city VARCHAR,
    district VARCHAR,
    lon DOUBLE,
    lat DOUBLE,
    is_control BOOLEAN NOT NULL DEFAULT FALSE,
    status VARCHAR,
    import_id INTEGER,
    town VARCHAR,
    network VARCHAR
);
CREATE TABLE IF NOT EXISTS air_hourly (
    station VARCHAR NOT NULL,
    hi INTEGER NOT NULL,
    ts TIMESTAMP NOT NULL,
    {", ".join(f"{c} DOUBLE" for c in VALUE_COLUMNS)},
    import_id INTEGER NOT NULL
);
CREATE TABLE IF NOT EXISTS quarantine (
    import_id INTEGER,
    source VARCHAR,
    line BIGINT,
    field VARCHAR,
    raw VARCHAR,
    reason VARCHAR
);
"""


class StoreTooNew(QingshanError, RuntimeError):
    """The workspace was written by a newer qingshan: its schema is unknown to this code."""


@dataclass(frozen=True)
class Migration:
    version: int
    description: str
    apply: Callable[[duckdb.DuckDBPyConnection], None]


def has_table(con: duckdb.DuckDBPyConnection, name: str) -> bool:
    """Does the database hold a table ``name`` (optional tables: HJ 212, deposition, noise, water)?"""
    return bool(con.execute("SELECT count(*) FROM information_schema.tables WHERE table_name = ?",
                            [name]).fetchall()[0][0])


def _core_tables(con: duckdb.DuckDBPyConnection) -> None:
    con.execute(CORE_SCHEMA)


def _station_towns(con: duckdb.DuckDBPyConnection) -> None:
    # workspaces created before towns were modelled
    con.execute("ALTER TABLE stations ADD COLUMN IF NOT EXISTS town VARCHAR;"
                "ALTER TABLE stations ADD COLUMN IF NOT EXISTS network VARCHAR")


REVIEW_SCHEMA = """
CREATE SEQUENCE IF NOT EXISTS review_mark_seq START 1;
CREATE TABLE IF NOT EXISTS review_marks (
    mark_id INTEGER PRIMARY KEY,
    marked_at TIMESTAMP NOT NULL,
    by_user VARCHAR NOT NULL,
    via VARCHAR NOT NULL,
    action VARCHAR NOT NULL,
    station VARCHAR NOT NULL,
    pollutants VARCHAR NOT NULL,
    hi_from INTEGER NOT NULL,
    hi_to INTEGER NOT NULL,
    reason VARCHAR NOT NULL,
    note VARCHAR,
    suggestion VARCHAR,
    before_counts VARCHAR,
    after_counts VARCHAR
);
CREATE TABLE IF NOT EXISTS review_dismissals (
    suggestion VARCHAR NOT NULL,
    dismissed_at TIMESTAMP NOT NULL,
    by_user VARCHAR NOT NULL,
    via VARCHAR NOT NULL,
    note VARCHAR
);
"""


def _review_tables(con: duckdb.DuckDBPyConnection) -> None:
    # data review (docs/review.md): an append-only log of marks; the current state is its fold
    con.execute(REVIEW_SCHEMA)


#: every migration, in order; append new ones at the end (never edit or renumber a released one)
MIGRATIONS: tuple[Migration, ...] = (
    Migration(1, "imports, stations, air_hourly, quarantine", _core_tables),
    Migration(2, "stations.town and stations.network (town stations)", _station_towns),
    Migration(5, "review_marks and review_dismissals (data review)", _review_tables),
)
LATEST = MIGRATIONS[-1].version


def stored_version(con: duckdb.DuckDBPyConnection) -> int:
    """The schema version recorded in the store (0 when none is recorded: a new or pre-versioning workspace)."""
    if not has_table(con, VERSION_TABLE):
        return 0
    (v,) = con.execute(f"SELECT coalesce(max(version), 0) FROM {VERSION_TABLE}").fetchall()[0]
    return int(v)


def refuse_newer(con: duckdb.DuckDBPyConnection, where: str) -> int:
    """The stored version; :class:`StoreTooNew` when it is above :data:`LATEST`."""
    v = stored_version(con)
    if v > LATEST:
        raise StoreTooNew(f"测量库 {where} 的结构版本为 {v}，高于本程序支持的 {LATEST}："
                          f"它由更新版本的 qingshan 写入，请升级 qingshan 后再打开")
    return v


def migrate(con: duckdb.DuckDBPyConnection, where: str) -> list[int]:
    """Bring the store to :data:`LATEST` (write path); returns the versions applied (empty when up to date)."""
    current = refuse_newer(con, where)
    pending = [m for m in MIGRATIONS if m.version > current]
    if not pending:
        return []
    con.execute("BEGIN TRANSACTION")
    try:
        con.execute(f"CREATE TABLE IF NOT EXISTS {VERSION_TABLE} (version INTEGER PRIMARY KEY, "
                    "applied_at TIMESTAMP NOT NULL, description VARCHAR)")
        for m in pending:
            m.apply(con)
            con.execute(f"INSERT INTO {VERSION_TABLE} VALUES (?, now(), ?)", [m.version, m.description])
        con.execute("COMMIT")
    except BaseException:
        con.execute("ROLLBACK")
        raise
    return [m.version for m in pending]
