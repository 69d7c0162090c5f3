"""HJ 212 device simulator: many concurrent data loggers sending generated or recorded packets over TCP.

Each simulated device keeps one connection and behaves like a data logger (HJ 212-2017 表9, docs/rules/hj212.md#commands-and-replies, and the default
"超时 10 秒，重发 3 次" of §9.5): it sends a packet, waits for the 9014/9013 answer when Flag.A is set, and when the
connection breaks or the answer does not come it reconnects and **re-sends the same packet with the same QN**.
A packet counts as acknowledged only when its own answer (same QN) came back.

Generated packets: CN 2061 hourly flue-gas data (ST=31; SO2, NOx, particulate with emitted amount and converted
values, O2, flue-gas temperature and flow) of about 400 bytes, or CN 2011/2051/2031 with the same factors.  Recorded packets:
a text file with one packet per line, sent as they are, or re-addressed to each simulated device (new MN and QN,
CRC recomputed) with ``rewrite``.

Usage: ``qingshan hj212 simulate --devices 500 --duration 30`` (or ``python -m qingshan.hj212 simulate …``).
"""

from __future__ import annotations

import asyncio
import random
import time
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta, timezone
from pathlib import Path

from .codec import FrameReader, Hj212Error, Packet, build, frame, parse
from .config import SimConfig


@dataclass
class SimResult:
    devices: int = 0
    seconds: float = 0.0
    sent: int = 0
    acked: int = 0
    refused: int = 0
    resent: int = 0
    timeouts: int = 0
    connect_errors: int = 0
    disconnects: int = 0
    latencies_ms: list[float] = field(default_factory=list)
    acked_ids: list[tuple[str, str, str]] = field(default_factory=list)

    def summary(self) -> dict:
        lat = sorted(self.latencies_ms)

        def pct(q: float) -> float | None:
            return None if not lat else round(lat[min(len(lat) - 1, int(q * len(lat)))], 3)

        return {
            "devices": self.devices, "seconds": round(self.seconds, 3), "sent": self.sent, "acked": self.acked,
            "refused": self.refused, "resent": self.resent, "timeouts": self.timeouts,
            "connect_errors": self.connect_errors, "disconnects": self.disconnects,
            "acked_per_s": round(self.acked / self.seconds, 1) if self.seconds else None,
            "sent_per_s": round(self.sent / self.seconds, 1) if self.seconds else None,
            "latency_ms": {"p50": pct(0.50), "p90": pct(0.90), "p99": pct(0.99), "max": lat[-1] if lat else None},
        }


def device_mn(cfg: SimConfig, i: int) -> str:
    return f"{cfg.mn_base}{cfg.first_device + i:07X}"


def _qn(t: datetime) -> str:
    return t.strftime("%Y%m%d%H%M%S") + f"{t.microsecond // 1000:03d}"


class PacketGenerator:
    """Generated packets of one device.  A few CP variants are built (and validated) once with :func:`build`;
    each packet then only gets its QN and DataTime (fixed width) and a fresh length/CRC, so the simulator
    spends its time on the network, not on formatting."""

    def __init__(self, cfg: SimConfig, mn: str, rng: random.Random, start: datetime, variants: int = 8) -> None:
        self.cfg = cfg
        self.mn = mn
        self.start = start
        self.hour = start.replace(minute=0, second=0, microsecond=0)
        self._bodies = [self._body(rng) for _ in range(variants)]
        self._head = f";ST={cfg.st};CN={cfg.cn};PW={cfg.password};MN={mn};Flag={cfg.flag};CP=&&DataTime="
        # validate one complete packet through the real encoder and parser
        probe = Packet.make(st=cfg.st, cn=cfg.cn, pw=cfg.password, mn=mn, qn=_qn(start), flag=cfg.flag,
                       cp=(( ("DataTime", self._datatime(0)), ),) + self._bodies[0][1])
        build(probe)
        self._rng = rng

    def _body(self, rng: random.Random) -> tuple[str, tuple[tuple[tuple[str, str], ...], ...]]:
        cn = self.cfg.cn
        groups: list[tuple[tuple[str, str], ...]] = []
        o2 = 8.0 + rng.random() * 4
        conv = (21 - 9) / (21 - o2)  # converted to 9 % reference oxygen (GB 13223 style)

        def stat(code: str, base: float, spread: float, zs: bool, cou: float | None) -> None:
            av = base + rng.uniform(-spread, spread)
            if cn == "2011":
                items = [(f"{code}-Rtd", f"{av:.2f}")]
                if zs:
                    items.append((f"{code}-ZsRtd", f"{av * conv:.2f}"))
            else:
                items = [(f"{code}-Cou", f"{cou:.3f}")] if cou is not None else []
                items.append((f"{code}-Avg", f"{av:.2f}"))
                if zs:
                    items.append((f"{code}-ZsAvg", f"{av * conv:.2f}"))
            items.append((f"{code}-Flag", "N"))
            groups.append(tuple(items))

        stat("a21026", 20, 5, True, 0.4 + rng.random() * 0.1)
        stat("a21002", 40, 8, True, 0.8 + rng.random() * 0.2)
        stat("a34013", 5, 1.5, True, 0.1 + rng.random() * 0.02)
        stat("a19001", o2, 0.3, False, None)
        stat("a01012", 60, 3, False, None)
        stat("a00000", 25, 2, False, 90000 + rng.random() * 5000)
        text = ";".join(",".join(f"{k}={v}" for k, v in g) for g in groups)
        return text, tuple(groups)

    def _datatime(self, seq: int) -> str:
        cn = self.cfg.cn
        if cn == "2011":
            t = self.start + timedelta(seconds=30 * seq)
        elif cn == "2051":
            t = self.hour - timedelta(minutes=10 * (seq + 1))
        elif cn == "2031":
            t = self.hour.replace(hour=0) - timedelta(days=seq + 1)
        else:
            t = self.hour - timedelta(hours=seq + 1)
        return t.strftime("%Y%m%d%H%M%S")

    def packet(self, seq: int) -> tuple[bytes, str]:
        """Packet number ``seq``: QN = start + seq ms (unique per device); DataTime steps back one period."""
        qn = _qn(self.start + timedelta(milliseconds=seq))
        body = self._bodies[seq % len(self._bodies)][0]
        return frame(f"QN={qn}{self._head}{self._datatime(seq)};{body}&&"), qn


def generate_packet(cfg: SimConfig, mn: str, seq: int, rng: random.Random, start: datetime) -> tuple[bytes, str]:
    """One generated packet (see :class:`PacketGenerator`)."""
    return PacketGenerator(cfg, mn, rng, start, variants=1).packet(seq)


def load_replay(path: Path) -> list[bytes]:
    out = []
    for line in Path(path).read_bytes().splitlines():
        line = line.strip()
        if line.startswith(b"##"):
            out.append(line + b"\r\n")
    if not out:
        raise ValueError(f"{path} 中没有以 ## 开头的报文")
    return out


def _readdress(raw: bytes, cfg: SimConfig, mn: str, seq: int, start: datetime) -> tuple[bytes, str | None, bool]:
    """A recorded packet re-addressed to device ``mn`` (new QN when it had one); returns (bytes, qn, wants_ack)."""
    try:
        p = parse(raw, verify_crc=False)
    except Hj212Error:
        return raw, None, False
    if not cfg.rewrite:
        return raw, p.qn, p.needs_reply
    qn = _qn(start + timedelta(milliseconds=seq)) if p.qn else None
    q = replace(p, mn=mn, qn=qn, pw=cfg.password)
    return build(q), qn, q.needs_reply


def _answer_to(ev: bytes, qn: str | None) -> str | None:
    """The CN of a reply frame when it answers QN ``qn`` (length and CRC checked), else ``None``."""
    if qn is None or ev.find(b"QN=" + qn.encode() + b";") < 0:
        return None
    try:
        p = parse(ev)
    except Hj212Error:
        return None
    return p.cn if p.qn == qn else None


class _Deadline:
    """When devices stop sending new packets (loop time; ``None``: not yet known).  A packet already sent is
    still re-sent until answered, for at most ``ack_timeout`` past the deadline."""

    __slots__ = ("at",)

    def __init__(self, at: float | None) -> None:
        self.at = at

    def passed(self, now: float, grace: float = 0.0) -> bool:
        return self.at is not None and now >= self.at + grace


class _SimDevice:
    """One simulated data logger: paces and builds its packets, keeps one connection, re-sends the same packet
    (same QN) after a timeout or a broken connection, and counts what happened in the shared result."""

    def __init__(self, i: int, cfg: SimConfig, res: SimResult, deadline: _Deadline, start: datetime,
                 replay: list[bytes] | None, t_begin: float) -> None:
        self.cfg = cfg
        self.res = res
        self.deadline = deadline
        self.start = start
        self.replay = replay
        self.mn = device_mn(cfg, i)
        rng = random.Random(cfg.seed * 1_000_003 + i)
        self.interval = cfg.devices / cfg.rate if cfg.rate > 0 else 0.0
        self.next_send = t_begin + (rng.random() * self.interval if self.interval else 0.0)
        self.seq = 0
        self.reader: asyncio.StreamReader | None = None
        self.writer: asyncio.StreamWriter | None = None
        self.frames = FrameReader()
        self.backlog: list[bytes | Hj212Error] = []
        self.loop = asyncio.get_running_loop()
        self.gen = PacketGenerator(cfg, self.mn, rng, start) if replay is None else None

    def close(self) -> None:
        if self.writer is not None:
            self.writer.transport.abort()
        self.reader = self.writer = None
        self.frames = FrameReader()
        self.backlog = []

    async def run(self) -> None:
        pending: tuple[bytes, str | None, bool] | None = None
        try:
            while True:
                if pending is None:
                    pending = await self._next_packet()
                    if pending is None:
                        break
                if self.writer is None:
                    if self.deadline.passed(self.loop.time(), self.cfg.ack_timeout):
                        break
                    if not await self._connect():
                        continue
                if await self._send(pending):
                    pending = None
        finally:
            self.close()

    async def _next_packet(self) -> tuple[bytes, str | None, bool] | None:
        """The next packet (bytes, QN, answer wanted), at the configured rate; None when the run is over."""
        cfg = self.cfg
        now = self.loop.time()
        if self.deadline.passed(now) or (cfg.count is not None and self.seq >= cfg.count):
            return None
        if self.interval:
            if self.next_send > now:
                await asyncio.sleep(self.next_send - now)
            self.next_send = max(self.next_send + self.interval, self.loop.time() - self.interval)
        if self.replay is not None:
            pending = _readdress(self.replay[self.seq % len(self.replay)], cfg, self.mn, self.seq, self.start)
        else:
            assert self.gen is not None
            pkt, qn = self.gen.packet(self.seq)
            pending = (pkt, qn, bool(cfg.flag & 1))
        self.seq += 1
        return pending

    async def _connect(self) -> bool:
        """Open the connection; False (after a pause) when that failed."""
        try:
            async with asyncio.timeout(self.cfg.connect_timeout):
                self.reader, self.writer = await asyncio.open_connection(self.cfg.host, self.cfg.port)
            return True
        except (OSError, TimeoutError):
            self.res.connect_errors += 1
            self.close()
            await asyncio.sleep(self.cfg.reconnect_delay)
            return False

    async def _send(self, pending: tuple[bytes, str | None, bool]) -> bool:
        """Send one packet and wait for its own answer; False when it must be sent again."""
        assert self.reader is not None and self.writer is not None
        res = self.res
        pkt, qn, wants = pending
        t0 = time.perf_counter()
        try:
            self.writer.write(pkt)
            res.sent += 1
            if not wants:
                await self.writer.drain()
                return True
            async with asyncio.timeout(self.cfg.ack_timeout):
                answer = await self._answer(qn)
        except TimeoutError:
            res.timeouts += 1
            res.resent += 1
            self.close()
            return False
        except (OSError, ConnectionError):
            res.disconnects += 1
            res.resent += 1
            self.close()
            await asyncio.sleep(self.cfg.reconnect_delay)
            return False
        if answer in ("9014", "9013"):
            res.acked += 1
            res.latencies_ms.append((time.perf_counter() - t0) * 1000)
            if self.cfg.keep_acked and qn is not None:
                p = parse(pkt, verify_crc=False)
                res.acked_ids.append((p.mn, qn, p.cn))
        else:
            res.refused += 1
        return True

    async def _answer(self, qn: str | None) -> str:
        """The CN of the server's answer to the packet with this QN (other frames are skipped)."""
        assert self.reader is not None
        while True:
            while not self.backlog:
                data = await self.reader.read(4096)
                if not data:
                    raise ConnectionError("closed")
                self.backlog = self.frames.feed(data)
            ev = self.backlog.pop(0)
            if isinstance(ev, Hj212Error):
                continue
            answer = _answer_to(ev, qn)
            if answer is not None:
                return answer


async def run_simulation(cfg: SimConfig, *, stop: asyncio.Event | None = None,
                         result: SimResult | None = None) -> SimResult:
    """Run ``cfg.devices`` devices concurrently until ``duration`` elapses, each sent ``count`` packets, or ``stop``
    is set (whichever comes first).  ``result`` (updated while the devices run) lets a caller watch the progress,
    e.g. to stop once a condition holds instead of after a fixed time."""
    res = result if result is not None else SimResult()
    res.devices = cfg.devices
    replay = load_replay(cfg.replay) if cfg.replay is not None else None
    start = cfg.start or (datetime.now(timezone.utc).replace(tzinfo=None) + timedelta(hours=8))
    loop = asyncio.get_running_loop()
    t_begin = loop.time()
    deadline = _Deadline(t_begin + cfg.duration if cfg.duration is not None else None)

    async def watch(ev: asyncio.Event) -> None:
        await ev.wait()
        now = loop.time()
        deadline.at = now if deadline.at is None else min(deadline.at, now)

    watcher = asyncio.create_task(watch(stop)) if stop is not None else None
    t0 = time.perf_counter()
    try:
        await asyncio.gather(*(_SimDevice(i, cfg, res, deadline, start, replay, t_begin).run() for i in range(cfg.devices)))
    finally:
        if watcher is not None:
            watcher.cancel()
    res.seconds = time.perf_counter() - t0
    return res


def write_registry(cfg: SimConfig, path: Path) -> None:
    """A device registry (CSV) for the simulated devices, for ``serve --devices``."""
    lines = ["mn,password,enterprise,outlet,st,factors,interval,limits"]
    for i in range(cfg.devices):
        lines.append(f"{device_mn(cfg, i)},{cfg.password},模拟企业{i + 1:04d},DA001,{cfg.st},"
                     f"a21026;a21002;a34013;a19001;a01012;a00000,3600,a21026=100;a21002=150;a34013=20")
    Path(path).write_text("\n".join(lines) + "\n", encoding="utf-8")
