"""Sensor calibrations (table ``sensor_calibration``, migration 4) and the reads that calibration and drift need.

``sensor_calibration`` (DDL in :mod:`qingshan.store.schema`) keeps every fit of a sensor (grid micro-sensor or dust monitor) against its reference
station, one row per (sensor, pollutant, version): the model and its coefficients (JSON), the reference station
and the met station that gave the humidity, the co-location period (``fit_from_hi … fit_to_hi``), ``n``, R²,
RMSE, ``valid_from_hi`` (the first hour the version applies to), ``status`` (``accepted`` or ``refused`` with
``reason``), ``active`` (the newest accepted version), who and when. A new fit adds a version and never rewrites
an older row; only the ``active`` flag moves. Calibrated values are derived on read; ``air_hourly`` stays raw.

The met table ``met_hourly`` (station, hi, ts, temp, rh, pressure, wind_speed, wind_dir, import_id) is optional:
without it no humidity is available.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import duckdb
import pandas as pd

from .schema import CALIBRATION_TABLE, VALUE_COLUMNS, has_table

Con = duckdb.DuckDBPyConnection

TABLE = CALIBRATION_TABLE

FIELDS = ("sensor", "pollutant", "version", "reference", "distance_km", "met_station", "model", "coefficients",
          "fit_from_hi", "fit_to_hi", "valid_from_hi", "n", "r2", "rmse", "status", "reason", "active",
          "created_at", "created_by")


@dataclass(frozen=True)
class CalibrationRecord:
    """One fit to store (accepted or refused); the version is assigned when it is added."""

    sensor: str
    pollutant: str
    model: str
    coefficients: Mapping[str, float] | None
    reference: str | None
    distance_km: float | None
    met_station: str | None
    fit_from_hi: int | None
    fit_to_hi: int | None
    valid_from_hi: int | None
    n: int
    r2: float | None
    rmse: float | None
    status: str
    reason: str | None = None
    created_by: str | None = None


def add_calibrations(con: Con, records: Sequence[CalibrationRecord]) -> list[int]:
    """Store each record as the next version of its sensor and pollutant, all in one transaction; an accepted fit
    becomes the active version. Returns the versions, in order."""
    if not records:
        return []
    now = pd.Timestamp.now().to_pydatetime().replace(microsecond=0)
    con.execute("BEGIN TRANSACTION")
    try:
        last = {(a, b): int(v) for a, b, v in con.execute(
            f"SELECT sensor, pollutant, max(version) FROM {TABLE} GROUP BY sensor, pollutant").fetchall()}
        rows, versions = [], []
        for rec in records:
            key = (rec.sensor, rec.pollutant)
            last[key] = last.get(key, 0) + 1
            versions.append(last[key])
            rows.append([rec.sensor, rec.pollutant, last[key], rec.reference, rec.distance_km, rec.met_station,
                         rec.model,
                         json.dumps(dict(rec.coefficients), sort_keys=True) if rec.coefficients is not None else None,
                         rec.fit_from_hi, rec.fit_to_hi, rec.valid_from_hi, int(rec.n), rec.r2, rec.rmse, rec.status,
                         rec.reason, False, now, rec.created_by])
        frame = pd.DataFrame(rows, columns=list(FIELDS)).astype({"r2": float, "rmse": float, "distance_km": float})
        # the newest accepted version of each sensor and pollutant is the active one (a refused fit moves nothing)
        newest = frame[frame["status"] == "accepted"].groupby(["sensor", "pollutant"])["version"].transform("max")
        frame.loc[newest.index, "active"] = frame.loc[newest.index, "version"] == newest
        moved = frame[frame["active"]]
        con.register("_cal_new", frame)
        try:
            if len(moved):
                con.register("_cal_moved", moved[["sensor", "pollutant"]])
                con.execute(f"UPDATE {TABLE} SET active = FALSE WHERE active AND (sensor, pollutant) IN "
                            "(SELECT (sensor, pollutant) FROM _cal_moved)")
                con.unregister("_cal_moved")
            con.execute(f"INSERT INTO {TABLE} ({', '.join(FIELDS)}) SELECT {', '.join(FIELDS)} FROM _cal_new")
        finally:
            con.unregister("_cal_new")
        con.execute("COMMIT")
    except BaseException:
        con.execute("ROLLBACK")
        raise
    return versions


def add_calibration(con: Con, rec: CalibrationRecord) -> int:
    """:func:`add_calibrations` of one record; returns its version."""
    return add_calibrations(con, [rec])[0]


def calibrations(con: Con, sensor: str | None = None, pollutant: str | None = None,
                 accepted_only: bool = False) -> pd.DataFrame:
    """Stored fits (:data:`FIELDS`, ``coefficients`` parsed to a dict), by sensor, pollutant and version; empty
    without the table."""
    if not has_table(con, TABLE):
        return pd.DataFrame(columns=list(FIELDS))
    conds, params = [], []
    for col, v in (("sensor", sensor), ("pollutant", pollutant)):
        if v is not None:
            conds.append(f"{col} = ?")
            params.append(v)
    if accepted_only:
        conds.append("status = 'accepted'")
    where = f"WHERE {' AND '.join(conds)}" if conds else ""
    df = con.execute(f"SELECT {', '.join(FIELDS)} FROM {TABLE} {where} ORDER BY sensor, pollutant, version",
                     params).df()
    df["coefficients"] = [json.loads(c) if isinstance(c, str) else None for c in df["coefficients"]]
    return df


def stations_located(con: Con) -> pd.DataFrame:
    """Every station with its network and coordinates (``code, name, city, network, is_control, lon, lat``)."""
    return con.execute("SELECT code, name, city, district, network, is_control, lon, lat FROM stations "
                       "ORDER BY code").df()


def hourly_values(con: Con, codes: Iterable[str], pollutant: str, first_hi: int | None = None,
                  last_hi: int | None = None) -> pd.DataFrame:
    """Stored hourly values of ``pollutant`` (``station, hi, value``; NULLs left out) of the stations ``codes``
    within the inclusive hour range (either end open), by station and hour."""
    if pollutant not in VALUE_COLUMNS:
        raise ValueError(f"unknown air_hourly column {pollutant!r}")
    codes = list(dict.fromkeys(codes))
    if not codes:
        return pd.DataFrame({"station": pd.Series(dtype=object), "hi": pd.Series(dtype="int64"),
                             "value": pd.Series(dtype=float)})
    return con.execute(
        f"""SELECT station, hi, {pollutant} AS value FROM air_hourly
            WHERE station IN ({', '.join('?' * len(codes))}) AND {pollutant} IS NOT NULL
              AND hi >= coalesce(?, hi) AND hi <= coalesce(?, hi) ORDER BY station, hi""",
        [*codes, first_hi, last_hi]).df()


def met_stations(con: Con) -> list[str]:
    """The stations that hold relative humidity in ``met_hourly`` (empty without the table)."""
    if not has_table(con, "met_hourly"):
        return []
    return [r[0] for r in con.execute("SELECT DISTINCT station FROM met_hourly WHERE rh IS NOT NULL ORDER BY 1")
            .fetchall()]


def humidity(con: Con, station: str, first_hi: int | None = None, last_hi: int | None = None) -> pd.DataFrame:
    """Hourly relative humidity (%) of a met station (``hi, rh``), by hour; empty without the table."""
    if not has_table(con, "met_hourly"):
        return pd.DataFrame({"hi": pd.Series(dtype="int64"), "rh": pd.Series(dtype=float)})
    return con.execute("""SELECT hi, rh FROM met_hourly WHERE station = ? AND rh IS NOT NULL
                          AND hi >= coalesce(?, hi) AND hi <= coalesce(?, hi) ORDER BY hi""",
                       [station, first_hi, last_hi]).df()


def last_hour(con: Con) -> int | None:
    """The latest stored hour of any station (None for an empty store)."""
    (v,) = con.execute("SELECT max(hi) FROM air_hourly").fetchone()
    return None if v is None else int(v)


def as_dict(row: Mapping[str, Any]) -> dict[str, Any]:
    """A stored fit as plain JSON-able values."""
    out = {k: row[k] for k in FIELDS}
    out["created_at"] = str(out["created_at"]) if out["created_at"] is not None else None
    for k in ("version", "fit_from_hi", "fit_to_hi", "valid_from_hi", "n"):
        out[k] = None if pd.isna(out[k]) else int(out[k])
    for k in ("distance_km", "r2", "rmse"):
        out[k] = None if pd.isna(out[k]) else float(out[k])
    out["active"] = bool(out["active"])
    for k in ("reference", "met_station", "reason", "created_by"):
        out[k] = None if out[k] is None or (isinstance(out[k], float) and pd.isna(out[k])) else out[k]
    return out
