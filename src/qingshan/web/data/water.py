"""Surface water: sections with their classes and the share of good sections by assessment level.

One cached :func:`qingshan.evaluate.water.evaluate_water` per store state and year (grouped by assessment level):
each section's period class (from the period's mean concentrations), its latest month's class, target class and
whether it meets it, the lake TLI; and per level the share of sections at Ⅰ–Ⅲ (优Ⅲ) and at 劣Ⅴ.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import date
from typing import Any

from ...evaluate.periods import Period
from ...evaluate.water import WaterEvaluation, evaluate_water
from ...numbers import finite, integer
from ...standards.water_class import class_roman, parse_class
from ...standards.water_eval import EVAL_2011
from ...store.read import water_sample_years
from ..console import Console
from ..jsonable import value
from ..store import StoreState, hour_day
from .common import period_param, year_param

WATER_BODY_LABELS = {"river": "河流", "lake": "湖库"}


def _sample_years(console: Console, state: StoreState) -> list[int]:
    def compute(_: StoreState) -> list[int]:
        with console.store.cursor() as cur:
            return water_sample_years(cur)

    return console.cached("water_years", (), compute, state)


def default_year(console: Console, state: StoreState) -> int | None:
    """The as-of year when it has samples, else the latest year with samples (None without any)."""
    years = _sample_years(console, state)
    if not years:
        return None
    if state.as_of_hi is not None and hour_day(state.as_of_hi).year in years:
        return hour_day(state.as_of_hi).year
    return years[-1]


def water_evaluation(console: Console, state: StoreState, year: int, period: Period | None = None) -> WaterEvaluation:
    """The evaluation of calendar year ``year``, or of ``period`` when given (the page's period picker)."""
    p = period or Period(date(year, 1, 1), date(year, 12, 31), str(year))

    def compute(_: StoreState) -> WaterEvaluation:
        with console.store.cursor() as cur:
            return evaluate_water(cur, p, "assessment")

    return console.cached("water", (p.start, p.end, p.label), compute, state)


def _roman(text: Any) -> str:
    return class_roman(parse_class(text)) if isinstance(text, str) and text else ""


def _year(console: Console, state: StoreState, year: int | None) -> int | None:
    if year is not None:
        return year_param(year, year)
    return default_year(console, state)


def _rulesets() -> dict[str, Any]:
    return {"water": EVAL_2011.name, "water_title": EVAL_2011.title_zh, "notes": list(EVAL_2011.notes)}


def _per_year(console: Console, year: int | None, name: str, key: str,
              build: Callable[[Console, StoreState, int, Period | None], dict[str, Any]],
              period: str | None = None) -> dict[str, Any]:
    """``build``'s answer for the year — or for ``period`` (2025-03, 2025-01-01:2025-03-31 …), which then sets
    the year — cached as ``name`` per store state, or an empty list under ``key`` while the store has no manual
    water data."""
    state = console.store.state()
    p = None
    if period is not None and period.strip():
        p = period_param(period, Period(date(2000, 1, 1), date(2000, 1, 1), ""))
        year = p.start.year
    y = _year(console, state, year)
    if y is None:
        return {"year": None, key: [], "rulesets": _rulesets(), "notes": ["测量库中还没有地表水手工监测数据"]}
    span = (p.start, p.end, p.label) if p else ()
    return console.cached(name, (y, *span), lambda st: build(console, st, y, p), state)


def water_sections(console: Console, year: int | None = None, period: str | None = None) -> dict[str, Any]:
    return _per_year(console, year, "water_sections", "sections", _sections, period)


def _period_dict(ev: WaterEvaluation) -> dict[str, str]:
    return {"start": ev.period.start.isoformat(), "end": ev.period.end.isoformat()}


def _sections(console: Console, state: StoreState, y: int, p: Period | None) -> dict[str, Any]:
    ev = water_evaluation(console, state, y, p)
    latest: dict[str, tuple[str, str]] = {}
    if not ev.months.empty:
        for r in ev.months.sort_values(["section", "month"]).to_dict("records"):
            latest[str(r["section"])] = (str(r["month"]), _roman(r["class"]))
    out = []
    for r in (ev.sections.to_dict("records") if not ev.sections.empty else []):
        target = integer(r.get("target_class"))
        month, month_class = latest.get(str(r["section"]), (None, ""))
        out.append({
            "section": r["section"], "name": value(r.get("name")) or r["section"],
            "water_body": value(r.get("water_body")),
            "water_body_label": WATER_BODY_LABELS.get(value(r.get("water_body")) or "", "未知"),
            "basin": value(r.get("basin")), "river": value(r.get("river")), "level": value(r.get("level")),
            "district": value(r.get("district")),
            "class": _roman(r.get("class")), "status": value(r.get("status")) or "",
            "latest_month": month, "latest_month_class": month_class,
            "target_class": class_roman(target) if target else "", "meets_target": value(r.get("meets_target")),
            "main_pollutants": value(r.get("main_pollutants")) or "",
            "tli": finite(r.get("tli")), "tli_grade": value(r.get("tli_grade")) or "",
            "n_samples": integer(r.get("n_samples")), "note": value(r.get("note")) or "",
        })
    return {"year": y, "period": ev.period.label, "dates": _period_dict(ev), "sections": out, "rulesets": _rulesets(), "notes": ev.notes}


def water_summary(console: Console, year: int | None = None, period: str | None = None) -> dict[str, Any]:
    """Per assessment level (全部, 国考, 省考 …): sections, share ≥ Ⅲ, share 劣Ⅴ, class counts, status."""
    return _per_year(console, year, "water_summary", "levels", _summary, period)


def _summary(console: Console, state: StoreState, y: int, p: Period | None) -> dict[str, Any]:
    ev = water_evaluation(console, state, y, p)
    levels = []
    for r in (ev.groups.to_dict("records") if not ev.groups.empty else []):
        levels.append({
            "level": r["考核级别"], "sections": integer(r["sections"]),
            "share_good_pct": finite(r["share_good_pct"]), "share_worse_than_v_pct": finite(r["share_worse_than_v_pct"]),
            "class_counts": {class_roman(k): integer(r.get(f"n_{c}")) or 0
                             for k, c in enumerate(("I", "II", "III", "IV", "V", "劣V"), start=1)},
            "status": value(r.get("status")) or "", "method": value(r.get("method")) or "",
            "main_pollutants": value(r.get("main_pollutants")) or "",
            "meets_target": integer(r.get("meets_target")), "with_target": integer(r.get("with_target")),
        })
    return {"year": y, "period": ev.period.label, "dates": _period_dict(ev), "levels": levels, "rulesets": _rulesets(), "notes": ev.notes}
