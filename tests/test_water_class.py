"""GB 3838-2002 Table 1 and the single-factor class: hand-checked vectors (standards.md §4, §10), the vectorised
kernel against the scalar reference, and monotonicity properties."""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from qingshan.standards.water_class import (
    CLASSED_ITEMS,
    ITEMS,
    ITEMS_TABLE,
    class_text,
    classify_arrays,
    exceedance_multiple,
    factor_text,
    item_class,
    item_class_array,
    parse_class,
    sample_class,
)

# --- the table -------------------------------------------------------------------------------------------------


def test_table_has_all_24_items_in_order():
    assert [i.number for i in ITEMS_TABLE] == list(range(1, 25))
    assert len(CLASSED_ITEMS) == 23 and "temp" not in CLASSED_ITEMS
    assert CLASSED_ITEMS == ("ph", "do", "codmn", "cod", "bod5", "nh3n", "tp", "tn", "cu", "zn", "f", "se", "as",
                             "hg", "cd", "cr6", "pb", "cn", "phenol", "oil", "las", "s2", "fcoli")


@pytest.mark.parametrize("code,limits", [
    ("do", (7.5, 6, 5, 3, 2)), ("codmn", (2, 4, 6, 10, 15)), ("cod", (15, 15, 20, 30, 40)), ("bod5", (3, 3, 4, 6, 10)),
    ("nh3n", (0.15, 0.5, 1.0, 1.5, 2.0)), ("tp", (0.02, 0.1, 0.2, 0.3, 0.4)), ("tn", (0.2, 0.5, 1.0, 1.5, 2.0)),
    ("cu", (0.01, 1.0, 1.0, 1.0, 1.0)), ("zn", (0.05, 1.0, 1.0, 2.0, 2.0)), ("f", (1.0, 1.0, 1.0, 1.5, 1.5)),
    ("se", (0.01, 0.01, 0.01, 0.02, 0.02)), ("as", (0.05, 0.05, 0.05, 0.1, 0.1)),
    ("hg", (0.00005, 0.00005, 0.0001, 0.001, 0.001)), ("cd", (0.001, 0.005, 0.005, 0.005, 0.01)),
    ("cr6", (0.01, 0.05, 0.05, 0.05, 0.1)), ("pb", (0.01, 0.01, 0.05, 0.05, 0.1)), ("cn", (0.005, 0.05, 0.2, 0.2, 0.2)),
    ("phenol", (0.002, 0.002, 0.005, 0.01, 0.1)), ("oil", (0.05, 0.05, 0.05, 0.5, 1.0)),
    ("las", (0.2, 0.2, 0.2, 0.3, 0.3)), ("s2", (0.05, 0.1, 0.2, 0.5, 1.0)), ("fcoli", (200, 2000, 10000, 20000, 40000)),
])
def test_limits_as_in_table_1(code, limits):
    """standards.md §4 (cross-checked against two independent code tables there)."""
    assert ITEMS[code].limits == tuple(float(x) for x in limits)


def test_lake_tp_and_tn_lakes_only():
    assert ITEMS["tp"].limits_for("lake") == (0.01, 0.025, 0.05, 0.1, 0.2)
    assert ITEMS["tn"].limits_for("river") is None and ITEMS["tn"].limits_for("lake") is not None


# --- hand-checked vectors ----------------------------------------------------------------------------------------


def test_standards_md_vector():
    """standards.md §10 "Water class": NH3-N 1.2 → Ⅳ; TP 0.15 → Ⅲ river, Ⅴ lake; DO 4.0 → Ⅳ; COD 15 → Ⅰ;
    section Ⅳ at a river; NH3-N exceedance multiple 0.2."""
    assert item_class("nh3n", 1.2) == 4
    assert item_class("tp", 0.15, "river") == 3 and item_class("tp", 0.15, "lake") == 5
    assert item_class("do", 4.0) == 4
    assert item_class("cod", 15) == 1
    sc = sample_class({"nh3n": 1.2, "tp": 0.15, "do": 4.0, "cod": 15}, "river")
    assert sc.code == "IV" and sc.factors == ("do", "nh3n")
    assert sample_class({"nh3n": 1.2, "tp": 0.15, "do": 4.0, "cod": 15}, "lake").factors == ("tp",)
    assert exceedance_multiple("nh3n", 1.2) == pytest.approx(0.2)


@pytest.mark.parametrize("code,value,body,expected", [
    # equal to a limit meets it; shared limits give the better class
    ("cod", 15, "river", 1), ("cod", 15.01, "river", 3), ("cod", 40, "river", 5), ("cod", 40.01, "river", 6),
    ("bod5", 3, "river", 1), ("bod5", 4, "river", 3), ("hg", 0.00005, "river", 1), ("hg", 0.0001, "river", 3),
    ("hg", 0.0002, "river", 4), ("cu", 0.5, "river", 2), ("cu", 1.0, "river", 2), ("cu", 1.01, "river", 6),
    ("zn", 1.5, "river", 4), ("f", 1.0, "river", 1), ("f", 1.2, "river", 4), ("cn", 0.2, "river", 3),
    ("cd", 0.005, "river", 2), ("cd", 0.007, "river", 5), ("pb", 0.01, "river", 1), ("pb", 0.02, "river", 3),
    ("phenol", 0.05, "river", 5), ("oil", 0.05, "river", 1), ("oil", 0.06, "river", 4), ("las", 0.25, "river", 4),
    ("s2", 0.1, "river", 2), ("fcoli", 2000, "river", 2), ("fcoli", 50000, "river", 6),
    ("tp", 0.02, "river", 1), ("tp", 0.1, "river", 2), ("tp", 0.4, "river", 5), ("tp", 0.41, "river", 6),
    ("tp", 0.01, "lake", 1), ("tp", 0.05, "lake", 3), ("tp", 0.074, "lake", 4), ("tp", 0.21, "lake", 6),
    ("tn", 1.0, "lake", 3), ("tn", 2.5, "lake", 6), ("tn", 2.5, "river", None),
    # DO is a lower limit
    ("do", 7.5, "river", 1), ("do", 7.49, "river", 2), ("do", 6, "river", 2), ("do", 5, "river", 3),
    ("do", 2, "river", 5), ("do", 1.99, "river", 6),
    # pH is a range, no gradation
    ("ph", 6, "river", 1), ("ph", 9, "river", 1), ("ph", 5.99, "river", 6), ("ph", 9.01, "lake", 6),
    # missing, negative, water temperature
    ("nh3n", None, "river", None), ("nh3n", math.nan, "river", None), ("nh3n", -0.1, "river", None),
    ("temp", 20, "river", None),
])
def test_item_class_vectors(code, value, body, expected):
    assert item_class(code, value, body) == expected


def test_period_mean_meets_the_limit_it_equals():
    """(0.1 + 0.1 + 0.1) / 3 = 0.10000000000000002 in binary: still class Ⅱ (tolerance 1e-9)."""
    m = (0.1 + 0.1 + 0.1) / 3
    assert m > 0.1 and item_class("tp", m) == 2
    assert item_class_array("tp", np.array([m]))[0] == 2


def test_exceedance_multiple_rules():
    assert exceedance_multiple("tp", 0.074, "lake") == pytest.approx(0.48)
    assert exceedance_multiple("tp", 0.074, "river") is None  # Ⅰ–Ⅲ: no exceedance
    assert exceedance_multiple("do", 1.0) is None and exceedance_multiple("ph", 10) is None
    assert exceedance_multiple("fcoli", 25000) == pytest.approx(1.5)


def test_parse_class():
    assert [parse_class(t) for t in ("Ⅰ", "II", "Ⅲ类", "iv", "5", "劣Ⅴ", "劣V类", "", "-", "*", None)] == \
        [1, 2, 3, 4, 5, 6, 6, None, None, None, None]


def test_factor_text_and_class_text():
    res = classify_arrays({"nh3n": np.array([1.2, 0.1, np.nan]), "do": np.array([4.0, 8.0, np.nan])})
    assert class_text(res["class"]).tolist() == ["IV", "I", ""]
    assert factor_text(res["factor_mask"]).tolist() == ["do,nh3n", "do,nh3n", ""]


# --- the kernel equals the reference --------------------------------------------------------------------------

values = st.one_of(st.none(), st.just(math.nan), st.floats(min_value=-1, max_value=60000),
                   st.sampled_from([0.0, 0.01, 0.02, 0.05, 0.1, 0.2, 0.5, 1.0, 1.5, 2.0, 7.5, 15.0, 200.0]))


@settings(max_examples=300, deadline=None)
@given(st.lists(st.tuples(st.sampled_from(["river", "lake"]),
                          st.dictionaries(st.sampled_from(CLASSED_ITEMS), values, min_size=1)),
                min_size=1, max_size=30))
def test_kernel_matches_scalar_reference(rows):
    codes = sorted({c for _, d in rows for c in d})
    arrays = {c: np.array([np.nan if d.get(c) is None else d[c] for _, d in rows], dtype=float) for c in codes}
    lake = np.array([b == "lake" for b, _ in rows])
    res = classify_arrays(arrays, lake, chunk=7)
    for i, (body, d) in enumerate(rows):
        ref = sample_class({c: d.get(c) for c in codes}, body)
        assert res["class"][i] == (ref.klass or 0)
        assert factor_text(res["factor_mask"][i:i + 1])[0] == ",".join(ref.factors)
        for c in codes:
            assert res[f"class_{c}"][i] == (ref.items[c] or 0)


# --- monotonicity ---------------------------------------------------------------------------------------------


@settings(max_examples=300, deadline=None)
@given(st.sampled_from([c for c in CLASSED_ITEMS if ITEMS[c].kind == "le"]), st.sampled_from(["river", "lake"]),
       st.floats(min_value=0, max_value=1e5), st.floats(min_value=0, max_value=1e5))
def test_upper_limit_items_never_improve_when_the_value_rises(code, body, a, b):
    lo, hi = sorted((a, b))
    ka, kb = item_class(code, lo, body), item_class(code, hi, body)
    if ka is not None:
        assert kb >= ka


@settings(max_examples=200, deadline=None)
@given(st.floats(min_value=0, max_value=30), st.floats(min_value=0, max_value=30))
def test_do_never_worsens_when_it_rises(a, b):
    lo, hi = sorted((a, b))
    assert item_class("do", hi) <= item_class("do", lo)


@settings(max_examples=200, deadline=None)
@given(st.dictionaries(st.sampled_from(CLASSED_ITEMS), st.floats(min_value=0, max_value=1e4), min_size=1),
       st.sampled_from(CLASSED_ITEMS), st.floats(min_value=0, max_value=1e4))
def test_sample_class_is_the_worst_item_and_adding_an_item_never_improves_it(d, extra, value):
    for body in ("river", "lake"):
        base = sample_class(d, body)
        items = [k for k in base.items.values() if k is not None]
        assert base.klass == (max(items) if items else None)
        more = sample_class({**d, extra: value}, body)
        if base.klass is not None and extra not in d:
            assert more.klass >= base.klass


def test_lake_tp_is_never_better_than_river_tp():
    xs = np.linspace(0, 0.6, 6001)
    assert (item_class_array("tp", xs, True) >= item_class_array("tp", xs, False)).all()
