"""Send recorded packets of many devices to an HJ 212 receiver the way a data logger does (HJ 212-2017 §9.5): one
packet at a time, wait for its answer, re-send the same packet (same QN) after a timeout or a broken connection,
up to ``retries`` times.  Each device on its own connection, or — :class:`Link`, ``per_connection`` > 1 — many
devices sharing one connection, as behind a data concentrator or a mobile gateway: the receiver caps the
connections per address (256), so thousands of simulated devices on one machine share connections, each device
still waiting for its own answer (matched by MN and QN) before its next packet.

Used by the demo build to deliver the generated networks through the real receiver path (TCP → write-ahead log →
store → feed), and usable for any replay where each device has its own packet stream
(:mod:`.simulate` instead readdresses one recording to many generated devices).
"""

from __future__ import annotations

import asyncio
import itertools
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field

from ..errors import QingshanError
from .codec import FrameReader, Hj212Error, parse
from .simulate import _answer_to


class SendError(QingshanError, RuntimeError):
    """Packets could not be delivered (the receiver refused them or did not answer); the message counts them."""


@dataclass
class SendResult:
    sent: int = 0
    acked: int = 0
    refused: int = 0
    resent: int = 0
    failed: list[str] = field(default_factory=list)  # "MN QN: reason" of packets given up on


def _qn(packet: bytes) -> str | None:
    i = packet.find(b"QN=")
    return None if i < 0 else packet[i + 3 : packet.find(b";", i)].decode("ascii", "replace")


async def _device(host: str, port: int, mn: str, packets: Iterable[bytes], res: SendResult, timeout: float,
                  retries: int) -> None:
    reader = writer = None
    frames = FrameReader()
    backlog: list[bytes | Hj212Error] = []

    async def answer(qn: str | None) -> str:
        nonlocal backlog
        assert reader is not None
        while True:
            while not backlog:
                data = await reader.read(4096)
                if not data:
                    raise ConnectionError("closed")
                backlog = frames.feed(data)
            ev = backlog.pop(0)
            if isinstance(ev, Hj212Error):
                continue
            got = _answer_to(ev, qn)
            if got is not None:
                return got

    try:
        for pkt in packets:
            qn = _qn(pkt)
            for attempt in range(retries + 1):
                try:
                    if writer is None:
                        reader, writer = await asyncio.wait_for(asyncio.open_connection(host, port), timeout)
                        frames, backlog = FrameReader(), []
                    writer.write(pkt)
                    res.sent += 1
                    got = await asyncio.wait_for(answer(qn), timeout)
                except (OSError, ConnectionError, asyncio.TimeoutError) as e:
                    if writer is not None:
                        writer.close()
                    reader = writer = None
                    if attempt == retries:
                        res.failed.append(f"{mn} {qn}: {type(e).__name__}")
                    else:
                        res.resent += 1
                    continue
                if got in ("9014", "9013"):
                    res.acked += 1
                else:
                    res.refused += 1
                    res.failed.append(f"{mn} {qn}: 拒收（{got}）")
                break
    finally:
        if writer is not None:
            writer.close()


class Link:
    """One TCP connection shared by many devices.  :meth:`request` sends a packet and waits for the answer to its
    MN and QN; a broken connection fails every request waiting on it (they re-send on the next connection, which
    the first of them opens).  ``source``: the local address to connect from (e.g. ``127.0.0.2``)."""

    def __init__(self, host: str, port: int, *, source: str | None = None, timeout: float = 10.0) -> None:
        self.host, self.port, self.source, self.timeout = host, port, source, timeout
        self._writer: asyncio.StreamWriter | None = None
        self._gen = 0  # connection generation: which connection a waiting request was sent on
        self._waiting: dict[tuple[str, str], tuple[int, asyncio.Future[str]]] = {}
        self._lock = asyncio.Lock()
        self._readers: set[asyncio.Task[None]] = set()
        self.connects = 0

    async def _connection(self) -> tuple[int, asyncio.StreamWriter]:
        async with self._lock:
            if self._writer is None or self._writer.is_closing():
                local = (self.source, 0) if self.source else None
                reader, writer = await asyncio.wait_for(
                    asyncio.open_connection(self.host, self.port, local_addr=local), self.timeout)
                self._gen += 1
                self._writer = writer
                self.connects += 1
                t = asyncio.create_task(self._read(reader, writer, self._gen))
                self._readers.add(t)
                t.add_done_callback(self._readers.discard)
            return self._gen, self._writer

    async def _read(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter, gen: int) -> None:
        frames = FrameReader()
        try:
            while True:
                data = await reader.read(1 << 16)
                if not data:
                    break
                for ev in frames.feed(data):
                    if isinstance(ev, Hj212Error):
                        continue
                    try:
                        p = parse(ev)
                    except Hj212Error:
                        continue
                    w = self._waiting.get((p.mn, p.qn or ""))
                    if w is not None and not w[1].done():
                        w[1].set_result(p.cn)
        except (OSError, ConnectionError):
            pass
        finally:
            writer.close()
            if self._writer is writer:
                self._writer = None
            for g, fut in list(self._waiting.values()):
                if g == gen and not fut.done():
                    fut.set_exception(ConnectionError("closed"))

    async def request(self, mn: str, qn: str, packet: bytes) -> str:
        """Send ``packet`` (of device ``mn``, with QN ``qn``) and return the CN of its answer.  Raises
        ``OSError``/``ConnectionError``/``asyncio.TimeoutError`` when no answer comes; the caller re-sends."""
        gen, writer = await self._connection()
        fut: asyncio.Future[str] = asyncio.get_running_loop().create_future()
        key = (mn, qn)
        self._waiting[key] = (gen, fut)
        try:  # no answer in time: the caller re-sends on the same connection (the receiver drops duplicates)
            writer.write(packet)
            return await asyncio.wait_for(fut, self.timeout)
        finally:
            if self._waiting.get(key, (0, None))[1] is fut:
                del self._waiting[key]

    async def close(self) -> None:
        if self._writer is not None:
            self._writer.close()
        for t in list(self._readers):
            t.cancel()
        await asyncio.gather(*self._readers, return_exceptions=True)


async def deliver(link: Link, mn: str, packet: bytes, res: SendResult, retries: int = 3) -> str | None:
    """One packet of device ``mn`` over ``link`` until answered (at most ``retries`` re-sends); returns the CN of
    the answer (``9014``/``9013`` acknowledged, ``9011`` refused) or ``None`` when it was given up on."""
    qn = _qn(packet) or ""
    for attempt in range(retries + 1):
        res.sent += 1
        try:
            got = await link.request(mn, qn, packet)
        except (OSError, ConnectionError, asyncio.TimeoutError) as e:
            if attempt == retries:
                res.failed.append(f"{mn} {qn}: {type(e).__name__}")
                return None
            res.resent += 1
            continue
        if got in ("9014", "9013"):
            res.acked += 1
        else:
            res.refused += 1
            res.failed.append(f"{mn} {qn}: 拒收（{got}）")
        return got
    return None


async def send_streams(host: str, port: int, streams: Mapping[str, Iterable[bytes]], *, concurrency: int = 64,
                       timeout: float = 10.0, retries: int = 3, per_connection: int = 1,
                       sources: Iterable[str] | None = None) -> SendResult:
    """Deliver every device's packets in order (devices in parallel, at most ``concurrency`` connections).

    ``per_connection`` > 1: the devices share :class:`Link` connections, that many devices per connection, all
    of them sending at once; ``sources``: local addresses the connections are spread over (round robin)."""
    res = SendResult()
    if per_connection <= 1:
        gate = asyncio.Semaphore(concurrency)

        async def one(mn: str, packets: Iterable[bytes]) -> None:
            async with gate:
                await _device(host, port, mn, packets, res, timeout, retries)

        await asyncio.gather(*(one(mn, p) for mn, p in streams.items()))
        return res
    addresses = itertools.cycle(list(sources or [None]))
    links = [Link(host, port, source=next(addresses), timeout=timeout)
             for _ in range(-(-len(streams) // per_connection))]

    async def device(link: Link, mn: str, packets: Iterable[bytes]) -> None:
        for pkt in packets:
            await deliver(link, mn, pkt, res, retries)

    try:
        await asyncio.gather(*(device(links[i // per_connection], mn, p) for i, (mn, p) in enumerate(streams.items())))
    finally:
        await asyncio.gather(*(link.close() for link in links))
    return res
