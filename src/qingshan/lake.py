"""The measurement lake: a workspace's hourly air data as hive-partitioned Parquet, for engines beyond one machine.

Layout (``qingshan export lake DIR``; documented in docs/scale-out.md)::

    DIR/manifest.json                                   format, schema version, counts, files (written last)
    DIR/stations/stations.parquet                       the station table (code, name, city, district, town, …)
    DIR/air_hourly/year=2023/month=1/network=<net>/*.parquet

* ``air_hourly`` holds the store's columns (``station, hi, ts``, the six pollutants, the published values
  ``pub_*`` and ``import_id``) with the store's time convention: ``hi`` = hours since 1970-01-01 00:00 Beijing
  time labelling the **end** of the hour. ``year``/``month`` are those of the natural day ``(hi − 1) // 24`` the
  hour belongs to (so 24:00 stays with its day), ``network`` is the station's network (国控/省控/市控/乡镇; stations
  without one go to Hive's default partition, read back as NULL). Partition values are written and read the Hive
  way (percent-escaped), so Spark, DuckDB, Hive and Trino read the same files.
* The manifest's ``schema_version`` is checked by every reader; a lake of another version is refused with a
  message rather than misread.

:func:`lake_connection` opens a lake for the embedded engine (DuckDB views named like the workspace tables), so
the embedded and the Spark engine can be run on the same input.
"""

from __future__ import annotations

import json
import os
import shutil
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

import duckdb

from .store.workspace import VALUE_COLUMNS

FORMAT = "qingshan-lake"
SCHEMA_VERSION = 1
MANIFEST = "manifest.json"
HOURLY_DIR = "air_hourly"
STATIONS_FILE = "stations/stations.parquet"
PARTITIONING = ("year", "month", "network")
HOURLY_COLUMNS = ("station", "hi", "ts", *VALUE_COLUMNS, "import_id")
STATION_COLUMNS = ("code", "name", "city", "district", "town", "network", "lon", "lat", "is_control", "status")


class LakeError(ValueError):
    """A lake that cannot be written or read; the message is for the user (Chinese, one line)."""


@dataclass(frozen=True)
class Lake:
    """An opened lake: its root (a local path or a Hadoop-style URI such as ``s3a://bucket/lake``) and manifest."""

    root: str
    manifest: dict[str, Any]

    @property
    def hourly_path(self) -> str:
        return _join(self.root, HOURLY_DIR)

    @property
    def stations_path(self) -> str:
        return _join(self.root, STATIONS_FILE)


def _join(root: str, rel: str) -> str:
    return root.rstrip("/") + "/" + rel


def _sql_str(s: str) -> str:
    return "'" + s.replace("'", "''") + "'"


def export_lake(con: duckdb.DuckDBPyConnection, dest: str | os.PathLike[str], replace: bool = False,
                source: str = "", row_group_size: int = 122_880) -> dict[str, Any]:
    """Write the workspace behind ``con`` (tables ``air_hourly`` and ``stations``) as a lake at ``dest``.

    ``dest`` must be absent or empty, or hold a lake when ``replace`` is set (its tables are then rewritten). The
    manifest is written last, so a lake without one is an interrupted export and is refused by readers."""
    dest = Path(dest)
    (n_rows,) = con.execute("SELECT count(*) FROM air_hourly").fetchall()[0]
    if not n_rows:
        raise LakeError("工作区没有小时数据，无需导出（先用 qingshan import 导入监测数据）")
    if dest.exists() and any(dest.iterdir()):
        if not (dest / MANIFEST).exists():
            raise LakeError(f"目录 {dest} 非空且不是数据湖，拒绝写入（请指定空目录）")
        if not replace:
            raise LakeError(f"目录 {dest} 已有数据湖；如需重新导出请加 --replace")
        (dest / MANIFEST).unlink()  # first: a half-replaced lake must not look complete
        for sub in (HOURLY_DIR, "stations"):
            shutil.rmtree(dest / sub, ignore_errors=True)
    dest.mkdir(parents=True, exist_ok=True)
    (dest / "stations").mkdir(exist_ok=True)
    value_cols = ", ".join(f"h.{c}" for c in HOURLY_COLUMNS)
    day = "date_add(DATE '1970-01-01', CAST((h.hi - 1) // 24 AS INTEGER))"
    con.execute(
        f"""COPY (SELECT {value_cols}, year({day}) AS year, month({day}) AS month, s.network AS network
                  FROM air_hourly h LEFT JOIN stations s ON s.code = h.station
                  ORDER BY year, month, network, h.station, h.hi)
            TO {_sql_str(str(dest / HOURLY_DIR))}
            (FORMAT parquet, PARTITION_BY ({', '.join(PARTITIONING)}), COMPRESSION zstd,
             ROW_GROUP_SIZE {int(row_group_size)})"""
    )
    con.execute(
        f"COPY (SELECT {', '.join(STATION_COLUMNS)} FROM stations ORDER BY code) "
        f"TO {_sql_str(str(dest / STATIONS_FILE))} (FORMAT parquet)"
    )
    return write_manifest(con, dest, source)


def write_manifest(con: duckdb.DuckDBPyConnection, dest: str | os.PathLike[str], source: str = "") -> dict[str, Any]:
    """Describe the Parquet files under ``dest`` and write its manifest (atomically, as the last step of a
    lake's writing: a lake without a manifest is refused by readers)."""
    dest = Path(dest)
    manifest = _describe(con, dest, source)
    tmp = dest / (MANIFEST + ".tmp")
    tmp.write_text(json.dumps(manifest, ensure_ascii=False, indent=1), encoding="utf-8")
    os.replace(tmp, dest / MANIFEST)
    return manifest


def _describe(con: duckdb.DuckDBPyConnection, dest: Path, source: str) -> dict[str, Any]:
    glob = _sql_str(str(dest / HOURLY_DIR / "**" / "*.parquet"))
    files = con.execute(
        f"SELECT file_name, sum(row_group_num_rows) FROM (SELECT DISTINCT file_name, row_group_id, row_group_num_rows "
        f"FROM parquet_metadata({glob})) GROUP BY 1 ORDER BY 1"
    ).fetchall()
    rel = [(str(Path(f).relative_to(dest)), int(n)) for f, n in files]
    cols = con.execute(f"DESCRIBE SELECT * FROM read_parquet({glob}, hive_partitioning = false)").fetchall()
    st_cols = con.execute(f"DESCRIBE SELECT * FROM read_parquet({_sql_str(str(dest / STATIONS_FILE))})").fetchall()
    hi_min, hi_max, n_st, n_rows = con.execute(
        f"SELECT min(hi), max(hi), count(DISTINCT station), count(*) FROM read_parquet({glob})").fetchall()[0]
    (n_stations,) = con.execute(f"SELECT count(*) FROM read_parquet({_sql_str(str(dest / STATIONS_FILE))})").fetchall()[0]
    from . import __version__

    return {
        "format": FORMAT,
        "schema_version": SCHEMA_VERSION,
        "created_at": datetime.now().isoformat(timespec="seconds"),
        "created_by": f"qingshan {__version__}",
        "source": source,
        "time": "hi = hours since 1970-01-01 00:00 Beijing time, labelling the end of the hour; "
                "year/month = those of the natural day (hi - 1) // 24",
        "tables": {
            "air_hourly": {
                "path": HOURLY_DIR, "partitioning": list(PARTITIONING), "rows": int(n_rows),
                "stations": int(n_st), "hi_min": int(hi_min), "hi_max": int(hi_max),
                "columns": [{"name": c[0], "type": c[1]} for c in cols],
                "files": [{"path": p, "rows": n} for p, n in rel],
            },
            "stations": {"path": STATIONS_FILE, "rows": int(n_stations),
                         "columns": [{"name": c[0], "type": c[1]} for c in st_cols]},
        },
    }


def check_manifest(manifest: dict[str, Any], where: str) -> dict[str, Any]:
    """The manifest when it is a lake of this schema version; :class:`LakeError` otherwise."""
    if manifest.get("format") != FORMAT:
        raise LakeError(f"{where} 不是青山数据湖（manifest.json 的 format 不是 {FORMAT}）")
    version = manifest.get("schema_version")
    if version != SCHEMA_VERSION:
        raise LakeError(f"{where} 的数据湖版本为 {version}，本程序只读 {SCHEMA_VERSION} 版；请用本版本重新导出")
    return manifest


def open_lake(root: str | os.PathLike[str]) -> Lake:
    """Open a local lake (reads and checks its manifest)."""
    path = Path(root)
    if not (path / MANIFEST).exists():
        raise LakeError(f"{path} 不是数据湖或导出未完成（缺少 {MANIFEST}；先运行 qingshan export lake）")
    try:
        manifest = json.loads((path / MANIFEST).read_text(encoding="utf-8"))
    except (OSError, ValueError) as e:
        raise LakeError(f"{path / MANIFEST} 无法读取：{e}") from None
    return Lake(str(path.resolve()), check_manifest(manifest, str(path)))


def lake_connection(root: str | os.PathLike[str], con: duckdb.DuckDBPyConnection | None = None) -> duckdb.DuckDBPyConnection:
    """A DuckDB connection with views ``air_hourly`` and ``stations`` over a local lake: the embedded engine
    (:func:`qingshan.evaluate.air.evaluate_period`) evaluates from it unchanged."""
    lake = open_lake(root)
    con = con or duckdb.connect()
    glob = _sql_str(_join(lake.hourly_path, "**/*.parquet"))
    cols = ", ".join(HOURLY_COLUMNS)
    con.execute(f"CREATE OR REPLACE VIEW air_hourly AS SELECT {cols} FROM read_parquet({glob}, hive_partitioning = true)")
    con.execute(f"CREATE OR REPLACE VIEW stations AS SELECT * FROM read_parquet({_sql_str(lake.stations_path)})")
    return con
