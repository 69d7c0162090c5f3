"""Printing for people: the consoles, number formats with the precision their standard gives, tables that are
never cut when piped, files with several tables.

A terminal gets rich tables at its width. Output that is piped or redirected (not a terminal) gets the same tables
at a width wide enough for every cell, so station names, quarantine reasons and MN numbers are never shortened to
"…" (``COLUMNS`` still wins when set).
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import TYPE_CHECKING, Any

from rich.console import Console, ConsoleDimensions

if TYPE_CHECKING:
    import pandas as pd

#: width of output that goes to a file or a pipe: wide enough that no table cell is cut
PIPE_WIDTH = 4096


class FullConsole(Console):
    """A console that does not cut content when its output is not a terminal (see the module docstring)."""

    @property
    def size(self) -> ConsoleDimensions:
        if self._width is None and not self.is_terminal and not os.environ.get("COLUMNS"):
            return ConsoleDimensions(PIPE_WIDTH, self._height or 25)
        return super().size

    @size.setter
    def size(self, new_size: tuple[int, int]) -> None:
        self._width, self._height = new_size


console = FullConsole()
err = FullConsole(stderr=True)


def missing(v: Any) -> bool:
    """None, NaN and pandas' NA (a value that was not measured or could not be computed)."""
    if v is None:
        return True
    try:
        return bool(v != v)
    except TypeError:  # pandas.NA compares to NA and refuses bool()
        return True


def fmt_number(v: Any, digits: int = 0, unit: str = "") -> str:
    """``v`` with ``digits`` decimals (every row of a column alike: ``59.0`` beside ``65.3``) and an optional unit;
    "—" when missing."""
    if missing(v):
        return "—"
    if isinstance(v, bool):
        return "是" if v else "否"
    if isinstance(v, (int, float)) or hasattr(v, "__float__") and not isinstance(v, str):
        try:
            text = f"{float(v):.{digits}f}"
        except (TypeError, ValueError):
            return str(v)
        return f"{text} {unit}" if unit else text
    return str(v)


def shown_of(shown: int, total: int, what: str = "行", hint: str = "完整结果请用 -o 输出") -> str | None:
    """The sentence under a list cut to ``shown`` of ``total`` rows ("前 50 / 共 339"), None when all are shown."""
    if total <= shown:
        return None
    return f"（前 {shown} / 共 {total} {what}；{hint}）"


def write_sheets(sheets: dict[str, pd.DataFrame], path: Path) -> None:
    """Several tables: sheets of one XLSX, or (CSV/JSON) the first table in ``path`` and the others beside it."""
    import pandas as pd

    from ..evaluate.tables import write_table
    from ..spreadsheet import write_frames_xlsx

    path.parent.mkdir(parents=True, exist_ok=True)
    if path.suffix.lower() == ".xlsx":
        write_frames_xlsx(path, {name: df if len(df.columns) else pd.DataFrame({"说明": ["无数据"]})
                                 for name, df in sheets.items()})
        return
    for k, (name, df) in enumerate(sheets.items()):
        target = path if k == 0 else path.with_name(f"{path.stem}-{name}{path.suffix}")
        write_table(df, target)
