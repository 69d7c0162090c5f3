"""Dustfall evaluation from the documented table ``site, month, dustfall`` (t/(km²·30d)), or ``site, month, flux,
days`` (t/km² over ``days`` days, normalised to 30 days) — docs/water.md; rules in :mod:`qingshan.standards.dustfall`.

Outputs: the city's monthly means, each site's annual mean and compliance, and the city annual mean against the
target (default 2.3 t/(km²·30d)); with data for the previous year also the change in %.
"""

from __future__ import annotations

from dataclasses import dataclass
from fractions import Fraction

import numpy as np
import pandas as pd

from ..ingest.common import Quarantine, screen
from ..standards import dustfall as D
from .tables import columns, numbers, text

ALIASES = {"site": ("点位", "测点", "站点", "镇街", "station"), "month": ("月份", "月", "时间", "date"),
           "dustfall": ("降尘", "降尘量", "value"), "flux": ("降尘总量",), "days": ("天数", "采样天数")}


@dataclass
class DustEvaluation:
    monthly: pd.DataFrame
    sites: pd.DataFrame
    summary: pd.DataFrame
    problems: Quarantine


def _month(t: str) -> str | None:
    import re

    m = re.match(r"^\s*(\d{4})[-/.年](\d{1,2})", t)
    if not m or not 1 <= int(m.group(2)) <= 12:
        return None
    return f"{int(m.group(1)):04d}-{int(m.group(2)):02d}"


def dust_values(df: pd.DataFrame, source: str = "<dustfall>") -> tuple[pd.DataFrame, Quarantine]:
    """One row per input row: ``site`` (text), ``month`` (``YYYY-MM``, None when unreadable), ``value``
    (t/(km²·30d); NaN when missing or bad, flux normalised to 30 days) and ``line`` (file line, header = 1).

    Bad cells are recorded in the returned quarantine; the evaluation and the importer
    (:mod:`qingshan.ingest.deposition`) share this reading."""
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
    months = text(df, c["month"]).map(_month)
    for i in np.flatnonzero(months.isna().to_numpy()):
        q.add(i + 2, "month", str(df[c["month"]].iloc[i]), "月份无法识别（应为 2023-01），该值不参与统计")
    rows = pd.DataFrame({"site": text(df, c["site"]), "month": months, "value": val,
                         "line": np.arange(len(df), dtype=np.int64) + 2})
    return rows, q


def city_monthly_means(frame: pd.DataFrame, exact: bool = False) -> pd.Series:
    """The city's monthly means, unrounded, indexed by month: the mean of the sites' values in each month
    (``frame``: rows ``site, month, value`` without missing values, one per site and month).

    ``exact``: the means as :class:`fractions.Fraction` of the values as written (their shortest decimal form, so
    2.1 is 21/10), so that a sum of monthly means carries no floating-point error (the targets' rest-of-year
    requirement compares it with an exact bound)."""
    if not exact:
        return frame.groupby("month")["value"].mean()
    return frame.groupby("month")["value"].agg(
        lambda v: sum((Fraction(repr(float(x))) for x in v), Fraction(0)) / len(v))


def evaluate_dust(df: pd.DataFrame, year: int | None = None, target: float = D.DEFAULT_TARGET,
                  source: str = "<dustfall>") -> DustEvaluation:
    rows, q = dust_values(df, source)
    frame = rows[["site", "month", "value"]].dropna()
    frame["year"] = frame["month"].str[:4].astype(int)
    if year is None and len(frame):
        year = int(frame["year"].max())
    cur = frame[frame["year"] == year]
    prev = frame[frame["year"] == (year - 1 if year else 0)]
    monthly = cur.groupby("month")["value"].agg(["mean", "count", "min", "max"]).reset_index()
    monthly["mean"] = monthly["mean"].map(D.reported)
    monthly["meets_target"] = monthly["mean"].map(lambda v: D.meets_target(v, target))
    sites = cur.groupby("site")["value"].agg(["mean", "count"]).reset_index()
    sites["annual_mean"] = sites["mean"].map(D.reported)
    sites["meets_target"] = sites["mean"].map(lambda v: D.meets_target(v, target))
    sites = sites.drop(columns=["mean"]).rename(columns={"count": "months"})
    annual = D.mean(cur.groupby("site")["value"].mean().tolist())
    before = D.mean(prev.groupby("site")["value"].mean().tolist()) if len(prev) else None
    summary = pd.DataFrame([{
        "year": year, "sites": int(cur["site"].nunique()), "annual_mean": D.reported(annual), "target": target,
        "meets_target": D.meets_target(annual, target),
        "site_min": sites["annual_mean"].min() if len(sites) else None,
        "site_max": sites["annual_mean"].max() if len(sites) else None,
        "previous_year_mean": D.reported(before), "change_pct": D.change_percent(annual, before),
    }])
    return DustEvaluation(monthly, sites, summary, q)
