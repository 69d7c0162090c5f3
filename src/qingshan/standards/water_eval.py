"""地表水环境质量评价办法（试行）(环办〔2011〕22号) — section, river/basin and group evaluation.

Pure rules over period means and section classes; the engines in :mod:`qingshan.evaluate.water` apply them to the
store. Clause references are to the 办法's outline (一 基本规定, 二 评价方法) as summarised in docs/rules/water.md.

Clauses implemented
-------------------
* 一(一)1 水质评价指标: the 21 items of GB 3838 表1 without 水温, 总氮 and 粪大肠菌群 (:data:`EVAL_ITEMS`). TN and
  fecal coliform are evaluated separately, for reference; TN enters the lake trophic state (:mod:`.trophic`).
* 一(二) 数据统计: a period value is the arithmetic mean of the period's results (week/ten-day/month: one result or
  the mean of several; quarter and year: the mean). The 办法 defines neither rounding nor non-detects: both are
  rule-set parameters here (see :class:`WaterEvalRuleSet`).
* 二(一) 断面水质评价: single-factor method on the period means (:func:`qingshan.standards.water_class.sample_class`);
  status 优 (Ⅰ–Ⅱ) / 良好 (Ⅲ) / 轻度污染 (Ⅳ) / 中度污染 (Ⅴ) / 重度污染 (劣Ⅴ) (:data:`STATUS`).
* 二(一) 主要污染指标: for a section worse than Ⅲ, the items exceeding Ⅲ, worst class first, ties by 超标倍数
  (against the class-Ⅲ limit), at most three; cyanide and heavy metals that exceed are listed first
  (:func:`main_pollutants`).
* 二(二) 河流、流域（水系）: fewer than 5 sections → mean of every item over the sections, then the single-factor
  method; 5 or more (5个(含)以上) → class-proportion method (:func:`proportion_status`). Main pollutants of a group:
  the three items with the highest 断面超标率 (share of sections exceeding Ⅲ) (:func:`group_main_pollutants`).
* 二(三) 湖泊、水库: one point is evaluated like a section; several points → mean of each item over the points, then
  the single-factor method (the same function as < 5 sections).

Open questions (docs/rules/open-questions.md#water-evaluation) and the choices made
--------------------------------------------------------
* **重度污染 threshold.** The Shenzhen EEB text reads "Ⅰ–Ⅲ < 75 % and 劣Ⅴ ≥ 40 %"; a recollection of the original
  reads "Ⅰ–Ⅲ < 60 % and 劣Ⅴ ≥ 40 %". Since p + q ≤ 100 %, q ≥ 40 % already implies p ≤ 60 %: the two readings
  differ only at exactly p = 60 %, q = 40 %. Default (``heavy_p_below=0.75``): that case is 重度污染; with
  ``heavy_p_below=0.60`` it falls to the row above it, 中度污染.
* **Non-detects** (results below the detection limit, ``<DL``): default ``half_dl`` — they enter means at half the
  detection limit (common practice, *not* the 办法); ``dl`` and ``zero`` are the alternatives. A mean made only
  of non-detects is flagged so reports can print it as "<DL".
* **Rounding of period means:** none (the 办法 is silent); limits are compared with a 1e-9 relative tolerance.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Iterable, Literal, Mapping, Sequence

from .water_class import CLASSED_ITEMS, ITEMS, class_roman, exceedance_multiple, item_class, sample_class

#: 一(一)1: the 21 evaluation items (GB 3838 表1 without 水温, 总氮, 粪大肠菌群), in 表1 order.
EVAL_ITEMS: tuple[str, ...] = tuple(c for c in CLASSED_ITEMS if c not in ("tn", "fcoli"))

#: Cyanide and the heavy metals (and arsenic) listed first among main pollutants when they exceed Ⅲ.
PRIORITY_ITEMS: frozenset[str] = frozenset({"cn", "hg", "cd", "cr6", "pb", "as", "cu", "zn"})


@dataclass(frozen=True)
class Status:
    name_zh: str
    colour: str  # display colour (docs/rules/water.md#section-status: colours from memory, blue/green/yellow/orange/red)


#: 二(一) 表: class → 水质状况.
STATUS: dict[int, Status] = {
    1: Status("优", "#1E90FF"),
    2: Status("优", "#1E90FF"),
    3: Status("良好", "#00B050"),
    4: Status("轻度污染", "#FFD700"),
    5: Status("中度污染", "#FF8C00"),
    6: Status("重度污染", "#FF0000"),
}

STATUS_ORDER: tuple[str, ...] = ("优", "良好", "轻度污染", "中度污染", "重度污染")


def status_of_class(klass: int | None) -> str:
    """水质状况 of a section class ('' for none)."""
    return STATUS[klass].name_zh if klass else ""


@dataclass(frozen=True)
class WaterEvalRuleSet:
    name: str
    title_zh: str
    items: tuple[str, ...] = EVAL_ITEMS
    #: How a result below the detection limit enters a mean: "half_dl" | "dl" | "zero".
    nondetect: Literal["half_dl", "dl", "zero"] = "half_dl"
    #: Class-proportion method from this many sections up (二(二): 5个(含)以上).
    proportion_min_sections: int = 5
    #: 重度污染 needs p < heavy_p_below and q ≥ 40 % (see module docstring): 0.75 (default) or 0.60.
    heavy_p_below: float = 0.75
    #: Main pollutants: how many, and the class they must exceed.
    main_pollutants_max: int = 3
    reference_class: int = 3
    #: Decimals of the exceedance multiple in texts such as "总磷(0.85)".
    multiple_digits: int = 2
    notes: tuple[str, ...] = field(default=())


EVAL_2011 = WaterEvalRuleSet(
    name="sw-eval-2011",
    title_zh="地表水环境质量评价办法（试行）环办〔2011〕22号",
    notes=(
        "未检出按检出限的一半参与均值计算（常用做法，评价办法未作规定）；",
        "重度污染：Ⅰ~Ⅲ类比例<75%且劣Ⅴ类比例≥40%（与“<60%”的写法仅在恰为60%/40%时不同）；",
        "时段均值不修约，直接与标准限值比较。",
    ),
)

EVAL_2011_LITERAL_60 = WaterEvalRuleSet(
    name="sw-eval-2011-p60",
    title_zh="地表水环境质量评价办法（试行）— 重度污染按 Ⅰ~Ⅲ类<60%",
    heavy_p_below=0.60,
    notes=("重度污染：Ⅰ~Ⅲ类比例<60%且劣Ⅴ类比例≥40%；恰为60%/40%时按中度污染。",),
)

WATER_EVAL_RULESETS: dict[str, WaterEvalRuleSet] = {r.name: r for r in (EVAL_2011, EVAL_2011_LITERAL_60)}


def get_water_ruleset(name: str | None) -> WaterEvalRuleSet:
    if name is None:
        return EVAL_2011
    try:
        return WATER_EVAL_RULESETS[name]
    except KeyError:
        raise ValueError(f"未知的水质评价规则集 {name!r}，可选：{', '.join(WATER_EVAL_RULESETS)}") from None


def nondetect_value(dl: float, rule: WaterEvalRuleSet) -> float:
    """The value a non-detect (<DL) enters a mean with under the rule set."""
    return {"half_dl": dl / 2.0, "dl": dl, "zero": 0.0}[rule.nondetect]


def period_mean(values: Iterable[float | None], nondetect_dls: Iterable[float] = (), rule: WaterEvalRuleSet = EVAL_2011) -> float | None:
    """一(二): arithmetic mean of a period's results; non-detects enter with :func:`nondetect_value`."""
    xs = [float(v) for v in values if v is not None and v == v]
    xs += [nondetect_value(float(d), rule) for d in nondetect_dls]
    return sum(xs) / len(xs) if xs else None


@dataclass(frozen=True)
class MainPollutant:
    item: str
    klass: int
    multiple: float | None

    def text(self, digits: int = 2) -> str:
        from .rounding import round_gbt8170

        name = ITEMS[self.item].name_zh
        if self.multiple is None:
            return name
        return f"{name}({round_gbt8170(self.multiple, digits):.{digits}f})"


def main_pollutants(means: Mapping[str, float | None], water_body: str = "river",
                    rule: WaterEvalRuleSet = EVAL_2011) -> list[MainPollutant]:
    """主要污染指标 of one section (二(一)): items of the rule set whose class is worse than Ⅲ; cyanide and heavy
    metals first, then worst class, then largest exceedance multiple (items without a multiple — DO, pH — after
    those with one); at most ``rule.main_pollutants_max``. Empty when the section is Ⅲ or better.

    >>> [p.item for p in main_pollutants({"nh3n": 1.2, "tp": 0.15, "do": 4.0, "cod": 15})]
    ['nh3n', 'do']
    """
    found: list[MainPollutant] = []
    for c in rule.items:
        if c not in means:
            continue
        k = item_class(c, means[c], water_body)
        if k is not None and k > rule.reference_class:
            found.append(MainPollutant(c, k, exceedance_multiple(c, means[c], water_body, rule.reference_class)))
    found.sort(key=lambda p: (p.item not in PRIORITY_ITEMS, -p.klass, p.multiple is None, -(p.multiple or 0.0),
                              CLASSED_ITEMS.index(p.item)))
    return found[: rule.main_pollutants_max]


@dataclass(frozen=True)
class SectionEvaluation:
    klass: int | None
    status: str
    factors: tuple[str, ...]
    main: tuple[MainPollutant, ...]
    item_classes: dict[str, int | None]

    @property
    def class_roman(self) -> str:
        return class_roman(self.klass)


def evaluate_section(means: Mapping[str, float | None], water_body: str = "river",
                     rule: WaterEvalRuleSet = EVAL_2011) -> SectionEvaluation:
    """二(一): class from the period means of the rule set's items, status, 定类因子 and main pollutants."""
    sc = sample_class(means, water_body, items=rule.items)
    return SectionEvaluation(sc.klass, status_of_class(sc.klass), sc.factors,
                             tuple(main_pollutants(means, water_body, rule)), sc.items)


def proportion_status(p: float, q: float, rule: WaterEvalRuleSet = EVAL_2011) -> str:
    """二(二) class-proportion method: p = share of sections Ⅰ–Ⅲ, q = share 劣Ⅴ (fractions 0…1).

    >>> proportion_status(0.9, 0), proportion_status(0.8, 0.1), proportion_status(0.6, 0.1), proportion_status(0.5, 0.3)
    ('优', '良好', '轻度污染', '中度污染')
    >>> proportion_status(0.6, 0.4), proportion_status(0.6, 0.4, EVAL_2011_LITERAL_60)
    ('重度污染', '中度污染')
    """
    eps = 1e-12
    if p >= 0.9 - eps:
        return "优"
    if p >= 0.75 - eps:
        return "良好"
    if q >= 0.4 - eps and p < rule.heavy_p_below - eps:
        return "重度污染"
    if q >= 0.2 - eps:
        return "中度污染"
    return "轻度污染"


@dataclass(frozen=True)
class GroupEvaluation:
    n_sections: int
    share_good: float | None  # Ⅰ–Ⅲ (优Ⅲ比例), fraction
    share_worse_than_v: float | None  # 劣Ⅴ, fraction
    class_counts: dict[int, int]
    method: Literal["proportion", "mean", "none"]
    status: str
    klass: int | None  # only for the mean method
    main: tuple[str, ...]


def group_main_pollutants(section_means: Sequence[Mapping[str, float | None]], water_bodies: Sequence[str],
                          rule: WaterEvalRuleSet = EVAL_2011) -> list[tuple[str, float]]:
    """二(二): items ordered by 断面超标率 (sections whose mean exceeds Ⅲ ÷ sections), top three, with the rate."""
    n = len(section_means)
    if not n:
        return []
    rates = []
    for c in rule.items:
        over = sum(1 for m, wb in zip(section_means, water_bodies)
                   if c in m and (k := item_class(c, m[c], wb)) is not None and k > rule.reference_class)
        if over:
            rates.append((c, over / n))
    rates.sort(key=lambda t: (-t[1], CLASSED_ITEMS.index(t[0])))
    return rates[: rule.main_pollutants_max]


def evaluate_group(section_classes: Sequence[int | None], section_means: Sequence[Mapping[str, float | None]] | None = None,
                   water_bodies: Sequence[str] | None = None, rule: WaterEvalRuleSet = EVAL_2011) -> GroupEvaluation:
    """二(二)/二(三): a river, basin, lake or any group of sections.

    Sections without a class are left out. With ≥ ``rule.proportion_min_sections`` sections the class-proportion
    method gives the status; with fewer, the item means over the sections are classed (needs ``section_means``
    and ``water_bodies``; a group mixing rivers and lakes is classed with river limits for river-only TP — the
    办法 evaluates rivers and lakes separately, so mixed groups report the proportion figures only).
    """
    idx = [i for i, k in enumerate(section_classes) if k]
    classes = [section_classes[i] for i in idx]
    n = len(classes)
    counts = {k: classes.count(k) for k in range(1, 7)}
    if not n:
        return GroupEvaluation(0, None, None, counts, "none", "", None, ())
    p = sum(counts[k] for k in (1, 2, 3)) / n
    q = counts[6] / n
    means = [section_means[i] for i in idx] if section_means is not None else None
    bodies = [water_bodies[i] for i in idx] if water_bodies is not None else ["river"] * n
    main = tuple(c for c, _ in group_main_pollutants(means, bodies, rule)) if means is not None else ()
    if n >= rule.proportion_min_sections:
        return GroupEvaluation(n, p, q, counts, "proportion", proportion_status(p, q, rule), None, main)
    if means is None:
        return GroupEvaluation(n, p, q, counts, "none", "", None, main)
    body = "lake" if all(b == "lake" for b in bodies) else "river"
    avg: dict[str, float | None] = {}
    for c in rule.items:
        xs = [m[c] for m in means if m.get(c) is not None and m[c] == m[c]]
        if xs:
            avg[c] = sum(xs) / len(xs)
    ev = evaluate_section(avg, body, rule)
    return GroupEvaluation(n, p, q, counts, "mean", ev.status, ev.klass, tuple(x.item for x in ev.main) or main)
