"""Issue 11, the importers and the measurement store (findings 1, 9 and 10).

* Absurd values (``inf``, ``Infinity``, ``1e308``, ``1e999``, a 400-digit number, a value beyond the physical
  range of its quantity) are quarantined with their reason by every importer, never stored, and never overwrite a
  stored value; the CO unit check is not fooled by them; the store refuses a batch that still holds one.
* The workspace folder is created 0700 and the store's files 0600.
* Broken and hostile files (garbage or zip-bomb XLSX, a 100 MB line, a million columns, 200,000 quotsoft stations,
  a gzip bomb, a store held by another process) stop the command with one Chinese line and exit code 2, in bounded
  memory (measured in a child process).
"""

from __future__ import annotations

import os
import stat
import subprocess
import sys
import textwrap
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pytest
from typer.testing import CliRunner

from qingshan.cli import app
from qingshan.ingest import import_files
from qingshan.ingest.common import IngestError
from qingshan.ingest.deposition import import_dust, import_rain
from qingshan.ingest.noise import import_noise
from qingshan.ingest.water_auto import import_water_auto
from qingshan.ingest.water_samples import import_water_samples
from qingshan.standards.ranges import RANGES
from qingshan.store.plausible import ImplausibleBatch
from qingshan.store.water import ensure_schema, upsert
from qingshan.store.workspace import Workspace

from . import bad_files as B

#: 2023-01-20 00:00 Beijing time as an hour index; ``2023-01-20 01:00`` is H0 + 1.
H0 = 19377 * 24
DOCS = Path(__file__).resolve().parents[1] / "docs" / "formats.md"

#: Cell texts that are no measurement, and the words of the reason each one is quarantined with.
ABSURD = {
    "1e308": "超出物理量程 0–30,000 µg/m³（二氧化硫）",
    "40000": "超出物理量程 0–30,000 µg/m³（二氧化硫）",
    "inf": "非有限数值",
    "Infinity": "非有限数值",
    "-inf": "非有限数值",
    "1e999": "非有限数值",
    "1" + "0" * 399: "非有限数值",
}


def write(path: Path, text: str, encoding: str = "utf-8") -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(text.encode(encoding))
    return path


def imp(ws, kind: str, path: Path):
    (report,) = import_files(ws, kind, [path])
    return report


def quarantined(ws, import_id: int) -> list[tuple]:
    return ws.con.execute("SELECT line, field, raw, reason FROM quarantine WHERE import_id = ? ORDER BY line, field",
                          [import_id]).fetchall()


def air(ws, station: str, hi: int, cols: str = "so2, no2") -> tuple:
    return ws.con.execute(f"SELECT {cols} FROM air_hourly WHERE station = ? AND hi = ?", [station, hi]).fetchall()[0]


def no_absurd_air_values(ws) -> bool:
    checks = " OR ".join(f"isinf({c}) OR isnan({c}) OR {c} < 0 OR {c} > {RANGES[c].hi}" for c in
                         ("so2", "no2", "co", "o3", "pm10", "pm25"))
    return ws.con.execute(f"SELECT count(*) FROM air_hourly WHERE {checks}").fetchall()[0][0] == 0


# --- finding 1: absurd values never stored, never overwrite -----------------------------------------------------


@pytest.mark.parametrize("text", list(ABSURD), ids=lambda t: t if len(t) < 10 else "400-digits")
@pytest.mark.parametrize("shape", ["csv-fast", "csv-detailed", "xlsx"])
def test_long_absurd_value_is_quarantined_and_keeps_the_stored_value(ws, tmp_path, text, shape):
    good = imp(ws, "long", write(tmp_path / "good.csv", "station,time,so2,no2\nS1,2023-01-20 01:00,8,30\n"))
    assert good.new == 1
    rows = [["S1", "2023-01-20 01:00", text, "31"]]
    if shape == "csv-detailed":  # another bad cell sends the file through the cell-by-cell path
        rows.append(["S1", "2023-01-20 02:00", "x", "32"])
    if shape == "xlsx":
        bad = B.small_xlsx(tmp_path / "bad.xlsx", [["station", "time", "so2", "no2"], *rows])
    else:
        bad = write(tmp_path / "bad.csv", "station,time,so2,no2\n" + "".join(",".join(r) + "\n" for r in rows))
    r = imp(ws, "long", bad)
    assert air(ws, "S1", H0 + 1) == (8.0, 31.0)  # the absurd so2 did not overwrite 8; the good no2 is a correction
    (line, field, raw, reason) = quarantined(ws, r.import_id)[0]
    assert (line, field) == (2, "so2") and raw and ABSURD[text] in reason
    assert no_absurd_air_values(ws)


def quotsoft(folder: Path, lines: list[str]) -> Path:
    return write(folder / "china_sites_20230120.csv", "date,hour,type,1001A,1002A\n" + "".join(f"{ln}\n" for ln in lines))


@pytest.mark.parametrize("detailed", [False, True], ids=["fast", "detailed"])
def test_quotsoft_absurd_values_are_quarantined_by_the_range_of_their_type(ws, tmp_path, detailed):
    imp(ws, "quotsoft", quotsoft(tmp_path / "a", ["20230120,1,AQI,50,60", "20230120,1,PM2.5,35,40",
                                                  "20230120,1,SO2,8,9", "20230120,1,CO,0.9,1.0"]))
    bad = ["20230120,1,AQI,600,61", "20230120,1,PM2.5,1e308,41", "20230120,1,SO2,inf,10",
           "20230120,1,CO,Infinity,1e999"] + (["20230120,2,NO2,x,20"] if detailed else [])
    r = imp(ws, "quotsoft", quotsoft(tmp_path / "b", bad))
    assert air(ws, "1001A", H0 + 1, "pub_aqi, pm25, so2, co") == (50.0, 35.0, 8.0, 0.9)
    assert air(ws, "1002A", H0 + 1, "pub_aqi, pm25, so2, co") == (61.0, 41.0, 10.0, 1.0)
    q = {(line, field): reason for line, field, _, reason in quarantined(ws, r.import_id)}
    assert "超出物理量程 0–500（AQI）" in q[(2, "1001A")]
    assert "超出物理量程 0–50,000 µg/m³（PM2.5）" in q[(3, "1001A")]
    assert "非有限数值" in q[(4, "1001A")] and "非有限数值" in q[(5, "1001A")] and "非有限数值" in q[(5, "1002A")]
    assert no_absurd_air_values(ws)


def test_cnemc_absurd_values_are_quarantined(ws, tmp_path):
    head = "timepoint,stationcode,aqi,pm2_5,pm2_5_24h,so2,co\n"
    imp(ws, "cnemc", write(tmp_path / "a.csv", head + "2023-01-20T01:00:00,1001A,50,35,30,8,0.9\n"))
    r = imp(ws, "cnemc", write(tmp_path / "b.csv", head + "2023-01-20T01:00:00,1001A,9999,1e999,-Infinity,1e308,0.8\n"))
    assert air(ws, "1001A", H0 + 1, "pub_aqi, pm25, pub_pm25_24h, so2, co") == (50.0, 35.0, 30.0, 8.0, 0.8)
    reasons = [reason for _, _, _, reason in quarantined(ws, r.import_id)]
    assert len(reasons) == 4 and sum("非有限数值" in x for x in reasons) == 2
    assert no_absurd_air_values(ws)


@pytest.mark.parametrize("shape", ["csv-fast", "csv-detailed"])
def test_co_unit_check_is_not_fooled_by_infinite_values(ws, tmp_path, shape):
    extra = "S1,2023-01-20 05:00,x\n" if shape == "csv-detailed" else ""
    mg = write(tmp_path / "mg.csv", "station,time,co\nS1,2023-01-20 01:00,0.9\nS1,2023-01-20 02:00,inf\n"
               "S1,2023-01-20 03:00,inf\nS1,2023-01-20 04:00,1e999\n" + extra)
    r = imp(ws, "long", mg)  # the median of the plausible values is 0.9 mg/m³: imported, the infinities quarantined
    assert air(ws, "S1", H0 + 1, "co") == (0.9,) and r.quarantined == 3 + bool(extra)
    ug = write(tmp_path / "ug.csv", "station,time,co\nS1,2023-01-20 01:00,800\nS1,2023-01-20 02:00,900\n"
               "S1,2023-01-20 03:00,inf\nS1,2023-01-20 04:00,inf\nS1,2023-01-20 05:00,inf\n" + extra)
    with pytest.raises(IngestError, match=r"co\[ug/m3\]"):  # µg/m³ data are still recognised despite the infinities
        imp(ws, "long", ug)


def test_water_auto_absurd_values_keep_the_stored_row(ws, tmp_path):
    head = ("省份,流域,断面名称,监测时间,水质类别,水温(℃),pH(无量纲),溶解氧(mg/L),电导率(μS/cm),浊度(NTU),"
            "高锰酸盐指数(mg/L),氨氮(mg/L),总磷(mg/L),总氮(mg/L),叶绿素α(mg/L),藻密度(cells/L),站点情况\n")
    folder = tmp_path / "江苏省" / "2021-01"
    good = write(folder / "a" / "沙渚.csv", head + "江苏省,太湖流域,沙渚,01-01 04:00,Ⅲ,6.1,8.00,10.1,500,3,3.9,0.03,0.05,1.7,*,*,正常\n")
    bad = write(folder / "b" / "沙渚.csv", head + "江苏省,太湖流域,沙渚,01-01 04:00,Ⅲ,6.1,15,inf,1e999,3,3.9,0.03,0.06,1.7,*,*,正常\n")
    import_water_auto(ws, [good])
    (rep,) = import_water_auto(ws, [bad])
    assert ws.con.execute('SELECT ph, "do", cond, ph_shown, tp FROM water_auto').fetchall() == [(8.0, 10.1, 500.0, "8.00", 0.06)]
    q = {field: reason for _, field, _, reason in quarantined(ws, rep.import_id)}
    assert "超出物理量程 0–14（pH）" in q["ph"] and "非有限数值" in q["do"] and "非有限数值" in q["cond"]


def test_water_samples_absurd_values_and_detection_limits(ws, tmp_path):
    p = write(tmp_path / "s.csv", "section,date,ph,do,tp,hg[ug/L]\n"
              "S1,2023-01-15,7.5,8.2,0.08,0.04\n"
              "S1,2023-02-15,15,inf,<1e999,1e308\n")
    rep = import_water_samples(ws, p)
    stored = ws.con.execute("SELECT date::VARCHAR, item, value, dl FROM water_samples ORDER BY 1, 2").fetchall()
    assert [r for r in stored if r[0] == "2023-02-15"] == []
    assert np.isfinite([v for r in stored for v in r[2:] if v is not None]).all()
    q = {field: reason for _, field, _, reason in quarantined(ws, rep.import_id) if field != "section"}
    assert set(q) == {"ph", "do", "tp", "hg"}
    assert "超出物理量程 0–14（pH）" in q["ph"] and "非有限数值" in q["do"] and "非有限数值" in q["tp"]
    assert "超出物理量程 0–100,000 mg/L（汞）" in q["hg"]  # 1e308 µg/L


def test_dust_rain_noise_absurd_values_keep_the_stored_ones(ws, tmp_path):
    import_dust(ws, write(tmp_path / "d1.csv", "site,month,dustfall\nA,2023-01,2.1\n"))
    d = import_dust(ws, write(tmp_path / "d2.csv", "site,month,dustfall\nA,2023-01,1e308\n"))
    import_rain(ws, write(tmp_path / "r1.csv", "site,date,ph,rainfall\n市区,2023-03-02,4.8,12.5\n"))
    r = import_rain(ws, write(tmp_path / "r2.csv", "site,date,ph,rainfall\n市区,2023-03-02,inf,5000\n"))
    import_noise(ws, "regional", write(tmp_path / "n1.csv", "point,leq_day,leq_night\nG1,52.1,44.0\n"), 2023)
    n = import_noise(ws, "regional", write(tmp_path / "n2.csv", "point,leq_day,leq_night\nG1,Infinity,400\n"), 2023)
    assert ws.con.execute("SELECT value FROM dustfall").fetchall() == [(2.1,)]
    assert ws.con.execute("SELECT ph, rainfall_mm FROM rain_samples").fetchall() == [(4.8, 12.5)]
    assert ws.con.execute("SELECT leq_day, leq_night FROM noise_regional").fetchall() == [(52.1, 44.0)]
    reasons = [x[3] for rep in (d, r, n) for x in quarantined(ws, rep.import_id)]
    assert len(reasons) == 5 and all("超出物理量程" in x or "非有限数值" in x for x in reasons)


def test_the_store_refuses_a_batch_with_an_absurd_value(ws):
    ok = pa.table({"station": ["S1"], "hi": pa.array([H0 + 1], pa.int32()), "so2": [8.0],
                   "import_id": pa.array([1], pa.int32())})
    ws.upsert_air_hourly(ok)
    for bad in (float("inf"), float("nan"), 1e308, -1.0):
        batch = ok.set_column(2, "so2", pa.array([bad]))
        with pytest.raises(ImplausibleBatch):
            ws.upsert_air_hourly(batch)
    assert air(ws, "S1", H0 + 1, "so2") == (8.0,)
    ensure_schema(ws.con)
    samples = pa.table({"section": ["S1"], "date": [pd.Timestamp("2023-01-15").date()], "item": ["ph"],
                        "value": [15.0], "nondetect": [False], "dl": pa.array([None], pa.float64())})
    with pytest.raises(ImplausibleBatch, match="ph"):
        upsert(ws.con, "water_samples", samples, 1)
    station = pa.table({"code": ["S1"], "name": ["一"], "city": ["城"], "district": [None], "lon": [float("inf")],
                        "lat": [31.0], "is_control": [False], "status": [None], "import_id": pa.array([1], pa.int32())})
    with pytest.raises(ImplausibleBatch, match="lon"):
        ws.upsert_stations(station)


def test_ranges_are_finite_and_documented():
    doc = DOCS.read_text(encoding="utf-8")
    for key, r in RANGES.items():
        assert np.isfinite([r.lo, r.hi]).all() and r.lo < r.hi
        assert f"| `{key}` |" in doc, f"docs/formats.md lacks the range of {key}"


# --- finding 9: permissions of the workspace and the store ------------------------------------------------------


def test_workspace_folder_and_store_files_are_private(tmp_path):
    old = os.umask(0o022)
    try:
        with Workspace(tmp_path / "new" / "ws") as w:
            w.con.execute("INSERT INTO stations (code) VALUES ('S1')")  # a write: the WAL exists now
            wal = w.path / "measurements.duckdb.wal"
            files = [w.path / "measurements.duckdb"] + ([wal] if wal.exists() else [])
            assert stat.S_IMODE(w.path.stat().st_mode) == 0o700
            assert all(stat.S_IMODE(f.stat().st_mode) == 0o600 for f in files)
        legacy = tmp_path / "legacy"  # a store created world-readable by an older version is tightened on open
        Workspace(legacy).close()
        (legacy / "measurements.duckdb").chmod(0o644)
        Workspace(legacy).close()
        assert stat.S_IMODE((legacy / "measurements.duckdb").stat().st_mode) == 0o600
    finally:
        os.umask(old)


# --- finding 10: bad files stop the command with one line, in bounded memory ------------------------------------

#: Peak resident memory allowed to the child that imports every bad file below (MiB). Python with pandas, pyarrow
#: and DuckDB starts at about 200 MiB; the unguarded importers took 1–2.7 GB on these files (issue 11).
PEAK_MIB = 700


def one_clean_line(text: str) -> bool:
    lines = [x for x in text.splitlines() if x.strip()]
    return len(lines) == 1 and "Traceback" not in text


@pytest.fixture(scope="module")
def bad_runs(tmp_path_factory):
    """Every hostile file through ``qingshan import …`` in one child process: (name → result, peak MiB)."""
    tmp = tmp_path_factory.mktemp("bad")
    cases = {
        "xlsx-zip-bomb": ("long", B.xlsx_zip_bomb(tmp)),
        "xlsx-far-cell": ("long", B.xlsx_far_cell(tmp)),
        "xlsx-far-column": ("stations", B.xlsx_far_cell(tmp, "far-col.xlsx", ref="XFD2")),
        "100MB-line": ("long", B.long_line_csv(tmp / "line.csv")),
        "100MB-line-cnemc": ("cnemc", tmp / "line.csv"),
        "million-columns": ("long", B.wide_csv(tmp / "wide.csv")),
        "quotsoft-200k-stations": ("quotsoft", B.quotsoft_wide(tmp / "china_sites_20230120.csv")),
        "json-gzip-bomb": ("water-auto", B.json_gzip_bomb(tmp / "2021-01-01.json.gz")),
        "json-deep": ("water-auto", B.deep_json(tmp / "2021-01-02.json")),
    }
    runs, peak = B.run_cli_batch([["--workspace", tmp / "ws", "import", kind, path] for kind, path in cases.values()])
    return dict(zip(cases, runs)), peak


EXPECTED = {
    "xlsx-zip-bomb": "超过上限 64 MiB",
    "xlsx-far-cell": "超过上限 2,000,000 个单元格",
    "xlsx-far-column": "有第 16,384 列的单元格，超过上限 1,000 列",
    "100MB-line": "第 2 行长 100.0 MiB，超过单行上限 1 MiB",
    "100MB-line-cnemc": "第 2 行长 100.0 MiB，超过单行上限 1 MiB",
    "million-columns": "超过上限 1,000 列",
    "quotsoft-200k-stations": "表头有 200,000 个站点，超过上限 10,000 个站点",
    "json-gzip-bomb": "解压后超过 32 MiB 上限",
    "json-deep": "JSON 嵌套过深",
}


@pytest.mark.parametrize("name", list(EXPECTED))
def test_hostile_file_stops_with_one_line_and_exit_code_2(bad_runs, name):
    run = bad_runs[0][name]
    assert run.returncode == 2, run.stderr[-2000:]
    assert one_clean_line(run.stderr) and run.stderr.startswith("导入失败：") and EXPECTED[name] in run.stderr


def test_hostile_files_are_refused_in_bounded_memory(bad_runs):
    assert bad_runs[1] < PEAK_MIB


@pytest.mark.parametrize("command", [["long"], ["stations"], ["water-samples"], ["dust"], ["rain"],
                                     ["noise-regional", "--year", "2023"], ["noise-zone"]])
def test_garbage_xlsx_stops_every_xlsx_importer_with_one_line(tmp_path, command):
    bad = B.garbage(tmp_path / "garbage.xlsx")
    res = CliRunner().invoke(app, ["--workspace", str(tmp_path / "ws"), "import", command[0], str(bad), *command[1:]])
    assert res.exit_code == 2, res.output
    assert one_clean_line(res.stderr) and "不是有效的 XLSX 文件" in res.stderr


@pytest.mark.parametrize("content", ["random-bytes", "unclosed-quote", "nul-bytes"])
@pytest.mark.parametrize("kind", ["long", "cnemc", "quotsoft", "stations", "water-auto", "water-samples", "dust",
                                  "rain", "noise-zone"])
def test_broken_csv_stops_every_importer_with_one_line(tmp_path, kind, content):
    path = tmp_path / "broken-file-with-a-long-name-that-makes-the-message-wider-than-a-terminal.csv"
    if content == "random-bytes":
        B.garbage(path, size=200_000)
    else:
        head = {"quotsoft": "date,hour,type,1001A", "cnemc": "timepoint,stationcode,pm2_5"}.get(kind, "station,time,so2")
        body = '20230120,1,"PM2.5,35\n' if content == "unclosed-quote" else "\x00\x00,\x00\n"
        write(path, head + "\n" + body * 3)
    res = CliRunner().invoke(app, ["--workspace", str(tmp_path / "ws"), "import", kind, str(path)])
    # imported with its bad rows quarantined (0), or refused in one line (2): never an exception
    assert res.exit_code in (0, 2) and (res.exception is None or isinstance(res.exception, SystemExit)), res.output
    assert res.exit_code == 2 or content != "random-bytes"
    if res.exit_code == 2:
        assert one_clean_line(res.stderr) and res.stderr.startswith("导入失败："), res.stderr


def test_many_unknown_columns_are_summarised_not_listed(ws, tmp_path):
    names = ["station", "time", "so2"] + [f"extra{i}" for i in range(900)]
    p = write(tmp_path / "wide.csv", ",".join(names) + "\n" + ",".join(["S1", "2023-01-20 01:00", "8"] + ["1"] * 900) + "\n")
    r = imp(ws, "long", p)
    (msg,) = [m for m in r.messages if "非标准列" in m]
    assert msg.startswith("忽略了 900 个非标准列：extra0、extra1") and "extra899" not in msg and len(msg) < 300


HOLDER = textwrap.dedent("""
    import sys
    from qingshan.store.workspace import Workspace
    ws = Workspace(sys.argv[1])
    print("ready", flush=True)
    sys.stdin.read()  # hold the store until the test closes stdin
""")


def test_store_held_by_another_process_is_one_line_naming_it(tmp_path):
    good = write(tmp_path / "good.csv", "station,time,so2\nS1,2023-01-20 01:00,8\n")
    holder = subprocess.Popen([sys.executable, "-c", HOLDER, str(tmp_path / "ws")], stdin=subprocess.PIPE,
                              stdout=subprocess.PIPE, text=True)
    try:
        assert holder.stdout.readline().strip() == "ready"  # the store is open in the other process
        res = CliRunner().invoke(app, ["--workspace", str(tmp_path / "ws"), "import", "long", str(good)])
        assert res.exit_code == 2, res.output
        assert one_clean_line(res.stderr) and "正被进程" in res.stderr and str(holder.pid) in res.stderr
        assert "停止该进程" in res.stderr
    finally:
        holder.stdin.close()
        holder.wait(timeout=60)
    res = CliRunner().invoke(app, ["--workspace", str(tmp_path / "ws"), "import", "long", str(good)])
    assert res.exit_code == 0, res.output


def test_debug_variable_shows_the_traceback(tmp_path, monkeypatch):
    bad = B.garbage(tmp_path / "garbage.xlsx")
    monkeypatch.setenv("QINGSHAN_DEBUG", "1")
    res = CliRunner().invoke(app, ["--workspace", str(tmp_path / "ws"), "import", "long", str(bad)])
    assert isinstance(res.exception, IngestError) and res.exit_code == 1
