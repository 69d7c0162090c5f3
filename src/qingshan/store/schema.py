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


_DAILY_VALUES = """
    so2 DOUBLE, no2 DOUBLE, co DOUBLE, o3_1h_max DOUBLE, o3_8h_max DOUBLE, pm10 DOUBLE, pm25 DOUBLE"""
_DAILY_AQI = """
    iaqi_so2 SMALLINT, iaqi_no2 SMALLINT, iaqi_co SMALLINT, iaqi_o3 SMALLINT, iaqi_o3_8h SMALLINT,
    iaqi_pm10 SMALLINT, iaqi_pm25 SMALLINT, aqi SMALLINT, level TINYINT, primary_pollutants VARCHAR,
    day_valid BOOLEAN, eval_ruleset VARCHAR"""
EVAL_CACHE_SCHEMA = f"""
CREATE TABLE IF NOT EXISTS air_eval_daily (
    station VARCHAR NOT NULL, day BIGINT NOT NULL, {_DAILY_VALUES},
    n_so2 BIGINT, n_no2 BIGINT, n_co BIGINT, n_pm10 BIGINT, n_pm25 BIGINT, n_o3 BIGINT, n_o3_8h BIGINT, hours BIGINT,
    {_DAILY_AQI},
    PRIMARY KEY (station, day)
);
CREATE TABLE IF NOT EXISTS air_eval_group_daily (
    grp_level VARCHAR NOT NULL, station VARCHAR NOT NULL, day BIGINT NOT NULL, {_DAILY_VALUES},
    ns_so2 INTEGER, ns_no2 INTEGER, ns_co INTEGER, ns_o3_1h_max INTEGER, ns_o3_8h_max INTEGER, ns_pm10 INTEGER,
    ns_pm25 INTEGER, n_stations INTEGER, {_DAILY_AQI},
    PRIMARY KEY (grp_level, station, day)
);
CREATE TABLE IF NOT EXISTS air_eval_coverage (
    first_day BIGINT NOT NULL, last_day BIGINT NOT NULL, data VARCHAR NOT NULL, exclude_dust BOOLEAN NOT NULL,
    built_at TIMESTAMP DEFAULT current_timestamp
);
"""

EVAL_MONTH_SCHEMA = """
CREATE TABLE IF NOT EXISTS air_eval_month (
    key VARCHAR NOT NULL, month BIGINT NOT NULL, flags USMALLINT[31],
    so2 INTEGER[31], no2 INTEGER[31], co INTEGER[31], pm10 INTEGER[31], pm25 INTEGER[31], o3_8h_max INTEGER[31]
);
CREATE TABLE IF NOT EXISTS air_eval_pending (station VARCHAR NOT NULL, day BIGINT NOT NULL);
ALTER TABLE air_eval_coverage ADD COLUMN IF NOT EXISTS fingerprint VARCHAR;
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


#: ``met_hourly`` (migration 3; module :mod:`.met`, docs/store.md#met_hourly): hourly meteorology of the stations.
MET_VALUES: tuple[str, ...] = ("temp", "rh", "pressure", "wind_speed", "wind_dir")
MET_COUNTS: tuple[str, ...] = ("temp_minutes", "rh_minutes", "pressure_minutes", "wind_minutes")
MET_SCHEMA = f"""
CREATE TABLE IF NOT EXISTS met_hourly (
    station VARCHAR NOT NULL,
    hi INTEGER NOT NULL,
    ts TIMESTAMP NOT NULL,
    {", ".join(f"{c} DOUBLE" for c in MET_VALUES)},
    {", ".join(f"{c} INTEGER" for c in MET_COUNTS)},
    import_id INTEGER NOT NULL,
    PRIMARY KEY (station, hi)
);
"""

ALARM_SCHEMA = """
CREATE SEQUENCE IF NOT EXISTS alarm_id_seq START 1;
CREATE TABLE IF NOT EXISTS alarms (
    alarm_id INTEGER PRIMARY KEY,
    rule VARCHAR NOT NULL,
    rules_version VARCHAR NOT NULL,
    subject VARCHAR NOT NULL,
    pollutant VARCHAR NOT NULL,
    start_hi INTEGER NOT NULL,
    end_hi INTEGER NOT NULL,
    hours INTEGER NOT NULL,
    level INTEGER NOT NULL,
    peak_hi INTEGER,
    peak_value DOUBLE,
    peak_reference DOUBLE,
    evidence VARCHAR,
    state VARCHAR NOT NULL,
    created_at TIMESTAMP NOT NULL,
    updated_at TIMESTAMP NOT NULL,
    event_id INTEGER
);
CREATE TABLE IF NOT EXISTS alarm_log (
    alarm_id INTEGER NOT NULL,
    changed_at TIMESTAMP NOT NULL,
    actor VARCHAR NOT NULL,
    from_state VARCHAR,
    to_state VARCHAR NOT NULL,
    reason VARCHAR
);
"""

CALIBRATION_TABLE = "sensor_calibration"
#: versioned grid-sensor calibrations (migration 4; columns documented in :mod:`qingshan.store.calibration`)
CALIBRATION_SCHEMA = f"""
CREATE TABLE IF NOT EXISTS {CALIBRATION_TABLE} (
    sensor VARCHAR NOT NULL,
    pollutant VARCHAR NOT NULL,
    version INTEGER NOT NULL,
    reference VARCHAR,
    distance_km DOUBLE,
    met_station VARCHAR,
    model VARCHAR NOT NULL,
    coefficients VARCHAR,
    fit_from_hi INTEGER,
    fit_to_hi INTEGER,
    valid_from_hi INTEGER,
    n INTEGER NOT NULL,
    r2 DOUBLE,
    rmse DOUBLE,
    status VARCHAR NOT NULL,
    reason VARCHAR,
    active BOOLEAN NOT NULL,
    created_at TIMESTAMP NOT NULL,
    created_by VARCHAR,
    PRIMARY KEY (sensor, pollutant, version)
);
"""

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


def _met_hourly(con: duckdb.DuckDBPyConnection) -> None:
    # 3: hourly meteorology fed from HJ 212 stations
    con.execute(MET_SCHEMA)


def _eval_cache_tables(con: duckdb.DuckDBPyConnection) -> None:
    # derived daily values of the air engine and the day ranges they cover (docs/performance.md): a cache, always
    # rebuildable from air_hourly, so it carries no import_id
    con.execute(EVAL_CACHE_SCHEMA)


def _eval_month_tables(con: duckdb.DuckDBPyConnection) -> None:
    # 9: the month blocks of the cached daily values and the station-days written since the cache caught up
    # (docs/performance.md#incremental-evaluation); the cache of migration 8 is dropped (it is rebuilt on demand
    # with its month blocks)
    con.execute(EVAL_MONTH_SCHEMA)
    con.execute("DELETE FROM air_eval_coverage; DELETE FROM air_eval_daily; DELETE FROM air_eval_group_daily")


def _alarm_tables(con: duckdb.DuckDBPyConnection) -> None:
    con.execute(ALARM_SCHEMA)


def _sensor_calibration(con: duckdb.DuckDBPyConnection) -> None:
    con.execute(CALIBRATION_SCHEMA)


def _water_section_coordinates(con: duckdb.DuckDBPyConnection) -> None:
    # 10: lon/lat of water sections (the map's water layer). The water tables are optional (created by their
    # importer, already with these columns: store/water.py), so only an existing older table is altered.
    if has_table(con, "water_sections"):
        con.execute("ALTER TABLE water_sections ADD COLUMN IF NOT EXISTS lon DOUBLE; "
                    "ALTER TABLE water_sections ADD COLUMN IF NOT EXISTS lat DOUBLE")


def _review_tables(con: duckdb.DuckDBPyConnection) -> None:
    # data review (docs/review.md): an append-only log of marks; the current state is its fold
    con.execute(REVIEW_SCHEMA)


#: every migration, in version order; add new ones with the next free number (never edit or renumber a released
#: one). Numbers are handed out per change, so two changes may land in either order: a store gets every migration
#: it has not recorded, whatever its highest version.
MIGRATIONS: tuple[Migration, ...] = (
    Migration(1, "imports, stations, air_hourly, quarantine", _core_tables),
    Migration(2, "stations.town and stations.network (town stations)", _station_towns),
    Migration(3, "met_hourly (hourly meteorology from HJ 212 stations)", _met_hourly),
    Migration(4, "sensor_calibration (versioned grid-sensor calibrations)", _sensor_calibration),
    Migration(5, "review_marks and review_dismissals (data review)", _review_tables),
    Migration(7, "alarms and alarm_log (alarm centre)", _alarm_tables),
    Migration(8, "air_eval_daily, air_eval_group_daily, air_eval_coverage (incremental evaluation cache)",
              _eval_cache_tables),
    Migration(9, "air_eval_month, air_eval_pending (month blocks and pending days of the evaluation cache)",
              _eval_month_tables),
    Migration(10, "water_sections.lon and water_sections.lat (section coordinates for the map)",
              _water_section_coordinates),
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


def applied_versions(con: duckdb.DuckDBPyConnection) -> set[int]:
    """The migrations recorded in the store (empty for a new or pre-versioning workspace)."""
    if not has_table(con, VERSION_TABLE):
        return set()
    return {int(v) for (v,) in con.execute(f"SELECT version FROM {VERSION_TABLE}").fetchall()}


def migrate(con: duckdb.DuckDBPyConnection, where: str) -> list[int]:
    """Bring the store to :data:`LATEST` (write path): apply, in order, every migration the store has not
    recorded; returns the versions applied (empty when up to date)."""
    refuse_newer(con, where)
    done = applied_versions(con)
    pending = [m for m in MIGRATIONS if m.version not in done]
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
