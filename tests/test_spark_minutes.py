"""Minute → hour aggregation on Spark equals the embedded kernel value by value, on a real two-worker standalone
cluster (tests/spark_cluster.py). Input: generated minute data of 40 devices × 14 days with gaps around the
45-minute threshold, repeated minutes (corrections), flagged minutes and NaN, shuffled, in a Parquet file.
Marked ``spark`` (run with ``uv run --group dev pytest -m spark tests/test_spark_minutes.py``)."""

from __future__ import annotations

from datetime import datetime

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from qingshan.evaluate.minutes import aggregate_minutes

from .spark_cluster import cluster, require_spark, spark  # noqa: F401 (fixtures)
from .test_minutes import assert_same

pytestmark = pytest.mark.spark
POLLUTANTS = ("so2", "no2", "co", "o3", "nox", "pm10", "pm25")


def minute_data(devices: int = 40, days: int = 14, seed: int = 17) -> pa.Table:
    """Minute rows with each device-hour keeping a random share (30–100 %) of its minutes, some hours missing,
    0.5 % of minutes re-sent with another value, 1 % flagged M, 0.5 % NaN; rows shuffled, ``seq`` = arrival."""
    rng = np.random.default_rng(seed)
    m0 = int((datetime(2024, 3, 1) - datetime(1970, 1, 1)).total_seconds()) // 60
    n_min = days * 1440
    dev = np.repeat(np.arange(devices), n_min)
    mi = m0 + 1 + np.tile(np.arange(n_min), devices)  # minutes labelled 00:01 … of the first day
    hour_keep = rng.uniform(0.3, 1.0, size=devices * days * 24)
    hour_keep[rng.random(hour_keep.size) < 0.03] = 0.0
    keep = rng.random(dev.size) < np.repeat(hour_keep, 60)
    dev, mi = dev[keep], mi[keep]
    again = rng.random(dev.size) < 0.005
    dev, mi = np.concatenate([dev, dev[again]]), np.concatenate([mi, mi[again]])
    n = dev.size
    cols: dict[str, pa.Array] = {
        "device": pa.array(np.char.add("D", dev.astype(str))),
        "ts": pa.array(mi.astype("int64") * 60_000_000).cast(pa.timestamp("us")),
        "seq": pa.array(np.arange(n, dtype=np.int64)),  # the re-sent rows arrive last
    }
    for p in POLLUTANTS:
        v = np.round(rng.gamma(2.0, 20.0, n), 1) if p != "co" else np.round(rng.gamma(2.0, 0.4, n), 3)
        v[rng.random(n) < 0.005] = np.nan
        cols[p] = pa.array(v)
        flag = np.where(rng.random(n) < 0.01, "M", "N").astype(object)
        flag[rng.random(n) < 0.01] = None
        cols[f"{p}_flag"] = pa.array(flag, pa.string())
    table = pa.table(cols)
    return table.take(pa.array(rng.permutation(n)))


def spark_result(df, embedded: pa.Table, **kw) -> pa.Table:
    from qingshan.spark import aggregate_minutes_spark

    out = aggregate_minutes_spark(df, **kw).toArrow().sort_by([("device", "ascending"), ("hi", "ascending")])
    return out.cast(embedded.schema)  # Spark's string/timestamp representation; values are not changed


def test_spark_equals_embedded_on_minute_data(spark, tmp_path):
    table = minute_data()
    path = tmp_path / "minutes.parquet"
    pq.write_table(table, path)
    embedded = aggregate_minutes(table)
    counts = embedded.column("so2_minutes").to_numpy()
    assert embedded.num_rows > 12_000 and (counts == 44).any() and (counts == 45).any()  # the threshold is exercised
    assert_same(embedded, spark_result(spark.read.parquet(str(path)), embedded))
    lenient = aggregate_minutes(table, rule="gb3095-45min-gases")
    assert_same(lenient, spark_result(spark.read.parquet(str(path)), lenient, rule="gb3095-45min-gases"))


def test_spark_without_seq_keeps_the_file_order(spark, tmp_path):
    # no arrival column: "last wins" follows the row order of the (single) input file on both engines
    table = minute_data(devices=6, days=3, seed=5).drop_columns(["seq"])
    path = tmp_path / "minutes-noseq.parquet"
    pq.write_table(table, path)
    embedded = aggregate_minutes(table)
    assert_same(embedded, spark_result(spark.read.parquet(str(path)), embedded, partitions=3))
