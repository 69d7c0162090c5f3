"""The platform's lock and local token: one ``qingshan serve`` per workspace, and how other commands find it.

* ``<workspace>/platform.lock`` — ``serve`` holds an exclusive ``fcntl.flock`` on it for its whole life and writes
  ``{pid, host, port, url, started}`` into it. The kernel drops the lock when the process dies (even by
  ``kill -9``), so a stale file never blocks a restart: a file whose lock can be taken belongs to nobody.
* ``<workspace>/platform.token`` — a random token, mode 0600 (owner only), rewritten at every start. A command run
  by the same user reads it and hands its work to the platform over loopback with ``Authorization: Bearer``.
"""

from __future__ import annotations

import fcntl
import json
import os
import secrets
import socket
import time
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path

from ..errors import QingshanError

LOCK_FILE = "platform.lock"
TOKEN_FILE = "platform.token"


class PlatformRunning(QingshanError):
    """Another ``qingshan serve`` holds the workspace."""


@dataclass(frozen=True)
class RunningPlatform:
    """What the lock file says about the live platform of a workspace."""

    pid: int
    host: str
    port: int
    url: str
    token: str | None  # None: the token file cannot be read by this user

    def describe(self) -> str:
        return f"进程 {self.pid}，{self.url}"


def _loopback(host: str) -> str:
    """The address a local command reaches a server listening on ``host`` at."""
    return "127.0.0.1" if host in ("", "0.0.0.0", "::", "localhost") else host


def _try_lock(fd: int) -> bool:
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        return True
    except BlockingIOError:
        return False


def read_running(workspace: Path) -> RunningPlatform | None:
    """The platform running on ``workspace``, or None when nobody holds the lock."""
    path = Path(workspace) / LOCK_FILE
    try:
        fd = os.open(path, os.O_RDONLY)
    except FileNotFoundError:
        return None
    try:
        if _try_lock(fd):  # nobody holds it: a file left by a stopped or killed platform
            fcntl.flock(fd, fcntl.LOCK_UN)
            return None
        data = os.read(fd, 1 << 16)
    finally:
        os.close(fd)
    try:
        info = json.loads(data.decode("utf-8"))
        pid, host, port = int(info["pid"]), str(info["host"]), int(info["port"])
    except (ValueError, KeyError, TypeError):  # the holder has not written it yet (it starts)
        raise PlatformRunning(f"工作区 {workspace} 的平台正在启动，请稍后重试") from None
    try:
        token: str | None = (Path(workspace) / TOKEN_FILE).read_text(encoding="ascii").strip() or None
    except (FileNotFoundError, PermissionError):
        token = None
    return RunningPlatform(pid, host, port, f"http://{_loopback(host)}:{port}", token)


def wait_running(workspace: Path, timeout: float = 120.0, poll: float = 0.2) -> RunningPlatform | None:
    """:func:`read_running`, waiting up to ``timeout`` seconds for a platform that is starting up (its lock is
    held but it has not yet said where it listens)."""
    deadline = time.monotonic() + timeout
    while True:
        try:
            return read_running(workspace)
        except PlatformRunning:
            if time.monotonic() > deadline:
                raise
            time.sleep(poll)


class PlatformLock:
    """The lock of a running platform (``serve`` takes it before it opens the store, releases it on exit)."""

    def __init__(self, workspace: Path) -> None:
        self.workspace = Path(workspace)
        self.token = secrets.token_urlsafe(32)
        self._fd: int | None = None

    def acquire(self) -> None:
        """Take the lock or raise :class:`PlatformRunning` naming the running platform."""
        self.workspace.mkdir(parents=True, exist_ok=True)
        path = self.workspace / LOCK_FILE
        fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o600)
        if not _try_lock(fd):
            os.close(fd)
            try:
                other = read_running(self.workspace)
            except PlatformRunning:
                other = None
            who = other.describe() if other else "另一个进程，正在启动"
            raise PlatformRunning(f"工作区 {self.workspace} 已有平台在运行（{who}）；同一工作区只能运行一个 "
                                  f"qingshan serve")
        os.ftruncate(fd, 0)  # a file of a killed platform: its contents are stale
        self._fd = fd
        tok = self.workspace / TOKEN_FILE
        tmp = tok.with_name(TOKEN_FILE + ".tmp")
        tmp.unlink(missing_ok=True)
        tfd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(tfd, "w", encoding="ascii") as f:
            f.write(self.token + "\n")
        os.replace(tmp, tok)

    def publish(self, host: str, port: int, *, hj212_port: int | None = None) -> None:
        """Write where the platform listens (once its HTTP port is bound)."""
        assert self._fd is not None, "acquire() first"
        info = {"pid": os.getpid(), "host": host, "port": port, "hj212_port": hj212_port,
                "hostname": socket.gethostname(),
                "url": f"http://{_loopback(host)}:{port}",
                "started": datetime.now(timezone.utc).isoformat(timespec="seconds")}
        data = json.dumps(info, ensure_ascii=False).encode("utf-8")
        os.ftruncate(self._fd, 0)
        os.pwrite(self._fd, data, 0)
        os.fsync(self._fd)

    def release(self) -> None:
        if self._fd is None:
            return
        (self.workspace / TOKEN_FILE).unlink(missing_ok=True)
        os.ftruncate(self._fd, 0)
        fcntl.flock(self._fd, fcntl.LOCK_UN)
        os.close(self._fd)
        self._fd = None
