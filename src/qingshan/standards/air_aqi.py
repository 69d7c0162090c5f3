"""HJ 633 — 环境空气质量指数 (AQI) 技术规定, versions 2012 and 2026, plus the national platform practice.

Everything here is data (breakpoint tables, categories, rule sets) and pure functions. The SQL used by the
evaluation engine is *generated* from the same tables by :func:`sql_iaqi`, so a breakpoint lives in one place.

Clauses implemented
-------------------
* Breakpoints: HJ 633-2012 表1; HJ 633-2026 表3 (PM10 100-point 150→120, PM2.5 75→60; the rest unchanged).
* IAQI formula: HJ 633-2012 §4.2 eq. (1); 2026 §4.2.4. Concentrations are first rounded per GB/T 8170 to the
  reporting precision (integers in µg/m³, CO one decimal in mg/m³; 2026 §4.2.2–4.2.3), so the interpolation is
  done in exact integer arithmetic and then rounded **up** (2012 §6.2, 2026 §4.2.6).
* Above the highest breakpoint neither version defines a value; the IAQI is capped at 500 (implementation choice,
  as in the national platform's published data where PM above the table shows AQI 500).
* SO2 1-h above 800 µg/m³: 2012 table note (2) — no 1-h IAQI, report the 24-h IAQI; 2026 note b and the national
  platform practice — IAQI = 200.
* O3 8-h above 800 µg/m³: 2012 note (3) — no 8-h IAQI, the 1-h IAQI is used; 2026 note c — IAQI = 300.
* AQI = max IAQI (eq. 2); primary pollutant(s) when AQI > 50, all ties listed (2012 §4.4.2, 2026 §4.3.1).
* Categories and colours: 2012 表2 + 附录A; 2026 表1 + 附录A (identical RGB).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from fractions import Fraction
from typing import Literal, Mapping

from .pollutants import PRIMARY_CODES
from .rounding import round_gbt8170, sql_round_gbt8170

IAQI_STEPS: tuple[int, ...] = (0, 50, 100, 150, 200, 300, 400, 500)


@dataclass(frozen=True)
class Breakpoints:
    """One column of the HJ 633 breakpoint table."""

    key: str
    pollutant: str
    averaging: str  # "1h", "24h" (daily), "8h"
    conc: tuple[float, ...]
    digits: int  # reporting precision of the concentration
    iaqi: tuple[int, ...] = IAQI_STEPS

    def __post_init__(self) -> None:
        if len(self.conc) > len(self.iaqi) or list(self.conc) != sorted(self.conc):
            raise ValueError(f"bad breakpoint table {self.key}")

    @property
    def top(self) -> float:
        return self.conc[-1]

    @property
    def top_iaqi(self) -> int:
        return self.iaqi[len(self.conc) - 1]

    def scaled(self) -> tuple[int, ...]:
        """Breakpoints in integer units of the reporting precision (CO in 0.1 mg/m³)."""
        s = 10**self.digits
        return tuple(int(round(c * s)) for c in self.conc)


def _bp(key: str, pollutant: str, averaging: str, conc: tuple[float, ...], digits: int = 0) -> Breakpoints:
    return Breakpoints(key, pollutant, averaging, conc, digits)


# HJ 633-2012 表1 (µg/m³; CO mg/m³).
TABLES_2012: dict[str, Breakpoints] = {
    b.key: b
    for b in (
        _bp("so2_24h", "so2", "24h", (0, 50, 150, 475, 800, 1600, 2100, 2620)),
        _bp("so2_1h", "so2", "1h", (0, 150, 500, 650, 800)),
        _bp("no2_24h", "no2", "24h", (0, 40, 80, 180, 280, 565, 750, 940)),
        _bp("no2_1h", "no2", "1h", (0, 100, 200, 700, 1200, 2340, 3090, 3840)),
        _bp("pm10_24h", "pm10", "24h", (0, 50, 150, 250, 350, 420, 500, 600)),
        _bp("co_24h", "co", "24h", (0, 2, 4, 14, 24, 36, 48, 60), digits=1),
        _bp("co_1h", "co", "1h", (0, 5, 10, 35, 60, 90, 120, 150), digits=1),
        _bp("o3_1h", "o3", "1h", (0, 160, 200, 300, 400, 800, 1000, 1200)),
        _bp("o3_8h", "o3", "8h", (0, 100, 160, 215, 265, 800)),
        _bp("pm25_24h", "pm25", "24h", (0, 35, 75, 115, 150, 250, 350, 500)),
    )
}

# HJ 633-2026 表3: identical except the PM daily columns.
TABLES_2026: dict[str, Breakpoints] = {
    **TABLES_2012,
    "pm10_24h": _bp("pm10_24h", "pm10", "24h", (0, 50, 120, 250, 350, 420, 500, 600)),
    "pm25_24h": _bp("pm25_24h", "pm25", "24h", (0, 35, 60, 115, 150, 250, 350, 500)),
}


# --- categories -----------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Category:
    level: int  # 1..6
    level_zh: str  # 一级 …
    name_zh: str  # 优 …
    colour: str  # HJ 633 附录A RGB as hex
    upper: int | None  # highest AQI of the band (None = open)


CATEGORIES: tuple[Category, ...] = (
    Category(1, "一级", "优", "#00E400", 50),
    Category(2, "二级", "良", "#FFFF00", 100),
    Category(3, "三级", "轻度污染", "#FF7E00", 150),
    Category(4, "四级", "中度污染", "#FF0000", 200),
    Category(5, "五级", "重度污染", "#99004C", 300),
    Category(6, "六级", "严重污染", "#7E0023", None),
)


def category(aqi: int | None) -> Category | None:
    """HJ 633-2012 表2 / 2026 表1 band of an AQI value."""
    if aqi is None:
        return None
    for c in CATEGORIES:
        if c.upper is None or aqi <= c.upper:
            return c
    raise AssertionError("unreachable")


# --- rule sets ------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Indicator:
    """One IAQI term of an AQI: which output code, from which input value, with which breakpoints."""

    code: str  # one of PRIMARY_CODES
    source: str  # input column name
    table: str  # key into the rule set's tables


@dataclass(frozen=True)
class AqiRuleSet:
    name: str
    title_zh: str
    tables: Mapping[str, Breakpoints]
    hourly: tuple[Indicator, ...]
    daily: tuple[Indicator, ...]
    so2_1h_above_top: Literal["use_24h", "iaqi_200"]
    o3_8h_above_top: Literal["use_1h", "iaqi_300"]
    #: HJ 633-2026 §5.3.1: with a pollutant missing, AQI is published only when the rest already give AQI > 100.
    publish_requires_complete: bool
    notes: tuple[str, ...] = field(default=())

    def hourly_sources(self) -> tuple[str, ...]:
        extra = ("so2_24h",) if self.so2_1h_above_top == "use_24h" else ()
        return tuple(dict.fromkeys([i.source for i in self.hourly] + list(extra)))


_I = Indicator

_DAILY_2012 = (
    _I("so2", "so2", "so2_24h"),
    _I("no2", "no2", "no2_24h"),
    _I("co", "co", "co_24h"),
    _I("o3", "o3_1h_max", "o3_1h"),
    _I("o3_8h", "o3_8h_max", "o3_8h"),
    _I("pm10", "pm10", "pm10_24h"),
    _I("pm25", "pm25", "pm25_24h"),
)

_DAILY_2026 = (
    _I("so2", "so2", "so2_24h"),
    _I("no2", "no2", "no2_24h"),
    _I("co", "co", "co_24h"),
    _I("o3_8h", "o3_8h_max", "o3_8h"),
    _I("pm10", "pm10", "pm10_24h"),
    _I("pm25", "pm25", "pm25_24h"),
)

_HOURLY_SIX = (
    _I("so2", "so2", "so2_1h"),
    _I("no2", "no2", "no2_1h"),
    _I("co", "co", "co_1h"),
    _I("o3", "o3", "o3_1h"),
    _I("pm10", "pm10", "pm10_24h"),
    _I("pm25", "pm25", "pm25_24h"),
)

CNEMC_REALTIME = AqiRuleSet(
    name="cnemc-realtime",
    title_zh="全国城市空气质量实时发布平台口径（HJ 633-2012 表值）",
    tables=TABLES_2012,
    hourly=_HOURLY_SIX,
    daily=_DAILY_2012,
    so2_1h_above_top="iaqi_200",
    o3_8h_above_top="use_1h",
    publish_requires_complete=False,
    notes=(
        "实时报：六项污染物1小时浓度；PM10、PM2.5 1小时浓度按24小时平均浓度限值计算分指数（2014-01-01起平台做法）；",
        "SO2 1小时浓度高于800 µg/m³ 时分指数按200计（平台发布数据实测）；O3 8小时滑动平均不参与实时AQI。",
        "日报同 HJ 633-2012。",
    ),
)

HJ633_2012 = AqiRuleSet(
    name="hj633-2012",
    title_zh="HJ 633-2012 字面规定",
    tables=TABLES_2012,
    hourly=(
        _I("so2", "so2", "so2_1h"),
        _I("no2", "no2", "no2_1h"),
        _I("co", "co", "co_1h"),
        _I("o3", "o3", "o3_1h"),
        _I("o3_8h", "o3_8h", "o3_8h"),
        _I("pm10", "pm10_24h", "pm10_24h"),
        _I("pm25", "pm25_24h", "pm25_24h"),
    ),
    daily=_DAILY_2012,
    so2_1h_above_top="use_24h",
    o3_8h_above_top="use_1h",
    publish_requires_complete=False,
    notes=(
        "实时报按 §5.1.3 与表4：PM 分指数取24小时滑动平均；含 O3 8小时滑动平均；",
        "SO2 1小时浓度高于800 µg/m³ 时取24小时平均浓度分指数（表1注2）；O3 8小时高于800时取1小时分指数（表1注3）。",
    ),
)

HJ633_2026 = AqiRuleSet(
    name="hj633-2026",
    title_zh="HJ 633-2026",
    tables=TABLES_2026,
    hourly=_HOURLY_SIX,
    daily=_DAILY_2026,
    so2_1h_above_top="iaqi_200",
    o3_8h_above_top="iaqi_300",
    publish_requires_complete=True,
    notes=(
        "实时报：六项污染物1小时浓度，PM 1小时浓度按日平均浓度限值（§4.2.4）；",
        "日报：SO2、NO2、CO、PM10、PM2.5 日平均与 O3 日最大8小时平均（§4.2.2）；",
        "缺项时仅当其余项目 AQI>100 才发布 AQI（§5.3.1）。",
    ),
)

AQI_RULESETS: dict[str, AqiRuleSet] = {r.name: r for r in (CNEMC_REALTIME, HJ633_2012, HJ633_2026)}


# --- pure scalar functions (the reference the SQL kernels are tested against) ---------------------------------


def iaqi(table: Breakpoints, conc: float | None) -> int | None:
    """IAQI of one concentration against one breakpoint column (HJ 633 eq. 1, rounded up).

    Missing or negative → ``None``. Above the top breakpoint → the top IAQI of the column (500 for full
    columns); the SO2-1h and O3-8h special cases are applied by :func:`aqi_of`.

    >>> iaqi(TABLES_2012["pm25_24h"], 40)
    57
    >>> iaqi(TABLES_2012["co_24h"], 1.5)
    38
    """
    if conc is None or conc != conc or conc < 0:
        return None
    s = 10**table.digits
    x = int(round_gbt8170(conc * s))  # integer units of the reporting precision
    bps = table.scaled()
    if x >= bps[-1]:
        return table.top_iaqi
    for i in range(1, len(bps)):
        if x <= bps[i]:
            lo, hi = bps[i - 1], bps[i]
            ilo, ihi = table.iaqi[i - 1], table.iaqi[i]
            value = Fraction(ihi - ilo, hi - lo) * (x - lo) + ilo
            return -((-value.numerator) // value.denominator)  # ceiling
    raise AssertionError("unreachable")


@dataclass(frozen=True)
class AqiResult:
    iaqi: dict[str, int | None]
    aqi: int | None
    primary: tuple[str, ...]
    category: Category | None


def aqi_of(values: Mapping[str, float | None], ruleset: AqiRuleSet, kind: Literal["hourly", "daily"]) -> AqiResult:
    """AQI of one station-hour (``kind="hourly"``) or one day, with IAQIs, primary pollutants and category.

    ``values`` maps the indicator sources (``so2``, ``pm25_24h``, ``o3_8h_max`` …) to concentrations.
    """
    indicators = ruleset.hourly if kind == "hourly" else ruleset.daily
    out: dict[str, int | None] = {}
    for ind in indicators:
        table = ruleset.tables[ind.table]
        c = values.get(ind.source)
        v = iaqi(table, c)
        if v is not None and c is not None and c > table.top:
            if ind.table == "so2_1h":
                if ruleset.so2_1h_above_top == "iaqi_200":
                    v = 200
                else:  # HJ 633-2012 note (2): the 24-h IAQI is reported instead
                    v = iaqi(ruleset.tables["so2_24h"], values.get("so2_24h"))
            elif ind.table == "o3_8h":
                # 2012 note (3): no 8-h IAQI; the 1-h IAQI (already an indicator) stands for O3.
                v = 300 if ruleset.o3_8h_above_top == "iaqi_300" else None
        out[ind.code] = v
    present = [v for v in out.values() if v is not None]
    aqi = max(present) if present else None
    if aqi is not None and ruleset.publish_requires_complete and len(present) < len(out) and aqi <= 100:
        aqi = None
    primary: tuple[str, ...] = ()
    if aqi is not None and aqi > 50:
        primary = tuple(c for c in PRIMARY_CODES if out.get(c) == aqi)
    return AqiResult(out, aqi, primary, category(aqi))


# --- SQL generation --------------------------------------------------------------------------------------------


def sql_scaled(expr: str, digits: int) -> str:
    """``expr`` rounded per GB/T 8170 to the reporting precision, in integer units."""
    return f"({sql_round_gbt8170(expr, digits)} * {10**digits})"


def sql_iaqi(table: Breakpoints, expr: str) -> str:
    """SQL for :func:`iaqi` (same rounding, same exact integer interpolation, same cap)."""
    x = sql_scaled(expr, table.digits)
    bps = table.scaled()
    parts = [f"CASE WHEN ({expr}) IS NULL OR ({expr}) < 0 THEN NULL", f"WHEN {x} >= {bps[-1]} THEN {table.top_iaqi}"]
    for i in range(1, len(bps)):
        lo, hi = bps[i - 1], bps[i]
        ilo, ihi = table.iaqi[i - 1], table.iaqi[i]
        d_c, d_i = hi - lo, ihi - ilo
        parts.append(f"WHEN {x} <= {hi} THEN {ilo} + floor(({d_i} * ({x} - {lo}) + {d_c - 1}) / {d_c})")
    parts.append("END")
    return "CAST(" + " ".join(parts) + " AS INTEGER)"


def sql_indicator_iaqi(ruleset: AqiRuleSet, ind: Indicator, col: callable = lambda s: s) -> str:
    """SQL for one indicator's IAQI including the SO2-1h / O3-8h above-table rules. ``col`` maps a source name
    to a column expression."""
    table = ruleset.tables[ind.table]
    base = sql_iaqi(table, col(ind.source))
    if ind.table == "so2_1h":
        above = "200" if ruleset.so2_1h_above_top == "iaqi_200" else sql_iaqi(ruleset.tables["so2_24h"], col("so2_24h"))
        return f"(CASE WHEN {col(ind.source)} > {table.top} THEN {above} ELSE {base} END)"
    if ind.table == "o3_8h":
        above = "300" if ruleset.o3_8h_above_top == "iaqi_300" else "CAST(NULL AS INTEGER)"
        return f"(CASE WHEN {col(ind.source)} > {table.top} THEN {above} ELSE {base} END)"
    return base


def sql_category_level(aqi_expr: str) -> str:
    parts = ["CASE WHEN " + aqi_expr + " IS NULL THEN NULL"]
    for c in CATEGORIES:
        if c.upper is not None:
            parts.append(f"WHEN {aqi_expr} <= {c.upper} THEN {c.level}")
    parts.append(f"ELSE {CATEGORIES[-1].level} END")
    return "(" + " ".join(parts) + ")"


def sql_aqi_select(ruleset: AqiRuleSet, kind: Literal["hourly", "daily"], col: callable = lambda s: s) -> list[str]:
    """SELECT-list items computing ``iaqi_<code>``, ``aqi``, ``level`` and ``primary_pollutants``.

    Written as nested sub-expressions of the input columns only, so the list can be placed in a single SELECT.
    """
    indicators = ruleset.hourly if kind == "hourly" else ruleset.daily
    iaqis = {ind.code: sql_indicator_iaqi(ruleset, ind, col) for ind in indicators}
    items = [f"{e} AS iaqi_{code}" for code, e in iaqis.items()]
    greatest = "greatest(" + ", ".join(iaqis.values()) + ")" if len(iaqis) > 1 else next(iter(iaqis.values()))
    aqi = greatest
    if ruleset.publish_requires_complete:
        all_present = " AND ".join(f"({e}) IS NOT NULL" for e in iaqis.values())
        aqi = f"(CASE WHEN {all_present} OR {greatest} > 100 THEN {greatest} END)"
    items.append(f"{aqi} AS aqi")
    return items


def sql_primary(codes: tuple[str, ...]) -> str:
    """``primary_pollutants`` from already computed ``iaqi_<code>`` and ``aqi`` columns (comma-joined, ordered)."""
    terms = [f"CASE WHEN iaqi_{c} = aqi THEN '{c}' END" for c in PRIMARY_CODES if c in codes]
    return f"(CASE WHEN aqi > 50 THEN concat_ws(',', {', '.join(terms)}) ELSE '' END)"
