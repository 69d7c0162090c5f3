"""Consoles for the browser and live tests: ``qingshan serve`` in its own process, or the app under uvicorn in a
thread of the test process; and :func:`wait_for`, the one way these tests wait (a module of helpers, not a test
file)."""

from __future__ import annotations

import socket
import subprocess
import sys
import threading
import time
import urllib.request
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any, TypeVar

T = TypeVar("T")


def wait_for(condition: Callable[[], T], deadline: float, what: str, step: float = 0.1) -> T:
    """Poll ``condition()`` until it returns a truthy value or ``deadline`` seconds pass."""
    end = time.monotonic() + deadline
    while True:
        value = condition()
        if value:
            return value
        if time.monotonic() > end:
            raise AssertionError(f"timed out after {deadline:g} s waiting for {what}")
        time.sleep(step)


def free_port() -> int:
    """A TCP port on 127.0.0.1 that nothing listens on now."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@contextmanager
def running_console(ws: Path, log_path: Path, *, deadline_s: float = 300.0) -> Iterator[str]:
    """Serve ``ws`` with ``qingshan serve`` on a free port; yields the base URL once the API answers (waits up to
    ``deadline_s`` on a busy machine; a server that exits or never answers fails with its log). Stops it after."""
    port = free_port()
    with open(log_path, "w") as log:
        proc = subprocess.Popen([sys.executable, "-m", "qingshan.cli", "--workspace", str(ws), "serve", "--port",
                                 str(port)], stdout=log, stderr=subprocess.STDOUT)
        try:
            base = f"http://127.0.0.1:{port}"
            deadline = time.monotonic() + deadline_s
            while True:
                try:
                    with urllib.request.urlopen(base + "/api/v1/health", timeout=2) as r:
                        if r.status == 200:
                            break
                except OSError:
                    if proc.poll() is not None or time.monotonic() > deadline:
                        raise RuntimeError("控制台未启动：" + log_path.read_text(encoding="utf-8")[-2000:]) from None
                    time.sleep(0.3)
        except BaseException:
            proc.kill()  # it did not start: nothing to stop cleanly, and the start-up error is the one to show
            proc.wait(timeout=60)
            raise
        try:
            yield base
        finally:
            proc.terminate()
            try:
                proc.wait(timeout=60)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait(timeout=60)
                raise AssertionError("qingshan serve 未在 SIGTERM 后 60 秒内结束：" +
                                     log_path.read_text(encoding="utf-8")[-2000:]) from None


@contextmanager
def uvicorn_in_thread(config: Any, name: str = "app") -> Iterator[str]:
    """Serve a ``uvicorn.Config`` in a daemon thread of this process; yields the base URL once it listens."""
    import uvicorn

    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, name=f"{name}-uvicorn", daemon=True)
    thread.start()
    try:
        wait_for(lambda: server.started, 300, "uvicorn to start")
        yield f"http://127.0.0.1:{config.port}"
    finally:
        server.should_exit = True
        thread.join(timeout=60)
        assert not thread.is_alive(), "the server did not stop"


@contextmanager
def console_in_thread(ws: Path, bundle_dir: Path, name: str = "console") -> Iterator[tuple[str, Any]]:
    """The console app of ``ws`` under uvicorn in a thread of this process (its state and event stream polled every
    0.2 s, so a test sees new data at once); yields ``(base URL, app)``."""
    from qingshan.web.app import create_console_app
    from qingshan.web.serve import ServeLimits, server_config

    app = create_console_app(ws, warm=False, state_ttl=0.2, bundle_cache_dir=bundle_dir)
    app.state.events.poll = 0.2
    config = server_config(app, port=free_port(), limits=ServeLimits(header_timeout=30), log_level="warning")
    try:
        with uvicorn_in_thread(config, name) as base:
            yield base, app
    finally:
        app.state.events.close()  # in a thread uvicorn installs no signal handler: end the streams ourselves


@contextmanager
def served_app(app: Any) -> Iterator[str]:
    """An app whose lifespan already runs (a module's ``TestClient``) served under uvicorn in a thread, without
    a second lifespan; yields the base URL."""
    import uvicorn

    with uvicorn_in_thread(uvicorn.Config(app, host="127.0.0.1", port=free_port(), log_level="warning",
                                          lifespan="off")) as base:
        yield base
