"""Start-up time of the command line: whole-process wall time of a few commands, N runs each.

    uv run python bench/cli_bench.py [--runs 5] [--workspace DIR]

Each command runs as a user runs it (a new Python process, ``python -m qingshan``), against a fresh empty
workspace; the table gives the wall time (median, min, max) and the median CPU time (user + system, the figure to
compare when the machine is shared). Targets (issue 12): ``--help`` ≤ 0.5 s, simple commands
≤ 1.5 s on the 2-core machine. ``PYTHONPATH`` is passed through, so an older checkout can be measured the same way
(``PYTHONPATH=/tmp/old/src python bench/cli_bench.py``). Not a test: timings depend on the machine.
"""

from __future__ import annotations

import argparse
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

COMMANDS: list[tuple[str, list[str]]] = [
    ("qingshan --help", ["--help"]),
    ("qingshan air --help", ["air", "--help"]),
    ("qingshan ledger --help", ["ledger", "--help"]),
    ("qingshan quarantine（空工作区）", ["quarantine"]),
    ("qingshan ledger stats --json（空台账）", ["ledger", "stats", "--json"]),
]


def time_command(args: list[str], workspace: Path, runs: int) -> tuple[list[float], list[float]]:
    """Wall and CPU (user + system) seconds of ``python -m qingshan.cli --workspace W <args>``, ``runs`` times
    (the command must succeed). CPU time is the figure to compare on a shared, loaded machine."""
    cmd = [sys.executable, "-m", "qingshan.cli", "--workspace", str(workspace), *args]
    env = {**os.environ, "QINGSHAN_LEDGER_URL": ""}
    wall, cpu = [], []
    for _ in range(runs):
        before = resource.getrusage(resource.RUSAGE_CHILDREN)
        t0 = time.perf_counter()
        res = subprocess.run(cmd, capture_output=True, env=env, check=False)
        wall.append(time.perf_counter() - t0)
        after = resource.getrusage(resource.RUSAGE_CHILDREN)
        cpu.append(after.ru_utime - before.ru_utime + after.ru_stime - before.ru_stime)
        if res.returncode != 0:
            raise SystemExit(f"{' '.join(args)} failed ({res.returncode}): {res.stderr.decode()[-400:]}")
    return wall, cpu


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=5, help="runs per command (default 5)")
    parser.add_argument("--workspace", type=Path, help="workspace to use (default: a fresh temporary folder)")
    a = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        ws = a.workspace or Path(tmp) / "ws"
        print(f"{'命令':<40} {'墙钟中位数':>8} {'最小':>6} {'最大':>6} {'CPU 中位数':>9}  （秒，{a.runs} 次）")
        for label, args in COMMANDS:
            wall, cpu = time_command(args, ws, a.runs)
            print(f"{label:<40} {statistics.median(wall):8.2f} {min(wall):6.2f} {max(wall):6.2f} "
                  f"{statistics.median(cpu):9.2f}")


if __name__ == "__main__":
    main()
