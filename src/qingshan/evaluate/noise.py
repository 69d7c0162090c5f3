"""Noise evaluations from the documented input tables (docs/water.md#noise-noise-evaluate): regional (grid) levels, road-traffic
segments and functional-zone monitoring (GB 3096-2008, HJ 640-2012; rules in :mod:`qingshan.standards.noise`).

* regional: ``point, leq_day, leq_night`` [``district``] — one row per grid point (L_eq in dB(A)).
* road: ``segment, length_km, leq_day, leq_night`` [``district``] — one row per road segment.
* zones: ``point, zone, leq_day, leq_night`` [``date``] — one row per point and monitoring session;
  ``zone`` is 0, 1, 2, 3, 4a or 4b (``2类`` … accepted).
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from ..ingest.common import Quarantine
from ..ingest.noise_tables import REGIONAL, ROAD, ZONES
from ..ingest.tables import columns, numbers, text
from ..standards import noise as N

__all__ = ["REGIONAL", "ROAD", "ZONES", "NoiseEvaluation", "evaluate_regional", "evaluate_road", "evaluate_zones"]

PERIODS = (("day", "昼间"), ("night", "夜间"))


@dataclass
class NoiseEvaluation:
    regional: pd.DataFrame | None = None
    road: pd.DataFrame | None = None
    road_bands: pd.DataFrame | None = None
    zones: pd.DataFrame | None = None
    problems: list[Quarantine] = field(default_factory=list)


def _grade_cols(level, fn, period) -> dict:
    g = fn(level, period)
    return {"grade": g[1] if g else "", "grade_name": g[2] if g else ""}


def evaluate_regional(df: pd.DataFrame, source: str = "<regional>") -> tuple[pd.DataFrame, Quarantine]:
    """City (and per-district) day/night arithmetic means of grid points with HJ 640 grades."""
    c = columns(df, REGIONAL, ("point",), source)
    q = Quarantine(source)
    lv = {p: numbers(df, c[f"leq_{p}"], f"leq_{p}", q) if f"leq_{p}" in c else np.full(len(df), np.nan) for p, _ in PERIODS}
    dist = text(df, c.get("district"))
    rows = []
    groups = [("全市", np.ones(len(df), bool))] + ([(d, (dist == d).to_numpy()) for d in sorted(set(dist) - {""})]
                                                  if "district" in c else [])
    for name, m in groups:
        for p, zh in PERIODS:
            mean = N.regional_mean(lv[p][m].tolist())
            rows.append({"area": name, "period": zh, "points": int(np.isfinite(lv[p][m]).sum()), "mean_db": mean,
                         **_grade_cols(mean, N.regional_grade, p)})
    return pd.DataFrame(rows), q


def evaluate_road(df: pd.DataFrame, source: str = "<road>") -> tuple[pd.DataFrame, pd.DataFrame, Quarantine]:
    """Length-weighted day/night means with HJ 640 grades, and road length per level band."""
    c = columns(df, ROAD, ("segment", "length_km"), source)
    q = Quarantine(source)
    length = numbers(df, c["length_km"], "length_km", q)
    lv = {p: numbers(df, c[f"leq_{p}"], f"leq_{p}", q) if f"leq_{p}" in c else np.full(len(df), np.nan) for p, _ in PERIODS}
    dist = text(df, c.get("district"))
    groups = [("全市", np.ones(len(df), bool))] + ([(d, (dist == d).to_numpy()) for d in sorted(set(dist) - {""})]
                                                  if "district" in c else [])
    rows, bands = [], []
    for name, m in groups:
        for p, zh in PERIODS:
            ok = m & np.isfinite(lv[p]) & (length > 0)
            mean = N.road_mean(lv[p][ok].tolist(), length[ok].tolist())
            rows.append({"area": name, "period": zh, "segments": int(ok.sum()),
                         "length_km": round(float(length[ok].sum()), 3), "mean_db": mean,
                         **_grade_cols(mean, N.road_grade, p)})
            band = N.road_band_index(lv[p][ok], p)
            total = float(length[ok].sum())
            b = N.ROAD_BOUNDS[p]
            labels = [f"≤{b[0]:.1f}"] + [f"{b[i] + 0.1:.1f}~{b[i + 1]:.1f}" for i in range(3)] + [f">{b[3]:.1f}"]
            for k, lab in enumerate(labels):
                km = float(length[ok][band == k].sum())
                bands.append({"area": name, "period": zh, "band": lab, "length_km": round(km, 3),
                              "share_pct": round(100 * km / total, 1) if total else None})
    return pd.DataFrame(rows), pd.DataFrame(bands), q


def evaluate_zones(df: pd.DataFrame, source: str = "<zones>") -> tuple[pd.DataFrame, Quarantine]:
    """Functional-zone compliance rate by zone class and overall, day and night."""
    c = columns(df, ZONES, ("point", "zone"), source)
    q = Quarantine(source)
    lines = np.arange(len(df)) + 2
    zt = text(df, c["zone"])
    zone = zt.map(N.normalise_zone)
    bad = zone.isna().to_numpy()
    if bad.any():
        q.extend(lines[bad], "zone", zt[bad].tolist(), "声功能区类别无法识别（应为 0、1、2、3、4a、4b），该行不参与达标率")
    rows = []
    for p, zh in PERIODS:
        lv = numbers(df, c[f"leq_{p}"], f"leq_{p}", q) if f"leq_{p}" in c else np.full(len(df), np.nan)
        ok = ~bad
        for r in N.compliance_rates(zone[ok].tolist(), lv[ok].tolist(), p):
            rows.append({"zone": "全部" if r.zone == "all" else N.ZONE_NAMES_ZH[r.zone], "period": zh,
                         "limit_db": None if r.zone == "all" else N.zone_limit(r.zone, p),
                         "sessions": r.n, "compliant": r.compliant,
                         "rate_pct": None if r.rate is None else round(r.rate, 1)})
    return pd.DataFrame(rows), q
