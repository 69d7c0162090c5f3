from __future__ import annotations

import fcntl
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

if os.environ.get("PYTEST_XDIST_WORKER"):
    # pytest-xdist's workers run with COLUMNS=80 set for them; the CLI tests expect what a pipe gets (full-width
    # tables, as in a serial run) and set COLUMNS themselves where they test a narrow terminal
    os.environ.pop("COLUMNS", None)
    os.environ.pop("LINES", None)

SHARED_DATA = Path(__file__).resolve().parents[2] / "shared" / "data"
QUOTSOFT = SHARED_DATA / "cnemc_sites_quotsoft_20230120-23"
STATION_LIST = SHARED_DATA / "cnemc_station_list_quotsoft_2022-02-13"
#: the password of the demo accounts in the shared demo build (:func:`demo_build`)
DEMO_PASSWORD = "demo-test-pw-1"


def need(path: Path) -> Path:
    if not path.exists():
        pytest.skip(f"real data folder {path} is absent (tests read ../shared/data; it is not copied into the repo)")
    return path


@pytest.fixture
def ws(tmp_path):
    from qingshan.store.workspace import Workspace

    w = Workspace(tmp_path / "ws")
    yield w
    w.close()


@pytest.fixture(scope="session")
def demo_build(tmp_path_factory, worker_id) -> tuple[Path, subprocess.CompletedProcess]:
    """``qingshan demo --no-serve`` run once per test run, as a user runs it (its own process).

    Building the demo takes 30–80 s on the 2-core CI machine, so the tests that need a demo workspace share this
    build and take a private copy of it (:func:`demo_copy`) instead of building their own. Under pytest-xdist the
    workers share one build too: the first worker to ask builds it under a lock in the run's common temporary
    folder, the others wait for the lock and reuse it. Returns the pristine workspace (never modify it) and the
    finished process (its stdout is what the user saw)."""
    root = tmp_path_factory.getbasetemp()
    if worker_id != "master":  # pytest-xdist: the workers' base folders share a parent
        root = root.parent
    build = root / "demo-build-shared"
    build.mkdir(exist_ok=True)
    ws, done = build / "ws", build / "result.json"
    with open(build / "lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)  # released when the file closes, also if this worker dies
        if not done.exists():
            shutil.rmtree(ws, ignore_errors=True)  # a build cut off by a dead worker starts again
            env = {**os.environ, "COLUMNS": "250"}  # no wrapping of the printed commands
            res = subprocess.run([sys.executable, "-m", "qingshan.cli", "--workspace", str(ws), "demo", "--no-serve",
                                  "--demo-password", DEMO_PASSWORD], capture_output=True, text=True, timeout=1200,
                                 env=env)
            assert res.returncode == 0, res.stdout[-3000:] + res.stderr[-3000:]
            done.write_text(json.dumps({"args": res.args, "stdout": res.stdout, "stderr": res.stderr}))
        saved = json.loads(done.read_text())
    return ws, subprocess.CompletedProcess(saved["args"], 0, saved["stdout"], saved["stderr"])


def demo_copy(demo_build: tuple[Path, subprocess.CompletedProcess], dest: Path) -> Path:
    """A private copy of the shared demo workspace at ``dest`` (tests may write to it)."""
    shutil.copytree(demo_build[0], dest)
    return dest
