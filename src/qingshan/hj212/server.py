"""The HJ 212 receiver: an asyncio TCP server that data loggers report to (HJ 212-2017 表9; docs/rules/hj212.md#commands-and-replies).

Per connection the server cuts the byte stream into packets (:class:`~.codec.FrameReader`), verifies length and
CRC (附录A), checks the device registry (MN known, PW right, ST as registered) and then hands the packet to the
single write-ahead-log writer.  **Only when the batch holding the packet is fsync'd** does it answer: ``9014`` (数据
应答) when the packet's Flag.A is set, ``9013`` (通知应答) for notifications (2012, 2022, 1013, heartbeats) with
Flag.A set.  Refusals are answered at once with ``9011`` and ``QnRtn`` (3 PW, 4 MN, 5 ST, 6 Flag, 7 QN, 8 CN,
9 CRC, 100 other) when the packet carries a QN to answer to, and are kept in ``hj212_rejects``.

A loader thread moves the log into the workspace DuckDB (:mod:`.store`) every ``load_interval`` seconds and runs the
monitoring rules (:mod:`.rules`).  After a crash the log holds acknowledged packets that are not in the store yet
(the backlog, from the last committed position on).  Start-up does not wait for it: the server listens at once
(connections that arrive while the workspace opens wait for it), new packets go to a new segment and are
acknowledged once durable as always, and the loader first replays the backlog, then loads the new segments behind
it — one ordered log, one committed position, so every acknowledged packet ends up in the store exactly once.

Limits: bytes buffered per connection ≤ one maximum packet + one read (64 KiB); per-IP and total connection limits;
idle timeout; a started packet must complete within ``frame_timeout``; a client that does not read its replies is
dropped after ``write_timeout``; a connection sending more than ``max_errors`` bad frames is closed.

Run: ``qingshan hj212 serve --workspace DIR --host 0.0.0.0 --devices devices.csv`` (or ``python -m qingshan.hj212
serve …``); the settings and their defaults are :class:`~.config.ServerConfig`.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import signal
import time
from collections import defaultdict
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any, Callable

from ..errors import QingshanError
from .codec import FrameReader, Hj212Error, Packet, parse, reply_9011, reply_9013, reply_9014
from .config import ServerConfig, beijing_now
from .devices import Device, DeviceFileError, read_device_file
from .rules import RuleEngine
from .wal import (
    KIND_PACKET,
    KIND_REJECT,
    WAL_DIR,
    WalError,
    WalWriter,
    encode_record,
    list_segments,
    read_segment,
    segment_path,
    tail_marker,
)

if TYPE_CHECKING:  # the store pulls in DuckDB and pyarrow: imported when the workspace is opened, after listening
    import duckdb

    from .store import Hj212Store, LoadResult

log = logging.getLogger("qingshan.hj212.server")

#: Notifications (表9 通知命令) answered with 9013; heartbeats (2005 8013, 2025 9015) are treated alike.
NOTIFY_CNS = frozenset({"2012", "2022", "1013", "8013", "9015"})


class WorkspaceError(QingshanError, RuntimeError):
    """The workspace database cannot be opened (the message is user-facing)."""


class _Conn:
    __slots__ = ("draining_since", "errors", "ip", "last_rx", "partial_since", "writer")

    def __init__(self, writer: asyncio.StreamWriter, ip: str, now: float) -> None:
        self.writer = writer
        self.ip = ip
        self.last_rx = now
        self.partial_since: float | None = None
        self.draining_since: float | None = None
        self.errors = 0


@dataclass
class Stats:
    connections: int = 0
    accepted: int = 0
    acknowledged: int = 0
    rejected: int = 0
    loaded: int = 0
    duplicates: int = 0
    alerts: int = 0
    recovered: int = 0  # packets of the backlog (written by an earlier run) newly stored by this run's replay
    replay_seconds: float | None = None  # how long the replay took (None while it runs or when not started)


class Hj212Server:
    """The receiver (module docstring).

    In the platform process (``qingshan serve --hj212-port``) the store is already open: ``connection`` is that
    DuckDB connection (the receiver writes through a cursor of it and never closes it) and ``executor`` the
    platform's single store-writer thread, which the receiver's database work then shares with the imports.
    Without them the receiver opens the workspace itself and owns a database thread of its own. ``after_load`` is
    called in the database thread with its connection after each committed load (the quality feed)."""

    def __init__(self, config: ServerConfig, *, connection: Any = None,
                 executor: ThreadPoolExecutor | None = None,
                 after_load: Callable[[duckdb.DuckDBPyConnection, LoadResult], None] | None = None) -> None:
        self.config = config
        self.after_load = after_load
        self._connection = connection  # the platform's store connection (None: open the workspace here)
        self._own_executor = executor is None
        self.stats = Stats()
        self.registry: dict[str, Device] = {}
        self.port: int | None = None
        self._conns: set[_Conn] = set()
        self._per_ip: dict[str, int] = defaultdict(int)
        self._db = executor or ThreadPoolExecutor(1, thread_name_prefix="hj212-db")
        self._ws: Any = None
        self._store: Hj212Store | None = None
        self._rules: RuleEngine | None = None
        self._pos: tuple[int, int] = (0, 0)  # loaded (and committed) up to here
        # The first position this run writes; everything before it is the backlog of earlier runs.
        self._replay_end: tuple[int, int] = (0, 0)
        self._replay_t0 = 0.0
        self._replay_done = True  # set once the backlog is in and the stats say so (read from the event loop)
        self._backlog_bytes = 0
        self._ready = asyncio.Event()  # the workspace is open and the WAL writer runs: connections may proceed
        self._last_seen: dict[str, datetime] = {}
        self._started = beijing_now()
        self._devices_mtime: float | None = None
        self._server: asyncio.base_events.Server | None = None
        self._tasks: list[asyncio.Task[Any]] = []
        self._wal_task: asyncio.Task[None] | None = None
        self.wal: WalWriter | None = None
        self._stop = asyncio.Event()
        # Packets already parsed by the connection handlers, by WAL position, so the loader need not parse them
        # again.  Bounded; a missing entry only costs a parse (the WAL stays the source of truth).
        self._parsed: dict[tuple[int, int], Packet] = {}
        self._parsed_max = 50_000  # ≈ 10 s of packets at 5,000/s; ~30 MB at most

    def _on_written(self, seg: int, start: int, records: list[bytes], tags: list[object]) -> None:
        cache = self._parsed
        if len(cache) >= self._parsed_max:
            return
        off = start
        for rec, tag in zip(records, tags):
            if tag is not None:
                cache[(seg, off)] = tag  # type: ignore[assignment]
            off += len(rec)

    # -- database thread ---------------------------------------------------------------------------------------

    async def _run_db(self, fn, *args):
        return await asyncio.get_running_loop().run_in_executor(self._db, fn, *args)

    @property
    def wal_dir(self) -> Path:
        assert self.config.workspace is not None, "the workspace is resolved when it is opened"
        return Path(self.config.workspace) / WAL_DIR

    def _device(self, mn: str) -> Device | None:
        return self.registry.get(mn)

    def _open_db(self) -> int:
        """Open the workspace, import the registry file, find the WAL backlog; returns the segment to write next."""
        import duckdb

        from ..store.workspace import Workspace, default_workspace
        from .store import Hj212Store

        if self.config.workspace is None:
            self.config.workspace = default_workspace()
        if self._connection is not None:  # the platform's open store: a cursor of our own, on its writer thread
            self._ws = self._connection.cursor()
            self._store = Hj212Store(self._ws)
        else:
            try:
                self._ws = Workspace(self.config.workspace)
            except duckdb.Error as e:  # e.g. another process holds the database
                raise WorkspaceError(f"无法打开工作区数据库（{self.config.workspace}）：{e}") from None
            if self.config.db_memory_limit:
                self._ws.con.execute(f"SET memory_limit = '{self.config.db_memory_limit}'")
            self._store = Hj212Store(self._ws.con)
        if self.config.devices_file is not None:
            self._import_devices()
        self.registry = self._store.devices(registered_only=False)
        self._rules = RuleEngine(self._device, self.config.rules)
        self._last_seen = self._store.last_seen()
        return self._find_backlog()

    def _import_devices(self) -> None:
        path = self.config.devices_file
        assert path is not None and self._store is not None
        self._devices_mtime = path.stat().st_mtime if path.exists() else None
        devices = read_device_file(path)
        counts = self._store.upsert_devices(devices, str(path))
        log.info("设备登记表 %s：新增 %d 台，更新 %d 台", path.name, counts["new"], counts["updated"])

    def _find_backlog(self) -> int:
        """Position the loader at the committed WAL position; this run writes from the next free segment on.

        Only the last segment of the log can end in a record torn by the crash (segments are finished and synced
        before the next one is opened).  It is marked (``<seg>.tail``) before this run opens a new segment, so
        that the replay — in the background, possibly interrupted by another crash — truncates a torn tail there
        instead of taking it for corruption.
        """
        assert self._store is not None
        self.wal_dir.mkdir(parents=True, exist_ok=True)
        self._pos = self._store.wal_position()
        self._delete_loaded_segments()
        segs = [s for s in list_segments(self.wal_dir) if s >= self._pos[0]]
        if segs:
            tail_marker(self.wal_dir, segs[-1]).touch()  # made durable by the writer's directory fsync
        new_seg = max([self._pos[0], *segs]) + 1
        self._replay_end = (new_seg, 0)
        self._replay_done = self._pos >= self._replay_end
        backlog = sum(segment_path(self.wal_dir, s).stat().st_size for s in segs) - (
            self._pos[1] if segs and segs[0] == self._pos[0] else 0)
        self._backlog_bytes = max(0, backlog)
        if backlog > 0:
            log.info("预写日志中有 %.1f MB 尚未入库（%d 段），在后台回放", backlog / 1e6, len(segs))
        return new_seg

    @property
    def replaying(self) -> bool:
        """True while the backlog of earlier runs is not all in the store (or its figures not yet in ``stats``)."""
        return not self._replay_done

    def _replay_step(self) -> None:
        """Load the next part of the backlog (database thread); logs once the whole backlog is in."""
        if not self.replaying:
            return
        if not self._replay_t0:
            self._replay_t0 = time.monotonic()
        res = self._load_step(self._replay_end)
        if res is not None:
            self.stats.recovered += res.packets_new
        if self._pos >= self._replay_end:  # ``replaying`` turns False only after the figures are set (no torn read)
            self.stats.replay_seconds = time.monotonic() - self._replay_t0
            if self._backlog_bytes or self.stats.recovered:
                log.info("预写日志回放完成（%.1f 秒）：已从预写日志恢复 %d 个数据包入库", self.stats.replay_seconds,
                         self.stats.recovered)
            self._replay_done = True
        elif res is None:  # cannot happen (every step advances, sets a bad tail aside, or raises); never spin
            raise WalError(f"预写日志回放停在 {self._pos}")

    def _replay_all(self) -> None:
        while self.replaying:
            self._replay_step()

    def _after_load(self, res: LoadResult) -> None:
        self._last_seen.update(res.last_seen)
        self.stats.loaded += res.packets_new
        self.stats.duplicates += res.packets_duplicate
        self.stats.alerts += res.alerts
        for a in res.alert_list:
            log.warning("报警[%s] %s", a.kind, a.message)
        if self.after_load is not None and self._store is not None:
            try:
                self.after_load(self._store.con, res)
            except Exception:  # the load is committed; what the hook did not finish it finds again next time
                log.exception("入库后处理失败（数据已入库，下次入库时重试）")

    def _delete_loaded_segments(self) -> None:
        for f in self.wal_dir.iterdir():
            if f.suffix in (".wal", ".tail") and f.stem.isdigit() and int(f.stem) < self._pos[0]:
                with contextlib.suppress(FileNotFoundError):
                    f.unlink()

    def _next_segment(self, seg: int, last: int) -> int:
        """The first existing segment after ``seg`` (``last`` when none lies between)."""
        return next((s for s in list_segments(self.wal_dir) if seg < s < last), last)

    def _set_aside(self, seg: int, off: int) -> None:
        """Segment ``seg`` is unreadable from ``off`` on (the records before it are committed): truncate a crash's
        torn tail, keep anything else for inspection."""
        path = segment_path(self.wal_dir, seg)
        marker = tail_marker(self.wal_dir, seg)
        size = path.stat().st_size
        if marker.exists():
            log.warning("预写日志 %010d 尾部有 %d 字节未完整写入（崩溃时未确认），已截断", seg, size - off)
            os.truncate(path, off)
        else:
            log.error("预写日志 %010d 在偏移 %d 处损坏，其后 %d 字节无法读取，已改名保留", seg, off, size - off)
            path.rename(path.with_suffix(".corrupt"))

    def _load_step(self, target: tuple[int, int]) -> LoadResult | None:
        """Load the WAL from the loaded position up to ``target`` (at most ``load_max_records``), committing the
        new position with the data.  ``None`` when there was nothing to load."""
        assert self._store is not None
        seg, off = self._pos
        limit = self.config.load_max_records
        records = []
        torn = False
        while len(records) < limit and (seg, off) < target:
            if seg < target[0] and not segment_path(self.wal_dir, seg).exists():
                seg, off = self._next_segment(seg, target[0]), 0  # e.g. the committed segment was never written
                continue
            stop = target[1] if seg == target[0] else None
            recs, nxt, torn, at_end = read_segment(self.wal_dir, seg, off, stop, max_records=limit - len(records))
            records.extend(recs)
            off = nxt
            if seg < target[0] and at_end and not torn:
                seg, off = self._next_segment(seg, target[0]), 0
                continue
            torn = torn and seg < target[0]  # within this run's durable region a record is never torn
            break
        if not records and (seg, off) == self._pos and not torn:
            return None
        res = self._store.load(records, (seg, off), self._device, self._rules, self._parsed)
        moved = seg != self._pos[0]
        self._pos = (seg, off)
        if torn:
            self._set_aside(seg, off)
        if moved:
            self._delete_loaded_segments()
        self._after_load(res)
        return res

    def _check_silence(self) -> int:
        assert self._store is not None and self._rules is not None
        alerts = self._rules.check_silence(beijing_now(), self.registry, self._last_seen, self._started)
        if not alerts:
            return 0
        self._store.con.execute("BEGIN TRANSACTION")
        try:
            n = self._store.insert_alerts(alerts, self._device)
            self._store.con.execute("COMMIT")
        except BaseException:
            self._store.con.execute("ROLLBACK")
            raise
        for a in alerts:
            log.warning("报警[%s] %s", a.kind, a.message)
        self.stats.alerts += n
        return n

    def _reload_devices_if_changed(self) -> bool:
        path = self.config.devices_file
        if path is None or not path.exists():
            return False
        m = path.stat().st_mtime
        if m == self._devices_mtime:
            return False
        try:
            self._import_devices()
        except DeviceFileError as e:
            self._devices_mtime = m
            log.error("设备登记表未更新：%s", e)
            return False
        assert self._store is not None
        self.registry = self._store.devices(registered_only=False)
        return True

    def _close_db(self) -> None:
        if self._ws is not None:
            self._ws.close()
            self._ws = None

    # -- lifecycle -------------------------------------------------------------------------------------------------

    async def start(self, listen: bool = True) -> None:
        """Listen at once, then open the workspace; the WAL backlog is replayed by the loader in the background.

        With ``listen=False`` (``--recover-only``) the backlog is replayed here, before returning.
        """
        cfg = self.config
        if not listen:
            await self._run_db(self._open_db)
            await self._run_db(self._replay_all)
            return
        self._server = await asyncio.start_server(self._handle, cfg.host, cfg.port, limit=1 << 16, backlog=4096)
        self.port = self._server.sockets[0].getsockname()[1]
        if cfg.port_file is not None:  # listening: devices can connect (they are answered once the store is open)
            tmp = Path(str(cfg.port_file) + ".tmp")
            tmp.write_text(str(self.port))
            tmp.replace(cfg.port_file)
        log.info("正在监听 %s:%d，打开工作区……", cfg.host, self.port)
        try:
            new_seg = await self._run_db(self._open_db)
        except BaseException:
            self._server.close()
            for c in list(self._conns):
                c.writer.transport.abort()
            raise
        self.wal = WalWriter(self.wal_dir, new_seg, fsync=cfg.fsync, linger=cfg.linger,
                             on_written=self._on_written)
        self._wal_task = asyncio.create_task(self.wal.run(), name="hj212-wal")
        self._tasks = [asyncio.create_task(self._loader(), name="hj212-loader"),
                       asyncio.create_task(self._sweeper(), name="hj212-sweeper"),
                       asyncio.create_task(self._periodic(), name="hj212-periodic")]
        self._ready.set()
        log.info("HJ 212 接收服务已启动：%s:%d（工作区 %s，已登记设备 %d 台%s）", cfg.host, self.port, cfg.workspace,
                 sum(1 for d in self.registry.values() if d.registered),
                 "，接收未登记设备" if cfg.accept_unknown else "")
        if not any(d.registered for d in self.registry.values()) and not cfg.accept_unknown:
            log.warning("设备登记表为空：所有数据包都将以 QnRtn=4 拒收（用 --devices 导入登记表，或 --accept-unknown）")

    def request_stop(self) -> None:
        self._stop.set()

    async def wait_stopped(self) -> None:
        await self._stop.wait()

    async def stop(self) -> None:
        """Stop accepting, drop connections, flush the WAL, load everything into the store, close it."""
        if self._server is not None:
            self._server.close()
        for c in list(self._conns):
            c.writer.transport.abort()
        for t in self._tasks:
            t.cancel()
        for t in self._tasks:
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await t
        if self.wal is not None:
            await self.wal.close(self._wal_task)
            await self._run_db(self._replay_all)
            while await self._run_db(self._load_step, self.wal.durable) is not None:
                pass
        await self._run_db(self._close_db)
        if self._own_executor:
            self._db.shutdown(wait=True)
        if self._store is None:  # start-up failed before the workspace was open: nothing ran
            return
        log.info("HJ 212 接收服务已停止：接收 %d，确认 %d，拒收 %d，入库 %d，重复 %d，报警 %d", self.stats.accepted,
                 self.stats.acknowledged, self.stats.rejected, self.stats.loaded, self.stats.duplicates,
                 self.stats.alerts)

    # -- background tasks --------------------------------------------------------------------------------------

    async def _loader(self) -> None:
        cfg = self.config
        while self.replaying:  # the backlog first, back to back (new packets wait in the WAL behind it)
            try:
                await self._run_db(self._replay_step)
            except Exception:
                log.exception("预写日志回放失败，稍后重试（数据仍在预写日志中）")
                await asyncio.sleep(cfg.load_interval)
        while True:
            await asyncio.sleep(cfg.load_interval)
            assert self.wal is not None
            try:
                while True:
                    res = await self._run_db(self._load_step, self.wal.durable)
                    if res is None or res.records < cfg.load_max_records:
                        break
            except Exception:
                log.exception("入库失败，稍后重试（数据仍在预写日志中）")

    async def _sweeper(self) -> None:
        cfg = self.config
        loop = asyncio.get_running_loop()
        tick = max(0.05, min(1.0, cfg.idle_timeout / 4, cfg.frame_timeout / 4, cfg.write_timeout / 4))
        while True:
            await asyncio.sleep(tick)
            now = loop.time()
            for c in list(self._conns):
                if c.draining_since is not None and now - c.draining_since > cfg.write_timeout:
                    log.info("客户端 %s 长时间不读取应答，断开", c.ip)
                    c.writer.transport.abort()
                elif c.partial_since is not None and now - c.partial_since > cfg.frame_timeout:
                    log.info("客户端 %s 报文发送过慢（%.0f 秒未发完），断开", c.ip, cfg.frame_timeout)
                    c.writer.transport.abort()
                elif now - c.last_rx > cfg.idle_timeout:
                    log.info("客户端 %s 空闲超过 %.0f 秒，断开", c.ip, cfg.idle_timeout)
                    c.writer.transport.abort()

    async def _periodic(self) -> None:
        cfg = self.config
        loop = asyncio.get_running_loop()
        next_silence = loop.time() + cfg.silence_check_interval
        next_registry = loop.time() + cfg.registry_poll
        next_stats = loop.time() + cfg.stats_interval if cfg.stats_interval else None
        while True:
            await asyncio.sleep(min(0.5, cfg.silence_check_interval, cfg.registry_poll))
            now = loop.time()
            try:
                if now >= next_registry:
                    next_registry = now + cfg.registry_poll
                    if await self._run_db(self._reload_devices_if_changed):
                        log.info("设备登记表已重新加载")
                if now >= next_silence and not self.replaying:  # last_seen is stale until the backlog is in
                    next_silence = now + cfg.silence_check_interval
                    await self._run_db(self._check_silence)
                if next_stats is not None and now >= next_stats:
                    next_stats = now + cfg.stats_interval
                    s = self.stats
                    log.info("连接 %d，接收 %d，确认 %d，拒收 %d，入库 %d，报警 %d%s", len(self._conns), s.accepted,
                             s.acknowledged, s.rejected, s.loaded, s.alerts,
                             f"（预写日志回放中，已恢复 {s.recovered}）" if self.replaying else "")
            except Exception:
                log.exception("定时任务出错")

    # -- connections -------------------------------------------------------------------------------------------

    def _check(self, p: Packet) -> tuple[int, str] | None:
        dev = self.registry.get(p.mn)
        if dev is None or not dev.registered:
            if self.config.accept_unknown and p.mn:
                return None
            return 4, f"未登记的设备 MN={p.mn!r}"
        if dev.password is not None and p.pw != dev.password:
            return 3, f"密码错误 MN={p.mn}"
        if dev.st is not None and p.st != dev.st and p.st != "91":
            return 5, f"系统编码 ST={p.st} 与登记的 {dev.st} 不符 MN={p.mn}"
        return None

    async def _handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        cfg = self.config
        loop = asyncio.get_running_loop()
        peer = writer.get_extra_info("peername")
        ip = str(peer[0]) if peer else "?"
        peer_s = f"{peer[0]}:{peer[1]}" if peer else "?"
        if len(self._conns) >= cfg.max_connections or self._per_ip[ip] >= cfg.max_conn_per_ip:
            log.warning("拒绝来自 %s 的连接：连接数已达上限", ip)
            self.stats.rejected += 1
            writer.transport.abort()
            return
        conn = _Conn(writer, ip, loop.time())
        self._conns.add(conn)
        self._per_ip[ip] += 1
        self.stats.connections += 1
        frames = FrameReader(cfg.max_segment)
        try:
            if not self._ready.is_set():  # connected while the workspace opens: its bytes wait in the socket
                await self._ready.wait()
            wal = self.wal
            assert wal is not None
            while True:
                data = await reader.read(1 << 16)
                if not data:
                    break
                now = loop.time()
                conn.last_rx = now
                events = frames.feed(data)
                if frames.buffered:
                    if conn.partial_since is None:
                        conn.partial_since = now
                else:
                    conn.partial_since = None
                if not events:
                    continue
                records, tags, replies, acks = self._take(conn, events, peer_s)
                if records:
                    try:
                        await wal.submit(records, tags)
                    except WalError:
                        log.error("预写日志不可用，断开 %s，不确认", peer_s)
                        break
                if replies:
                    writer.write(b"".join(replies) if len(replies) > 1 else replies[0])
                    self.stats.acknowledged += acks
                    if writer.transport.get_write_buffer_size() > (1 << 16):
                        conn.draining_since = loop.time()
                        await writer.drain()
                        conn.draining_since = None
                if conn.errors > cfg.max_errors:
                    log.warning("客户端 %s 错误报文过多（%d），断开", peer_s, conn.errors)
                    break
        except (ConnectionError, OSError):
            pass
        finally:
            self._conns.discard(conn)
            self._per_ip[ip] -= 1
            if self._per_ip[ip] <= 0:
                del self._per_ip[ip]
            with contextlib.suppress(Exception):
                writer.close()

    def _take(self, conn: _Conn, events: list[bytes | Hj212Error], peer_s: str
              ) -> tuple[list[bytes], list[Packet | None], list[bytes], int]:
        """The frames of one read: WAL records of accepted packets and refusals (with their parsed packet, or
        None, as tags), the replies to send once the records are durable, and how many of those are
        acknowledgements."""
        received_ms = int(time.time() * 1000)
        records: list[bytes] = []
        tags: list[Packet | None] = []
        replies: list[bytes] = []
        acks = 0
        for ev in events:
            if isinstance(ev, Hj212Error):
                self._refuse(conn, ev.head, ev.qnrtn, ev.message, ev.raw or b"", peer_s, received_ms, records, replies)
                tags.append(None)
                continue
            try:
                p = parse(ev)
            except Hj212Error as e:
                self._refuse(conn, e.head, e.qnrtn, e.message, ev, peer_s, received_ms, records, replies)
                tags.append(None)
                continue
            bad = self._check(p)
            if bad is not None:
                self._refuse(conn, p, bad[0], bad[1], ev, peer_s, received_ms, records, replies)
                tags.append(None)
                continue
            raw = ev[:-2] if ev[-2:] == b"\r\n" else ev
            records.append(encode_record(KIND_PACKET, received_ms, peer_s, raw))
            tags.append(p)
            self.stats.accepted += 1
            if p.needs_reply and not p.cn.startswith("90"):
                replies.append(reply_9013(p) if p.cn in NOTIFY_CNS else reply_9014(p))
                acks += 1
        return records, tags, replies, acks

    def _refuse(self, conn: _Conn, head: Packet | dict, qnrtn: int, reason: str, raw: bytes,
                peer: str, received_ms: int, records: list[bytes], replies: list[bytes]) -> None:
        conn.errors += 1
        self.stats.rejected += 1
        if raw[-2:] == b"\r\n":
            raw = raw[:-2]
        records.append(encode_record(KIND_REJECT, received_ms, peer, raw[:4096], f"QnRtn={qnrtn} {reason}"))
        qn = head.qn if isinstance(head, Packet) else head.get("QN")
        if qn:
            replies.append(reply_9011(head, qnrtn))
        if conn.errors <= 5 or conn.errors % 100 == 0:
            log.info("拒收 %s 的报文（QnRtn=%d）：%s", peer, qnrtn, reason)


async def run_server(config: ServerConfig, *, recover_only: bool = False,
                     after_load: Callable[[duckdb.DuckDBPyConnection, LoadResult], None] | None = None) -> int:
    server = Hj212Server(config, after_load=after_load)
    try:
        await server.start(listen=not recover_only)
    except (DeviceFileError, OSError, WorkspaceError) as e:
        log.error("无法启动接收服务：%s", e)
        with contextlib.suppress(Exception):
            await server.stop()
        return 2
    if recover_only:
        await server.stop()
        return 0
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        with contextlib.suppress(NotImplementedError, RuntimeError):
            loop.add_signal_handler(sig, server.request_stop)
    stopper = asyncio.create_task(server.wait_stopped())
    assert server._wal_task is not None
    await asyncio.wait({stopper, server._wal_task}, return_when=asyncio.FIRST_COMPLETED)
    failed = server.wal is not None and server.wal.failed is not None
    await server.stop()
    return 3 if failed else 0
