"""HJ 663 period evaluation tables and rankings with the bulletin highlights.

Both come from one cached :func:`qingshan.evaluate.air.evaluate_period` call per store state, city and period
(levels station, district, town and city together); the ranking adds the same period of the previous year and applies
:func:`qingshan.evaluate.ranking.ranking_rows` — the yellow/red rule of the monthly bulletin.
"""

from __future__ import annotations

from typing import Any

import pandas as pd

from ...charts.highlights import HIGHLIGHT_MEANING
from ...evaluate.air import EvaluationResult, city_members, evaluate_period
from ...evaluate.periods import Period, day_index, period_before
from ...evaluate.ranking import (
    RANKING_METRICS,
    RankingMetric,
    change,
    ranking_rows,
    valid_value,
    year_ago,
)
from ...numbers import finite, integer
from ...standards.air_evaluation import ANNUAL_ITEMS
from ...standards.pollutants import POLLUTANTS
from ...standards.rulesets import EVAL_RULESETS
from ...store.read import hour_range
from ...store.review import has_dust_marks
from ..console import Console
from ..jsonable import records
from ..store import StoreState
from .common import BadParameter, data_meta, data_param, need_data, period_param, resolve_city, ytd_period

LEVELS = ("station", "district", "town", "city")
LEVEL_LABELS = {"station": "点位", "district": "区", "town": "镇（街道）", "city": "城市"}


def evaluation_result(console: Console, state: StoreState, city: str, period: Period, data: str = "reviewed",
                      exclude_dust: bool = False, levels: tuple[str, ...] = LEVELS) -> EvaluationResult:
    """The engine's evaluation of ``period`` (cached); ``levels`` narrower than all four for a comparison period,
    which needs only the rows it is compared with (the same numbers, a fraction of the time)."""
    if exclude_dust:  # without dust marks the deduction changes nothing: share the evaluation page's result
        with console.store.cursor() as cur:
            exclude_dust = has_dust_marks(cur)

    def compute(_: StoreState) -> EvaluationResult:
        with console.store.cursor() as cur:
            return evaluate_period(cur, period, city=city, levels=levels, data=data, exclude_dust=exclude_dust)

    full = (city, period.start, period.end, data, exclude_dust)
    if levels != LEVELS:  # a wider evaluation already cached (the ranking's 同比/环比 is the evaluation's): reuse it
        for wider in (LEVELS, (*levels, "city")):
            if wider != levels and set(levels) <= set(wider):
                done = console.peek("evaluate_period", full + (() if wider == LEVELS else (wider,)), state)
                if done is not None:
                    return done
    return console.cached("evaluate_period", full + (() if levels == LEVELS else (levels,)), compute, state)


def _level_rows(res: EvaluationResult, level: str, keep_control: bool = True) -> pd.DataFrame:
    t = res.table
    if t.empty:
        return t
    rows = t[t["level"] == level]
    if level == "station" and not keep_control and "is_control" in rows:  # town stations rank their towns
        rows = rows[city_members(rows)]
    return rows


def rulesets_of(res: EvaluationResult) -> dict[str, Any]:
    return {"eval": res.eval_rulesets, "eval_titles": {n: EVAL_RULESETS[n].title_zh for n in res.eval_rulesets
                                                      if n in EVAL_RULESETS},
            "aqi": res.aqi_rulesets, "limits": res.limits, "notes": res.notes}


def _level_param(level: str | None, allowed: tuple[str, ...], default: str) -> str:
    lv = level or default
    if lv not in allowed:
        raise BadParameter(f"层级 level 应为 {'|'.join(allowed)}，而不是 {lv!r}")
    return lv


def _short(pollutant: str, statistic: str, source: str) -> str:
    """A column heading: ``PM₂.₅ 均值``, ``PM₂.₅ P95``, ``O₃-8h P90``."""
    name = POLLUTANTS[pollutant].short_zh + ("-8h" if source == "o3_8h_max" else "")
    return f"{name} 均值" if statistic == "mean" else f"{name} {statistic.upper()}"


#: The columns of the evaluation table shown first (all engine columns follow in ``rows``).
SUMMARY_COLUMNS = ("level", "code", "name", "district", "is_control", "expected_days", "valid_days", "good_days",
                   "good_ratio", *(i.key for i in ANNUAL_ITEMS), "composite_index", "valid_all", "complies_all")


def evaluation(console: Console, city: str | None = None, period: str | None = None,
               level: str | None = None, data: str | None = None) -> dict[str, Any]:
    """HJ 663 statistics of every entity of ``level`` with coverage (valid days of the expected, valid flags), from
    reviewed data unless ``data="raw"`` (publication: dust hours not deducted)."""
    kind = data_param(data)
    state = console.store.state()
    need_data(state)
    name = resolve_city(console, state, city)
    p = period_param(period, ytd_period(state))
    lv = _level_param(level, LEVELS, "station")
    return console.cached("evaluation", (name, p.start, p.end, p.label, lv, kind),
                          lambda st: _evaluation(console, st, name, p, lv, kind), state)


#: the evaluation table's 同比/环比 columns: the indicators the bureau compares period by period
COMPARED = ("composite_index", "pm25_mean", "good_ratio")


def _period_dict(p: Period) -> dict[str, Any]:
    return {"label": p.label, "start": p.start.isoformat(), "end": p.end.isoformat(), "days": p.n_days}


def _compare(rows: list[dict[str, Any]], key: str, metric: RankingMetric, before: pd.DataFrame, tag: str) -> None:
    """Add ``{tag}_previous`` and ``{tag}_change`` of ``metric`` to each row: the value of the same entity in the
    evaluated period ``before`` (the engine's result, not an estimate; ``None`` without a valid value) and the
    change as the bulletin states it (% for concentrations and the index, percentage points for the good-day
    ratio: :func:`qingshan.evaluate.ranking.change`)."""
    prev = {str(r["code"]): r for r in before.to_dict("records")} if len(before) else {}
    for r in rows:
        cmp = r.setdefault("compare", {}).setdefault(key, {})
        value, pv = valid_value(r, metric), valid_value(prev.get(str(r["code"])), metric)
        cmp[f"{tag}_previous"] = pv
        cmp[f"{tag}_change"] = change(metric, value, pv)


def has_hours(console: Console, state: StoreState, period: Period) -> bool:
    """Whether the store holds any air hour of ``period``: a comparison period without one is not evaluated (its
    values are missing, as the engine would find them) — a whole evaluation saved per page on a store that starts
    after it (the demo's year has no year before)."""
    def compute(_: StoreState) -> tuple[int | None, int | None]:
        with console.store.cursor() as cur:
            return hour_range(cur)

    lo, hi = console.cached("hour_range", (), compute, state)
    if lo is None or hi is None:
        return False
    first, last = day_index(period.start) * 24 + 1, day_index(period.end) * 24 + 24  # hour-ending labels
    return lo <= last and hi >= first


def _compared_rows(console: Console, state: StoreState, name: str, p: Period, lv: str, kind: str,
                   exclude_dust: bool = False, keep_control: bool = True,
                   levels: tuple[str, ...] | None = None) -> pd.DataFrame:
    """The engine's rows of ``lv`` for comparison period ``p``, evaluated for ``levels`` only (default: ``lv``);
    empty when the store has no hour in it."""
    if not has_hours(console, state, p):
        return pd.DataFrame()
    res = evaluation_result(console, state, name, p, kind, exclude_dust, levels or (lv,))
    return _level_rows(res, lv, keep_control)


def _evaluation(console: Console, state: StoreState, name: str, p: Period, lv: str, kind: str) -> dict[str, Any]:
    res = evaluation_result(console, state, name, p, kind)
    rows = records(_level_rows(res, lv))
    yoy, mom = year_ago(p), period_before(p)
    yoy_rows = _compared_rows(console, state, name, yoy, lv, kind)
    mom_rows = _compared_rows(console, state, name, mom, lv, kind)
    for key in COMPARED:
        _compare(rows, key, RANKING_METRICS[key], yoy_rows, "yoy")
        _compare(rows, key, RANKING_METRICS[key], mom_rows, "mom")
    for r in rows:
        expected, valid = r.get("expected_days"), r.get("valid_days")
        r["coverage"] = {"expected_days": expected, "valid_days": valid,
                         "percent": round(100 * valid / expected, 1) if expected and valid is not None else None,
                         **{f"n_{p}": r.get(f"n_{p}") for p in ("so2", "no2", "co", "o3", "pm10", "pm25")},
                         "valid": {p: r.get(f"valid_{p}") for p in ("so2", "no2", "co", "o3", "pm10", "pm25")}}
    return {"city": name, "period": _period_dict(p), "year_ago": _period_dict(yoy), "before": _period_dict(mom),
            "compared": [{"key": k, "name": RANKING_METRICS[k].name_zh, "change": RANKING_METRICS[k].change}
                         for k in COMPARED],
            "level": lv, "level_label": LEVEL_LABELS[lv], "rows": rows,
            "items": [{"key": i.key, "name": i.name_zh, "short": _short(i.pollutant, i.statistic, i.source),
                       "pollutant": i.pollutant, "statistic": i.statistic} for i in ANNUAL_ITEMS],
            "rulesets": rulesets_of(res), "data": data_meta(res.data, res.exclude_dust)}


#: rankings follow 环办监测〔2016〕120号: particulate data of hours marked 沙尘天气影响 are deducted
RANKING_EXCLUDE_DUST = True


def ranking(console: Console, city: str | None = None, period: str | None = None, level: str | None = None,
            by: str | None = None, data: str | None = None) -> dict[str, Any]:
    """Entities of ``level`` (station or district) ranked by ``by`` with yellow/red highlights (reviewed data with
    dust hours' PM deducted unless ``data="raw"``)."""
    kind = data_param(data)
    state = console.store.state()
    need_data(state)
    name = resolve_city(console, state, city)
    p = period_param(period, ytd_period(state))
    lv = _level_param(level, ("station", "district", "town"), "station")
    key = by or "composite_index"
    if key not in RANKING_METRICS:
        raise BadParameter(f"排名指标 by 应为 {'|'.join(RANKING_METRICS)}，而不是 {key!r}")
    return console.cached("ranking", (name, p.start, p.end, p.label, lv, key, kind),
                          lambda st: _ranking(console, st, name, p, lv, key, kind), state)


def _ranking(console: Console, state: StoreState, name: str, p: Period, lv: str, key: str,
             kind: str = "reviewed") -> dict[str, Any]:
    metric = RANKING_METRICS[key]
    prev_period = year_ago(p)
    cur_res = evaluation_result(console, state, name, p, kind, RANKING_EXCLUDE_DUST)
    prev_res = evaluation_result(console, state, name, prev_period, kind, RANKING_EXCLUDE_DUST)
    city_rows = _level_rows(cur_res, "city")
    city_row = city_rows[city_rows["code"] == name].iloc[0].to_dict() if len(city_rows) and (city_rows["code"] == name).any() else None
    rows = ranking_rows(_level_rows(cur_res, lv, keep_control=False), city_row,
                        _level_rows(prev_res, lv, keep_control=False), metric)
    before = period_before(p)
    both = (lv, "city")  # one evaluation of the period before gives the entities and the city
    _compare(rows, key, metric, _compared_rows(console, state, name, before, lv, kind, RANKING_EXCLUDE_DUST,
                                               keep_control=False, levels=both), "mom")
    for r in rows:  # flat names beside previous_value/change (the same-period-last-year pair)
        c = r.pop("compare")[key]
        # a ranked row holds its valid value as "value" (not under the metric's key, which _compare reads)
        r["mom_previous_value"], r["mom_change"] = c["mom_previous"], change(metric, r["value"], c["mom_previous"])
    before_city = _compared_rows(console, state, name, before, "city", kind, RANKING_EXCLUDE_DUST, levels=both)
    prev_city = _level_rows(prev_res, "city")
    prev_city_value = finite(prev_city[prev_city["code"] == name].iloc[0][key]) if len(prev_city) and (prev_city["code"] == name).any() else None
    return {"city": name, "level": lv, "level_label": LEVEL_LABELS[lv],
            "period": {"label": p.label, "start": p.start.isoformat(), "end": p.end.isoformat()},
            "previous_period": {"label": prev_period.label, "start": prev_period.start.isoformat(),
                                "end": prev_period.end.isoformat()},
            "before_period": {"label": before.label, "start": before.start.isoformat(), "end": before.end.isoformat()},
            "city_before_value": finite(before_city[before_city["code"] == name].iloc[0][key])
            if len(before_city) and (before_city["code"] == name).any() else None,
            "by": key, "metric": {"key": metric.key, "name": metric.name_zh, "unit": metric.unit,
                                  "digits": metric.digits, "higher_is_worse": metric.higher_is_worse,
                                  "change": metric.change},
            "city_value": finite(city_row.get(key)) if city_row else None,
            "city_previous_value": prev_city_value,
            "ranked": sum(1 for r in rows if r["rank"] is not None),
            "rows": rows, "highlight_meaning": HIGHLIGHT_MEANING,
            "metrics": {k: m.name_zh for k, m in RANKING_METRICS.items()},
            "rulesets": rulesets_of(cur_res), "previous_rulesets": rulesets_of(prev_res),
            "data": data_meta(cur_res.data, cur_res.exclude_dust),
            "previous_has_data": integer(len(_level_rows(prev_res, lv))) > 0 if not prev_res.table.empty else False}
