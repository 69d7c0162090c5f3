"""The settings of the HJ 212 receiver, the simulator and the rules: the single source of their defaults.

``qingshan hj212 serve`` / ``simulate`` take every option's default from these dataclasses (no literal is written
twice), so the command line, the library and the tests cannot disagree.  Standard library only: the command line
imports this module at start-up.  Also the Beijing clock and the log formatter used by the receiver's logs.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from pathlib import Path

#: The length field has four decimal digits (表2), so a data segment holds at most 9,999 bytes.  The standard
#: says 0–1024 characters; real devices exceed it, the server's own limit is configurable.
MAX_SEGMENT = 9999
DEFAULT_PORT = 9212
#: The data types the simulator can generate (实时、分钟、小时、日数据).
GEN_CNS = ("2011", "2051", "2061", "2031")

#: Beijing time (UTC+8, no daylight saving): the store keeps naive Beijing times (docs/hj212.md), logs say +08:00.
BEIJING = timezone(timedelta(hours=8))


def beijing_now() -> datetime:
    """Now as a naive Beijing-time datetime (the store's convention)."""
    return datetime.now(BEIJING).replace(tzinfo=None)


class BeijingFormatter(logging.Formatter):
    """Log lines stamped in Beijing time with the offset written out (``2026-12-05 21:03:04+08:00``), whatever
    the machine's time zone, so they agree with the times ``devices list`` and the tables show."""

    def __init__(self, fmt: str = "%(asctime)s %(levelname)s %(message)s") -> None:
        super().__init__(fmt)

    def formatTime(self, record: logging.LogRecord, datefmt: str | None = None) -> str:
        return datetime.fromtimestamp(record.created, BEIJING).isoformat(sep=" ", timespec="seconds")


@dataclass(frozen=True)
class RuleConfig:
    """Thresholds of the monitoring rules (:mod:`.rules`)."""

    flat_run: Mapping[str, int] = field(default_factory=lambda: {"2011": 60, "2051": 12, "2061": 6, "2031": 3})
    flag_window: int = 12
    flag_threshold: int = 4
    silence_factor: float = 2.0
    silence_min_s: float = 60.0
    exceed_skip_flags: frozenset[str] = frozenset("FMCDB")


@dataclass
class ServerConfig:
    """The receiver's settings (:class:`~.server.Hj212Server`); ``qingshan hj212 serve`` exposes them."""

    workspace: Path | None = None  # None: the default workspace (resolved when it is opened, after listening)
    host: str = "127.0.0.1"
    port: int = DEFAULT_PORT
    devices_file: Path | None = None
    accept_unknown: bool = False
    max_segment: int = MAX_SEGMENT
    idle_timeout: float = 600.0
    frame_timeout: float = 30.0
    write_timeout: float = 30.0
    max_conn_per_ip: int = 256
    max_connections: int = 10000
    max_errors: int = 50
    fsync: bool = True
    linger: float = 0.002
    load_interval: float = 0.5
    load_max_records: int = 20000
    silence_check_interval: float = 60.0
    registry_poll: float = 5.0
    stats_interval: float = 60.0  # seconds between statistics lines in the log (0 = none); docs/hj212.md
    port_file: Path | None = None
    db_memory_limit: str | None = "512MB"  # DuckDB buffer pool of the server process (None: DuckDB's default)
    rules: RuleConfig = field(default_factory=RuleConfig)


@dataclass
class SimConfig:
    """The device simulator's settings (:mod:`.simulate`); ``qingshan hj212 simulate`` exposes them."""

    host: str = "127.0.0.1"
    port: int = DEFAULT_PORT
    devices: int = 10
    duration: float | None = 10.0
    count: int | None = None  # packets per device (None: until duration)
    rate: float = 0.0  # packets/s over all devices; 0 = next packet as soon as the previous one is answered
    cn: str = "2061"
    st: str = "31"
    flag: int = 5  # 2017, answer requested
    password: str = "123456"
    mn_base: str = "A2120000000000000"  # + 7 hex digits = 24-character MN (EPC-96 style)
    first_device: int = 0
    replay: Path | None = None
    rewrite: bool = True
    ack_timeout: float = 10.0
    connect_timeout: float = 5.0
    reconnect_delay: float = 0.2
    keep_acked: bool = False
    seed: int = 212
    start: datetime | None = None  # virtual clock for QN/DataTime (default: now, Beijing)
