"""Noise monitoring files into the store (``qingshan import noise-regional|noise-road|noise-zone``; tables in
:mod:`qingshan.store.noise`, formats in docs/water.md#noise-noise-evaluate).

The files are those of ``qingshan noise evaluate``, read with the evaluation's column aliases
(:data:`qingshan.ingest.noise_tables.REGIONAL`, ``ROAD``, ``ZONES``) and cell rules (:mod:`qingshan.ingest.tables`):
non-numeric or negative levels are quarantined and stored as missing, the rest of the row is kept.

* **Year.** The files carry no year: ``year`` (``--year``) is required for regional and road files. A
  functional-zone file takes each row's year from its ``date`` cell when readable (a row whose date lies outside
  ``--year``, when given, is quarantined) and from ``--year`` otherwise (a row with neither is quarantined).
* **Keys.** Regional: the point; road: the segment; zone: point and session (see :mod:`qingshan.store.noise`).
  A row without its key (or, for zones, with an unknown zone class) is quarantined; a row without any level is
  not stored (counted in the messages). Duplicate keys within a file: as :func:`.deposition.dedupe`.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from ..standards.noise import normalise_zone
from ..store import noise as store
from .common import ImportReport, ParsedFile, Quarantine
from .deposition import dedupe, drop_rows, parsed_file, read_input, store_file
from .errors import IngestError
from .limits import shown_names
from .noise_tables import REGIONAL, ROAD, ZONES
from .tables import columns, numbers, parse_date, text

#: kind → (column aliases, required columns, key column, Chinese name)
SPECS: dict[str, tuple[dict[str, tuple[str, ...]], tuple[str, ...], str, str]] = {
    "regional": (REGIONAL, ("point",), "point", "区域声环境"),
    "road": (ROAD, ("segment", "length_km"), "segment", "道路交通声环境"),
    "zone": (ZONES, ("point", "zone"), "point", "功能区声环境"),
}
KEY_ZH = {"regional": "年份与点位", "road": "年份与路段", "zone": "年份、点位与监测时段"}
STORED: dict[str, list[str]] = {
    "regional": ["year", "point", "leq_day", "leq_night", "district"],
    "road": ["year", "segment", "length_km", "leq_day", "leq_night", "district"],
    "zone": ["year", "point", "session", "zone", "date", "leq_day", "leq_night"],
}


def _zone_sessions(rows: pd.DataFrame, date_text: pd.Series, year: int | None, q: Quarantine) -> pd.DataFrame:
    """Year, session and date of each functional-zone row (rules in the module docstring)."""
    dates = [parse_date(t) if t else None for t in date_text]
    seen: dict[str, int] = {}
    years, sessions, bad = [], [], []
    for point, d, t, line in zip(rows["point"], dates, date_text, rows["line"]):
        if d is not None:
            y, s = d.year, d.isoformat()
            if year is not None and y != year:
                q.add(line, "date", t, f"日期不在 --year 指定的 {year} 年内，该行未导入")
                bad.append(True)
            else:
                bad.append(False)
        else:
            y = year
            if t:
                s = t
            else:
                seen[point] = seen.get(point, 0) + 1
                s = f"第{seen[point]}次"
            if y is None:
                q.add(line, "date", t, "无法确定监测年份：日期无法识别且未用 --year 指定年份，该行未导入")
            bad.append(y is None)
        years.append(y)
        sessions.append(s)
    out = rows.assign(year=years, session=sessions, date=dates)
    return out[~np.array(bad, dtype=bool)]


def parse_noise(path: str | Path, kind: str, year: int | None = None) -> ParsedFile:
    """A regional, road or functional-zone noise table as rows of its store table (``kind``: regional, road,
    zone; ``year``: the monitoring year, required for regional and road)."""
    if kind not in SPECS:
        raise ValueError(f"未知的噪声数据类型：{kind}")
    aliases, required, key, what = SPECS[kind]
    if year is not None and not 1900 <= year <= 2200:
        raise IngestError(f"年份无效：{year}")
    if year is None and kind != "zone":
        raise IngestError(f"{path}: {what}监测文件不含年份，请用 --year 指定监测年度（如 --year 2022）")
    source, raw, df = read_input(path)
    c = columns(df, aliases, required, source)
    if "leq_day" not in c and "leq_night" not in c:
        raise IngestError(f"{source}: 缺少等效声级列 leq_day（昼间）或 leq_night（夜间）；"
                           f"实际表头：{shown_names(map(str, df.columns))}")
    q = Quarantine(source)
    messages: list[str] = []
    rows = pd.DataFrame({key: text(df, c[key]), "line": np.arange(len(df), dtype=np.int64) + 2})
    for p in ("day", "night"):
        col = f"leq_{p}"
        rows[col] = numbers(df, c[col], col, q) if col in c else np.nan
    if kind == "road":
        rows["length_km"] = numbers(df, c["length_km"], "length_km", q)
    if kind in ("regional", "road"):
        district = text(df, c.get("district"))
        rows["district"] = district.where(district != "", None)  # empty → NULL
        rows["year"] = year
    rows = drop_rows(rows, rows[key] == "", q, key, None, f"缺少{'路段' if key == 'segment' else '点位'}，该行未导入")
    if kind == "zone":
        zone_text = text(df, c["zone"]).loc[rows.index]
        rows = rows.assign(zone=zone_text.map(normalise_zone), zone_text=zone_text)
        rows = drop_rows(rows, rows["zone"].isna(), q, "zone", "zone_text",
                         "声功能区类别无法识别（应为 0、1、2、3、4a、4b），该行未导入")
        date_text = text(df, c.get("date")).loc[rows.index]
        rows = _zone_sessions(rows, date_text, year, q)
    empty = rows["leq_day"].isna() & rows["leq_night"].isna()
    if empty.any():
        messages.append(f"{int(empty.sum())} 行没有有效的昼间或夜间等效声级，未导入")
    keys = list(store.KEYS[store.TABLES[kind]])
    values = [x for x in STORED[kind] if x not in keys]
    rows = dedupe(rows[~empty], keys, values, q, messages, KEY_ZH[kind])
    return parsed_file(source, f"noise-{kind}", raw, rows, STORED[kind], q, messages, len(df))


def import_noise(ws, kind: str, path: str | Path, year: int | None = None) -> ImportReport:
    """Parse and store one noise file (``kind``: regional, road, zone) as one import."""
    table = store.TABLES[kind]
    return store_file(ws, parse_noise(path, kind, year), table, store.KEYS[table], store.KEEP_WHEN_EMPTY[table],
                      store.ensure_schema)
