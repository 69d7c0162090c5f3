"""Reading the small documented input tables (noise, acid rain, dustfall; CSV or XLSX) and their cells.

Shared by the importers (:mod:`qingshan.ingest.deposition`, :mod:`qingshan.ingest.noise`) and the evaluations in
:mod:`qingshan.evaluate`, which import them from here (ingest never imports evaluate)."""

from __future__ import annotations

import re
from datetime import date, datetime, timedelta
from pathlib import Path

import numpy as np
import pandas as pd

from .common import Quarantine, coerce_numeric, read_bytes, utf8_bytes
from .errors import IngestError
from .limits import read_csv_text, read_xlsx, shown_names


def read_table(path: str | Path, sheet: str | int = 0, data: bytes | None = None) -> pd.DataFrame:
    """All cells as text; UTF-8 or GBK CSV, or the first (or named) sheet of an XLSX. ``data``: the file's bytes
    when the caller has read them already (the importers hash them)."""
    p = Path(path)
    raw = read_bytes(p) if data is None else data
    if p.suffix.lower() in (".xlsx", ".xlsm"):
        return read_xlsx(raw, str(p), sheet_name=sheet)
    buf, _ = utf8_bytes(raw, str(p))
    return read_csv_text(buf, str(p), skipinitialspace=True)


def columns(df: pd.DataFrame, aliases: dict[str, tuple[str, ...]], required: tuple[str, ...], source: str) -> dict[str, str]:
    """Map canonical names to the table's columns via aliases (case-insensitive); error if a required one lacks."""
    lower = {str(c).strip().lower(): c for c in df.columns}
    found: dict[str, str] = {}
    for name, names in aliases.items():
        for a in (name, *names):
            if a.lower() in lower:
                found[name] = lower[a.lower()]
                break
    missing = [r for r in required if r not in found]
    if missing:
        want = "；".join(f"{r}（或 {'、'.join(aliases[r])}）" for r in missing)
        raise IngestError(f"{source}: 缺少必需列 {want}；实际表头：{shown_names(map(str, df.columns))}")
    return found


def numbers(df: pd.DataFrame, col: str, name: str, q: Quarantine) -> np.ndarray:
    """Column ``col`` as floats (NaN when missing); bad cells go to ``q`` under ``name`` (file line = row + 2)."""
    lines = np.arange(len(df), dtype=np.int64) + 2
    return coerce_numeric(df[col], lines, name, q)


def text(df: pd.DataFrame, col: str | None) -> pd.Series:
    """Column ``col`` as stripped text; a column of empty strings when the table lacks it (``col`` None)."""
    if col is None:
        return pd.Series([""] * len(df), index=df.index)
    return df[col].astype(str).str.strip()


def parse_date(text: str) -> date | None:
    """A date cell (2023-01-15, 2023/1/15, 20230115, 2023年1月15日, a month such as 2023-01 = its first day, or an
    Excel serial number read as text); None when unreadable."""
    t = str(text).strip()
    if not t:
        return None
    for fmt in ("%Y-%m-%d", "%Y/%m/%d", "%Y.%m.%d", "%Y-%m-%d %H:%M:%S", "%Y-%m-%d %H:%M", "%Y/%m/%d %H:%M",
                "%Y%m%d", "%Y年%m月%d日"):
        try:
            return datetime.strptime(t, fmt).date()
        except ValueError:
            pass
    for fmt in ("%Y-%m", "%Y/%m", "%Y.%m", "%Y%m", "%Y年%m月"):
        try:
            return datetime.strptime(t, fmt).date().replace(day=1)
        except ValueError:
            pass
    if re.fullmatch(r"\d{5}(\.0+)?", t):  # an Excel serial date read as text
        return date(1899, 12, 30) + timedelta(days=int(float(t)))
    return None
