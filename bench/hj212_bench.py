"""HJ 212 receiver benchmark (issue 7 §6), all on 127.0.0.1.

Phases:

* ``codec`` — parse + CRC of typical CN 2061 hourly packets (~430 bytes) with :mod:`qingshan.hj212.codec` against a
  naive implementation written the obvious way (the standard's bit-by-bit CRC, ``split`` into dicts), in the same
  run; and the CRC alone: XOR-fold (ours) vs one table look-up per byte vs the bit loop of 附录A.
* ``fuzz`` — ≥ 1,000,000 inputs through the strict parser: a stdlib random mutator over the golden packets (half of
  the mutants get a fixed-up length and CRC so that the field parser sees them), spread over the cores, and, when
  ``atheris`` is installed, a coverage-guided libFuzzer run with a CRC-fixing custom mutator.  The property: the
  parser returns a packet that re-encodes to an equal packet, or raises a typed :class:`Hj212Error` — nothing else.
* ``server`` — the receiver as a real process (``python -m qingshan.hj212 serve``, fsync on, acknowledgement only
  after the WAL batch is synced) and the simulator as another process: 500 concurrent device connections sending
  CN 2061 packets with Flag=5 back to back (each device waits for its 9014 before the next packet); sustained
  acknowledged packets/s, p50/p99 acknowledgement latency, peak memory of both processes; then a clean stop and a
  count of the store (every acknowledged packet stored exactly once).

Usage: ``python bench/hj212_bench.py [--devices 500] [--duration 30] [--fuzz 1000000] [--skip-atheris]``.
Results: ``bench/out/hj212_bench.json``.  Bench-only dependencies: psutil, atheris (optional).
"""

from __future__ import annotations

import argparse
import json
import multiprocessing as mp
import os
import platform
import random
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from datetime import datetime
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent / "src"))

from qingshan.hj212 import codec as C
from qingshan.hj212.simulate import PacketGenerator, SimConfig, device_mn, write_registry

OUT = HERE / "out"
HOST = "127.0.0.1"

GOLDEN = [
    b"##0101QN=20160801085857223;ST=32;CN=1062;PW=100000;MN=010000A8900016F000169DC0;Flag=5;CP=&&RtdInterval=30&&1C80",
    b"##0139ST=32;CN=2011;PW=123456;MN=LD130133000015;CP=&&DataTime=20160824003817000;B01-Rtd=36.91;011-Rtd=231.0,"
    b"011-Flag=N;060-Rtd=1.803,060-Flag=N&&4980",
    b"##0136ST=32;CN=2011;PW=000000;MN=LD130133000015;CP=&&DataTime=20160824003817;011-Rtd=231.0,011-Flag=N;"
    b"B01-Rtd=36.91;060-Rtd=1.803,060-Flag=N&&1dc0",
    b"##0411QN=20220513162608370;ST=22;CN=2051;PW=123456;MN=JLYP01_AIR01_0001;Flag=4;CP=&&DataTime=20220513162600;"
    b"a21004-Avg=4,a21004-Flag=N;a05024-Avg=63,a05024-Flag=N;a21026-Avg=6,a21026-Flag=N;a21005-Avg=0.427,"
    b"a21005-Flag=N;a34004-Avg=14,a34004-Flag=N;a34002-Avg=31,a34002-Flag=N;a01007-Avg=1,a01007-Flag=N;"
    b"a01008-Avg=11,a01008-Flag=N;a01001-Avg=17,a01001-Flag=N;a01002-Avg=85,a01002-Flag=N;a01006-Avg=95,"
    b"a01006-Flag=N&&D641",
    b"##0073ST=32;CN=8013;PW=123456;MN=ZG130182201205;Flag=0;CP=&&HeartbeatTime=120&&0500",
]


def _typical_packets(n: int) -> list[bytes]:
    cfg = SimConfig()
    start = datetime(2026, 5, 1, 12)
    gens = [PacketGenerator(cfg, device_mn(cfg, i), random.Random(i), start) for i in range(50)]
    return [gens[i % 50].packet(i // 50)[0] for i in range(n)]


# --- codec speed ----------------------------------------------------------------------------------------------


def naive_parse(packet: bytes) -> dict:
    """How a packet is usually parsed: strip, check length, bit-loop CRC, split into dicts."""
    text = packet.decode("utf-8").rstrip("\r\n")
    if not text.startswith("##"):
        raise ValueError("header")
    n = int(text[2:6])
    body = text[6:-4]
    if len(body.encode("utf-8")) != n:
        raise ValueError("length")
    if C.crc16_reference(body.encode("utf-8")) != int(text[-4:], 16):
        raise ValueError("crc")
    head, cp = body.split("CP=&&", 1)
    out: dict = dict(f.split("=", 1) for f in head.rstrip(";").split(";"))
    data: dict = {}
    for group in cp[:-2].split(";"):
        for item in group.split(","):
            if item:
                k, v = item.split("=", 1)
                data[k] = v
    out["CP"] = data
    return out


def _rate(fn, items: list, repeat: int = 3) -> float:
    best = float("inf")
    for _ in range(repeat):
        t0 = time.perf_counter()
        for x in items:
            fn(x)
        best = min(best, time.perf_counter() - t0)
    return best / len(items) * 1e6  # µs per item


def phase_codec(n: int = 20000) -> dict:
    pkts = _typical_packets(n)
    segs = [p[6:-6] for p in pkts]
    ours = _rate(C.parse, pkts)
    full = _rate(lambda p: C.parse(p).cp, pkts)  # incl. splitting CP into groups (done lazily by parse)
    naive = _rate(naive_parse, pkts[: n // 10])
    crc_fold = _rate(C.crc16, segs)
    crc_table = _rate(C.crc16_bytewise, segs)
    crc_bits = _rate(C.crc16_reference, segs[: n // 10])
    return {
        "packets": n, "mean_bytes": round(sum(map(len, pkts)) / n, 1),
        "parse_crc_us": round(ours, 2), "parse_crc_split_cp_us": round(full, 2), "naive_parse_crc_us": round(naive, 2),
        "speedup_vs_naive": round(naive / ours, 1), "speedup_vs_naive_incl_split": round(naive / full, 1),
        "parse_per_s": round(1e6 / ours), "crc_fold_us": round(crc_fold, 2), "crc_table_per_byte_us": round(crc_table, 2),
        "crc_bitwise_us": round(crc_bits, 2), "crc_speedup_vs_table": round(crc_table / crc_fold, 1),
        "crc_speedup_vs_bitwise": round(crc_bits / crc_fold, 1),
    }


# --- fuzzing -------------------------------------------------------------------------------------------------------

_TOKENS = [b";", b",", b"=", b"&&", b"-", b"##", b"\r\n", b"CP=&&", b"Flag=7;", b"PNUM=2;PNO=1;", b"QN=", b"\x00",
           "污".encode(), b"\xe6", b"99999", b"-Rtd=", b"-Flag=N", b"DataTime="]


def _mutate(rng: random.Random, data: bytes) -> bytes:
    b = bytearray(data)
    for _ in range(rng.randint(1, 4)):
        op = rng.randrange(7)
        if op == 0 and b:
            b[rng.randrange(len(b))] = rng.randrange(256)
        elif op == 1:
            b[rng.randrange(len(b) + 1) : 0] = rng.randbytes(rng.randint(1, 8))
        elif op == 2 and b:
            i = rng.randrange(len(b))
            del b[i : i + rng.randint(1, 16)]
        elif op == 3:
            b[rng.randrange(len(b) + 1) : 0] = rng.choice(_TOKENS)
        elif op == 4 and b:
            i = rng.randrange(len(b))
            b[i : i + rng.randint(0, 3)] = b[rng.randrange(len(b)) :][: rng.randint(0, 12)]
        elif op == 5:
            other = rng.choice(GOLDEN)
            b[rng.randrange(len(b) + 1) :] = other[rng.randrange(len(other)) :]
        else:
            b = b[: rng.randrange(len(b) + 1)]
    return _fixup(bytes(b)) if rng.random() < 0.5 else bytes(b)


def _fixup(b: bytes) -> bytes:
    if len(b) >= 12 and b[:2] == b"##":
        seg = b[6:-6] if b[-2:] == b"\r\n" else b[6:-4]
        if len(seg) <= C.MAX_SEGMENT:
            return b"##%04d%s%04X\r\n" % (len(seg), seg, C.crc16(seg))
    return b


def check_one(data: bytes) -> str:
    try:
        p = C._parse(data, True)  # the strict parser, without parse()'s safety net
    except C.Hj212Error as e:
        C.parse(C.reply_9011(e.head, e.qnrtn))
        return type(e).__name__
    if C.parse(C.build(p)) != p:
        raise AssertionError("re-encoded packet differs")
    assert isinstance(p.cp, tuple)
    return "ok"


def _fuzz_worker(args: tuple[int, int]) -> dict:
    seed, count = args
    rng = random.Random(seed)
    outcomes: dict[str, int] = {}
    untyped: list[str] = []
    for _ in range(count):
        data = _mutate(rng, rng.choice(GOLDEN))
        try:
            k = check_one(data)
        except Exception as e:  # anything but a typed error is a finding
            k = "UNTYPED"
            if len(untyped) < 5:
                untyped.append(f"{type(e).__name__}: {e} :: {data[:120]!r}")
        outcomes[k] = outcomes.get(k, 0) + 1
    return {"outcomes": outcomes, "untyped": untyped}


def phase_fuzz_random(total: int, procs: int) -> dict:
    chunks = 64
    t0 = time.perf_counter()
    with mp.get_context("fork").Pool(procs) as pool:
        parts = pool.map(_fuzz_worker, [(212_000 + i, total // chunks) for i in range(chunks)])
    secs = time.perf_counter() - t0
    outcomes: dict[str, int] = {}
    untyped: list[str] = []
    for part in parts:
        for k, v in part["outcomes"].items():
            outcomes[k] = outcomes.get(k, 0) + v
        untyped += part["untyped"]
    n = sum(outcomes.values())
    return {"inputs": n, "seconds": round(secs, 1), "inputs_per_s": round(n / secs), "outcomes": outcomes,
            "untyped_errors": outcomes.get("UNTYPED", 0), "examples": untyped[:5]}


ATHERIS_TARGET = r'''
import sys, random, atheris
with atheris.instrument_imports():
    from qingshan.hj212 import codec as C
sys.path.insert(0, sys.argv.pop(1))
from hj212_bench import check_one, _fixup

def mutator(data, max_size, seed):
    data = atheris.Mutate(data, max_size)
    return _fixup(data) if seed % 2 else data

def one(data):
    check_one(data)

atheris.Setup(sys.argv, one, custom_mutator=mutator)
atheris.Fuzz()
'''


def phase_fuzz_atheris(runs: int) -> dict:
    try:
        import atheris  # noqa: F401
    except ImportError:
        return {"skipped": "atheris is not installed (pip install atheris)"}
    work = Path(tempfile.mkdtemp(prefix="hj212-atheris-"))
    corpus = work / "corpus"
    corpus.mkdir()
    for i, g in enumerate(GOLDEN):
        (corpus / f"g{i}").write_bytes(g + b"\r\n")
    (work / "target.py").write_text(ATHERIS_TARGET)
    tokens = "\n".join('"' + "".join(f"\\x{c:02x}" for c in t) + '"' for t in _TOKENS)
    (work / "dict.txt").write_text(tokens + "\n")
    env = dict(os.environ, PYTHONPATH=str(HERE.parent / "src"))
    t0 = time.perf_counter()
    r = subprocess.run([sys.executable, str(work / "target.py"), str(HERE), f"-runs={runs}", "-max_len=4096",
                        f"-dict={work / 'dict.txt'}", "-print_final_stats=1", str(corpus)],
                       capture_output=True, text=True, env=env, timeout=3600)
    secs = time.perf_counter() - t0
    out = r.stdout + r.stderr
    done = re.search(r"Done (\d+) runs in (\d+) second", out)
    cov = re.findall(r"cov: (\d+) ft: (\d+)", out)
    shutil.rmtree(work, ignore_errors=True)
    return {"runs": int(done.group(1)) if done else None, "seconds": round(secs, 1), "exit_code": r.returncode,
            "crashed": r.returncode != 0, "coverage_edges": int(cov[-1][0]) if cov else None,
            "features": int(cov[-1][1]) if cov else None,
            "tail": None if r.returncode == 0 else out[-2000:]}


# --- server throughput --------------------------------------------------------------------------------------------


def _vm(pid: int) -> dict:
    out = {}
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith(("VmHWM", "VmRSS")):
                k, v = line.split(":")
                out[k] = int(v.split()[0]) / 1024  # MiB
    except OSError:
        pass
    return out


def _cpu(pid: int) -> float:
    try:
        f = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        return (int(f[11]) + int(f[12])) / os.sysconf("SC_CLK_TCK")
    except (OSError, IndexError):
        return 0.0


def _other_cpu(exclude: set[int], seconds: float) -> float:
    """CPU seconds used by processes outside this benchmark during the window (the machine may be shared)."""
    try:
        import psutil
    except ImportError:
        return float("nan")
    before = {}
    for p in psutil.process_iter(["pid"]):
        if p.pid not in exclude:
            try:
                t = p.cpu_times()
                before[p.pid] = t.user + t.system
            except psutil.Error:
                pass
    time.sleep(seconds)
    used = 0.0
    for p in psutil.process_iter(["pid"]):
        if p.pid in before:
            try:
                t = p.cpu_times()
                used += t.user + t.system - before[p.pid]
            except psutil.Error:
                pass
    return used


def phase_server(devices: int, duration: float, fsync: bool = True) -> dict:
    work = OUT / "ws-hj212"
    shutil.rmtree(work, ignore_errors=True)
    work.mkdir(parents=True)
    reg, port_file, log = work / "devices.csv", work / "port", work / "server.log"
    sim_json = work / "sim.json"
    write_registry(SimConfig(devices=devices), reg)
    cmd = [sys.executable, "-m", "qingshan.hj212", "serve", "--workspace", str(work / "ws"), "--host", HOST,
           "--port", "0", "--port-file", str(port_file), "--devices", str(reg), "--max-per-ip", str(devices + 100),
           "--stats-interval", "10"] + ([] if fsync else ["--no-fsync"])
    env = dict(os.environ, PYTHONPATH=str(HERE.parent / "src"))
    server = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=open(log, "wb"), env=env)
    try:
        deadline = time.monotonic() + 60
        # The port listens at once; the server answers once its workspace is open ("已启动"): measure from there.
        while not (port_file.exists() and port_file.read_text().strip()
                   and "接收服务已启动" in log.read_text(encoding="utf-8", errors="replace")):
            if server.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError("server did not start: " + log.read_text())
            time.sleep(0.05)
        port = int(port_file.read_text())
        idle_rss = _vm(server.pid).get("VmRSS")
        cpu0 = _cpu(server.pid)
        sim = subprocess.Popen([sys.executable, "-m", "qingshan.hj212", "simulate", "--host", HOST, "--port", str(port),
                                "--devices", str(devices), "--duration", str(duration), "--json", str(sim_json)],
                               stdout=subprocess.PIPE, stderr=subprocess.STDOUT, env=env)
        other = _other_cpu({os.getpid(), server.pid, sim.pid}, min(duration * 0.8, duration - 1))
        sim_out, _ = sim.communicate(timeout=duration + 120)
        server_cpu = _cpu(server.pid) - cpu0
        mem = _vm(server.pid)
        t_stop = time.perf_counter()
        server.send_signal(signal.SIGTERM)
        server.wait(timeout=300)
        drain = time.perf_counter() - t_stop
    finally:
        if server.poll() is None:
            server.kill()
    s = json.loads(sim_json.read_text())
    import duckdb

    with duckdb.connect(str(work / "ws" / "measurements.duckdb"), read_only=True) as con:
        packets, distinct = con.execute("SELECT count(*), count(DISTINCT (mn, qn, cn)) FROM hj212_packets").fetchall()[0]
        rows = con.execute("SELECT count(*) FROM source_data").fetchall()[0][0]
    acked_s = s["acked_per_s"]
    return {
        "devices": devices, "duration_s": s["seconds"], "fsync": fsync, "acked": s["acked"],
        "acked_per_s": acked_s, "latency_ms": s["latency_ms"], "timeouts": s["timeouts"], "resent": s["resent"],
        "stored_packets": packets, "stored_distinct": distinct, "stored_rows": rows,
        "stored_equals_acked": packets == distinct == s["acked"],
        "server_cpu_s": round(server_cpu, 2), "server_cpu_us_per_packet": round(server_cpu / s["acked"] * 1e6, 1),
        "server_rss_idle_mib": None if idle_rss is None else round(idle_rss, 1),
        "server_rss_peak_mib": round(mem.get("VmHWM", 0), 1),
        "drain_after_stop_s": round(drain, 2), "other_processes_cpu_s": round(other, 1),
        "simulator_output": sim_out.decode("utf-8", "replace").strip()[-400:],
        "target_5000_per_s_met": bool(acked_s and acked_s >= 5000),
    }


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--devices", type=int, default=500)
    ap.add_argument("--duration", type=float, default=30.0)
    ap.add_argument("--fuzz", type=int, default=1_000_000, help="inputs for each fuzzer")
    ap.add_argument("--skip-atheris", action="store_true")
    ap.add_argument("--skip-fuzz", action="store_true")
    ap.add_argument("--skip-server", action="store_true")
    ap.add_argument("--no-fsync", action="store_true", help="for comparison only")
    a = ap.parse_args()
    OUT.mkdir(exist_ok=True)
    import duckdb

    res: dict = {"machine": {"cpus": os.cpu_count(), "python": platform.python_version(), "duckdb": duckdb.__version__,
                             "loadavg_before": os.getloadavg()}, "started": datetime.now().isoformat(timespec="seconds")}
    print("codec …", flush=True)
    res["codec"] = phase_codec()
    print(json.dumps(res["codec"], ensure_ascii=False), flush=True)
    if not a.skip_server:
        print(f"server: {a.devices} connections × {a.duration:g} s …", flush=True)
        res["server"] = phase_server(a.devices, a.duration, fsync=not a.no_fsync)
        print(json.dumps(res["server"], ensure_ascii=False), flush=True)
    if not a.skip_fuzz:
        print(f"fuzz (random mutator, {a.fuzz:,} inputs) …", flush=True)
        res["fuzz_random"] = phase_fuzz_random(a.fuzz, os.cpu_count() or 1)
        print(json.dumps(res["fuzz_random"], ensure_ascii=False), flush=True)
        if not a.skip_atheris:
            print(f"fuzz (atheris, {a.fuzz:,} runs) …", flush=True)
            res["fuzz_atheris"] = phase_fuzz_atheris(a.fuzz)
            print(json.dumps(res["fuzz_atheris"], ensure_ascii=False), flush=True)
    res["machine"]["loadavg_after"] = os.getloadavg()
    (OUT / "hj212_bench.json").write_text(json.dumps(res, ensure_ascii=False, indent=2))
    print(f"→ {OUT / 'hj212_bench.json'}")


if __name__ == "__main__":
    main()
