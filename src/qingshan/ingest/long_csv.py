"""The documented long format for users' own hourly air data (CSV or XLSX), see docs/formats.md.

Columns: ``station,time,so2,no2,co,o3,pm10,pm25`` (any subset of the pollutants; extra columns are ignored and
reported). ``time`` is Beijing time labelled by the **end** of the hour (``2023-01-20 01:00`` = 00:00–01:00;
``24:00`` is accepted) unless the caller says the file is hour-beginning. Units are µg/m³ and CO mg/m³ unless the
header says otherwise as ``name[unit]`` — e.g. ``co[ug/m3]`` or ``pm25[mg/m3]`` — which is converted at import.
Volume units (ppb, ppm) are refused: converting them needs the temperature/pressure convention of GB 3095.

Fast path: a clean file is parsed by pyarrow with typed columns; a file with any bad cell is re-read cell by cell
so every rejected cell is reported with its line and field while the rest of the row is kept.
"""

from __future__ import annotations

import csv
import io
import re
from pathlib import Path

import duckdb
import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pacsv

from ..standards.pollutants import POLLUTANTS, SIX
from ..standards.ranges import RANGES
from .cnemc_api import dedupe, parse_hour_index
from .common import (
    MISSING_MARKERS,
    ParsedFile,
    Quarantine,
    coerce_numeric,
    file_is_utf8,
    open_input,
    read_bytes,
    screen,
    sha256_of,
    utf8_bytes,
)
from .errors import IngestError
from .limits import check_columns, check_header, check_lines, clip, header_fields, ignored_message, read_xlsx

KIND = "long"

_HEADER_RE = re.compile(r"^\s*([A-Za-z0-9_.]+)\s*(?:[\[(（]\s*([^\])）]+?)\s*[\])）])?\s*$")
_ALIASES = {"pm2.5": "pm25", "pm2_5": "pm25", "o3_1h": "o3", "time_end": "time", "timepoint": "time",
            "stationcode": "station", "code": "station"}
_UNIT_FACTORS = {  # factor to the canonical unit of the pollutant family
    "ug/m3": 1.0, "μg/m3": 1.0, "µg/m3": 1.0, "ug/m³": 1.0, "μg/m³": 1.0, "µg/m³": 1.0,
    "mg/m3": 1000.0, "mg/m³": 1000.0,
}
#: CO above this (mg/m³) as a median is not plausible: the data are almost certainly µg/m³.
CO_MEDIAN_MAX_MG = 20.0
#: Bytes of the first line read as the header (the line limit applies; this only bounds the read itself).
MAX_HEADER_READ = (1 << 20) + 2


def _canonical_header(columns: list[str], source: str) -> tuple[list[str], dict[str, float], list[str]]:
    """Map header cells to canonical names, unit factors, and ignored columns."""
    names: list[str] = []
    factors: dict[str, float] = {}
    ignored: list[str] = []
    for col in columns:
        m = _HEADER_RE.match(str(col))
        base = m.group(1).lower() if m else str(col).strip().lower()
        unit = m.group(2) if m else None
        base = _ALIASES.get(base, base)
        names.append(base)
        if base in SIX:
            if unit is None:
                factors[base] = 1.0
                continue
            u = unit.replace(" ", "").lower().replace("μ", "µ")
            if u not in {k.lower() for k in _UNIT_FACTORS}:
                raise IngestError(
                    f"{source}: 列 {col} 的单位 {unit!r} 无法识别或不能直接换算"
                    f"（只接受 µg/m³、mg/m³；ppb/ppm 需按 GB 3095 参比状态换算，请先换算后再导入）"
                )
            f = _UNIT_FACTORS[next(k for k in _UNIT_FACTORS if k.lower() == u)]
            factors[base] = f / 1000.0 if POLLUTANTS[base].unit == "mg/m³" else f
        elif base not in ("station", "time"):
            ignored.append(str(col))
    repeated = sorted({n for n in names if names.count(n) > 1 and (n in SIX or n in ("station", "time"))})
    if repeated:
        raise IngestError(f"{source}: 表头中的列重复：{'、'.join(repeated)}（如 pm25 与 pm2.5 同时出现）")
    return names, factors, ignored


def _check_units(frame: dict[str, np.ndarray], source: str) -> None:
    """Refuse a CO column that is evidently µg/m³. The median is taken over the values that are plausible in
    either unit (finite, 0 … the CO range in µg/m³), so that a few absurd cells (``inf``, ``1e308``), which are
    quarantined anyway, can neither trigger nor hide the check."""
    co = frame.get("co")
    if co is None:
        return
    with np.errstate(invalid="ignore"):
        plausible = co[np.isfinite(co) & (co >= 0) & (co <= RANGES["co"].hi * 1000)]
    if len(plausible):
        med = float(np.median(plausible))
        if med > CO_MEDIAN_MAX_MG:
            raise IngestError(
                f"{source}: 一氧化碳(CO)中位数为 {med:g}，按 mg/m³ 不合理，疑似单位为 µg/m³；"
                f"请将表头写作 co[ug/m3] 以便换算，文件未导入"
            )


def _finish(
    source: str, sha: str, station: pa.Array, hi: np.ndarray, values: dict[str, np.ndarray], line_no: np.ndarray,
    q: Quarantine, messages: list[str], rows_read: int,
) -> ParsedFile:
    """Drop rows without a valid time or station, resolve duplicates, build the canonical Arrow table."""
    station = pc.utf8_trim_whitespace(station.fill_null(""))
    empty_station = pc.equal(station, "").to_numpy(zero_copy_only=False)
    if empty_station.any():
        q.extend(line_no[empty_station], "station", [""] * int(empty_station.sum()), "缺少站点编码")
    ok = ~np.isnan(hi) & ~empty_station
    keep = (lambda a: a) if ok.all() else (lambda a: a[ok])
    table = pa.table({
        "station": pc.dictionary_encode(station if ok.all() else station.filter(pa.array(ok))),
        "hi": pa.array(keep(hi).astype(np.int32)),
        **{k: pa.array(keep(values.pop(k)), pa.float64(), from_pandas=True) for k in list(values)},
    })
    con = duckdb.connect()
    con.register("_t", table)
    (ndup,) = con.execute("SELECT count(*) - count(DISTINCT (station, hi)) FROM _t").fetchall()[0]
    con.close()
    if ndup:
        frame = table.to_pandas()
        frame["station"] = frame["station"].astype(str)
        frame = dedupe(frame, line_no[ok], q, messages, [c for c in frame.columns if c not in ("station", "hi")])
        table = pa.Table.from_pandas(frame, preserve_index=False)
    return ParsedFile(source, KIND, table, q, messages, rows_read, sha)


def _checked_header(header: list[str], source: str, messages: list[str], shown: str = "") -> tuple[list[str], dict[str, float]]:
    """Canonical column names and pollutant unit factors of a header that has station, time and a pollutant
    (else :class:`IngestError`; ``shown`` is appended to the missing-column message); ignored columns are noted."""
    names, factors, ignored = _canonical_header(header, source)
    if "station" not in names or "time" not in names:
        raise IngestError(f"{source}: 缺少必需列 station 与 time{shown}")
    if not factors:
        raise IngestError(f"{source}: 没有任何污染物列（应为 so2,no2,co,o3,pm10,pm25 中的若干列）")
    if ignored:
        messages.append(ignored_message(ignored))
    return names, factors


def parse(path: str | Path, data: bytes | None = None, hour_beginning: bool = False) -> ParsedFile:
    source = str(path)
    q = Quarantine(source)
    messages: list[str] = []
    if Path(source).suffix.lower() in (".xlsx", ".xlsm"):
        raw = read_bytes(path) if data is None else data
        df = read_xlsx(raw, source)
        return _from_strings(df, source, sha256_of(raw), q, messages, hour_beginning)
    if data is None:
        with open_input(path) as fh:  # a million-column header is refused before the file is scanned
            check_header(fh.read(MAX_HEADER_READ), source)
        is_utf8, bom, sha = file_is_utf8(path)
        if is_utf8 and not bom:  # the common big-file case: pyarrow reads the file itself, nothing held twice
            buf, encoding = None, "UTF-8"
        else:
            buf, encoding = utf8_bytes(read_bytes(path), source)
    else:
        sha = sha256_of(data)
        buf, encoding = utf8_bytes(data, source)
    if encoding != "UTF-8":
        messages.append(f"文件编码为 {encoding}，已按该编码读取")
    if buf is not None:
        check_header(buf, source)
        check_lines(buf, source)  # a file read by pyarrow itself was checked while it was hashed
    with (open(path, "rb") if buf is None else io.BytesIO(buf)) as fh:
        header_line = fh.readline(MAX_HEADER_READ).decode("utf-8", "replace").rstrip("\r\n")
    header = header_fields(header_line.encode("utf-8"), source)
    check_columns(len(header), source)
    names, factors = _checked_header(header, source, messages, f"（实际表头：{clip(header_line, 200)}）")
    try:  # fast path
        table = pacsv.read_csv(
            str(path) if buf is None else io.BytesIO(buf),
            read_options=pacsv.ReadOptions(column_names=names, skip_rows=1),
            convert_options=pacsv.ConvertOptions(
                include_columns=["station", "time", *factors],
                column_types={"station": pa.string(), "time": pa.string(), **{p: pa.float64() for p in factors}},
                null_values=sorted(MISSING_MARKERS),
                strings_can_be_null=True,
            ),
        )
    except (pa.ArrowInvalid, pa.ArrowTypeError):
        df, line_no = _read_rows_checked(read_bytes(path) if buf is None else buf, names, q, source)
        return _from_strings(df, source, sha, q, messages, hour_beginning, factors, line_no)
    n = table.num_rows
    line_no = np.arange(n, dtype=np.int64) + 2
    values = {}
    not_null: dict[str, np.ndarray] = {}
    for p in factors:  # one float array per pollutant; the Arrow column is released as we go
        col = table.column(p)
        not_null[p] = col.is_valid().to_numpy(zero_copy_only=False)
        v = col.to_numpy(zero_copy_only=False).astype(float, copy=True)
        if factors[p] != 1.0:
            with np.errstate(over="ignore"):  # infinite, quarantined by the screen below
                v *= factors[p]
        values[p] = v
        table = table.drop_columns([p])
    _check_units(values, source)
    for p, v in values.items():
        nan_text = not_null[p] & np.isnan(v)  # "NAN", "+nan": pyarrow reads a NaN that is not a missing marker
        if nan_text.any():
            q.extend(line_no[nan_text], p, ["nan"] * int(nan_text.sum()), "非数值")
        screen(v, line_no, p, q, factor=factors[p])
    times = table.column("time")
    try:
        ts = pc.strptime(pc.utf8_trim_whitespace(times), format="%Y-%m-%d %H:%M", unit="s", error_is_null=False)
        secs = ts.cast(pa.int64()).to_numpy(zero_copy_only=False)
        if (secs % 3600 != 0).any():
            raise ValueError
        hi = (secs // 3600).astype(float)
    except (pa.ArrowInvalid, ValueError):
        hi = parse_hour_index(times.to_pandas(), line_no, q, "time")
    if hour_beginning:
        hi = hi + 1
    station = table.column("station").combine_chunks()
    del table, times  # release the text columns before the canonical table is built
    return _finish(source, sha, station, hi, values, line_no, q, messages, n)


def _plain_numbers(raw: pd.Series) -> np.ndarray:
    """Numbers of a text column without any check (NaN where not a number): the CO unit check looks at the whole
    column before the cells are screened and quarantined."""
    return pd.to_numeric(raw.astype("string").str.strip(), errors="coerce").to_numpy(dtype=float, na_value=np.nan)


def _read_rows_checked(buf: bytes, names: list[str], q: Quarantine, source: str = "") -> tuple[pd.DataFrame, np.ndarray]:
    """Read CSV rows as text with their real line numbers; rows with a wrong number of fields are quarantined."""
    reader = csv.reader(io.StringIO(buf.decode("utf-8"), newline=""))
    rows: list[list[str]] = []
    lines: list[int] = []
    start = 2
    try:
        next(reader, None)
        for row in reader:
            if len(row) == len(names):
                rows.append(row)
                lines.append(start)
            elif any(cell.strip() for cell in row):
                q.add(start, "*", ",".join(row), f"字段数 {len(row)} 与表头 {len(names)} 不符")
            start = reader.line_num + 1
    except csv.Error as e:  # a field beyond the csv module's limit (128 KiB), a NUL byte …
        raise IngestError(f"{source}: 第 {reader.line_num} 行 CSV 结构错误（{clip(e)}）") from None
    return pd.DataFrame(rows, columns=names, dtype=str), np.asarray(lines, dtype=np.int64)


def _count_rows(df: pd.DataFrame, q: Quarantine) -> int:
    """Rows read = rows parsed + rows rejected for their structure."""
    return len(df) + sum(1 for f in q.fields if f == "*")


def _from_strings(
    df: pd.DataFrame, source: str, sha: str, q: Quarantine, messages: list[str], hour_beginning: bool,
    factors: dict[str, float] | None = None, line_no: np.ndarray | None = None,
) -> ParsedFile:
    """Detailed path: every cell validated; used for XLSX and for CSV files with bad cells."""
    if factors is None:
        names, factors = _checked_header(list(df.columns), source, messages)
        df.columns = names
    if line_no is None:
        line_no = np.arange(len(df), dtype=np.int64) + 2
    with np.errstate(over="ignore"):
        _check_units({"co": _plain_numbers(df["co"]) * factors["co"]} if "co" in factors else {}, source)
    values = {p: coerce_numeric(df[p], line_no, p, q, factor=factors[p]) for p in factors}
    hi = parse_hour_index(df["time"], line_no, q, "time")
    if hour_beginning:
        hi = hi + 1
    return _finish(source, sha, pa.array(df["station"].astype(str).tolist(), pa.string()), hi, values, line_no, q,
                   messages, _count_rows(df, q))
