"""The console under abuse (issue 11): non-finite stored values, unbounded bodies, idle connections, malformed
requests, forged X-Forwarded-For.

Three set-ups:

* a copy of the console test workspace whose ``air_hourly`` gets ``inf``, ``1e308`` and ``-3.8e17`` written
  straight into DuckDB (bypassing the importers), called through TestClient;
* ``qingshan serve`` in a subprocess (the real CLI, its default proxy settings, a low open-file limit, a small
  connection cap and header timeout, a 256 KiB upload limit), for what needs a real server and the server's own
  memory and write counters;
* a uvicorn server in a thread with ``qingshan serve``'s configuration (:func:`qingshan.web.serve.server_config`),
  for malformed requests and the keep-alive connection after a 500.

Nothing waits on a bare sleep: every wait polls a condition until a deadline.
"""

from __future__ import annotations

import datetime as dt
import json
import math
import os
import resource
import select
import shutil
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import duckdb
import httpx
import psutil
import pytest
from fastapi.testclient import TestClient

from qingshan.web.api.response import dumps
from qingshan.web.app import create_console_app
from qingshan.web.serve import ServeLimits, server_config

from .console_server import free_port, uvicorn_in_thread, wait_for
from .web_fixtures import AS_OF, LEDGER_TODAY, PASSWORD, cheap_password_hashing, shared_workspace

API = "/api/v1"
MIB = 1024 * 1024
SERVER_FD_LIMIT = 256  # the subprocess server's open-file limit: 300 idle connections would exhaust it
CAP = 100
HEADER_TIMEOUT = 3.0
UPLOAD_FILE_LIMIT = 256 * 1024  # per file → an upload request may carry 5 × 256 KiB + 1 MiB




def make_workspace(path: Path) -> Path:
    """A workspace with an empty measurement store and one admin account."""
    from qingshan.ledger.db import open_ledger
    from qingshan.ledger.rbac import Principal
    from qingshan.ledger.service import LedgerService

    mp = cheap_password_hashing()
    try:
        ledger = open_ledger(path)
        with ledger.session() as s:
            LedgerService(s, Principal.system()).create_user("admin", PASSWORD, "admin", None, "管理员")
            s.commit()
        ledger.dispose()
    finally:
        mp.undo()
    return path


def strict_json(text: str):
    """Parse JSON refusing ``NaN``/``Infinity`` (not JSON, though Python's encoder can write them)."""
    def refuse(name: str):
        raise AssertionError(f"non-JSON constant {name} in the response")
    return json.loads(text, parse_constant=refuse)


# --- 1. non-finite values in the store ---------------------------------------------------------------------------


def test_the_console_json_encoder_writes_null_for_non_finite_numbers():
    out = dumps({"a": math.inf, "b": [math.nan, 1e308, -math.inf], "c": "青山"})
    assert out in ('{"a":null,"b":[null,1e308,null],"c":"青山"}'.encode(),  # orjson
                   '{"a":null,"b":[null,1e+308,null],"c":"青山"}'.encode())  # the json fallback
    assert json.loads(out) == {"a": None, "b": [None, 1e308, None], "c": "青山"}


def test_the_console_json_encoder_falls_back_for_what_orjson_refuses():
    big = 2**70  # beyond orjson's 64-bit integers: written by the standard library, non-finite still null
    assert dumps({"n": big, "x": math.nan}) == f'{{"n":{big},"x":null}}'.encode()


#: the engines warn about overflow and NaN on these values; the answers are what is checked
absurd = pytest.mark.filterwarnings("ignore::RuntimeWarning")


@pytest.fixture(scope="module")
def poisoned(tmp_path_factory) -> Iterator[TestClient]:
    """The console workspace with absurd hourly values at four stations (before and at the as-of hour)."""
    ws = tmp_path_factory.mktemp("poisoned") / "ws"
    shutil.copytree(shared_workspace(tmp_path_factory.getbasetemp()), ws)
    hi = int((AS_OF - dt.datetime(1970, 1, 1)).total_seconds() // 3600)
    con = duckdb.connect(str(ws / "measurements.duckdb"))
    try:
        for column, value, station, first, last in (
                ("so2", "'inf'::DOUBLE", "D002A", hi - 30, hi),          # now: the station card
                ("co", "1e308", "D001A", hi - 30, hi),
                ("pm25", "-3.8e17", "D003A", hi - 30, hi),
                ("pm25", "'inf'::DOUBLE", "D005A", hi - 800, hi - 700),  # the year-to-date PM2.5 target
                ("so2", "1e308", "D006A", hi - 900, hi - 850),          # March ranking: means overflow
                ("o3", "'inf'::DOUBLE", "D007A", hi - 900, hi - 850)):
            con.execute(f"UPDATE air_hourly SET {column} = {value} WHERE station = ? AND hi BETWEEN ? AND ?",
                        [station, first, last])
    finally:
        con.close()
    mp = cheap_password_hashing()
    app = create_console_app(ws, as_of=AS_OF, today=LEDGER_TODAY, warm=False)
    with TestClient(app) as client:
        yield client
    mp.undo()


@absurd
@pytest.mark.parametrize("url", [
    f"{API}/overview", f"{API}/air/ranking?period=2025-03", f"{API}/air/ranking?period=2025-03&level=district",
    f"{API}/air/ranking?period=2025-01", f"{API}/targets", f"{API}/air/stations",
    f"{API}/air/evaluation?period=2025-03", f"{API}/air/evaluation?period=2025-03&level=city",
    f"{API}/air/stations/D002A/series", f"{API}/air/stations/D003A/series", f"{API}/air/stations/D001A/calendar",
    f"{API}/air/stations/D002A/diurnal", f"{API}/water/summary",
])
def test_absurd_stored_values_answer_200_with_null(poisoned, url):
    r = poisoned.get(url)
    assert r.status_code == 200, r.text[:300]
    strict_json(r.text)


@absurd
@pytest.mark.parametrize("page", ["/", "/air", "/air/stations/D002A", "/air/ranking?period=2025-03", "/targets"])
def test_pages_over_absurd_values_render(poisoned, page):
    assert poisoned.get(page).status_code == 200


@absurd
def test_non_finite_values_become_null_and_the_target_says_why(poisoned):
    stations = {s["code"]: s for s in poisoned.get(f"{API}/air/stations").json()["stations"]}
    assert stations["D002A"]["values"]["so2"] is None  # inf at the as-of hour
    assert stations["D001A"]["values"]["co"] == 1e308  # finite, however absurd: the importers' business
    rows = {r["id"]: r for r in poisoned.get(f"{API}/targets").json()["rows"]}
    assert rows["pm25"]["ytd_value"] is None and rows["pm25"]["status"] == "no_data"
    assert "超出计算范围" in rows["pm25"]["required_text"]
    assert rows["good_ratio"]["ytd_value"] is not None  # the other targets are still evaluated
    ranking = poisoned.get(f"{API}/air/ranking?period=2025-03").json()
    assert any(r["value"] is None for r in ranking["rows"]) or ranking["city_value"] is None


# --- 2. a real `qingshan serve` -----------------------------------------------------------------------------------


class Served:
    def __init__(self, proc: subprocess.Popen, port: int, log: Path) -> None:
        self.proc, self.port, self.log = proc, port, log
        self.base = f"http://127.0.0.1:{port}"
        self.ps = psutil.Process(proc.pid)

    def peak_rss(self) -> int:
        """VmHWM: the most resident memory the server ever had (bytes)."""
        for line in Path(f"/proc/{self.proc.pid}/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) * 1024
        raise AssertionError("no VmHWM")

    def written(self) -> int:
        """Bytes the server passed to write() so far (files, temp files, sockets, logs)."""
        return self.ps.io_counters().write_chars

    def token(self, username: str = "admin") -> str:
        r = httpx.post(f"{self.base}{API}/auth/token", data={"username": username, "password": PASSWORD}, timeout=60)
        assert r.status_code == 200, r.text
        return r.json()["access_token"]


def _limit_fds() -> None:
    _, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (SERVER_FD_LIMIT, hard))


@pytest.fixture(scope="module")
def served(tmp_path_factory) -> Iterator[Served]:
    ws = make_workspace(tmp_path_factory.mktemp("served") / "ws")
    port = free_port()
    log = ws.parent / "server.log"
    env = {**os.environ, "QINGSHAN_LEDGER_MAX_UPLOAD": str(UPLOAD_FILE_LIMIT)}
    env.pop("FORWARDED_ALLOW_IPS", None)
    env.pop("QINGSHAN_FORWARDED_ALLOW_IPS", None)
    cmd = [sys.executable, "-m", "qingshan.cli", "-w", str(ws), "serve", "--port", str(port),
           "--max-connections", str(CAP), "--header-timeout", str(HEADER_TIMEOUT)]
    with log.open("wb") as out:
        proc = subprocess.Popen(cmd, stdout=out, stderr=subprocess.STDOUT, env=env, preexec_fn=_limit_fds)
    server = Served(proc, port, log)

    def ready() -> bool:
        assert proc.poll() is None, f"the server exited: {log.read_text(errors='replace')}"
        try:  # the Vega bundle too: built at start-up, it must not weigh on the memory measured by the tests
            return all(httpx.get(f"{server.base}{path}", timeout=60).status_code == 200
                       for path in (f"{API}/auth/me", "/static/vendor/vega-bundle.js"))
        except httpx.HTTPError:
            return False

    try:
        wait_for(ready, 240, "qingshan serve to answer", step=0.5)
        yield server
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=60)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


def megabytes(n: int, chunk: bytes = b"a" * MIB) -> Iterator[bytes]:
    """``n`` MiB as a stream: httpx sends a generator chunked, without Content-Length."""
    for _ in range(n):
        yield chunk


def multipart(n: int) -> Iterator[bytes]:
    yield (b'--qsboundary\r\nContent-Disposition: form-data; name="files"; filename="big.pdf"\r\n'
           b"Content-Type: application/pdf\r\n\r\n%PDF-")
    yield from megabytes(n)
    yield b"\r\n--qsboundary--\r\n"


MULTIPART = {"content-type": "multipart/form-data; boundary=qsboundary"}


def test_chunked_200_mb_anonymous_sign_in_is_cut_at_the_limit(served):
    peak = served.peak_rss()
    r = httpx.post(f"{served.base}{API}/auth/token", content=megabytes(200),
                   headers={"content-type": "application/json"}, timeout=120)
    assert r.status_code == 413 and "请求体超过上限" in r.json()["detail"]
    assert r.headers["connection"] == "close"
    assert served.peak_rss() - peak < 48 * MIB  # it was buffered in full before (RSS +870 MB)


def test_chunked_anonymous_upload_is_refused_before_its_body_is_read(served):
    written = served.written()
    r = httpx.post(f"{served.base}{API}/ledger/items/1/attachments", content=multipart(200), headers=MULTIPART,
                   timeout=120)
    assert r.status_code == 401 and r.json()["detail"] == "上传文件须先登录"
    assert served.written() - written < MIB  # before: 200 MB spooled to a temporary file, then 401


def test_chunked_upload_over_the_limit_stops_at_the_limit(served):
    auth = {"Authorization": f"Bearer {served.token()}"}
    written = served.written()
    r = httpx.post(f"{served.base}{API}/ledger/items/1/attachments", content=multipart(200),
                   headers={**MULTIPART, **auth}, timeout=120)
    assert r.status_code == 413 and "2.25 MiB" in r.json()["detail"]
    assert served.written() - written < 8 * MIB  # at most the limit spooled; before: all 200 MB
    # a small upload from the same caller still goes through to the route (no such record: 404)
    ok = httpx.post(f"{served.base}{API}/ledger/items/999/attachments", headers=auth, timeout=60,
                    files=[("files", ("a.pdf", b"%PDF-1.4 small", "application/pdf"))])
    assert ok.status_code == 404, ok.text


def test_forged_forwarded_for_does_not_escape_the_login_throttle(served):
    codes = []
    for i in range(8):
        r = httpx.post(f"{served.base}{API}/auth/token", data={"username": "xff-probe", "password": "wrong-pass-1"},
                       headers={"X-Forwarded-For": f"203.0.113.{i + 1}"}, timeout=60)
        codes.append(r.status_code)
    assert codes[:5] == [401] * 5 and codes[5:] == [429] * 3, codes


def _closed(sock: socket.socket) -> bool:
    try:
        return sock.recv(1) == b""
    except (ConnectionResetError, BlockingIOError):
        return True


def test_idle_connections_neither_exhaust_the_server_nor_stay_open(served):
    idle = [socket.create_connection(("127.0.0.1", served.port), timeout=10) for _ in range(3 * CAP)]
    try:
        # a normal client is served while 300 connections sit without headers (the server may open 256 files)
        r = httpx.get(f"{served.base}{API}/auth/me", timeout=30)
        assert r.status_code == 200 and r.json()["anonymous"] is True
        # every idle connection is closed: the oldest to make room, the rest after the header timeout
        open_ = set(idle)

        def all_closed() -> bool:
            ready, _, _ = select.select(list(open_), [], [], 0.5)
            open_.difference_update(s for s in ready if _closed(s))
            return not open_

        wait_for(all_closed, 10 * HEADER_TIMEOUT, "the server to close 300 idle connections", step=0)
    finally:
        for s in idle:
            s.close()


def test_a_request_head_that_never_completes_is_closed(served):
    with socket.create_connection(("127.0.0.1", served.port), timeout=10 * HEADER_TIMEOUT) as s:
        s.sendall(b"GET /api/v1/auth/me HTTP/1.1\r\nHost: x\r\nX-Slow: 1")  # and then nothing
        started = time.monotonic()
        assert s.recv(100) == b""
        assert time.monotonic() - started >= HEADER_TIMEOUT * 0.5
    with socket.create_connection(("127.0.0.1", served.port), timeout=30) as s:
        s.sendall(b"GET / HTTP/1.1\r\nHost: x\r\nX-Big: " + b"a" * 70_000 + b"\r\n")
        assert s.recv(100).startswith(b"HTTP/1.1 431 ")


# --- 3. malformed requests against a server in a thread ----------------------------------------------------------


@pytest.fixture(scope="module")
def threaded(tmp_path_factory) -> Iterator[str]:

    ws = make_workspace(tmp_path_factory.mktemp("threaded") / "ws")
    app = create_console_app(ws, warm=False)

    @app.get(f"{API}/test-unexpected", include_in_schema=False)
    def unexpected() -> dict:
        raise RuntimeError("a bug the handlers do not know")

    config = server_config(app, port=free_port(), limits=ServeLimits(header_timeout=30), log_level="warning")
    with uvicorn_in_thread(config, "hardening") as base:
        yield base


def chinese(text: str) -> bool:
    return any("\u4e00" <= ch <= "\u9fff" for ch in text)


@pytest.mark.parametrize("path, params", [
    (f"{API}/ledger/items", {"offset": "99999999999999999999"}),  # anonymous; OverflowError in SQLite before
    (f"{API}/ledger/items/99999999999999999999", {}),
    (f"{API}/ledger/audit", {"offset": str(10**30)}),
    (f"{API}/air/stations/D001A/calendar", {"year": "99999999999999999999"}),
    (f"{API}/targets", {"year": "99999999999"}),
])
def test_an_integer_too_large_is_a_4xx_with_a_chinese_message(threaded, path, params):
    r = httpx.get(f"{threaded}{path}", params=params, timeout=60)
    assert 400 <= r.status_code < 500, r.text
    assert chinese(r.json()["detail"]), r.text


def test_json_nested_thousands_deep_is_a_4xx_with_a_chinese_message(threaded):
    deep = "[" * 1000 + "]" * 1000
    for path, body in ((f"{API}/auth/token", deep), (f"{API}/auth/token", '{"username": ' + deep + "}"),
                       (f"{API}/ledger/tools/daily-fine", '{"rechecks": ' + "[" * 5000 + "]" * 5000 + "}")):
        r = httpx.post(f"{threaded}{path}", content=body, headers={"content-type": "application/json"}, timeout=60)
        assert 400 <= r.status_code < 500, (path, r.text)  # a RecursionError, 500, before
        assert chinese(r.json()["detail"]), r.text


def test_sign_in_may_be_multipart_and_an_anonymous_page_upload_gets_the_401_page(threaded):
    r = httpx.post(f"{threaded}{API}/auth/token", files={"username": (None, "admin"), "password": (None, PASSWORD)},
                   timeout=60)
    assert r.status_code == 200, r.text  # sign-in is not an upload: multipart is fine there
    r = httpx.post(f"{threaded}/ledger/items/1/progress", data={"text": "进展", "csrf": "x"}, timeout=60,
                   files=[("files", ("a.pdf", b"%PDF-1.4", "application/pdf"))])
    assert r.status_code == 401 and r.headers["content-type"].startswith("text/html")
    assert "上传文件须先登录" in r.text and r.headers["connection"] == "close"


def test_an_unexpected_error_is_a_logged_500_and_the_connection_stays_open(threaded, caplog):
    host, port = threaded.removeprefix("http://").split(":")
    with socket.create_connection((host, int(port)), timeout=30) as s:
        reader = s.makefile("rb")

        def exchange(path: str) -> tuple[int, bytes]:
            s.sendall(f"GET {path} HTTP/1.1\r\nHost: x\r\n\r\n".encode())
            status = int(reader.readline().split()[1])
            length = 0
            while (line := reader.readline()) not in (b"\r\n", b""):
                name, _, value = line.decode("latin-1").partition(":")
                if name.lower() == "content-length":
                    length = int(value)
            return status, reader.read(length)

        with caplog.at_level("ERROR", logger="qingshan.ledger.app"):
            status, body = exchange(f"{API}/test-unexpected")
        assert status == 500 and "服务器内部错误" in json.loads(body)["detail"]
        assert any("a bug the handlers do not know" in (r.exc_text or "") or r.exc_info for r in caplog.records)
        status, body = exchange(f"{API}/auth/me")  # the same connection: not dropped after the 500
        assert status == 200 and json.loads(body)["anonymous"] is True


def test_serve_trusts_forwarded_headers_only_from_listed_proxies():
    default = server_config(object(), limits=ServeLimits())
    assert default.proxy_headers is False
    behind = server_config(object(), limits=ServeLimits(forwarded_allow_ips=("10.0.0.5",)))
    assert behind.proxy_headers is True and behind.forwarded_allow_ips == ["10.0.0.5"]
