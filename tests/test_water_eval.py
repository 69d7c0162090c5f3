"""地表水环境质量评价办法 rules, TLI, CWQI: hand-worked examples (standards.md §5, §6, §10)."""

from __future__ import annotations

import numpy as np
import pytest

from qingshan.standards.cwqi import city_cwqi, cwqi_array, cwqi_item, section_cwqi
from qingshan.standards.trophic import TLI_WEIGHTS, tli, tli_array, tli_grade, tli_grade_array, tli_index
from qingshan.standards.water_eval import (
    EVAL_2011,
    EVAL_2011_LITERAL_60,
    EVAL_ITEMS,
    WaterEvalRuleSet,
    evaluate_group,
    evaluate_section,
    get_water_ruleset,
    group_main_pollutants,
    main_pollutants,
    nondetect_value,
    period_mean,
    proportion_status,
    status_of_class,
)


def test_21_evaluation_items():
    assert len(EVAL_ITEMS) == 21 and not {"tn", "fcoli", "temp"} & set(EVAL_ITEMS)


@pytest.mark.parametrize("klass,status", [(1, "优"), (2, "优"), (3, "良好"), (4, "轻度污染"), (5, "中度污染"), (6, "重度污染"), (None, "")])
def test_status_of_class(klass, status):
    assert status_of_class(klass) == status


@pytest.mark.parametrize("good,worse,n,status", [
    (9, 0, 10, "优"), (18, 0, 20, "优"), (8, 0, 10, "良好"), (15, 0, 20, "良好"), (7, 1, 10, "轻度污染"),
    (14, 3, 20, "轻度污染"), (5, 2, 10, "中度污染"), (7, 3, 10, "中度污染"), (3, 4, 10, "重度污染"), (0, 10, 10, "重度污染"),
    (3, 2, 5, "重度污染"),  # p = 60 %, q = 40 %: the one case where the two readings differ (default: 重度)
])
def test_class_proportion_method(good, worse, n, status):
    assert proportion_status(good / n, worse / n) == status


def test_heavy_threshold_is_a_ruleset_parameter():
    assert proportion_status(0.6, 0.4, EVAL_2011_LITERAL_60) == "中度污染"
    assert proportion_status(0.5, 0.5, EVAL_2011_LITERAL_60) == "重度污染"
    assert get_water_ruleset("sw-eval-2011-p60").heavy_p_below == 0.60
    with pytest.raises(ValueError, match="未知的水质评价规则集"):
        get_water_ruleset("nope")


def test_nondetect_rule():
    assert nondetect_value(0.01, EVAL_2011) == 0.005
    assert nondetect_value(0.01, WaterEvalRuleSet("x", "x", nondetect="dl")) == 0.01
    assert nondetect_value(0.01, WaterEvalRuleSet("x", "x", nondetect="zero")) == 0.0
    assert period_mean([0.02, None], [0.01]) == pytest.approx(0.0125)


def test_section_evaluation_uses_21_items_only():
    """TN and fecal coliform are evaluated separately: a lake with TN 3 (劣Ⅴ) stays Ⅲ when TP is 0.05."""
    ev = evaluate_section({"tp": 0.05, "tn": 3.0, "fcoli": 90000, "codmn": 3.5, "nh3n": 0.1}, "lake")
    assert ev.klass == 3 and ev.status == "良好" and ev.factors == ("tp",) and ev.main == ()


def test_main_pollutants_order_and_multiples():
    """Worst class first, ties by exceedance multiple; heavy metals and cyanide first; at most three."""
    means = {"codmn": 12.0, "nh3n": 1.8, "tp": 0.35, "pb": 0.06, "do": 2.5, "cod": 25}
    mp = main_pollutants(means, "river")
    # pb (Ⅳ, heavy metal) first; then Ⅴ items: nh3n (0.8), codmn (1.0) → codmn before nh3n; (tp Ⅴ 0.75, do Ⅴ)
    assert [p.item for p in mp] == ["pb", "codmn", "nh3n"]
    assert [p.text() for p in mp] == ["铅(0.20)", "高锰酸盐指数(1.00)", "氨氮(0.80)"]
    assert [p.item for p in main_pollutants({"do": 2.5, "tp": 0.25}, "river")] == ["do", "tp"]  # Ⅴ before Ⅳ
    assert main_pollutants({"tp": 0.2, "nh3n": 1.0}, "river") == []  # Ⅲ: none


def test_group_below_five_sections_uses_item_means():
    """二(二): 4 sections → mean of every item over the sections, then the single-factor class of the means."""
    means = [{"nh3n": 0.4, "tp": 0.1}, {"nh3n": 0.6, "tp": 0.1}, {"nh3n": 2.6, "tp": 0.1}, {"nh3n": 0.6, "tp": 0.3}]
    ev = evaluate_group([2, 3, 6, 4], means, ["river"] * 4)
    # nh3n mean (0.4 + 0.6 + 2.6 + 0.6) / 4 = 1.05 → Ⅳ; tp mean 0.15 → Ⅲ
    assert ev.method == "mean" and ev.klass == 4 and ev.status == "轻度污染" and ev.main == ("nh3n",)
    assert ev.share_good == pytest.approx(0.5) and ev.share_worse_than_v == pytest.approx(0.25)
    lake = evaluate_group([3], [{"tp": 0.04}], ["lake"])
    assert lake.klass == 3 and lake.method == "mean"


def test_group_five_sections_uses_proportions_and_exceedance_rates():
    means = [{"tp": 0.25}, {"tp": 0.1, "nh3n": 1.6}, {"tp": 0.1}, {"tp": 0.1}, {"tp": 0.5, "nh3n": 2.5}]
    ev = evaluate_group([4, 5, 2, 2, 6], means, ["river"] * 5)
    assert ev.method == "proportion" and ev.status == "中度污染"  # p = 40 %, q = 20 %
    assert group_main_pollutants(means, ["river"] * 5) == [("nh3n", 0.4), ("tp", 0.4)]  # ties: 表1 order


# --- TLI ------------------------------------------------------------------------------------------------------


def test_tli_standards_md_vector():
    """standards.md §10: chla 10, TP 0.05, TN 1.0, SD 1.0, CODMn 4.0 → 50.01, 45.71, 54.53, 51.18, 37.98; Σ 48.02."""
    total, parts = tli({"chla": 10, "tp": 0.05, "tn": 1.0, "sd": 1.0, "codmn": 4.0})
    assert {k: round(v, 2) for k, v in parts.items()} == {"chla": 50.01, "tp": 45.71, "tn": 54.53, "sd": 51.18, "codmn": 37.98}
    assert total == 48.02 and tli_grade(total) == "中营养"
    assert {k: round(w, 4) for k, w in TLI_WEIGHTS.items()} == {"chla": 0.2663, "tp": 0.1879, "tn": 0.1790, "sd": 0.1834, "codmn": 0.1834}


@pytest.mark.parametrize("value,grade", [(29.99, "贫营养"), (30.0, "中营养"), (50.0, "中营养"), (50.01, "轻度富营养"),
                                         (60.0, "轻度富营养"), (60.01, "中度富营养"), (70.0, "中度富营养"), (70.01, "重度富营养")])
def test_tli_grade_boundaries(value, grade):
    assert tli_grade(value) == grade
    assert tli_grade_array(np.array([value]))[0] == grade


def test_tli_array_matches_scalar_and_renormalises_missing():
    vals = {"chla": np.array([10, 30, np.nan]), "tp": np.array([0.05, 0.12, 0.03]), "tn": np.array([1.0, 2.1, np.nan]),
            "sd": np.array([1.0, 0.3, np.nan]), "codmn": np.array([4.0, 6.0, np.nan])}
    arr = tli_array(vals)
    for i in range(3):
        ref, _ = tli({k: (None if np.isnan(v[i]) else float(v[i])) for k, v in vals.items()})
        assert arr[i] == pytest.approx(ref, abs=1e-9)
    assert arr[2] == pytest.approx(round(tli_index("tp", 0.03), 2))  # only TP: its own index


# --- CWQI -----------------------------------------------------------------------------------------------------


def test_cwqi_hand_worked():
    """CWQI(i) = C/C_III; DO: 5/C; pH: |pH − 7| / (7 − 6 or 9 − 7); lakes TP 0.05."""
    assert cwqi_item("ph", 8.0) == 0.5 and cwqi_item("ph", 6.5) == 0.5
    assert cwqi_item("do", 10) == 0.5 and cwqi_item("tn", 1.0) is None
    means = {"ph": 8.0, "do": 10.0, "codmn": 3.0, "nh3n": 0.5, "tp": 0.1}
    assert section_cwqi(means, "river") == pytest.approx(0.5 + 0.5 + 0.5 + 0.5 + 0.5)
    assert section_cwqi(means, "lake") == pytest.approx(0.5 * 4 + 2.0)
    assert city_cwqi([2.5, 4.0, None]) == 3.25
    arr = cwqi_array({k: np.array([v, v]) for k, v in means.items()}, np.array([False, True]))
    assert arr.tolist() == pytest.approx([2.5, 4.0])
