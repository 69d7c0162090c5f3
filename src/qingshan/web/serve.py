"""``serve(workspace, host, port)``: run the console with uvicorn (``qingshan serve`` calls this).

Connections are guarded before any request reaches the app (:class:`ServeLimits`, docs/console.md#serving-limits-and-abuse):

* **header timeout** — a connection must deliver a complete request head within ``header_timeout`` seconds of
  opening (or of its previous response, on a keep-alive connection); otherwise it is closed. uvicorn itself has no
  such timer: a connection that never finishes its headers stays open for ever and holds a file descriptor.
* **connection cap** — at most ``max_connections`` open connections. When a new one would pass the cap, the
  connection that has waited longest for its request head is closed to make room (a legitimate client's request
  gets through while idle connections pile up); when every connection is busy with a request, the new one is closed.
* **header size** — a request head larger than ``max_header_bytes`` is answered 431 and closed (httptools itself
  sets no limit).
* **forwarded headers** — ``X-Forwarded-For``/``-Proto`` are honoured only from the addresses in
  ``forwarded_allow_ips`` (the reverse proxy); by default from nobody, so a client cannot choose the address the
  login throttle counts it under.

The guards live in :class:`GuardedHttpToolsProtocol`, a subclass of uvicorn's httptools protocol (the HTTP/1.1
implementation ``uvicorn[standard]`` installs), passed to uvicorn as its ``http`` protocol class.
"""

from __future__ import annotations

import asyncio
import os
import resource
from collections import OrderedDict
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any, ClassVar

from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol

#: Upper bound of the default connection cap, and the file descriptors left for everything else (DuckDB, the
#: ledger database, log files, the thread pool) when the cap is derived from the open-file limit.
DEFAULT_MAX_CONNECTIONS = 1000
RESERVED_FDS = 128


def default_max_connections() -> int:
    """``min(1000, (open-file limit − 128) / 2)``, at least 16.

    Half, because asyncio accepts up to ``backlog`` (= the cap) waiting connections in one go before any of them
    is looked at: open connections plus one such burst must stay below the file descriptors we have."""
    soft, _ = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft == resource.RLIM_INFINITY:
        return DEFAULT_MAX_CONNECTIONS
    return max(16, min(DEFAULT_MAX_CONNECTIONS, (soft - RESERVED_FDS) // 2))


@dataclass(frozen=True)
class ServeLimits:
    """Connection-level limits of ``qingshan serve`` (module docstring)."""

    header_timeout: float = 10.0
    max_connections: int | None = None  # None: default_max_connections()
    max_header_bytes: int = 64 * 1024
    keep_alive: int = 5  # seconds an idle keep-alive connection is kept (uvicorn's timeout_keep_alive)
    forwarded_allow_ips: tuple[str, ...] = field(default_factory=tuple)

    def __post_init__(self) -> None:
        if self.header_timeout <= 0:
            raise ValueError(f"请求头超时应为正数（秒），而不是 {self.header_timeout}")
        if self.max_connections is not None and self.max_connections < 1:
            raise ValueError(f"连接数上限应为正整数，而不是 {self.max_connections}")
        if self.max_header_bytes < 1024:
            raise ValueError(f"请求头大小上限至少 1024 字节，而不是 {self.max_header_bytes}")

    @property
    def connection_cap(self) -> int:
        return self.max_connections if self.max_connections is not None else default_max_connections()


class GuardedHttpToolsProtocol(HttpToolsProtocol):
    """uvicorn's httptools protocol with the header timeout, the connection cap and the header-size limit.

    Subclasses made by :func:`guarded_protocol` carry the limits and their own ``waiting`` registry: the
    connections waiting for a request head, oldest first (the ones to evict at the cap)."""

    header_timeout: ClassVar[float] = 10.0
    max_connections: ClassVar[int] = DEFAULT_MAX_CONNECTIONS
    max_header_bytes: ClassVar[int] = 64 * 1024
    waiting: ClassVar[OrderedDict[GuardedHttpToolsProtocol, None]] = OrderedDict()  # guarded_protocol: one each

    _header_timer: asyncio.TimerHandle | None = None
    _head_bytes = 0

    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        super().connection_made(transport)
        if len(self.connections) > self.max_connections:
            oldest = next(iter(self.waiting), None)
            if oldest is None:  # every connection is serving a request: refuse this one
                self.logger.warning("连接数已达上限 %d，拒绝新连接", self.max_connections)
                transport.close()
                return
            oldest._close("连接数已达上限，关闭等待请求时间最长的空闲连接")
        self._await_head()

    def connection_lost(self, exc: Exception | None) -> None:
        self._stop_waiting()
        super().connection_lost(exc)

    def data_received(self, data: bytes) -> None:
        waiting = self in self.waiting
        super().data_received(data)
        if waiting and self in self.waiting and not self.transport.is_closing():  # still no complete head
            self._head_bytes += len(data)
            if self._head_bytes > self.max_header_bytes:
                self._stop_waiting()
                self.transport.write(b"HTTP/1.1 431 Request Header Fields Too Large\r\ncontent-length: 0\r\n"
                                     b"connection: close\r\n\r\n")
                self.transport.close()

    def on_headers_complete(self) -> None:
        self._stop_waiting()
        super().on_headers_complete()

    def on_response_complete(self) -> None:
        pipelined = bool(self.pipeline)  # a queued request already has its head
        super().on_response_complete()
        if not pipelined and not self.transport.is_closing():
            self._await_head()

    def _await_head(self) -> None:
        self._stop_waiting()
        self._head_bytes = 0
        self.waiting[self] = None
        self._header_timer = self.loop.call_later(self.header_timeout, self._close,
                                                  "请求头在时限内未送达，关闭连接")

    def _stop_waiting(self) -> None:
        self.waiting.pop(self, None)
        if self._header_timer is not None:
            self._header_timer.cancel()
            self._header_timer = None

    def _close(self, why: str) -> None:
        self._stop_waiting()
        if not self.transport.is_closing():
            self.logger.debug("%s：%s", why, self.client)
            self.transport.close()


def guarded_protocol(limits: ServeLimits) -> type[GuardedHttpToolsProtocol]:
    """A protocol class with ``limits`` and a registry of its own (one per server)."""
    return type("QingshanHttpProtocol", (GuardedHttpToolsProtocol,), {
        "header_timeout": float(limits.header_timeout), "max_connections": limits.connection_cap,
        "max_header_bytes": limits.max_header_bytes, "waiting": OrderedDict()})


def server_config(app: Any, host: str = "127.0.0.1", port: int = 8000, *, limits: ServeLimits | None = None,
                  log_level: str = "info") -> Any:
    """The uvicorn ``Config`` of ``qingshan serve`` for ``app`` (tests start servers with exactly this)."""
    import uvicorn

    limits = limits or ServeLimits()
    trusted = [ip.strip() for ip in limits.forwarded_allow_ips if ip.strip()]
    cap = limits.connection_cap
    return uvicorn.Config(app, host=host, port=port, log_level=log_level, workers=1,
                          http=guarded_protocol(limits), timeout_keep_alive=limits.keep_alive,
                          backlog=min(2048, cap),  # bounds asyncio's accept burst (default_max_connections)
                          proxy_headers=bool(trusted), forwarded_allow_ips=trusted or [],
                          server_header=False)


def build_server(workspace: str | os.PathLike[str], host: str = "127.0.0.1", port: int = 8000, *,
                 as_of: datetime | None = None, secure_cookies: bool = False, log_level: str = "info",
                 limits: ServeLimits | None = None) -> Any:
    """The uvicorn ``Server`` of the console of ``workspace`` (opens the workspace; ``.run()`` serves it)."""
    import uvicorn

    from .app import create_console_app

    app = create_console_app(Path(workspace), as_of=as_of, secure_cookies=secure_cookies)
    return uvicorn.Server(server_config(app, host, port, limits=limits, log_level=log_level))


def serve(workspace: str | os.PathLike[str], host: str = "127.0.0.1", port: int = 8000, *,
          as_of: datetime | None = None, secure_cookies: bool = False, log_level: str = "info",
          limits: ServeLimits | None = None) -> None:
    """Serve the console of ``workspace`` until interrupted (one process: it owns the DuckDB file).

    uvicorn runs a single worker; concurrent requests share the process's thread pool, the opened store and the
    result cache. Put a reverse proxy with TLS in front for anything beyond the local machine, pass
    ``secure_cookies=True`` then, and list the proxy's address in ``limits.forwarded_allow_ips``."""
    build_server(workspace, host, port, as_of=as_of, secure_cookies=secure_cookies, log_level=log_level,
                 limits=limits).run()
