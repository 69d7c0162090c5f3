"""Adapter for the quotsoft/CNEMC daily wide files ``china_sites_YYYYMMDD.csv``.

Layout: ``date,hour,type,<station code>…``; for each hour 0–23, 15 rows with ``type`` in
AQI, PM2.5, PM2.5_24h, PM10, PM10_24h, SO2, SO2_24h, NO2, NO2_24h, O3, O3_24h, O3_8h, O3_8h_24h, CO, CO_24h.
Hour ``h`` of file ``D`` is the value labelled D h:00, i.e. the hour **ending** then (CNEMC convention), so
``hi = days(D)·24 + h``. Units µg/m³, CO mg/m³. Empty cell = not published.

Defects found in real files and how they are handled (each reported in the import messages):

* trailing empty columns on every line (``china_sites_20230121.csv``: six) — ignored;
* a truncated last line (``china_sites_20230120.csv``: 1,738 of 2,029 fields) — the complete fields are kept,
  the cut-off last field is quarantined because its digits may be incomplete, the missing stations stay empty;
* a line with more non-empty fields than the header, an unknown ``type``, a non-numeric cell, a ``date`` that
  disagrees with the file name — quarantined with line and field, the rest kept.
"""

from __future__ import annotations

import io
import re
from dataclasses import dataclass
from datetime import date
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pacsv

from .common import (
    MISSING_MARKERS,
    ParsedFile,
    Quarantine,
    coerce_numeric,
    read_bytes,
    screen,
    sha256_of,
    utf8_bytes,
)
from .errors import IngestError
from .limits import MAX_STATIONS, check_columns, check_lines, clip

KIND = "quotsoft"

TYPE_COLUMNS: dict[str, str] = {
    "AQI": "pub_aqi",
    "PM2.5": "pm25",
    "PM2.5_24h": "pub_pm25_24h",
    "PM10": "pm10",
    "PM10_24h": "pub_pm10_24h",
    "SO2": "so2",
    "SO2_24h": "pub_so2_24h",
    "NO2": "no2",
    "NO2_24h": "pub_no2_24h",
    "O3": "o3",
    "O3_24h": "pub_o3_24h",
    "O3_8h": "pub_o3_8h",
    "O3_8h_24h": "pub_o3_8h_24h",
    "CO": "co",
    "CO_24h": "pub_co_24h",
}
_COLS = list(TYPE_COLUMNS.values())
_EPOCH = date(1970, 1, 1)
_NAME_RE = re.compile(r"(\d{8})")


def _day_index(yyyymmdd: np.ndarray) -> np.ndarray:
    """Days since 1970-01-01 of integer YYYYMMDD values (vectorised)."""
    y, md = np.divmod(yyyymmdd.astype(np.int64), 10000)
    m, d = np.divmod(md, 100)
    months = (y - 1970) * 12 + (m - 1)
    base = np.array("1970-01", dtype="datetime64[M]") + months.astype("timedelta64[M]")
    return (base.astype("datetime64[D]") - np.datetime64("1970-01-01", "D")).astype(np.int64) + (d - 1)


def _is_calendar_day(yyyymmdd: np.ndarray) -> np.ndarray:
    """Whether each integer is a real calendar day YYYYMMDD of the years 1970–2200."""
    ok = (yyyymmdd >= 19700101) & (yyyymmdd <= 22001231)  # NaN (an empty cell) is not a day
    if ok.any():
        text = pd.Series(yyyymmdd[ok].astype(np.int64).astype(str))
        ok[ok] = pd.to_datetime(text, format="%Y%m%d", errors="coerce").notna().to_numpy()
    return ok


def _integers(raw: pd.Series, line_no: np.ndarray, field: str, q: Quarantine, lo: int, hi: int) -> np.ndarray:
    """Whole numbers from ``lo`` to ``hi`` (date as YYYYMMDD, hour) as floats; others NaN and quarantined."""
    v = coerce_numeric(raw, line_no, field, q, param="")
    with np.errstate(invalid="ignore"):
        bad = ~np.isnan(v) & ((v < lo) | (v > hi) | (v != np.floor(v)))
    if bad.any():
        q.extend(line_no[bad], field, raw[bad].tolist(), f"应为 {lo}–{hi} 的整数")
        v[bad] = np.nan
    return v


@dataclass
class _Rows:
    """The data lines read so far: one entry per line (values: one column per station)."""

    values: np.ndarray
    dates: np.ndarray
    hours: np.ndarray
    types: np.ndarray
    line_no: np.ndarray

    def select(self, keep: np.ndarray) -> "_Rows":
        return _Rows(self.values[keep], self.dates[keep], self.hours[keep], self.types[keep], self.line_no[keep])


def _not_quotsoft(source: str, found: str) -> IngestError:
    return IngestError(f"{source}: 不是 quotsoft 站点日文件（表头应以 date,hour,type 开头，实为 {found}）")


def _split_lines(buf: bytes, source: str) -> list[bytes]:
    """The file's lines without line ends; the header's shape and every line's length are checked first, so an
    absurd file is refused before it is split."""
    end = buf.find(b"\n")
    first = buf if end < 0 else buf[:end]
    if not first.startswith(b"date,hour,type"):
        raise _not_quotsoft(source, clip(first[:60].decode("utf-8", "replace"), 40))
    check_columns(first.rstrip(b"\r").rstrip(b", ").count(b",") - 2, source, MAX_STATIONS, "个站点")
    check_lines(buf, source)
    lines = buf.split(b"\n")
    if lines and lines[-1].strip() == b"":
        lines.pop()
    lines = [ln[:-1] if ln.endswith(b"\r") else ln for ln in lines]
    if not lines:
        raise IngestError(f"{source}: 空文件")
    return lines


def _stations(header_line: bytes, source: str, messages: list[str]) -> tuple[list[str], int]:
    """The station codes of the header and its number of fields (trailing empty columns dropped)."""
    header = header_line.decode("utf-8").split(",")
    if header[:3] != ["date", "hour", "type"]:
        raise _not_quotsoft(source, clip(",".join(header[:3]), 60))
    trailing = 0
    while header and header[-1].strip() == "":
        header.pop()
        trailing += 1
    stations = [h.strip() for h in header[3:]]
    if len(set(stations)) != len(stations):
        raise IngestError(f"{source}: 表头中站点编码重复")
    if any(s in ("", "date", "hour", "type") for s in stations):
        raise IngestError(f"{source}: 表头中有空的或保留的站点编码（date、hour、type）")
    if trailing:
        messages.append(f"表头末尾有 {trailing} 个空列，已忽略")
    return stations, len(header)


def _empty_table() -> pa.Table:
    return pa.table({"station": pa.array([], pa.dictionary(pa.int32(), pa.string())), "hi": pa.array([], pa.int32()),
                     **{c: pa.array([], pa.float64()) for c in _COLS}})


def _sort_lines(lines: list[bytes], n_fields: int, q: Quarantine,
                messages: list[str]) -> tuple[np.ndarray, list[int], list[tuple[int, list[str]]]]:
    """Field counts of the data lines, the lines to read (0-based into ``lines[1:]``; extra empty columns are
    tolerated) and the truncated lines with their fields; lines with extra non-empty fields are quarantined."""
    counts = np.fromiter((ln.count(b",") + 1 for ln in lines[1:]), dtype=np.int64, count=len(lines) - 1)
    good_rows: list[int] = []
    extra_cols_lines = 0
    truncated: list[tuple[int, list[str]]] = []
    for i, c in enumerate(counts):
        if c == n_fields:
            good_rows.append(i)
        elif c > n_fields:
            extra = lines[i + 1].split(b",")[n_fields:]
            if all(e.strip() == b"" for e in extra):
                good_rows.append(i)
                extra_cols_lines += 1
            else:
                q.add(i + 2, "*", lines[i + 1][:200].decode("utf-8", "replace"), f"字段数 {c} 多于表头 {n_fields}")
        else:
            fields = lines[i + 1].decode("utf-8", "replace").split(",")
            truncated.append((i, fields))
    if extra_cols_lines:
        messages.append(f"{extra_cols_lines} 行末尾带有空列，已忽略")
    return counts, good_rows, truncated


def _read_good_lines(buf: bytes, lines: list[bytes], counts: np.ndarray, good_rows: list[int], stations: list[str],
                     n_fields: int, source: str, q: Quarantine) -> _Rows:
    """The good lines through pyarrow (fast path: every station column typed float), or through pandas with
    line-accurate quarantine when pyarrow refuses a cell."""
    names = ["date", "hour", "type"] + stations
    if len(good_rows) == len(counts) and (counts == n_fields).all():
        body = buf[buf.index(b"\n") + 1:]  # regular file: hand pyarrow the bytes as they are
    elif len(good_rows) == len(counts) and (counts == counts[0]).all():
        body = buf[buf.index(b"\n") + 1:]  # every line has the same trailing empty columns
        names = names + [f"_empty{k}" for k in range(int(counts[0]) - n_fields)]
    else:
        body = b"\n".join([b",".join(lines[i + 1].split(b",")[:n_fields]) if counts[i] > n_fields else lines[i + 1]
                           for i in good_rows])
    line_no = np.asarray(good_rows, dtype=np.int64) + 2
    try:
        return _read_fast(body, names, stations, line_no, q)
    except (pa.ArrowInvalid, ValueError):
        return _read_detailed(body, names, stations, line_no, source, q)


def _read_fast(body: bytes, names: list[str], stations: list[str], line_no: np.ndarray, q: Quarantine) -> _Rows:
    table = pacsv.read_csv(
        io.BytesIO(body),
        read_options=pacsv.ReadOptions(column_names=names, use_threads=False),
        convert_options=pacsv.ConvertOptions(
            include_columns=["date", "hour", "type", *stations],
            column_types={"date": pa.int64(), "hour": pa.int64(), "type": pa.string(),
                          **{s: pa.float64() for s in stations}},
            strings_can_be_null=True,
        ),
    )
    values = np.column_stack([table.column(s).to_numpy(zero_copy_only=False) for s in stations]) if stations \
        else np.empty((table.num_rows, 0))
    values = values.astype(float)
    if stations:  # "NAN", "+nan": pyarrow reads a NaN that is not an empty cell
        valid = np.column_stack([pc.is_valid(table.column(s)).to_numpy(zero_copy_only=False) for s in stations])
        nan_text = valid & np.isnan(values)
        if nan_text.any():
            r, c = np.nonzero(nan_text)
            q.extend(line_no[r], [stations[j] for j in c], ["nan"] * len(r), "非数值")
    return _Rows(values, table.column("date").to_numpy(), table.column("hour").to_numpy(),
                 np.asarray(table.column("type").to_pylist(), dtype=object), line_no)


def _read_detailed(body: bytes, names: list[str], stations: list[str], line_no: np.ndarray, source: str,
                   q: Quarantine) -> _Rows:
    try:
        df = pd.read_csv(io.BytesIO(body), header=None, names=names, dtype=str, keep_default_na=False)
    except (pd.errors.ParserError, pd.errors.EmptyDataError, ValueError) as e:
        raise IngestError(f"{source}: CSV 结构错误：{clip(e, 200)}") from None
    dates_f = _integers(df["date"], line_no, "date", q, 0, 99_991_231)
    hours_f = _integers(df["hour"], line_no, "hour", q, 0, 99)
    ok = ~np.isnan(dates_f) & ~np.isnan(hours_f)
    # cells are screened by their row's type later: here only non-numeric text is quarantined
    values = np.column_stack([coerce_numeric(df[s], line_no, s, q, allow_negative=True, param="")
                              for s in stations])[ok] if stations else np.empty((int(ok.sum()), 0))
    return _Rows(values, dates_f[ok].astype(np.int64), hours_f[ok].astype(np.int64),
                 df["type"].to_numpy(dtype=object)[ok], line_no[ok])


def _add_truncated(rows: _Rows, truncated: list[tuple[int, list[str]]], names: list[str], n_fields: int,
                   q: Quarantine, messages: list[str]) -> _Rows:
    """Truncated lines: keep their complete fields, quarantine the possibly cut last one."""
    stations = names[3:]
    for i, fields in truncated:
        ln = i + 2
        messages.append(f"第 {ln} 行被截断：只有 {len(fields)} 个字段（应为 {n_fields}），缺少的 {n_fields - len(fields)} 个站点按缺测处理")
        if len(fields) < 4:
            q.add(ln, "*", ",".join(fields), "截断行，无数据")
            continue
        q.add(ln, names[len(fields) - 1], fields[-1], "截断行的最后一个字段可能不完整，未采用")
        row = np.full(len(stations), np.nan)
        for j, cell in enumerate(fields[3:-1]):  # rare path: one line, plain loop is fine
            text = cell.strip()
            if text in MISSING_MARKERS:
                continue
            try:
                row[j] = float(text)
            except ValueError:
                q.add(ln, stations[j], text, "非数值")
            else:
                if np.isnan(row[j]):
                    q.add(ln, stations[j], text, "非数值")
        try:
            d, h = int(fields[0]), int(fields[1])
            if not (0 <= d <= 99_991_231 and 0 <= h <= 99):
                raise ValueError
        except ValueError:
            q.add(ln, "date/hour", ",".join(fields[:3]), "截断行的日期或时次无效")
            continue
        rows = _Rows(np.vstack([rows.values, row[None, :]]), np.append(rows.dates, d), np.append(rows.hours, h),
                     np.append(rows.types, fields[2]), np.append(rows.line_no, ln))
    return rows


def _validate(rows: _Rows, source: str, stations: list[str], q: Quarantine) -> tuple[_Rows, np.ndarray]:
    """Lines with a valid date (the file's day), hour and type, their cells screened by the type's range; with
    each line's type index into ``_COLS``."""
    m = _NAME_RE.search(Path(source).name)
    file_day = int(m.group(1)) if m else None
    dates, hours, line_no = rows.dates, rows.hours, rows.line_no
    bad = np.zeros(len(dates), dtype=bool)
    if file_day is not None:
        wrong_day = dates != file_day
        if wrong_day.any():
            q.extend(line_no[wrong_day], "date", dates[wrong_day].tolist(), f"日期与文件名 {file_day} 不符")
            bad |= wrong_day
    not_a_day = ~_is_calendar_day(dates) & ~bad
    if not_a_day.any():
        q.extend(line_no[not_a_day], "date", dates[not_a_day].tolist(), "日期无效（应为 YYYYMMDD）")
        bad |= not_a_day
    bad_hour = ~((hours >= 0) & (hours <= 23))  # NaN (an empty cell) too
    if bad_hour.any():
        q.extend(line_no[bad_hour], "hour", hours[bad_hour].tolist(), "时次应为 0–23")
        bad |= bad_hour
    type_idx = np.array([_COLS.index(TYPE_COLUMNS[t]) if t in TYPE_COLUMNS else -1 for t in rows.types], dtype=np.int64)
    unknown = type_idx < 0
    if unknown.any():
        q.extend(line_no[unknown], "type", rows.types[unknown].tolist(), "未知的数据类型")
        bad |= unknown
    keep = ~bad
    rows, type_idx = rows.select(keep), type_idx[keep]
    for t in np.unique(type_idx):  # infinite, negative and out-of-range cells, by the range of the row's type
        sel = type_idx == t
        block = rows.values[sel]
        screen(block, rows.line_no[sel], stations, q, _COLS[t], negative_reason="负值（按缺测处理）")
        rows.values[sel] = block
    return rows, type_idx


def _drop_duplicates(values: np.ndarray, hi_rows: np.ndarray, type_idx: np.ndarray, line_no: np.ndarray,
                     q: Quarantine, messages: list[str]) -> np.ndarray:
    """Which lines to keep: of duplicate (hour, type) lines the first; a later one with other values is quarantined."""
    key = hi_rows * 16 + type_idx
    order = np.argsort(key, kind="stable")
    dup = np.zeros(len(key), dtype=bool)
    if len(key) > 1:
        same = key[order][1:] == key[order][:-1]
        dup[order[1:][same]] = True
        first_of = {}
        for pos in np.flatnonzero(dup):
            k = key[pos]
            first = first_of.setdefault(k, order[np.searchsorted(key[order], k)])
            if not np.array_equal(values[pos], values[first], equal_nan=True):
                q.add(line_no[pos], "type", _COLS[type_idx[pos]], f"与第 {line_no[first]} 行时次、类型重复且数值不同，未采用")
        if dup.any():
            messages.append(f"{int(dup.sum())} 行与前面的行时次、类型重复")
    return ~dup


def _station_hours(values: np.ndarray, hi_rows: np.ndarray, type_idx: np.ndarray, stations: list[str]) -> pa.Table:
    """One row per station-hour with any value, one column per published type (lines are hour × type)."""
    hours_u, hour_pos = np.unique(hi_rows, return_inverse=True)
    cube = np.full((len(hours_u), len(_COLS), len(stations)), np.nan)
    cube[hour_pos, type_idx, :] = values
    flat = cube.transpose(0, 2, 1).reshape(-1, len(_COLS))
    station_idx = np.tile(np.arange(len(stations), dtype=np.int32), len(hours_u))
    hi_arr = np.repeat(hours_u, len(stations))
    present = ~np.isnan(flat).all(axis=1)
    station_col = pa.DictionaryArray.from_arrays(pa.array(station_idx[present]), pa.array(stations, pa.string()))
    return pa.table(
        {"station": station_col, "hi": pa.array(hi_arr[present], pa.int32()),
         **{c: pa.array(flat[present, j], pa.float64(), from_pandas=True) for j, c in enumerate(_COLS)}}
    )


def parse(path: str | Path, data: bytes | None = None) -> ParsedFile:
    """One quotsoft station-day file (``date,hour,type,<station>…``) as station-hours (defects: module docstring)."""
    source = str(path)
    raw = read_bytes(path) if data is None else data
    sha = sha256_of(raw)
    buf, encoding = utf8_bytes(raw, source)
    q = Quarantine(source)
    messages: list[str] = []
    if encoding != "UTF-8":
        messages.append(f"文件编码为 {encoding}，已按该编码读取")
    lines = _split_lines(buf, source)
    stations, n_fields = _stations(lines[0], source, messages)
    if len(lines) == 1:  # a day without any published line
        messages.append("文件只有表头，没有数据行")
        return ParsedFile(source, KIND, _empty_table(), q, messages, rows_read=0, sha256=sha)
    counts, good_rows, truncated = _sort_lines(lines, n_fields, q, messages)
    rows = _read_good_lines(buf, lines, counts, good_rows, stations, n_fields, source, q)
    rows = _add_truncated(rows, truncated, ["date", "hour", "type"] + stations, n_fields, q, messages)
    rows, type_idx = _validate(rows, source, stations, q)
    hi_rows = _day_index(rows.dates) * 24 + rows.hours if len(rows.dates) else np.empty(0, dtype=np.int64)
    keep = _drop_duplicates(rows.values, hi_rows, type_idx, rows.line_no, q, messages)
    data = _station_hours(rows.values[keep], hi_rows[keep], type_idx[keep], stations)
    return ParsedFile(source, KIND, data, q, messages, rows_read=len(lines) - 1, sha256=sha)
