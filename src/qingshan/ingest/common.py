"""Shared pieces of the import adapters: encodings, numeric cells, quarantine records, the import report."""

from __future__ import annotations

import codecs
import hashlib
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa

from ..standards.ranges import range_of
from .errors import IngestError as IngestError  # re-exported: the parsers raise it from here
from .limits import LineScanner, check_size, read_csv_text

#: Cell texts that mean "no value" in the formats we read (CNEMC: empty, "—", "NA"; "/" = not monitored).
MISSING_MARKERS = frozenset({"", "NA", "N/A", "NaN", "nan", "null", "NULL", "None", "—", "-", "--", "/", "*"})


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
        raise IngestError(f"{source}: 无法识别文件编码（既不是 UTF-8 也不是 GBK），第 {e.start} 字节处出错") from None


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
    """(is UTF-8, starts with a BOM, SHA-256) of a file, streamed in chunks so big files are never held in memory.
    A line longer than :data:`qingshan.ingest.limits.MAX_LINE_BYTES` refuses the file (:class:`IngestError`)."""
    dec = codecs.getincrementaldecoder("utf-8")()
    h = hashlib.sha256()
    lines = LineScanner()
    ok = True
    try:
        with open(path, "rb") as f:
            bom = f.read(3) == b"\xef\xbb\xbf"
            f.seek(0)
            while block := f.read(chunk):
                h.update(block)
                lines.feed(block)
                if ok:
                    try:
                        dec.decode(block)
                    except UnicodeDecodeError:
                        ok = False
    except OSError as e:
        raise IngestError(f"无法读取文件 {path}：{e.strerror or e}") from None
    lines.finish()
    lines.check(str(path))
    if ok:
        try:
            dec.decode(b"", final=True)
        except UnicodeDecodeError:
            ok = False
    return ok, bom, h.hexdigest()


def open_input(path: str | Path):
    """The file opened for reading in binary; missing or unreadable → :class:`IngestError`."""
    p = Path(path)
    if not p.is_file():
        raise IngestError(f"文件不存在：{p}" if not p.exists() else f"不是文件：{p}")
    try:
        return open(p, "rb")
    except OSError as e:
        raise IngestError(f"无法读取文件 {p}：{e.strerror or e}") from None


def read_bytes(path: str | Path) -> bytes:
    """The whole file, at most :data:`qingshan.ingest.limits.MAX_FILE_BYTES`; a missing, unreadable or too large
    file is an :class:`IngestError`."""
    p = Path(path)
    try:
        if not p.exists():
            raise IngestError(f"文件不存在：{p}")
        if not p.is_file():
            raise IngestError(f"不是文件：{p}")
        check_size(p.stat().st_size, str(p))
        return p.read_bytes()
    except OSError as e:
        raise IngestError(f"无法读取文件 {p}：{e.strerror or e}") from None


#: Reason of a cell whose number is infinite (``inf``, ``Infinity``, ``1e999``, a 400-digit number).
NON_FINITE = "非有限数值（无穷大或超出双精度范围），按缺测处理"
#: Reason of a negative concentration.
NEGATIVE = "负值（浓度不可能为负，按缺测处理）"


def _shown(values: np.ndarray, factor: float) -> list[str]:
    """Raw text of rejected values for the quarantine when the cell texts are gone (fast paths): the number in
    the file's unit."""
    return [repr(float(v) / factor) if np.isfinite(v) else ("inf" if v > 0 else "-inf") for v in values]


def screen(
    values: np.ndarray, line_numbers: np.ndarray, fields: str | list[str], q: Quarantine, param: str | None = None,
    *, raws: pd.Series | np.ndarray | None = None, factor: float = 1.0, allow_negative: bool = False,
    negative_reason: str = NEGATIVE,
) -> np.ndarray:
    """Blank (NaN, i.e. missing) and quarantine the values that cannot be measurements: infinite ones, negative
    ones (unless ``allow_negative``) and those outside the physical range of ``param``
    (:mod:`qingshan.standards.ranges`; default: the range of ``fields`` when it is a column name). NaN stays
    missing. ``values`` are in the store's unit and changed in place; 1-D with one field name, or 2-D (rows ×
    columns) with one field name per column. ``raws``: the cell texts (1-D); else the values divided by
    ``factor`` are shown."""
    name = param if param is not None else (fields if isinstance(fields, str) else "")
    rng = range_of(name) if name else None
    with np.errstate(invalid="ignore"):
        checks = [(np.isinf(values), NON_FINITE)]
        if not allow_negative and (rng is None or rng.lo >= 0):
            checks.append((values < 0, negative_reason))
        if rng is not None:
            checks.append(((values < rng.lo) | (values > rng.hi), rng.reason()))
    for mask, reason in checks:
        mask &= ~np.isnan(values)  # a value already blanked by an earlier check is reported once
        if not mask.any():
            continue
        if values.ndim == 1:
            shown = (np.asarray(raws, dtype=object)[mask].tolist() if raws is not None
                     else _shown(values[mask], factor))
            q.extend(line_numbers[mask], fields, shown, reason)
        else:
            r, c = np.nonzero(mask)
            q.extend(line_numbers[r], [fields[j] for j in c], _shown(values[r, c], factor), reason)
        values[mask] = np.nan
    return values


def coerce_numeric(
    raw: pd.Series, line_numbers: np.ndarray, field_name: str, q: Quarantine, allow_negative: bool = False,
    param: str | None = None, factor: float = 1.0,
) -> np.ndarray:
    """Turn a column of cell texts into floats in the store's unit (× ``factor``). Missing markers → NaN;
    non-numeric cells, infinite numbers, negative ones (unless ``allow_negative``) and numbers outside the
    physical range of ``param`` (default ``field_name``, :mod:`qingshan.standards.ranges`) → NaN and a quarantine
    record naming the line and field (the rest of the row is kept)."""
    text = raw.astype("string").str.strip()
    is_missing = text.isna() | text.isin(MISSING_MARKERS)
    values = pd.to_numeric(text.where(~is_missing), errors="coerce").to_numpy(dtype=float, na_value=np.nan)
    bad = np.isnan(values) & ~is_missing.to_numpy()
    if bad.any():
        q.extend(line_numbers[bad], field_name, text[bad].tolist(), "非数值")
    if factor != 1.0:
        with np.errstate(over="ignore"):  # a huge value times the unit factor: infinite, quarantined below
            values *= factor
    raws = text.to_numpy(dtype=object, na_value="")
    return screen(values, line_numbers, field_name, q, param if param is not None else field_name, raws=raws,
                  factor=factor, allow_negative=allow_negative)


def read_csv_strings(data: bytes, source: str) -> pd.DataFrame:
    """Read a small/medium CSV with every cell as text (for the detailed, line-accurate validation path), within
    the limits of :mod:`qingshan.ingest.limits`."""
    utf8, _ = utf8_bytes(data, source)
    return read_csv_text(utf8, source, skipinitialspace=True)
