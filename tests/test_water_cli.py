"""The ``qingshan water classify`` contract (checked from outside: keep stable) and the other water commands."""

from __future__ import annotations

import pandas as pd

from .water_helpers import water_cli  # noqa: F401 (fixture)

CLASSIFY_IN = """id,water_body,ph,do,nh3n,tp,tn,cod,fcoli,note
1,river,7.5,4.0,1.2,0.15,3.0,15,,a
2,lake,8.0,8.0,0.1,0.15,1.2,,,b
3,river,9.5,,,,,,,
4,lake,,,,0.05,0.4,,,
5,river,,,,,,,,empty
6,river,7,7.5,0.15,0.02,,15,200,all I
7,sea,7,7,1,1,,,,bad body
8,lake,7.2,9,<0.05,0.011,abc,,50000,
"""


def test_classify_contract(tmp_path, water_cli):
    run, _ = water_cli
    (tmp_path / "in.csv").write_text(CLASSIFY_IN, encoding="utf-8")
    res = run(["water", "classify", str(tmp_path / "in.csv"), "-o", str(tmp_path / "out.csv")])
    assert res.exit_code == 0, res.output
    out = pd.read_csv(tmp_path / "out.csv", dtype=str, keep_default_na=False)
    items = ["ph", "do", "nh3n", "tp", "tn", "cod", "fcoli"]
    table_order = ["ph", "do", "cod", "nh3n", "tp", "tn", "fcoli"]  # class_<item> follow GB 3838 表1 order
    assert list(out.columns) == ["id", "water_body", *items, "note", "class", "class_factors", *[f"class_{c}" for c in table_order]]
    assert out["note"].tolist() == ["a", "b", "", "", "empty", "all I", "bad body", ""]  # input kept as given
    assert out["class"].tolist() == ["IV", "V", "劣V", "III", "", "I", "", "劣V"]
    assert out["class_factors"].tolist() == ["do,nh3n", "tp", "ph", "tp", "", "ph,do,cod,nh3n,tp,fcoli", "", "fcoli"]
    row1 = out.iloc[0]
    assert (row1.class_do, row1.class_nh3n, row1.class_tp, row1.class_tn, row1.class_cod, row1.class_fcoli) == \
        ("IV", "IV", "III", "", "I", "")  # TN has no class at a river; fcoli empty = missing
    assert out.iloc[1].class_tn == "IV" and out.iloc[1].class_tp == "V"
    assert out.iloc[3].class_tn == "II" and out.iloc[3].class_tp == "III"
    assert out.iloc[7].class_nh3n == "I" and out.iloc[7].class_tn == "" and out.iloc[7].class_tp == "II"
    assert "水体类型应为 river 或 lake" in res.output and "非数值" in res.output


def test_classify_eval21_and_xlsx(tmp_path, water_cli):
    run, _ = water_cli
    (tmp_path / "in.csv").write_text(CLASSIFY_IN, encoding="utf-8")
    res = run(["water", "classify", str(tmp_path / "in.csv"), "-o", str(tmp_path / "out.xlsx"), "--items", "eval21"])
    assert res.exit_code == 0, res.output
    out = pd.read_excel(tmp_path / "out.xlsx", dtype=str, keep_default_na=False)
    assert out["class"].tolist()[1] == "V" and out["class"].tolist()[7] == "II"  # TN and fecal coliform do not count
    assert out["class_fcoli"].tolist()[7] == "劣V"


def test_classify_errors(tmp_path, water_cli):
    run, _ = water_cli
    (tmp_path / "a.csv").write_text("ph,do\n7,8\n")
    res = run(["water", "classify", str(tmp_path / "a.csv"), "-o", str(tmp_path / "o.csv")])
    assert res.exit_code == 2 and "water_body" in res.output
    (tmp_path / "b.csv").write_text("water_body,foo\nriver,1\n")
    res = run(["water", "classify", str(tmp_path / "b.csv"), "-o", str(tmp_path / "o.csv")])
    assert res.exit_code == 2 and "没有任何监测项目列" in res.output


def test_import_and_evaluate_commands(tmp_path, water_cli):
    run, ws = water_cli
    (tmp_path / "s.csv").write_text(
        "section,date,water_body,level,target,district,basin,ph,do,codmn,nh3n,tp\n"
        "A,2023-01-05,river,国考,III,武进区,太湖流域,7.5,8,3,0.2,0.1\n"
        "A,2023-02-05,river,国考,III,武进区,太湖流域,7.5,8,3,1.4,0.1\n"
        "B,2023-01-05,lake,省考,IV,金坛区,太湖流域,8,8,5,0.2,0.07\n", encoding="utf-8")
    res = run(["import", "water-samples", str(tmp_path / "s.csv")])
    assert res.exit_code == 0, res.output
    assert "新增" in res.output
    res = run(["water", "evaluate", "--period", "2023", "--group", "district", "-o", str(tmp_path / "ev.xlsx")])
    assert res.exit_code == 0, res.output
    assert "武进区" in res.output and "轻度污染" in res.output and "总磷(0.40)" in res.output
    book = pd.read_excel(tmp_path / "ev.xlsx", sheet_name=None)
    assert set(book) == {"断面评价", "分组统计", "月度评价", "样品类别", "湖库营养状态"}
    sec = book["断面评价"].set_index("section")
    assert sec.loc["A", "class"] == "III" and sec.loc["B", "class"] == "IV" and sec.loc["B", "meets_target"] is not False
    months = book["月度评价"].set_index(["section", "month"])
    assert months.loc[("A", "2023-02"), "class"] == "IV" and months.loc[("A", "2023-02"), "main_pollutants"] == "氨氮(0.40)"
    res = run(["water", "evaluate", "--period", "2023", "--group", "nope"])
    assert res.exit_code == 2
    res = run(["water", "evaluate", "--period", "2019"])
    assert res.exit_code == 1 and "没有地表水监测数据" in res.output


def test_import_water_auto_command(tmp_path, water_cli):
    from .test_water_ingest import write_json

    run, _ = water_cli
    p = write_json(tmp_path / "2021-01-01.json.gz")
    res = run(["import", "water-auto", str(p)])
    assert res.exit_code == 0, res.output
    assert "没有监测时间" in res.output
    res = run(["import", "water-auto", str(tmp_path / "missing.json")])
    assert res.exit_code == 2 and "文件不存在" in res.output
