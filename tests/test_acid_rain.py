"""Acid rain: rainfall-weighted H⁺ mean pH, frequency, grades (standards.md §8, §10), and ``qingshan rain evaluate``."""

from __future__ import annotations

import pandas as pd
import pytest

from qingshan.evaluate.acid_rain import evaluate_rain
from qingshan.evaluate.periods import parse_period
from qingshan.standards import acid_rain as A

from .water_helpers import water_cli  # noqa: F401 (fixture)


def test_weighted_mean_ph_vector():
    """standards.md §10: pH 4.5, 5.0, 6.0 with 10, 20, 70 mm → 5.23 (the arithmetic mean 5.17 is wrong)."""
    assert A.weighted_mean_ph([4.5, 5.0, 6.0], [10, 20, 70]) == 5.23
    assert A.weighted_mean_ph([5.0, 5.0], [1, 0]) == 5.0  # zero weight left out
    assert A.weighted_mean_ph([5.0], [None]) is None


def test_frequency_and_grades():
    assert A.acid_frequency([4.5, 5.0, 6.0]) == 66.7
    assert A.acid_frequency([5.6, 5.59]) == 50.0  # 5.6 itself is not acid rain
    assert [A.ph_grade(x) for x in (4.49, 4.5, 4.99, 5.0, 5.59, 5.6, 7.0, None)] == \
        ["重酸雨", "较重酸雨", "较重酸雨", "酸雨", "酸雨", "非酸雨", "非酸雨", ""]


def test_rain_table_by_site_and_period():
    df = pd.DataFrame({"site": ["A", "A", "A", "B", "B"], "date": ["2023-01-03", "2023-02-05", "2023-03-01", "2023-01-09", "2022-12-31"],
                       "ph": ["4.5", "5.0", "6.0", "6.5", "4.0"], "rainfall": ["10", "20", "70", "5", "50"]})
    out, q = evaluate_rain(df, parse_period("2023"))
    allr = out[out.site == "全部"].iloc[0]
    assert (allr.samples, allr.acid_samples, allr.acid_frequency_pct) == (4, 2, 50.0)
    assert allr.mean_ph == pytest.approx(-__import__("math").log10((10 ** -4.5 * 10 + 10 ** -5 * 20 + 10 ** -6 * 70 + 10 ** -6.5 * 5) / 105), abs=0.005)
    assert out[out.site == "A"].iloc[0].mean_ph == 5.23 and out[out.site == "A"].iloc[0].grade == "酸雨"
    assert (allr.ph_min, allr.ph_max) == (4.5, 6.5)


def test_bad_cells_are_reported_and_skipped():
    df = pd.DataFrame({"点位": ["A", "A", "A"], "pH": ["5.0", "15", "abc"], "降水量": ["10", "5", "5"]})
    out, q = evaluate_rain(df)
    assert out.iloc[0].samples == 1 and sorted(q.lines) == [3, 4]


def test_cli_rain_evaluate(tmp_path, water_cli):
    run, _ = water_cli
    (tmp_path / "rain.csv").write_text("site,date,ph,rainfall\nA,2023-05-01,4.5,10\nA,2023-06-01,5.0,20\nA,2023-07-01,6.0,70\n")
    res = run(["rain", "evaluate", str(tmp_path / "rain.csv"), "--period", "2023", "-o", str(tmp_path / "out.csv")])
    assert res.exit_code == 0, res.output
    assert "5.23" in res.output
    assert pd.read_csv(tmp_path / "out.csv")["mean_ph"].tolist() == [5.23, 5.23]
