"""National automatic surface-water stations (国家地表水水质自动监测实时数据发布系统), decoded as published.

Three shapes of the same publication are read (docs/water.md):

1. **Raw API responses** ``YYYY-MM-DD.json`` or ``.json.gz``: ``{"thead": [...], "tbody": [[...], ...]}``. The
   columns are found by their header text (省份, 流域, 断面名称, 监测时间, 水质类别, 水温, pH, 溶解氧, 电导率, 浊度,
   高锰酸盐指数, 氨氮, 总磷, 总氮, 叶绿素α, 藻密度, 站点情况). Cells are plain text or an HTML
   ``<span … title='…'>shown</span>``: a title ``原始值：x`` carries the unrounded value, ``所在地市:…&#10;所属河流:…``
   (section cell, after 2020-11) the city and river, any other title (``极值过滤``) is kept as a note.
2. **Flat snapshot table** (``source_file, province, basin, section, city, river, monitor_time_published,
   datetime_local_inferred, water_class, X, X_raw, X_note …, station_status``), one row per tbody row.
3. **Per-section CSV** of the publishing site (``省份,流域,断面名称,监测时间,水质类别,水温(℃),pH(无量纲),…,站点情况``),
   single or concatenated with a ``source_path`` column.

Markers, as published: ``--`` = no value (missing, or suppressed by the extreme-value filter when the tooltip says
极值过滤), ``*`` = item not measured at this station, empty = missing. They become NULL values with the marker kept
in ``<item>_shown`` and the tooltip text in ``<item>_note``. The official 水质类别 and the 站点情况 text
(正常/维护/停站/不具备运行条件) are stored verbatim.

Time: the publication gives ``MM-DD HH:MM`` without a year. The year is that of the file (its name
``YYYY-MM-DD…`` or a ``YYYY-MM`` folder in its path / ``source_path``), the previous year when the month is later
than the file's month (a stale row carried over the new year). The flat snapshot table already holds this
inference in ``datetime_local_inferred``. Rows without a time (``*``, ``--``, null — stations without data) hold
no measurement: they are counted and reported by status, not stored.

Units: as published (mg/L; 电导率 µS/cm; 浊度 NTU; 藻密度 cells/L), except 叶绿素α, published in mg/L and stored in
mg/m³ (×1000), the project's canonical chla unit.
"""

from __future__ import annotations

import html
import json
import re
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa

from ..store.water import AUTO_ITEMS
from .common import ImportReport, ParsedFile, Quarantine, read_bytes, screen, sha256_of, utf8_bytes
from .errors import IngestError
from .limits import MAX_JSON_BYTES, check_columns, check_size, clip, gunzip, read_csv_text, shown_names

KIND = "water-auto"

#: Header text (start of the thead cell / CSV header, before the unit) → canonical column.
HEADER_MAP: dict[str, str] = {
    "省份": "province", "流域": "basin", "断面名称": "section", "监测时间": "time_published",
    "水质类别": "official_class", "水温": "temp", "pH": "ph", "溶解氧": "do", "电导率": "cond", "浊度": "turb",
    "高锰酸盐指数": "codmn", "氨氮": "nh3n", "总磷": "tp", "总氮": "tn", "叶绿素α": "chla", "叶绿素a": "chla",
    "藻密度": "algae", "站点情况": "status",
}
#: Column stems of the flat snapshot table.
FLAT_MAP: dict[str, str] = {
    "temp_c": "temp", "ph": "ph", "do_mg_l": "do", "cond_us_cm": "cond", "turb_ntu": "turb",
    "codmn_mg_l": "codmn", "nh3n_mg_l": "nh3n", "tp_mg_l": "tp", "tn_mg_l": "tn", "chla_mg_l": "chla",
    "algae_cells_l": "algae",
}
#: Conversion of the published unit to the stored one.
FACTORS: dict[str, float] = {"chla": 1000.0}
MARKERS = {"--": "--", "*": "*", "": "", "-": "--", "—": "--"}

_SPAN = re.compile(r"<span[^>]*?title=(['\"])(.*?)\1[^>]*>(.*?)</span>", re.S)
_TAG = re.compile(r"<[^>]+>")
_RAW = re.compile(r"原始值[：:]\s*(\S+)")
_YM = re.compile(r"(20\d\d)-(\d\d)(?:-(\d\d))?")


@dataclass
class Cell:
    shown: str
    title: str


def decode_cell(cell: object) -> Cell:
    """Shown text and tooltip of one published cell (plain text, None, or an HTML span)."""
    if cell is None:
        return Cell("", "")
    s = str(cell)
    if "<" not in s:
        return Cell(s.strip(), "")
    m = _SPAN.search(s)
    if not m:
        return Cell(_unescape(_TAG.sub("", s)).strip(), "")
    inner = m.group(3)
    return Cell(_unescape(_TAG.sub("", inner) if "<" in inner else inner).strip(), _unescape(m.group(2)).strip())


def _unescape(s: str) -> str:
    return html.unescape(s) if "&" in s else s


def _raw_value(title: str) -> str | None:
    """The 原始值 of a tooltip, None when the tooltip is something else."""
    if not title.startswith("原始值"):
        return None
    m = _RAW.match(title)
    return m.group(1) if m else ""


def _section_meta(title: str) -> tuple[str, str]:
    city = river = ""
    for part in re.split(r"[\n\r]+", title):
        k, _, v = part.partition(":") if ":" in part else part.partition("：")
        if k.strip() == "所在地市":
            city = v.strip()
        elif k.strip() == "所属河流":
            river = v.strip()
    return city, river


def _file_date(path: str) -> tuple[int, int] | None:
    """(year, month) of a file from its name, else from a YYYY-MM folder in its path."""
    name = Path(path).name
    m = _YM.search(name)
    if m:
        return int(m.group(1)), int(m.group(2))
    for part in reversed(Path(path).parts[:-1]):
        m = _YM.fullmatch(part) or _YM.search(part)
        if m:
            return int(m.group(1)), int(m.group(2))
    return None


_TIME = re.compile(r"^\s*(\d{1,2})-(\d{1,2})\s+(\d{1,2}):(\d{2})\s*$")


def infer_timestamp(published: str, year: int, month: int) -> datetime | None:
    """``MM-DD HH:MM`` of a file of (year, month) → datetime; the previous year when MM > month."""
    m = _TIME.match(published or "")
    if not m:
        return None
    mo, d, h, mi = (int(x) for x in m.groups())
    y = year - 1 if mo > month else year
    try:
        return datetime(y, mo, d, h, mi)
    except ValueError:
        return None


@dataclass
class AutoParsed(ParsedFile):
    """Parsed automatic-station file. ``all_rows`` holds every decoded row with a section, before rows without a
    time are set aside and duplicates resolved (the oracle compares them all with the official class); ``data`` is
    what gets stored."""

    all_rows: pd.DataFrame | None = None


def _numeric(shown: pd.Series, raw: pd.Series, item: str, lines: np.ndarray,
             q: Quarantine) -> tuple[np.ndarray, np.ndarray]:
    """Value of an item: the raw (原始值) number when given, else the shown number; markers → NaN. Non-numeric,
    infinite, negative and physically impossible values (:mod:`qingshan.standards.ranges`) are quarantined: the
    second array marks these rejected cells."""
    def num(s: pd.Series) -> np.ndarray:
        return pd.to_numeric(s.where(~s.isin(list(MARKERS))), errors="coerce").to_numpy(dtype=float, na_value=np.nan)

    sv, rv = num(shown), num(raw)
    bad = np.isnan(sv) & ~shown.isin(list(MARKERS)).to_numpy()
    if bad.any():
        q.extend(lines[bad], item, shown[bad].tolist(), "非数值（按缺测处理）")
    use_raw = ~np.isnan(rv)
    with np.errstate(over="ignore"):  # 1e308 mg/L × 1000: infinite, quarantined below
        value = np.where(use_raw, rv, sv) * FACTORS.get(item, 1.0)
    texts = np.where(use_raw, raw.to_numpy(dtype=object), shown.to_numpy(dtype=object))
    screen(value, lines, item, q, raws=texts)
    rejected = (~shown.isin(list(MARKERS)).to_numpy() | use_raw) & np.isnan(value)  # a value was given, none kept
    return value, rejected


def _frame_from_cells(rows: list[list[object]], columns: list[str], source: str, year_month: tuple[int, int] | None,
                      first_line: int, q: Quarantine) -> pd.DataFrame:
    """Decode tbody-like rows (cells possibly HTML) into the canonical frame."""
    n = len(rows)
    out: dict[str, object] = {"line": np.arange(n, dtype=np.int64) + first_line}
    decoded = {c: [decode_cell(r[i] if i < len(r) else None) for r in rows] for i, c in enumerate(columns) if c}
    for c in ("province", "basin", "official_class", "status", "time_published"):
        out[c] = [x.shown for x in decoded.get(c, [Cell("", "")] * n)]
    sec = decoded.get("section", [Cell("", "")] * n)
    out["section"] = [x.shown for x in sec]
    meta = [_section_meta(x.title) for x in sec]
    out["city"] = [m[0] for m in meta]
    out["river"] = [m[1] for m in meta]
    for item in AUTO_ITEMS:
        cells = decoded.get(item, [Cell("", "")] * n)
        out[f"{item}_shown"] = [x.shown for x in cells]
        raws = [_raw_value(x.title) for x in cells]
        out[f"{item}_rawtext"] = [r if r is not None else "" for r in raws]
        out[f"{item}_note"] = [("" if r is not None else x.title) for r, x in zip(raws, cells)]
    frame = pd.DataFrame(out)
    if year_month is None:
        raise IngestError(f"{source}: 无法从文件名或路径得到年份（发布时间只有“月-日 时:分”）；请把文件命名为 YYYY-MM-DD.json")
    frame["ts"] = [infer_timestamp(t, *year_month) for t in frame["time_published"]]
    return frame


def _finish_frame(frame: pd.DataFrame, q: Quarantine) -> pd.DataFrame:
    lines = frame["line"].to_numpy()
    for item in AUTO_ITEMS:
        shown = frame[f"{item}_shown"].astype(str).str.strip()
        raw = frame[f"{item}_rawtext"].astype(str).str.strip() if f"{item}_rawtext" in frame else pd.Series([""] * len(frame))
        frame[item], rejected = _numeric(shown, raw, item, lines, q)
        frame[f"{item}_shown"] = shown
        if rejected.any():  # a rejected cell keeps what the store holds for it (qingshan.store.water.upsert)
            for c in (item, f"{item}_shown", f"{item}_note"):
                frame[f"_keep_{c}"] = rejected
    raw_cols = [c for c in frame.columns if c.endswith("_rawtext")]
    # whether the row published unrounded values (原始值): the oracle needs to know the precision it compares at
    frame["has_raw"] = (frame[raw_cols].astype(str).apply(lambda s: s.str.strip() != "").any(axis=1)
                        if raw_cols else False)
    frame = frame.drop(columns=raw_cols)
    for c in ("province", "basin", "section", "city", "river", "official_class", "status", "time_published"):
        frame[c] = frame[c].fillna("").astype(str).str.strip()
    frame["station"] = frame["province"] + "/" + frame["section"]
    return frame


def _parse_json(data: bytes, source: str, q: Quarantine) -> pd.DataFrame:
    data = gunzip(data, source) if data[:2] == b"\x1f\x8b" else data
    check_size(len(data), source, MAX_JSON_BYTES)  # a daily publication is about 1 MB
    try:
        doc = json.loads(data.decode("utf-8-sig"))
    except (UnicodeDecodeError, json.JSONDecodeError) as e:
        raise IngestError(f"{source}: 不是有效的 JSON：{clip(e)}") from None
    except RecursionError:
        raise IngestError(f"{source}: JSON 嵌套过深，不是自动站发布接口的响应") from None
    if not isinstance(doc, dict) or not isinstance(doc.get("thead"), list) \
            or not isinstance(doc.get("tbody"), (list, type(None))):
        raise IngestError(f"{source}: JSON 中没有 thead/tbody 列表（不是自动站发布接口的响应）")
    check_columns(len(doc["thead"]), source)
    rows = doc["tbody"] or []
    if not all(isinstance(r, list) for r in rows):
        raise IngestError(f"{source}: JSON 的 tbody 应为行的列表（每行是单元格的列表）")
    columns = _columns_from_headers([_TAG.sub("", str(h)) for h in doc["thead"]], source)
    # a JSON file has no lines: "line" is the 1-based row number within tbody
    return _frame_from_cells(rows, columns, source, _file_date(source), 1, q)


def _columns_from_headers(headers: list[str], source: str) -> list[str]:
    cols: list[str] = []
    for h in headers:
        t = html.unescape(h).strip()
        key = next((v for k, v in HEADER_MAP.items() if t.startswith(k)), "")
        cols.append(key)
    missing = [k for k in ("section", "time_published", "official_class") if k not in cols]
    if missing:
        raise IngestError(f"{source}: 表头缺少 {', '.join(missing)}（实际：{shown_names(headers)}）")
    return cols


_FLAT_REQUIRED = ("province", "basin", "section", "monitor_time_published", "water_class", "datetime_local_inferred")


def _parse_flat(df: pd.DataFrame, source: str, q: Quarantine) -> pd.DataFrame:
    missing = [c for c in _FLAT_REQUIRED if c not in df.columns]
    if missing:
        raise IngestError(f"{source}: 扁平快照表缺少列 {', '.join(missing)}")
    n = len(df)
    frame = pd.DataFrame({
        "line": np.arange(n, dtype=np.int64) + 2,
        "province": df["province"], "basin": df["basin"], "section": df["section"],
        "city": df.get("city", ""), "river": df.get("river", ""),
        "time_published": df["monitor_time_published"], "official_class": df["water_class"],
        "status": df.get("station_status", ""),
    })
    for stem, item in FLAT_MAP.items():
        frame[f"{item}_shown"] = df[stem] if stem in df else ""
        frame[f"{item}_rawtext"] = df[f"{stem}_raw"] if f"{stem}_raw" in df else ""
        frame[f"{item}_note"] = df[f"{stem}_note"] if f"{stem}_note" in df else ""
    ts = pd.to_datetime(df["datetime_local_inferred"].where(df["datetime_local_inferred"] != ""),
                        format="%Y-%m-%d %H:%M", errors="coerce")
    frame["ts"] = ts.to_numpy()
    return frame


def _parse_by_name(df: pd.DataFrame, source: str, q: Quarantine) -> pd.DataFrame:
    columns = _columns_from_headers(list(df.columns), source)
    rows = df.to_numpy(dtype=object).tolist()
    if "source_path" in df.columns:
        frame = _frame_from_cells(rows, columns, source, (1, 1), 2, q)  # year fixed below, per row
        ym = df["source_path"].map(_file_date)
        if ym.isna().any():
            bad = np.flatnonzero(ym.isna().to_numpy())
            q.extend(bad + 2, "source_path", df["source_path"].iloc[bad].tolist(), "路径中没有 YYYY-MM，无法推断年份")
        frame["ts"] = [infer_timestamp(t, *y) if isinstance(y, tuple) else None for t, y in zip(frame["time_published"], ym)]
        return frame
    return _frame_from_cells(rows, columns, source, _file_date(source), 2, q)


def _read_csv(data: bytes, source: str) -> pd.DataFrame:
    buf, _ = utf8_bytes(data, source)
    return read_csv_text(buf, source)


def parse(path: str | Path, data: bytes | None = None, dedupe: bool = True) -> AutoParsed:
    source = str(path)
    raw = read_bytes(path) if data is None else data
    q = Quarantine(source)
    messages: list[str] = []
    name = Path(source).name.lower()
    if name.endswith((".json", ".json.gz")) or raw[:2] == b"\x1f\x8b" or raw.lstrip()[:1] == b"{":
        frame = _parse_json(raw, source, q)
    else:
        df = _read_csv(raw, source)
        if "datetime_local_inferred" in df.columns and "water_class" in df.columns:
            frame = _parse_flat(df, source, q)
        elif any(str(c).startswith("断面名称") for c in df.columns):
            frame = _parse_by_name(df, source, q)
        else:
            raise IngestError(f"{source}: 无法识别的自动站数据格式（表头：{shown_names(map(str, df.columns))}）")
    rows_read = len(frame)
    frame = _finish_frame(frame, q)
    all_rows = frame[frame["section"] != ""].reset_index(drop=True)
    no_time = frame["ts"].isna().to_numpy()
    if no_time.any():
        values_present = frame.loc[no_time, list(AUTO_ITEMS)].notna().any(axis=1).to_numpy()
        if values_present.any():
            lines = frame.loc[no_time, "line"].to_numpy()[values_present]
            q.extend(lines, "监测时间", frame.loc[no_time, "time_published"].to_numpy()[values_present].tolist(),
                     "有监测值但监测时间无法识别（应为“月-日 时:分”），该行未入库")
        counts = frame.loc[no_time, "status"].replace("", "（空）").value_counts()
        messages.append(f"{int(no_time.sum())} 行没有监测时间（无数据的站点，站点情况："
                        + "、".join(f"{k} {v}" for k, v in counts.items()) + "），未入库")
    frame = frame[~no_time].reset_index(drop=True)
    no_section = frame["section"] == ""
    if no_section.any():
        q.extend(frame.loc[no_section, "line"].to_numpy(), "断面名称", [""] * int(no_section.sum()), "缺少断面名称，该行未入库")
        frame = frame[~no_section].reset_index(drop=True)
    if dedupe:
        frame = _dedupe(frame, q, messages)
    frame["ts"] = pd.to_datetime(frame["ts"])
    table = pa.Table.from_pandas(frame.drop(columns=["line", "has_raw"]), preserve_index=False)
    return AutoParsed(source, KIND, table, q, messages, rows_read, sha256_of(raw), all_rows=all_rows)


_VALUE_COLS = ["official_class", "status", *AUTO_ITEMS, *(f"{c}_note" for c in AUTO_ITEMS)]


def _dedupe(frame: pd.DataFrame, q: Quarantine, messages: list[str]) -> pd.DataFrame:
    """One row per (station, time): identical repeats dropped; differing ones (re-publications with revised
    values) — the last one in the file is kept, the earlier ones are quarantined so they stay visible."""
    key = ["station", "ts"]
    dup = frame.duplicated(key, keep=False)
    if not dup.any():
        return frame
    exact = frame.duplicated(key + _VALUE_COLS, keep="last")
    n_exact = int(exact.sum())
    rest = frame[~exact]
    superseded = rest.duplicated(key, keep="last")
    if superseded.any():
        q.extend(rest.loc[superseded, "line"].to_numpy(), "监测时间",
                 (rest.loc[superseded, "station"] + " " + rest.loc[superseded, "time_published"]).tolist(),
                 "同一断面同一监测时间的重复记录，数值不同：保留文件中最后出现的一条（视为更正）")
        messages.append(f"{int(superseded.sum())} 行与同一断面同一时间的后出现记录数值不同，已由后者取代（见隔离表）")
    if n_exact:
        messages.append(f"{n_exact} 行为完全相同的重复记录，已去重")
    return rest[~superseded].reset_index(drop=True)


# --- storing -------------------------------------------------------------------------------------------------


def store_parsed(ws, parsed: ParsedFile, table: str, keys: tuple[str, ...] | None = None,
                 keep_existing_when_null: tuple[str, ...] = ()) -> ImportReport:
    """Store one parsed file as one import (own id, counts, quarantine) in one transaction. ``keys`` and
    ``keep_existing_when_null``: as :func:`qingshan.store.water.upsert` (for tables of other store modules)."""
    from ..store.water import ensure_schema, upsert

    ensure_schema(ws.con)
    ws.con.execute("BEGIN TRANSACTION")
    try:
        previous = ws.previous_import_of(parsed.sha256, parsed.kind)
        iid = ws.new_import(parsed.kind, parsed.source, parsed.sha256)
        counts = {"new": 0, "updated": 0, "unchanged": 0}
        if parsed.data is not None and parsed.data.num_rows:
            counts = upsert(ws.con, table, parsed.data, iid, keep_existing_when_null, keys)
        for extra_table, extra in getattr(parsed, "extra_tables", {}).items():
            c = upsert(ws.con, extra_table, extra, iid, keep_existing_when_null=("name", "basin", "river", "level",
                       "target_class", "district", "province", "city", "water_body", "lon", "lat"))
            parsed.messages.append(f"断面信息：新增 {c['new']}，更新 {c['updated']}，未变 {c['unchanged']}")
        ws.add_quarantine(parsed.quarantine.to_arrow(iid))
        if previous is not None:
            parsed.messages.append(f"同一文件已于导入批次 #{previous} 导入过")
        c = {**counts, "read": parsed.rows_read, "quarantined": len(parsed.quarantine)}
        ws.finish_import(iid, c, parsed.messages)
        ws.con.execute("COMMIT")
    except Exception:
        ws.con.execute("ROLLBACK")
        raise
    return ImportReport(parsed.source, parsed.kind, iid, parsed.rows_read, counts["new"], counts["updated"],
                        counts["unchanged"], len(parsed.quarantine), parsed.messages, previous)


def import_water_auto(ws, paths, progress=None) -> list:
    """Parse and store automatic-station files (raw JSON[.gz], flat snapshot CSV, per-section CSV), one import
    per file. A file that cannot be read at all raises :class:`IngestError` after the files before it are stored."""
    reports = []
    for p in paths:
        reports.append(store_parsed(ws, parse(p), "water_auto"))
        if progress:
            progress(str(p))
    return reports
