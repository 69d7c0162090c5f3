"""Many devices sharing one connection (``hj212.sender.Link``, ``send_streams(per_connection=…)``): each device
still waits for the answer to its own MN and QN, the connections are spread over source addresses, every packet
is acknowledged and stored once, and a connection the receiver drops makes the waiting devices re-send on a new
one (bench/live_bench.py sends 20,000 devices this way; the receiver allows 256 connections per address)."""

from __future__ import annotations

import asyncio
from datetime import datetime, timedelta
from pathlib import Path

import duckdb

from qingshan.hj212.codec import Packet, build
from qingshan.hj212.sender import Link, SendResult, deliver, send_streams
from qingshan.hj212.server import Hj212Server

from .test_hj212_server import config, until

DEVICES = [{"mn": f"MUX{i:04d}", "password": "123456", "enterprise": "青山化工", "outlet": f"DA{i:03d}", "st": "31"}
           for i in range(12)]
START = datetime(2026, 5, 1, 8)


def packets(mn: str, n: int) -> list[bytes]:
    out = []
    for m in range(n):
        t = START + timedelta(minutes=m)
        cp = [[("DataTime", f"{t:%Y%m%d%H%M%S}")], [("a21026-Avg", f"{10 + m}"), ("a21026-Flag", "N")]]
        out.append(build(Packet.make(st="31", cn="2051", pw="123456", mn=mn, qn=f"{t:%Y%m%d%H%M%S}{int(mn[3:]):03d}",
                                     flag=5, cp=cp)))
    return out


def _stored(ws: Path) -> list[tuple[str, str]]:
    with duckdb.connect(str(ws / "measurements.duckdb"), read_only=True) as con:
        return con.execute("SELECT mn, qn FROM hj212_packets").fetchall()


def test_devices_share_connections_and_each_gets_its_own_answers(tmp_path):
    cfg = config(tmp_path, devices=DEVICES)
    streams = {d["mn"]: packets(d["mn"], 3) for d in DEVICES}

    async def main() -> tuple[SendResult, int]:
        srv = Hj212Server(cfg)
        await srv.start()
        try:
            res = await send_streams("127.0.0.1", srv.port, streams, per_connection=5,
                                     sources=["127.0.0.1", "127.0.0.2"])
            return res, srv.stats.connections
        finally:
            await srv.stop()

    res, connections = asyncio.run(main())
    assert res.acked == 36 and not res.failed and res.resent == 0
    assert connections == 3  # 12 devices, 5 per connection
    with duckdb.connect(str(Path(cfg.workspace) / "measurements.duckdb"), read_only=True) as con:
        peers = {p for (p,) in con.execute("SELECT DISTINCT peer FROM hj212_packets").fetchall()}
        per_peer = con.execute("SELECT peer, count(DISTINCT mn) FROM hj212_packets GROUP BY peer").fetchall()
    assert len(peers) == 3 and {p.rsplit(":", 1)[0] for p in peers} == {"127.0.0.1", "127.0.0.2"}
    assert sorted(n for _, n in per_peer) == [2, 5, 5]  # each connection carried its devices, each device one
    stored = _stored(Path(cfg.workspace))
    assert len(stored) == len(set(stored)) == 36


def test_a_dropped_connection_makes_the_waiting_devices_resend_on_a_new_one(tmp_path):
    cfg = config(tmp_path, devices=DEVICES)

    async def main() -> tuple[SendResult, int]:
        srv = Hj212Server(cfg)
        await srv.start()
        try:
            link = Link("127.0.0.1", srv.port, timeout=5.0)
            res = SendResult()
            first = [packets(d["mn"], 1)[0] for d in DEVICES[:4]]
            assert all([await deliver(link, d["mn"], p, res) == "9014" for d, p in zip(DEVICES, first)])
            await until(lambda: len(srv._conns) == 1, "one connection")
            for c in list(srv._conns):  # the receiver drops the shared connection
                c.writer.transport.abort()
            second = [(d["mn"], packets(d["mn"], 2)[1]) for d in DEVICES[:4]]
            got = await asyncio.gather(*(deliver(link, mn, p, res) for mn, p in second))
            await link.close()
            assert got == ["9014"] * 4
            return res, link.connects
        finally:
            await srv.stop()

    res, connects = asyncio.run(main())
    assert res.acked == 8 and not res.failed and connects == 2
    stored = _stored(Path(cfg.workspace))
    assert len(stored) == len(set(stored)) == 8
