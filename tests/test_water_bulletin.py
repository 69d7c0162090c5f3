"""A year of monthly samples for 51 provincial assessment sections (20 of them national), imported from an XLSX
generated here, gives the bulletin's numbers (seeds 004: 国考 85 %, 省考 94.1 %, no 劣Ⅴ; main pollutants per
section; lake TLI grades) — through the engine and through ``qingshan water evaluate``."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest

from qingshan.evaluate.periods import parse_period
from qingshan.evaluate.water import evaluate_water
from qingshan.ingest.water_samples import import_water_samples

from .water_helpers import water_cli  # noqa: F401 (fixture)

DISTRICTS = ["武进区", "金坛区", "溧阳市", "新北区", "天宁区", "钟楼区", "经开区"]
BASE_RIVER = {"ph": 7.6, "do": 6.8, "codmn": 4.2, "cod": 16.0, "bod5": 3.2, "nh3n": 0.45, "tp": 0.14}
#: Lakes and the three sections worse than Ⅲ (all national): name → (water body, level, target, means)
SPECIAL = {
    "太湖湖心区": ("lake", "国考,省考", "Ⅲ", {"codmn": 3.8, "nh3n": 0.08, "tp": 0.05, "tn": 1.1, "chla": 6.0, "sd": 0.8, "do": 8.5, "ph": 8.1}),
    "太湖西部区": ("lake", "国考,省考", "Ⅳ", {"codmn": 4.2, "nh3n": 0.10, "tp": 0.074, "tn": 1.8, "chla": 30.0, "sd": 0.3, "do": 8.0, "ph": 8.2}),
    "滆湖": ("lake", "国考,省考", "Ⅳ", {"codmn": 6.5, "nh3n": 0.30, "tp": 0.12, "tn": 2.0, "chla": 35.0, "sd": 0.3, "do": 7.8, "ph": 8.3}),
    "长荡湖": ("lake", "省考", "Ⅳ", {"codmn": 5.0, "nh3n": 0.20, "tp": 0.048, "tn": 1.4, "chla": 25.0, "sd": 0.4, "do": 8.2, "ph": 8.2}),
    "漕桥河": ("river", "国考,省考", "Ⅲ", {**BASE_RIVER, "nh3n": 1.2, "pb": 0.06}),
}


def tli_by_hand(v: dict) -> float:
    """The 规定's formula written out again here, independently of the module."""
    r2 = {"chla": 1.0, "tp": 0.84 ** 2, "tn": 0.82 ** 2, "sd": 0.83 ** 2, "codmn": 0.83 ** 2}
    t = {"chla": 10 * (2.5 + 1.086 * math.log(v["chla"])), "tp": 10 * (9.436 + 1.624 * math.log(v["tp"])),
         "tn": 10 * (5.453 + 1.694 * math.log(v["tn"])), "sd": 10 * (5.118 - 1.94 * math.log(v["sd"])),
         "codmn": 10 * (0.109 + 2.661 * math.log(v["codmn"]))}
    return sum(r2[k] * t[k] for k in t) / sum(r2.values())


def build_workbook(path):
    rng = np.random.default_rng(2023)
    sections, rows = [], []
    names = list(SPECIAL) + [f"河流断面{i:02d}" for i in range(1, 51 - len(SPECIAL) + 1)]
    national_rivers = 20 - sum(1 for v in SPECIAL.values() if v[1].startswith("国考"))
    for k, name in enumerate(names):
        if name in SPECIAL:
            body, level, target, means = SPECIAL[name]
        else:
            body, level, target = "river", ("国考,省考" if k - len(SPECIAL) < national_rivers else "省考"), "Ⅲ"
            means = {c: v * rng.uniform(0.75, 1.15) for c, v in BASE_RIVER.items()}
            means["do"] = max(means["do"], 5.6)
            means["ph"] = BASE_RIVER["ph"]
        code = f"CZ{k + 1:02d}"
        sections.append({"断面编码": code, "断面名称": name, "水体类型": {"river": "河流", "lake": "湖库"}[body],
                         "流域": "太湖流域" if k % 3 else "长江流域", "考核级别": level, "水质目标": target,
                         "区县": DISTRICTS[k % len(DISTRICTS)]})
        for m in range(1, 13):
            f = 1.1 if m % 2 else 0.9  # ±10 % around the annual mean, which stays exact
            row = {"断面编码": code, "采样日期": f"2023-{m:02d}-10"}
            for c, v in means.items():
                row[c] = round(v * (f if c not in ("ph",) else 1.0), 6)
            row["hg[ug/L]"] = "<0.04"  # non-detects: ½ DL = 0.00002 mg/L → Ⅰ
            row["cd"] = "<0.0005"
            row["cn"] = "0.004L"
            row.setdefault("pb", "<0.0025")
            row["fcoli"] = 3000 if m != 7 else 90000  # evaluated separately: never sets the class
            rows.append(row)
    with pd.ExcelWriter(path) as xw:
        pd.DataFrame(rows).to_excel(xw, sheet_name="监测数据", index=False)
        pd.DataFrame(sections).to_excel(xw, sheet_name="断面信息", index=False)
    return len(rows)


@pytest.fixture
def evaluated(ws, tmp_path):
    path = tmp_path / "2023年手工监测.xlsx"
    n = build_workbook(path)
    rep = import_water_samples(ws, path)
    assert rep.rows_read == n + 51 and rep.quarantined == 0, ws.con.execute("SELECT * FROM quarantine").fetchall()
    return evaluate_water(ws.con, parse_period("2023"), "assessment"), path


def test_bulletin_shares(evaluated):
    ev, _ = evaluated
    g = ev.groups.set_index("考核级别")
    assert g.loc["国考", "sections"] == 20 and g.loc["国考", "share_good_pct"] == 85.0
    assert g.loc["省考", "sections"] == 51 and g.loc["省考", "share_good_pct"] == 94.1
    assert (g["share_worse_than_v_pct"] == 0.0).all()
    assert g.loc["省考", "status"] == "优" and g.loc["省考", "method"] == "断面水质类别比例法"
    assert g.loc["国考", "status"] == "良好"  # 75 % ≤ 85 % < 90 %


def test_section_classes_main_pollutants_and_targets(evaluated):
    ev, _ = evaluated
    s = ev.sections.set_index("name")
    assert set(s.loc[s["class"].isin(["IV", "V"])].index) == {"太湖西部区", "滆湖", "漕桥河"}
    assert s.loc["太湖湖心区", "class"] == "III" and s.loc["太湖湖心区", "class_factors"] == "tp"  # TP 0.05 = lake Ⅲ
    assert s.loc["太湖西部区", "main_pollutants"] == "总磷(0.48)"
    assert s.loc["滆湖", "class"] == "V" and s.loc["滆湖", "main_pollutants"] == "总磷(1.40)、高锰酸盐指数(0.08)"
    assert s.loc["漕桥河", "main_pollutants"] == "铅(0.20)、氨氮(0.20)"  # heavy metals first
    assert s.loc["太湖西部区", "meets_target"] == True and s.loc["滆湖", "meets_target"] == False  # noqa: E712
    assert s.loc["漕桥河", "meets_target"] == False  # noqa: E712
    assert s.loc["太湖湖心区", "status"] == "良好" and s.loc["滆湖", "status"] == "中度污染"
    assert (s["n_samples"] == 12).all()
    assert set(s.loc["太湖湖心区", "nd_only"].split(",")) == {"cd", "cn", "hg", "pb"}
    assert s.loc["长荡湖", "hg"] == pytest.approx(0.00002)  # ½ of the 0.04 µg/L detection limit


def test_lake_tli_grades(evaluated):
    ev, _ = evaluated
    period = ev.tli[ev.tli["month"] == "2023"].set_index("name")
    for name in ("太湖湖心区", "太湖西部区", "滆湖", "长荡湖"):
        expected = round(tli_by_hand(SPECIAL[name][3]), 2)
        assert period.loc[name, "tli"] == pytest.approx(expected, abs=0.011)
    assert period["tli_grade"].to_dict() == {"太湖湖心区": "中营养", "太湖西部区": "轻度富营养", "滆湖": "中度富营养",
                                            "长荡湖": "轻度富营养"}
    assert len(ev.tli) == 4 * 13  # 12 months and the year for each lake


def test_monthly_and_sample_tables(evaluated):
    ev, _ = evaluated
    assert len(ev.months) == 51 * 12 and len(ev.samples) == 51 * 12
    july = ev.samples[(ev.samples["date"].astype(str) == "2023-07-10")]
    assert (july["class_fcoli"] == "劣V").all() and "fcoli" not in ",".join(july["class_factors"])


def test_same_numbers_on_screen_and_in_xlsx(evaluated, tmp_path, water_cli):
    _, path = evaluated
    run, _ = water_cli
    assert run(["import", "water-samples", path]).exit_code == 0
    res = run(["water", "evaluate", "--period", "2023", "--group", "assessment", "-o", tmp_path / "公报.xlsx"])
    assert res.exit_code == 0, res.output
    for text in ("85", "94.1", "总磷(0.48)", "铅(0.20)、氨氮(0.20)", "中度富营养"):
        assert text in res.output
    book = pd.read_excel(tmp_path / "公报.xlsx", sheet_name=None)
    g = book["分组统计"].set_index("考核级别")
    assert g.loc["国考", "share_good_pct"] == 85.0 and g.loc["省考", "share_good_pct"] == 94.1
    assert g.loc["省考", "n_劣V"] == 0
