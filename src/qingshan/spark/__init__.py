"""The Spark engine (optional extra ``qingshan[spark]``): the embedded engine's evaluations over a lake
(:mod:`qingshan.lake`) on an existing Spark estate, with identical results (docs/scale-out.md).

:func:`spark_session` connects to a master (``spark://host:7077``, ``yarn``, ``k8s://…``, ``local-cluster[…]``);
:func:`~.engine.evaluate_period_spark` and :func:`~.engine.evaluate_hourly_spark` run the evaluations;
:func:`~.minutes.aggregate_minutes_spark` turns minute data into hourly means.
"""

from __future__ import annotations

import os
import sys
from typing import TYPE_CHECKING, Mapping

if TYPE_CHECKING:
    from pyspark.sql import SparkSession

MISSING = "未安装 pyspark：Spark 引擎需要可选依赖 qingshan[spark]（pip install 'qingshan[spark]'）和 Java 17 以上"


def _local_master(master: str | None) -> bool:
    m = master or ""
    return m.startswith("local") or any(h in m for h in ("//127.0.0.1:", "//localhost:"))


def spark_session(master: str | None = None, app_name: str = "qingshan", conf: Mapping[str, str] | None = None) -> "SparkSession":
    """A Spark session for the engine. ``master`` None leaves it to ``spark-submit``/``SPARK_MASTER`` settings.

    On a master on this machine the executors run this very Python (``spark.pyspark.python``), so they import the
    same ``qingshan``; on a real cluster the deployment sets ``PYSPARK_PYTHON`` to an environment holding it."""
    try:
        from pyspark.sql import SparkSession
    except ImportError:
        raise RuntimeError(MISSING) from None
    builder = SparkSession.builder.appName(app_name)
    if master:
        builder = builder.master(master)
    settings = {
        "spark.sql.execution.arrow.pyspark.enabled": "true",
        "spark.sql.session.timeZone": "Asia/Shanghai",
        "spark.ui.showConsoleProgress": "false",
        "spark.sql.adaptive.enabled": "true",
    }
    if _local_master(master) and "PYSPARK_PYTHON" not in os.environ:
        # PySpark takes the executors' Python from this variable when the session starts (the spark.pyspark.python
        # setting is read by spark-submit only), and would otherwise run whatever `python3` is first on PATH
        os.environ["PYSPARK_PYTHON"] = sys.executable
    settings.update(conf or {})
    for k, v in settings.items():
        builder = builder.config(k, v)
    spark = builder.getOrCreate()
    spark.sparkContext.setLogLevel("WARN")
    return spark


def __getattr__(name: str):  # the engine functions without importing pyspark at package import
    if name in ("evaluate_period_spark", "evaluate_hourly_spark", "SparkLake"):
        from . import engine

        return getattr(engine, name)
    if name == "aggregate_minutes_spark":
        from . import minutes

        return minutes.aggregate_minutes_spark
    raise AttributeError(name)
