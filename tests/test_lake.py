"""The lake (qingshan export lake): layout, manifest, refusals, and the embedded engine evaluating from it.

No Spark here (tests/test_spark.py runs the Spark engine on a cluster); these run in the default suite.
"""

from __future__ import annotations

import json
from pathlib import Path

import duckdb
import pandas as pd
import pyarrow as pa
import pytest
from typer.testing import CliRunner

from qingshan.cli import app
from qingshan.evaluate.air import evaluate_period
from qingshan.evaluate.periods import parse_period
from qingshan.lake import SCHEMA_VERSION, LakeError, export_lake, lake_connection, open_lake
from qingshan.store.workspace import Workspace

from .conftest import QUOTSOFT, STATION_LIST, need

runner = CliRunner()


def _hour(day: str, h: int) -> int:
    """``hi`` of the hour labelled ``day h:00`` (h = 1…24)."""
    return (pd.Timestamp(day) - pd.Timestamp("1970-01-01")).days * 24 + h


def _small_ws(path: Path) -> Workspace:
    ws = Workspace(path)
    ws.upsert_stations(pa.table({
        "code": ["A1", "B1", "T1"], "name": ["甲", "乙", "镇站"], "city": ["甲市", "甲市", "甲市"],
        "district": ["东区", "西区", None], "lon": [120.0, 120.1, 120.2], "lat": [31.0, 31.1, 31.2],
        "is_control": [False, False, False], "status": [None, None, None], "import_id": [1, 1, 1],
        "town": [None, None, "一镇"], "network": ["国控", None, "乡镇"],
    }))
    his = [_hour("2023-01-31", h) for h in range(1, 25)] + [_hour("2023-02-01", 1)]
    rows = {"station": [], "hi": []}
    for code in ("A1", "B1", "T1"):
        rows["station"] += [code] * len(his)
        rows["hi"] += his
    n = len(rows["hi"])
    batch = pa.table({**rows, **{p: [10.0 + i % 7 for i in range(n)] for p in ("so2", "no2", "o3", "pm10", "pm25")},
                      "co": [0.5] * n, "import_id": [1] * n})
    ws.upsert_air_hourly(batch)
    return ws


def test_export_layout_manifest_and_round_trip(tmp_path):
    with _small_ws(tmp_path / "ws") as ws:
        m = export_lake(ws.con, tmp_path / "lake", source="ws")
        stored = ws.con.sql("SELECT * EXCLUDE (ts) FROM air_hourly ORDER BY station, hi").df()
        stations = ws.con.sql("SELECT code, name, city, district, town, network FROM stations ORDER BY code").df()
    lake = tmp_path / "lake"
    on_disk = json.loads((lake / "manifest.json").read_text(encoding="utf-8"))
    assert on_disk == m and m["schema_version"] == SCHEMA_VERSION and m["format"] == "qingshan-lake"
    h = m["tables"]["air_hourly"]
    assert h["rows"] == 75 and h["stations"] == 3 and h["partitioning"] == ["year", "month", "network"]
    assert sum(f["rows"] for f in h["files"]) == 75
    dirs = {str(Path(f["path"]).parent) for f in h["files"]}
    # the hour labelled 2023-02-01 00:00 (24:00 of 31 January) stays in January; 2 February 01:00 is February;
    # network values are Hive-escaped, a station without one goes to Hive's default partition
    assert dirs == {f"air_hourly/year=2023/month={mo}/network={n}" for mo in (1, 2)
                    for n in ("%E5%9B%BD%E6%8E%A7", "%E4%B9%A1%E9%95%87", "__HIVE_DEFAULT_PARTITION__")}
    jan = duckdb.sql(f"SELECT max(hi) FROM read_parquet('{lake}/air_hourly/year=2023/month=1/**/*.parquet')").fetchall()[0]
    assert jan[0] == _hour("2023-01-31", 24)
    con = lake_connection(lake)
    back = con.sql("SELECT * EXCLUDE (ts) FROM air_hourly ORDER BY station, hi").df()
    pd.testing.assert_frame_equal(back, stored, check_dtype=False)
    st = con.sql("SELECT code, name, city, district, town, network FROM stations ORDER BY code").df()
    pd.testing.assert_frame_equal(st, stations, check_dtype=False)
    partitions = con.sql(f"SELECT DISTINCT network FROM read_parquet('{lake}/air_hourly/**/*.parquet', "
                         "hive_partitioning = true) ORDER BY 1").fetchall()
    assert partitions == [("乡镇",), ("国控",), (None,)]


def test_export_refuses_to_overwrite_and_replaces(tmp_path):
    with _small_ws(tmp_path / "ws") as ws:
        export_lake(ws.con, tmp_path / "lake")
        with pytest.raises(LakeError, match="已有数据湖"):
            export_lake(ws.con, tmp_path / "lake")
        (tmp_path / "other").mkdir()
        (tmp_path / "other" / "keep.txt").write_text("x")
        with pytest.raises(LakeError, match="非空且不是数据湖"):
            export_lake(ws.con, tmp_path / "other")
        assert (tmp_path / "other" / "keep.txt").read_text() == "x"
        ws.con.execute("DELETE FROM air_hourly WHERE station = 'B1'")
        m = export_lake(ws.con, tmp_path / "lake", replace=True)
    assert m["tables"]["air_hourly"]["rows"] == 50
    assert lake_connection(tmp_path / "lake").sql("SELECT count(*) FROM air_hourly").fetchall()[0][0] == 50


def test_export_empty_workspace_refused(tmp_path):
    with Workspace(tmp_path / "ws") as ws, pytest.raises(LakeError, match="没有小时数据"):
        export_lake(ws.con, tmp_path / "lake")
    assert not (tmp_path / "lake").exists()


def test_readers_refuse_other_versions_and_unfinished_exports(tmp_path):
    with _small_ws(tmp_path / "ws") as ws:
        export_lake(ws.con, tmp_path / "lake")
    mf = tmp_path / "lake" / "manifest.json"
    m = json.loads(mf.read_text(encoding="utf-8"))
    mf.write_text(json.dumps({**m, "schema_version": SCHEMA_VERSION + 1}), encoding="utf-8")
    with pytest.raises(LakeError, match="数据湖版本为 2"):
        open_lake(tmp_path / "lake")
    mf.unlink()
    with pytest.raises(LakeError, match="缺少 manifest.json"):
        lake_connection(tmp_path / "lake")


@pytest.fixture(scope="module")
def cnemc(tmp_path_factory):
    files = sorted(need(QUOTSOFT).glob("china_sites_*.csv"))
    (stations,) = sorted(need(STATION_LIST).glob("*.csv"))
    root = tmp_path_factory.mktemp("cnemc-lake")
    res = runner.invoke(app, ["--workspace", str(root / "ws"), "import", "quotsoft", *map(str, files)])
    assert res.exit_code == 0, res.output
    res = runner.invoke(app, ["--workspace", str(root / "ws"), "import", "stations", str(stations)])
    assert res.exit_code == 0, res.output
    res = runner.invoke(app, ["--workspace", str(root / "ws"), "export", "lake", str(root / "lake")])
    assert res.exit_code == 0, res.output
    assert "已导出" in res.output and "数据湖版本 1" in res.output
    return root


def test_embedded_engine_from_lake_equals_workspace(cnemc):
    period = parse_period("2023-01-20:2023-01-23")
    with Workspace(cnemc / "ws") as ws:
        a = evaluate_period(ws.con, period).table
    b = evaluate_period(lake_connection(cnemc / "lake"), period).table
    key = ["level", "code"]
    a, b = (t.sort_values(key).reset_index(drop=True) for t in (a, b))
    assert len(a) > 2000
    pd.testing.assert_frame_equal(a, b)


def test_cli_evaluate_from_lake_writes_the_workspace_table(cnemc, tmp_path):
    base = ["--workspace", str(cnemc / "ws"), "air", "evaluate", "--period", "2023-01-20:2023-01-23", "--city", "常州"]
    res = runner.invoke(app, base + ["-o", str(tmp_path / "ws.csv")])
    assert res.exit_code == 0, res.output
    res = runner.invoke(app, base + ["--lake", str(cnemc / "lake"), "-o", str(tmp_path / "lake.csv")])
    assert res.exit_code == 0, res.output
    assert (tmp_path / "lake.csv").read_bytes() == (tmp_path / "ws.csv").read_bytes()
    df = pd.read_csv(tmp_path / "lake.csv")
    assert df["level"].tolist() == ["station"] * 8 + ["city"] and df["code"].iloc[:8].is_monotonic_increasing


@pytest.mark.parametrize("extra,message", [
    (["--engine", "spark"], "需要 --lake"),
    (["--engine", "hadoop"], "--engine 应为"),
    (["--master", "spark://127.0.0.1:7077"], "--master 只用于"),
    (["--lake", "/nonexistent/lake"], "不是数据湖"),
])
def test_cli_engine_option_errors(tmp_path, extra, message):
    res = runner.invoke(app, ["--workspace", str(tmp_path / "ws"), "air", "evaluate", "--period", "2023"] + extra)
    assert res.exit_code == 2
    assert message in " ".join(res.stderr.split())


def test_cli_lake_unknown_city(cnemc):
    res = runner.invoke(app, ["--workspace", str(cnemc / "ws"), "air", "evaluate", "--period", "2023-01-20",
                              "--lake", str(cnemc / "lake"), "--city", "不存在"])
    assert res.exit_code == 2 and "没有城市" in " ".join(res.stderr.split())


def test_cli_export_refusal_is_one_line(tmp_path):
    res = runner.invoke(app, ["--workspace", str(tmp_path / "ws"), "export", "lake", str(tmp_path / "lake")])
    assert res.exit_code == 2 and "导出失败" in res.stderr and "没有小时数据" in " ".join(res.stderr.split())
