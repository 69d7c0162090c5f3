"""Start-up time of the command line: whole-process wall time of a few commands, N runs each.

    uv run python bench/cli_bench.py [--runs 5] [--workspace DIR]

Each command runs as a user runs it (a new Python process, ``python -m qingshan``), against a fresh empty
workspace; the table gives median, min and max in seconds. Targets (issue 12): ``--help`` ≤ 0.5 s, simple commands
≤ 1.5 s on the 2-core machine. ``PYTHONPATH`` is passed through, so an older checkout can be measured the same way
(``PYTHONPATH=/tmp/old/src python bench/cli_bench.py``). Not a test: timings depend on the machine.
"""

from __future__ import annotations

import argparse
import os
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


def time_command(args: list[str], workspace: Path, runs: int) -> list[float]:
    """Wall seconds of ``python -m qingshan --workspace W <args>``, ``runs`` times (the command must succeed)."""
    cmd = [sys.executable, "-m", "qingshan.cli", "--workspace", str(workspace), *args]
    env = {**os.environ, "QINGSHAN_LEDGER_URL": ""}
    out = []
    for _ in range(runs):
        t0 = time.perf_counter()
        res = subprocess.run(cmd, capture_output=True, env=env, check=False)
        out.append(time.perf_counter() - t0)
        if res.returncode != 0:
            raise SystemExit(f"{' '.join(args)} failed ({res.returncode}): {res.stderr.decode()[-400:]}")
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=5, help="runs per command (default 5)")
    parser.add_argument("--workspace", type=Path, help="workspace to use (default: a fresh temporary folder)")
    a = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        ws = a.workspace or Path(tmp) / "ws"
        print(f"{'命令':<40} {'中位数 s':>9} {'最小 s':>8} {'最大 s':>8}  （{a.runs} 次）")
        for label, args in COMMANDS:
            t = time_command(args, ws, a.runs)
            print(f"{label:<40} {statistics.median(t):9.2f} {min(t):8.2f} {max(t):8.2f}")


if __name__ == "__main__":
    main()
