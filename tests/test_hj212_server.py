"""HJ 212 receiver over real loopback sockets (127.0.0.1 only): replies, durability before acknowledgement,
idempotent storage, split packets, stream handling, limits, monitoring rules, WAL recovery, the device registry,
the CLI, and the end-to-end test where the server process is killed with SIGKILL mid-stream and restarted.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import re
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import duckdb
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from typer.testing import CliRunner

from qingshan.cli.hj212 import hj212_app
from qingshan.hj212 import wal as wal_module
from qingshan.hj212.codec import FrameReader, Packet, build, frame, parse
from qingshan.hj212.devices import DeviceFileError, read_device_file
from qingshan.hj212.rules import RuleConfig
from qingshan.hj212.server import Hj212Server, ServerConfig
from qingshan.hj212.simulate import SimConfig, SimResult, device_mn, run_simulation, write_registry
from qingshan.hj212.store import NUM_COLS, Hj212Store, check_number, reference_rows
from qingshan.hj212.wal import KIND_PACKET, encode_record, segment_path

HOST = "127.0.0.1"
MN = "010000A8900016F000169DC0"
QN = "20160801085857223"
GOLDEN_9014 = (b"##0087QN=20160801085857223;ST=91;CN=9014;PW=123456;MN=010000A8900016F000169DC0;Flag=4;CP=&&&&"
               b"3240\r\n")
T212_MS = (b"##0139ST=32;CN=2011;PW=123456;MN=LD130133000015;CP=&&DataTime=20160824003817000;B01-Rtd=36.91;"
           b"011-Rtd=231.0,011-Flag=N;060-Rtd=1.803,060-Flag=N&&4980\r\n")

DEVICES = [
    {"mn": MN, "password": "123456", "enterprise": "青山化工有限公司", "outlet": "DA001", "st": "31",
     "factors": "a21026;a21002", "interval": 3600, "limits": {"a21026": 35, "a21002": 50}},
    {"mn": "LD130133000015", "password": "123456", "enterprise": "青山污水处理厂", "outlet": "DW001"},
]


def packet(cn: str = "2061", qn: str | None = QN, flag: int | None = 5, mn: str = MN, pw: str = "123456",
           dt: str = "20160801080000", items: list | None = None, st_: str = "31", **kw) -> bytes:
    items = items if items is not None else [[("a21026-Avg", "20.5"), ("a21026-ZsAvg", "30.1"), ("a21026-Flag", "N")],
                                             [("a21002-Avg", "40"), ("a21002-Flag", "N")]]
    cp = ([[("DataTime", dt)]] if dt is not None else []) + items
    return build(Packet.make(st=st_, cn=cn, pw=pw, mn=mn, qn=qn, flag=flag, cp=cp, **kw))


def config(tmp_path: Path, devices: list | None = None, **kw) -> ServerConfig:
    f = tmp_path / "devices.json"
    f.write_text(json.dumps(DEVICES if devices is None else devices, ensure_ascii=False), encoding="utf-8")
    base = dict(workspace=tmp_path / "ws", host=HOST, port=0, devices_file=f, load_interval=0.05, linger=0.0,
                silence_check_interval=3600, registry_poll=0.2)
    base.update(kw)
    return ServerConfig(**base)


@contextlib.asynccontextmanager
async def running(cfg: ServerConfig):
    srv = Hj212Server(cfg)
    await srv.start()
    try:
        yield srv
    finally:
        await srv.stop()


class Client:
    def __init__(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.r, self.w = reader, writer
        self.frames = FrameReader()
        self.backlog: list = []

    @classmethod
    async def open(cls, port: int) -> Client:
        return cls(*await asyncio.open_connection(HOST, port))

    async def send(self, data: bytes) -> None:
        self.w.write(data)
        await self.w.drain()

    async def reply(self, timeout: float = 30.0) -> bytes:
        async with asyncio.timeout(timeout):
            while True:
                while self.backlog:
                    ev = self.backlog.pop(0)
                    if isinstance(ev, bytes):
                        return ev
                data = await self.r.read(4096)
                if not data:
                    raise ConnectionError("closed")
                self.backlog = self.frames.feed(data)

    async def closed(self, timeout: float = 30.0) -> bool:
        try:
            async with asyncio.timeout(timeout):
                while await self.r.read(4096):
                    pass
            return True
        except (TimeoutError, ConnectionError):
            return False

    def close(self) -> None:
        self.w.transport.abort()


async def until(cond, what: str, timeout: float = 60.0) -> None:
    """Wait for ``cond()`` to hold; fail with ``what`` after ``timeout`` seconds (a deadline, not a sleep)."""
    deadline = time.monotonic() + timeout
    while not cond():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout:.0f} s waiting for {what}")
        await asyncio.sleep(0.02)


def db(cfg: ServerConfig) -> duckdb.DuckDBPyConnection:
    return duckdb.connect(str(Path(cfg.workspace) / "measurements.duckdb"), read_only=True)


# --- replies and durability ---------------------------------------------------------------------------------------


def test_ack_is_byte_exact_and_only_after_the_wal_is_synced(tmp_path, monkeypatch):
    synced: list[float] = []
    real = os.fdatasync

    def slow_sync(fd: int) -> None:
        time.sleep(0.3)
        real(fd)
        synced.append(time.monotonic())

    monkeypatch.setattr(wal_module.os, "fdatasync", slow_sync)
    cfg = config(tmp_path)

    async def main():
        async with running(cfg) as srv:
            c = await Client.open(srv.port)
            t0 = time.monotonic()
            await c.send(packet())
            r = await c.reply()
            got = time.monotonic()
            assert r == GOLDEN_9014
            assert synced and synced[0] <= got and got - t0 >= 0.3
            wal_bytes = b"".join(p.read_bytes() for p in srv.wal_dir.glob("*.wal"))
            assert packet()[:-2] in wal_bytes  # the packet was on disk before the answer
            c.close()

    asyncio.run(main())
    with db(cfg) as con:
        assert con.execute("SELECT count(*) FROM hj212_packets").fetchone()[0] == 1


def test_no_ack_when_the_wal_cannot_be_written(tmp_path, monkeypatch):
    def broken(fd: int) -> None:
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(wal_module.os, "fdatasync", broken)
    cfg = config(tmp_path)

    async def main():
        async with running(cfg) as srv:
            c = await Client.open(srv.port)
            await c.send(packet())
            with contextlib.suppress(ConnectionError):
                async with asyncio.timeout(30):
                    assert await c.r.read(4096) == b""  # dropped without an answer
            assert srv.wal.failed is not None
            assert srv.stats.acknowledged == 0

    asyncio.run(main())


def test_replies_per_flag_and_command(tmp_path):
    cfg = config(tmp_path)

    async def main():
        async with running(cfg) as srv:
            c = await Client.open(srv.port)
            await c.send(packet(qn="20160801085857001", flag=4))  # no A bit: no answer
            await c.send(packet(cn="2012", qn="20160801085857002", items=[]))  # notification: 9013
            await c.send(packet(qn="20160801085857003", flag=9))  # 2025 + A: 9014 with Flag=8
            r1, r2 = parse(await c.reply()), parse(await c.reply())
            assert (r1.cn, r1.qn, r1.flag) == ("9013", "20160801085857002", 4)
            assert (r2.cn, r2.qn, r2.flag) == ("9014", "20160801085857003", 8)
            c.close()

    asyncio.run(main())
    with db(cfg) as con:
        assert con.execute("SELECT count(*) FROM hj212_packets").fetchone()[0] == 3


def test_refusals_answer_qnrtn_and_are_kept(tmp_path):
    cfg = config(tmp_path)

    async def main():
        async with running(cfg) as srv:
            c = await Client.open(srv.port)
            await c.send(packet(pw="999999"))
            assert await c.reply() == frame(f"QN={QN};ST=91;CN=9011;PW=999999;MN={MN};Flag=4;CP=&&QnRtn=3&&")
            await c.send(packet(mn="FFFFFFFFFFFFFFFFFFFFFFFF", qn="20160801085857004"))
            assert parse(await c.reply()).cp_value("QnRtn") == "4"
            bad_crc = packet(qn="20160801085857005")[:-6] + b"0000\r\n"
            await c.send(bad_crc)
            r = parse(await c.reply())
            assert (r.qn, r.cp_value("QnRtn")) == ("20160801085857005", "9")
            await c.send(packet(qn="20160801085857006", st_="32"))  # registered ST is 31
            assert parse(await c.reply()).cp_value("QnRtn") == "5"
            # the connection is still usable
            await c.send(packet(qn="20160801085857007"))
            assert parse(await c.reply()).cn == "9014"
            c.close()

    asyncio.run(main())
    with db(cfg) as con:
        reasons = [r[0] for r in con.execute("SELECT reason FROM hj212_rejects ORDER BY received_at").fetchall()]
        assert [x.split()[0] for x in reasons] == ["QnRtn=3", "QnRtn=4", "QnRtn=9", "QnRtn=5"]
        assert con.execute("SELECT count(*) FROM hj212_packets").fetchone()[0] == 1


def test_unknown_devices_only_with_accept_unknown(tmp_path):
    cfg = config(tmp_path, devices=[], accept_unknown=True)

    async def main():
        async with running(cfg) as srv:
            c = await Client.open(srv.port)
            await c.send(packet(mn="AAAAAAAAAAAAAAAAAAAAAAAA"))
            assert parse(await c.reply()).cn == "9014"
            await c.send(packet(mn="", qn="20160801085857009"))  # an empty MN is never accepted
            assert parse(await c.reply()).cp_value("QnRtn") == "4"
            c.close()

    asyncio.run(main())
    with db(cfg) as con:
        assert con.execute("SELECT mn, registered FROM hj212_devices").fetchall() == [
            ("AAAAAAAAAAAAAAAAAAAAAAAA", False)]


# --- storage --------------------------------------------------------------------------------------------------------


def test_2005_packet_stored_with_2017_codes(tmp_path):
    cfg = config(tmp_path)

    async def main():
        async with running(cfg) as srv:
            c = await Client.open(srv.port)
            await c.send(T212_MS)
            await c.send(packet(qn="20160801085857010"))  # the answer to this one shows the first was read
            assert parse(await c.reply()).qn == "20160801085857010"
            c.close()

    asyncio.run(main())
    with db(cfg) as con:
        rows = con.execute("""SELECT factor, factor_raw, rtd, flag, data_time, period_end, hi FROM source_data
                              WHERE mn = 'LD130133000015' ORDER BY factor""").fetchall()
        assert [r[:4] for r in rows] == [("w00000", "B01", 36.91, None), ("w01018", "011", 231.0, "N"),
                                         ("w21003", "060", 1.803, "N")]
        assert str(rows[0][4]) == "2016-08-24 00:38:17" and rows[0][5] is None and rows[0][6] is None
        qn, raw = con.execute("SELECT qn, raw FROM hj212_packets WHERE mn = 'LD130133000015'").fetchone()
        assert qn is None and raw == T212_MS[:-2].decode()


def test_period_labels_and_quarantine(tmp_path):
    devices = [dict(DEVICES[0], min_interval=10)]
    cfg = config(tmp_path, devices=devices)
    sent = [
        packet(cn="2061", qn="20160801085857011", dt="20160801080000"),
        packet(cn="2031", qn="20160801085857012", dt="20160731000000"),
        packet(cn="2051", qn="20160801085857013", dt="20160801084000"),
        packet(cn="2011", qn="20160801085857014", dt="20160801085857"),
        packet(cn="2061", qn="20160801085857015", dt="20160231080000"),  # invalid DataTime
        packet(cn="2061", qn="20160801085857016", items=[[("a21026-Avg", "abc"), ("a21026-Max", "1e999"),
                                                          ("a21026-Min", "1.5"), ("a21026-Flag", "D")]]),
    ]

    async def main():
        async with running(cfg) as srv:
            c = await Client.open(srv.port)
            for p in sent:
                await c.send(p)
            for _ in sent:
                assert parse(await c.reply()).cn == "9014"
            c.close()

    asyncio.run(main())
    with db(cfg) as con:
        got = dict((r[0], r[1:]) for r in con.execute(
            """SELECT cn, strftime(data_time, '%Y-%m-%d %H:%M'), strftime(period_end, '%Y-%m-%d %H:%M'), hi
               FROM source_data WHERE factor = 'a21002'""").fetchall())
        assert got["2061"] == ("2016-08-01 08:00", "2016-08-01 09:00", (
            con.execute("SELECT epoch(TIMESTAMP '2016-08-01 09:00:00') // 3600").fetchone()[0]))
        assert got["2031"] == ("2016-07-31 00:00", "2016-08-01 00:00", None)
        assert got["2051"] == ("2016-08-01 08:40", "2016-08-01 08:50", None)
        assert got["2011"] == ("2016-08-01 08:58", None, None)
        assert con.execute("SELECT note FROM hj212_packets WHERE qn = '20160801085857015'").fetchone()[0] \
            == "DataTime 无效：20160231080000"
        assert con.execute("SELECT count(*) FROM source_data s JOIN hj212_packets p USING (packet_key) "
                           "WHERE p.qn = '20160801085857015'").fetchone()[0] == 0
        row = con.execute("""SELECT s.avg, s.max, s.min, s.flag FROM source_data s
                             JOIN hj212_packets p USING (packet_key) WHERE p.qn = '20160801085857016'""").fetchone()
        assert row == (None, None, 1.5, "D")
        q = con.execute("SELECT field, raw FROM quarantine ORDER BY field").fetchall()
        assert q == [("DataTime", "20160231080000"), ("a21026-Avg", "abc"), ("a21026-Max", "1e999")]


ABSURD = ["1e308", "-1e308", "1E+308", "1e999", "inf", "-Infinity", "Infinity", "NaN", "nan", "9" * 400,
          "1" + "0" * 400 + ".5", "10000000001", "0x10"]


def test_absurd_numbers_are_quarantined_never_stored(tmp_path):
    """inf, NaN, 1e308, 400-digit numbers and values outside a quantity's physical range are answered (the packet
    is kept whole in hj212_packets), stored as missing, listed in quarantine with the reason, never judged."""
    cfg = config(tmp_path, devices=[dict(DEVICES[0], limits={"a34004": 75})])
    sent = [packet(qn=f"201608010900{i:05d}", items=[[("a34004-Avg", v), ("a34004-Flag", "N")]])
            for i, v in enumerate(ABSURD)]
    ranged = {"a19001-Avg": ("150", "20.9"), "a01014-Avg": ("-1", "12"), "w01001-Avg": ("14.5", "7.2"),
              "a01008-Avg": ("361", "360"), "a01012-Avg": ("-300", "-10"), "a00000-Cou": ("-2e10", "9e9")}
    sent.append(packet(qn="20160801091000001", items=[[(k, bad)] for k, (bad, _) in ranged.items()]))
    sent.append(packet(qn="20160801091000002", items=[[(k, good)] for k, (_, good) in ranged.items()]
                       + [[("a34004-Avg", "80"), ("a34004-Flag", "N")]]))

    async def main():
        async with running(cfg) as srv:
            c = await Client.open(srv.port)
            for x in sent:
                await c.send(x)
                assert parse(await c.reply()).cn == "9014"
            c.close()

    asyncio.run(main())
    with db(cfg) as con:
        assert con.execute("SELECT count(*) FROM hj212_packets").fetchone()[0] == len(sent)
        assert con.execute("SELECT count(*) FROM hj212_packets WHERE contains(raw, ?)", ["9" * 400]).fetchone()[0] == 1
        cols = " OR ".join(f'NOT isfinite("{c}") OR abs("{c}") > 1e10' for c in NUM_COLS)
        assert con.execute(f"SELECT count(*) FROM source_data WHERE {cols}").fetchone()[0] == 0
        assert con.execute("SELECT count(avg) FROM source_data WHERE factor = 'a34004'").fetchone()[0] == 1
        good = con.execute("""SELECT s.factor, coalesce(s.avg, s.cou) FROM source_data s
                              JOIN hj212_packets p USING (packet_key) WHERE p.qn = '20160801091000002'""").fetchall()
        assert dict(good) == {"a19001": 20.9, "a01014": 12.0, "w01001": 7.2, "a01008": 360.0, "a01012": -10.0,
                              "a00000": 9e9, "a34004": 80.0}
        q = con.execute("SELECT field, raw, reason FROM quarantine ORDER BY rowid").fetchall()
        assert [(f, r) for f, r, _ in q] == [("a34004-Avg", v[:64]) for v in ABSURD] + [
            (k, bad) for k, (bad, _) in ranged.items()]
        reasons = {r: why for _, r, why in q}
        assert reasons["inf"] == reasons["NaN"] == reasons["0x10"] == "数值无效（不是有限的十进制数），按缺失处理"
        assert reasons["1e308"] == reasons["9" * 64] == "数值无效（超出物理范围 [-1e+10, 1e+10]），按缺失处理"
        assert reasons["14.5"] == "数值无效（超出物理范围 [0, 14]），按缺失处理"
        alerts = con.execute("SELECT kind, value FROM hj212_alerts WHERE kind = 'exceed'").fetchall()
        assert alerts == [("exceed", 80.0)]  # only the real value was judged


def test_device_file_refuses_absurd_numbers(tmp_path):
    f = tmp_path / "d.csv"
    for limits in ("a21026=inf", "a21026=1e400", "a21026=nan", "a21026=-5", "a21026=1e308"):
        f.write_text(f"mn,limits\nM1,{limits}\n", encoding="utf-8")
        with pytest.raises(DeviceFileError, match="限值"):
            read_device_file(f)
    for interval in ("inf", "1e400", "nan", "99999999999", "0"):
        f.write_text(f"mn,interval\nM1,{interval}\n", encoding="utf-8")
        with pytest.raises(DeviceFileError, match="上报间隔"):
            read_device_file(f)
    f.write_text("mn,interval,limits\nM1,3600,a21026=35\n", encoding="utf-8")
    assert read_device_file(f)[0].limits == {"a21026": 35.0}
    for lon, lat, what in (("181", "31", "经度"), ("120", "nan", "纬度"), ("东经120", "31", "经度")):
        f.write_text(f"设备编号,经度,纬度\nM1,{lon},{lat}\n", encoding="utf-8")
        with pytest.raises(DeviceFileError, match=what):
            read_device_file(f)


def test_device_coordinates_are_kept_in_the_registry(tmp_path):
    """Outlets need a place for the cause note's candidate sources (docs/alerts.md)."""
    f = tmp_path / "d.csv"
    f.write_text("设备编号,企业,经度,纬度\nM1,甲厂,119.9712,31.8123\nM2,乙厂,,\n", encoding="utf-8")
    devices = read_device_file(f)
    assert [(d.lon, d.lat) for d in devices] == [(119.9712, 31.8123), (None, None)]
    with duckdb.connect(str(tmp_path / "s.duckdb")) as con:
        store = Hj212Store(con)
        store.upsert_devices(devices, "d.csv")
        assert con.execute("SELECT mn, lon, lat FROM hj212_devices ORDER BY mn").fetchall() == [
            ("M1", 119.9712, 31.8123), ("M2", None, None)]
        assert store.devices()["M1"].lon == 119.9712


def test_duplicates_are_stored_once(tmp_path):
    cfg = config(tmp_path)

    async def main():
        async with running(cfg) as srv:
            for _ in range(3):  # e.g. a logger re-sending after a lost answer, on new connections
                c = await Client.open(srv.port)
                await c.send(packet())
                assert await c.reply() == GOLDEN_9014
                c.close()
            await until(lambda: srv.stats.loaded == 1, "the first copy in the store")  # later copies hit the key
            c = await Client.open(srv.port)
            await c.send(packet() * 2)  # twice in one batch
            assert await c.reply() == GOLDEN_9014 and await c.reply() == GOLDEN_9014
            c.close()
            return srv.stats

    stats = asyncio.run(main())
    assert stats.acknowledged == 5 and stats.loaded == 1 and stats.duplicates == 4
    with db(cfg) as con:
        assert con.execute("SELECT count(*) FROM hj212_packets").fetchone()[0] == 1
        assert con.execute("SELECT count(*), count(DISTINCT factor) FROM source_data").fetchone() == (2, 2)


def test_split_packets_are_acked_each_and_stored_once_reassembled(tmp_path):
    cfg = config(tmp_path)
    items = [[(f"a2102{i}-Avg", str(i)), (f"a2102{i}-Flag", "N")] for i in range(6)]
    parts = [packet(flag=7, pnum=3, pno=k + 1, items=items[k::3]) for k in range(3)]

    async def main():
        async with running(cfg) as srv:
            c = await Client.open(srv.port)
            for p in (parts[2], parts[0]):
                await c.send(p)
                assert parse(await c.reply()).cn == "9014"
            await until(lambda: srv.stats.loaded == 2, "the first parts in the store")  # before the last arrives
            await c.send(parts[1])
            assert parse(await c.reply()).cn == "9014"
            await c.send(parts[1])  # a repeated part changes nothing
            assert parse(await c.reply()).cn == "9014"
            c.close()

    asyncio.run(main())
    with db(cfg) as con:
        assert con.execute("SELECT count(*) FROM hj212_packets WHERE pnum = 3").fetchone()[0] == 3
        assert con.execute("SELECT count(*) FROM hj212_split_done").fetchone()[0] == 1
        rows = con.execute("SELECT factor, avg FROM source_data ORDER BY factor").fetchall()
        assert rows == [(f"a2102{i}", float(i)) for i in range(6)]


def test_stream_byte_by_byte_garbage_and_pipelining(tmp_path):
    cfg = config(tmp_path)
    qns = [f"2016080108585{i:04d}" for i in range(20)]

    async def main():
        async with running(cfg) as srv:
            c = await Client.open(srv.port)
            data = b"\x00\xffnoise" + b"".join(packet(qn=q) for q in qns[:10])
            for i in range(0, len(data), 7):
                await c.send(data[i : i + 7])
            await c.send(b"".join(packet(qn=q) for q in qns[10:]))
            got = [parse(await c.reply()).qn for _ in qns]
            assert got == qns
            c.close()

    asyncio.run(main())


# --- limits -----------------------------------------------------------------------------------------------------


def test_connection_limits_and_timeouts(tmp_path):
    # The idle timeout is long here so that no step races it however slow the machine; it is tested below.
    cfg = config(tmp_path, max_conn_per_ip=2, idle_timeout=600, frame_timeout=0.3, max_segment=300, max_errors=3)

    async def main():
        async with running(cfg) as srv:
            a, b = await Client.open(srv.port), await Client.open(srv.port)
            c = await Client.open(srv.port)
            assert await c.closed()  # third connection from the same IP is dropped
            # a started packet that never completes is dropped after frame_timeout
            await a.send(packet()[:50])
            assert await a.closed()
            # an oversize packet is refused (and counted as an error), the connection stays
            big = packet(qn="20160801085857020", items=[[(f"x{i}-Avg", "1")] for i in range(60)])
            await b.send(big)
            await b.send(packet(qn="20160801085857021"))
            r = parse(await b.reply())
            assert r.cp_value("QnRtn") == "100" and r.qn == "20160801085857020"
            assert parse(await b.reply()).cn == "9014"
            b.close()
            # too many bad frames close the connection
            d = await Client.open(srv.port)
            await d.send(b"##0005xxxxx0000\r\n" * 5)
            assert await d.closed()
            c.close()

    asyncio.run(main())


def test_idle_connections_are_closed(tmp_path):
    cfg = config(tmp_path, idle_timeout=0.3)

    async def main():
        async with running(cfg) as srv:
            c = await Client.open(srv.port)
            await c.send(packet())
            assert parse(await c.reply()).cn == "9014"
            assert await c.closed()  # after 0.3 s without a byte
            assert srv.stats.connections == 1 and not srv._conns

    asyncio.run(main())


# --- rules ---------------------------------------------------------------------------------------------------------


def test_monitoring_rules_raise_alerts_with_evidence(tmp_path):
    devices = [dict(DEVICES[0], interval=3600), dict(DEVICES[1], interval=1)]
    rules = RuleConfig(flat_run={"2061": 3}, flag_window=4, flag_threshold=2, silence_factor=1.0, silence_min_s=0.5)
    cfg = config(tmp_path, devices=devices, rules=rules, silence_check_interval=0.2)

    def p(i: int, so2: str, zs: str | None, flag: str = "N", nox: bool = True) -> bytes:
        items = [[("a21026-Avg", so2)] + ([("a21026-ZsAvg", zs)] if zs else []) + [("a21026-Flag", flag)]]
        if nox:
            items.append([("a21002-Avg", str(40 + i)), ("a21002-Flag", "N")])
        return packet(qn=f"201608010900{i:05d}", dt=f"20160801{i:02d}0000", items=items)

    sent = [
        p(1, "30", "36"),  # ZsAvg 36 > 35: exceedance on the converted value
        p(2, "30", "30"),  # below
        p(3, "40", None, "D"),  # above but flagged D (fault): not judged; first non-N flag
        p(4, "40", None, "T"),  # above, flagged T (over range): judged; second non-N flag → flags alert
        p(5, "12", "20"),
        p(6, "12", "20", nox=False),  # a21002 missing → missing-factor alert; a21026 12 three times → flat
        p(7, "12", "20"),
    ]

    async def main():
        async with running(cfg) as srv:
            c = await Client.open(srv.port)
            for x in sent:
                await c.send(x)
                assert parse(await c.reply()).cn == "9014"
            c.close()
            # the silence rule for the second device (never seen) fires after its interval
            await until(lambda: srv.stats.alerts >= 6, "six alerts")

    asyncio.run(main())
    with db(cfg) as con:
        alerts = con.execute("SELECT kind, mn, factor, value, threshold, evidence, message FROM hj212_alerts "
                             "ORDER BY kind, value").fetchall()
    kinds = [a[0] for a in alerts]
    assert kinds.count("exceed") == 2 and kinds.count("flat") == 1 and kinds.count("flags") == 1
    assert kinds.count("missing") == 1 and "silent" in kinds
    ex = [a for a in alerts if a[0] == "exceed"]
    assert [(a[3], a[4]) for a in ex] == [(36.0, 35.0), (40.0, 35.0)]
    ev = json.loads(ex[0][5])
    assert ev["field"] == "ZsAvg" and ev["packet"].startswith("##") and ev["MN"] == MN
    assert "二氧化硫" in ex[0][6] and "超过限值" in ex[0][6]
    flat = next(a for a in alerts if a[0] == "flat")
    assert flat[2] == "a21026" and flat[3] == 12.0 and json.loads(flat[5])["run"] == 3
    flags = next(a for a in alerts if a[0] == "flags")
    assert json.loads(flags[5])["counts"] == {"D": 1, "T": 1}
    assert next(a for a in alerts if a[0] == "missing")[2] == "a21002"
    assert any(a[0] == "silent" and a[1] == "LD130133000015" for a in alerts)


# --- WAL recovery ------------------------------------------------------------------------------------------------


def test_recovery_loads_the_wal_and_truncates_a_torn_tail(tmp_path):
    cfg = config(tmp_path)
    wal_dir = Path(cfg.workspace) / "hj212-wal"
    wal_dir.mkdir(parents=True)
    recs = [encode_record(KIND_PACKET, 1_700_000_000_000 + i, "127.0.0.1:1", packet(qn=f"2016080108585{i:04d}")[:-2])
            for i in range(3)]
    seg = segment_path(wal_dir, 1)
    seg.write_bytes(b"".join(recs) + recs[0][:25])  # a record torn by the crash

    async def main(expect_recovered: int):
        srv = Hj212Server(cfg)
        await srv.start(listen=False)
        assert srv.stats.recovered == expect_recovered
        await srv.stop()

    asyncio.run(main(3))
    assert not seg.exists()  # loaded segments are removed
    seg.write_bytes(b"".join(recs))  # the same records again (e.g. a crash before the old segment was removed)
    asyncio.run(main(0))
    with db(cfg) as con:
        assert con.execute("SELECT count(*) FROM hj212_packets").fetchone()[0] == 3
        assert con.execute("SELECT count(*) FROM source_data").fetchone()[0] == 6


def _backlog(wal_dir: Path, seg: int, qns: list[str], tail: bytes = b"") -> list[bytes]:
    """Packets an earlier run acknowledged: in WAL segment ``seg``, not in the store (what a SIGKILL leaves)."""
    wal_dir.mkdir(parents=True, exist_ok=True)
    pkts = [packet(qn=q) for q in qns]
    recs = [encode_record(KIND_PACKET, 1_700_000_000_000 + i, "127.0.0.1:1", p[:-2]) for i, p in enumerate(pkts)]
    segment_path(wal_dir, seg).write_bytes(b"".join(recs) + tail)
    return pkts


def test_restart_answers_before_the_backlog_is_replayed(tmp_path, monkeypatch):
    """The server listens and acknowledges new packets while the WAL backlog is still being loaded (the replay is
    held at a gate until the new packet was answered: an order, not a race)."""
    cfg = config(tmp_path)
    wal_dir = Path(cfg.workspace) / "hj212-wal"
    old = _backlog(wal_dir, 1, [f"2016080100{i:07d}" for i in range(300)])
    gate = threading.Event()
    real_load = Hj212Store.load

    def gated_load(self, records, *a, **kw):
        if any(r.seg == 1 for r in records):  # the backlog's replay waits until the test opens the gate
            assert gate.wait(120)
        return real_load(self, records, *a, **kw)

    monkeypatch.setattr(Hj212Store, "load", gated_load)

    async def main():
        srv = Hj212Server(cfg)
        try:
            async with asyncio.timeout(60):
                await srv.start()
        except TimeoutError:
            gate.set()
            pytest.fail("start() waited for the WAL replay")
        try:
            assert srv.replaying and (wal_dir / "0000000001.tail").exists()
            c = await Client.open(srv.port)
            await c.send(packet(qn="20160801085859999"))
            assert parse(await c.reply()).qn == "20160801085859999"
            await c.send(old[0])  # a device re-sends a backlog packet whose answer it never got
            assert parse(await c.reply()).qn == "20160801000000000"
            assert srv.replaying and srv.stats.acknowledged == 2 and srv.stats.loaded == 0
            gate.set()
            await until(lambda: not srv.replaying, "the end of the replay")
            assert srv.stats.recovered == 300 and srv.stats.replay_seconds is not None
            await until(lambda: srv.stats.loaded == 301, "the new packet in the store")
            c.close()
        finally:
            gate.set()
            await srv.stop()

    asyncio.run(main())
    with db(cfg) as con:
        got = dict(con.execute("SELECT qn, wal_seg FROM hj212_packets").fetchall())
        assert len(got) == 301 and con.execute("SELECT count(*) FROM hj212_packets").fetchone()[0] == 301
        assert got["20160801085859999"] == 2 and got["20160801000000000"] == 1  # the backlog's copy, once
        assert con.execute("SELECT count(*) FROM source_data").fetchone()[0] == 2 * 301
    assert sorted(p.name for p in wal_dir.iterdir()) == ["0000000002.wal"]  # loaded segments and markers removed


def test_torn_tail_of_an_interrupted_replay_is_truncated_corruption_is_kept(tmp_path):
    """A run that crashed before its background replay reached the torn tail of the previous run's last segment
    leaves that segment marked (``.tail``) and followed by its own: the next replay truncates the tail and goes
    on.  A bad record in a segment without the marker is corruption: the segment is kept as ``.corrupt``."""
    cfg = config(tmp_path)
    wal_dir = Path(cfg.workspace) / "hj212-wal"
    torn = encode_record(KIND_PACKET, 1, "x", packet()[:-2])[:25]
    _backlog(wal_dir, 1, [f"2016080101{i:07d}" for i in range(3)], tail=torn)
    (wal_dir / "0000000001.tail").touch()
    _backlog(wal_dir, 2, [f"2016080102{i:07d}" for i in range(3)], tail=torn)  # no marker: corruption
    _backlog(wal_dir, 3, [f"2016080103{i:07d}" for i in range(3)])

    async def main():
        srv = Hj212Server(cfg)
        await srv.start(listen=False)
        assert srv.stats.recovered == 9
        await srv.stop()

    asyncio.run(main())
    assert sorted(p.name for p in wal_dir.iterdir()) == ["0000000002.corrupt"]
    assert (wal_dir / "0000000002.corrupt").read_bytes().endswith(torn)
    with db(cfg) as con:
        assert con.execute("SELECT count(*) FROM hj212_packets").fetchone()[0] == 9


# --- SQL row extraction = Python reference -------------------------------------------------------------------------

_name = st.text(st.characters(blacklist_categories=("Cc", "Cs"), blacklist_characters=";,=\x7f"), min_size=1,
                max_size=10)
_value = st.one_of(st.text(st.characters(blacklist_categories=("Cc", "Cs"), blacklist_characters=";,\x7f"),
                           max_size=10),
                   st.floats(allow_nan=False, allow_infinity=False).map(repr),
                   st.sampled_from(["", "1.5", "-0.0", "1e999", "nan", "1_0", " 1", ".5", "5.", "N", "D", "T",
                                    "1e308", "-1e308", "1e10", "-1e10", "10000000000.000001", "9" * 400, "inf",
                                    "14", "14.000001", "100", "100.5", "-273.15", "-273.16", "360", "0", "-0.001"]))
_field = st.one_of(st.sampled_from(["Rtd", "Min", "Avg", "Max", "Cou", "ZsRtd", "ZsMin", "ZsAvg", "ZsMax", "Flag",
                                    "EFlag", "SampleTime", "Data", "RS", ""]), _name)
_code = st.one_of(st.sampled_from(["a21026", "011", "B01", "060", "w01018", "a-b", "-x", "é\u0301", "a19001", "S01",
                                    "w01001", "001", "a01008", "a01012", "S03", "a01014", "w01010"]), _name)
_key = st.one_of(st.tuples(_code, _field).map(lambda t: f"{t[0]}-{t[1]}"), _name)


@st.composite
def _data_packets(draw):
    groups = draw(st.lists(st.lists(st.tuples(_key, _value), max_size=6), max_size=6))
    if draw(st.booleans()):
        groups.append([(draw(st.sampled_from(["a21026-SampleTime", "x-SampleTime"])),
                        draw(st.sampled_from(["20160801080000", "20160801080000123", "2016", "20160231080000"])))])
    return Packet.make(st="31", cn="2061", pw="1", mn="M", qn=str(draw(st.integers(1, 10**15))), flag=4,
                       cp=[[("DataTime", "20160801080000")], *groups])


_rows_con: list = []


# Each example is one load (a dozen SQL statements, the cost): fewer examples of more packets compare as many
# packets as 150 examples of up to five did, in a third of the time.
@given(st.lists(_data_packets(), min_size=1, max_size=12))
@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
def test_sql_rows_equal_python_reference(packets):
    from qingshan.store.schema import CORE_SCHEMA

    if not _rows_con:
        con = duckdb.connect()
        con.execute("SET threads = 1")  # tiny loads: worker threads only contend for the cores (3x slower on CI)
        con.execute(CORE_SCHEMA)
        _rows_con.append((con, Hj212Store(con)))
    con, store = _rows_con[0]
    con.execute("DELETE FROM source_data; DELETE FROM hj212_packets")
    recs = []
    for i, p in enumerate(packets):
        raw = build(p)[:-2]
        recs.append(wal_module.Record(1, i * 10, i * 10 + 5, KIND_PACKET, 1_700_000_000_000, "t", "", raw))
    store.load(recs, (1, 0), lambda mn: None, None)
    cols = ["factor", "factor_raw", *NUM_COLS, "flag", "eflag", "sample_time", "extra"]
    first: dict[str, Packet] = {}
    for x in packets:
        first.setdefault(x.qn, x)  # same MN+QN+CN: the first one is stored, the others are duplicates
    for p in first.values():
        got = con.execute(f"""SELECT {", ".join(f's."{c}"' for c in cols)} FROM source_data s
                              JOIN hj212_packets k USING (packet_key) WHERE k.qn = ? ORDER BY s.factor_raw""",
                          [p.qn]).fetchall()
        got = [dict(zip(cols, r, strict=True)) for r in got]
        for r in got:
            r["extra"] = json.loads(r["extra"]) if r["extra"] else None
        want = sorted(reference_rows(p), key=lambda r: r["factor_raw"])
        assert [str(r) for r in got] == [str(r) for r in want] or got == want


@given(st.lists(_data_packets(), min_size=1, max_size=12))
@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
def test_python_split_equals_the_sql_split(packets):
    """Small loads split CP in Python (store.split_table), large ones in SQL: the same rows either way."""
    import pyarrow as pa

    from qingshan.hj212.store import _SPLIT_SQL, split_table

    con = duckdb.connect()
    con.execute("SET threads = 1")
    Hj212Store(con)  # its code map and factor ranges, which the SQL joins
    con.register("_rp", pa.table({"ridx": pa.array(range(len(packets)), pa.int32()),
                                  "cp": [x.cp_text for x in packets]}))
    con.execute(_SPLIT_SQL)
    con.register("_sd_py", split_table(packets))
    cols = ["ridx", "factor", "factor_raw", *NUM_COLS, *(f"t_{c}" for c in NUM_COLS), "flag", "eflag", "t_sample",
            "sample_time", "extra"]

    def rows(table: str) -> list[dict]:
        got = con.execute(f"SELECT {', '.join(cols)} FROM {table} ORDER BY ridx, pos").fetchall()
        out = [dict(zip(cols, r, strict=True)) for r in got]
        for r in out:
            r["extra"] = json.loads(r["extra"]) if r["extra"] else None
        return out

    sql, py = rows("_sd"), rows("_sd_py")
    assert [str(r) for r in py] == [str(r) for r in sql] or py == sql
    con.close()


def test_python_split_is_used_for_small_loads(tmp_path, monkeypatch):
    """The load takes the Python split up to PY_SPLIT_MAX packets and the SQL above it; both store the same."""
    from qingshan.hj212 import store as store_module
    from qingshan.store.schema import CORE_SCHEMA

    packets = [Packet.make(st="22", cn="2051", pw="1", mn="M", qn=str(i), flag=4, cp=[
        [("DataTime", "20260801080000")], [("a34004-Avg", f"{i}.5"), ("a34004-Flag", "N")],
        [("a01001-Avg", "bad"), ("a01001-Note", "x")]]) for i in range(3)]
    stored = []
    for limit in (10, 0):
        monkeypatch.setattr(store_module, "PY_SPLIT_MAX", limit)
        con = duckdb.connect()
        con.execute(CORE_SCHEMA)
        s = Hj212Store(con)
        recs = [wal_module.Record(1, i * 10, i * 10 + 5, KIND_PACKET, 1_700_000_000_000, "t", "", build(p)[:-2])
                for i, p in enumerate(packets)]
        res = s.load(recs, (1, 0), lambda mn: None, None)
        assert res.rows == 6 and res.quarantined == 3  # "bad" is not a number: quarantined, stored as missing
        stored.append(con.execute("""SELECT k.qn, s.factor, s.avg, s.flag, s.extra FROM source_data s
                                     JOIN hj212_packets k USING (packet_key) ORDER BY 1, 2""").fetchall())
        con.close()
    assert stored[0] == stored[1]
    assert stored[0][0] == ("0", "a01001", None, None, '{"Note":"x"}')
    assert stored[0][1] == ("0", "a34004", 0.5, "N", None)


def test_check_number_rules():
    assert check_number("a34004", "Avg", "") == (None, None)
    assert check_number("a34004", "Avg", "35.5") == (35.5, None)
    assert check_number("a34004", "Avg", "-0.3") == (-0.3, None)  # zero drift is kept
    assert check_number("a34004", "Avg", "1e10") == (1e10, None)
    for v in ("inf", "Infinity", "-inf", "NaN", "nan", "0x10", "1_0", " 1", "1e", "abc"):
        assert check_number("a34004", "Rtd", v) == (None, "不是有限的十进制数"), v
    for v in ("1e308", "-1e308", "1e999", "9" * 400, "1" + "0" * 400 + ".5", "10000000000.000002"):
        assert check_number("a34004", "Rtd", v) == (None, "超出物理范围 [-1e+10, 1e+10]"), v
    assert check_number("w01001", "Avg", "14.1")[1] == "超出物理范围 [0, 14]"
    assert check_number("001", "Avg", "14.1")[1] == "超出物理范围 [0, 14]"  # the 2005 code of pH
    assert check_number("w01001", "Cou", "14.1") == (14.1, None)  # not a measured value: magnitude only
    assert check_number("a19001", "ZsAvg", "100.01")[1] == "超出物理范围 [0, 100]"
    assert check_number("a01012", "Rtd", "-273.16")[1] == "超出物理范围 [-273.15, 1e+10]"
    assert check_number("a01008", "Max", "360") == (360.0, None)


# --- device registry and CLI --------------------------------------------------------------------------------------


def test_device_file_formats(tmp_path):
    f = tmp_path / "登记表.csv"
    f.write_text("设备编号,密码,企业名称,排放口,监测因子,上报间隔秒,排放限值\n"
                 "MN0001,123456,甲公司,DA001,二氧化硫 02;03,3600,02=35;a21002：50\n", encoding="gb18030")
    with pytest.raises(DeviceFileError):  # "二氧化硫" is not a factor code? it is kept as given; limits must be numbers
        f2 = tmp_path / "bad.csv"
        f2.write_text("mn,limits\nM1,a21026=abc\n", encoding="utf-8")
        read_device_file(f2)
    d = read_device_file(f)[0]
    assert (d.mn, d.password, d.enterprise, d.outlet, d.interval_s) == ("MN0001", "123456", "甲公司", "DA001", 3600)
    assert d.limits == {"a21026": 35.0, "a21002": 50.0} and "a21026" in d.factors
    j = tmp_path / "d.json"
    j.write_text(json.dumps([{"MN": "M2", "limits": {"011": 50}, "limit_cns": ["2061"]}]), encoding="utf-8")
    d2 = read_device_file(j)[0]
    assert d2.limits == {"w01018": 50.0} and d2.limit_cns == ("2061",)
    dup = tmp_path / "dup.csv"
    dup.write_text("mn\nM1\nM1\n", encoding="utf-8")
    with pytest.raises(DeviceFileError, match="重复"):
        read_device_file(dup)
    with pytest.raises(DeviceFileError, match="缺少设备编号"):
        (tmp_path / "nomn.csv").write_text("password\n1\n")
        read_device_file(tmp_path / "nomn.csv")


def test_registry_file_is_reloaded_while_serving(tmp_path):
    cfg = config(tmp_path, devices=[DEVICES[0]])

    async def main():
        async with running(cfg) as srv:
            c = await Client.open(srv.port)
            await c.send(T212_MS.replace(b"CN=2011", b"CN=2011"))  # unregistered yet, no QN: no answer
            cfg.devices_file.write_text(json.dumps(DEVICES, ensure_ascii=False), encoding="utf-8")
            os.utime(cfg.devices_file, (time.time() + 5, time.time() + 5))
            await until(lambda: "LD130133000015" in srv.registry, "the reloaded registry")
            assert srv.registry["LD130133000015"].enterprise == "青山污水处理厂"
            c.close()

    asyncio.run(main())


def _serve_in_thread(cfg: ServerConfig):
    ready = threading.Event()
    box: dict = {}

    def run():
        async def main():
            srv = Hj212Server(cfg)
            await srv.start()
            box["srv"], box["loop"] = srv, asyncio.get_running_loop()
            ready.set()
            await srv.wait_stopped()
            await srv.stop()

        asyncio.run(main())

    t = threading.Thread(target=run, daemon=True)
    t.start()
    assert ready.wait(300)
    return box, t


def test_locked_workspace_is_a_clear_error(tmp_path):
    cfg = config(tmp_path)
    Path(cfg.workspace).mkdir()
    with duckdb.connect(str(Path(cfg.workspace) / "measurements.duckdb")):  # e.g. a running receiver holds it
        r = subprocess.run([sys.executable, "-m", "qingshan.hj212", "serve", "--workspace", str(cfg.workspace),
                            "--port", "0"], capture_output=True, timeout=300, check=False)
    err = r.stderr.decode("utf-8", "replace")
    assert r.returncode == 2 and "无法打开工作区数据库" in err and "Traceback" not in err, err


def test_cli_devices_import_list_and_simulate(tmp_path):
    runner = CliRunner()
    sim = SimConfig(devices=4)
    reg = tmp_path / "sim.csv"
    r = runner.invoke(hj212_app, ["simulate", "--devices", "4", "--write-devices", str(reg)])
    assert r.exit_code == 0, r.output
    ws = tmp_path / "ws"
    r = runner.invoke(hj212_app, ["devices", "import", str(reg), "-w", str(ws)])
    assert r.exit_code == 0 and "新增 4 台" in r.output, r.output
    r = runner.invoke(hj212_app, ["devices", "import", str(tmp_path / "missing.csv"), "-w", str(ws)])
    assert r.exit_code == 2 and "无法读取" in r.output
    cfg = ServerConfig(workspace=ws, host=HOST, port=0, load_interval=0.05)
    box, t = _serve_in_thread(cfg)
    try:
        out = tmp_path / "sim.json"
        r = runner.invoke(hj212_app, ["simulate", "--port", str(box["srv"].port), "--devices", "4", "--count", "5",
                                      "--duration", "600", "--json", str(out)])  # a cap: ends after 5 each
        assert r.exit_code == 0, r.output
        s = json.loads(out.read_text())
        assert s["acked"] == 20 and s["refused"] == 0 and s["latency_ms"]["p99"] is not None
    finally:
        box["loop"].call_soon_threadsafe(box["srv"].request_stop)
        t.join(300)
    r = runner.invoke(hj212_app, ["devices", "list", "-w", str(ws)])
    assert r.exit_code == 0 and device_mn(sim, 0)[:4] in r.output and "是" in r.output
    r = runner.invoke(hj212_app, ["alerts", "-w", str(ws)])
    assert r.exit_code == 0


# --- end to end: SIGKILL mid-stream, restart, every acknowledged packet stored exactly once -------------------------


def _start_server(ws: Path, devfile: Path, port: int, port_file: Path, log: Path,
                  load_interval: float) -> subprocess.Popen:
    port_file.unlink(missing_ok=True)
    return subprocess.Popen(
        [sys.executable, "-m", "qingshan.hj212", "serve", "--workspace", str(ws), "--host", HOST, "--port", str(port),
         "--port-file", str(port_file), "--devices", str(devfile), "--load-interval", str(load_interval),
         "--max-per-ip", "1000"],
        stdout=subprocess.DEVNULL, stderr=open(log, "ab"))


async def _wait_port(port_file: Path, proc: subprocess.Popen, timeout: float = 60) -> int:
    await until(lambda: proc.poll() is not None or (port_file.exists() and port_file.read_text().strip() != ""),
                "the server's port file", timeout)
    assert proc.poll() is None, "server exited"
    return int(port_file.read_text())


def _recovered(log: Path) -> list[int]:
    """The counts of the servers' "replay finished" log lines, in order."""
    return [int(x) for x in re.findall(r"已从预写日志恢复 (\d+) 个", log.read_text(encoding="utf-8", errors="replace"))]


def test_sigkill_mid_stream_then_restart_loses_and_duplicates_nothing(tmp_path):
    n = 24
    ws, devfile, port_file, log = tmp_path / "ws", tmp_path / "devices.csv", tmp_path / "port", tmp_path / "server.log"
    # No fixed duration: the devices send until the scenario below has seen what it waits for.
    sim = SimConfig(host=HOST, devices=n, duration=None, ack_timeout=1.0, reconnect_delay=0.05, keep_acked=True)
    write_registry(sim, devfile)

    async def scenario():
        # The first server never loads (interval 1 h): every packet it acknowledges is only in the WAL when it dies.
        p1 = _start_server(ws, devfile, 0, port_file, log, load_interval=3600)
        sim.port = await _wait_port(port_file, p1)
        res, stop = SimResult(), asyncio.Event()
        task = asyncio.create_task(run_simulation(sim, stop=stop, result=res))
        p2 = None
        try:
            await until(lambda: res.acked >= 200 or task.done(), "acknowledgements from the first server")
            p1.send_signal(signal.SIGKILL)  # mid-stream
            p1.wait()
            # At most one answer per device can still be on its way from the dead server.
            acked_by_p1 = res.acked + n
            p2 = _start_server(ws, devfile, sim.port, port_file, log, load_interval=0.2)
            await _wait_port(port_file, p2)
            await until(lambda: res.acked >= acked_by_p1 + 200 or p2.poll() is not None or task.done(),
                        "acknowledgements from the restarted server")
            await until(lambda: len(_recovered(log)) == 1 or p2.poll() is not None, "the end of the replay")
            assert p2.poll() is None, "restarted server exited"
        finally:
            stop.set()
            res = await task
            for p in (p1, p2):
                if p is not None and p.poll() is None:
                    p.send_signal(signal.SIGKILL)  # and once more at the end, without a clean shutdown
                    p.wait()
        return res, acked_by_p1

    res, acked_by_p1 = asyncio.run(scenario())
    # the restart loaded every packet the first server had acknowledged from the WAL, in the background
    assert _recovered(log)[0] >= acked_by_p1 - n
    # a third start only replays the log into the store
    r = subprocess.run([sys.executable, "-m", "qingshan.hj212", "serve", "--workspace", str(ws), "--recover-only"],
                       capture_output=True, timeout=300, check=False)
    assert r.returncode == 0, r.stderr.decode()
    assert res.acked >= acked_by_p1 + 200 and res.resent > 0  # both servers answered; devices re-sent across the kill
    with duckdb.connect(str(ws / "measurements.duckdb"), read_only=True) as con:
        stored = con.execute("SELECT mn, qn, cn, count(*) FROM hj212_packets GROUP BY ALL").fetchall()
        counts = {(m, q, c): k for m, q, c, k in stored}
        assert all(k == 1 for k in counts.values())  # no duplicates
        missing = [a for a in res.acked_ids if a not in counts]
        assert not missing, f"{len(missing)} acknowledged packets lost, e.g. {missing[:3]}"
        assert len(set(res.acked_ids)) == res.acked
        rows = con.execute("SELECT count(*), count(DISTINCT (packet_key, factor)) FROM source_data").fetchone()
        assert rows[0] == rows[1] == 6 * len(counts)  # six factors per packet, each once
        assert con.execute("SELECT count(DISTINCT wal_seg) FROM hj212_packets").fetchone()[0] >= 2


def test_wal_reader_is_bounded_and_detects_torn_tails(tmp_path):
    recs = [encode_record(KIND_PACKET, i, "p", packet(qn=f"2016080108585{i:04d}")[:-2]) for i in range(50)]
    path = segment_path(tmp_path, 7)
    path.write_bytes(b"".join(recs))
    got, off = [], 0
    while True:  # 1 KiB reads: a record never straddles two calls, none is lost or repeated
        r, off, torn, at_end = wal_module.read_segment(tmp_path, 7, off, max_bytes=1024)
        assert not torn
        got += r
        if at_end:
            break
    assert [x.raw for x in got] == [packet(qn=f"2016080108585{i:04d}")[:-2] for i in range(50)]
    assert off == path.stat().st_size
    path.write_bytes(b"".join(recs) + recs[0][:30])
    r, off, torn, at_end = wal_module.read_segment(tmp_path, 7, 0)
    assert len(r) == 50 and torn and off == len(b"".join(recs))
    corrupt = bytearray(b"".join(recs))
    corrupt[len(recs[0]) + 20] ^= 0xFF  # a flipped bit in the second record
    path.write_bytes(bytes(corrupt))
    r, off, torn, _ = wal_module.read_segment(tmp_path, 7, 0)
    assert len(r) == 1 and torn and off == len(recs[0])
