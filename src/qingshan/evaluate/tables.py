"""Writing result tables (CSV, XLSX, JSON). The input readers live in :mod:`qingshan.ingest.tables` and are
re-exported here for the callers that import them from this module."""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from ..ingest.tables import columns, numbers, read_table, text
from ..spreadsheet import write_frames_xlsx

__all__ = ["columns", "numbers", "read_table", "text", "write_table"]


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
