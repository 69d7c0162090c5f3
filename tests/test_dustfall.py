"""Dustfall: monthly/annual means against the 2.3 t/(km²·30d) target (seeds 001/004), and ``qingshan dust evaluate``."""

from __future__ import annotations

import pandas as pd
import pytest

from qingshan.evaluate.dustfall import evaluate_dust
from qingshan.standards import dustfall as D

from .water_helpers import water_cli  # noqa: F401 (fixture)


def test_rules():
    assert D.normalise(2.0, 31) == pytest.approx(2.0 * 30 / 31)
    assert D.meets_target(2.3) and D.meets_target(2.34) and not D.meets_target(2.35)  # 2.35 → 2.4 (GB/T 8170)
    assert D.change_percent(2.2, 2.3) == -4.3  # the bulletin's "下降4.3%"
    with pytest.raises(ValueError):
        D.normalise(1.0, 0)


def test_dust_table():
    """Sites A (2.0, 2.4 → 2.2) and B (2.6, 2.4 → 2.5): city annual (2.2 + 2.5) / 2 = 2.35 → 2.4 > 2.3."""
    df = pd.DataFrame({"site": ["A", "A", "B", "B", "A", "B"], "month": ["2023-01", "2023-02", "2023-01", "2023-02", "2022-01", "2022-01"],
                       "dustfall": ["2.0", "2.4", "2.6", "2.4", "2.5", "2.5"]})
    ev = evaluate_dust(df)
    s = ev.summary.iloc[0]
    assert (s.year, s.sites, s.annual_mean, s.meets_target, s.site_min, s.site_max) == (2023, 2, 2.4, False, 2.2, 2.5)
    assert s.previous_year_mean == 2.5 and s.change_pct == -6.0
    assert ev.monthly.set_index("month")["mean"].to_dict() == {"2023-01": 2.3, "2023-02": 2.4}
    assert ev.sites.set_index("site")["meets_target"].to_dict() == {"A": True, "B": False}


def test_flux_and_days_and_bad_cells():
    df = pd.DataFrame({"测点": ["A", "A", "A"], "月份": ["2023-01", "2023-02", "2023-13"], "flux": ["2.17", "2.0", "1"],
                       "days": ["31", "0", "30"]})
    ev = evaluate_dust(df)
    assert ev.summary.iloc[0].annual_mean == 2.1  # 2.17 × 30/31 = 2.1
    assert sorted(ev.problems.lines) == [3, 4]


def test_cli_dust_evaluate(tmp_path, water_cli):
    run, _ = water_cli
    (tmp_path / "d.csv").write_text("site,month,dustfall\nA,2023-01,2.1\nA,2023-02,2.3\nB,2023-01,2.2\n")
    res = run(["dust", "evaluate", str(tmp_path / "d.csv"), "-o", str(tmp_path / "d.xlsx")])
    assert res.exit_code == 0, res.output
    assert "2.2" in res.output
    assert set(pd.read_excel(tmp_path / "d.xlsx", sheet_name=None)) == {"年度", "月均值", "点位"}
