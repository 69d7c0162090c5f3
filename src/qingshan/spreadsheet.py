"""Spreadsheet-safe text for every XLSX the platform writes (the ledger export, result tables, water sheets).

Text that starts with ``=`` (and, in some spreadsheet programs, ``+``, ``-``, ``@``, a tab or a carriage return) can
be taken for a formula — OWASP "CSV injection": ``=HYPERLINK(…)`` or ``=cmd|' /C calc'!A0`` written by a user into
a progress report would run on the bureau's desk. openpyxl stores any ``str`` that starts with ``=`` as a formula
(``<f>`` in the sheet XML). Here every text cell is typed explicitly as a string, so it is written as an inline
string (``t="inlineStr"``) and never as ``<f>``: the cell shows exactly what the user wrote (no quote prefix
added) and no program evaluates it. Characters that XML 1.0 cannot carry (C0 controls other than tab, LF, CR)
would make openpyxl refuse the whole workbook; they are replaced by U+FFFD.

The platform writes no formulas of its own; if it ever needs one, it must not go through these helpers.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

from openpyxl.cell.cell import ILLEGAL_CHARACTERS_RE, Cell

if TYPE_CHECKING:
    import pandas as pd
    from openpyxl import Workbook
    from openpyxl.worksheet.worksheet import Worksheet

#: leading characters that a spreadsheet program may read as the start of a formula (OWASP)
FORMULA_PREFIXES = ("=", "+", "-", "@", "\t", "\r")


def clean_text(text: str) -> str:
    """``text`` without the characters an XLSX cannot hold (replaced by U+FFFD)."""
    return ILLEGAL_CHARACTERS_RE.sub("\ufffd", text)


def set_text_safe(cell: Cell, value: Any) -> Cell:
    """Put ``value`` in ``cell``; a ``str`` always as a plain string cell, never as a formula."""
    if isinstance(value, str):
        cell.value = clean_text(value)
        cell.data_type = "s"  # after the assignment, which types a leading "=" as a formula
    else:
        cell.value = value
    return cell


def make_cell_safe(cell: Cell) -> Cell:
    """An already filled ``cell`` whose text was typed as a formula becomes a string cell with the same text."""
    if isinstance(cell.value, str):
        cell.data_type = "s"
    return cell


def make_workbook_safe(wb: Workbook) -> None:
    """Every text cell of every sheet of ``wb`` as a string (for workbooks filled by other code, e.g. pandas)."""
    for ws in wb.worksheets:
        for row in ws.iter_rows():
            for cell in row:
                make_cell_safe(cell)


def append_row_safe(ws: Worksheet, values: Iterable[Any]) -> None:
    """``ws.append(values)`` with every text value as a string cell."""
    ws.append([set_text_safe(Cell(ws), v) for v in values])


def csv_text_safe(text: str) -> str:
    """``text`` for a CSV cell: a leading apostrophe when a spreadsheet program would read it as a formula (OWASP
    "CSV injection"; a CSV has no cell types, so the prefix is the only defence), else unchanged."""
    return "'" + text if text.startswith(FORMULA_PREFIXES) else text


def write_frames_xlsx(path: str | Path, sheets: Mapping[str, pd.DataFrame]) -> None:
    """Write data frames as the sheets of one XLSX (``index=False``; sheet names cut to Excel's 31 characters),
    every text cell spreadsheet-safe."""
    import pandas as pd

    with pd.ExcelWriter(path, engine="openpyxl") as xw:
        for name, df in sheets.items():
            _clean_frame(df).to_excel(xw, sheet_name=str(name)[:31], index=False)
        make_workbook_safe(xw.book)


def _clean_frame(df: pd.DataFrame) -> pd.DataFrame:
    """``df`` with XLSX-illegal characters replaced in its text cells and column names (a copy only if needed)."""
    def clean(v: Any) -> Any:
        return clean_text(v) if isinstance(v, str) else v

    from pandas.api.types import is_object_dtype, is_string_dtype

    text_cols = [c for c in df.columns if is_object_dtype(df[c].dtype) or is_string_dtype(df[c].dtype)]
    dirty_names = any(isinstance(c, str) and ILLEGAL_CHARACTERS_RE.search(c) for c in df.columns)
    if not text_cols and not dirty_names:
        return df
    out = df.copy()
    for c in text_cols:
        out[c] = out[c].map(clean)
    if dirty_names:
        out.columns = [clean(c) for c in out.columns]
    return out
