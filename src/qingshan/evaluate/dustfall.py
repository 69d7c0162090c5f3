"""Dustfall evaluation from the documented table ``site, month, dustfall`` (t/(km²·30d)), or ``site, month, flux,
days`` (t/km² over ``days`` days, normalised to 30 days) — docs/water.md; rules in :mod:`qingshan.standards.dustfall`.

Outputs: the city's monthly means, each site's annual mean and compliance, and the city annual mean against the
target (default 2.3 t/(km²·30d)); with data for the previous year also the change in %.
"""

from __future__ import annotations

from dataclasses import dataclass
from fractions import Fraction

import pandas as pd

from ..ingest.common import Quarantine
from ..ingest.dust import ALIASES, dust_values
from ..standards import dustfall as D

__all__ = ["ALIASES", "DustEvaluation", "city_monthly_means", "dust_values", "evaluate_dust"]

@dataclass
class DustEvaluation:
    monthly: pd.DataFrame
    sites: pd.DataFrame
    summary: pd.DataFrame
    problems: Quarantine


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
