"""HJ 212 (污染物在线监控（监测）系统数据传输标准, HJ 212-2017; HJ/T 212-2005 packets accepted) for qingshan.

* :mod:`.codec` — parse/build packets, CRC16 (附录A), stream framing, split packets, replies;
* :mod:`.factors` — pollutant codes (附录B), 2005 → 2017 mapping;
* :mod:`.server` — the asyncio TCP receiver (acknowledges after a durable write-ahead log);
* :mod:`.store` — the HJ 212 tables in the workspace DuckDB and the WAL loader;
* :mod:`.rules` — monitoring rules on arrival (exceedance, silence, flat line, flags, missing factors);
* :mod:`.simulate` — a device simulator; :mod:`.devices` — the device registry; :mod:`.cli` — ``qingshan hj212``;
* :mod:`.config` — the settings and their defaults (:class:`~.config.ServerConfig`, :class:`~.config.SimConfig`).

See docs/hj212.md.
"""

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from .codec import (
        BadCrc,
        BadField,
        BadFrame,
        BadLength,
        FrameReader,
        Hj212Error,
        Packet,
        build,
        crc16,
        frame,
        parse,
        reassemble,
        reply_9011,
        reply_9013,
        reply_9014,
    )

__all__ = ["BadCrc", "BadField", "BadFrame", "BadLength", "FrameReader", "Hj212Error", "Packet", "build", "crc16",
           "frame", "parse", "reassemble", "reply_9011", "reply_9013", "reply_9014"]


def __getattr__(name: str) -> Any:
    """The codec's names, imported on first use (``qingshan hj212 --help`` need not load the codec)."""
    if name in __all__:
        from . import codec

        return getattr(codec, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
