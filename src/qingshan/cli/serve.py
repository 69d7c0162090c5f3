"""``qingshan serve``: the web console and the REST API (:mod:`qingshan.web.serve`)."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Optional

import typer

from .context import cli_context
from .errors import fail
from .output import console

if TYPE_CHECKING:
    from ..web.serve import ServeLimits


def serve_console(workspace: Path, host: str, port: int, secure_cookies: bool = False,
                  limits: Optional[ServeLimits] = None) -> None:
    """Run the console on ``host:port`` until Ctrl+C; a store held by another process ends with one line."""
    from ..web.serve import serve as run_console
    from ..web.store import StoreBusy

    console.print(f"控制台：http://{host}:{port}/ （Ctrl+C 结束）")
    try:
        run_console(workspace, host, port, secure_cookies=secure_cookies, log_level="warning", limits=limits)
    except StoreBusy as e:
        fail(e, 2, "")


def serve(
    ctx: typer.Context,
    host: str = typer.Option("127.0.0.1", "--host", help="监听地址（对外提供服务时用 0.0.0.0，并置于反向代理之后）"),
    port: int = typer.Option(8000, "--port", help="端口"),
    secure_cookies: bool = typer.Option(False, "--secure-cookies", help="会话 Cookie 加 Secure 标记（经 HTTPS 反向代理提供服务时使用）"),
    forwarded_allow_ips: Optional[str] = typer.Option(
        None, "--forwarded-allow-ips",
        help="受信任的反向代理地址（逗号分隔）：只采信这些地址发来的 X-Forwarded-For/-Proto；"
             "缺省取环境变量 QINGSHAN_FORWARDED_ALLOW_IPS，都没有则不采信任何地址"),
    header_timeout: float = typer.Option(10.0, "--header-timeout", min=0.1,
                                         help="请求头须在此秒数内送达，否则关闭连接"),
    max_connections: Optional[int] = typer.Option(
        None, "--max-connections", min=1,
        help="同时打开的连接数上限（缺省：1000 与“可打开文件数 − 128”中较小者）；达到上限时先关闭等待最久的空闲连接"),
    max_header_bytes: int = typer.Option(64 * 1024, "--max-header-bytes", min=1024, help="请求头大小上限（字节），超过答 431"),
    keep_alive: int = typer.Option(5, "--keep-alive", min=1, help="空闲的长连接保留秒数"),
) -> None:
    """启动 Web 控制台与 REST API（/api/v1）；工作区的 DuckDB 文件由本进程独占。"""
    from ..web.serve import ServeLimits

    run = cli_context(ctx)
    proxies = run.settings.forwarded_allow_ips if forwarded_allow_ips is None else forwarded_allow_ips
    limits = ServeLimits(header_timeout=header_timeout, max_connections=max_connections,
                         max_header_bytes=max_header_bytes, keep_alive=keep_alive,
                         forwarded_allow_ips=tuple(x.strip() for x in proxies.split(",") if x.strip()))
    serve_console(run.workspace, host, port, secure_cookies, limits)
