"""Write-ahead log of the HJ 212 receiver: append-only, fsync'd segment files in ``<workspace>/hj212-wal/``.

A packet is acknowledged (9014/9013) only after the record holding it is on disk (docs/design.md#hj-212-receiver: acknowledge
only after the flush is durable).  One writer task owns the log: connections hand it records, it writes each batch
with one ``write`` and one ``fdatasync`` in a worker thread and then resolves the batch's futures; while one batch
is being synced the next one gathers (group commit).  The store loader reads the log behind the writer and loads it
into DuckDB; the position it reached is committed in the same transaction as the data (``hj212_wal_state``), and
fully loaded segments are deleted.

Record layout (little-endian)::

    u32 payload length | u32 CRC-32 (zlib) of payload | payload
    payload = i64 received_ms (Unix ms) | u8 kind | u16 peer length | u16 note length | peer | note | raw packet

A crash can leave a torn record only at the end of the last segment (records are synced in order and a new
segment is opened only after the previous one is synced); recovery truncates it — it was never acknowledged.
"""

from __future__ import annotations

import asyncio
import logging
import os
import struct
import zlib
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

from ..errors import QingshanError

log = logging.getLogger("qingshan.hj212.wal")

WAL_DIR = "hj212-wal"
KIND_PACKET = 1  # an accepted packet (acknowledged once durable)
KIND_REJECT = 2  # a rejected frame, kept for audit (never acknowledged)

_REC = struct.Struct("<II")
_PAY = struct.Struct("<qBHH")
MAX_RECORD = 1 << 20


class WalError(QingshanError, RuntimeError):
    """Writing or syncing the log failed; nothing in the failed batch was acknowledged."""


@dataclass(frozen=True, slots=True)
class Record:
    seg: int
    off: int  # offset of the record in its segment
    end: int  # offset just after it
    kind: int
    received_ms: int
    peer: str
    note: str
    raw: bytes


def encode_record(kind: int, received_ms: int, peer: str, raw: bytes, note: str = "") -> bytes:
    p = peer.encode("utf-8", "replace")[:200]
    n = note.encode("utf-8", "replace")[:2000]
    payload = _PAY.pack(received_ms, kind, len(p), len(n)) + p + n + raw[:MAX_RECORD]
    return _REC.pack(len(payload), zlib.crc32(payload)) + payload


def segment_path(directory: Path, seg: int) -> Path:
    return directory / f"{seg:010d}.wal"


def tail_marker(directory: Path, seg: int) -> Path:
    """Marks segment ``seg`` as the last one of a run that may have crashed: a torn record at its end is a crash's
    unacknowledged tail (truncated), not corruption (kept as ``.corrupt``)."""
    return directory / f"{seg:010d}.tail"


def list_segments(directory: Path) -> list[int]:
    out = []
    if directory.is_dir():
        for f in directory.iterdir():
            if f.suffix == ".wal" and f.stem.isdigit():
                out.append(int(f.stem))
    return sorted(out)


def read_segment(directory: Path, seg: int, start: int = 0, stop: int | None = None,
                 max_records: int | None = None, max_bytes: int = 16 << 20) -> tuple[list[Record], int, bool, bool]:
    """Records of segment ``seg`` from offset ``start`` up to ``stop`` (default: end of file).

    Reads at most ``max_bytes`` (memory stays bounded however far behind the loader is) and ``max_records``.
    Returns ``(records, next_offset, torn, at_end)``: ``at_end`` when the region was read to its end; ``torn`` when
    the bytes at ``next_offset`` at the end of the region are not a whole valid record (a torn tail after a crash,
    or corruption).
    """
    path = segment_path(directory, seg)
    want = max_bytes if stop is None else min(max(0, stop - start), max_bytes)
    with open(path, "rb") as f:
        f.seek(start)
        data = f.read(want)
    region_end = len(data) < want or (stop is not None and start + len(data) >= stop)
    out: list[Record] = []
    pos = 0
    n = len(data)
    while pos < n:
        if max_records is not None and len(out) >= max_records:
            return out, start + pos, False, False
        if n - pos < _REC.size:
            return out, start + pos, region_end, False
        length, crc = _REC.unpack_from(data, pos)
        body = pos + _REC.size
        if length > MAX_RECORD + 4096 or length < _PAY.size:
            return out, start + pos, True, False
        if body + length > n:
            return out, start + pos, region_end, False
        payload = data[body : body + length]
        if zlib.crc32(payload) != crc:
            return out, start + pos, True, False
        received_ms, kind, lp, ln = _PAY.unpack_from(payload, 0)
        o = _PAY.size
        peer = payload[o : o + lp].decode("utf-8", "replace")
        note = payload[o + lp : o + lp + ln].decode("utf-8", "replace")
        raw = payload[o + lp + ln :]
        end = body + length
        out.append(Record(seg, start + pos, start + end, kind, received_ms, peer, note, raw))
        pos = end
    return out, start + pos, False, region_end


def _fsync_dir(directory: Path) -> None:
    fd = os.open(directory, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


class WalWriter:
    """The single writer of the log (runs as one asyncio task; file I/O in its own thread)."""

    def __init__(self, directory: Path, segment: int, *, fsync: bool = True, segment_bytes: int = 64 << 20,
                 linger: float = 0.002, on_durable: Callable[[], None] | None = None,
                 on_written: Callable[[int, int, list[bytes], list[object]], None] | None = None) -> None:
        self.directory = directory
        directory.mkdir(parents=True, exist_ok=True)
        self.fsync = fsync
        self.segment_bytes = segment_bytes
        self.linger = linger
        self.on_durable = on_durable
        self.on_written = on_written  # (segment, start offset, records, tags) after each durable batch
        self._seg = segment
        self._fd = self._open(segment)
        self._size = 0
        self.durable: tuple[int, int] = (segment, 0)  # everything before this position is on disk
        self._pending: list[bytes] = []
        self._tags: list[object] = []
        self._waiters: list[asyncio.Future[None]] = []
        self._wake = asyncio.Event()
        self._closing = False
        self._io = ThreadPoolExecutor(1, thread_name_prefix="hj212-wal")
        self.failed: BaseException | None = None
        self.batches = 0
        self.records = 0

    def _open(self, seg: int) -> int:
        fd = os.open(segment_path(self.directory, seg), os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o644)
        if self.fsync:
            _fsync_dir(self.directory)
        return fd

    @property
    def pending(self) -> int:
        return len(self._pending)

    def submit(self, records: list[bytes], tags: list[object] | None = None) -> asyncio.Future[None]:
        """Queue records; the future resolves once all of them are durable (or fails with :class:`WalError`).

        ``tags`` (one per record, e.g. the parsed packet) are passed to ``on_written`` with the records' positions.
        """
        fut: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        if self.failed is not None or self._closing:
            fut.set_exception(WalError("预写日志不可用"))
            return fut
        self._pending.extend(records)
        self._tags.extend(tags if tags is not None else [None] * len(records))
        self._waiters.append(fut)
        self._wake.set()
        return fut

    async def run(self) -> None:
        loop = asyncio.get_running_loop()
        while True:
            await self._wake.wait()
            self._wake.clear()
            if self.linger and not self._closing and len(self._pending) < 256:
                await asyncio.sleep(self.linger)
            batch, tags, waiters = self._pending, self._tags, self._waiters
            self._pending, self._tags, self._waiters = [], [], []
            if batch:
                try:
                    seg, start, end = await loop.run_in_executor(self._io, self._write, b"".join(batch))
                except BaseException as e:  # disk full, I/O error: fail the batch, stop accepting
                    self.failed = e
                    log.critical("预写日志写入失败，停止确认：%s", e)
                    for w in waiters + self._waiters:
                        if not w.done():
                            w.set_exception(WalError(str(e)))
                    self._waiters = []
                    return
                self.durable = (seg, end)
                if self.on_written is not None:
                    self.on_written(seg, start, batch, tags)
                self.batches += 1
                self.records += len(batch)
                for w in waiters:
                    if not w.done():
                        w.set_result(None)
                if self.on_durable is not None:
                    self.on_durable()
            elif waiters:
                for w in waiters:
                    if not w.done():
                        w.set_result(None)
            if self._closing and not self._pending:
                return

    def _write(self, data: bytes) -> tuple[int, int, int]:
        if self._size and self._size + len(data) > self.segment_bytes:
            os.close(self._fd)
            self._seg += 1
            self._fd = self._open(self._seg)
            self._size = 0
        view = memoryview(data)
        while view:
            n = os.write(self._fd, view)
            view = view[n:]
        if self.fsync:
            os.fdatasync(self._fd)
        start = self._size
        self._size += len(data)
        return self._seg, start, self._size

    async def close(self, task: asyncio.Task[None] | None) -> None:
        self._closing = True
        self._wake.set()
        if task is not None:
            await task
        os.close(self._fd)
        self._io.shutdown(wait=True)
