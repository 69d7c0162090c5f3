"""Reading the dustfall table ``site, month, dustfall`` (t/(km²·30d)) or ``site, month, flux, days`` (docs/water.md):
column aliases and cell rules shared by the evaluation and the importer."""

from __future__ import annotations

import re

import numpy as np
import pandas as pd

from .common import Quarantine, screen
from .tables import columns, numbers, text

ALIASES = {"site": ("点位", "测点", "站点", "镇街", "station"), "month": ("月份", "月", "时间", "date"),
           "dustfall": ("降尘", "降尘量", "value"), "flux": ("降尘总量",), "days": ("天数", "采样天数")}


def month_of(t: str) -> str | None:
    """``YYYY-MM`` of a month cell (2023-01, 2023/1, 2023年1月, a date); None when unreadable."""
    m = re.match(r"^\s*(\d{4})[-/.年](\d{1,2})", t)
    if not m or not 1 <= int(m.group(2)) <= 12:
        return None
    return f"{int(m.group(1)):04d}-{int(m.group(2)):02d}"


def dust_values(df: pd.DataFrame, source: str = "<dustfall>") -> tuple[pd.DataFrame, Quarantine]:
    """One row per input row: ``site`` (text), ``month`` (``YYYY-MM``, None when unreadable), ``value``
    (t/(km²·30d); NaN when missing or bad, flux normalised to 30 days) and ``line`` (file line, header = 1).

    Bad cells are recorded in the returned quarantine; the evaluation (:mod:`qingshan.evaluate.dustfall`) and the
    importer (:mod:`qingshan.ingest.deposition`) share this reading."""
    c = columns(df, ALIASES, ("site", "month"), source)
    q = Quarantine(source)
    if "dustfall" in c:
        val = numbers(df, c["dustfall"], "dustfall", q)
    elif "flux" in c and "days" in c:
        flux, days = numbers(df, c["flux"], "flux", q), numbers(df, c["days"], "days", q)
        bad = ~(days > 0) & np.isfinite(flux)
        if bad.any():
            q.extend(np.flatnonzero(bad) + 2, "days", days[bad].tolist(), "采样天数必须为正，该值不参与统计")
        with np.errstate(invalid="ignore", divide="ignore", over="ignore"):
            val = np.where(days > 0, flux * 30.0 / days, np.nan)
        screen(val, np.arange(len(df), dtype=np.int64) + 2, "flux", q, "dustfall")  # a tiny days gives a huge value
    else:
        raise ValueError(f"{source}: 需要 dustfall 列（吨/(平方千米·30天)），或 flux 与 days 两列")
    months = text(df, c["month"]).map(month_of)
    for i in np.flatnonzero(months.isna().to_numpy()):
        q.add(i + 2, "month", str(df[c["month"]].iloc[i]), "月份无法识别（应为 2023-01），该值不参与统计")
    rows = pd.DataFrame({"site": text(df, c["site"]), "month": months, "value": val,
                         "line": np.arange(len(df), dtype=np.int64) + 2})
    return rows, q
