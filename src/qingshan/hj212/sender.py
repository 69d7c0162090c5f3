"""Send recorded packets of many devices to an HJ 212 receiver, each device on its own connection, the way a data
logger does (HJ 212-2017 §9.5): one packet at a time, wait for its answer, re-send the same packet (same QN) after
a timeout or a broken connection, up to ``retries`` times.

Used by the demo build to deliver the generated networks through the real receiver path (TCP → write-ahead log →
store → feed), and usable for any replay where each device has its own packet stream
(:mod:`.simulate` instead readdresses one recording to many generated devices).
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field

from ..errors import QingshanError
from .codec import FrameReader, Hj212Error
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


async def send_streams(host: str, port: int, streams: Mapping[str, Iterable[bytes]], *, concurrency: int = 64,
                       timeout: float = 10.0, retries: int = 3) -> SendResult:
    """Deliver every device's packets in order (devices in parallel, at most ``concurrency`` connections)."""
    res = SendResult()
    gate = asyncio.Semaphore(concurrency)

    async def one(mn: str, packets: Iterable[bytes]) -> None:
        async with gate:
            await _device(host, port, mn, packets, res, timeout, retries)

    await asyncio.gather(*(one(mn, p) for mn, p in streams.items()))
    return res
