"""Schema versions of the measurement store (qingshan.store.schema; docs/store.md "Schema versions")."""

from __future__ import annotations

from pathlib import Path

import duckdb
import pytest

from qingshan.errors import QingshanError
from qingshan.evaluate.periods import parse_period
from qingshan.evaluate.water import evaluate_water
from qingshan.store.schema import LATEST, MIGRATIONS, VERSION_TABLE, StoreTooNew, stored_version
from qingshan.store.workspace import DB_FILE, Workspace

# The store as qingshan wrote it before towns were modelled and before versions were recorded (no
# schema_version table, no stations.town / stations.network).
OLD_SCHEMA = """
CREATE SEQUENCE import_id_seq START 1;
CREATE TABLE imports (import_id INTEGER PRIMARY KEY, kind VARCHAR NOT NULL, source VARCHAR NOT NULL, sha256 VARCHAR,
    started_at TIMESTAMP, finished_at TIMESTAMP, rows_read BIGINT, rows_new BIGINT, rows_updated BIGINT,
    rows_unchanged BIGINT, rows_quarantined BIGINT, messages VARCHAR);
CREATE TABLE stations (code VARCHAR PRIMARY KEY, name VARCHAR, city VARCHAR, district VARCHAR, lon DOUBLE,
    lat DOUBLE, is_control BOOLEAN NOT NULL DEFAULT FALSE, status VARCHAR, import_id INTEGER);
CREATE TABLE air_hourly (station VARCHAR NOT NULL, hi INTEGER NOT NULL, ts TIMESTAMP NOT NULL, so2 DOUBLE,
    no2 DOUBLE, co DOUBLE, o3 DOUBLE, pm10 DOUBLE, pm25 DOUBLE, pub_aqi DOUBLE, pub_so2_24h DOUBLE,
    pub_no2_24h DOUBLE, pub_co_24h DOUBLE, pub_o3_24h DOUBLE, pub_o3_8h DOUBLE, pub_o3_8h_24h DOUBLE,
    pub_pm10_24h DOUBLE, pub_pm25_24h DOUBLE, import_id INTEGER NOT NULL);
CREATE TABLE quarantine (import_id INTEGER, source VARCHAR, line BIGINT, field VARCHAR, raw VARCHAR, reason VARCHAR);
INSERT INTO stations (code, name, city) VALUES ('1001A', '市监测站', '常州');
INSERT INTO air_hourly (station, hi, ts, pm25, import_id) VALUES ('1001A', 465000, TIMESTAMP '2023-01-18 00:00:00', 35, 1);
"""


def old_workspace(path: Path) -> Path:
    path.mkdir()
    con = duckdb.connect(str(path / DB_FILE))
    con.execute(OLD_SCHEMA)
    con.close()
    return path


def columns(con: duckdb.DuckDBPyConnection, table: str) -> set[str]:
    return {r[0] for r in con.execute(f"SELECT column_name FROM information_schema.columns WHERE table_name = '{table}'").fetchall()}


def test_an_old_workspace_is_migrated_when_opened_for_writing_and_keeps_its_data(tmp_path):
    path = old_workspace(tmp_path / "ws")
    with Workspace(path, read_only=True) as ws:  # reading runs no DDL
        assert stored_version(ws.con) == 0 and "town" not in columns(ws.con, "stations")
        assert ws.con.execute("SELECT count(*) FROM air_hourly").fetchall() == [(1,)]
    with Workspace(path) as ws:
        assert stored_version(ws.con) == LATEST
        applied = ws.con.execute(f"SELECT version FROM {VERSION_TABLE} ORDER BY version").fetchall()
        assert [v for (v,) in applied] == [m.version for m in MIGRATIONS]
        assert {"town", "network"} <= columns(ws.con, "stations")
        assert ws.con.execute("SELECT code, name, city, town FROM stations").fetchall() == [("1001A", "市监测站", "常州", None)]
        assert ws.con.execute("SELECT station, hi, pm25 FROM air_hourly").fetchall() == [("1001A", 465000, 35.0)]
        assert ws.new_import("test", "x.csv", None) == 1  # the old sequence goes on
    with Workspace(path) as ws:  # up to date: nothing applied twice
        assert ws.con.execute(f"SELECT count(*) FROM {VERSION_TABLE}").fetchall() == [(len(MIGRATIONS),)]


def test_a_new_workspace_records_the_latest_version(tmp_path):
    with Workspace(tmp_path / "ws") as ws:
        # numbers are pre-assigned to parallel branches, so a branch may have a gap; they only ever increase
        assert stored_version(ws.con) == LATEST == MIGRATIONS[-1].version
        assert [m.version for m in MIGRATIONS] == sorted({m.version for m in MIGRATIONS})


@pytest.mark.parametrize("read_only", [False, True])
def test_a_workspace_newer_than_the_code_is_refused(tmp_path, read_only):
    path = tmp_path / "ws"
    with Workspace(path) as ws:
        ws.con.execute(f"INSERT INTO {VERSION_TABLE} VALUES (?, now(), 'from the future')", [LATEST + 1])
    with pytest.raises(StoreTooNew, match=f"结构版本为 {LATEST + 1}，高于本程序支持的 {LATEST}.*请升级 qingshan") as e:
        Workspace(path, read_only=read_only)
    assert isinstance(e.value, QingshanError) and "\n" not in str(e.value)
    with duckdb.connect(str(path / DB_FILE)) as con:  # refused before any change; the file is free again
        assert stored_version(con) == LATEST + 1


def test_water_evaluation_of_a_read_only_store_without_water_tables_runs_no_ddl(tmp_path):
    """It used to create the water tables on this read path (and fail on a read-only store)."""
    Workspace(tmp_path / "ws").close()
    with Workspace(tmp_path / "ws", read_only=True) as ws:
        res = evaluate_water(ws.con, parse_period("2023"))
        assert res.sections.empty
        assert not ws.con.execute("SELECT count(*) FROM information_schema.tables WHERE table_name LIKE 'water%'").fetchall()[0][0]
