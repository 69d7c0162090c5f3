"""The store's read API: the small questions that reports, the console, targets and the command line ask of the
measurement store, so that no SQL on store tables lives outside :mod:`qingshan.store`.

Every function takes a DuckDB connection or cursor (read-only is enough) and runs no DDL. Optional tables (water,
HJ 212) that a workspace does not hold yet read as empty. Hours are the store's hour index ``hi`` (hours since
1970-01-01 00:00 Beijing time, labelled by the end of the hour); a day index ``d`` covers hours ``d*24+1 …
(d+1)*24`` (01:00 … 24:00 of that day).

The vectorised evaluation SQL of :mod:`qingshan.evaluate.grid` and :mod:`qingshan.evaluate.air` stays beside its
kernels: it is shared with the Spark engine, which runs it on a lake with the same table names.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import date, datetime
from typing import Any

import duckdb
import pandas as pd

from ..standards.networks import INDICATIVE_NETWORKS, OUTLET_NETWORK, TOWN_NETWORK, UNOFFICIAL_NETWORKS, names_of
from .schema import VALUE_COLUMNS, has_table

Con = duckdb.DuckDBPyConnection


def _hour_ranges(days: Iterable[tuple[int, int]]) -> tuple[str, list[int]]:
    """SQL condition on ``hi`` and its parameters for inclusive day-index ranges."""
    pairs = [(first * 24 + 1, (last + 1) * 24) for first, last in days]
    return " OR ".join("(hi BETWEEN ? AND ?)" for _ in pairs) or "FALSE", [h for p in pairs for h in p]


# --- stations ------------------------------------------------------------------------------------------------


def city_has_stations(con: Con, city: str) -> bool:
    """Does the station table list at least one station of ``city``?"""
    return bool(con.execute("SELECT count(*) FROM stations WHERE city = ?", [city]).fetchall()[0][0])


def station_codes(con: Con) -> set[str]:
    """The codes of every station in the station table (empty for an empty table)."""
    return {r[0] for r in con.execute("SELECT code FROM stations").fetchall()}


def station_cities(con: Con) -> list[str]:
    """The distinct cities of the station table (NULL left out), sorted."""
    return [r[0] for r in con.execute("SELECT DISTINCT city FROM stations WHERE city IS NOT NULL ORDER BY 1").fetchall()]


def _not_counting() -> tuple[str, list[str]]:
    """SQL condition (on ``network``) and parameters: a station of a network that never counts for its city (town
    stations, sensors, outlets; :func:`qingshan.standards.networks.counts_for_city`)."""
    names = names_of({TOWN_NETWORK} | UNOFFICIAL_NETWORKS)
    return f"coalesce(network IN ({', '.join('?' * len(names))}), FALSE)", names


def stations_of_city(con: Con, city: str) -> pd.DataFrame:
    """The stations of ``city`` with their metadata: evaluation stations first, then town stations, then sensors
    (grid micro-sensors, dust monitors), then control sites, each by code."""
    indicative, town = names_of(INDICATIVE_NETWORKS), names_of({TOWN_NETWORK})
    return con.execute(
        f"""SELECT code, name, city, district, town, network, lon, lat, is_control, status FROM stations
           WHERE city = ? ORDER BY is_control, coalesce(network IN ({', '.join('?' * len(indicative))}), FALSE),
                                   coalesce(network IN ({', '.join('?' * len(town))}), FALSE), code""",
        [city, *indicative, *town]).df()


def station_membership(con: Con) -> pd.DataFrame:
    """Every station's ``code, city, is_control, network``: what decides whether it counts for its city."""
    return con.sql("SELECT code, city, is_control, network FROM stations").df()


STATION_FIELDS = ("code", "name", "city", "district", "lon", "lat", "is_control", "status")


def station_record(con: Con, code: str) -> dict[str, Any] | None:
    """The station's :data:`STATION_FIELDS` (None for an unknown code)."""
    row = con.execute(f"SELECT {', '.join(STATION_FIELDS)} FROM stations WHERE code = ?", [code]).fetchone()
    return None if row is None else dict(zip(STATION_FIELDS, row))


def station_hours(con: Con, code: str) -> tuple[int | None, int | None, int]:
    """First and last stored hour (``hi``; None without data) and the number of stored hours of a station."""
    first, last, n = con.execute("SELECT min(hi), max(hi), count(*) FROM air_hourly WHERE station = ?",
                                 [code]).fetchone()
    return first, last, int(n)


def city_station_counts(con: Con) -> list[tuple[str, int, int, int]]:
    """Per city: (city, evaluation stations (not control sites, not town stations, not sensors), all stations,
    stations with hourly data), most stations with data first, then most evaluation stations, then by name."""
    cond, names = _not_counting()
    return [(c, int(e), int(n), int(d)) for c, e, n, d in con.execute(
        f"""SELECT city, count(*) FILTER (WHERE NOT is_control AND NOT {cond}) AS n_eval,
                  count(*) AS n,
                  count(*) FILTER (WHERE code IN (SELECT DISTINCT station FROM air_hourly)) AS with_data
           FROM stations WHERE city IS NOT NULL GROUP BY city ORDER BY with_data DESC, n_eval DESC, city""",
        names).fetchall()]


def station_series(con: Con, code: str, pollutant: str, first_hi: int | None = None,
                   last_hi: int | None = None) -> pd.DataFrame:
    """One station's stored hourly values of one pollutant (``hi``, ``value``; NULL hours left out), by hour,
    optionally within the inclusive hour range — the raw series of any station, sensors included."""
    if pollutant not in VALUE_COLUMNS:
        raise ValueError(f"unknown air_hourly column {pollutant!r}")
    return con.execute(
        f"""SELECT hi, {pollutant} AS value FROM air_hourly WHERE station = ? AND {pollutant} IS NOT NULL
            AND hi >= coalesce(?, hi) AND hi <= coalesce(?, hi) ORDER BY hi""", [code, first_hi, last_hi]).df()


def network_members(con: Con) -> pd.DataFrame:
    """Every member of a monitoring network (``code, name, network, city, district, lon, lat, is_control,
    source``): the station table, plus the enterprise outlets of the HJ 212 device registry (devices with an
    enterprise or outlet and no station; code = MN, network 企业排口, source ``hj212``) — the registry stays the one
    place that lists outlets."""
    out = con.execute("""SELECT code, name, network, city, district, lon, lat, is_control, 'stations' AS source
                         FROM stations ORDER BY code""").df()
    if has_table(con, "hj212_devices"):
        outlets = con.execute(
            """SELECT mn AS code, concat_ws(' / ', enterprise, outlet) AS name, ? AS network, NULL AS city,
                      NULL AS district, NULL::DOUBLE AS lon, NULL::DOUBLE AS lat, FALSE AS is_control,
                      'hj212' AS source
               FROM hj212_devices WHERE station IS NULL AND (enterprise IS NOT NULL OR outlet IS NOT NULL)
               ORDER BY mn""", [OUTLET_NETWORK]).df()
        out = pd.concat([out, outlets], ignore_index=True) if len(outlets) else out
    return out


# --- hours and imports ------------------------------------------------------------------------------------------


def hour_range(con: Con) -> tuple[int | None, int | None]:
    """First and last hour (``hi``) stored for any station (None, None for an empty store)."""
    lo, hi = con.execute("SELECT min(hi), max(hi) FROM air_hourly").fetchall()[0]
    return lo, hi


def last_hour_of_city(con: Con, city: str) -> int | None:
    """The latest stored hour (``hi``) of any station of ``city`` (None without data or without the table)."""
    if not has_table(con, "air_hourly"):
        return None
    row = con.execute("SELECT max(hi) FROM air_hourly WHERE station IN (SELECT code FROM stations WHERE city = ?)",
                      [city]).fetchall()[0][0]
    return None if row is None else int(row)


def city_hours(con: Con) -> dict[str, int]:
    """Station-hours stored per city of the station table, most first (ties by name); hours of stations missing
    from the station table are left out."""
    return dict(con.execute("SELECT s.city, count(*) FROM air_hourly h JOIN stations s ON s.code = h.station "
                            "GROUP BY s.city ORDER BY count(*) DESC, s.city").fetchall())


def city_with_most_hours(con: Con) -> str | None:
    """The city whose stations hold the most station-hours (ties: the first by name); None without data."""
    return next(iter(city_hours(con)), None)


def air_import_ids(con: Con, city: str, days: Iterable[tuple[int, int]]) -> list[int]:
    """The imports that wrote the stored hours of ``city``'s stations within the inclusive day-index ranges
    ``days`` (provenance of a report), ascending."""
    cond, params = _hour_ranges(days)
    got = con.execute(f"SELECT DISTINCT import_id FROM air_hourly WHERE ({cond}) "
                      "AND station IN (SELECT code FROM stations WHERE city = ?) ORDER BY 1", [*params, city]).fetchall()
    return [int(r[0]) for r in got]


def quarantine_count(con: Con, import_id: int | None = None) -> int:
    """How many rows are quarantined, in one import or in all."""
    where, params = ("WHERE import_id = ?", [int(import_id)]) if import_id is not None else ("", [])
    return int(con.execute(f"SELECT count(*) FROM quarantine {where}", params).fetchall()[0][0])


def quarantine_rows(con: Con, import_id: int | None = None, limit: int = 50) -> list[tuple]:
    """Quarantined rows (import id, source, line, field, raw text, reason) of one import or of all, by import and
    line, at most ``limit``."""
    where, params = ("WHERE import_id = ?", [int(import_id)]) if import_id is not None else ("", [])
    return con.execute(f"SELECT import_id, source, line, field, raw, reason FROM quarantine {where} "
                       "ORDER BY import_id, line LIMIT ?", [*params, int(limit)]).fetchall()


def store_counts(con: Con) -> tuple[tuple, bool]:
    """The figures that change whenever the store does — (last import id, air rows, last hour, stations, water
    samples, water sections, HJ 212 alerts, last import's finish) — and whether the HJ 212 alert table exists (the
    console's cache key).  The finish time catches the HJ 212 feed: it re-aggregates hours already stored (same
    row count, same import of the day) and stamps its ``imports`` row with every batch."""
    present = {r[0] for r in con.execute(  # one look-up instead of one per optional table (read every few seconds)
        "SELECT table_name FROM duckdb_tables() WHERE table_name IN ('hj212_alerts', 'water_samples', "
        "'water_sections')").fetchall()}
    has_alerts = "hj212_alerts" in present
    alerts = "(SELECT count(*) FROM hj212_alerts)" if has_alerts else "0"
    water = {"water_samples", "water_sections"} <= present
    samples, sections = (("(SELECT count(*) FROM water_samples)", "(SELECT count(*) FROM water_sections)")
                         if water else ("0", "0"))
    row = con.execute(
        f"""SELECT (SELECT max(import_id) FROM imports), (SELECT count(*) FROM air_hourly),
                   (SELECT max(hi) FROM air_hourly), (SELECT count(*) FROM stations),
                   {samples}, {sections}, {alerts}, (SELECT max(finished_at) FROM imports)""").fetchone()
    return tuple(row), has_alerts


# --- water ------------------------------------------------------------------------------------------------------


def water_sample_years(con: Con) -> list[int]:
    """The years that hold water samples, ascending."""
    if not has_table(con, "water_samples"):
        return []
    return [int(r[0]) for r in con.execute("SELECT DISTINCT year(date) FROM water_samples ORDER BY 1").fetchall()]


def water_import_ids(con: Con, periods: Iterable[tuple[date, date]]) -> list[int]:
    """The imports that wrote the water samples dated within the inclusive ``(first, last)`` ranges, ascending."""
    periods = list(periods)
    if not periods or not has_table(con, "water_samples"):
        return []
    cond = " OR ".join("(date BETWEEN ? AND ?)" for _ in periods)
    got = con.execute(f"SELECT DISTINCT import_id FROM water_samples WHERE {cond} ORDER BY 1",
                      [d for p in periods for d in p]).fetchall()
    return [int(r[0]) for r in got]


def water_section_cities(con: Con) -> pd.Series:
    """The ``city`` of every water section (missing: NaN), indexed by section."""
    if not has_table(con, "water_sections"):
        return pd.Series(dtype=object, name="city").rename_axis("section")
    return con.execute("SELECT section, city FROM water_sections").df().set_index("section")["city"]


def water_section_positions(con: Con) -> pd.DataFrame:
    """Every registered section's ``section``, ``name``, ``lon``, ``lat`` (NaN without a position), by section;
    empty without a section table, positions NaN in a store not yet given migration 10 (read-only: no DDL)."""
    if not has_table(con, "water_sections"):
        return pd.DataFrame(columns=["section", "name", "lon", "lat"])
    cols = {r[0] for r in con.execute("SELECT column_name FROM information_schema.columns "
                                      "WHERE table_name = 'water_sections'").fetchall()}
    where = "lon, lat" if {"lon", "lat"} <= cols else "CAST(NULL AS DOUBLE) AS lon, CAST(NULL AS DOUBLE) AS lat"
    return con.execute(f"SELECT section, name, {where} FROM water_sections ORDER BY section").df()


def sections_with_water_body(con: Con) -> set[str]:
    """The sections whose metadata give their water body (river or lake): those the evaluation can use."""
    if not has_table(con, "water_sections"):
        return set()
    return {r[0] for r in con.execute("SELECT section FROM water_sections WHERE water_body IS NOT NULL").fetchall()}


def other_water_cities(con: Con, city: str) -> list[str]:
    """The cities other than ``city`` named by water sections (NULL left out), sorted."""
    if not has_table(con, "water_sections"):
        return []
    return [r[0] for r in con.execute("SELECT DISTINCT city FROM water_sections WHERE city IS NOT NULL AND city <> ? "
                                      "ORDER BY 1", [city]).fetchall()]


# --- HJ 212 -------------------------------------------------------------------------------------------------------

ALERT_FIELDS = ("kind", "mn", "enterprise", "outlet", "station", "factor", "data_time", "value", "threshold",
                "message", "raised_at", "status")


def hj212_alerts(con: Con, limit: int) -> list[dict[str, Any]]:
    """The latest HJ 212 alerts (:data:`ALERT_FIELDS`), newest first, at most ``limit`` (none without the table)."""
    if not has_table(con, "hj212_alerts"):
        return []
    rows = con.execute(f"SELECT {', '.join(ALERT_FIELDS)} FROM hj212_alerts ORDER BY raised_at DESC, alert_key LIMIT ?",
                       [limit]).fetchall()
    return [dict(zip(ALERT_FIELDS, r)) for r in rows]


# --- meteorology (met_hourly, migration 3) ----------------------------------------------------------------------


def met_hours(con: Con, stations: list[str] | None, first_hi: int, last_hi: int) -> pd.DataFrame:
    """Hourly meteorology of ``stations`` (all when None) for hours ``first_hi … last_hi``: ``station, hi, ts,
    temp (℃), rh (%), pressure (hPa), wind_speed (m/s), wind_dir (° from north, where the wind comes from)``, the
    valid-minute counts and ``import_id`` (docs/store.md#met_hourly); empty when the store has no such table."""
    from .met import met_hours as _met_hours

    return _met_hours(con, stations, first_hi, last_hi)


# --- data capture (数据获取率) --------------------------------------------------------------------------------------

#: The pollutants whose hours the capture counts (the six of GB 3095 / HJ 633).
CAPTURE_POLLUTANTS = ("so2", "no2", "co", "o3", "pm10", "pm25")


def air_capture_counts(con: Con, stations: list[str], first_hi: int, last_hi: int, day_min_hours: int) -> pd.DataFrame:
    """Per station of ``stations``: the hours in ``first_hi … last_hi`` (inclusive) that hold a value of any of
    :data:`CAPTURE_POLLUTANTS` (``hours``), those per pollutant (``hours_<code>``), the days of that range with at
    least ``day_min_hours`` such hours (``valid_days``) and the station's last hour with any value at or before
    ``last_hi`` (``last_hi``, also outside the range; NULL if none). One row per listed station, in the given order."""
    if not stations:
        return pd.DataFrame(columns=["station", "hours", *(f"hours_{c}" for c in CAPTURE_POLLUTANTS), "valid_days",
                                     "last_hi"])
    anyv = " OR ".join(f"{c} IS NOT NULL" for c in CAPTURE_POLLUTANTS)
    per = ", ".join(f"count(*) FILTER (WHERE {c} IS NOT NULL) AS hours_{c}" for c in CAPTURE_POLLUTANTS)
    per_sum = ", ".join(f"coalesce(sum(hours_{c}), 0)::BIGINT AS hours_{c}" for c in CAPTURE_POLLUTANTS)
    per_out = ", ".join(f"coalesce(d.hours_{c}, 0)::BIGINT AS hours_{c}" for c in CAPTURE_POLLUTANTS)
    return con.execute(
        f"""WITH s AS (SELECT unnest(?) AS station, generate_subscripts(?, 1) AS k),
                 h AS (SELECT station, hi, {", ".join(CAPTURE_POLLUTANTS)} FROM air_hourly
                       WHERE hi BETWEEN ? AND ? AND ({anyv}) AND station IN (SELECT station FROM s)),
                 per_day AS (SELECT station, (hi - 1) // 24 AS d, count(*) AS n, {per} FROM h GROUP BY 1, 2),
                 d AS (SELECT station, sum(n)::BIGINT AS hours, {per_sum},
                              count(*) FILTER (WHERE n >= ?)::BIGINT AS valid_days
                       FROM per_day GROUP BY 1),
                 last AS (SELECT station, max(hi) AS last_hi FROM air_hourly
                          WHERE hi <= ? AND ({anyv}) AND station IN (SELECT station FROM s) GROUP BY 1)
            SELECT s.station, coalesce(d.hours, 0)::BIGINT AS hours, {per_out},
                   coalesce(d.valid_days, 0)::BIGINT AS valid_days, last.last_hi
            FROM s LEFT JOIN d USING (station) LEFT JOIN last USING (station) ORDER BY s.k""",
        [stations, stations, first_hi, last_hi, day_min_hours, last_hi]).df()


DEVICE_FIELDS = ("mn", "name", "enterprise", "outlet", "station", "st", "interval_s", "last_seen", "last_peer")


def hj212_offline_devices(con: Con, wall: datetime, factor: float, min_s: float,
                          default_interval_s: float) -> tuple[int, list[dict[str, Any]]]:
    """(registered HJ 212 devices, the offline ones at ``wall``): never seen, or silent longer than
    ``max(interval × factor, min_s)`` (no interval: ``default_interval_s``); longest silent first, never seen first
    of all. Rows: :data:`DEVICE_FIELDS` plus ``limit_s`` and ``silent_s``. Filtered in the database: a platform
    has tens of thousands of devices and a handful offline. The password is never read."""
    if not has_table(con, "hj212_devices"):
        return 0, []
    total = int(con.execute("SELECT count(*) FROM hj212_devices WHERE registered").fetchone()[0])
    limit = "greatest(coalesce(interval_s, $default) * $factor, $min_s)"
    silent = "epoch($wall::TIMESTAMP) - epoch(last_seen)"
    rows = con.execute(
        f"""SELECT {', '.join(DEVICE_FIELDS)}, {limit} AS limit_s, {silent} AS silent_s FROM hj212_devices
            WHERE registered AND (last_seen IS NULL OR {silent} > {limit})
            ORDER BY last_seen IS NOT NULL, silent_s DESC, mn""",
        {"wall": wall, "factor": factor, "min_s": min_s, "default": default_interval_s}).fetchall()
    return total, [dict(zip((*DEVICE_FIELDS, "limit_s", "silent_s"), r)) for r in rows]
