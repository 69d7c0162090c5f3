"""A real Spark standalone cluster on 127.0.0.1 for the Spark engine's tests: one master and two workers, each a
separate JVM started from pyspark's own ``bin/spark-class``, torn down at the end of the session.

Readiness is a condition with a deadline (the master's JSON status lists two alive workers; the session has two
registered executors), never a sleep. Without Java 17+ or pyspark the tests are skipped with the reason, except
under ``CI=true`` where absence is a failure (CI installs Java with .ci/spark.sh and pyspark with the dev group).
"""

from __future__ import annotations

import json
import os
import shutil
import socket
import subprocess
import sys
import time
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path

import pytest

READY_DEADLINE_S = float(os.environ.get("QINGSHAN_SPARK_READY_S", "420"))  # JVM start on a busy 2-core machine
WORKERS = 2
WORKER_CORES = 2  # task slots: the test session takes 2 (one executor per worker), a CLI driver the other 2
WORKER_MEMORY = "2g"


def unavailable_reason() -> str | None:
    try:
        import pyspark  # noqa: F401
    except ImportError:
        return "pyspark is not installed (uv sync --group dev, or the qingshan[spark] extra)"
    java = shutil.which("java") or (Path(os.environ["JAVA_HOME"]) / "bin" / "java" if os.environ.get("JAVA_HOME") else None)
    if not java:
        return "no Java runtime (bash .ci/spark.sh installs openjdk-17-jre-headless)"
    out = subprocess.run([str(java), "-version"], capture_output=True, text=True).stderr
    try:
        major = int(out.split('"')[1].split(".")[0])
    except (IndexError, ValueError):
        return f"cannot read the Java version from {out.strip()[:80]!r}"
    return None if major >= 17 else f"Java {major} found; Spark 4 needs Java 17 or later (bash .ci/spark.sh)"


def require_spark() -> None:
    reason = unavailable_reason()
    if reason is None:
        return
    if os.environ.get("CI") == "true":
        pytest.fail(f"Spark tests cannot run under CI: {reason}")
    pytest.skip(reason)


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _wait(condition, what: str, deadline: float, logs: list[Path]) -> None:
    while time.monotonic() < deadline:
        if condition():
            return
        time.sleep(0.5)  # polling interval of a condition, not a guess at readiness
    tails = "\n".join(f"--- {p.name}\n" + "\n".join(p.read_text(errors="replace").splitlines()[-15:])
                      for p in logs if p.exists())
    raise RuntimeError(f"Spark cluster: {what} not reached within the deadline\n{tails}")


@dataclass
class Cluster:
    master_url: str
    ui_url: str
    workdir: Path
    procs: list[subprocess.Popen] = field(default_factory=list)
    logs: list[Path] = field(default_factory=list)

    def alive_workers(self) -> int:
        try:
            with urllib.request.urlopen(self.ui_url + "/json/", timeout=5) as r:
                return int(json.load(r).get("aliveworkers", 0))
        except (OSError, ValueError):
            return 0

    def stop(self) -> None:
        for p in reversed(self.procs):  # only the processes this fixture started, by their handle
            if p.poll() is None:
                p.terminate()
        for p in self.procs:
            try:
                p.wait(timeout=60)
            except subprocess.TimeoutExpired:
                p.kill()
                p.wait()


def start_cluster(workdir: Path) -> Cluster:
    import pyspark

    home = Path(pyspark.__file__).parent
    env = {**os.environ, "SPARK_HOME": str(home), "SPARK_LOCAL_IP": "127.0.0.1",
           "PYSPARK_PYTHON": sys.executable, "SPARK_LOG_DIR": str(workdir), "SPARK_NO_DAEMONIZE": "1"}
    spark_class = [str(home / "bin" / "spark-class")]
    port, ui = _free_port(), _free_port()
    cluster = Cluster(f"spark://127.0.0.1:{port}", f"http://127.0.0.1:{ui}", workdir)

    def launch(name: str, args: list[str]) -> None:
        log = workdir / f"{name}.log"
        cluster.logs.append(log)
        with open(log, "wb") as fh:
            cluster.procs.append(subprocess.Popen(spark_class + args, env=env, stdout=fh, stderr=subprocess.STDOUT,
                                                  stdin=subprocess.DEVNULL, cwd=workdir))

    try:
        launch("master", ["org.apache.spark.deploy.master.Master", "--host", "127.0.0.1", "--port", str(port),
                          "--webui-port", str(ui)])
        for i in range(WORKERS):
            (workdir / f"work-{i}").mkdir()
            launch(f"worker-{i}", ["org.apache.spark.deploy.worker.Worker", "--host", "127.0.0.1",
                                   "--cores", str(WORKER_CORES), "--memory", WORKER_MEMORY,
                                   "--webui-port", str(_free_port()), "--work-dir", str(workdir / f"work-{i}"),
                                   cluster.master_url])
        deadline = time.monotonic() + READY_DEADLINE_S
        _wait(lambda: cluster.alive_workers() >= WORKERS or any(p.poll() is not None for p in cluster.procs),
              f"{WORKERS} alive workers", deadline, cluster.logs)
        if any(p.poll() is not None for p in cluster.procs):
            _wait(lambda: False, "all JVMs running", time.monotonic(), cluster.logs)
    except BaseException:
        cluster.stop()
        raise
    return cluster


def executors(spark) -> int:
    """Executors registered with the session (the driver's own block manager not counted)."""
    return spark.sparkContext._jsc.sc().getExecutorMemoryStatus().size() - 1


def wait_executors(spark, n: int, cluster: Cluster) -> None:
    _wait(lambda: executors(spark) >= n, f"{n} registered executors", time.monotonic() + READY_DEADLINE_S,
          cluster.logs)


@pytest.fixture(scope="module")
def cluster(tmp_path_factory):
    """A standalone master and two workers on 127.0.0.1 for the tests of one module (import this fixture)."""
    require_spark()
    c = start_cluster(tmp_path_factory.mktemp("spark-cluster"))
    yield c
    c.stop()


@pytest.fixture(scope="module")
def spark(cluster):
    """A session on :func:`cluster` with its two executors registered (import this fixture with ``cluster``)."""
    from qingshan.spark import spark_session

    s = spark_session(cluster.master_url, "qingshan-tests", conf={
        "spark.ui.enabled": "false", "spark.cores.max": "2", "spark.executor.cores": "1",
        "spark.executor.memory": "768m", "spark.sql.shuffle.partitions": "4",
    })
    try:
        wait_executors(s, 2, cluster)
        yield s
    finally:
        s.stop()
