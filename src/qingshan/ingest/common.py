"""Shared pieces of the import adapters: encodings, numeric cells, quarantine records, the import report."""

from __future__ import annotations

import codecs
import hashlib
import io
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa

#: Cell texts that mean "no value" in the formats we read (CNEMC: empty, "—", "NA"; "/" = not monitored).
MISSING_MARKERS = frozenset({"", "NA", "N/A", "NaN", "nan", "null", "NULL", "None", "—", "-", "--", "/", "*"})


class ImportError_(Exception):
    """A file that cannot be imported at all (wrong format, unknown unit …). The message is for users."""


@dataclass
class Quarantine:
    """Rejected rows or cells of one file, kept with their position and reason."""

    source: str
    lines: list[int] = field(default_factory=list)
    fields: list[str] = field(default_factory=list)
    raws: list[str] = field(default_factory=list)
    reasons: list[str] = field(default_factory=list)

    def add(self, line: int, fld: str, raw: str, reason: str) -> None:
        self.lines.append(int(line))
        self.fields.append(fld)
        self.raws.append(raw[:500])
        self.reasons.append(reason)

    def extend(self, lines, fld: str | list[str], raws, reason: str | list[str]) -> None:
        n = len(lines)
        self.lines.extend(int(x) for x in lines)
        self.fields.extend([fld] * n if isinstance(fld, str) else fld)
        self.raws.extend(str(r)[:500] for r in raws)
        self.reasons.extend([reason] * n if isinstance(reason, str) else reason)

    def __len__(self) -> int:
        return len(self.lines)

    def to_arrow(self, import_id: int) -> pa.Table:
        n = len(self.lines)
        return pa.table(
            {
                "import_id": pa.array([import_id] * n, pa.int32()),
                "source": pa.array([self.source] * n, pa.string()),
                "line": pa.array(self.lines, pa.int64()),
                "field": pa.array(self.fields, pa.string()),
                "raw": pa.array(self.raws, pa.string()),
                "reason": pa.array(self.reasons, pa.string()),
            }
        )


@dataclass
class ParsedFile:
    """What an adapter returns for one file: canonical rows, rejects and notes for the user."""

    source: str
    kind: str
    data: pa.Table | None
    quarantine: Quarantine
    messages: list[str] = field(default_factory=list)
    rows_read: int = 0
    sha256: str = ""


@dataclass
class ImportReport:
    source: str
    kind: str
    import_id: int
    rows_read: int
    new: int
    updated: int
    unchanged: int
    quarantined: int
    messages: list[str]
    previous_import: int | None = None


def sha256_of(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def decode_bytes(data: bytes, source: str) -> tuple[str, str]:
    """Decode UTF-8 (with or without BOM) or GBK/GB18030 text; returns (text, encoding name)."""
    if data.startswith(b"\xef\xbb\xbf"):
        return data[3:].decode("utf-8"), "UTF-8 (BOM)"
    try:
        return data.decode("utf-8"), "UTF-8"
    except UnicodeDecodeError:
        pass
    try:
        return data.decode("gb18030"), "GBK/GB18030"
    except UnicodeDecodeError as e:
        raise ImportError_(f"{source}: 无法识别文件编码（既不是 UTF-8 也不是 GBK），第 {e.start} 字节处出错") from None


def utf8_bytes(data: bytes, source: str) -> tuple[bytes, str]:
    """The file's bytes as UTF-8 without BOM (transcoding GBK when needed) and the detected encoding."""
    if data.startswith(b"\xef\xbb\xbf"):
        return data[3:], "UTF-8 (BOM)"
    try:
        data.decode("utf-8")
        return data, "UTF-8"
    except UnicodeDecodeError:
        text, enc = decode_bytes(data, source)
        return text.encode("utf-8"), enc


def file_is_utf8(path: str | Path, chunk: int = 1 << 24) -> tuple[bool, bool, str]:
    """(is UTF-8, starts with a BOM, SHA-256) of a file, streamed in chunks so big files are never held in memory."""
    dec = codecs.getincrementaldecoder("utf-8")()
    h = hashlib.sha256()
    ok = True
    with open(path, "rb") as f:
        bom = f.read(3) == b"\xef\xbb\xbf"
        f.seek(0)
        while block := f.read(chunk):
            h.update(block)
            if ok:
                try:
                    dec.decode(block)
                except UnicodeDecodeError:
                    ok = False
    if ok:
        try:
            dec.decode(b"", final=True)
        except UnicodeDecodeError:
            ok = False
    return ok, bom, h.hexdigest()


def read_bytes(path: str | Path) -> bytes:
    p = Path(path)
    if not p.exists():
        raise ImportError_(f"文件不存在：{p}")
    return p.read_bytes()


def coerce_numeric(
    raw: pd.Series, line_numbers: np.ndarray, field_name: str, q: Quarantine, allow_negative: bool = False
) -> np.ndarray:
    """Turn a column of cell texts into floats. Missing markers → NaN; non-numeric or negative cells → NaN and a
    quarantine record naming the line and field (the rest of the row is kept)."""
    text = raw.astype("string").str.strip()
    is_missing = text.isna() | text.isin(MISSING_MARKERS)
    values = pd.to_numeric(text.where(~is_missing), errors="coerce").to_numpy(dtype=float, na_value=np.nan)
    bad = np.isnan(values) & ~is_missing.to_numpy()
    if bad.any():
        q.extend(line_numbers[bad], field_name, text[bad].tolist(), "非数值")
    if not allow_negative:
        neg = values < 0
        if neg.any():
            q.extend(line_numbers[neg], field_name, values[neg].tolist(), "负值（浓度不可能为负，按缺测处理）")
            values[neg] = np.nan
    return values


def read_csv_strings(data: bytes, source: str) -> pd.DataFrame:
    """Read a small/medium CSV with every cell as text (for the detailed, line-accurate validation path)."""
    utf8, _ = utf8_bytes(data, source)
    try:
        return pd.read_csv(io.BytesIO(utf8), dtype=str, keep_default_na=False, skipinitialspace=True)
    except pd.errors.ParserError as e:
        raise ImportError_(f"{source}: CSV 结构错误：{e}") from None
