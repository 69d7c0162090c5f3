"""``qingshan hj212 …``: the HJ 212 receiver, the device simulator and the device registry (Typer sub-app).

Wire it into the main app with ``app.add_typer(hj212_app, name="hj212")``.  Every command takes ``--workspace``;
without it the main CLI's global ``--workspace`` (when wired) or ``QINGSHAN_WORKSPACE`` / ``./qingshan-workspace``
is used.
"""

from __future__ import annotations

import asyncio
import json
import logging
import sys
from pathlib import Path
from typing import Optional

import typer
from rich.console import Console
from rich.table import Table

from .codec import MAX_SEGMENT
from .devices import DeviceFileError, read_device_file
from .server import DEFAULT_PORT, ServerConfig, run_server
from .simulate import GEN_CNS, SimConfig, run_simulation, write_registry

hj212_app = typer.Typer(help="HJ 212 在线监测数据接收：接收服务、设备登记、设备模拟", no_args_is_help=True)
devices_app = typer.Typer(help="设备登记表（MN、密码、企业/排口或站点、应测因子、上报间隔、排放限值）",
                          no_args_is_help=True)
hj212_app.add_typer(devices_app, name="devices")

console = Console()
err = Console(stderr=True)

WorkspaceOpt = typer.Option(None, "--workspace", "-w", help="工作区目录（默认同 qingshan --workspace）")


def _workspace(path: Optional[Path]) -> Path:
    if path is not None:
        return path
    main = sys.modules.get("qingshan.cli")
    state = getattr(main, "_state", None) if main is not None else None
    if isinstance(state, dict) and state.get("workspace") is not None:
        return Path(state["workspace"])
    from ..store.workspace import default_workspace

    return default_workspace()


@hj212_app.command("serve")
def serve(
    host: str = typer.Option("127.0.0.1", help="监听地址；现场设备接入时用 0.0.0.0"),
    port: int = typer.Option(DEFAULT_PORT, help="监听端口（0 = 自动选择）"),
    devices: Optional[Path] = typer.Option(None, "--devices", help="设备登记表 CSV/JSON：启动时导入，修改后自动重载"),
    accept_unknown: bool = typer.Option(False, "--accept-unknown", help="接收未登记设备的数据（默认以 QnRtn=4 拒收）"),
    workspace: Optional[Path] = WorkspaceOpt,
    port_file: Optional[Path] = typer.Option(None, help="启动后把实际端口写入此文件"),
    max_per_ip: int = typer.Option(256, help="每个 IP 的最大连接数"),
    max_connections: int = typer.Option(10000, help="总连接数上限"),
    max_frame: int = typer.Option(MAX_SEGMENT, help="数据段最大字节数"),
    idle_timeout: float = typer.Option(600.0, help="空闲断开（秒）"),
    frame_timeout: float = typer.Option(30.0, help="一个报文须在此时间内发完（秒）"),
    write_timeout: float = typer.Option(30.0, help="客户端不读应答超过此时间即断开（秒）"),
    load_interval: float = typer.Option(0.5, help="预写日志入库间隔（秒）"),
    silence_check: float = typer.Option(60.0, help="停报检查间隔（秒）"),
    stats_interval: float = typer.Option(60.0, help="统计输出间隔（秒，0 = 不输出）"),
    no_fsync: bool = typer.Option(False, "--no-fsync", help="不做 fsync（仅测试用：断电会丢失已确认数据）"),
) -> None:
    """启动 HJ 212 数据接收服务（数据包落盘后才应答 9014/9013）。"""
    logging.basicConfig(level=logging.INFO, stream=sys.stderr, format="%(asctime)s %(levelname)s %(message)s")
    cfg = ServerConfig(
        workspace=_workspace(workspace), host=host, port=port, devices_file=devices, accept_unknown=accept_unknown,
        port_file=port_file, max_conn_per_ip=max_per_ip, max_connections=max_connections,
        max_segment=min(max_frame, MAX_SEGMENT), idle_timeout=idle_timeout, frame_timeout=frame_timeout,
        write_timeout=write_timeout, load_interval=load_interval, silence_check_interval=silence_check,
        stats_interval=stats_interval, fsync=not no_fsync)
    code = asyncio.run(run_server(cfg))
    if code:
        raise typer.Exit(code)


@hj212_app.command("simulate")
def simulate(
    host: str = typer.Option("127.0.0.1", help="接收服务地址"),
    port: int = typer.Option(DEFAULT_PORT, help="接收服务端口"),
    devices: int = typer.Option(10, help="并发设备（连接）数"),
    duration: float = typer.Option(10.0, help="发送时长（秒）"),
    count: Optional[int] = typer.Option(None, help="每台设备发送的包数（达到即停）"),
    rate: float = typer.Option(0.0, help="总发送速率（包/秒）；0 = 收到应答即发下一包"),
    cn: str = typer.Option("2061", help=f"生成的数据类型：{'/'.join(GEN_CNS)}"),
    st: str = typer.Option("31", help="系统编码 ST"),
    flag: int = typer.Option(5, help="Flag（5 = 2017 版、要求应答）"),
    password: str = typer.Option("123456", help="访问密码 PW"),
    first_device: int = typer.Option(0, help="设备编号起点"),
    replay: Optional[Path] = typer.Option(None, help="回放文件：每行一个报文"),
    as_is: bool = typer.Option(False, "--as-is", help="回放时原样发送（不改写 MN/QN）"),
    ack_timeout: float = typer.Option(10.0, help="等待应答超时（秒），超时后重连并重发同一 QN"),
    json_out: Optional[Path] = typer.Option(None, "--json", help="把结果写入 JSON 文件"),
    write_devices: Optional[Path] = typer.Option(None, help="只生成模拟设备的登记表 CSV"),
) -> None:
    """模拟多台设备并发上报（生成数据或回放真实报文），统计确认数与应答延迟。"""
    if cn not in GEN_CNS:
        err.print(f"[red]不支持的数据类型 CN={cn}[/]（可选：{'、'.join(GEN_CNS)}）")
        raise typer.Exit(2)
    cfg = SimConfig(host=host, port=port, devices=devices, duration=duration, count=count, rate=rate, cn=cn, st=st,
                    flag=flag, password=password, first_device=first_device, replay=replay, rewrite=not as_is,
                    ack_timeout=ack_timeout)
    if write_devices is not None:
        write_registry(cfg, write_devices)
        console.print(f"已生成 {devices} 台模拟设备的登记表：{write_devices}")
        return
    try:
        res = asyncio.run(run_simulation(cfg))
    except (OSError, ValueError) as e:
        err.print(f"[red]模拟失败：[/]{e}")
        raise typer.Exit(2)
    s = res.summary()
    if json_out is not None:
        json_out.write_text(json.dumps(s, ensure_ascii=False, indent=2), encoding="utf-8")
    t = Table(title=f"模拟结果（{s['devices']} 台设备，{s['seconds']} 秒）")
    for c in ("发送", "确认", "确认速率（包/秒）", "拒收", "重发", "超时", "连接失败", "延迟 p50 (ms)", "延迟 p99 (ms)"):
        t.add_column(c, justify="right")
    lat = s["latency_ms"]
    t.add_row(str(s["sent"]), str(s["acked"]), str(s["acked_per_s"]), str(s["refused"]), str(s["resent"]),
              str(s["timeouts"]), str(s["connect_errors"]), str(lat["p50"]), str(lat["p99"]))
    console.print(t)


@devices_app.command("import")
def devices_import(
    file: Path = typer.Argument(..., help="设备登记表（CSV 或 JSON，格式见 docs/hj212.md）"),
    workspace: Optional[Path] = WorkspaceOpt,
) -> None:
    """把设备登记表导入工作区（按 MN 新增或更新）。接收服务运行时请改用 serve --devices（自动重载）。"""
    import duckdb

    from ..store.workspace import Workspace
    from .store import Hj212Store

    try:
        devs = read_device_file(file)
    except DeviceFileError as e:
        err.print(f"[red]导入失败：[/]{e}")
        raise typer.Exit(2)
    try:
        with Workspace(_workspace(workspace)) as ws:
            counts = Hj212Store(ws.con).upsert_devices(devs, str(file))
    except duckdb.IOException as e:
        err.print(f"[red]无法打开工作区数据库（接收服务可能正在运行；请改用 serve --devices，修改文件即自动重载）：[/]{e}")
        raise typer.Exit(2)
    console.print(f"设备登记表 {file.name}：共 {len(devs)} 台，新增 {counts['new']} 台，更新 {counts['updated']} 台")


@devices_app.command("list")
def devices_list(workspace: Optional[Path] = WorkspaceOpt,
                 limit: int = typer.Option(100, help="最多显示台数")) -> None:
    """列出已登记设备及最近上报时间。"""
    from ..store.workspace import Workspace
    from .store import Hj212Store

    with Workspace(_workspace(workspace)) as ws:
        Hj212Store(ws.con)
        rows = ws.con.execute(
            """SELECT mn, registered, coalesce(enterprise, station, name, ''), coalesce(outlet, ''), interval_s,
                      array_to_string(factors, ';'), last_seen, last_peer
               FROM hj212_devices ORDER BY registered DESC, mn LIMIT ?""", [limit]).fetchall()
    t = Table(title="HJ 212 设备")
    for c in ("MN", "登记", "企业/站点", "排口", "上报间隔(秒)", "应测因子", "最近上报", "来源地址"):
        t.add_column(c)
    for r in rows:
        t.add_row(r[0], "是" if r[1] else "否（未登记）", r[2], r[3], "" if r[4] is None else str(r[4]), r[5] or "",
                  "" if r[6] is None else f"{r[6]:%Y-%m-%d %H:%M:%S}", r[7] or "")
    console.print(t)


@hj212_app.command("alerts")
def alerts(workspace: Optional[Path] = WorkspaceOpt, limit: int = typer.Option(50, help="最多显示条数"),
           kind: Optional[str] = typer.Option(None, help="只看一类：exceed/silent/flat/flags/missing")) -> None:
    """列出监测报警（超标、停报、恒值、异常标记、缺测），证据在 hj212_alerts.evidence。"""
    from ..store.workspace import Workspace
    from .rules import KIND_NAMES
    from .store import Hj212Store

    with Workspace(_workspace(workspace)) as ws:
        Hj212Store(ws.con)
        sql = "SELECT raised_at, kind, mn, message, status FROM hj212_alerts"
        params: list = []
        if kind:
            sql += " WHERE kind = ?"
            params.append(kind)
        rows = ws.con.execute(sql + " ORDER BY raised_at DESC LIMIT ?", [*params, limit]).fetchall()
    t = Table(title="HJ 212 报警")
    for c in ("时间", "类型", "MN", "内容", "状态"):
        t.add_column(c)
    for r in rows:
        t.add_row(f"{r[0]:%Y-%m-%d %H:%M:%S}", KIND_NAMES.get(r[1], r[1]), r[2], r[3], "待处理" if r[4] == "open" else r[4])
    console.print(t)
