"""Acid-rain evaluation from the documented table ``site, date, ph, rainfall`` (rainfall in mm; docs/water.md):
per site and for all sites, the samples, acid samples (pH < 5.6), frequency, rainfall-weighted mean pH, its grade
and the pH range (rules in :mod:`qingshan.standards.acid_rain`)."""

from __future__ import annotations

import numpy as np
import pandas as pd

from ..ingest.common import Quarantine
from ..ingest.rain import ALIASES, rain_values
from ..ingest.tables import parse_date, text
from ..standards import acid_rain as A
from .periods import Period

__all__ = ["ALIASES", "evaluate_rain", "rain_values"]  # ALIASES, rain_values: kept importable from here

def evaluate_rain(df: pd.DataFrame, period: Period | None = None, source: str = "<rain>") -> tuple[pd.DataFrame, Quarantine]:
    c, ph, rain, q = rain_values(df, source)
    site = text(df, c.get("site")).replace("", "（未填）") if "site" in c else pd.Series(["全部"] * len(df))
    keep = np.ones(len(df), bool)
    if period is not None:
        if "date" not in c:
            raise ValueError(f"{source}: 指定了时段，但表中没有 date（日期）列")
        d = [parse_date(t) for t in text(df, c["date"])]
        for i, x in enumerate(d):
            if x is None:
                q.add(i + 2, "date", str(df[c["date"]].iloc[i]), "日期无法识别，该样品不参与统计")
        keep = np.array([x is not None and period.start <= x <= period.end for x in d])
    rows = []
    groups = [("全部", keep)] + ([(s, keep & (site == s).to_numpy()) for s in sorted(set(site[keep]))] if "site" in c else [])
    for name, m in groups:
        s = A.summarise(ph[m].tolist(), rain[m].tolist())
        rows.append({"site": name, "samples": s.n, "acid_samples": s.n_acid, "acid_frequency_pct": s.frequency,
                     "mean_ph": s.mean_ph, "grade": s.grade, "ph_min": s.ph_min, "ph_max": s.ph_max,
                     "rainfall_mm": round(s.rainfall, 1)})
    return pd.DataFrame(rows), q
