"""Driver side of the Spark engine: the embedded engine's evaluation (:mod:`qingshan.evaluate.air`) over a lake.

The work is split as in the embedded engine, with the same code at each step:

1. **per station** (executors, :mod:`.kernels`): the lake's hours are hash-partitioned by station; each partition
   becomes the dense station × hour grid and goes through ``station_daily`` (daily values, MDA8, daily AQI) — or
   ``moving_means`` + ``hourly_table`` for the hourly evaluation;
2. **per group** (executors): members' daily rows are joined with the station table's membership (the embedded
   ``level_members``), hash-partitioned by group and go through ``group_daily``;
3. **group values** (Spark SQL): counts, means, minima/maxima, exceedance counts and the HJ 663 percentiles per
   entity, from the very SQL text the embedded engine runs on DuckDB (``period_aggregate_queries``; exact:
   counts are integers, ``percentile_cont`` is Spark's exact percentile with the HJ 663 interpolation);
4. **per entity** (driver, a few thousand rows): ``statistics_from_aggregates`` — validity, GB/T 8170 rounding,
   compliance, composite index — the same function the embedded engine ends with.

The result is an :class:`~qingshan.evaluate.air.EvaluationResult` with the embedded engine's table (rows of each
level sorted by code).
"""

from __future__ import annotations

import json
import logging
import time
from contextlib import contextmanager
from functools import partial
from typing import TYPE_CHECKING

import pandas as pd
import pyarrow as pa

from ..evaluate.air import (
    EvaluationResult,
    empty_result,
    level_members,
    period_aggregate_queries,
    ruleset_segments,
    statistics_from_aggregates,
)
from ..evaluate.periods import Period, day_date
from ..lake import HOURLY_DIR, MANIFEST, STATIONS_FILE, LakeError, check_manifest
from . import kernels

if TYPE_CHECKING:
    from pyspark.sql import DataFrame, SparkSession

log = logging.getLogger("qingshan.spark")


@contextmanager
def _step(what: str):
    t0 = time.perf_counter()
    yield
    log.info("%s: %.1f s", what, time.perf_counter() - t0)


ENTITY_COLUMNS = ["code", "name", "city", "district", "town", "is_control", "network"]
LEVELS = ("city", "district", "town")


def lake_uri(path: str) -> str:
    """A lake path for Spark: URIs (``s3a://``, ``hdfs://``, ``file:``) as given, existing local paths absolute
    ``file:`` paths (so a cluster sharing the filesystem reads the same files), anything else as given (the
    cluster's default filesystem)."""
    import os

    if "://" in path or path.startswith("file:"):
        return path.rstrip("/")
    if os.path.exists(path):
        return "file://" + os.path.abspath(path)
    return path.rstrip("/")


class SparkLake:
    """A lake opened through Spark: manifest checked, tables as DataFrames."""

    def __init__(self, spark: "SparkSession", root: str):
        self.spark, self.root = spark, lake_uri(root)
        try:
            text = spark.read.text(f"{self.root}/{MANIFEST}", wholetext=True).first()
        except Exception as e:  # noqa: BLE001 — Spark raises its own analysis errors for a missing path
            raise LakeError(f"{root} 不是数据湖或无法读取（缺少 {MANIFEST}）：{str(e).splitlines()[0]}") from None
        if text is None:
            raise LakeError(f"{root}/{MANIFEST} 为空")
        try:
            manifest = json.loads(text[0])
        except ValueError as e:
            raise LakeError(f"{root}/{MANIFEST} 无法解析：{e}") from None
        self.manifest = check_manifest(manifest, root)

    def stations(self) -> "DataFrame":
        return self.spark.read.parquet(f"{self.root}/{STATIONS_FILE}")

    def hourly(self, first_day: int, last_day: int) -> "DataFrame":
        """Hours labelled in days ``first_day − 1 … last_day`` (the moving means' look-back day included); the
        year/month partitions outside that range are never listed or read."""
        from pyspark.sql import functions as F

        months = sorted({(d.year, d.month) for d in (day_date(i) for i in range(first_day - 1, last_day + 1))})
        key = F.col("year") * 12 + F.col("month")
        first_hi, last_hi = (first_day - 1) * 24 + 1, (last_day + 1) * 24
        df = self.spark.read.option("basePath", f"{self.root}/{HOURLY_DIR}").parquet(f"{self.root}/{HOURLY_DIR}")
        return (df.where(key.isin([y * 12 + m for y, m in months]))
                  .where(F.col("hi").between(first_hi, last_hi))
                  .select(*kernels.HOURLY_INPUT))


def _spark_schema(schema: pa.Schema):
    from pyspark.sql.pandas.types import from_arrow_schema

    return from_arrow_schema(schema)


def _to_pandas(df: "DataFrame") -> pd.DataFrame:
    """Small per-entity results through Arrow (types as DuckDB's ``.df()`` gives them: int64 counts, float64)."""
    return df.toArrow().to_pandas()


def _partitions(spark: "SparkSession", n_stations: int, partitions: int | None) -> int:
    if partitions:
        return partitions
    # about 200 stations a partition (the embedded engine's block), at least two tasks per core
    return max(2 * spark.sparkContext.defaultParallelism, -(-n_stations // 200))


def _hourly_of(lake: SparkLake, period: Period, city: str | None) -> "DataFrame":
    hourly = lake.hourly(period.first_day, period.last_day)
    if city is None:
        return hourly
    st = lake.stations()
    return hourly.join(st.where(st.city == city).select(st.code.alias("station")), "station", "left_semi")


def station_daily_frame(lake: SparkLake, period: Period, ev_name: str | None, hourly: "DataFrame",
                        partitions: int | None = None) -> "DataFrame":
    """Daily rows of every station-day of ``period`` (the embedded ``station_daily`` table), as a DataFrame."""
    n = _partitions(lake.spark, int(lake.manifest["tables"]["air_hourly"].get("stations", 0)), partitions)
    schema = kernels.daily_schema(period.first_day, period.last_day, ev_name)
    fn = partial(kernels.station_daily_partition, first_day=period.first_day, last_day=period.last_day,
                 ev_name=ev_name, schema=schema)
    return hourly.repartition(n, "station").mapInArrow(fn, _spark_schema(schema))


def _statistics(spark: "SparkSession", daily: "DataFrame", view: str, period: Period, ev,
                entities: pd.DataFrame | None = None) -> pd.DataFrame:
    daily.createOrReplaceTempView(view)
    q = period_aggregate_queries(f"SELECT * FROM {view}", period, ev)
    with _step(f"{view}: group values"):
        agg, monthly, exceed = (_to_pandas(spark.sql(q[k])) for k in ("agg", "monthly", "exceed"))
    if not len(agg):
        return pd.DataFrame()
    return statistics_from_aggregates(agg, monthly, exceed, period, ev, entities).sort_values("code", kind="stable")


def evaluate_period_spark(
    spark: "SparkSession", lake: str | SparkLake, period: Period, city: str | None = None, ev_override=None,
    levels: tuple[str, ...] = ("station", "city"), partitions: int | None = None,
) -> EvaluationResult:
    """:func:`qingshan.evaluate.air.evaluate_period` on Spark over a lake: the same table, value by value."""
    from pyspark import StorageLevel

    lake = lake if isinstance(lake, SparkLake) else SparkLake(spark, lake)
    segs = ruleset_segments(period.first_day, period.last_day, ev_override)
    ev_last, ev_name = segs[-1][2], (ev_override.name if ev_override is not None else None)
    result = empty_result(period, segs)
    ent = _to_pandas(lake.stations().select(*ENTITY_COLUMNS))
    hourly = _hourly_of(lake, period, city)
    with _step("lake scan"):
        empty = not hourly.limit(1).count()
    if empty:  # no station has data in the period (the embedded engine's empty grid)
        return result
    daily = station_daily_frame(lake, period, ev_name, hourly, partitions).persist(StorageLevel.MEMORY_AND_DISK)
    frames = []
    try:
        with _step("station daily"):
            daily.count()
        if "station" in levels:
            st = _statistics(spark, daily, "qs_station_daily", period, ev_last, ent)
            if len(st):
                frames.append(pd.concat([pd.DataFrame({"level": ["station"] * len(st)}), st.reset_index(drop=True)],
                                        axis=1))
        for lvl in LEVELS:
            if lvl not in levels:
                continue
            ct = _group_statistics(spark, daily, ent, lvl, city, period, ev_name, ev_last, partitions)
            if ct is not None:
                frames.append(pd.concat([pd.DataFrame({"level": [lvl] * len(ct), "name": ct["code"].to_numpy()}),
                                         ct.reset_index(drop=True)], axis=1))
    finally:
        daily.unpersist()
    result.table = pd.concat(frames, ignore_index=True) if frames else pd.DataFrame()
    return result


def _group_statistics(spark: "SparkSession", daily: "DataFrame", ent: pd.DataFrame, lvl: str, city: str | None,
                      period: Period, ev_name: str | None, ev_last, partitions: int | None) -> pd.DataFrame | None:
    members = level_members(ent, lvl, city)
    if not len(members):
        return None
    n_members = members.groupby(lvl).size()
    mdf = pd.DataFrame({"station": members["code"].astype(str).to_numpy(), "grp": members[lvl].astype(str).to_numpy(),
                        "n_members": members[lvl].map(n_members).astype("int64").to_numpy()})
    msp = spark.createDataFrame(pa.Table.from_pandas(mdf, preserve_index=False))
    from pyspark.sql import functions as F

    joined = daily.select("station", "day", *kernels.DAILY_COLUMNS).join(F.broadcast(msp), "station")
    schema = kernels.group_schema(period.first_day, period.last_day, ev_name)
    fn = partial(kernels.group_daily_partition, first_day=period.first_day, last_day=period.last_day,
                 ev_name=ev_name, schema=schema)
    n = partitions or max(2 * spark.sparkContext.defaultParallelism, -(-len(n_members) // 50))
    gdaily = joined.repartition(n, "grp").mapInArrow(fn, _spark_schema(schema)).persist()
    try:
        with _step(f"{lvl} daily"):
            gdaily.count()
        ct = _statistics(spark, gdaily, f"qs_{lvl}_daily", period, ev_last)
    finally:
        gdaily.unpersist()
    return ct if len(ct) else None


def evaluate_hourly_spark(spark: "SparkSession", lake: str | SparkLake, period: Period, aqi_override=None,
                          city: str | None = None, partitions: int | None = None) -> "DataFrame":
    """:func:`qingshan.evaluate.air.evaluate_hourly` on Spark: hourly AQI, IAQIs, primary pollutants and rounded
    24-h/8-h moving means of every stored station-hour of ``period`` (a lazy DataFrame; write it where needed)."""
    lake = lake if isinstance(lake, SparkLake) else SparkLake(spark, lake)
    hourly = _hourly_of(lake, period, city)
    aqi_name = aqi_override.name if aqi_override is not None else None
    schema = kernels.hourly_schema(period.first_day, period.last_day, aqi_name)
    fn = partial(kernels.station_hourly_partition, first_day=period.first_day, last_day=period.last_day,
                 aqi_name=aqi_name, schema=schema)
    n = _partitions(spark, int(lake.manifest["tables"]["air_hourly"].get("stations", 0)), partitions)
    return hourly.repartition(n, "station").mapInArrow(fn, _spark_schema(schema))
