"""``qingshan serve`` in its own process for the browser tests (a module of helpers, not a test file)."""

from __future__ import annotations

import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path


def free_port() -> int:
    """A TCP port on 127.0.0.1 that nothing listens on now."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@contextmanager
def running_console(ws: Path, log_path: Path, *, deadline_s: float = 120.0) -> Iterator[str]:
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
                    with urllib.request.urlopen(base + "/api/v1/openapi.json", timeout=2) as r:
                        if r.status == 200:
                            break
                except OSError:
                    if proc.poll() is not None or time.monotonic() > deadline:
                        raise RuntimeError("控制台未启动：" + log_path.read_text(encoding="utf-8")[-2000:]) from None
                    time.sleep(0.3)
            yield base
        finally:
            proc.terminate()
            proc.wait(timeout=30)
