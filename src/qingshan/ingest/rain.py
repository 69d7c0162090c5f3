"""Reading the acid-rain table ``site, date, ph, rainfall`` (rainfall in mm; docs/water.md): column aliases and cell
rules shared by the evaluation (:mod:`qingshan.evaluate.acid_rain`) and the importer (:mod:`qingshan.ingest.deposition`)."""

from __future__ import annotations

import numpy as np
import pandas as pd

from .common import Quarantine
from .tables import columns, numbers

ALIASES = {"site": ("点位", "站点", "测点", "station"), "date": ("日期", "采样日期", "time", "时间"),
           "ph": ("pH", "pH值"), "rainfall": ("降水量", "雨量", "rainfall_mm", "降雨量", "weight", "volume", "样品量")}


def rain_values(df: pd.DataFrame, source: str = "<rain>") -> tuple[dict[str, str], np.ndarray, np.ndarray, Quarantine]:
    """The table's columns (canonical name → header), pH and rainfall (mm) per row (NaN when missing or bad), and
    the quarantine of bad cells; shared by the evaluation (:mod:`qingshan.evaluate.acid_rain`) and the importer
    (:mod:`qingshan.ingest.deposition`)."""
    c = columns(df, ALIASES, ("ph", "rainfall"), source)
    q = Quarantine(source)
    ph = numbers(df, c["ph"], "ph", q)  # outside 0–14: quarantined (qingshan.standards.ranges)
    rain = numbers(df, c["rainfall"], "rainfall", q)
    return c, ph, rain, q
