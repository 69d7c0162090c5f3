"""Minute → hour aggregation on Spark: :func:`qingshan.evaluate.minutes.aggregate_minutes` per partition.

The minute rows are hash-partitioned by device (all minutes of a device in one partition), sorted within the
partition, and each partition goes through the embedded kernel in ``mapInArrow``. The kernel sorts again by
(device, minute, seq) and sums per device-hour in that order, so every float equals the embedded result's: the
rule (:class:`~qingshan.standards.air_validity.MinuteRule`) and the arithmetic exist once.

Without a ``seq`` column, "last row wins" for a repeated device-minute needs the input order, which a shuffle
loses; the driver therefore numbers the rows first (``monotonically_increasing_id``: increasing in the order of
the input's partitions and rows, i.e. the file order of a Parquet scan or the row order of a created DataFrame).
"""

from __future__ import annotations

from functools import partial
from typing import TYPE_CHECKING, Iterable, Iterator

import pyarrow as pa

from ..evaluate.minutes import aggregate_minutes, checked_columns, output_schema
from ..standards.air_validity import MinuteRule, get_minute_rule
from .kernels import conform

if TYPE_CHECKING:
    from pyspark.sql import DataFrame

DEVICES_PER_PARTITION = 200


def minutes_partition(batches: Iterable[pa.RecordBatch], rule: MinuteRule, device: str,
                      schema: pa.Schema) -> Iterator[pa.RecordBatch]:
    """Executor side: the hourly rows of the devices of one partition."""
    batches = [b for b in batches if b.num_rows]
    if not batches:
        return
    out = aggregate_minutes(pa.Table.from_batches(batches), rule, device)
    yield from conform(out, schema).to_batches(max_chunksize=65_536)


def aggregate_minutes_spark(df: "DataFrame", rule: str | MinuteRule | None = None, device: str = "device",
                            partitions: int | None = None) -> "DataFrame":
    """:func:`qingshan.evaluate.minutes.aggregate_minutes` of a Spark DataFrame of minute rows (same columns):
    a lazy DataFrame of the same hourly rows, value by value (row order: sort by device, hi when needed)."""
    from pyspark.sql import functions as F
    from pyspark.sql.pandas.types import from_arrow_schema, to_arrow_schema

    rule = get_minute_rule(rule)
    pols = checked_columns(list(df.columns), device)
    if "seq" not in df.columns:
        df = df.withColumn("seq", F.monotonically_increasing_id())
    flags = [f"{p}_flag" for p in pols if f"{p}_flag" in df.columns]
    spark_schema = from_arrow_schema(output_schema(pols, device))
    arrow_schema = to_arrow_schema(spark_schema)  # what Spark expects back from the Python worker
    if partitions is None:
        n_devices = df.select(device).distinct().count()
        partitions = max(2 * df.sparkSession.sparkContext.defaultParallelism, -(-n_devices // DEVICES_PER_PARTITION))
    fn = partial(minutes_partition, rule=rule, device=device, schema=arrow_schema)
    return (df.select(device, "ts", "seq", *pols, *flags)
              .repartition(partitions, device)
              .sortWithinPartitions(device, "ts", "seq")
              .mapInArrow(fn, spark_schema))
