"""Targets of a city and year against the year-to-date data (``YYYY-01-01`` … ``as_of``).

Air targets come from the air engine: :func:`qingshan.evaluate.air.evaluate_period` over ``YYYY-01-01:as_of``
for the city (HJ 663 city values: mean of the evaluation stations' valid daily values) gives the good and valid
days and the reported ``pm25_mean``; the exact sum of the city's daily PM2.5 values (integers after GB/T 8170
rounding of each daily value) is taken from the same engine's city daily values, because the rest-of-year
requirement needs the sum, not a rounded mean.

Water targets come from the water engine (:func:`water_ytd`): :func:`qingshan.evaluate.water.evaluate_water` over
the same period gives each section's year-to-date class (from its year-to-date mean concentrations, standing in
for the annual class) and its monthly classes. A section counts at a level when its ``level`` lists it
("国考,省考" counts at both); "市考及以上" means 国考, 省考 or 市考. Sections are those of the workspace whose
``city`` is the city (or one of the config's aliases) or unset (a workspace normally holds one city).

Dustfall targets come from the store's ``dustfall`` table (:func:`dust_ytd`, imported with ``qingshan import
dust``): the city's monthly value of each completed month of the year (:func:`.progress.months_completed`; a
month counts once ``as_of`` is its last day) is the mean of the sites' values in that month
(:func:`qingshan.evaluate.dustfall.city_monthly_means`, as the dustfall evaluation's monthly means, unrounded: GB/T
8170 rounding is applied once, to the annual value). ``{"sum": sum of those monthly values, "n": months with
data}`` is what :func:`.progress.mean_progress` takes, with ``12 − months completed`` months remaining. Sites are
all the workspace's dustfall sites (a workspace normally holds one city).

Any input can be passed in ``extra`` (keyed by target id), which overrides the built inputs:
``{"n_sections": .., "n_meeting": ..}`` for a share, ``{"bad_months": {section: n}, "months_done": m}`` for
"no 劣Ⅴ", ``{"sum": .., "n": ..}`` (monthly values) for dustfall. Without inputs the row says 无数据.
"""

from __future__ import annotations

import re
from datetime import date
from fractions import Fraction

import duckdb
import numpy as np
import pandas as pd

from ..evaluate import air
from ..evaluate.grid import load_grid
from ..evaluate.periods import Period
from ..store.read import station_membership, water_section_cities
from ..store.review import data_label
from .config import Target, TargetConfig
from .progress import (
    Progress,
    days_elapsed,
    days_left,
    good_days_progress,
    mean_progress,
    months_completed,
    no_worse_v_progress,
    share_progress,
)

COLUMNS = ["id", "name", "indicator", "level", "target", "ytd_value", "unit", "n", "expected", "coverage", "status",
           "status_text", "requirement", "requirement_text", "required", "required_text", "remaining", "source"]


#: Targets are assessment (考核): reviewed data with the particulate data of dust-storm hours deducted
#: (环办监测〔2016〕120号, :mod:`qingshan.standards.review`).
DATA = "reviewed"
EXCLUDE_DUST = True


def city_daily_pm25(con: duckdb.DuckDBPyConnection, period: Period, city: str, data: str = DATA,
                    exclude_dust: bool = EXCLUDE_DUST) -> np.ndarray:
    """The city's valid daily PM2.5 values over ``period``, built exactly as :func:`air.evaluate_period` builds
    its city level (same engine functions, same rule sets and station-fraction rule, same reviewed data)."""
    segs = air.ruleset_segments(period.first_day, period.last_day, None)
    source, _ = air.store_source(con, "air_hourly", data, exclude_dust)
    grid = load_grid(con, source, period.first_day, period.last_day, air._station_where("stations", city, None))
    if not len(grid.stations):
        return np.array([], dtype=float)
    _, dv = air.station_daily(grid, segs)
    ent = station_membership(con)
    members = ent[air.city_members(ent) & (ent["city"] == city)]
    pos = {c: i for i, c in enumerate(grid.stations)}
    m = np.zeros((1, len(grid.stations)))
    for code in members["code"]:
        if code in pos:
            m[0, pos[code]] = 1.0
    cd = air.group_daily(np.array([city], dtype=object), m, np.array([float(len(members))]), dv, grid.first_day, segs,
                         segs[-1][2].city_min_station_fraction)
    v = cd.column("pm25").to_numpy(zero_copy_only=False).astype(float)
    return v[~np.isnan(v)]


def air_ytd(con: duckdb.DuckDBPyConnection, city: str, as_of: date, data: str = DATA) -> dict:
    """Year-to-date air inputs for ``city``: valid and good days, PM2.5 daily count and exact sum, reported mean
    (reviewed data with dust hours' PM deducted unless ``data="raw"``; ``data_label`` says which)."""
    period = Period(date(as_of.year, 1, 1), as_of, f"{as_of.year}-01-01:{as_of.isoformat()}")
    res = air.evaluate_period(con, period, city=city, levels=("city",), data=data, exclude_dust=EXCLUDE_DUST)
    t = res.table
    row = t[(t["level"] == "city") & (t["name"] == city)] if len(t) else t
    if not len(row):
        return {"found": False, "period": period}
    r = row.iloc[0]
    pm = city_daily_pm25(con, period, city, data, EXCLUDE_DUST)
    if len(pm) != int(r["n_pm25"]):  # both come from the same engine functions; a mismatch is a bug
        raise RuntimeError(f"城市日均值个数不一致：{len(pm)} ≠ {int(r['n_pm25'])}")
    return {"found": True, "period": period, "valid_days": int(r["valid_days"]), "good_days": int(r["good_days"]),
            "good_ratio": r["good_ratio"], "n_pm25": len(pm), "pm25_sum": float(pm.sum()),
            "pm25_mean": r["pm25_mean"], "eval_rulesets": res.eval_rulesets, "data": res.data,
            "data_label": data_label(res.data, res.exclude_dust)}


_ABOVE_CITY = ("国考", "省考", "市考")


def _levels(text: object) -> set[str]:
    from ..evaluate.water import LEVEL_SEPARATORS

    if not isinstance(text, str):
        return set()
    return {x.strip() for x in re.split(LEVEL_SEPARATORS, text) if x.strip()}


def _at_level(levels: set[str], level: str) -> bool:
    return bool(levels & set(_ABOVE_CITY)) if level == "市考及以上" else level in levels


def water_ytd(con: duckdb.DuckDBPyConnection, config: TargetConfig, city: str, as_of: date) -> dict:
    """``extra`` inputs (by target id) for the water targets of ``config`` from the water engine (module docstring).

    Share ≥ Ⅲ (≥ Ⅱ): sections at the level with a year-to-date class, and those of class ≤ 3 (≤ 2).
    No 劣Ⅴ: per section at the level, the number of months whose monthly class is 劣Ⅴ; ``months_done`` is the
    number of completed months (:func:`months_completed`)."""
    from ..evaluate.water import evaluate_water
    from ..standards.water_class import parse_class

    wanted = [t for t in config.targets if t.indicator.startswith("water_")]
    if not wanted:
        return {}
    period = Period(date(as_of.year, 1, 1), as_of, f"{as_of.year}-01-01:{as_of.isoformat()}")
    try:
        ev = evaluate_water(con, period)
    except duckdb.CatalogException:
        return {}
    if ev.sections.empty:
        return {}
    names = {city, config.city, *config.aliases}
    cities = water_section_cities(con)
    def ours(section: str) -> bool:
        c = cities.get(section)
        return c is None or pd.isna(c) or c in names
    sec = ev.sections[[ours(s) for s in ev.sections["section"]]]
    sec = sec.assign(_cls=[parse_class(x) for x in sec["class"]], _lv=[_levels(x) for x in sec["level"]])
    months = ev.months[[ours(s) for s in ev.months["section"]]] if not ev.months.empty else ev.months
    out: dict[str, dict] = {}
    for t in wanted:
        mask = pd.Series([_at_level(lv, t.level) for lv in sec["_lv"]], index=sec.index, dtype=bool)
        at = sec[mask & sec["_cls"].notna()]
        if at.empty:
            continue
        if t.indicator in ("water_share_ge3", "water_share_ge2"):
            worst = 3 if t.indicator == "water_share_ge3" else 2
            out[t.id] = {"n_sections": len(at), "n_meeting": int((at["_cls"] <= worst).sum())}
        elif t.indicator == "water_no_worse_v":
            bad = {s: 0 for s in at["section"]}
            if not months.empty:
                for s, c in zip(months["section"], months["class"]):
                    if s in bad and parse_class(c) == 6:
                        bad[s] += 1
            out[t.id] = {"bad_months": bad, "months_done": months_completed(as_of)}
    return out


def dust_ytd(con: duckdb.DuckDBPyConnection, config: TargetConfig, as_of: date) -> dict:
    """``extra`` inputs (by target id) for the dustfall targets of ``config`` from the store (module docstring):
    ``{"sum", "n", "months": {YYYY-MM: city monthly value}}``; nothing when no completed month has data. ``sum`` is
    an exact :class:`~fractions.Fraction` of the values as written (no floating-point error at the bound)."""
    from ..evaluate.dustfall import city_monthly_means
    from ..store.deposition import load_dust

    wanted = [t for t in config.targets if t.indicator == "dustfall_mean"]
    done = months_completed(as_of)
    if not wanted or done == 0:
        return {}
    months = [f"{as_of.year:04d}-{m:02d}" for m in range(1, done + 1)]
    rows = load_dust(con, as_of.year)
    rows = rows[rows["month"].isin(months) & rows["dustfall"].notna()].rename(columns={"dustfall": "value"})
    if rows.empty:
        return {}
    if not np.isfinite(rows["value"].to_numpy(dtype=float)).all():  # no exact sum of inf: mean_progress says why
        return {t.id: {"sum": float("inf"), "n": int(rows["month"].nunique()), "months": {}} for t in wanted}
    means = city_monthly_means(rows, exact=True)
    x = {"sum": sum(means, Fraction(0)), "n": len(means), "months": {m: float(v) for m, v in means.items()}}
    return {t.id: x for t in wanted}


def progress_for(target: Target, as_of: date, air_inputs: dict | None, extra: dict | None) -> Progress:
    """Dispatch one target to its :mod:`.progress` rule with the year-to-date inputs."""
    elapsed, left = days_elapsed(as_of), days_left(as_of)
    x = (extra or {}).get(target.id)
    ind = target.indicator
    if ind == "pm25_mean":
        if not air_inputs or not air_inputs.get("found"):
            return mean_progress(target.comparison, target.value, target.digits, None, 0, left, elapsed, target.unit)
        return mean_progress(target.comparison, target.value, target.digits, air_inputs["pm25_sum"],
                             air_inputs["n_pm25"], left, elapsed, target.unit)
    if ind == "good_ratio":
        good, valid = (air_inputs["good_days"], air_inputs["valid_days"]) if air_inputs and air_inputs.get("found") else (0, 0)
        return good_days_progress(target.comparison, target.value, target.digits, good, valid, left, elapsed)
    if ind in ("water_share_ge3", "water_share_ge2"):
        if not x:
            return Progress("no_data", "needed", None, 0, 0, 0, None, "未提供断面水质类别数据")
        return share_progress(target.comparison, target.value, target.digits, int(x["n_sections"]),
                              int(x["n_meeting"]), year_over=left == 0)
    if ind == "water_no_worse_v":
        if not x:
            return Progress("no_data", "needed", None, 0, 0, 12 - months_completed(as_of), None, "未提供断面月评价数据")
        limit = int(target.value) - (1 if target.comparison == "<" else 0)
        return no_worse_v_progress(x["bad_months"], int(x.get("months_done", months_completed(as_of))), limit)
    if ind == "dustfall_mean":
        done = months_completed(as_of)
        if not x:
            return mean_progress(target.comparison, target.value, target.digits, None, 0, 12 - done, done,
                                 target.unit, "个月")
        total = x["sum"] if isinstance(x["sum"], Fraction) else float(x["sum"])  # an exact sum stays exact
        return mean_progress(target.comparison, target.value, target.digits, total, int(x["n"]),
                             12 - done, done, target.unit, "个月")
    raise ValueError(f"未支持的指标：{ind}")


def target_status(con: duckdb.DuckDBPyConnection | None, config: TargetConfig, city: str, as_of: date,
                  extra: dict | None = None) -> pd.DataFrame:
    """One row per target of ``config`` with the year-to-date value, coverage, status and rest-of-year requirement.

    ``city`` is the city name used in the store's station table (it may differ from ``config.city``). Air, water
    and dustfall inputs are built from the store (module docstring); ``extra`` overrides them per target id."""
    if as_of.year != config.year:
        raise ValueError(f"截至日期 {as_of} 不在目标年度 {config.year} 内")
    needs_air = any(t.indicator in ("pm25_mean", "good_ratio") for t in config.targets)
    air_inputs = air_ytd(con, city, as_of) if needs_air and con is not None else None
    built = {**water_ytd(con, config, city, as_of), **dust_ytd(con, config, as_of)} if con is not None else {}
    extra = {**built, **(extra or {})}
    rows = []
    for t in config.targets:
        p = progress_for(t, as_of, air_inputs, extra)
        d = p.as_dict()
        rows.append({"id": t.id, "name": t.name, "indicator": t.indicator, "level": t.level, "target": t.text,
                     "ytd_value": d["ytd_value"], "unit": t.unit, "n": p.n, "expected": p.expected,
                     "coverage": d["coverage"], "status": p.status, "status_text": d["status_text"],
                     "requirement": p.requirement, "requirement_text": d["requirement_text"],
                     "required": p.required, "required_text": p.required_text, "remaining": p.remaining,
                     "source": t.source})
    return pd.DataFrame(rows, columns=COLUMNS)
