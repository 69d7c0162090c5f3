"""Start and stop ``qingshan serve`` as a real process on a temporary workspace (a module of helpers for
tests/test_platform*.py, not a test file). Every wait polls a condition with a deadline."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
import urllib.error
import urllib.request
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pandas as pd

from qingshan.platform.lock import RunningPlatform, read_running

PASSWORD = "platform-test-pw-1"
START_TIMEOUT = 300.0  # the machine is shared: a cold start imports pandas, DuckDB, FastAPI …


@dataclass
class Platform:
    proc: subprocess.Popen
    running: RunningPlatform
    log: Path

    @property
    def url(self) -> str:
        return self.running.url


def cli(workspace: Path, *args: str, timeout: float = 300.0) -> subprocess.CompletedProcess:
    """``qingshan --workspace W args…`` in a subprocess (stdout, stderr as text)."""
    env = {**os.environ, "COLUMNS": "200", "NO_COLOR": "1"}
    return subprocess.run([sys.executable, "-m", "qingshan.cli", "--workspace", str(workspace), *args],
                          capture_output=True, text=True, timeout=timeout, env=env)


def start_platform(workspace: Path, *args: str) -> Platform:
    """``qingshan serve --port 0 args…``; returns once the lock names the port and the API answers."""
    log = workspace.parent / f"serve-{time.monotonic_ns()}.log"
    out = open(log, "w")
    proc = subprocess.Popen([sys.executable, "-m", "qingshan.cli", "--workspace", str(workspace), "serve",
                             "--port", "0", *args], stdout=out, stderr=subprocess.STDOUT)
    out.close()
    deadline = time.monotonic() + START_TIMEOUT
    while True:
        if proc.poll() is not None:
            raise RuntimeError("平台未启动：" + log.read_text(encoding="utf-8")[-3000:])
        if time.monotonic() > deadline:
            proc.kill()
            raise RuntimeError("平台启动超时：" + log.read_text(encoding="utf-8")[-3000:])
        try:
            running = read_running(workspace)
        except Exception:  # starting: the lock is held, the port not yet written
            running = None
        if running is not None and running.pid == proc.pid:
            try:
                with urllib.request.urlopen(running.url + "/api/v1/health", timeout=5) as r:
                    if r.status == 200:
                        return Platform(proc, running, log)
            except OSError:
                pass
        time.sleep(0.2)


def stop_platform(p: Platform, timeout: float = 120.0) -> None:
    """SIGTERM and wait for a clean exit (the HJ 212 log is flushed into the store on the way out)."""
    if p.proc.poll() is None:
        p.proc.send_signal(signal.SIGTERM)
    p.proc.wait(timeout=timeout)


def http(url: str, method: str = "GET", token: str | None = None, body: bytes | None = None,
         ctype: str | None = None) -> tuple[int, Any]:
    req = urllib.request.Request(url, data=body, method=method)
    if token:
        req.add_header("Authorization", f"Bearer {token}")
    if ctype:
        req.add_header("Content-Type", ctype)
    try:
        with urllib.request.urlopen(req, timeout=60) as r:
            return r.status, json.loads(r.read() or b"null")
    except urllib.error.HTTPError as e:
        data = e.read()
        try:
            return e.code, json.loads(data)
        except ValueError:
            return e.code, data.decode("utf-8", "replace")


def ledger_token(p: Platform, user: str) -> str:
    import urllib.parse

    body = urllib.parse.urlencode({"username": user, "password": PASSWORD}).encode()
    status, data = http(p.url + "/api/v1/auth/token", "POST", body=body, ctype="application/x-www-form-urlencoded")
    assert status == 200, data
    return data["access_token"]


def wait_job(p: Platform, job_id: str, token: str, timeout: float = 300.0) -> dict:
    deadline = time.monotonic() + timeout
    while True:
        status, job = http(f"{p.url}/api/v1/jobs/{job_id}", token=token)
        assert status == 200, job
        if job["state"] in ("done", "failed"):
            return job
        assert time.monotonic() < deadline, f"任务 {job_id} 未在时限内完成：{job}"
        time.sleep(0.2)


def add_users(workspace: Path) -> None:
    """A bureau user and a district user (password :data:`PASSWORD`) in the workspace's ledger."""
    from qingshan.ledger.db import open_ledger
    from qingshan.ledger.demo import build_demo_ledger
    from qingshan.ledger.rbac import Principal
    from qingshan.ledger.service import LedgerService

    ledger = open_ledger(workspace)
    try:
        with ledger.session() as s:
            build_demo_ledger(s)
            svc = LedgerService(s, Principal.system())
            svc.create_user("bureau", PASSWORD, "bureau", "常州市生态环境局", "局工作人员")
            svc.create_user("wujin", PASSWORD, "district", "武进区", "区用户")
    finally:
        ledger.dispose()


def long_csv(path: Path, stations: list[str], start: str, hours: int, bad_rows: int = 0) -> Path:
    """A long-format hourly file (plausible constant-ish values), with ``bad_rows`` unreadable PM10 cells."""
    times = pd.date_range(start, periods=hours, freq="h")
    rows = []
    for i, t in enumerate(times):
        for j, s in enumerate(stations):
            rows.append({"station": s, "time": t.strftime("%Y-%m-%d %H:00"), "so2": 6 + j, "no2": 20 + i % 7,
                         "co": 0.6, "o3": 50 + i % 11, "pm10": 60 + j, "pm25": 30 + (i + j) % 9})
    df = pd.DataFrame(rows)
    df["pm10"] = df["pm10"].astype(object)
    for k in range(bad_rows):
        df.loc[k, "pm10"] = "坏值"
    df.to_csv(path, index=False)
    return path
