"""Reads for the cause note (:mod:`qingshan.alerts.explain`): stations with coordinates, an hour window of air
data for a few stations, meteorology, and the HJ 212 outlets with their hourly values.

Every function runs no DDL and reads an absent optional table (``met_hourly``, the HJ 212 tables) as empty. The
HJ 212 registry has no coordinates yet: outlets are read with ``lon``/``lat`` only when ``hj212_devices`` holds
such columns (docs/alerts.md "Candidate sources").
"""

from __future__ import annotations

from collections.abc import Sequence

import duckdb
import numpy as np

from ..standards.pollutants import SIX

Con = duckdb.DuckDBPyConnection

MET_COLUMNS = ("station", "hi", "temp", "rh", "pressure", "wind_speed", "wind_dir")

Columns = dict[str, np.ndarray]


def _columns_of(rel: duckdb.DuckDBPyConnection, names: Sequence[str]) -> Columns:
    """A result as numpy columns (NULL → NaN for numbers): the cause note works on arrays, and skipping pandas
    saves most of its time on small windows."""
    raw = rel.fetchnumpy()
    out: Columns = {}
    for n in names:
        a = raw[n]
        if np.ma.isMaskedArray(a):
            a = a.filled(np.nan) if a.dtype.kind == "f" else a.astype(object).filled(None)
        out[n] = np.asarray(a)
    return out



STATION_COLUMNS = ("code", "name", "city", "district", "network", "lon", "lat", "is_control")


def located_stations(con: Con) -> Columns:
    """:data:`STATION_COLUMNS` of every station with coordinates, as numpy columns (``is_control`` NULL → false)."""
    return _columns_of(con.execute(
        "SELECT code, name, city, district, network, lon::DOUBLE AS lon, lat::DOUBLE AS lat, "
        "coalesce(is_control, FALSE) AS is_control FROM stations WHERE lon IS NOT NULL AND lat IS NOT NULL "
        "ORDER BY code"), STATION_COLUMNS)


def has_table(con: Con, name: str) -> bool:
    """Like :func:`qingshan.store.schema.has_table`, through ``duckdb_tables()`` (a fraction of the time of
    ``information_schema``, which the note would otherwise pay four times per answer)."""
    return bool(con.execute("SELECT count(*) FROM duckdb_tables() WHERE table_name = ?", [name]).fetchall()[0][0])


def _in_list(n: int) -> str:
    return ", ".join("?" for _ in range(n)) or "NULL"


def air_window(con: Con, codes: Sequence[str], first_hi: int, last_hi: int) -> Columns:
    """``station, hi`` and the six pollutants of ``codes`` for hours ``first_hi … last_hi`` (inclusive), as numpy
    columns."""
    cols = ", ".join(f"{p}::DOUBLE AS {p}" for p in SIX)
    return _columns_of(con.execute(
        f"SELECT station, hi, {cols} FROM air_hourly WHERE station IN ({_in_list(len(codes))}) "
        "AND hi BETWEEN ? AND ?", [*codes, first_hi, last_hi]), ["station", "hi", *SIX])


def met_stations(con: Con) -> list[str]:
    """The station codes that ``met_hourly`` holds wind for (empty without the table): a grid sensor that reports
    only its housing's temperature and humidity is no meteorological station for the cause note."""
    if not has_table(con, "met_hourly"):
        return []
    return [r[0] for r in con.execute(
        "SELECT DISTINCT station FROM met_hourly WHERE wind_speed IS NOT NULL ORDER BY 1").fetchall()]


def met_window(con: Con, station: str, first_hi: int, last_hi: int) -> Columns:
    """:data:`MET_COLUMNS` of one meteorological station for hours ``first_hi … last_hi`` as numpy columns (empty
    without the table)."""
    if not has_table(con, "met_hourly"):
        return {c: np.array([]) for c in MET_COLUMNS}
    cols = ", ".join(c if c in ("station", "hi") else f"{c}::DOUBLE AS {c}" for c in MET_COLUMNS)
    return _columns_of(con.execute(f"SELECT {cols} FROM met_hourly WHERE station = ? AND hi BETWEEN ? AND ?",
                                   [station, first_hi, last_hi]), MET_COLUMNS)


def _columns(con: Con, table: str) -> set[str]:
    return {r[0] for r in con.execute("SELECT column_name FROM duckdb_columns() WHERE table_name = ?",
                                      [table]).fetchall()}


OUTLET_COLUMNS = ("mn", "enterprise", "outlet", "name", "limits", "lon", "lat")


def located_outlets(con: Con) -> Columns:
    """:data:`OUTLET_COLUMNS` of the registered HJ 212 pollution-source devices with coordinates, as numpy columns
    (a device that feeds a station — air, water, grid sensor, dust monitor — is no outlet): empty when the registry
    has no ``lon``/``lat`` columns (or no HJ 212 tables at all)."""
    if not has_table(con, "hj212_devices") or not {"lon", "lat"} <= _columns(con, "hj212_devices"):
        return {c: np.array([], dtype=float if c in ("lon", "lat") else object) for c in OUTLET_COLUMNS}
    return _columns_of(con.execute(
        "SELECT mn, enterprise, outlet, name, limits, lon::DOUBLE AS lon, lat::DOUBLE AS lat FROM hj212_devices "
        "WHERE registered AND station IS NULL AND lon IS NOT NULL AND lat IS NOT NULL ORDER BY mn"), OUTLET_COLUMNS)


def outlet_hours(con: Con, mns: Sequence[str], first_hi: int, last_hi: int) -> Columns:
    """``station`` (the MN), ``hi``, ``factor``, ``avg`` of the hourly data (CN 2061) of ``mns`` in ``first_hi …
    last_hi`` as numpy columns; several packets of one hour are averaged."""
    names = ["station", "hi", "factor", "avg"]
    if not mns or not has_table(con, "source_data"):
        return {c: np.array([]) for c in names}
    return _columns_of(con.execute(
        f"SELECT mn AS station, hi, factor, avg(avg) AS avg FROM source_data WHERE cn = '2061' "
        f"AND mn IN ({_in_list(len(mns))}) AND hi BETWEEN ? AND ? AND avg IS NOT NULL GROUP BY ALL",
        [*mns, first_hi, last_hi]), names)
