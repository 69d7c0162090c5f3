"""Entry point for ``spark-submit``: the qingshan command line as a Spark application.

    spark-submit --master yarn --deploy-mode client \\
        --archives qingshan-env.tar.gz#env --conf spark.pyspark.python=./env/bin/python \\
        "$(python -c 'import qingshan.spark.submit as s; print(s.__file__)')" \\
        air evaluate --engine spark --lake hdfs:///lakes/air --period 2023 -o annual-2023.csv

Without ``--master`` on the command line the session takes the master and settings spark-submit gives it
(docs/scale-out.md).
"""

from __future__ import annotations

from qingshan.cli import app

if __name__ == "__main__":
    app(prog_name="qingshan")
