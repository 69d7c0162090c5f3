"""Reading the small documented input tables of the noise, acid-rain and dustfall evaluations (CSV or XLSX)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from ..ingest.common import ImportError_, Quarantine, coerce_numeric, read_bytes, utf8_bytes
from ..ingest.limits import read_csv_text, read_xlsx, shown_names
from ..spreadsheet import write_frames_xlsx


def read_table(path: str | Path, sheet: str | int = 0, data: bytes | None = None) -> pd.DataFrame:
    """All cells as text; UTF-8 or GBK CSV, or the first (or named) sheet of an XLSX. ``data``: the file's bytes
    when the caller has read them already (the importers hash them)."""
    p = Path(path)
    raw = read_bytes(p) if data is None else data
    if p.suffix.lower() in (".xlsx", ".xlsm"):
        return read_xlsx(raw, str(p), sheet_name=sheet)
    buf, _ = utf8_bytes(raw, str(p))
    return read_csv_text(buf, str(p), skipinitialspace=True)


def write_table(df: pd.DataFrame, path: str | Path) -> None:
    """Write a result table as CSV (UTF-8), XLSX or JSON records, chosen by the file's suffix."""
    p = Path(path)
    p.parent.mkdir(parents=True, exist_ok=True)
    suffix = p.suffix.lower()
    if suffix == ".xlsx":
        write_frames_xlsx(p, {"Sheet1": df})  # station names and other texts stay text, never formulas
    elif suffix == ".json":
        df.to_json(p, orient="records", force_ascii=False, indent=1)
    else:
        df.to_csv(p, index=False)


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
        raise ImportError_(f"{source}: 缺少必需列 {want}；实际表头：{shown_names(map(str, df.columns))}")
    return found


def numbers(df: pd.DataFrame, col: str, name: str, q: Quarantine) -> np.ndarray:
    lines = np.arange(len(df), dtype=np.int64) + 2
    return coerce_numeric(df[col], lines, name, q)


def text(df: pd.DataFrame, col: str | None) -> pd.Series:
    if col is None:
        return pd.Series([""] * len(df), index=df.index)
    return df[col].astype(str).str.strip()
