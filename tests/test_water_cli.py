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


def test_import_water_auto_many_files_summary_and_verbose(tmp_path, water_cli, monkeypatch):
    """Old code: one table line per file whatever the count (996 lines for a year of files) and no -v option.
    Now beyond DETAIL_FILES files the command prints a summary; -v lists every file."""
    import qingshan.cli.imports as ci

    from .test_water_ingest import write_json

    run, _ = water_cli
    monkeypatch.setattr(ci, "DETAIL_FILES", 2)
    files = [str(write_json(tmp_path / f"2021-01-0{d}.json.gz")) for d in (1, 2, 3)]
    res = run(["import", "water-auto", *files])
    assert res.exit_code == 0, res.output
    assert "共 3 个文件（逐个列出请加 -v）" in res.output and "合计 3 个文件" in res.output
    assert "2021-01-02.json.gz" not in res.output.replace("  2021-01-02.json.gz:", "")  # no table line per file
    res = run(["import", "water-auto", "-v", *files])
    assert res.exit_code == 0, res.output
    table_lines = [ln for ln in res.output.splitlines() if "│" in ln and ".json.gz" in ln]
    assert len(table_lines) == 3


def test_water_evaluate_prints_no_developer_note(tmp_path, water_cli):
    """Old code printed the rule set's note "时段均值不修约，与标准限值比较时容许1e-9相对误差" (a float detail)."""
    run, _ = water_cli
    (tmp_path / "s.csv").write_text(
        "section,date,water_body,level,target,district,basin,ph,do,codmn,nh3n,tp\n"
        "A,2023-01-05,river,国考,III,武进区,太湖流域,7.5,8,3,0.2,0.1\n", encoding="utf-8")
    assert run(["import", "water-samples", str(tmp_path / "s.csv")]).exit_code == 0
    res = run(["water", "evaluate", "--period", "2023"])
    assert res.exit_code == 0, res.output
    assert "时段均值不修约" in res.output and "1e-9" not in res.output and "相对误差" not in res.output


def test_water_evaluate_bad_group_says_the_choices(water_cli):
    run, _ = water_cli
    res = run(["water", "evaluate", "--period", "2023", "--group", "nope"])
    assert res.exit_code == 2
    assert "--group 应为 assessment | basin | district，而不是 'nope'" in " ".join(res.stderr.split())


def test_deposition_numbers_keep_their_precision_and_units(tmp_path, water_cli):
    """Old code printed a whole noise mean as "59" beside "65.3", pH "5.8" beside "5.81" and dustfall without a
    unit; now every value of a column has its standard's decimals (noise 0.1 dB, pH 0.01) and units are named."""
    run, _ = water_cli
    (tmp_path / "regional.csv").write_text("point,leq_day,leq_night\nP1,59,50\nP2,59,50.6\n", encoding="utf-8")
    res = run(["noise", "evaluate", "--regional", str(tmp_path / "regional.csv")])
    assert res.exit_code == 0, res.output
    assert "59.0" in res.output and "50.3" in res.output
    (tmp_path / "rain.csv").write_text("site,date,ph,rainfall\nS1,2023-06-01,5.8,10\nS1,2023-06-02,5.8,10\n",
                                       encoding="utf-8")
    res = run(["rain", "evaluate", str(tmp_path / "rain.csv")])
    assert res.exit_code == 0, res.output
    assert "5.80" in res.output
    (tmp_path / "dust.csv").write_text("site,month,dustfall\nD1,2023-01,2\nD1,2023-02,2\n", encoding="utf-8")
    res = run(["dust", "evaluate", str(tmp_path / "dust.csv")])
    assert res.exit_code == 0, res.output
    assert "t/(km²·30d)" in res.output and "2.0" in res.output
