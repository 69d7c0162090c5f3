"""Manual surface-water samples (monthly 手工监测) and section metadata, from XLSX or CSV (docs/water.md).

**Samples** (XLSX sheet ``监测数据``/``samples``/the first sheet, or a CSV): one row per section and sampling date.

* ``section`` (aliases 断面, 断面名称, 断面编码, 点位): the section key, as in the sections table.
* ``date`` (日期, 采样日期, 监测日期, 时间): ``2023-01-15``, ``2023/1/15``, an Excel date, or ``2023-01`` (a month).
* Item columns: the GB 3838 codes ``ph, do, codmn, cod, bod5, nh3n, tp, tn, cu, zn, f, se, as, hg, cd, cr6, pb,
  cn, phenol, oil, las, s2, fcoli`` plus ``temp`` (水温 ℃), ``chla`` (叶绿素a, mg/m³) and ``sd`` (透明度, m), or their
  Chinese names (溶解氧, 高锰酸盐指数, 氨氮, 总磷 …). Default units: mg/L, fecal coliform 个/L. Another unit can be
  declared in the header — ``hg[ug/L]``, ``汞(μg/L)``, ``sd[cm]``, ``chla[mg/L]`` — and is converted.
* Cells: a number; ``<0.01``, ``＜0.01`` or ``0.01L`` = below the detection limit 0.01 (non-detect, the limit is
  kept); empty, ``-``, ``—``, ``/``, ``NA`` = not measured.
* Section metadata columns may also appear on sample rows (``water_body``, ``name``, ``basin``, ``level``,
  ``target``, ``district``).

**Sections** (XLSX sheet ``断面``/``断面信息``/``sections``, or a CSV with a ``water_body`` column and no date
column): ``section, name, water_body (river|lake; 河流/湖库/湖泊/水库), basin, river, level (国考/省考/市考),
target (Ⅰ…Ⅴ, III, 3 …), district, province, city`` and optionally ``lon, lat`` (经度, 纬度: WGS-84 decimal degrees
or degrees-minutes-seconds, :mod:`.coordinates`).

Bad input never loses good data: an unknown item column, an unknown unit, a malformed ``<DL`` cell, a negative or
non-numeric value, a section row without a valid water body, a sample of a section without metadata, a
coordinate that is unreadable, given alone or outside China (the row's other metadata are kept) — each gets a
Chinese message and a quarantine record (file, line, field, raw text); every other cell and row is kept. A unit
that cannot be converted quarantines its column. Re-import is idempotent (keys: section, date, item).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa

from ..standards.water_class import ITEMS, parse_class
from ..store.read import sections_with_water_body
from .common import MISSING_MARKERS, ParsedFile, Quarantine, read_bytes, screen, sha256_of, utf8_bytes
from .coordinates import BadCoordinate, position
from .errors import IngestError
from .limits import clip, read_csv_text, read_xlsx, shown_names
from .tables import parse_date
from .water_auto import store_parsed

KIND = "water-samples"

#: Items accepted in sample files: the classed GB 3838 items, water temperature, and the two trophic indices.
SAMPLE_ITEMS: dict[str, tuple[str, str]] = {  # code → (Chinese name, canonical unit)
    **{c: (i.name_zh, i.unit) for c, i in ITEMS.items()},
    "chla": ("叶绿素a", "mg/m³"),
    "sd": ("透明度", "m"),
}

_ALIASES: dict[str, str] = {
    "ph值": "ph", "酸碱度": "ph", "溶解氧": "do", "dissolved_oxygen": "do", "高锰酸盐指数": "codmn", "cod_mn": "codmn",
    "codmn": "codmn", "化学需氧量": "cod", "codcr": "cod", "五日生化需氧量": "bod5", "bod": "bod5", "bod₅": "bod5",
    "氨氮": "nh3n", "nh3-n": "nh3n", "nh3_n": "nh3n", "nh4-n": "nh3n", "总磷": "tp", "总氮": "tn", "铜": "cu",
    "锌": "zn", "氟化物": "f", "氟": "f", "硒": "se", "砷": "as", "汞": "hg", "镉": "cd", "铬(六价)": "cr6",
    "六价铬": "cr6", "铬（六价）": "cr6", "cr(vi)": "cr6", "crvi": "cr6", "铅": "pb", "氰化物": "cn", "挥发酚": "phenol",
    "石油类": "oil", "阴离子表面活性剂": "las", "硫化物": "s2", "粪大肠菌群": "fcoli", "水温": "temp",
    "叶绿素a": "chla", "叶绿素α": "chla", "chl-a": "chla", "chl_a": "chla", "透明度": "sd", "secchi": "sd",
}
_COLUMN_ALIASES: dict[str, str] = {
    "断面": "section", "断面名称": "section", "断面编码": "section", "点位": "section", "点位名称": "section",
    "site": "section", "station": "section", "日期": "date", "采样日期": "date", "监测日期": "date", "时间": "date",
    "采样时间": "date", "监测时间": "date", "time": "date", "水体类型": "water_body", "类型": "water_body",
    "名称": "name", "流域": "basin", "河流": "river", "所在河流": "river", "考核级别": "level", "级别": "level",
    "断面级别": "level", "目标": "target", "水质目标": "target", "目标水质": "target", "目标类别": "target",
    "target_class": "target", "区县": "district", "所在区": "district", "辖市区": "district", "省份": "province",
    "城市": "city", "所在地市": "city", "备注": "remark", "remark": "remark", "note": "remark",
    "经度": "lon", "东经": "lon", "longitude": "lon", "lng": "lon", "纬度": "lat", "北纬": "lat", "latitude": "lat",
}
META_COLUMNS = ("name", "water_body", "basin", "river", "level", "target", "district", "province", "city", "lon",
                "lat")

#: unit text (lower case, µ/μ unified, no spaces) → factor to the canonical unit, per canonical unit.
_UNITS: dict[str, dict[str, float]] = {
    "mg/L": {"mg/l": 1.0, "ug/l": 1e-3, "µg/l": 1e-3, "g/l": 1e3, "ng/l": 1e-6, "mg/dm3": 1.0},
    "个/L": {"个/l": 1.0, "mpn/l": 1.0, "cfu/l": 1.0, "个/100ml": 10.0, "mpn/100ml": 10.0, "cfu/100ml": 10.0},
    "mg/m³": {"mg/m3": 1.0, "mg/m³": 1.0, "ug/l": 1.0, "µg/l": 1.0, "mg/l": 1e3},
    "m": {"m": 1.0, "cm": 0.01, "mm": 1e-3},
    "℃": {"℃": 1.0, "°c": 1.0, "c": 1.0, "摄氏度": 1.0},
    "无量纲": {"无量纲": 1.0, "": 1.0, "-": 1.0, "pH": 1.0, "ph": 1.0},
}
_HEADER = re.compile(r"^\s*(.+?)\s*(?:[\[(（]\s*([^\])）]*?)\s*[\])）])?\s*$")
_ND = re.compile(r"^\s*[<＜]\s*([0-9.eE+-]+)\s*$|^\s*([0-9.eE+-]+)\s*[Ll]\s*$")
_WATER_BODY = {"river": "river", "河流": "river", "河": "river", "河道": "river", "lake": "lake", "湖库": "lake",
               "湖泊": "lake", "湖": "lake", "水库": "lake", "库": "lake", "reservoir": "lake", "湖、库": "lake"}


def normalise_water_body(text: object) -> str | None:
    return _WATER_BODY.get(str(text).strip().lower())


def _norm_unit(u: str) -> str:
    return u.replace(" ", "").replace("μ", "µ").lower().replace("µ", "u") if u not in ("℃",) else u


def _classify_header(col: str) -> tuple[str, str | None, str | None]:
    """(kind, canonical name, unit) of a header cell: kind is 'key', 'meta', 'item', 'ignore' or 'unknown'."""
    m = _HEADER.match(str(col))
    base, unit = (m.group(1), m.group(2)) if m else (str(col), None)
    b = base.strip()
    bl = b.lower()
    # "铬(六价)" has its own brackets: try the whole header as a name first
    whole = str(col).strip().lower()
    if whole in _ALIASES:
        return "item", _ALIASES[whole], None
    name = _COLUMN_ALIASES.get(b, _COLUMN_ALIASES.get(bl, bl))
    if name in ("section", "date"):
        return "key", name, None
    if name in META_COLUMNS:
        return "meta", name, None
    if name == "remark":
        return "ignore", name, None
    code = bl if bl in SAMPLE_ITEMS else _ALIASES.get(bl, _ALIASES.get(b))
    if code in SAMPLE_ITEMS:
        return "item", code, unit
    return "unknown", b, unit


def _unit_factor(code: str, unit: str | None) -> float | None:
    canonical = SAMPLE_ITEMS[code][1]
    if unit is None:
        return 1.0
    table = _UNITS[canonical]
    u = unit.replace(" ", "").replace("μ", "µ")
    for k, f in table.items():
        if _norm_unit(k) == _norm_unit(u) or k == u:
            return f
    return None


def _read_sheets(raw: bytes, source: str) -> dict[str, pd.DataFrame]:
    if Path(source).suffix.lower() in (".xlsx", ".xlsm"):
        return {str(k): v for k, v in read_xlsx(raw, source, sheet_name=None).items()}
    buf, _ = utf8_bytes(raw, source)
    return {"": read_csv_text(buf, source, skipinitialspace=True)}


_SECTION_SHEETS = ("断面", "断面信息", "sections", "section", "断面表")
_SAMPLE_SHEETS = ("监测数据", "samples", "数据", "sample")


def _is_section_table(df: pd.DataFrame) -> bool:
    """A table of sections: a section column, no date, and a water body or coordinates (a register, or a later
    file completing one)."""
    kinds = [_classify_header(c) for c in df.columns]
    names = {n for k, n, _ in kinds}
    return "section" in names and "date" not in names and ("water_body" in names or {"lon", "lat"} <= names)


#: column of a parsed section row that gives no water body (only stored for a section the store already has)
PARTIAL = "_partial"


def no_water_body(section: str, text: str) -> str:
    return (f"断面 {section} 的水体类型{'缺失' if not text else '无法识别'}"
            "（应为 river/河流 或 lake/湖库）：该断面信息未导入，其监测数据在补充前不参与评价")


def parse(path: str | Path, data: bytes | None = None) -> ParsedFile:
    source = str(path)
    raw = read_bytes(path) if data is None else data
    q = Quarantine(source)
    messages: list[str] = []
    sheets = _read_sheets(raw, source)
    section_frames = {k: v for k, v in sheets.items() if k.strip().lower() in _SECTION_SHEETS or _is_section_table(v)}
    sample_frames = {k: v for k, v in sheets.items() if k not in section_frames}
    if len(sample_frames) > 1:
        named = {k: v for k, v in sample_frames.items() if k.strip().lower() in _SAMPLE_SHEETS}
        sample_frames = named or dict([next(iter(sample_frames.items()))])
    sections = pd.DataFrame()
    for name, df in section_frames.items():
        sections = pd.concat([sections, _parse_sections(df, source, name, q)], ignore_index=True)
    rows_read = sum(len(v) for v in section_frames.values())
    samples = pd.DataFrame(columns=["section", "date", "item", "value", "nondetect", "dl"])
    inline_meta = pd.DataFrame()
    for name, df in sample_frames.items():
        s, meta = _parse_samples(df, source, name, q, messages)
        samples = pd.concat([samples, s], ignore_index=True) if len(samples) else s
        inline_meta = pd.concat([inline_meta, meta], ignore_index=True)
        rows_read += len(df)
    if len(inline_meta):
        inline = _parse_sections(inline_meta, source, "", q, from_samples=True)
        known = set(sections["section"]) if len(sections) else set()
        sections = pd.concat([sections, inline[~inline["section"].isin(known)]], ignore_index=True)
    parsed = ParsedFile(source, KIND, pa.Table.from_pandas(samples, preserve_index=False) if len(samples) else None,
                        q, messages, rows_read, sha256_of(raw))
    parsed.extra_tables = {"water_sections": pa.Table.from_pandas(sections, preserve_index=False)} if len(sections) else {}
    parsed.first_lines = getattr(samples, "attrs", {}).get("first_lines", {})
    return parsed


def _sheet_label(sheet: str) -> str:
    return f"[{sheet}]" if sheet else ""


def _parse_sections(df: pd.DataFrame, source: str, sheet: str, q: Quarantine, from_samples: bool = False) -> pd.DataFrame:
    cols = {}
    for c in df.columns:
        if c == "_line":
            continue
        kind, name, _ = _classify_header(c)
        if name == "section" and "section" in cols.values():
            name = "name"  # 断面编码 + 断面名称: the second is the display name
        if kind in ("key", "meta") and name not in cols.values():
            cols[c] = name
    frame = df.rename(columns=cols)
    lines = df["_line"].to_numpy() if "_line" in df else np.arange(len(df)) + 2
    if "section" not in frame:
        raise IngestError(f"{source}{_sheet_label(sheet)}: 断面表缺少 section（断面）列")
    out = []
    for i, (line, row) in enumerate(zip(lines, frame.to_dict("records"))):
        sec = str(row.get("section", "")).strip()
        if not sec:
            if not from_samples:
                q.add(line, f"{sheet}section" if sheet else "section", "", "断面表中缺少断面名称/编码，该行未导入")
            continue
        wb_text = str(row.get("water_body", "") or "").strip()
        wb = normalise_water_body(wb_text) if wb_text else None
        if wb is None and wb_text:
            q.add(line, "water_body", wb_text, no_water_body(sec, wb_text))
            continue
        if wb is None and from_samples:
            continue
        # no water body: kept only for a section the store already knows (a later file adding coordinates or other
        # details), decided by import_water_samples, which sees the store
        target_text = str(row.get("target", "") or "").strip()
        target = parse_class(target_text) if target_text else None
        if target_text and target is None:
            q.add(line, "target", target_text, f"断面 {sec} 的目标类别无法识别（应为 Ⅰ…Ⅴ、劣Ⅴ 或 1…5），目标按空处理")
        rec = {"section": sec, "water_body": wb, "target_class": target, "lon": None, "lat": None,
               PARTIAL: wb is None, "_line": int(line)}
        for c in ("name", "basin", "river", "level", "district", "province", "city"):
            v = str(row.get(c, "") or "").strip()
            rec[c] = v or None
        try:
            rec["lon"], rec["lat"] = position(row.get("lon"), row.get("lat")) or (None, None)
        except BadCoordinate as e:  # the section is stored without (new) coordinates; stored ones are kept
            q.add(line, "lon,lat", f"{row.get('lon', '')},{row.get('lat', '')}",
                  f"断面 {sec} 的坐标无效：{e}；坐标未导入（已有坐标保留），断面其他信息已导入")
        out.append(rec)
    res = pd.DataFrame(out, columns=["section", "name", "water_body", "basin", "river", "level", "target_class",
                                     "district", "province", "city", "lon", "lat", PARTIAL, "_line"])
    res = res.drop_duplicates("section", keep="first")
    res["target_class"] = res["target_class"].astype("Int8")
    res[["lon", "lat"]] = res[["lon", "lat"]].astype(float)
    return res


@dataclass
class _Columns:
    """What the header of a sample sheet says: key columns (section, date), metadata and item columns."""

    keys: dict[str, str] = field(default_factory=dict)  # column → section | date
    meta: dict[str, str] = field(default_factory=dict)  # column → metadata name
    items: list[tuple[str, str, float]] = field(default_factory=list)  # (column, item code, unit factor)


def _sample_columns(df: pd.DataFrame, source: str, label: str, q: Quarantine, messages: list[str]) -> _Columns:
    """Classify the header; columns with an unknown unit, a repeated item or an unknown name are quarantined."""
    cols = _Columns()
    seen_items: set[str] = set()
    unknown: list[str] = []
    for c in df.columns:
        kind, name, unit = _classify_header(c)
        if kind == "key" and name not in cols.keys.values():
            cols.keys[c] = name
        elif kind == "meta":
            cols.meta[c] = name
        elif kind == "item":
            f = _unit_factor(name, unit)
            if f is None:
                q.add(1, str(c), str(c), f"{SAMPLE_ITEMS[name][0]}({name}) 的单位 {unit!r} 无法识别，整列未导入"
                      f"（可用单位：{'、'.join(k for k in _UNITS[SAMPLE_ITEMS[name][1]] if k)}）")
                messages.append(f"列 {c}：单位无法识别，整列未导入（见隔离表）")
                continue
            if name in seen_items:
                q.add(1, str(c), str(c), f"监测项目 {name} 重复出现，只导入第一列")
                continue
            seen_items.add(name)
            cols.items.append((c, name, f))
        elif kind == "unknown":
            q.add(1, str(c), str(c), "未知的监测项目或列名，整列未导入（项目代码见 docs/water.md，如 ph、do、codmn、nh3n、tp）")
            unknown.append(str(c))
    if len(unknown) == 1:
        messages.append(f"列 {clip(unknown[0], 40)}{label}：未知的监测项目，整列未导入（见隔离表）")
    elif unknown:
        messages.append(f"{len(unknown)} 列{label}为未知的监测项目，整列未导入（见隔离表）：{shown_names(unknown)}")
    if "section" not in cols.keys.values() or "date" not in cols.keys.values():
        raise IngestError(f"{source}{label}: 缺少必需列 section（断面）与 date（日期）；实际表头：{shown_names(map(str, df.columns))}")
    if not cols.items:
        raise IngestError(f"{source}{label}: 没有任何可识别的监测项目列（如 ph、do、codmn、nh3n、tp 或 溶解氧、总磷）")
    return cols


def _row_keys(df: pd.DataFrame, cols: _Columns, lines: np.ndarray,
              q: Quarantine) -> tuple[pd.Series, list[date | None], np.ndarray]:
    """Section and date of every row, and which rows have both (the others are quarantined)."""
    inv = {v: k for k, v in cols.keys.items()}
    sec = df[inv["section"]].astype(str).str.strip()
    dates = [parse_date(t) for t in df[inv["date"]].astype(str)]
    ok = np.ones(len(df), dtype=bool)
    for i, (s, d) in enumerate(zip(sec, dates)):
        if not s:
            q.add(lines[i], "section", "", "缺少断面，该行未导入")
            ok[i] = False
        elif d is None:
            q.add(lines[i], "date", str(df[inv["date"]].iloc[i]), "日期无法识别（应为 2023-01-15、2023/1/15 或 2023-01），该行未导入")
            ok[i] = False
    return sec, dates, ok


def _item_samples(text: pd.Series, code: str, factor: float, ok: np.ndarray, lines: np.ndarray, sec: pd.Series,
                  dates: list[date | None], q: Quarantine) -> pd.DataFrame:
    """The good cells of one item column as long rows (value or non-detect with its limit, canonical unit); bad
    cells are quarantined and treated as missing."""
    missing = text.isin(MISSING_MARKERS).to_numpy() | (text == "").to_numpy()
    nd = text.str.extract(_ND)
    dl_text = nd[0].fillna(nd[1])
    is_nd = dl_text.notna().to_numpy()
    dl = pd.to_numeric(dl_text, errors="coerce").to_numpy(dtype=float)
    val = pd.to_numeric(text.where(~is_nd & ~missing), errors="coerce").to_numpy(dtype=float)
    bad_nd = is_nd & ~(dl > 0)
    starts_nd = text.str.match(r"^\s*[<＜]").to_numpy() | text.str.fullmatch(r"(?i)(nd|未检出|检出限以下|l)").to_numpy()
    bad_nd |= starts_nd & ~is_nd
    bad_num = ~is_nd & ~missing & np.isnan(val) & ~starts_nd
    neg = val < 0
    for mask, reason in (
        (bad_nd, f"{SAMPLE_ITEMS[code][0]}：未检出的写法无效（应为 <检出限，如 <0.01，或 0.01L），按缺测处理"),
        (bad_num, f"{SAMPLE_ITEMS[code][0]}：非数值，按缺测处理"),
        (neg, f"{SAMPLE_ITEMS[code][0]}：负值（浓度不可能为负），按缺测处理"),
    ):
        m = mask & ok
        if m.any():
            q.extend(lines[m], code, text[m].tolist(), reason)
    # values and detection limits in the canonical unit, screened against the item's physical range
    raws = text.to_numpy(dtype=object)
    with np.errstate(over="ignore"):  # 1e308 µg/L → infinite mg/L, quarantined by the screen
        value = np.where(ok & ~is_nd & ~missing & ~bad_num & ~neg, val * factor, np.nan)
        limit = np.where(ok & is_nd & ~bad_nd, dl * factor, np.nan)
    screen(value, lines, code, q, raws=raws)
    if code != "ph":  # a pH non-detect is refused below
        screen(limit, lines, code, q, raws=raws)
    good = ok & np.where(is_nd, ~np.isnan(limit), ~np.isnan(value))
    if code == "ph":
        good &= ~is_nd  # a pH is never a non-detect
        m = ok & is_nd
        if m.any():
            q.extend(lines[m], code, text[m].tolist(), "pH 不能写作未检出（<…），按缺测处理")
    idx = np.flatnonzero(good)
    return pd.DataFrame({
        "section": sec.to_numpy()[idx],
        "date": [dates[i] for i in idx],
        "item": code,
        "value": np.where(is_nd[idx], np.nan, value[idx]),
        "nondetect": is_nd[idx],
        "dl": np.where(is_nd[idx], limit[idx], np.nan),
        "_line": lines[idx],
    })


def _section_meta(df: pd.DataFrame, meta_cols: dict[str, str], sec: pd.Series, ok: np.ndarray,
                  lines: np.ndarray) -> pd.DataFrame:
    """Section metadata given beside the samples: the first non-empty row of each section."""
    if not meta_cols:
        return pd.DataFrame()
    meta = df[list(meta_cols)].rename(columns=meta_cols)
    meta.insert(0, "section", sec)
    meta["_line"] = lines
    meta = meta[ok & (meta.drop(columns=["section", "_line"]).astype(str).apply(lambda s: s.str.strip() != "").any(axis=1)).to_numpy()]
    return meta.drop_duplicates("section", keep="first")


def _parse_samples(df: pd.DataFrame, source: str, sheet: str, q: Quarantine, messages: list[str]) -> tuple[pd.DataFrame, pd.DataFrame]:
    """A sample sheet as long samples (section, date, item, value, nondetect, dl) and the section metadata in it."""
    label = _sheet_label(sheet)
    lines = np.arange(len(df), dtype=np.int64) + 2
    cols = _sample_columns(df, source, label, q, messages)
    sec, dates, ok = _row_keys(df, cols, lines, q)
    parts = [_item_samples(df[col].astype(str).str.strip(), code, factor, ok, lines, sec, dates, q)
             for col, code, factor in cols.items]
    samples = pd.concat(parts, ignore_index=True) if parts else pd.DataFrame()
    if len(samples):
        samples = _dedupe_samples(samples, q, messages)
        first_lines = samples.groupby("section")["_line"].min().to_dict()
        samples = samples.drop(columns=["_line"])
        samples.attrs["first_lines"] = first_lines
    return samples, _section_meta(df, cols.meta, sec, ok, lines)


def _dedupe_samples(samples: pd.DataFrame, q: Quarantine, messages: list[str]) -> pd.DataFrame:
    key = ["section", "date", "item"]
    exact = samples.duplicated(key + ["value", "nondetect", "dl"], keep="first")
    rest = samples[~exact]
    conflict = rest.duplicated(key, keep="first")
    if conflict.any():
        q.extend(rest.loc[conflict, "_line"].to_numpy(), rest.loc[conflict, "item"].tolist(),
                 rest.loc[conflict, "value"].astype(str).tolist(),
                 "同一断面同一日期同一项目已有不同的数值：保留先出现的一条")
        messages.append(f"{int(conflict.sum())} 个数值与同一断面同一日期的先出现数值冲突，未导入（见隔离表）")
    if exact.any():
        messages.append(f"{int(exact.sum())} 个完全相同的重复数值已去重")
    return rest[~conflict].reset_index(drop=True)


def import_water_samples(ws, path: str | Path):
    """Parse and store one samples file (and its sections); sections without metadata are reported and
    quarantined (their samples are stored and join the evaluation once the metadata is imported)."""
    from ..store.water import ensure_schema

    ensure_schema(ws.con)
    parsed = parse(path)
    stored = sections_with_water_body(ws.con)
    if parsed.extra_tables:
        _drop_unknown_partial(parsed, stored)
    if parsed.data is not None and parsed.data.num_rows:
        secs = set(parsed.data.column("section").to_pylist())
        given = set(parsed.extra_tables["water_sections"].column("section").to_pylist()) if parsed.extra_tables else set()
        lacking = sorted(secs - given - stored)
        for s in lacking:
            parsed.quarantine.add(parsed.first_lines.get(s, 0), "section", s,
                                  "断面缺少断面信息（水体类型 river/lake 等）：数据已保存，补充断面信息前不参与评价")
        if lacking:
            shown = "、".join(lacking[:10]) + (" 等" if len(lacking) > 10 else "")
            parsed.messages.append(f"{len(lacking)} 个断面缺少断面信息（数据已保存，但在导入断面信息前不参与评价）：{shown}")
    return store_parsed(ws, parsed, "water_samples")


def _drop_unknown_partial(parsed: ParsedFile, stored: set[str]) -> None:
    """Section rows without a water body complete a stored section (its water body is kept); for a section the
    store does not know they are quarantined, as a register row without a water body always was."""
    frame = parsed.extra_tables["water_sections"].to_pandas()
    unknown = frame[PARTIAL].astype(bool) & ~frame["section"].isin(stored)
    for sec, line in zip(frame.loc[unknown, "section"], frame.loc[unknown, "_line"]):
        parsed.quarantine.add(int(line), "water_body", "", no_water_body(str(sec), ""))
    kept = frame[~unknown]
    parsed.extra_tables = {"water_sections": pa.Table.from_pandas(kept, preserve_index=False)} if len(kept) else {}
