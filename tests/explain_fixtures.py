"""Stores for the cause-note tests and bench: a scenario (:mod:`qingshan.alerts.scenarios`) loaded into an
in-memory DuckDB with the core schema, the HJ 212 tables and ``met_hourly``.

``met_hourly`` comes with the store's migrations (migration 3, the HJ 212 feed), and ``hj212_devices`` gets the
optional ``lon``/``lat`` columns the cause note reads when present.
"""

from __future__ import annotations

import duckdb
import pandas as pd

from qingshan.alerts.scenarios import Scenario
from qingshan.hj212.store import SCHEMA as HJ212_SCHEMA
from qingshan.standards.pollutants import SIX
from qingshan.store.schema import migrate

DEVICE_COORDINATES = ("ALTER TABLE hj212_devices ADD COLUMN IF NOT EXISTS lon DOUBLE",
                      "ALTER TABLE hj212_devices ADD COLUMN IF NOT EXISTS lat DOUBLE")


def empty_store(path: str = ":memory:", *, met: bool = True, outlets: bool = True) -> duckdb.DuckDBPyConnection:
    con = duckdb.connect(path, config={"threads": 1})  # tiny tables: threads cost more than they give
    migrate(con, path)
    if not met:
        con.execute("DROP TABLE met_hourly")
    if outlets:
        con.execute(HJ212_SCHEMA)
        for sql in DEVICE_COORDINATES:
            con.execute(sql)
    return con


def load_frames(con: duckdb.DuckDBPyConnection, stations: pd.DataFrame, air: pd.DataFrame, met: pd.DataFrame,
                outlets: pd.DataFrame | None = None, outlet_hours: pd.DataFrame | None = None) -> None:
    """Append the frames to the store's tables (the caller's store made by :func:`empty_store`)."""
    con.register("st_df", stations)
    con.execute("INSERT INTO stations (code, name, city, district, lon, lat, is_control, network) "
                "SELECT code, name, city, district, lon, lat, is_control, network FROM st_df")
    con.register("air_df", air)
    cols = ", ".join(SIX)
    con.execute(f"INSERT INTO air_hourly (station, hi, ts, {cols}, import_id) SELECT station, hi, "
                f"TIMESTAMP '1970-01-01' + hi * INTERVAL 1 HOUR, {cols}, 1 FROM air_df")
    if len(met):
        con.register("met_df", met)
        con.execute("INSERT INTO met_hourly (station, hi, ts, temp, rh, pressure, wind_speed, wind_dir, import_id) "
                    "SELECT station, hi, TIMESTAMP '1970-01-01' + hi * INTERVAL 1 HOUR, temp, rh, pressure, wind_speed, "
                    "wind_dir, 1 FROM met_df")
    if outlets is not None and len(outlets):
        con.register("out_df", outlets)
        con.execute("INSERT INTO hj212_devices (mn, registered, enterprise, outlet, name, limits, lon, lat) "
                    "SELECT mn, TRUE, enterprise, outlet, name, limits, lon, lat FROM out_df")
    if outlet_hours is not None and len(outlet_hours):
        con.register("oh_df", outlet_hours)
        con.execute("INSERT INTO source_data (packet_key, mn, st, cn, data_time, period_end, hi, factor, factor_raw, avg, "
                    "received_at) SELECT row_number() OVER (), mn, '31', '2061', TIMESTAMP '1970-01-01' + (hi - 1) * "
                    "INTERVAL 1 HOUR, TIMESTAMP '1970-01-01' + hi * INTERVAL 1 HOUR, hi, factor, factor, avg, "
                    "TIMESTAMP '1970-01-01' + hi * INTERVAL 1 HOUR FROM oh_df")
    for name in ("st_df", "air_df", "met_df", "out_df", "oh_df"):
        try:
            con.unregister(name)
        except duckdb.Error:
            pass


def scenario_store(sc: Scenario) -> duckdb.DuckDBPyConnection:
    """An in-memory store holding one scenario."""
    con = empty_store()
    load_frames(con, sc.stations, sc.air, sc.met, sc.outlets, sc.outlet_hours)
    return con


SCENARIO_TABLES = ("stations", "air_hourly", "met_hourly", "hj212_devices", "source_data")


def reload(con: duckdb.DuckDBPyConnection, sc: Scenario) -> duckdb.DuckDBPyConnection:
    """Empty the scenario tables of a store made by :func:`empty_store` and load ``sc`` (one store serves a whole
    suite: building the schema costs more than a scenario's data)."""
    for t in SCENARIO_TABLES:
        con.execute(f"DELETE FROM {t}")
    load_frames(con, sc.stations, sc.air, sc.met, sc.outlets, sc.outlet_hours)
    return con
