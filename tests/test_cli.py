"""The command line (``qingshan.cli.app``) through typer's CliRunner, with the workspace in tmp_path.

``air aqi`` is a promised contract (README, docs/formats.md): input columns kept in order, then
``iaqi_so2,iaqi_no2,iaqi_co,iaqi_o3,iaqi_pm10,iaqi_pm25`` (+ ``iaqi_o3_8h`` under hj633-2012), ``aqi``, ``level``,
``category``, ``primary_pollutants``; rows in input order.
"""

from __future__ import annotations

import io
import re
from datetime import date

import pandas as pd
import pytest
from typer.testing import CliRunner

from qingshan.cli import app
from qingshan.standards.air_aqi import TABLES_2012, iaqi
from qingshan.standards.rounding import round_gbt8170

from .conftest import QUOTSOFT, STATION_LIST, need

ADDED = ["iaqi_so2", "iaqi_no2", "iaqi_co", "iaqi_o3", "iaqi_pm10", "iaqi_pm25", "aqi", "level", "category",
         "primary_pollutants"]
INPUT_COLUMNS = ["station", "time", "so2", "no2", "co", "o3", "pm10", "pm25", "extra"]
CHANGZHOU_EVAL = {"1196A", "1200A", "1201A", "3002A", "3003A", "3010A", "3429A", "3430A"}


def run(workspace, *args: str):
    return CliRunner().invoke(app, ["--workspace", str(workspace), *[str(a) for a in args]])


def flat(text: str) -> str:
    """Console output without the line breaks rich inserts when wrapping."""
    return text.replace("\n", "")


def num(cell: str) -> float | None:
    return None if cell == "" else float(cell)


def read_out(path) -> pd.DataFrame:
    return pd.read_csv(path, dtype=str, keep_default_na=False)


# --- air aqi ------------------------------------------------------------------------------------------------------

AQI_INPUT = """station,time,so2,no2,co,o3,pm10,pm25,extra
S1,2023-01-20 01:00,150,100,5,160,50,35,all-fifty
S1,2023-01-20 02:00,650,700,35,300,350,250,heavy
S2,2023-01-20 01:00,5,5,0.2,20,250,115,tie
S2,2023-01-20 02:00,952,,,,,,so2-above-800
S2,2023-01-20 03:00,5,5,0.2,20,40,abc,non-numeric
S3,2026-04-01 01:00,,,,,,80,rules-2026
S3,2025-04-01 01:00,,,,,,80,rules-2012
"""


@pytest.fixture(scope="module")
def aqi_result(tmp_path_factory):
    d = tmp_path_factory.mktemp("aqi")
    inp = d / "in.csv"
    inp.write_text(AQI_INPUT, encoding="utf-8")
    out = d / "out.csv"
    res = run(d / "ws", "air", "aqi", inp, "-o", out)
    return res, out


def test_air_aqi_contract_columns_and_order(aqi_result):
    res, out = aqi_result
    assert res.exit_code == 0, res.output
    df = read_out(out)
    assert list(df.columns) == INPUT_COLUMNS + ADDED
    assert df["extra"].tolist() == ["all-fifty", "heavy", "tie", "so2-above-800", "non-numeric", "rules-2026",
                                   "rules-2012"]
    # the input columns are kept unchanged, including the bad cell
    src = pd.read_csv(io.StringIO(AQI_INPUT), dtype=str, keep_default_na=False)
    pd.testing.assert_frame_equal(df[INPUT_COLUMNS], src)
    assert "已计算 7 行（7 行有 AQI）" in flat(res.stdout)


def test_air_aqi_values(aqi_result):
    res, out = aqi_result
    assert res.exit_code == 0, res.output
    df = read_out(out).set_index("extra")

    def iaqis(key):
        return tuple(num(df.loc[key, c]) for c in ADDED[:6])

    def verdict(key):
        return (num(df.loc[key, "aqi"]), df.loc[key, "level"], df.loc[key, "category"], df.loc[key, "primary_pollutants"])

    assert iaqis("all-fifty") == (50, 50, 50, 50, 50, 50)
    assert verdict("all-fifty") == (50, "一级", "优", "")
    # so2, no2, co, o3, pm10, pm25
    assert iaqis("heavy") == (150, 150, 150, 150, 200, 300)
    assert verdict("heavy") == (300, "五级", "重度污染", "pm25")
    assert iaqis("tie")[4:] == (150, 150)
    assert verdict("tie") == (150, "三级", "轻度污染", "pm10,pm25")
    # SO2 1-h above 800 µg/m³: IAQI 200 (cnemc-realtime practice)
    assert iaqis("so2-above-800") == (200, None, None, None, None, None)
    assert verdict("so2-above-800") == (200, "四级", "中度污染", "so2")
    # the non-numeric PM2.5 is treated as missing, the other pollutants still count
    assert iaqis("non-numeric") == (2, 3, 2, 7, 40, None)
    assert verdict("non-numeric") == (40, "一级", "优", "")
    # the day decides the rule set: 2026-04-01 uses the HJ 633-2026 PM2.5 breakpoints
    assert num(df.loc["rules-2026", "iaqi_pm25"]) == 119
    assert num(df.loc["rules-2012", "iaqi_pm25"]) == 107
    assert verdict("rules-2026") == (119, "三级", "轻度污染", "pm25")


def test_air_aqi_non_numeric_cell_reported_on_stderr(aqi_result):
    res, _ = aqi_result
    assert res.exit_code == 0
    err = flat(res.stderr)
    assert "第 6 行" in err and "pm25" in err and "abc" in err and "非数值" in err
    assert "非数值" not in res.stdout


def test_air_aqi_row_without_any_value(tmp_path):
    inp = tmp_path / "in.csv"
    inp.write_text("station,time,so2,no2,co,o3,pm10,pm25\n"
                   "S1,2023-01-20 01:00,,,,,,\n"
                   "S1,2023-01-20 02:00,5,5,0.2,20,40,30\n", encoding="utf-8")
    out = tmp_path / "out.csv"
    res = run(tmp_path / "ws", "air", "aqi", inp, "-o", out)
    assert res.exit_code == 0, repr(res.exception)
    df = read_out(out)
    assert df.loc[0, ADDED].tolist() == [""] * len(ADDED)
    assert (num(df.loc[1, "aqi"]), df.loc[1, "primary_pollutants"]) == (43, "")


def test_air_aqi_hj633_2012_uses_moving_pm_means(tmp_path):
    pm25 = [64 + i for i in range(24)]  # 24-h mean 75.5 → reported 76 (GB/T 8170) → IAQI 102 (101 if unrounded)
    pm10 = [100 + 3 * i for i in range(24)]
    o3 = [100 + i for i in range(24)]
    lines = ["station,time,so2,no2,co,o3,pm10,pm25"]
    for i in range(24):
        lines.append(f"S1,2023-01-20 {i + 1:02d}:00,5,20,0.5,{o3[i]},{pm10[i]},{pm25[i]}")
    inp = tmp_path / "in.csv"
    inp.write_text("\n".join(lines) + "\n", encoding="utf-8")
    out = tmp_path / "out.csv"
    res = run(tmp_path / "ws", "air", "aqi", inp, "-o", out, "--ruleset", "hj633-2012")
    assert res.exit_code == 0, res.output
    df = read_out(out)
    assert list(df.columns) == lines[0].split(",") + ADDED[:6] + ["iaqi_o3_8h"] + ADDED[6:]
    assert df["time"].tolist()[-1] == "2023-01-20 24:00"
    last = df.iloc[-1]
    mean25 = sum(pm25) / 24
    assert mean25 == 75.5
    assert num(last["iaqi_pm25"]) == iaqi(TABLES_2012["pm25_24h"], round_gbt8170(mean25)) == 102
    assert num(last["iaqi_pm10"]) == iaqi(TABLES_2012["pm10_24h"], round_gbt8170(sum(pm10) / 24))
    assert num(last["iaqi_o3_8h"]) == iaqi(TABLES_2012["o3_8h"], round_gbt8170(sum(o3[-8:]) / 8))
    assert num(last["iaqi_o3"]) == iaqi(TABLES_2012["o3_1h"], o3[-1])
    # fewer than 20 hours in the window: no 24-h mean, no PM IAQI; 20 hours: the mean of those 20
    assert df["iaqi_pm25"].tolist()[:19] == [""] * 19
    assert num(df["iaqi_pm25"].iloc[19]) == iaqi(TABLES_2012["pm25_24h"], round_gbt8170(sum(pm25[:20]) / 20))
    # the 1-h value alone would give another IAQI: the moving mean is really used
    assert iaqi(TABLES_2012["pm25_24h"], pm25[-1]) != num(last["iaqi_pm25"])


def test_air_aqi_unknown_ruleset_exit_2(tmp_path):
    inp = tmp_path / "in.csv"
    inp.write_text(AQI_INPUT, encoding="utf-8")
    out = tmp_path / "out.csv"
    res = run(tmp_path / "ws", "air", "aqi", inp, "-o", out, "--ruleset", "hj633-1999")
    assert res.exit_code == 2
    assert "未知的AQI规则集" in flat(res.stderr) and "hj633-2012" in flat(res.stderr)
    assert not out.exists()


def test_air_aqi_missing_time_column_exit_2(tmp_path):
    inp = tmp_path / "in.csv"
    inp.write_text("station,pm25\nS1,40\n", encoding="utf-8")
    out = tmp_path / "out.csv"
    res = run(tmp_path / "ws", "air", "aqi", inp, "-o", out)
    assert res.exit_code == 2
    assert "缺少必需列：time" in flat(res.stderr)
    assert not out.exists()


def test_air_aqi_gbk_input_and_xlsx_output(tmp_path):
    inp = tmp_path / "in.csv"
    inp.write_bytes("station,time,pm25,站名\n1196A,2023-01-20 01:00,35,市监测站\n".encode("gbk"))
    out = tmp_path / "out.xlsx"
    res = run(tmp_path / "ws", "air", "aqi", inp, "-o", out)
    assert res.exit_code == 0, res.output
    df = pd.read_excel(out, dtype=str, keep_default_na=False)
    assert list(df.columns) == ["station", "time", "pm25", "站名"] + ADDED
    assert (df.loc[0, "站名"], df.loc[0, "iaqi_pm25"], df.loc[0, "aqi"], df.loc[0, "category"]) == ("市监测站", "50", "50", "优")


# --- import via the CLI -------------------------------------------------------------------------------------------


def test_import_long_cli_reports_and_refuses(tmp_path):
    good = tmp_path / "good.csv"
    good.write_text("station,time,pm25\nS1,2023-01-20 01:00,40\nS1,2023-01-20 02:00,abc\n", encoding="utf-8")
    res = run(tmp_path / "ws", "import", "long", good)
    assert res.exit_code == 0, res.output
    assert "共 1 处数据被隔离" in flat(res.stdout)
    bad = tmp_path / "co.csv"
    bad.write_text("station,time,co\nS1,2023-01-20 01:00,800\n", encoding="utf-8")
    res = run(tmp_path / "ws", "import", "long", bad)
    assert res.exit_code == 2
    assert "导入失败" in flat(res.stderr)
    res = run(tmp_path / "ws", "quarantine")
    assert res.exit_code == 0 and "非数值" in flat(res.stdout)


# --- import + evaluate + rank on the real files -------------------------------------------------------------------


@pytest.fixture(scope="module")
def real_ws(tmp_path_factory):
    files = sorted(need(QUOTSOFT).glob("china_sites_*.csv"))
    (stations,) = sorted(need(STATION_LIST).glob("*.csv"))
    ws = tmp_path_factory.mktemp("real") / "ws"
    res = run(ws, "import", "quotsoft", *files)
    assert res.exit_code == 0, repr(res.exception)
    res = run(ws, "import", "stations", stations)
    assert res.exit_code == 0, repr(res.exception)
    return ws


def test_evaluate_changzhou_real(real_ws, tmp_path):
    out = tmp_path / "out.xlsx"
    res = run(real_ws, "air", "evaluate", "--city", "常州", "--period", "2023-01-20:2023-01-23", "-o", out)
    assert res.exit_code == 0, repr(res.exception)
    df = pd.read_excel(out, sheet_name="machine")  # the column keys; the first sheet is for people
    assert len(df) == 9
    assert set(df.loc[df["level"] == "station", "code"]) == CHANGZHOU_EVAL
    city = df[df["level"] == "city"]
    assert city["code"].tolist() == ["常州"]
    assert city["valid_days"].tolist() == [4]
    assert set(df["period"]) == {"2023-01-20:2023-01-23"}


def test_rank_changzhou_stations_real(real_ws, tmp_path):
    out = tmp_path / "rank.csv"
    res = run(real_ws, "air", "rank", "--level", "station", "--city", "常州", "--period", "2023-01-20:2023-01-23",
              "--by", "pm25_mean", "-o", out)
    assert res.exit_code == 0, repr(res.exception)
    df = pd.read_csv(out)
    assert set(df["code"]) == CHANGZHOU_EVAL and len(df) == 8
    means = df["pm25_mean"].tolist()
    assert means == sorted(means)
    # ties share a rank: rank = 1 + number of stations with a strictly lower mean
    assert df["rank_pm25_mean"].tolist() == [1 + sum(m < x for m in means) for x in means]


def test_evaluate_unknown_city_exit_2(real_ws):
    res = run(real_ws, "air", "evaluate", "--city", "不存在", "--period", "2023-01-20:2023-01-23")
    assert res.exit_code == 2
    assert "站点表中没有城市" in flat(res.stderr)


@pytest.mark.parametrize("period,message", [
    ("garbage", "无法识别的时段"),
    ("2023-13", "月份无效"),
    ("2023-01-23:2023-01-20", "结束日期早于开始日期"),
])
@pytest.mark.parametrize("command", ["evaluate", "rank"])
def test_bad_period_exit_2(tmp_path, command, period, message):
    res = run(tmp_path / "ws", "air", command, "--period", period)
    assert res.exit_code == 2
    assert message in flat(res.stderr)


def test_evaluate_unknown_city_in_empty_workspace_exit_2(tmp_path):
    res = run(tmp_path / "ws", "air", "evaluate", "--city", "常州", "--period", "2023")
    assert res.exit_code == 2 and "import stations" in flat(res.stderr)


# --- demo ---------------------------------------------------------------------------------------------------------


def test_demo_without_data(demo_build):
    ws, res = demo_build  # `qingshan demo --no-serve` in its own process, shared with the browser tests
    ev = pd.read_csv(ws / "out" / "evaluation.csv")
    city = ev[ev["level"] == "city"]
    assert city["code"].tolist() == ["示范市"]
    assert (ev["level"] == "station").sum() >= 1
    assert (ws / "out" / "hourly_aqi.csv").exists()
    # dustfall (6 sites: 2021, 2022 and 2023 to October), rain and the 2022 noise files are in the store
    import duckdb

    from qingshan.targets.config import find_config
    from qingshan.targets.evaluate import target_status

    with duckdb.connect(str(ws / "measurements.duckdb")) as con:
        assert con.execute("SELECT count(*), max(month) FROM dustfall").fetchall() == [(6 * (12 + 12 + 10), "2023-10")]
        assert con.execute("SELECT DISTINCT year FROM noise_regional").fetchall() == [(2022,)]
        assert con.execute("SELECT count(*) FROM noise_zone WHERE year = 2022").fetchall() == [(32,)]
        assert con.execute("SELECT count(DISTINCT year(date)) FROM rain_samples").fetchall() == [(3,)]
        dust = target_status(con, find_config("示范市", 2023), "示范市", date(2023, 10, 31)).set_index("id").loc["dustfall"]
    assert dust["status"] != "no_data" and dust["n"] == 10 and dust["expected"] == 10
    assert "--rain" not in res.stdout and "report bulletin --city 示范市 --year 2022" in flat(res.stdout)


def test_demo_networks_arrive_through_the_hj212_receiver(demo_build):
    """The demo's HJ 212 networks: every packet acknowledged and stored once, the stations' hours fed into
    air_hourly/met_hourly, the sensors listed under their networks and kept out of the city's figures."""
    import duckdb

    from qingshan import synth_networks as sn
    from qingshan.demo_networks import DAYS

    ws, res = demo_build
    with duckdb.connect(str(ws / "measurements.duckdb"), read_only=True) as con:
        packets, devices = con.execute("SELECT count(*), count(DISTINCT mn) FROM hj212_packets").fetchall()[0]
        networks = dict(con.execute("SELECT network, count(*) FROM stations GROUP BY 1").fetchall())
        fed = con.execute("SELECT count(DISTINCT station), min(hi), max(hi) FROM air_hourly "
                          "WHERE station LIKE 'G%' OR station LIKE 'Y%'").fetchall()[0]
        met = con.execute("SELECT count(*) FROM met_hourly WHERE station = 'D001A'").fetchall()[0][0]
        exceed = con.execute("SELECT count(DISTINCT mn) FROM hj212_alerts WHERE kind = 'exceed'").fetchall()[0][0]
        pending = con.execute("SELECT count(*) FROM hj212_feed_pending").fetchall()[0][0]
    assert devices == 57 and f"确认 {packets} 个数据包，入库 {packets} 个" in flat(res.stdout)
    assert networks[sn.GRID_NETWORK] == 40 and networks[sn.DUST_NETWORK] == 6
    last_hi = ((date(2023, 10, 31) - date(1970, 1, 1)).days + 1) * 24
    assert fed == (46, last_hi - 24 * DAYS + 1, last_hi) and met == 24 * DAYS and pending == 0
    assert exceed == 2  # the two designed SO2 episodes


# --- the command line for people (issue 12) -----------------------------------------------------------------------

HEAVY = ("pandas", "numpy", "duckdb", "sqlalchemy", "fastapi", "pyarrow")


def test_start_up_imports_stay_light():
    """Old code: ``import qingshan.cli`` loaded pandas, DuckDB, SQLAlchemy … (7 s); ``qingshan --help`` must not.
    A structural check in a fresh process (what is imported), not a timing."""
    import subprocess
    import sys

    code = ("import sys\nfrom qingshan.cli import app\n"
            "try:\n    app(['--help'], prog_name='qingshan')\nexcept SystemExit:\n    pass\n"
            f"print('HEAVY=' + ','.join(m for m in {HEAVY!r} if m in sys.modules))")
    res = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert res.returncode == 0, res.stderr
    assert res.stdout.strip().splitlines()[-1] == "HEAVY=", res.stdout[-300:]


def test_python_dash_m_qingshan(tmp_path):
    import subprocess
    import sys

    res = subprocess.run([sys.executable, "-m", "qingshan", "--workspace", str(tmp_path / "ws"), "quarantine"],
                         capture_output=True, text=True, timeout=120)
    assert res.returncode == 0, res.stderr
    assert "没有被隔离的数据" in res.stdout


def test_every_option_and_argument_has_help():
    """Old code: ``air rank --period/--by``… had no help text. Every parameter of every command explains itself."""
    import click
    import typer

    def walk(cmd: click.Command, path: str):
        yield path, cmd
        for name, sub in getattr(cmd, "commands", {}).items():
            if name not in ("ledger", "hj212"):  # their packages own them
                yield from walk(sub, f"{path} {name}")

    missing = [f"{path} {p.name}" for path, cmd in walk(typer.main.get_command(app), "qingshan")
               for p in cmd.params if not getattr(p, "help", None) and p.name != "ctx"]
    assert missing == []


def test_sub_app_on_its_own_uses_the_settings_workspace(tmp_path, monkeypatch):
    """Without the root callback (``ctx.obj`` is None) a command falls back to QINGSHAN_WORKSPACE (no _state)."""
    from qingshan.cli.imports import import_app

    monkeypatch.setenv("QINGSHAN_WORKSPACE", str(tmp_path / "env-ws"))
    good = tmp_path / "good.csv"
    good.write_text("station,time,pm25\nS1,2023-01-20 01:00,40\n", encoding="utf-8")
    res = CliRunner().invoke(import_app, ["long", str(good)])
    assert res.exit_code == 0, res.output
    assert (tmp_path / "env-ws" / "measurements.duckdb").exists()


def test_piped_tables_are_never_cut(tmp_path):
    """Old code: output that is not a terminal was 80 columns wide, so long file names and quarantine reasons
    ended in "…". Now the whole text is there."""
    name = "station_hourly_" + "很长的文件名" * 12 + ".csv"
    f = tmp_path / name
    f.write_text("station,time,pm25\nS1,2023-01-20 01:00,abc\n", encoding="utf-8")
    assert run(tmp_path / "ws", "import", "long", f).exit_code == 0
    res = run(tmp_path / "ws", "quarantine")
    assert res.exit_code == 0
    assert name in res.stdout and "…" not in res.stdout


def test_empty_quarantine_says_so(tmp_path):
    """Old code printed an empty table frame."""
    res = run(tmp_path / "ws", "quarantine")
    assert res.exit_code == 0 and res.stdout.strip() == "没有被隔离的数据。"


def test_rank_says_what_is_shown_and_flags_short_coverage(real_ws):
    """Old code: 50 of the ~339 cities without saying so, and a city with 1 valid day ranked among those with 4
    without a word. Now "前 50 / 共 N 个城市" and a "*" with the minimum (4 days for a 4-day period)."""
    res = run(real_ws, "air", "rank", "--period", "2023-01-20:2023-01-23")
    assert res.exit_code == 0, repr(res.exception)
    out = flat(res.stdout)
    total = int(re.search(r"前 50 / 共 (\d+) 个城市", out).group(1))
    assert total > 300
    assert re.search(r"\* \d+ 个城市有效天数不足 4 天", out)


def test_rank_flags_below_minimum_in_the_file(real_ws, tmp_path):
    out = tmp_path / "rank.csv"
    res = run(real_ws, "air", "rank", "--period", "2023-01-20:2023-01-23", "-o", out)
    assert res.exit_code == 0, repr(res.exception)
    df = pd.read_csv(out)
    assert (df.loc[df["below_validity_minimum"], "valid_days"] < 4).all()
    assert (df.loc[~df["below_validity_minimum"], "valid_days"] == 4).all()


def test_report_without_output_goes_to_the_workspace_output_folder(demo_build, tmp_path, monkeypatch):
    """Old code required -o (the README wrote the files into the repository root); now they go to <ws>/output."""
    from .conftest import demo_copy

    ws = demo_copy(demo_build, tmp_path / "ws")
    monkeypatch.chdir(tmp_path)
    res = run(ws, "report", "monthly", "--city", "示范市", "--month", "2023-10", "--format", "docx")
    assert res.exit_code == 0, res.output
    assert list((ws / "output").glob("*.docx")) and not list(tmp_path.glob("*.docx"))


# --- demo --data --------------------------------------------------------------------------------------------------


def test_demo_data_without_station_list_says_what_to_do(tmp_path):
    """Old code: IndexError in demo.py when the folder held no station list."""
    import shutil

    data = tmp_path / "data"
    data.mkdir()
    shutil.copy(sorted(need(QUOTSOFT).glob("china_sites_*.csv"))[0], data)
    res = run(tmp_path / "ws", "demo", "--data", data, "--no-serve")
    assert res.exit_code == 2
    assert "没有站点表" in flat(res.stderr) and "--stations" in flat(res.stderr)


@pytest.mark.slow  # a demo on the real Changzhou series: minutes on a busy machine (CI's slow step)
def test_demo_data_finds_the_sibling_station_list_and_chooses_the_ledger_city(tmp_path):
    """Old code: crashed without the station list; with it, picked 重庆 (most data) beside the Changzhou ledger.
    Now the sibling cnemc_station_list_* folder is found and said, and the city is 常州 with the reason."""
    res = run(tmp_path / "ws", "demo", "--data", need(QUOTSOFT), "--no-serve", "--demo-password", "pw-demo-1")
    assert res.exit_code == 0, res.output + repr(res.exception)
    out = flat(res.stdout)
    assert "cnemc_station_list_quotsoft_2022-02-13 目录中找到" in out
    assert "评价城市：常州（未指定 --city" in out and "重庆" not in out
    assert "与所评价的城市" not in out  # the ledger is Changzhou's: no disclaimer needed


@pytest.mark.slow  # a demo on the real Changzhou series: minutes on a busy machine (CI's slow step)
def test_demo_data_other_city_labels_the_ledger(tmp_path):
    res = run(tmp_path / "ws", "demo", "--data", need(QUOTSOFT), "--city", "无锡", "--no-serve",
              "--demo-password", "pw-demo-1")
    assert res.exit_code == 0, res.output + repr(res.exception)
    out = flat(res.stdout)
    assert "评价城市：无锡（--city 指定）" in out
    assert "演示台账记录的是常州市的督察整改、重点任务与信访，与所评价的城市 无锡 无关" in out
    bad = run(tmp_path / "ws2", "demo", "--data", need(QUOTSOFT), "--city", "不存在", "--no-serve")
    assert bad.exit_code == 2 and "数据中没有城市 '不存在'" in flat(bad.stderr)


def test_evaluate_xlsx_has_chinese_headers_and_a_machine_sheet(real_ws, tmp_path):
    """Old code: 113 English snake_case headers on "Sheet1". Now the first sheet "空气质量评价" has Chinese headers
    with units, and "machine" the same rows under the keys."""
    out = tmp_path / "out.xlsx"
    res = run(real_ws, "air", "evaluate", "--city", "常州", "--period", "2023-01-20:2023-01-23", "-o", out)
    assert res.exit_code == 0, repr(res.exception)
    book = pd.read_excel(out, sheet_name=None)
    assert list(book) == ["空气质量评价", "machine"]
    people, machine = book["空气质量评价"], book["machine"]
    assert people.shape == machine.shape and len(set(people.columns)) == len(people.columns)
    assert not any(re.fullmatch(r"[a-z0-9_]+", c) for c in people.columns)
    assert "PM2.5 年（期）平均（µg/m³）" in people.columns and "CO 日均值第95百分位数（mg/m³）" in people.columns
    assert people["PM2.5 年（期）平均（µg/m³）"].tolist() == machine["pm25_mean"].tolist()


def test_piped_help_is_whole():
    """Old code: ``qingshan air rank --help | less`` cut option help to "…" at 80 columns."""
    import os
    import subprocess
    import sys

    env = {k: v for k, v in os.environ.items() if k not in ("COLUMNS", "TERMINAL_WIDTH")}
    res = subprocess.run([sys.executable, "-m", "qingshan", "air", "rank", "--help"], capture_output=True, text=True,
                         env=env, timeout=120)
    assert res.returncode == 0, res.stderr
    assert "…" not in res.stdout
    assert "gb3095-2012 | gb3095-2026-transitional | gb3095-2026-final（默认按日期）" in res.stdout


def test_every_command_group_has_its_commands():
    """Old code: the lazily imported groups whose module defines a single command (noise, rain, dust, export) came
    back empty ("No such command 'evaluate'"), because typer returns such an app as the command itself."""
    import typer

    from qingshan.cli import app

    root = typer.main.get_command(app)
    groups = {name: cmd for name, cmd in root.commands.items() if hasattr(cmd, "commands")}
    assert {"air", "water", "noise", "rain", "dust", "export", "ledger", "alerts"} <= set(groups)
    for name, group in groups.items():
        assert group.commands, name
    assert set(groups["noise"].commands) == {"evaluate"} and set(groups["export"].commands) == {"lake"}
