"""Named rule sets and the date switch (docs/design.md#rule-sets).

Air quality has two kinds of rule set:

* **AQI rule sets** (hourly/real-time and daily AQI): ``cnemc-realtime`` (the national platform's published
  practice, the default before 2026-03-01), ``hj633-2012`` (the literal 2012 text) and ``hj633-2026``.
* **Evaluation rule sets** (HJ 663 statistics, limits, composite index): ``gb3095-2012`` (HJ 663-2013 with
  GB 3095-2012 limits and the daily AQI of HJ 633-2012), ``gb3095-2026-transitional`` (HJ 663-2026 / HJ 633-2026
  with the transitional limits, 2026-03-01 … 2030-12-31) and ``gb3095-2026-final`` (from 2031-01-01).

Without an override, each day is evaluated with the rules in force on that day and a period's statistics are
compared with the limits in force on the period's last day; every output names the rule sets it used.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from typing import Mapping

from .air_aqi import AQI_RULESETS, CNEMC_REALTIME, HJ633_2026, AqiRuleSet
from .air_limits import GB3095_2012, GB3095_2026_FINAL, GB3095_2026_TRANSITIONAL, LimitSet
from .air_ranking import WEIGHTS_2018
from .air_validity import GB3095_TABLE4, Validity

SWITCH_2026 = date(2026, 3, 1)
FINAL_2031 = date(2031, 1, 1)


@dataclass(frozen=True)
class AirEvalRuleSet:
    name: str
    title_zh: str
    aqi: AqiRuleSet  # daily AQI (日报) and, for live data, the hourly AQI
    limits: LimitSet
    validity: Validity = GB3095_TABLE4
    composite_weights: Mapping[str, float] = field(default_factory=lambda: dict(WEIGHTS_2018))
    #: Share of a city's evaluation stations that must have a valid value for the city value to be valid.
    #: HJ 663's own threshold could not be verified (docs/rules/open-questions.md#city-station-threshold); 0.5 is our documented choice.
    city_min_station_fraction: float = 0.5
    notes: tuple[str, ...] = ()
    #: Deduct PM10/PM2.5 of hours marked 沙尘天气影响 (环办监测〔2016〕120号, :mod:`.review`): on for assessment
    #: (考核) and ranking, off for publication (the registered rule sets), which shows the air as it was.
    exclude_dust: bool = False


GB3095_2012_EVAL = AirEvalRuleSet(
    name="gb3095-2012",
    title_zh="HJ 663-2013 / GB 3095-2012",
    aqi=CNEMC_REALTIME,
    limits=GB3095_2012,
)

GB3095_2026_TRANSITIONAL_EVAL = AirEvalRuleSet(
    name="gb3095-2026-transitional",
    title_zh="HJ 663-2026 / GB 3095-2026 过渡期",
    aqi=HJ633_2026,
    limits=GB3095_2026_TRANSITIONAL,
    composite_weights={"so2": 1.0, "no2": 2.0, "pm10": 1.0, "pm25": 3.0, "co": 1.0, "o3": 2.0},
    notes=("综合指数权重（PM2.5×3、NO2×2、O3×2）取自公开实现，尚未与 HJ 663-2026 原文核对。",),
)

GB3095_2026_FINAL_EVAL = AirEvalRuleSet(
    name="gb3095-2026-final",
    title_zh="HJ 663-2026 / GB 3095-2026 （2031年起）",
    aqi=HJ633_2026,
    limits=GB3095_2026_FINAL,
    composite_weights=GB3095_2026_TRANSITIONAL_EVAL.composite_weights,
    notes=GB3095_2026_TRANSITIONAL_EVAL.notes,
)

EVAL_RULESETS: dict[str, AirEvalRuleSet] = {
    r.name: r for r in (GB3095_2012_EVAL, GB3095_2026_TRANSITIONAL_EVAL, GB3095_2026_FINAL_EVAL)
}


def aqi_ruleset_for(day: date) -> AqiRuleSet:
    """Hourly AQI rule set in force on ``day``."""
    return CNEMC_REALTIME if day < SWITCH_2026 else HJ633_2026


def eval_ruleset_for(day: date) -> AirEvalRuleSet:
    """Evaluation rule set in force on ``day``."""
    if day < SWITCH_2026:
        return GB3095_2012_EVAL
    return GB3095_2026_TRANSITIONAL_EVAL if day < FINAL_2031 else GB3095_2026_FINAL_EVAL


def get_aqi_ruleset(name: str) -> AqiRuleSet:
    try:
        return AQI_RULESETS[name]
    except KeyError:
        raise ValueError(f"未知的AQI规则集 {name!r}，可选：{', '.join(AQI_RULESETS)}") from None


def get_eval_ruleset(name: str) -> AirEvalRuleSet:
    try:
        return EVAL_RULESETS[name]
    except KeyError:
        raise ValueError(f"未知的评价规则集 {name!r}，可选：{', '.join(EVAL_RULESETS)}") from None
