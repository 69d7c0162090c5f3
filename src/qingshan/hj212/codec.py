"""HJ 212 packet codec: frame, CRC, parse and build (HJ 212-2017 表2/表3/表4, 附录A; HJ/T 212-2005 packets;
notes in docs/rules/hj212.md).

A packet is ``##`` + 4-digit decimal length + data segment + 4 hex-digit CRC16 + ``\\r\\n`` (表2).  The length counts the
data segment in **UTF-8 bytes** (docs/rules/hj212.md#packet-frame); the CRC covers the data segment only (附录A).  The data segment
is ``QN=…;ST=…;CN=…;PW=…;MN=…;Flag=…;[PNUM=…;PNO=…;]CP=&&…&&`` (表3); 2005-style packets omit QN and Flag.  Inside
``CP``, ``;`` separates items, ``,`` separates values of one item and ``=`` joins a name and its value (docs/rules/hj212.md#data-segment).

Every failure raises a subclass of :class:`Hj212Error` — :class:`BadFrame`, :class:`BadLength`, :class:`BadCrc` or
:class:`BadField` — and :func:`parse` raises nothing else, whatever the input (tested by fuzzing).

Parsing validates the whole segment, CP included, but keeps CP as text (:attr:`Packet.cp_text`); :attr:`Packet.cp`
splits it into groups on first use, and the server's loader splits it inside DuckDB instead.  A segment in 表3 order
is matched by one regular expression; anything else goes through the general field-by-field parser, which also
writes the precise error messages (both are tested to agree on arbitrary text).

CRC (附录A).  The standard's algorithm is ``reg = (reg >> 8) ^ b`` followed by eight reflected shifts with 0xA001.
Written as ``x_k = H(x_{k-1}) ^ b_k`` with ``H(x) = T[x] >> 8`` (``T`` the usual 0xA001 byte table), the state is one
byte and ``H`` is linear over GF(2) with ``H⁸ = I``.  So the CRC of a segment is ``T[x_L]`` with
``x_L = ⊕_d H^(d mod 8)(b_{L-d}) ⊕ H^((L-1) mod 8)(0xFF)``: XOR-fold the segment into eight bytes (big-integer shifts,
no Python loop per byte) and do eight table look-ups.  :func:`crc16_reference` is the standard's bit loop, kept as
the oracle for tests and the benchmark.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field, replace
from datetime import datetime

from ..errors import QingshanError
from .config import MAX_SEGMENT  # 表2: four length digits; defined with the other limits

__all__ = [
    "MAX_SEGMENT",
    "BadCrc",
    "BadField",
    "BadFrame",
    "BadLength",
    "FrameReader",
    "Hj212Error",
    "Packet",
    "build",
    "build_segment",
    "crc16",
    "crc16_bytewise",
    "crc16_reference",
    "factor_items",
    "frame",
    "parse",
    "parse_datatime",
    "parse_segment",
    "reassemble",
    "reply_9011",
    "reply_9013",
    "reply_9014",
    "salvage_head",
]

MAX_PACKET = 2 + 4 + MAX_SEGMENT + 4 + 2

STANDARD_ORDER = ("QN", "ST", "CN", "PW", "MN", "Flag", "PNUM", "PNO")
_HEADER_FIELDS = frozenset(STANDARD_ORDER)
_HEX = b"0123456789abcdefABCDEF"
# QnRtn (表9 / §9.5): the answer a receiver gives when a field of a request is wrong.
_QNRTN_OF_FIELD = {"QN": 7, "ST": 5, "CN": 8, "PW": 3, "MN": 4, "Flag": 6, "PNUM": 6, "PNO": 6}


# --- errors ---------------------------------------------------------------------------------------------------


class Hj212Error(QingshanError):
    """Any HJ 212 decoding or encoding error.

    ``head`` holds the header fields (QN, ST, CN, PW, MN, Flag) that could still be read from a broken packet, so a
    receiver can address its QnRtn answer; ``qnrtn`` is the QnRtn code that fits the error (§9.5: 3 PW, 4 MN,
    5 ST, 6 Flag, 7 QN, 8 CN, 9 CRC, 100 unknown).
    """

    qnrtn: int = 100

    def __init__(self, message: str, *, head: Mapping[str, str] | None = None, raw: bytes | None = None,
                 qnrtn: int | None = None, field: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.head: dict[str, str] = dict(head) if head else {}
        self.raw = raw
        self.field = field
        if qnrtn is not None:
            self.qnrtn = qnrtn


class BadFrame(Hj212Error):
    """The bytes are not a ``##…\\r\\n`` packet (header, trailer, CP delimiters, encoding of the input)."""


class BadLength(Hj212Error):
    """The 4-digit length field is not digits, or does not match the data segment's UTF-8 byte count."""


class BadCrc(Hj212Error):
    """The CRC field is not 4 hex digits, or differs from the CRC16 of the data segment (附录A)."""

    qnrtn = 9


class BadField(Hj212Error):
    """A field of the data segment is missing, repeated, unknown or malformed (表3; docs/rules/hj212.md#data-segment)."""


# --- CRC16 (附录A) ---------------------------------------------------------------------------------------------


def _shift8(x: int) -> int:
    for _ in range(8):
        x = (x >> 1) ^ 0xA001 if x & 1 else x >> 1
    return x


_T: tuple[int, ...] = tuple(_shift8(x) for x in range(256))
_H: tuple[int, ...] = tuple(t >> 8 for t in _T)


def _h_powers() -> list[tuple[int, ...]]:
    powers = [tuple(range(256))]
    for _ in range(7):
        prev = powers[-1]
        powers.append(tuple(_H[v] for v in prev))
    assert all(_H[v] == b for b, v in enumerate(powers[7])), "H^8 must be the identity"
    return powers


_HP0, _HP1, _HP2, _HP3, _HP4, _HP5, _HP6, _HP7 = _h_powers()
_INIT = tuple(p[0xFF] for p in (_HP0, _HP1, _HP2, _HP3, _HP4, _HP5, _HP6, _HP7))


def crc16(data: bytes | bytearray | memoryview) -> int:
    """CRC16 of HJ 212 附录A over ``data`` (the data segment's bytes), as an int 0…0xFFFF.

    Equal to :func:`crc16_reference` for every input (tested); see the module docstring for why the fold works.
    """
    n = len(data)
    if n == 0:
        return 0xFFFF
    m = int.from_bytes(data, "big")
    s = 32 << (((n + 7) >> 3) - 1).bit_length()  # half the bit width, rounded up to 64 · 2^k
    while s >= 64:
        m ^= m >> s
        s >>= 1
    return _T[
        _HP0[m & 255] ^ _HP1[(m >> 8) & 255] ^ _HP2[(m >> 16) & 255] ^ _HP3[(m >> 24) & 255]
        ^ _HP4[(m >> 32) & 255] ^ _HP5[(m >> 40) & 255] ^ _HP6[(m >> 48) & 255] ^ _HP7[(m >> 56) & 255]
        ^ _INIT[(n - 1) & 7]
    ]


def crc16_reference(data: bytes) -> int:
    """The standard's algorithm written out bit by bit (附录A), the oracle for :func:`crc16`."""
    reg = 0xFFFF
    for b in data:
        reg = (reg >> 8) ^ b
        for _ in range(8):
            lsb = reg & 1
            reg >>= 1
            if lsb:
                reg ^= 0xA001
    return reg


def crc16_bytewise(data: bytes) -> int:
    """The usual table-driven form (one look-up per byte), as other implementations do it; for the benchmark."""
    reg = 0xFFFF
    t = _T
    for b in data:
        reg = t[(reg >> 8) ^ b]
    return reg


# --- packets --------------------------------------------------------------------------------------------------

Item = tuple[str, str]
Group = tuple[Item, ...]


@dataclass(frozen=True, slots=True)
class Packet:
    """One HJ 212 packet (表3).  ``cp_text`` is the data area as sent (between ``CP=&&`` and the final ``&&``);
    :attr:`cp` splits it into groups (``;``) of items (``,``) of ``(name, value)`` on first use.

    ``order`` is the header field order when a device used a non-standard one (``None`` = 表3 order), so that
    :func:`build` reproduces any parsed packet byte for byte (except the CRC's hex case).  Build packets from
    groups with :meth:`Packet.make`.
    """

    st: str
    cn: str
    pw: str
    mn: str
    qn: str | None = None
    flag: int | None = None
    pnum: int | None = None
    pno: int | None = None
    cp_text: str = ""
    order: tuple[str, ...] | None = None
    _groups: tuple[Group, ...] | None = field(default=None, init=False, repr=False, compare=False)

    @classmethod
    def make(cls, *, st: str, cn: str, pw: str, mn: str, qn: str | None = None, flag: int | None = None,
             pnum: int | None = None, pno: int | None = None, cp: Iterable[Iterable[Item]] = (),
             order: tuple[str, ...] | None = None) -> Packet:
        """A packet from CP groups of ``(name, value)`` items (names and values are checked by :func:`build`)."""
        return cls(st=st, cn=cn, pw=pw, mn=mn, qn=qn, flag=flag, pnum=pnum, pno=pno, cp_text=join_cp(cp),
                   order=order)

    @property
    def cp(self) -> tuple[Group, ...]:
        g = self._groups
        if g is None:
            g = split_cp(self.cp_text)
            object.__setattr__(self, "_groups", g)
        return g

    @property
    def version(self) -> int | None:
        """Flag bits 7–2 (表3 Flag): 0 = HJ/T 212-2005, 1 = HJ 212-2017, 2 = HJ 212-2025; ``None`` without Flag."""
        return None if self.flag is None else self.flag >> 2

    @property
    def needs_reply(self) -> bool:
        """Flag bit A (bit 0): the sender waits for an answer."""
        return self.flag is not None and bool(self.flag & 1)

    @property
    def is_split(self) -> bool:
        """Part of a packet split with PNUM/PNO (Flag bit D)."""
        return self.pnum is not None

    def header(self) -> dict[str, str]:
        out: dict[str, str] = {}
        for k in STANDARD_ORDER:
            v = self._get(k)
            if v is not None:
                out[k] = v
        return out

    def _get(self, key: str) -> str | None:
        if key == "QN":
            return self.qn
        if key == "ST":
            return self.st
        if key == "CN":
            return self.cn
        if key == "PW":
            return self.pw
        if key == "MN":
            return self.mn
        if key == "Flag":
            return None if self.flag is None else str(self.flag)
        if key == "PNUM":
            return None if self.pnum is None else str(self.pnum)
        if key == "PNO":
            return None if self.pno is None else str(self.pno)
        return None

    def items(self) -> Iterator[Item]:
        for g in self.cp:
            yield from g

    def cp_value(self, key: str) -> str | None:
        """First value of ``key`` in CP (e.g. ``DataTime``), or ``None``."""
        t = self.cp_text
        if t.startswith(key) and t[len(key) : len(key) + 1] == "=":  # the usual case: DataTime comes first
            end = len(t)
            for sep in (";", ","):
                i = t.find(sep, len(key))
                if 0 <= i < end:
                    end = i
            return t[len(key) + 1 : end]
        for g in self.cp:
            for k, v in g:
                if k == key:
                    return v
        return None

    def segment(self) -> str:
        return build_segment(self)

    def encode(self) -> bytes:
        return build(self)


# CP content (表3; docs/rules/hj212.md#data-segment): groups separated by ";", items by ",", each item name=value; a name is non-empty and has no
# "=", a value has no ";" or ",".  Empty groups (";;" or a trailing ";") occur in the wild and are kept.
_ITEM = r"[^;,=]+=[^;,]*"
_GROUP = rf"(?:{_ITEM}(?:,{_ITEM})*)?"
_CP_RE = re.compile(rf"{_GROUP}(?:;{_GROUP})*")


def split_cp(text: str) -> tuple[Group, ...]:
    """Groups of ``(name, value)`` items of a CP content; raises :class:`BadField` if it is malformed."""
    if not text:
        return ()
    groups: list[Group] = []
    for g in text.split(";"):
        if not g:
            groups.append(())
            continue
        items: list[Item] = []
        for it in g.split(","):
            k, eq, v = it.partition("=")
            if not eq or not k:
                raise BadField(f"CP 数据项格式错误：{it[:32]!r}", field="CP")
            items.append((k, v))
        groups.append(tuple(items))
    return tuple(groups)


def join_cp(groups: Iterable[Iterable[Item]]) -> str:
    return ";".join(",".join(f"{k}={v}" for k, v in g) for g in groups)


def _is_hex4(b: bytes) -> bool:
    return len(b) == 4 and not b.strip(_HEX)


def _digits(s: str, lo: int, hi: int) -> bool:
    return lo <= len(s) <= hi and s.isascii() and s.isdigit()


_SALVAGE_DIGITS = {"QN": 20, "ST": 5, "CN": 7, "Flag": 3}


def salvage_head(segment: bytes | str) -> dict[str, str]:
    """Header fields that can still be read from a broken data segment (best effort, never raises).

    Only values that are valid for their field are kept (QN/ST/CN/Flag digits, PW/MN printable, no ``;&``, at most
    64 characters), so a QnRtn answer built from them is itself a valid packet.
    """
    try:
        text = segment.decode("utf-8", "replace") if isinstance(segment, (bytes, bytearray)) else str(segment)
        cut = text.find("CP=&&")
        if cut >= 0:
            text = text[:cut]
        out: dict[str, str] = {}
        for part in text[:512].split(";"):
            k, eq, v = part.partition("=")
            if not eq or k in out:
                continue
            n = _SALVAGE_DIGITS.get(k)
            if n is not None:
                if _digits(v, 1, n) and (k != "Flag" or int(v) <= 255):
                    out[k] = v
            elif k in ("PW", "MN"):
                if len(v) <= 64 and v.isprintable() and "&" not in v and "\ufffd" not in v:
                    out[k] = v
        return out
    except Exception:  # pragma: no cover - defensive: salvage must never raise
        return {}


def parse(data: bytes | bytearray | memoryview | str, *, verify_crc: bool = True) -> Packet:
    """Parse one packet (``##`` … CRC, with or without the final ``\\r\\n``).

    Raises only :class:`Hj212Error` subclasses.  With ``verify_crc=False`` the CRC field must still be 4 hex digits
    but is not compared (used when re-reading packets already verified, e.g. from the server's write-ahead log).
    """
    try:
        return _parse(data, verify_crc)
    except Hj212Error:
        raise
    except Exception as e:  # pragma: no cover - the fuzz tests check that _parse never gets here
        raise BadFrame(f"无法解析的报文（{type(e).__name__}）") from e


def _parse(data: bytes | bytearray | memoryview | str, verify_crc: bool) -> Packet:
    if isinstance(data, str):
        try:
            data = data.encode("utf-8")
        except UnicodeEncodeError:
            raise BadFrame("报文含无法编码为 UTF-8 的字符") from None
    elif isinstance(data, (bytearray, memoryview)):
        data = bytes(data)
    elif not isinstance(data, bytes):
        raise BadFrame(f"报文类型错误：{type(data).__name__}")
    if len(data) > MAX_PACKET:
        raise BadLength(f"报文过长（{len(data)} 字节）", raw=data[:64])
    if data[-2:] == b"\r\n":
        data = data[:-2]
    if data[:2] != b"##":
        raise BadFrame("报文不以 ## 开头", raw=data[:64])
    if len(data) < 10:
        raise BadFrame("报文过短", raw=data)
    lf = data[2:6]
    if not lf.isdigit():
        raise BadLength(f"长度字段不是 4 位数字：{lf!r}", raw=data[:64], head=salvage_head(data[6:-4]))
    n = int(lf)
    actual = len(data) - 10
    if n != actual:
        hint = ""
        seg = data[6:-4]
        try:
            if n == len(seg.decode("utf-8")):
                hint = "（设备按字符而非 UTF-8 字节计长）"
        except UnicodeDecodeError:
            pass
        raise BadLength(f"长度字段为 {n}，数据段实为 {actual} 字节{hint}", raw=data[:64], head=salvage_head(seg))
    seg = data[6 : 6 + n]
    crc_field = data[6 + n :]
    if not _is_hex4(crc_field):
        raise BadCrc(f"CRC 字段不是 4 位十六进制：{crc_field!r}", head=salvage_head(seg), raw=data[:64])
    if verify_crc:
        c = crc16(seg)
        if c != int(crc_field, 16):
            raise BadCrc(f"CRC 校验失败：报文为 {crc_field.decode()}，计算为 {c:04X}", head=salvage_head(seg),
                         raw=data[:64])
    try:
        text = seg.decode("utf-8")
    except UnicodeDecodeError:
        raise BadField("数据段不是合法的 UTF-8 编码", head=salvage_head(seg)) from None
    return parse_segment(text)


_CONTROL = re.compile(r"[\x00-\x1f\x7f]")
_NC = r"\x00-\x1f\x7f"  # no control characters
_FITEM = rf"[^;,={_NC}]+=[^;,{_NC}]*"
_FGROUP = rf"(?:{_FITEM}(?:,{_FITEM})*)?"
# The whole data segment in 表3 order, in one match (the common case); anything else takes the general path.
_FAST = re.compile(
    rf"(?:QN=([0-9]{{1,20}});)?ST=([0-9]{{1,5}});CN=([0-9]{{1,7}});PW=([^;{_NC}]{{0,64}});MN=([^;{_NC}]{{0,64}});"
    rf"(?:Flag=([0-9]{{1,3}});)?(?:PNUM=([0-9]{{1,4}});PNO=([0-9]{{1,4}});)?CP=&&({_FGROUP}(?:;{_FGROUP})*)&&"
)


def parse_segment(seg: str) -> Packet:
    """Parse a data segment (the text between the length field and the CRC) — 表3 (docs/rules/hj212.md#data-segment).

    The segment is text (UTF-8, 表2); control characters (CR, LF, NUL …) are refused, since a CRLF ends a packet.
    """
    m = _FAST.fullmatch(seg)
    if m is not None:
        qn, st, cn, pw, mn, fl, pnum, pno, cp = m.groups()
        flag = None if fl is None else int(fl)
        if ((flag is None or (flag <= 255 and (pnum is not None or not flag & 2)))
                and (pnum is None or 1 <= int(pno) <= int(pnum)) and pw.isprintable() and mn.isprintable()):
            return Packet(st=st, cn=cn, pw=pw, mn=mn, qn=qn, flag=flag,
                          pnum=None if pnum is None else int(pnum), pno=None if pno is None else int(pno),
                          cp_text=cp)
    return _parse_segment_general(seg)


def _parse_segment_general(seg: str) -> Packet:
    m = _CONTROL.search(seg)
    if m is not None:
        raise BadField(f"数据段含控制字符 {m.group()!r}（位置 {m.start()}）", head=salvage_head(seg))
    if seg.startswith("CP=&&"):
        head_text, start = "", 0
    else:
        i = seg.find(";CP=&&")
        if i < 0:
            raise BadFrame("数据段缺少 CP=&&", head=salvage_head(seg))
        head_text, start = seg[:i], i + 1
    body = seg[start + 5 :]
    if len(body) < 2 or body[-2:] != "&&":
        raise BadFrame("数据区没有以 && 结束", head=salvage_head(seg))
    fields: dict[str, str] = {}
    order: list[str] = []
    if head_text:
        for part in head_text.split(";"):
            k, eq, v = part.partition("=")
            if not eq:
                raise BadField(f"字段缺少“=”：{part[:32]!r}", head=salvage_head(seg))
            if k not in _HEADER_FIELDS:
                raise BadField(f"未知字段：{k[:16]!r}", head=salvage_head(seg))
            if k in fields:
                raise BadField(f"字段重复：{k}", head=salvage_head(seg), field=k, qnrtn=_QNRTN_OF_FIELD[k])
            fields[k] = v
            order.append(k)
    head = fields
    for k in ("ST", "CN", "PW", "MN"):
        if k not in fields:
            raise BadField(f"缺少字段 {k}", head=salvage_head(seg), field=k, qnrtn=_QNRTN_OF_FIELD[k])

    def bad(k: str, what: str) -> BadField:
        return BadField(f"字段 {k} {what}：{fields[k][:32]!r}", head=salvage_head(seg), field=k,
                        qnrtn=_QNRTN_OF_FIELD[k])

    st, cn, pw, mn = fields["ST"], fields["CN"], fields["PW"], fields["MN"]
    if not _digits(st, 1, 5):
        raise bad("ST", "应为数字")
    if not _digits(cn, 1, 7):
        raise bad("CN", "应为数字")
    if len(pw) > 64 or not pw.isprintable():
        raise bad("PW", "格式错误")
    if len(mn) > 64 or not mn.isprintable():
        raise bad("MN", "格式错误")
    qn = fields.get("QN")
    if qn is not None and not _digits(qn, 1, 20):
        raise bad("QN", "应为数字（YYYYMMDDhhmmsszzz）")
    flag = None
    if "Flag" in fields:
        if not _digits(fields["Flag"], 1, 3) or int(fields["Flag"]) > 255:
            raise bad("Flag", "应为 0–255 的整数")
        flag = int(fields["Flag"])
    pnum = pno = None
    if "PNUM" in fields or "PNO" in fields:
        if "PNUM" not in fields or "PNO" not in fields:
            k = "PNO" if "PNUM" in fields else "PNUM"
            raise BadField(f"PNUM 与 PNO 须同时出现，缺少 {k}", head=salvage_head(seg), field=k, qnrtn=6)
        if not _digits(fields["PNUM"], 1, 4) or int(fields["PNUM"]) < 1:
            raise bad("PNUM", "应为 1–9999 的整数")
        if not _digits(fields["PNO"], 1, 4) or not 1 <= int(fields["PNO"]) <= int(fields["PNUM"]):
            raise bad("PNO", "应为 1…PNUM 的整数")
        pnum, pno = int(fields["PNUM"]), int(fields["PNO"])
    elif flag is not None and flag & 2:
        raise BadField("Flag 的 D 位为 1，但缺少 PNUM/PNO", head=salvage_head(seg), field="Flag", qnrtn=6)
    content = body[:-2]
    if _CP_RE.fullmatch(content) is None:
        bad = next((it for g in content.split(";") if g for it in g.split(",")
                    if not it.partition("=")[1] or not it.partition("=")[0]), content)
        raise BadField(f"CP 数据项格式错误：{bad[:32]!r}", head=salvage_head(seg), field="CP")
    std = tuple(k for k in STANDARD_ORDER if k in head)
    return Packet(st=st, cn=cn, pw=pw, mn=mn, qn=qn, flag=flag, pnum=pnum, pno=pno, cp_text=content,
                  order=None if tuple(order) == std else tuple(order))


# --- building -------------------------------------------------------------------------------------------------


_BAD_HEADER_VALUE = re.compile(r"[;\x00-\x1f\x7f]")
_BAD_CP_NAME = re.compile(r"[;,=\x00-\x1f\x7f]")
_BAD_CP_VALUE = re.compile(r"[;,\x00-\x1f\x7f]")
_BAD_CP_TEXT = re.compile(r"[\x00-\x1f\x7f]")


def _check_text(what: str, v: str, bad: re.Pattern[str]) -> None:
    if bad.search(v) is not None:
        raise BadField(f"{what} 含不允许的字符：{v[:32]!r}", field=what)


def build_segment(p: Packet, *, verify: bool = True) -> str:
    """The data segment of ``p`` (表3 order unless ``p.order`` says otherwise).

    With ``verify`` (default) the result is parsed back and must give ``p`` again, so whatever :func:`build`
    writes is a packet that :func:`parse` accepts unchanged; otherwise :class:`BadField` is raised.
    """
    present = [k for k in STANDARD_ORDER if p._get(k) is not None]
    order = list(p.order) if p.order is not None else present
    if sorted(order) != sorted(present):
        raise BadField("order 与实际字段不一致", field="order")
    parts: list[str] = []
    for k in order:
        v = p._get(k)
        assert v is not None
        _check_text(k, v, _BAD_HEADER_VALUE)
        parts.append(f"{k}={v}")
    if p.flag is not None and not 0 <= p.flag <= 255:
        raise BadField("Flag 应为 0–255", field="Flag", qnrtn=6)
    if (p.pnum is None) != (p.pno is None):
        raise BadField("PNUM 与 PNO 须同时给出", field="PNUM", qnrtn=6)
    cp = p.cp_text
    if _CP_RE.fullmatch(cp) is None or _BAD_CP_TEXT.search(cp) is not None:
        for g in split_cp(cp):  # raises on a malformed item
            for k, v in g:
                _check_text("CP 名称", k, _BAD_CP_NAME)
                _check_text("CP 数值", v, _BAD_CP_VALUE)
        raise BadField("CP 格式错误", field="CP")
    seg = (";".join(parts) + ";" if parts else "") + "CP=&&" + cp + "&&"
    if verify:
        try:
            back = parse_segment(seg)
        except Hj212Error as e:
            raise BadField(f"报文字段不合规：{e.message}", field=e.field, qnrtn=e.qnrtn) from None
        if back != (p if p.order is None or back.order is not None else replace(p, order=None)):
            raise BadField("报文字段无法无损编码", field="order")
    return seg


def frame(segment: bytes | str) -> bytes:
    """``##`` + length + segment + CRC + CRLF for an already written data segment (表2)."""
    seg = segment.encode("utf-8") if isinstance(segment, str) else bytes(segment)
    if len(seg) > MAX_SEGMENT:
        raise BadLength(f"数据段 {len(seg)} 字节，超过 {MAX_SEGMENT}")
    return b"##%04d%s%04X\r\n" % (len(seg), seg, crc16(seg))


def build(p: Packet, *, verify: bool = True) -> bytes:
    """Encode ``p`` as a complete packet with uppercase CRC and CRLF (see :func:`build_segment` for ``verify``)."""
    return frame(build_segment(p, verify=verify))


# --- replies (表9; docs/rules/hj212.md#commands-and-replies) ------------------------------------------------------------------------------------------


def _reply(head: Packet | Mapping[str, str], cn: str, cp: str) -> bytes:
    if isinstance(head, Packet):
        qn, pw, mn, flag = head.qn, head.pw, head.mn, head.flag
    else:
        qn, pw, mn = head.get("QN"), head.get("PW", ""), head.get("MN", "")
        f = head.get("Flag", "")
        flag = int(f) if _digits(f, 1, 3) and int(f) <= 255 else None
    # Replies carry ST=91 and the sender's version bits with A=0 (Flag=4 for a 2017 packet, §9.5).
    rflag = 4 if flag is None else flag & 0xFC
    parts = [f"QN={qn}"] if qn else []
    parts += ["ST=91", f"CN={cn}", f"PW={pw}", f"MN={mn}", f"Flag={rflag}", f"CP=&&{cp}&&"]
    return frame(";".join(parts))


def reply_9014(head: Packet | Mapping[str, str]) -> bytes:
    """数据应答 (CN=9014) to an upload whose Flag.A is set."""
    return _reply(head, "9014", "")


def reply_9013(head: Packet | Mapping[str, str]) -> bytes:
    """通知应答 (CN=9013) to a notification."""
    return _reply(head, "9013", "")


def reply_9011(head: Packet | Mapping[str, str], qnrtn: int) -> bytes:
    """请求应答 (CN=9011) with ``QnRtn`` (1 ready, 2 rejected, 3 PW, 4 MN, 5 ST, 6 Flag, 7 QN, 8 CN, 9 CRC, 100)."""
    return _reply(head, "9011", f"QnRtn={int(qnrtn)}")


# --- stream framing -------------------------------------------------------------------------------------------


class FrameReader:
    """Cuts a TCP byte stream into packets.  Memory is bounded by the maximum packet size plus one read.

    A packet starts at ``##`` and ends at the first CRLF after it; the length field is checked against it.
    Tolerated: bytes between packets (reported once as :class:`BadFrame` unless they are only whitespace),
    packets with a missing CRLF when the next packet follows directly or the buffer ends exactly at the
    declared length (the CRC decides), and a stray ``##`` before a real packet.
    """

    __slots__ = ("_buf", "_max_total")

    def __init__(self, max_segment: int = MAX_SEGMENT) -> None:
        self._buf = bytearray()
        self._max_total = 2 + 4 + min(max_segment, MAX_SEGMENT) + 4 + 2

    @property
    def buffered(self) -> int:
        return len(self._buf)

    def feed(self, data: bytes) -> list[bytes | Hj212Error]:
        """Add received bytes; return complete packets (bytes) and framing errors, in stream order."""
        buf = self._buf
        n = len(data)
        if (not buf and n <= self._max_total and data[:2] == b"##" and data[-2:] == b"\r\n"
                and data.find(b"\r\n") == n - 2 and data.find(b"##", 2) < 0 and data[2:6].isdigit()
                and int(data[2:6]) == n - 12):
            return [bytes(data)]  # the common case: one whole packet per read
        buf += data
        out: list[bytes | Hj212Error] = []
        while buf:
            start = buf.find(b"##")
            if start < 0:
                keep = 1 if buf[-1:] == b"#" else 0
                self._drop(len(buf) - keep, out)
                break
            if start:
                self._drop(start, out)
            end = buf.find(b"\r\n", 2)
            if end < 0:
                f = self._declared(buf)
                if f is not None and len(buf) >= f and _is_hex4(bytes(buf[f - 4 : f])) and (
                        len(buf) == f or buf[f : f + 2] == b"##"):
                    out.append(bytes(buf[:f]))
                    del buf[:f]
                    continue
                if len(buf) > self._max_total:
                    nxt = buf.find(b"##", 2)
                    cut = nxt if nxt > 0 else len(buf) - 1
                    out.append(BadLength("报文超过最大长度或缺少 CRLF，已丢弃", raw=bytes(buf[:64]),
                                         head=salvage_head(bytes(buf[6:512]))))
                    del buf[:cut]
                    continue
                break  # wait for more bytes
            if end + 2 > self._max_total:
                out.append(BadLength(f"报文超过最大长度（{self._max_total - 12} 字节），已丢弃", raw=bytes(buf[:64]),
                                     head=salvage_head(bytes(buf[6 : min(end, 512)]))))
                del buf[: end + 2]
                continue
            f = self._declared(buf)
            if f == end:
                out.append(bytes(buf[: end + 2]))
                del buf[: end + 2]
                continue
            if f is not None and f < end and buf[f : f + 2] == b"##" and _is_hex4(bytes(buf[f - 4 : f])):
                out.append(bytes(buf[:f]))  # CRLF missing between two packets
                del buf[:f]
                continue
            j = buf.find(b"##", 2, end)
            while j > 0:
                if self._declared(buf, j) == end:
                    break
                j = buf.find(b"##", j + 1, end)
            if j > 0:
                self._drop(j, out)  # a stray "##" before a real packet
                continue
            head = salvage_head(bytes(buf[6 : end - 4]))
            if f is None:
                out.append(BadLength("长度字段不是 4 位数字", raw=bytes(buf[: min(end + 2, 256)]), head=head))
            else:
                out.append(BadLength(f"长度字段为 {f - 10}，数据段实为 {end - 10} 字节",
                                     raw=bytes(buf[: min(end + 2, 256)]), head=head))
            del buf[: end + 2]
        return out

    def _declared(self, buf: bytearray, at: int = 0) -> int | None:
        """End offset (exclusive, before CRLF) that the length field at ``at`` declares."""
        lf = bytes(buf[at + 2 : at + 6])
        if len(lf) != 4 or not lf.isdigit():
            return None
        return at + 10 + int(lf)

    def _drop(self, k: int, out: list[bytes | Hj212Error]) -> None:
        if k <= 0:
            return
        junk = bytes(self._buf[:k])
        del self._buf[:k]
        if junk.strip(b"\r\n\t \x00"):
            out.append(BadFrame(f"丢弃报文之外的 {k} 字节", raw=junk[:64]))


# --- split packets (Flag.D, PNUM/PNO) -------------------------------------------------------------------------


def reassemble(parts: Iterable[Packet]) -> Packet:
    """Join the parts of a split packet (Flag bit D, PNUM/PNO; 表3) into one packet.

    All parts must share ST, CN, PW, MN, QN and PNUM, and PNO must run 1…PNUM exactly once.  The CP groups are
    concatenated in PNO order; a group of a later part that repeats a group of an earlier part without any
    pollutant item (e.g. the ``DataTime=…`` that each part carries) is dropped.  The result has Flag.D cleared.
    """
    ps = sorted(parts, key=lambda p: p.pno or 0)
    if not ps:
        raise BadField("没有分包", field="PNO", qnrtn=6)
    first = ps[0]
    if first.pnum is None:
        raise BadField("不是分包报文", field="PNUM", qnrtn=6)
    for p in ps:
        if (p.st, p.cn, p.pw, p.mn, p.qn, p.pnum) != (first.st, first.cn, first.pw, first.mn, first.qn, first.pnum):
            raise BadField("分包的 ST/CN/PW/MN/QN/PNUM 不一致", field="PNO", qnrtn=6)
    if [p.pno for p in ps] != list(range(1, first.pnum + 1)):
        raise BadField(f"分包不完整或重复：{[p.pno for p in ps]}，应为 1…{first.pnum}", field="PNO", qnrtn=6)
    groups: list[Group] = list(first.cp)
    seen_meta = {g for g in groups if g and not any("-" in k for k, _ in g)}
    for p in ps[1:]:
        for g in p.cp:
            if g in seen_meta:
                continue
            groups.append(g)
    flag = None if first.flag is None else first.flag & ~2
    return replace(first, flag=flag, pnum=None, pno=None, cp_text=join_cp(groups), order=None)


# --- data items (表4) ------------------------------------------------------------------------------------------


def parse_datatime(s: str | None) -> datetime | None:
    """``YYYYMMDDhhmmss`` (optionally with ``zzz`` milliseconds) → naive datetime (Beijing time); else ``None``."""
    if s is None or len(s) not in (14, 17) or not s.isascii() or not s.isdigit():
        return None
    try:
        return datetime(int(s[0:4]), int(s[4:6]), int(s[6:8]), int(s[8:10]), int(s[10:12]), int(s[12:14]),
                         int(s[14:17]) * 1000 if len(s) == 17 else 0)
    except ValueError:
        return None


def factor_items(p: Packet) -> tuple[dict[str, str], dict[str, dict[str, str]]]:
    """Split CP into plain items (``DataTime``, ``PolId`` …) and pollutant items ``code-Field`` (表4).

    Returns ``(plain, by_factor)`` where ``by_factor[code][field]`` is the text value, e.g.
    ``by_factor["a21026"]["ZsAvg"]``.  Codes are as sent (2005 codes are mapped by the caller).  A factor may
    appear in several groups (real 2005 devices send ``01-Rtd=…,01-Flag=N;01-ZsRtd=…,01-Flag=N``); the first value
    of each field wins.
    """
    plain: dict[str, str] = {}
    by_factor: dict[str, dict[str, str]] = {}
    for g in p.cp:
        for k, v in g:
            code, dash, fld = k.rpartition("-")
            if dash and code:
                d = by_factor.get(code)
                if d is None:
                    by_factor[code] = {fld: v}
                elif fld not in d:
                    d[fld] = v
            elif k not in plain:
                plain[k] = v
    return plain, by_factor


def identity_hash(text: str) -> int:
    """A signed 128-bit integer from BLAKE2b of ``text`` (packet keys in the store)."""
    return int.from_bytes(hashlib.blake2b(text.encode("utf-8", "surrogatepass"), digest_size=16).digest(), "big",
                          signed=True)
