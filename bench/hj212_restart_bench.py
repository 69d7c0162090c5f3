"""HJ 212 receiver restart benchmark (issue 11): how long a restarted receiver is deaf when the write-ahead log
holds a backlog of acknowledged packets that are not yet in DuckDB (the state a SIGKILL leaves behind).

For each backlog size N: a workspace with the simulated devices registered, and N generated CN 2061 packets
written as WAL records (64 MiB segments, as the receiver writes them) after the committed position.  Then, per run
(a fresh copy of that workspace each time), ``python -m qingshan.hj212 serve`` is started and the bench measures

* ``listen_s`` — process start → the port file exists (the server accepts connections), and ``listen_cpu_s``,
  the CPU time the server process had used by then (what the wall time is made of on an idle machine: on a busy
  one the wall time is this CPU time stretched by the machine's load);
* ``ack_s`` — process start → a new packet sent on a fresh connection is acknowledged (9014);
* ``replayed_s`` — process start → the backlog is in the store (the server's "恢复/回放" log line);

and checks after a clean stop that the store holds N + 1 packets, each once.

Usage: ``python bench/hj212_restart_bench.py [--packets 0 20000 100000] [--runs 3]``.
Results: ``bench/out/hj212_restart_bench.json``.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from datetime import datetime
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent / "src"))

import duckdb

from qingshan.hj212.codec import FrameReader, parse
from qingshan.hj212.simulate import PacketGenerator, SimConfig, device_mn, write_registry
from qingshan.hj212.wal import KIND_PACKET, WAL_DIR, encode_record, segment_path

OUT = HERE / "out"
HOST = "127.0.0.1"
SEGMENT_BYTES = 64 << 20
DEVICES = 100
REPLAY_LOG = re.compile(r"已从预写日志恢复|预写日志回放完成")


def _server(ws: Path, args: list[str], log: Path) -> subprocess.Popen:
    return subprocess.Popen([sys.executable, "-m", "qingshan.hj212", "serve", "--workspace", str(ws), *args],
                            stdout=subprocess.DEVNULL, stderr=open(log, "ab"))


def build_workspace(root: Path, n: int) -> Path:
    """A workspace with the devices registered and ``n`` packets in the WAL after the committed position."""
    sim = SimConfig(devices=DEVICES)
    ws = root / f"ws-{n}"
    reg = root / "devices.csv"
    write_registry(sim, reg)
    p = _server(ws, ["--devices", str(reg), "--recover-only"], root / "setup.log")
    assert p.wait(120) == 0, (root / "setup.log").read_text()
    with duckdb.connect(str(ws / "measurements.duckdb"), read_only=True) as con:
        seg = int(con.execute("SELECT seg FROM hj212_wal_state WHERE id = 1").fetchone()[0])
    gens = [PacketGenerator(sim, device_mn(sim, i), random.Random(i), datetime(2026, 5, 1, 12))
            for i in range(DEVICES)]
    wal = ws / WAL_DIR
    wal.mkdir(exist_ok=True)
    now_ms = int(time.time() * 1000)
    buf: list[bytes] = []
    size = 0

    def flush() -> None:
        nonlocal seg, buf, size
        if buf:
            segment_path(wal, seg).write_bytes(b"".join(buf))
            seg, buf, size = seg + 1, [], 0

    for k in range(n):
        raw = gens[k % DEVICES].packet(k // DEVICES)[0][:-2]
        rec = encode_record(KIND_PACKET, now_ms + k, "127.0.0.1:1", raw)
        if size + len(rec) > SEGMENT_BYTES:
            flush()
        buf.append(rec)
        size += len(rec)
    flush()
    return ws


def _ack(port: int, deadline: float) -> None:
    """Send one new packet on a new connection and wait for its 9014 (retrying the connect until ``deadline``)."""
    sim = SimConfig(devices=DEVICES)
    pkt, qn = PacketGenerator(sim, device_mn(sim, 0), random.Random(7), datetime(2026, 6, 1, 12)).packet(0)
    while True:
        try:
            s = socket.create_connection((HOST, port), timeout=max(0.1, deadline - time.monotonic()))
            break
        except OSError:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.01)
    with s:
        s.settimeout(max(0.1, deadline - time.monotonic()))
        s.sendall(pkt)
        frames = FrameReader()
        while True:
            data = s.recv(4096)
            if not data:
                raise ConnectionError("closed")
            for ev in frames.feed(data):
                if isinstance(ev, bytes) and parse(ev).qn == qn:
                    return


def _cpu_s(pid: int) -> float:
    """User + system CPU time of a process so far (Linux /proc)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def one_run(template: Path, root: Path, n: int, run: int) -> dict:
    ws = root / f"run-{n}-{run}"
    shutil.copytree(template, ws)
    port_file, log = root / f"port-{n}-{run}", root / f"server-{n}-{run}.log"
    t0 = time.monotonic()
    p = _server(ws, ["--port", "0", "--port-file", str(port_file), "--max-per-ip", "1000"], log)
    deadline = t0 + 300
    try:
        while not (port_file.exists() and port_file.read_text().strip()):
            if p.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(log.read_text())
            time.sleep(0.005)
        listen = time.monotonic() - t0
        listen_cpu = _cpu_s(p.pid)
        _ack(int(port_file.read_text()), deadline)
        ack = time.monotonic() - t0
        replayed = None
        while n and replayed is None:
            if REPLAY_LOG.search(log.read_text(encoding="utf-8", errors="replace")):
                replayed = time.monotonic() - t0
            elif time.monotonic() > deadline:
                raise RuntimeError(log.read_text())
            else:
                time.sleep(0.01)
    finally:
        p.send_signal(signal.SIGTERM)
        p.wait(300)
    with duckdb.connect(str(ws / "measurements.duckdb"), read_only=True) as con:
        stored, distinct = con.execute("SELECT count(*), count(DISTINCT (mn, qn, cn)) FROM hj212_packets").fetchone()
    shutil.rmtree(ws)
    assert stored == distinct == n + 1, (stored, distinct, n + 1)
    return {"listen_s": round(listen, 3), "listen_cpu_s": round(listen_cpu, 2), "ack_s": round(ack, 3),
            "replayed_s": None if replayed is None else round(replayed, 3)}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--packets", type=int, nargs="+", default=[0, 20000, 100000])
    ap.add_argument("--runs", type=int, default=3)
    ap.add_argument("--out", type=Path, default=OUT / "hj212_restart_bench.json")
    a = ap.parse_args()
    results = {"python": sys.version.split()[0], "cpus": os.cpu_count(), "packets": a.packets, "runs": a.runs,
               "load_before": os.getloadavg(), "backlogs": {}}
    with tempfile.TemporaryDirectory(prefix="hj212-restart-") as tmp:
        root = Path(tmp)
        for n in a.packets:
            template = build_workspace(root, n)
            runs = [one_run(template, root, n, i) for i in range(a.runs)]
            shutil.rmtree(template)
            results["backlogs"][str(n)] = runs
            print(f"backlog {n:>7}: " + "; ".join(
                f"listen {r['listen_s']:.2f} s (CPU {r['listen_cpu_s']:.2f} s), ack {r['ack_s']:.2f} s, "
                f"replayed {r['replayed_s']} s" for r in runs),
                flush=True)
    results["load_after"] = os.getloadavg()
    a.out.parent.mkdir(parents=True, exist_ok=True)
    a.out.write_text(json.dumps(results, ensure_ascii=False, indent=2))


if __name__ == "__main__":
    main()
