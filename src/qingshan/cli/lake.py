"""Command line of the lake and of the choice of engine (docs/scale-out.md).

* ``qingshan export lake DIR [--replace]`` — the workspace's hourly air data and station table as a lake
  (:mod:`qingshan.lake`).
* :func:`evaluate` — the engine behind ``qingshan air evaluate`` / ``air rank``: ``--engine embedded`` (default) on
  the workspace, or with ``--lake DIR`` on a lake through DuckDB; ``--engine spark --lake DIR [--master URL]`` on
  Spark. All three give the same table.

``export_app`` is mounted as ``export`` by :mod:`qingshan.cli`; the workspace is the run's (``ctx.obj``,
:mod:`qingshan.cli.context`).
"""

from __future__ import annotations

import contextlib
from pathlib import Path
from typing import Callable, Optional

import typer

from .choices import Engine
from .context import open_workspace
from .errors import fail
from .output import console

export_app = typer.Typer(help="导出：数据湖（分区 Parquet，供 Spark 等分布式引擎读取）", no_args_is_help=True)

ENGINE_HELP = "评价引擎：embedded（本机 DuckDB/numpy，默认）| spark（Apache Spark，需 --lake）"
LAKE_HELP = "数据湖目录或 URI（qingshan export lake 导出；spark 引擎可用 hdfs://、s3a:// 等）"
MASTER_HELP = "Spark master（如 spark://host:7077、yarn、local-cluster[2,1,1024]；缺省按 spark-submit 设置或 local[*]）"


@export_app.command("lake")
def export_lake_command(
    ctx: typer.Context,
    dest: Path = typer.Argument(..., help="数据湖目录（须为空目录，或加 --replace 覆盖已有数据湖）"),
    replace: bool = typer.Option(False, "--replace", help="覆盖该目录中已有的数据湖"),
) -> None:
    """把工作区的小时数据与站点表导出为数据湖：按年/月/站点类别分区的 Parquet（Hive 风格）和 manifest.json。"""
    from ..lake import LakeError, export_lake

    try:
        with open_workspace(ctx) as ws:
            m = export_lake(ws.con, dest, replace=replace, source=str(ws.path))
    except LakeError as e:
        fail(e, 2, "导出失败：")
    h = m["tables"]["air_hourly"]
    months = sorted({tuple(f["path"].split("/")[1:3]) for f in h["files"]})
    console.print(f"已导出 {h['rows']} 个站点小时（{h['stations']} 个站点，{len(months)} 个月，{len(h['files'])} 个文件）"
                  f"与 {m['tables']['stations']['rows']} 个站点到 {dest}（数据湖版本 {m['schema_version']}）")


LEVEL_ORDER = {"station": 0, "city": 1, "district": 2, "town": 3}


def evaluate(ctx: typer.Context, engine: Engine, lake: Optional[str], master: Optional[str], period, city: Optional[str], ev,
             check_city: Callable, levels: tuple[str, ...] = ("station", "city"), data: str = "reviewed",
             exclude_dust: Optional[bool] = None):
    """The evaluation of ``period`` by the chosen engine (an :class:`~qingshan.evaluate.air.EvaluationResult`),
    rows in a fixed order (level, then code) so that every engine writes the same file; exits 2 with a one-line
    reason on bad options, a bad lake or an unknown city."""
    res = _evaluate(ctx, engine, lake, master, period, city, ev, check_city, levels, data, exclude_dust)
    t = res.table
    if len(t):
        order = t["level"].map(LEVEL_ORDER).fillna(len(LEVEL_ORDER))
        res.table = t.assign(_o=order).sort_values(["_o", "code"], kind="stable").drop(columns="_o").reset_index(drop=True)
    return res


def _evaluate(ctx, engine: Engine, lake, master, period, city, ev, check_city, levels, data="reviewed",
              exclude_dust=None):
    from ..evaluate.air import evaluate_period
    from ..lake import LakeError

    if engine is Engine.embedded:
        if master:
            fail("--master 只用于 --engine spark")
        if lake is None:
            with open_workspace(ctx) as ws:
                check_city(ws, city)
                return evaluate_period(ws.con, period, city=city, ev_override=ev, levels=levels, data=data,
                                       exclude_dust=exclude_dust)
        from ..lake import lake_connection
        from ..store.read import station_cities

        try:
            con = lake_connection(lake)
        except LakeError as e:
            fail(e)
        with contextlib.closing(con):
            _check_lake_city(station_cities(con), city)
            return evaluate_period(con, period, city=city, ev_override=ev, levels=levels, data=data,
                                   exclude_dust=exclude_dust)
    if lake is None:
        fail("--engine spark 需要 --lake 数据湖（先用 qingshan export lake DIR 导出）")
    return _evaluate_spark(lake, master, period, city, ev, levels)


def _check_lake_city(cities: list[str], city: Optional[str]) -> None:
    if city is not None and city not in cities:
        fail(f"数据湖的站点表中没有城市 {city!r}")


def _evaluate_spark(lake: str, master: Optional[str], period, city, ev, levels):
    from ..lake import LakeError
    from ..spark import MISSING, spark_session

    try:
        spark = spark_session(master)
    except RuntimeError as e:  # pyspark absent
        fail(e)
    except Exception as e:  # noqa: BLE001 — no Java, master unreachable: Spark's own exception types
        fail(f"无法启动 Spark（master={master or '默认'}）：{str(e).splitlines()[0] if str(e) else type(e).__name__}"
                    f"；{MISSING.split('：', 1)[1]}")
    try:
        from ..spark.engine import SparkLake, evaluate_period_spark

        try:
            sl = SparkLake(spark, lake)
        except LakeError as e:
            fail(e)
        if city is not None:
            _check_lake_city([r[0] for r in sl.stations().select("city").distinct().collect()], city)
        return evaluate_period_spark(spark, sl, period, city=city, ev_override=ev, levels=levels)
    finally:
        spark.stop()
