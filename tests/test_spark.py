"""The Spark engine equals the embedded engine value by value, on a real two-worker standalone cluster.

The cluster (a master and two workers on 127.0.0.1, separate JVMs; executors in their own processes with their
own Python workers) is started once for the module (tests/spark_cluster.py). Both engines evaluate the **same
lake**: the embedded one through DuckDB views over its Parquet files (:func:`qingshan.lake.lake_connection`), so
any difference is the engine's. Inputs: the real CNEMC days in ../shared/data and a generated national-like year
(bench/generate.py's model) with districts and town stations, in 2026 so that the 2026-03-01 rule-set switch falls
inside it. Marked ``spark`` (docs/scale-out.md says how CI runs them).
"""

from __future__ import annotations

import math
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from qingshan.evaluate.air import evaluate_hourly, evaluate_period
from qingshan.evaluate.periods import parse_period
from qingshan.ingest import import_files
from qingshan.lake import export_lake, lake_connection
from qingshan.store.workspace import Workspace

from .conftest import QUOTSOFT, STATION_LIST, need
from .spark_cluster import cluster, require_spark, spark  # noqa: F401 (fixtures)

pytestmark = pytest.mark.spark
ROOT = Path(__file__).resolve().parents[1]
ALL_LEVELS = ("station", "city", "district", "town")


def _missing(v) -> bool:
    return v is None or v is pd.NA or (isinstance(v, float) and math.isnan(v))


def assert_same_table(embedded: pd.DataFrame, spark: pd.DataFrame) -> None:
    """Same columns in the same order, same rows, every value equal (missing = missing; floats exactly)."""
    assert list(spark.columns) == list(embedded.columns)
    key = ["level", "code"]
    a = embedded.sort_values(key).reset_index(drop=True)
    b = spark.sort_values(key).reset_index(drop=True)
    assert a[key].astype(str).values.tolist() == b[key].astype(str).values.tolist()
    bad = []
    for col in a.columns:
        for i, (x, y) in enumerate(zip(a[col].tolist(), b[col].tolist())):
            if _missing(x) and _missing(y):
                continue
            if _missing(x) or _missing(y) or x != y or type(x) is bool and type(y) is not bool:
                bad.append((a.at[i, "level"], a.at[i, "code"], col, x, y))
    assert not bad, f"{len(bad)} values differ, first: {bad[:8]}"


def _lake_of(ws_path: Path, dest: Path) -> Path:
    with Workspace(ws_path) as ws:
        export_lake(ws.con, dest, source=str(ws_path))
    return dest


@pytest.fixture(scope="module")
def cnemc_lake(tmp_path_factory):
    files = sorted(need(QUOTSOFT).glob("china_sites_*.csv"))
    (stations,) = sorted(need(STATION_LIST).glob("*.csv"))
    root = tmp_path_factory.mktemp("cnemc")
    with Workspace(root / "ws") as ws:
        import_files(ws, "quotsoft", files)
        import_files(ws, "stations", [stations])
    return _lake_of(root / "ws", root / "lake")


@pytest.fixture(scope="module")
def generated_lake(tmp_path_factory):
    """48 generated stations (6 cities) over 2026, through the real long-CSV importer; two districts per city,
    every fifth station a town station (network 乡镇) of one of two towns, the rest 国控."""
    sys.path.insert(0, str(ROOT / "bench"))
    from generate import generate

    root = tmp_path_factory.mktemp("generated")
    generate(48, 2026, root / "data", "long", log=lambda *_: None)
    with Workspace(root / "ws") as ws:
        import_files(ws, "stations", [root / "data" / "stations.csv"])
        import_files(ws, "long", sorted((root / "data" / "long").glob("*.csv")))
        ws.con.execute("""
            UPDATE stations SET district = city || (CASE WHEN s.k % 2 = 0 THEN '东区' ELSE '西区' END),
                   network = CASE WHEN s.k % 5 = 4 THEN '乡镇' ELSE '国控' END,
                   town = CASE WHEN s.k % 5 = 4 THEN city || (CASE WHEN s.k % 10 = 4 THEN '甲镇' ELSE '乙镇' END) END
            FROM (SELECT code AS c, row_number() OVER (ORDER BY code) AS k FROM stations) s WHERE stations.code = s.c""")
    return _lake_of(root / "ws", root / "lake")


def _embedded(lake: Path, period, **kw) -> pd.DataFrame:
    con = lake_connection(lake)
    try:
        return evaluate_period(con, period, **kw).table
    finally:
        con.close()


def test_cnemc_days_spark_equals_embedded(spark, cnemc_lake):
    from qingshan.spark import evaluate_period_spark

    period = parse_period("2023-01-20:2023-01-23")
    emb = _embedded(cnemc_lake, period, levels=ALL_LEVELS)
    res = evaluate_period_spark(spark, str(cnemc_lake), period, levels=ALL_LEVELS)
    assert (emb["level"] == "station").sum() > 1500 and (emb["level"] == "city").sum() > 300
    assert res.eval_rulesets == ["gb3095-2012"] and res.limits == "gb3095-2012"
    assert_same_table(emb, res.table)


def test_cnemc_days_one_city_and_ruleset_override(spark, cnemc_lake):
    from qingshan.spark import evaluate_period_spark
    from qingshan.standards.rulesets import get_eval_ruleset

    period, ev = parse_period("2023-01-21:2023-01-23"), get_eval_ruleset("gb3095-2026-transitional")
    emb = _embedded(cnemc_lake, period, city="常州", ev_override=ev)
    res = evaluate_period_spark(spark, str(cnemc_lake), period, city="常州", ev_override=ev)
    assert sorted(emb["level"].unique()) == ["city", "station"] and len(emb) == 9
    assert_same_table(emb, res.table)


def test_cnemc_days_hourly_spark_equals_embedded(spark, cnemc_lake):
    from qingshan.spark import evaluate_hourly_spark

    period = parse_period("2023-01-21:2023-01-23")
    con = lake_connection(cnemc_lake)
    try:
        emb = evaluate_hourly(con, period).to_pandas()
    finally:
        con.close()
    got = evaluate_hourly_spark(spark, str(cnemc_lake), period).toArrow().to_pandas()
    for df in (emb, got):
        df["station"] = df["station"].astype(str)
        for c in ("primary_pollutants", "aqi_ruleset"):
            df[c] = df[c].astype(str)
    emb = emb.sort_values(["station", "hi"]).reset_index(drop=True)
    got = got.sort_values(["station", "hi"]).reset_index(drop=True)
    assert len(emb) > 100_000 and list(got.columns) == list(emb.columns)
    for c in emb.columns:
        x, y = emb[c].to_numpy(), got[c].to_numpy()
        if x.dtype.kind == "f" or y.dtype.kind == "f":
            x, y = x.astype(float), y.astype(float)
            assert np.array_equal(x, y, equal_nan=True), c
        else:
            assert (pd.Series(x).fillna(-1).to_numpy() == pd.Series(y).fillna(-1).to_numpy()).all(), c


def test_generated_year_spark_equals_embedded(spark, generated_lake):
    from qingshan.spark import evaluate_period_spark

    period = parse_period("2026")
    emb = _embedded(generated_lake, period, levels=ALL_LEVELS)
    res = evaluate_period_spark(spark, str(generated_lake), period, levels=ALL_LEVELS)
    assert set(emb["level"]) == set(ALL_LEVELS)
    assert res.eval_rulesets == ["gb3095-2012", "gb3095-2026-transitional"]
    st = emb[emb["level"] == "station"]
    assert len(st) == 48 and st["valid_all"].any() and not st["valid_all"].all()
    assert_same_table(emb, res.table)


def test_cli_spark_engine_on_standalone_master(cluster, spark, cnemc_lake, tmp_path):
    """``air evaluate --engine spark --lake DIR --master spark://…`` in its own driver process writes the table
    the embedded engine writes from the same lake (the test session keeps its two executors meanwhile)."""
    outs = {}
    for engine in ("embedded", "spark"):
        out = tmp_path / f"{engine}.csv"
        args = [sys.executable, "-m", "qingshan.cli", "--workspace", str(tmp_path / "unused-ws"), "air", "evaluate",
                "--period", "2023-01-20:2023-01-23", "--city", "常州", "--lake", str(cnemc_lake), "--engine", engine,
                "-o", str(out)] + (["--master", cluster.master_url] if engine == "spark" else [])
        proc = subprocess.run(args, capture_output=True, text=True, timeout=1200,
                              env={**os.environ, "PYSPARK_PYTHON": sys.executable})
        assert proc.returncode == 0, proc.stderr[-3000:]
        outs[engine] = out.read_bytes()
    assert outs["spark"] == outs["embedded"]
    assert len(pd.read_csv(tmp_path / "spark.csv")) == 9
