"""``qingshan hj212 …``: the HJ 212 receiver, the device simulator and the device registry (Typer sub-app).

Wire it into the main app with ``app.add_typer(hj212_app, name="hj212")``; ``python -m qingshan.hj212`` runs it on
its own.  Every command takes ``--workspace``; without it the main CLI's ``ctx.obj.workspace`` (its global
``--workspace``) is used, and when run on its own ``QINGSHAN_WORKSPACE`` / ``./qingshan-workspace``
(:func:`qingshan.settings.current`).  The options' defaults are the fields of :class:`~.config.ServerConfig` and
:class:`~.config.SimConfig`, never written again here.

Only typer, rich, the standard library and :mod:`.config` are imported at start-up; the server, the store and
DuckDB are imported inside the commands (``qingshan --help`` must stay fast).
"""

from __future__ import annotations

import enum
import json
import logging
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Optional

import typer
from rich.console import Console
from rich.table import Table

from ..hj212.config import GEN_CNS, MAX_SEGMENT, BeijingFormatter, ServerConfig, SimConfig

hj212_app = typer.Typer(help="HJ 212 在线监测数据接收：接收服务、设备登记、设备模拟", no_args_is_help=True)
devices_app = typer.Typer(help="设备登记表（MN、密码、企业/排口或站点、应测因子、上报间隔、排放限值）",
                          no_args_is_help=True)
hj212_app.add_typer(devices_app, name="devices")

_SERVE = ServerConfig()
_SIM = SimConfig()

WorkspaceOpt = typer.Option(None, "--workspace", "-w", help="工作区目录（默认同 qingshan --workspace）")


class LogLevel(str, enum.Enum):
    DEBUG = "DEBUG"
    INFO = "INFO"
    WARNING = "WARNING"
    ERROR = "ERROR"


#: Alert kinds (the keys of :data:`.rules.KIND_NAMES`; a test checks they agree).
AlertKind = enum.Enum("AlertKind", {k: k for k in ("exceed", "silent", "flat", "flags", "missing")}, type=str)
#: Data types the simulator generates.
SimCn = enum.Enum("SimCn", {f"CN{c}": c for c in GEN_CNS}, type=str)


def _workspace(ctx: typer.Context, path: Optional[Path]) -> Path:
    """``--workspace``, else the main CLI's (``ctx.obj.workspace``, or the root command's own ``--workspace``
    parameter when it sets no ``obj``), else the settings' default."""
    if path is not None:
        return path
    root = ctx.find_root()
    for ws in (getattr(root.obj, "workspace", None), root.params.get("workspace")):
        if ws is not None:
            return Path(ws)
    from ..settings import current

    return current().workspace


def log_to_stderr(level: str) -> None:
    """The receiver's log on stderr, stamped in Beijing time (``2026-12-05 21:03:04+08:00``)."""
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(BeijingFormatter())
    logging.basicConfig(level=level, handlers=[handler])


def _cell(v: object) -> str:
    return "" if v is None else str(v)


def show_table(title: str, columns: Sequence[str], rows: Sequence[Sequence[object]], total: int | None = None,
               whole: Sequence[str] = ("MN",)) -> None:
    """Rows in full, never cut with "…": on a terminal a table that folds long values (the ``whole`` columns,
    e.g. MN numbers, stay on one line and are never shrunk), tab-separated text with a header line when the output
    is piped or redirected.  ``total`` > ``len(rows)`` says the list was limited."""
    out = Console()
    note = f"前 {len(rows)} 条 / 共 {total} 条（用 --limit 显示更多）" if total is not None and total > len(rows) else None
    if not out.is_terminal:
        typer.echo("\t".join(columns))
        for r in rows:
            typer.echo("\t".join(_cell(v).replace("\t", " ").replace("\n", " ") for v in r))
        if note:
            typer.echo(note, err=True)
        return
    t = Table(title=title, caption=note)
    for i, c in enumerate(columns):
        if c in whole:
            t.add_column(c, no_wrap=True, min_width=max((len(_cell(r[i])) for r in rows), default=0))
        else:
            t.add_column(c, overflow="fold")
    for r in rows:
        t.add_row(*(_cell(v) for v in r))
    out.print(t)


@hj212_app.command("serve")
def serve(
    ctx: typer.Context,
    host: str = typer.Option(_SERVE.host, help="监听地址；现场设备接入时用 0.0.0.0"),
    port: int = typer.Option(_SERVE.port, help="监听端口（0 = 自动选择）"),
    devices: Optional[Path] = typer.Option(_SERVE.devices_file, "--devices",
                                           help="设备登记表 CSV/JSON：启动时导入，修改后自动重载"),
    accept_unknown: bool = typer.Option(_SERVE.accept_unknown, "--accept-unknown",
                                        help="接收未登记设备的数据（默认以 QnRtn=4 拒收）"),
    workspace: Optional[Path] = WorkspaceOpt,
    port_file: Optional[Path] = typer.Option(_SERVE.port_file, help="启动后把实际端口写入此文件"),
    max_per_ip: int = typer.Option(_SERVE.max_conn_per_ip, help="每个 IP 的最大连接数"),
    max_connections: int = typer.Option(_SERVE.max_connections, help="总连接数上限"),
    max_frame: int = typer.Option(_SERVE.max_segment, help=f"数据段最大字节数（至多 {MAX_SEGMENT}）"),
    max_errors: int = typer.Option(_SERVE.max_errors, help="同一连接的错误报文超过此数即断开"),
    idle_timeout: float = typer.Option(_SERVE.idle_timeout, help="空闲断开（秒）"),
    frame_timeout: float = typer.Option(_SERVE.frame_timeout, help="一个报文须在此时间内发完（秒）"),
    write_timeout: float = typer.Option(_SERVE.write_timeout, help="客户端不读应答超过此时间即断开（秒）"),
    load_interval: float = typer.Option(_SERVE.load_interval, help="预写日志入库间隔（秒）"),
    silence_check: float = typer.Option(_SERVE.silence_check_interval, help="停报检查间隔（秒）"),
    stats_interval: float = typer.Option(_SERVE.stats_interval, help="统计输出间隔（秒，0 = 不输出）"),
    fsync: bool = typer.Option(_SERVE.fsync, "--fsync/--no-fsync",
                               help="应答前 fsync 预写日志（--no-fsync 仅供测试：断电会丢失已确认数据）"),
    db_memory: str = typer.Option(_SERVE.db_memory_limit or "", "--db-memory",
                                  help="DuckDB 内存上限（如 512MB、2GB；空 = DuckDB 默认）"),
    recover_only: bool = typer.Option(False, "--recover-only", help="只把预写日志恢复入库，然后退出（不监听）"),
    log_level: LogLevel = typer.Option(LogLevel.INFO, "--log-level", case_sensitive=False, help="日志级别"),
) -> None:
    """启动 HJ 212 数据接收服务（数据包落盘后才应答 9014/9013）。日志为北京时间。"""
    import asyncio

    from ..feeds.quality import after_load_hook
    from ..hj212.server import run_server
    from ..platform.lock import read_running
    from .errors import fail

    ws = _workspace(ctx, workspace)
    running = read_running(ws)
    if running is not None:
        fail(f"工作区 {ws} 已有平台 qingshan serve 在运行（{running.describe()}），HJ 212 接收服务应在平台进程内运行："
             f"停止平台后以 qingshan serve --hj212-port {port} 重新启动")
    log_to_stderr(log_level.value)
    cfg = ServerConfig(
        workspace=ws, host=host, port=port, devices_file=devices,
        accept_unknown=accept_unknown, port_file=port_file, max_conn_per_ip=max_per_ip,
        max_connections=max_connections, max_segment=min(max_frame, MAX_SEGMENT), max_errors=max_errors,
        idle_timeout=idle_timeout, frame_timeout=frame_timeout, write_timeout=write_timeout,
        load_interval=load_interval, silence_check_interval=silence_check, stats_interval=stats_interval,
        fsync=fsync, db_memory_limit=db_memory or None)
    # environmental-quality devices (station + ST 21/22) feed air_hourly, met_hourly and water_auto
    code = asyncio.run(run_server(cfg, recover_only=recover_only, after_load=after_load_hook()))
    if code:
        raise typer.Exit(code)


@hj212_app.command("simulate")
def simulate(
    host: str = typer.Option(_SIM.host, help="接收服务地址"),
    port: int = typer.Option(_SIM.port, help="接收服务端口"),
    devices: int = typer.Option(_SIM.devices, help="并发设备（连接）数"),
    duration: Optional[float] = typer.Option(_SIM.duration, help="发送时长（秒）"),
    count: Optional[int] = typer.Option(_SIM.count, help="每台设备发送的包数（达到即停）"),
    rate: float = typer.Option(_SIM.rate, help="总发送速率（包/秒）；0 = 收到应答即发下一包"),
    cn: SimCn = typer.Option(SimCn(_SIM.cn), help="生成的数据类型"),
    st: str = typer.Option(_SIM.st, help="系统编码 ST"),
    flag: int = typer.Option(_SIM.flag, help="Flag（5 = 2017 版、要求应答）"),
    password: str = typer.Option(_SIM.password, help="访问密码 PW"),
    first_device: int = typer.Option(_SIM.first_device, help="设备编号起点（多个模拟进程时错开）"),
    replay: Optional[Path] = typer.Option(_SIM.replay, help="回放文件：每行一个报文"),
    rewrite: bool = typer.Option(_SIM.rewrite, "--rewrite/--as-is", help="回放时改写 MN/QN（--as-is 原样发送）"),
    ack_timeout: float = typer.Option(_SIM.ack_timeout, help="等待应答超时（秒），超时后重连并重发同一 QN"),
    json_out: Optional[Path] = typer.Option(None, "--json", help="把结果写入 JSON 文件"),
    write_devices: Optional[Path] = typer.Option(None, help="只生成模拟设备的登记表 CSV"),
) -> None:
    """模拟多台设备并发上报（生成数据或回放真实报文），统计确认数与应答延迟。"""
    import asyncio

    from ..hj212.simulate import run_simulation, write_registry

    cfg = SimConfig(host=host, port=port, devices=devices, duration=duration, count=count, rate=rate, cn=cn.value,
                    st=st, flag=flag, password=password, first_device=first_device, replay=replay, rewrite=rewrite,
                    ack_timeout=ack_timeout)
    if write_devices is not None:
        write_registry(cfg, write_devices)
        Console().print(f"已生成 {devices} 台模拟设备的登记表：{write_devices}")
        return
    try:
        res = asyncio.run(run_simulation(cfg))
    except (OSError, ValueError) as e:
        Console(stderr=True).print(f"[red]模拟失败：[/]{e}")
        raise typer.Exit(2) from None
    s = res.summary()
    if json_out is not None:
        json_out.write_text(json.dumps(s, ensure_ascii=False, indent=2), encoding="utf-8")
    lat = s["latency_ms"]
    show_table(f"模拟结果（{s['devices']} 台设备，{s['seconds']} 秒）",
               ("发送", "确认", "确认速率（包/秒）", "拒收", "重发", "超时", "连接失败", "延迟 p50 (ms)", "延迟 p99 (ms)"),
               [(s["sent"], s["acked"], s["acked_per_s"], s["refused"], s["resent"], s["timeouts"],
                 s["connect_errors"], lat["p50"], lat["p99"])])


@devices_app.command("import")
def devices_import(
    ctx: typer.Context,
    file: Path = typer.Argument(..., help="设备登记表（CSV 或 JSON，格式见 docs/hj212.md）"),
    workspace: Optional[Path] = WorkspaceOpt,
) -> None:
    """把设备登记表导入工作区（按 MN 新增或更新）。接收服务运行时请改用 serve --devices（自动重载）。"""
    import duckdb

    from ..hj212.devices import DeviceFileError, read_device_file
    from ..hj212.store import Hj212Store
    from ..store.workspace import Workspace

    err = Console(stderr=True)
    try:
        devs = read_device_file(file)
    except DeviceFileError as e:
        err.print(f"[red]导入失败：[/]{e}")
        raise typer.Exit(2) from None
    try:
        with Workspace(_workspace(ctx, workspace)) as ws:
            counts = Hj212Store(ws.con).upsert_devices(devs, str(file))
    except duckdb.IOException as e:
        err.print(f"[red]无法打开工作区数据库（接收服务可能正在运行；请改用 serve --devices，修改文件即自动重载）：[/]{e}")
        raise typer.Exit(2) from None
    Console().print(f"设备登记表 {file.name}：共 {len(devs)} 台，新增 {counts['new']} 台，更新 {counts['updated']} 台")


@devices_app.command("list")
def devices_list(ctx: typer.Context, workspace: Optional[Path] = WorkspaceOpt,
                 limit: int = typer.Option(100, help="最多显示台数")) -> None:
    """列出已登记设备及最近上报时间（北京时间）。"""
    from ..hj212.store import Hj212Store
    from ..store.workspace import Workspace

    with Workspace(_workspace(ctx, workspace)) as ws:
        rows, total = Hj212Store(ws.con).device_list(limit)
    if not rows:
        typer.echo("没有设备：用 qingshan hj212 devices import FILE 或 serve --devices FILE 导入登记表")
        return
    show_table("HJ 212 设备", ("MN", "登记", "企业/站点", "排口", "上报间隔(秒)", "应测因子", "最近上报", "来源地址"),
               [(r[0], "是" if r[1] else "否（未登记）", r[2], r[3], r[4], r[5] or "",
                 None if r[6] is None else f"{r[6]:%Y-%m-%d %H:%M:%S}", r[7]) for r in rows], total)


@hj212_app.command("alerts")
def alerts(ctx: typer.Context, workspace: Optional[Path] = WorkspaceOpt,
           limit: int = typer.Option(50, help="最多显示条数"),
           kind: Optional[AlertKind] = typer.Option(None, help="只看一类：超标 exceed、停报 silent、恒值 flat、"
                                                          "异常标记 flags、缺测 missing")) -> None:
    """列出监测报警（超标、停报、恒值、异常标记、缺测），证据在 hj212_alerts.evidence。"""
    from ..hj212.rules import KIND_NAMES
    from ..hj212.store import Hj212Store
    from ..store.workspace import Workspace

    with Workspace(_workspace(ctx, workspace)) as ws:
        rows, total = Hj212Store(ws.con).alert_list(kind.value if kind else None, limit)
    if not rows:
        what = f"“{KIND_NAMES[kind.value]}”（{kind.value}）类" if kind else "任何"
        typer.echo(f"没有告警：工作区中没有{what}报警")
        return
    show_table("HJ 212 报警", ("时间", "类型", "MN", "内容", "状态"),
               [(f"{r[0]:%Y-%m-%d %H:%M:%S}", KIND_NAMES.get(r[1], r[1]), r[2], r[3],
                 "待处理" if r[4] == "open" else r[4]) for r in rows], total)
