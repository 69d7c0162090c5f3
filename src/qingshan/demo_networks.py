"""The demo's HJ 212 networks delivered through the real receiver path (docs/demo.md "HJ 212 networks").

The generated devices of :mod:`qingshan.synth_networks` — the city's meteorology, 40 grid micro-sensors, 6
construction-site dust monitors, 10 enterprise outlets — are registered (a device file, and a station list for the
grid sensors and dust monitors with their networks), then their last ``DAYS`` days of hourly data are sent as CN
2061 packets over TCP to an HJ 212 receiver started in this process on a free loopback port: write-ahead log,
acknowledgement, store, the feed into ``air_hourly``/``met_hourly``, the receiver's rules. Nothing is written
around the receiver.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from datetime import date
from pathlib import Path

import numpy as np
from rich.console import Console

from . import synth_networks as sn
from .feeds.quality import after_load_hook, feed_pending
from .hj212.sender import SendError, send_streams
from .hj212.server import Hj212Server, ServerConfig
from .ingest import import_files
from .store.workspace import Workspace
from .synth import DEMO_CITY, DEMO_STATIONS, generate_hourly

#: days of HJ 212 data the demo delivers (the pollution rose of the cause note looks back 30 days)
DAYS = 30


@dataclass(frozen=True)
class NetworkReport:
    devices: int
    packets: int
    acked: int
    stored: int


def network_streams(last_day: date, days: int = DAYS, seed: int | None = None) -> tuple[list[sn.DemoDevice], dict[str, list[bytes]]]:
    """The devices and, per device, its packets for the ``days`` days ending with ``last_day`` (the air data the
    networks are derived from are the demo's own: the same generator, year and seed as the imported file)."""
    year = last_day.year
    air = generate_hourly(DEMO_STATIONS, year, seed=year if seed is None else seed)
    last_hi = ((last_day - date(1970, 1, 1)).days + 1) * 24
    hours = np.arange(last_hi - 24 * days + 1, last_hi + 1)
    air = air[air["hi"].between(hours[0] - 24, hours[-1])]
    devices = sn.demo_devices(DEMO_STATIONS)
    met = sn.met_hourly(hours, sn.city_mean(air, DEMO_STATIONS))
    tables = {**sn.grid_hourly(devices, DEMO_STATIONS, air, met), **sn.dust_hourly(devices, DEMO_STATIONS, air, met),
              **sn.outlet_hourly(devices, hours)}
    streams = {}
    for d in devices:
        frame = met if d.kind == "met" else tables[d.mn]
        names = sn.OUTLET_FACTORS if d.kind == "outlet" else {**sn.AIR_FACTORS, **sn.MET_FACTORS}
        streams[d.mn] = list(sn.hourly_packets(d, frame, names))
    return devices, streams


async def _deliver(workspace: Path, registry: Path, streams: dict[str, list[bytes]]):
    cfg = ServerConfig(workspace=workspace, host="127.0.0.1", port=0, devices_file=registry, load_interval=0.2,
                       stats_interval=0, silence_check_interval=24 * 3600)
    # the feed runs at most every 2 s while packets stream in (queued hours wait, nothing is lost) and once more
    # when the receiver stops
    server = Hj212Server(cfg, after_load=after_load_hook(every=2.0))
    await server.start()
    try:
        res = await send_streams("127.0.0.1", server.port, streams)
    finally:
        await server.stop()  # flushes the log and loads everything into the store
    return res, server.stats


def deliver_networks(workspace: Path, gen_dir: Path, last_day: date, console: Console) -> NetworkReport:
    """Register the demo devices and send their data through an in-process receiver (the workspace must not be
    held open by the caller meanwhile)."""
    devices, streams = network_streams(last_day)
    registry = gen_dir / "hj212_devices.csv"
    sn.registry_frame(devices).to_csv(registry, index=False)
    stations = gen_dir / "network_stations.csv"
    sn.station_frame(devices, DEMO_CITY).to_csv(stations, index=False)
    with Workspace(workspace) as ws:
        for r in import_files(ws, "stations", [stations]):
            console.print(f"导入 stations（网格微站、扬尘监测点）: 新增 {r.new} 行，未变 {r.unchanged} 行")
    packets = sum(map(len, streams.values()))
    console.print(f"经 HJ 212 接收服务送入 {len(devices)} 台设备最近 {DAYS} 天的小时数据（{packets} 个数据包）……")
    res, stats = asyncio.run(_deliver(workspace, registry, streams))
    if res.failed:
        raise SendError(f"{len(res.failed)} 个数据包未被接收服务确认，例如：{res.failed[0]}")
    with Workspace(workspace) as ws:  # the hours the throttled feed left queued when the receiver stopped
        fed = feed_pending(ws.con)
    console.print(f"HJ 212：确认 {res.acked} 个数据包，入库 {stats.loaded} 个，报警 {stats.alerts} 条"
                  f"（最后补入 {fed.station_hours} 个站点小时）")
    return NetworkReport(len(devices), packets, res.acked, stats.loaded)
