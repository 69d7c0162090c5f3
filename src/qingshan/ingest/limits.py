"""Limits that keep a broken or hostile file from taking the importer's memory or time (docs/formats.md#limits-and-errors).

Every importer reads its input through these functions, so that a bad file stops with one Chinese sentence
(:class:`~qingshan.ingest.common.IngestError`) before anything large is built:

* a line longer than :data:`MAX_LINE_BYTES` (a 100 MB single-line file) is refused before any CSV parser sees it;
* a table with more than :data:`MAX_COLUMNS` columns (a quotsoft day file: more than :data:`MAX_STATIONS`
  stations) is refused from its header;
* an XLSX is checked as a zip **before** openpyxl opens it: the uncompressed sizes its directory declares (which
  bound what :mod:`zipfile` will ever inflate) must stay under :data:`MAX_XLSX_UNCOMPRESSED`, and a streaming
  scan of the sheets' XML must find at most :data:`MAX_COLUMNS` columns and :data:`MAX_XLSX_CELLS` cells of grid
  (a single far-away cell such as ``XFD1048576`` would make pandas build a 17-billion-cell grid);
* a JSON document (gzip-compressed or not) is at most :data:`MAX_JSON_BYTES` (inflated with that bound);
* a whole-file format reads at most :data:`MAX_FILE_BYTES`.

The limits are far above any real file of the formats (a quotsoft day file has 2,026 stations and 10 kB lines; a
long-format year of 10 stations is 87,600 short lines); a larger legitimate data set is split into several files.
"""

from __future__ import annotations

import csv
import io
import re
import zipfile
import zlib
from pathlib import Path
from typing import Iterable
from xml.etree.ElementTree import ParseError, iterparse

import numpy as np
import pandas as pd

from .errors import IngestError

MAX_FILE_BYTES = 512 << 20
MAX_LINE_BYTES = 1 << 20
MAX_COLUMNS = 1_000
MAX_STATIONS = 10_000
MAX_XLSX_UNCOMPRESSED = 64 << 20
MAX_XLSX_CELLS = 2_000_000
MAX_XLSX_ENTRIES = 10_000
MAX_JSON_BYTES = 32 << 20
#: Names shown when a message lists columns (the rest are counted).
SHOWN = 10

_MIB = 1 << 20


def clip(text: object, n: int = 80) -> str:
    """User text for a one-line message: control characters and line breaks removed, at most ``n`` characters."""
    s = re.sub(r"[\x00-\x1f\x7f]+", " ", str(text))
    return s if len(s) <= n else s[: n - 1] + "…"


def shown_names(names: Iterable[object], sep: str = "、") -> str:
    """The first :data:`SHOWN` names, clipped, and ``…`` when there are more."""
    names = list(names)
    head = sep.join(clip(x, 40) for x in names[:SHOWN])
    return head + (" …" if len(names) > SHOWN else "")


def ignored_message(ignored: list[str]) -> str:
    """The report line for ignored columns: all of them when few, else their number and the first ones."""
    if len(ignored) <= SHOWN:
        return "忽略了非标准列：" + "、".join(clip(x, 40) for x in ignored)
    return f"忽略了 {len(ignored)} 个非标准列：{shown_names(ignored)}"


def check_size(size: int, source: str, limit: int = MAX_FILE_BYTES) -> None:
    if size > limit:
        raise IngestError(f"{source}: 文件大小 {size / _MIB:,.0f} MiB 超过单个文件上限 {limit / _MIB:,.0f} MiB，"
                           f"请拆分为多个文件后导入")


# --- text tables ------------------------------------------------------------------------------------------------


class LineScanner:
    """The longest line of a byte stream fed in chunks (numpy, no copy of the lines)."""

    def __init__(self) -> None:
        self.offset = 0  # bytes seen
        self.line_start = 0  # offset where the current line began
        self.lines = 0  # newlines seen
        self.longest = 0
        self.longest_line = 1

    def feed(self, block: bytes | memoryview) -> None:
        nl = np.flatnonzero(np.frombuffer(block, dtype=np.uint8) == 10) + self.offset
        if len(nl):
            starts = np.concatenate(([self.line_start], nl[:-1] + 1))
            lengths = nl - starts
            k = int(np.argmax(lengths))
            if lengths[k] > self.longest:
                self.longest, self.longest_line = int(lengths[k]), self.lines + k + 1
            self.lines += len(nl)
            self.line_start = int(nl[-1]) + 1
        self.offset += len(block)

    def finish(self) -> None:
        tail = self.offset - self.line_start
        if tail > self.longest:
            self.longest, self.longest_line = tail, self.lines + 1

    def check(self, source: str) -> None:
        if self.longest > MAX_LINE_BYTES:
            raise IngestError(f"{source}: 第 {self.longest_line} 行长 {self.longest / _MIB:,.1f} MiB，超过单行上限 "
                               f"{MAX_LINE_BYTES // _MIB} MiB（不是本平台可读的表格文件，或文件缺少换行）")


def check_lines(buf: bytes, source: str, chunk: int = 16 << 20) -> None:
    """Refuse a text whose longest line exceeds :data:`MAX_LINE_BYTES`."""
    scan = LineScanner()
    view = memoryview(buf)
    for start in range(0, len(buf), chunk):
        scan.feed(view[start:start + chunk])
    scan.finish()
    scan.check(source)


def header_fields(buf: bytes, source: str) -> list[str]:
    """The cells of the first line of a UTF-8 CSV (whose lines were checked), parsed as CSV."""
    end = buf.find(b"\n")
    line = (buf if end < 0 else buf[:end]).decode("utf-8", "replace").rstrip("\r")
    try:
        return next(csv.reader([line]), [])
    except csv.Error as e:
        raise IngestError(f"{source}: 表头无法按 CSV 解析（{clip(e)}）") from None


def check_columns(n: int, source: str, limit: int = MAX_COLUMNS, what: str = "列", at_least: bool = False) -> None:
    if n > limit:
        raise IngestError(f"{source}: 表头{'至少' if at_least else ''}有 {n:,} {what}，超过上限 {limit:,} {what}"
                           f"（不是本平台支持的表格格式）")


def check_header(head: bytes, source: str, limit: int = MAX_COLUMNS) -> None:
    """Refuse from the first line alone (only its first :data:`MAX_LINE_BYTES` are looked at) a CSV with more than
    ``limit`` columns: a million-column header stops here, before any line is split. The comma count is an upper
    bound of the column count (a quoted header cell may hold a comma)."""
    end = head.find(b"\n", 0, MAX_LINE_BYTES + 1)
    first = head[: end if end >= 0 else MAX_LINE_BYTES + 1]
    check_columns(first.count(b",") + 1, source, limit, at_least=end < 0 and len(head) > MAX_LINE_BYTES)


def read_csv_text(buf: bytes, source: str, max_columns: int = MAX_COLUMNS, **options) -> pd.DataFrame:
    """A UTF-8 CSV with every cell as text (``dtype=str``, empty cells as ``""``), after the line and column
    limits; pandas' errors become one-line :class:`IngestError`."""
    check_header(buf, source, max_columns)
    check_lines(buf, source)
    check_columns(len(header_fields(buf, source)), source, max_columns)
    try:
        df = pd.read_csv(io.BytesIO(buf), dtype=str, keep_default_na=False, **options)
    except pd.errors.EmptyDataError:
        raise IngestError(f"{source}: 空文件（没有表头）") from None
    except (pd.errors.ParserError, ValueError, UnicodeDecodeError, OverflowError) as e:
        raise IngestError(f"{source}: CSV 结构错误：{clip(e, 200)}") from None
    check_columns(len(df.columns), source, max_columns)
    return df


# --- XLSX -------------------------------------------------------------------------------------------------------

_CELL_REF = re.compile(r"([A-Za-z]{1,3})?(\d+)?$")


def _column_index(letters: str) -> int:
    n = 0
    for ch in letters.upper():
        n = n * 26 + ord(ch) - 64
    return n


def _scan_part(stream, source: str, name: str) -> None:
    """Rows and columns of the ``sheetData`` of one XML part as openpyxl will yield them (an ``r`` attribute
    jumps, a cell without one follows its neighbour), refused beyond :data:`MAX_COLUMNS` columns or
    :data:`MAX_XLSX_CELLS` cells. Parts without sheet data (styles, strings …) pass through."""
    row = col = max_col = 0
    parent = None  # the sheetData being scanned: its processed rows are dropped as the scan goes

    def too_many(rows: int) -> None:
        if rows * max(max_col, 1) > MAX_XLSX_CELLS:
            raise IngestError(f"{source}: 工作表 {name} 至少有 {rows:,} 行 × {max_col:,} 列，超过上限 "
                               f"{MAX_XLSX_CELLS:,} 个单元格（大数据请改用 CSV）")

    try:
        for event, el in iterparse(stream, events=("start", "end")):
            tag = el.tag.rsplit("}", 1)[-1]
            if tag == "sheetData":
                parent = el if event == "start" else None
            elif parent is None:
                continue
            elif event == "start" and tag == "row":
                r = el.get("r")
                row = int(r) if r and r.isdigit() else row + 1
                col = 0
                too_many(row)
            elif event == "end" and tag == "c":
                m = _CELL_REF.match(el.get("r") or "")
                col = _column_index(m.group(1)) if m and m.group(1) else col + 1
                if col > max_col:
                    max_col = col
                    if max_col > MAX_COLUMNS:
                        raise IngestError(f"{source}: 工作表 {name} 有第 {max_col:,} 列的单元格，超过上限 "
                                           f"{MAX_COLUMNS:,} 列")
            elif event == "end" and tag == "row":
                too_many(row)
                parent.clear()
    except ParseError as e:
        raise IngestError(f"{source}: XLSX 中的 {name} 不是有效的 XML（{clip(e)}）") from None


def check_xlsx(raw: bytes, source: str) -> None:
    """Refuse an XLSX that is not a zip, declares more than :data:`MAX_XLSX_UNCOMPRESSED` bytes of content, or
    whose sheets span more than :data:`MAX_COLUMNS` columns or :data:`MAX_XLSX_CELLS` cells. Every XML part is
    scanned (within the declared limit), whatever its path: a sheet is found by its content, not by its name."""
    check_size(len(raw), source)
    try:
        zf = zipfile.ZipFile(io.BytesIO(raw))
    except (zipfile.BadZipFile, zipfile.LargeZipFile, OSError, ValueError, EOFError):
        raise IngestError(f"{source}: 不是有效的 XLSX 文件（不是 zip 格式：文件已损坏，或其实是 CSV/XLS，"
                           f"请另存为 .xlsx 或 .csv）") from None
    with zf:
        infos = zf.infolist()
        if len(infos) > MAX_XLSX_ENTRIES:
            raise IngestError(f"{source}: XLSX 内含 {len(infos):,} 个部件，超过上限 {MAX_XLSX_ENTRIES:,}")
        declared = sum(i.file_size for i in infos)
        if declared > MAX_XLSX_UNCOMPRESSED:
            raise IngestError(f"{source}: XLSX 解压后共 {declared / _MIB:,.0f} MiB，超过上限 "
                               f"{MAX_XLSX_UNCOMPRESSED // _MIB} MiB（疑似压缩炸弹；大数据请改用 CSV）")
        for info in infos:
            if not info.filename.lower().endswith(".xml"):
                continue
            try:
                with zf.open(info) as stream:
                    _scan_part(stream, source, Path(info.filename).stem)
            except (zipfile.BadZipFile, zlib.error, OSError, EOFError, NotImplementedError, RuntimeError) as e:
                raise IngestError(f"{source}: XLSX 已损坏，无法读取 {info.filename}（{clip(e)}）") from None


def read_xlsx(raw: bytes, source: str, sheet_name: str | int | None = 0):
    """The sheet (or, with ``sheet_name=None``, every sheet by name) with every cell as text, after
    :func:`check_xlsx`; openpyxl's errors become one-line :class:`IngestError`."""
    check_xlsx(raw, source)
    try:
        book = pd.read_excel(io.BytesIO(raw), sheet_name=sheet_name, dtype=str, keep_default_na=False,
                             engine="openpyxl")
    except IngestError:
        raise
    except Exception as e:  # noqa: BLE001 - openpyxl and zipfile raise many kinds for a damaged file
        raise IngestError(f"{source}: 无法读取 XLSX（{type(e).__name__}: {clip(e, 160)}）") from None
    for df in (book.values() if isinstance(book, dict) else [book]):
        check_columns(len(df.columns), source)
    return book


# --- gzip -------------------------------------------------------------------------------------------------------


def gunzip(data: bytes, source: str, limit: int = MAX_JSON_BYTES) -> bytes:
    """Inflate gzip data (every member), refusing more than ``limit`` bytes of output: a gzip bomb stops at the
    limit instead of filling the memory."""
    parts: list[bytes] = []
    size = 0
    while data:
        d = zlib.decompressobj(16 + zlib.MAX_WBITS)
        try:
            out = d.decompress(data, limit + 1 - size)
        except zlib.error as e:
            raise IngestError(f"{source}: gzip 数据已损坏（{clip(e)}）") from None
        size += len(out)
        if size > limit or d.unconsumed_tail:
            raise IngestError(f"{source}: 解压后超过 {limit // _MIB} MiB 上限（疑似压缩炸弹）")
        if not d.eof:
            raise IngestError(f"{source}: gzip 数据不完整（文件被截断）")
        parts.append(out)
        data = d.unused_data.lstrip(b"\x00")
    return b"".join(parts)


__all__ = ["MAX_COLUMNS", "MAX_FILE_BYTES", "MAX_JSON_BYTES", "MAX_LINE_BYTES", "MAX_STATIONS",
           "MAX_XLSX_CELLS", "MAX_XLSX_UNCOMPRESSED", "check_columns", "check_header", "check_lines", "check_size", "check_xlsx",
           "clip", "gunzip", "header_fields", "ignored_message", "read_csv_text", "read_xlsx", "shown_names"]
