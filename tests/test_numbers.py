"""The one number coercer and formatter (:mod:`qingshan.numbers`) and the places that now use it."""

from __future__ import annotations

import json
import subprocess
import sys
from decimal import Decimal
from fractions import Fraction

import numpy as np
import pandas as pd
import pyarrow as pa
import pytest

from qingshan.charts import specs as S
from qingshan.errors import QingshanError
from qingshan.numbers import DASH, NotANumber, finite, fmt, integer, missing, plain, signed


@pytest.mark.parametrize("x, expected", [
    (3, 3.0), (2.5, 2.5), (np.int64(7), 7.0), (np.float32(1.5), 1.5), (Decimal("5.81"), 5.81),
    (Fraction(1, 4), 0.25), (pa.scalar(3.5), 3.5), (" 12.5 ", 12.5), (-0.0, 0.0),
])
def test_finite_reads_the_numbers_of_every_library(x, expected):
    assert finite(x) == expected and type(finite(x)) is float


@pytest.mark.parametrize("x", [
    None, float("nan"), np.nan, np.float32("nan"), pd.NA, pd.NaT, Decimal("NaN"), Decimal("sNaN"),
    pa.scalar(None, pa.float64()), float("inf"), -np.inf, Decimal("Infinity"), 10**400, "abc", "", True,
    np.bool_(False), pd.Timestamp("2024-01-01"), np.array([3.0]), pd.Series([1.0]),
])
def test_finite_gives_none_for_missing_infinite_and_non_numbers(x):
    assert finite(x) is None


def test_missing_is_none_nan_and_na_only():
    for x in (None, float("nan"), np.float64("nan"), pd.NA, pd.NaT, Decimal("NaN"), pa.scalar(None, pa.int64())):
        assert missing(x), x
    for x in (0, 0.0, False, "", "nan", float("inf"), np.array([np.nan]), Decimal("1")):
        assert not missing(x), x


def test_strict_refuses_words_with_a_chinese_message_but_not_missing_values():
    assert finite(None, strict=True) is None and finite(float("inf"), strict=True) is None
    with pytest.raises(NotANumber, match="不是数值：'七'") as e:
        finite("七", strict=True)
    assert isinstance(e.value, QingshanError) and isinstance(e.value, ValueError)
    with pytest.raises(NotANumber):
        finite(True, strict=True)


def test_integer_truncates_like_int():
    assert integer(np.float64(151.0)) == 151 and integer("42") == 42 and integer(float("nan")) is None


def test_formatters_keep_digits_units_and_one_placeholder():
    assert fmt(35, 0, unit="µg/m³") == "35µg/m³"
    assert fmt(5.8, 2) == "5.80" and fmt(Decimal("1.25"), 1, unit="mg/m³") == "1.2mg/m³"
    assert fmt(None, 1, unit="dB(A)") == DASH == "—" and fmt(float("inf"), 1) == DASH
    assert fmt("无", 1) == DASH and fmt("无", 1, keep_text=True) == "无" and fmt("", 1, keep_text=True) == DASH
    assert fmt(None, dash="") == ""
    assert plain(35.0) == "35" and plain(2.3) == "2.3" and plain(pd.NA) == DASH and plain(4, unit="倍") == "4倍"
    assert signed(3) == "+3.0" and signed(-1.14) == "-1.1" and signed(0.0, unit="%") == "0.0%"
    assert signed(2.25, 2, unit="个百分点") == "+2.25个百分点" and signed(None) == DASH


def test_numbers_imports_only_the_standard_library():
    code = ("import sys, qingshan.numbers; heavy = {'numpy', 'pandas', 'pyarrow', 'duckdb'} & set(sys.modules); "
            "print(sorted(heavy))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "[]"


# --- the call sites (each of these behaved differently before the one coercer) ---------------------------------


def test_web_fmt_filter_shows_infinity_as_missing():
    from qingshan.web.pages.render import fmt as page_fmt

    assert page_fmt(float("inf"), 1) == "—"  # was "inf"
    assert page_fmt(np.float64(12.345), 1) == "12.3" and page_fmt("暂无") == "暂无" and page_fmt(None) == "—"


def test_chart_values_are_json_even_for_infinite_input():
    spec = S.monthly_bars([{"month": "1月", "series": "2024", "value": float("inf")},
                           {"month": "2月", "series": "2024", "value": Decimal("31")}], "t", "y")
    assert [v["value"] for v in spec["data"]["values"]] == [None, 31.0]
    json.dumps(spec, allow_nan=False)  # was Infinity: not JSON
    with pytest.raises(ValueError, match="不是数值"):
        S.monthly_bars([{"month": "1月", "series": "2024", "value": "很多"}], "t", "y")


def test_bulletin_compliance_flag_accepts_pandas_na():
    from qingshan.reports.bulletin_air import tri

    assert tri(pd.NA) is None and tri(np.nan) is None and tri(np.bool_(True)) is True  # pd.NA raised TypeError
