"""``qingshan serve``: the one platform process — console, REST API, job queue, scheduler and (``--hj212-port``)
the HJ 212 receiver (:mod:`qingshan.platform.service`; docs/deployment.md)."""

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
                  limits: Optional[ServeLimits] = None, *, hj212_port: Optional[int] = None,
                  hj212_host: str = "0.0.0.0", devices: Optional[Path] = None, accept_unknown: bool = False) -> None:
    """Run the platform on ``host:port`` until Ctrl+C; a second platform or a store held by another process ends
    with one line (exit code 2)."""
    from ..platform.lock import PlatformRunning
    from ..platform.service import PlatformOptions, run_platform
    from ..web.store import StoreBusy

    def ready(url: str, hj_port: Optional[int]) -> None:
        console.print(f"控制台：{url} （Ctrl+C 结束）")
        if hj_port is not None:
            console.print(f"HJ 212 接收：{hj212_host}:{hj_port}")

    if devices is not None:  # a registry that cannot be read stops here, with one line, before anything starts
        from ..hj212.devices import DeviceFileError, read_device_file

        try:
            read_device_file(devices)
        except DeviceFileError as e:
            fail(e, 2, "")
    options = PlatformOptions(host=host, port=port, secure_cookies=secure_cookies, limits=limits,
                              hj212_port=hj212_port, hj212_host=hj212_host, devices=devices,
                              accept_unknown=accept_unknown, on_ready=ready)
    try:
        run_platform(workspace, options)
    except (StoreBusy, PlatformRunning) as e:
        fail(e, 2, "")
    except OSError as e:  # a port in use, a workspace that cannot be written
        fail(f"平台无法启动：{e}", 2, "")


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
    hj212_port: Optional[int] = typer.Option(None, "--hj212-port", min=0, max=65535,
                                             help="同时运行 HJ 212 数据接收服务于此端口（缺省不接收；0 = 自动选择）"),
    hj212_host: str = typer.Option("0.0.0.0", "--hj212-host", help="HJ 212 接收服务的监听地址"),
    devices: Optional[Path] = typer.Option(None, "--devices", help="HJ 212 设备登记表 CSV/JSON：启动时导入，修改后自动重载"),
    accept_unknown: bool = typer.Option(False, "--accept-unknown", help="HJ 212：接收未登记设备的数据（默认拒收）"),
) -> None:
    """启动平台：Web 控制台与 REST API（/api/v1）、导入任务队列、定时任务，以及（--hj212-port）HJ 212 数据接收；
    工作区的 DuckDB 文件由本进程独占，运行期间 qingshan import 等写入命令自动交由本进程执行。"""
    from ..web.serve import ServeLimits

    run = cli_context(ctx)
    proxies = run.settings.forwarded_allow_ips if forwarded_allow_ips is None else forwarded_allow_ips
    limits = ServeLimits(header_timeout=header_timeout, max_connections=max_connections,
                         max_header_bytes=max_header_bytes, keep_alive=keep_alive,
                         forwarded_allow_ips=tuple(x.strip() for x in proxies.split(",") if x.strip()))
    serve_console(run.workspace, host, port, secure_cookies, limits, hj212_port=hj212_port, hj212_host=hj212_host,
                  devices=devices, accept_unknown=accept_unknown)


def backup(
    ctx: typer.Context,
    to: Optional[Path] = typer.Option(None, "--to", help="备份目录（须不存在；缺省为工作区 backups/<UTC 时间>）"),
) -> None:
    """备份测量库（DuckDB EXPORT DATABASE，Parquet）：平台运行时交由平台在两次写入之间执行，否则直接执行；
    台账库与工作区其他文件的备份见 docs/deployment.md。"""
    from ..errors import QingshanError
    from ..platform.handoff import HandoffError, hand_backup
    from ..platform.lock import wait_running

    ws = cli_context(ctx).workspace
    try:
        running = wait_running(ws)
    except QingshanError as e:
        fail(e)
    if running is not None:
        try:
            job = hand_backup(running, to)
        except HandoffError as e:
            fail(e)
        if job["state"] != "done":
            fail(job.get("error") or "备份失败")
        folder = job["result"]["folder"]
    else:
        from datetime import datetime, timezone

        import duckdb

        from ..store.backup import export_store
        from .context import open_workspace

        target = to.resolve() if to is not None else \
            ws / "backups" / datetime.now(timezone.utc).strftime("%Y%m%dT%H%M%SZ")
        try:
            with open_workspace(ctx) as w:
                folder = str(export_store(w.con, target))
        except (OSError, duckdb.Error, QingshanError) as e:
            fail(e)
    console.print(f"测量库已备份到 {folder}（恢复：在空工作区中执行 DuckDB 的 IMPORT DATABASE，见 docs/deployment.md）")
