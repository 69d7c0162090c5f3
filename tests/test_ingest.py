"""Import adapters: bad input gets a clear message and loses no good rows (docs/formats.md).

Every test builds its own small input file in ``tmp_path``; tests that read the real files in ../shared/data skip
through :func:`tests.conftest.need` when the folder is absent.
"""

from __future__ import annotations

import math
from datetime import datetime

import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from qingshan.ingest import IngestError, import_files
from qingshan.ingest.quotsoft_sites import TYPE_COLUMNS

from .conftest import QUOTSOFT, STATION_LIST, need

#: 2023-01-20 00:00 Beijing time as an hour index; ``2023-01-20 01:00`` (hour 00–01) is H0 + 1.
H0 = 19377 * 24
#: 2023-01-01 00:00 — hour 0 of china_sites_20230101.csv, the last hour of 2022-12-31.
Q0 = 19358 * 24

LONG_HEADER = "station,time,so2,no2,co,o3,pm10,pm25"
CHANGZHOU_EVAL = {"1196A", "1200A", "1201A", "3002A", "3003A", "3010A", "3429A", "3430A"}


# --- helpers -----------------------------------------------------------------------------------------------------


def write(tmp_path, name: str, text: str, encoding: str = "utf-8"):
    p = tmp_path / name
    p.parent.mkdir(parents=True, exist_ok=True)
    p.write_bytes(text.encode(encoding))
    return p


def imp(ws, kind: str, path, **options):
    (report,) = import_files(ws, kind, [path], **options)
    return report


def quarantined(ws, import_id: int) -> list[tuple]:
    return ws.con.execute(
        "SELECT line, field, raw, reason FROM quarantine WHERE import_id = ? ORDER BY line, field", [import_id]
    ).fetchall()


def stored(ws, cols: str = "so2, no2, co, o3, pm10, pm25") -> dict[tuple[str, int], tuple]:
    rows = ws.con.execute(f"SELECT station, hi, {cols} FROM air_hourly ORDER BY station, hi").fetchall()
    return {(r[0], r[1]): tuple(r[2:]) for r in rows}


def n_hourly(ws) -> int:
    return ws.con.execute("SELECT count(*) FROM air_hourly").fetchall()[0][0]


def same(a, b) -> bool:
    """Tuple equality with None for missing and a float tolerance."""
    if len(a) != len(b):
        return False
    for x, y in zip(a, b):
        if x is None or y is None:
            if x is not y:
                return False
        elif not math.isclose(x, y, rel_tol=1e-12, abs_tol=1e-12):
            return False
    return True


# --- long CSV / XLSX -------------------------------------------------------------------------------------------


def test_long_clean_file_is_stored_hour_ending(ws, tmp_path):
    p = write(tmp_path, "clean.csv", LONG_HEADER + "\n"
              "S1,2023-01-20 01:00,5,20,0.5,60,70,40\n"
              "S1,2023-01-20 02:00,6,21,0.6,61,71,41\n"
              "S2,2023-01-20 01:00,7,22,0.7,62,72,42\n")
    r = imp(ws, "long", p)
    assert (r.kind, r.rows_read, r.new, r.updated, r.unchanged, r.quarantined) == ("long", 3, 3, 0, 0, 0)
    assert r.messages == [] and r.previous_import is None
    assert stored(ws) == {
        ("S1", H0 + 1): (5, 20, 0.5, 60, 70, 40),
        ("S1", H0 + 2): (6, 21, 0.6, 61, 71, 41),
        ("S2", H0 + 1): (7, 22, 0.7, 62, 72, 42),
    }
    # ts is the same hour label as a naive Beijing-time timestamp; import_id names the import.
    rows = ws.con.execute("SELECT ts, import_id FROM air_hourly WHERE station = 'S1' ORDER BY hi").fetchall()
    assert rows == [(datetime(2023, 1, 20, 1), r.import_id), (datetime(2023, 1, 20, 2), r.import_id)]
    (row,) = ws.con.execute(
        "SELECT kind, rows_read, rows_new, rows_quarantined FROM imports WHERE import_id = ?", [r.import_id]
    ).fetchall()
    assert row == ("long", 3, 3, 0)


def test_long_24h_label_is_next_day_midnight(ws, tmp_path):
    p = write(tmp_path, "h24.csv", "station,time,pm25\n"
              "S1,2023-01-20 23:00,40\n"
              "S1,2023-01-20 24:00,41\n"
              "S1,2023-01-21T01:00:00,42\n")
    r = imp(ws, "long", p)
    assert (r.new, r.quarantined) == (3, 0)
    assert stored(ws, "pm25") == {("S1", H0 + 23): (40,), ("S1", H0 + 24): (41,), ("S1", H0 + 25): (42,)}
    (ts,) = ws.con.execute("SELECT ts FROM air_hourly WHERE hi = ?", [H0 + 24]).fetchall()[0]
    assert ts == datetime(2023, 1, 21, 0, 0)


def test_long_non_numeric_cell_quarantined_rest_of_row_kept(ws, tmp_path):
    p = write(tmp_path, "abc.csv", LONG_HEADER + "\n"
              "S1,2023-01-20 01:00,5,20,0.5,60,70,40\n"
              "S1,2023-01-20 02:00,abc,21,0.6,61,71,41\n"
              "S1,2023-01-20 03:00,7,22,0.7,62,72,42\n")
    r = imp(ws, "long", p)
    assert (r.rows_read, r.new, r.quarantined) == (3, 3, 1)
    assert quarantined(ws, r.import_id) == [(3, "so2", "abc", "非数值")]
    assert stored(ws) == {
        ("S1", H0 + 1): (5, 20, 0.5, 60, 70, 40),
        ("S1", H0 + 2): (None, 21, 0.6, 61, 71, 41),
        ("S1", H0 + 3): (7, 22, 0.7, 62, 72, 42),
    }


@pytest.mark.parametrize("other_bad", [False, True], ids=["otherwise-clean", "with-another-bad-cell"])
def test_long_negative_value_quarantined(ws, tmp_path, other_bad):
    p = write(tmp_path, "neg.csv", "station,time,no2,pm25\n"
              "S1,2023-01-20 01:00,20,-3\n"
              f"S1,2023-01-20 02:00,{'x' if other_bad else 21},41\n")
    r = imp(ws, "long", p)
    q = quarantined(ws, r.import_id)
    assert q[0][:2] == (2, "pm25") and float(q[0][2]) == -3 and "负值" in q[0][3]
    assert len(q) == (2 if other_bad else 1)
    assert stored(ws, "no2, pm25") == {("S1", H0 + 1): (20, None), ("S1", H0 + 2): (None if other_bad else 21, 41)}


def test_long_identical_duplicate_dropped_and_counted(ws, tmp_path):
    p = write(tmp_path, "dup.csv", "station,time,pm25\n"
              "S1,2023-01-20 01:00,40\n"
              "S1,2023-01-20 01:00,40\n"
              "S1,2023-01-20 02:00,41\n")
    r = imp(ws, "long", p)
    assert (r.new, r.quarantined) == (2, 0)
    assert "1 行为重复的站点时次（其中 0 行数值冲突）" in r.messages
    assert stored(ws, "pm25") == {("S1", H0 + 1): (40,), ("S1", H0 + 2): (41,)}


def test_long_conflicting_duplicate_keeps_first_quarantines_later(ws, tmp_path):
    p = write(tmp_path, "conflict.csv", "station,time,pm25,no2\n"
              "S1,2023-01-20 01:00,40,20\n"
              "S2,2023-01-20 01:00,50,30\n"
              "S1,2023-01-20 01:00,99,20\n"
              "S1,2023-01-20 02:00,41,21\n")
    r = imp(ws, "long", p)
    assert (r.new, r.quarantined) == (3, 1)
    assert "1 行为重复的站点时次（其中 1 行数值冲突）" in r.messages
    ((line, fld, raw, reason),) = quarantined(ws, r.import_id)
    assert (line, fld) == (4, "station,time") and "S1" in raw and "保留先出现的行" in reason
    assert stored(ws, "pm25, no2") == {("S1", H0 + 1): (40, 20), ("S1", H0 + 2): (41, 21), ("S2", H0 + 1): (50, 30)}


def test_long_bad_time_strings_quarantined(ws, tmp_path):
    p = write(tmp_path, "time.csv", "station,time,pm25\n"
              "S1,2023-01-20 01:00,40\n"
              "S1,2023-01-20 25:00,41\n"
              "S1,yesterday,42\n"
              "S1,2023-01-20 02:30,43\n"
              "S1,,44\n"
              "S1,2023-01-20 03:00,45\n")
    r = imp(ws, "long", p)
    assert (r.rows_read, r.new, r.quarantined) == (6, 2, 4)
    q = quarantined(ws, r.import_id)
    assert [(line, fld, raw) for line, fld, raw, _ in q] == [
        (3, "time", "2023-01-20 25:00"), (4, "time", "yesterday"), (5, "time", "2023-01-20 02:30"), (6, "time", ""),
    ]
    assert q[0][3] == "时间无法识别" and q[2][3] == "时间不是整点，不是小时值"
    assert stored(ws, "pm25") == {("S1", H0 + 1): (40,), ("S1", H0 + 3): (45,)}


def test_long_co_in_ug_without_unit_refused_nothing_stored(ws, tmp_path):
    p = write(tmp_path, "co_ug.csv", "station,time,so2,co\n"
              "S1,2023-01-20 01:00,5,800\n"
              "S1,2023-01-20 02:00,5,850\n"
              "S1,2023-01-20 03:00,5,900\n")
    with pytest.raises(IngestError, match="µg/m³") as e:
        imp(ws, "long", p)
    assert "co[ug/m3]" in str(e.value) and "文件未导入" in str(e.value)
    assert n_hourly(ws) == 0


def test_long_declared_units_converted(ws, tmp_path):
    p = write(tmp_path, "units.csv", "station,time,co[ug/m3],pm25 [mg/m3],no2(µg/m³)\n"
              "S1,2023-01-20 01:00,800,0.04,20\n"
              "S1,2023-01-20 02:00,1250,0.041,21\n")
    r = imp(ws, "long", p)
    assert (r.new, r.quarantined) == (2, 0)
    got = stored(ws, "co, pm25, no2")
    assert same(got[("S1", H0 + 1)], (0.8, 40.0, 20.0))
    assert same(got[("S1", H0 + 2)], (1.25, 41.0, 21.0))


@pytest.mark.parametrize("header", ["so2[ppb]", "no2[ppm]", "co[furlongs]"])
def test_long_volume_or_unknown_unit_refused(ws, tmp_path, header):
    p = write(tmp_path, "ppb.csv", f"station,time,{header},pm25\nS1,2023-01-20 01:00,5,40\n")
    with pytest.raises(IngestError, match="单位") as e:
        imp(ws, "long", p)
    assert header in str(e.value)
    assert n_hourly(ws) == 0


def test_long_hour_beginning_shifts_one_hour(ws, tmp_path):
    text = "station,time,pm25\nS1,2023-01-20 00:00,40\nS1,2023-01-20 23:00,41\n"
    r = imp(ws, "long", write(tmp_path, "hb.csv", text), hour_beginning=True)
    assert (r.new, r.quarantined) == (2, 0)
    assert stored(ws, "pm25") == {("S1", H0 + 1): (40,), ("S1", H0 + 24): (41,)}


def test_long_row_with_wrong_field_count_quarantined_others_kept(ws, tmp_path):
    p = write(tmp_path, "fields.csv", LONG_HEADER + "\n"
              "S1,2023-01-20 01:00,5,20,0.5,60,70,40\n"
              "S1,2023-01-20 02:00,6,21\n"
              "S1,2023-01-20 03:00,7,22,0.7,62,72,42,extra\n"
              "S1,2023-01-20 04:00,8,23,0.8,63,73,43\n")
    r = imp(ws, "long", p)
    assert (r.new, r.quarantined) == (2, 2)
    q = quarantined(ws, r.import_id)
    assert [(line, fld) for line, fld, _, _ in q] == [(3, "*"), (4, "*")]
    assert q[0][2] == "S1,2023-01-20 02:00,6,21" and q[0][3] == "字段数 4 与表头 8 不符"
    assert q[1][3] == "字段数 9 与表头 8 不符"
    assert stored(ws) == {("S1", H0 + 1): (5, 20, 0.5, 60, 70, 40), ("S1", H0 + 4): (8, 23, 0.8, 63, 73, 43)}


def test_long_gbk_chinese_station_codes_and_extra_column(ws, tmp_path):
    p = write(tmp_path, "gbk.csv", "station,time,pm25,no2,备注\n"
              "常州市监测站,2023-01-20 01:00,40,20,正常\n"
              "武进,2023-01-20 01:00,45,25,仪器校准\n", encoding="gbk")
    r = imp(ws, "long", p)
    assert (r.new, r.quarantined) == (2, 0)
    assert "文件编码为 GBK/GB18030，已按该编码读取" in r.messages
    assert "忽略了非标准列：备注" in r.messages
    assert stored(ws, "pm25, no2") == {("常州市监测站", H0 + 1): (40, 20), ("武进", H0 + 1): (45, 25)}


def test_long_utf8_bom_header_recognised(ws, tmp_path):
    p = write(tmp_path, "bom.csv", "\ufeffstation,time,pm25\n站点一,2023-01-20 01:00,40\n")
    assert p.read_bytes()[:3] == b"\xef\xbb\xbf"
    r = imp(ws, "long", p)
    assert (r.new, r.quarantined) == (1, 0)
    assert "文件编码为 UTF-8 (BOM)，已按该编码读取" in r.messages
    assert stored(ws, "pm25") == {("站点一", H0 + 1): (40,)}


def test_long_xlsx_imported_with_cell_checks(ws, tmp_path):
    df = pd.DataFrame({
        "station": ["X1", "X1", "X1", "X2"],
        "time": [datetime(2023, 1, 20, 1), datetime(2023, 1, 20, 2), "2023-01-20 24:00", "2023-01-20 01:00"],
        "pm25": [40, "abc", 42, 50],
        "co": [0.5, None, 0.7, 0.9],
        "remark": ["", "", "", "x"],
    })
    p = tmp_path / "hourly.xlsx"
    df.to_excel(p, index=False)
    r = imp(ws, "long", p)
    assert (r.rows_read, r.new, r.quarantined) == (4, 4, 1)
    assert quarantined(ws, r.import_id) == [(3, "pm25", "abc", "非数值")]
    assert "忽略了非标准列：remark" in r.messages
    assert stored(ws, "pm25, co") == {
        ("X1", H0 + 1): (40, 0.5), ("X1", H0 + 2): (None, None), ("X1", H0 + 24): (42, 0.7), ("X2", H0 + 1): (50, 0.9),
    }


def test_long_missing_markers_are_missing_not_quarantined(ws, tmp_path):
    p = write(tmp_path, "na.csv", "station,time,so2,no2,pm25\n"
              "S1,2023-01-20 01:00,NA,—,40\n"
              "S1,2023-01-20 02:00,/,-,41\n")
    r = imp(ws, "long", p)
    assert (r.new, r.quarantined) == (2, 0)
    assert stored(ws, "so2, no2, pm25") == {("S1", H0 + 1): (None, None, 40), ("S1", H0 + 2): (None, None, 41)}


def test_long_missing_required_column_refused(ws, tmp_path):
    p = write(tmp_path, "nostation.csv", "code_x,time,pm25\nS1,2023-01-20 01:00,40\n")
    with pytest.raises(IngestError, match="缺少必需列"):
        imp(ws, "long", p)
    p = write(tmp_path, "nopoll.csv", "station,time,remark\nS1,2023-01-20 01:00,x\n")
    with pytest.raises(IngestError, match="没有任何污染物列"):
        imp(ws, "long", p)
    assert n_hourly(ws) == 0


def test_long_xlsx_without_pollutant_columns_gets_clear_message(ws, tmp_path):
    p = tmp_path / "nopoll.xlsx"
    pd.DataFrame({"station": ["X1"], "time": ["2023-01-20 01:00"], "remark": ["x"]}).to_excel(p, index=False)
    with pytest.raises(IngestError, match="没有任何污染物列"):
        imp(ws, "long", p)


def test_long_quoted_header_accepted(ws, tmp_path):
    p = write(tmp_path, "quoted.csv", '"station","time","pm25"\n"S1","2023-01-20 01:00",40\n')
    r = imp(ws, "long", p)
    assert r.new == 1 and stored(ws, "pm25") == {("S1", H0 + 1): (40,)}


def test_long_mixed_offset_and_naive_stamps(ws, tmp_path):
    p = write(tmp_path, "tz.csv", "station,time,pm25\nS1,2023-01-20T01:00:00+08:00,40\nS1,2023-01-20 02:00,41\n")
    r = imp(ws, "long", p)
    assert r.quarantined == 0
    assert stored(ws, "pm25") == {("S1", H0 + 1): (40,), ("S1", H0 + 2): (41,)}


# --- re-import, corrections, empty cells -----------------------------------------------------------------------


def test_reimport_same_file_changes_nothing(ws, tmp_path):
    p = write(tmp_path, "a.csv", LONG_HEADER + "\n"
              "S1,2023-01-20 01:00,5,20,0.5,60,70,40\n"
              "S1,2023-01-20 02:00,6,,0.6,61,71,41\n"
              "S2,2023-01-20 01:00,7,22,0.7,62,72,42\n")
    first = imp(ws, "long", p)
    before = ws.con.execute("SELECT * FROM air_hourly ORDER BY station, hi").fetchall()
    second = imp(ws, "long", p)
    assert (first.new, first.updated, first.unchanged) == (3, 0, 0)
    assert (second.new, second.updated, second.unchanged) == (0, 0, 3)
    assert second.import_id != first.import_id and second.previous_import == first.import_id
    assert f"同一文件已于导入批次 #{first.import_id} 导入过" in second.messages
    assert ws.con.execute("SELECT * FROM air_hourly ORDER BY station, hi").fetchall() == before
    assert n_hourly(ws) == 3
    (row,) = ws.con.execute(
        "SELECT rows_new, rows_updated, rows_unchanged FROM imports WHERE import_id = ?", [second.import_id]
    ).fetchall()
    assert row == (0, 0, 3)


def test_corrected_value_in_later_file_updates(ws, tmp_path):
    a = write(tmp_path, "a.csv", "station,time,pm25,no2\n"
              "S1,2023-01-20 01:00,40,20\n"
              "S1,2023-01-20 02:00,41,21\n")
    b = write(tmp_path, "b.csv", "station,time,pm25,no2\n"
              "S1,2023-01-20 01:00,40,20\n"
              "S1,2023-01-20 02:00,47,21\n"
              "S1,2023-01-20 03:00,42,22\n")
    first = imp(ws, "long", a)
    second = imp(ws, "long", b)
    assert (second.new, second.updated, second.unchanged, second.previous_import) == (1, 1, 1, None)
    assert stored(ws, "pm25, no2") == {("S1", H0 + 1): (40, 20), ("S1", H0 + 2): (47, 21), ("S1", H0 + 3): (42, 22)}
    ids = dict(ws.con.execute("SELECT hi, import_id FROM air_hourly").fetchall())
    assert ids == {H0 + 1: first.import_id, H0 + 2: second.import_id, H0 + 3: second.import_id}


def test_several_files_in_one_call_keep_per_file_counts_and_order(ws, tmp_path):
    a = write(tmp_path, "a.csv", "station,time,pm25\nS1,2023-01-20 01:00,40\nS1,2023-01-20 02:00,41\n")
    b = write(tmp_path, "b.csv", "station,time,pm25\nS1,2023-01-20 02:00,47\nS1,2023-01-20 03:00,42\n")
    c = write(tmp_path, "c.csv", "station,time,pm25\nS2,2023-01-20 01:00,50\nS2,2023-01-20 02:00,x\n")
    ra, rb, rc = import_files(ws, "long", [a, b, c])
    assert [r.source for r in (ra, rb, rc)] == [str(a), str(b), str(c)]
    assert len({ra.import_id, rb.import_id, rc.import_id}) == 3
    assert (ra.new, ra.updated, ra.unchanged) == (2, 0, 0)
    assert (rb.new, rb.updated, rb.unchanged) == (1, 1, 0)  # the later file corrects the earlier one
    assert (rc.new, rc.quarantined) == (2, 1)
    assert quarantined(ws, rc.import_id) == [(3, "pm25", "x", "非数值")]
    assert stored(ws, "pm25") == {("S1", H0 + 1): (40,), ("S1", H0 + 2): (47,), ("S1", H0 + 3): (42,),
                                  ("S2", H0 + 1): (50,), ("S2", H0 + 2): (None,)}
    counts = ws.con.execute("SELECT import_id, rows_new, rows_updated, rows_quarantined FROM imports ORDER BY 1").fetchall()
    assert counts == [(ra.import_id, 2, 0, 0), (rb.import_id, 1, 1, 0), (rc.import_id, 2, 0, 1)]


def test_unreadable_file_in_a_call_keeps_earlier_files(ws, tmp_path):
    a = write(tmp_path, "a.csv", "station,time,pm25\nS1,2023-01-20 01:00,40\n")
    bad = write(tmp_path, "bad.csv", "station,time,so2[ppb]\nS1,2023-01-20 01:00,4\n")
    with pytest.raises(IngestError, match="ppb"):
        import_files(ws, "long", [a, bad])
    assert stored(ws, "pm25") == {("S1", H0 + 1): (40,)}


def test_empty_cell_in_later_file_never_erases(ws, tmp_path):
    a = write(tmp_path, "a.csv", "station,time,pm25,no2,so2\n"
              "S1,2023-01-20 01:00,40,20,5\n"
              "S1,2023-01-20 02:00,41,21,6\n")
    b = write(tmp_path, "b.csv", "station,time,pm25,no2,so2\n"
              "S1,2023-01-20 01:00,,20,5\n"       # only an empty cell: nothing changes
              "S1,2023-01-20 02:00,,25,NA\n")     # a correction beside empty cells: only no2 changes
    imp(ws, "long", a)
    r = imp(ws, "long", b)
    assert (r.new, r.updated, r.unchanged) == (0, 1, 1)
    assert stored(ws, "pm25, no2, so2") == {("S1", H0 + 1): (40, 20, 5), ("S1", H0 + 2): (41, 25, 6)}
    # a file without the column at all leaves it alone too
    c = write(tmp_path, "c.csv", "station,time,no2\nS1,2023-01-20 01:00,20\n")
    r = imp(ws, "long", c)
    assert (r.new, r.updated, r.unchanged) == (0, 0, 1)
    assert stored(ws, "pm25, no2, so2")[("S1", H0 + 1)] == (40, 20, 5)


_GOOD = st.one_of(st.integers(0, 999).map(str), st.integers(0, 9999).map(lambda i: f"{i / 10:.1f}"))
_BAD = st.sampled_from(["abc", "x1", "1.2.3", "-5", "-0.5"])
_CELL = st.one_of(_GOOD, _GOOD, st.just(""), _BAD)


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(grid=st.lists(st.tuples(_CELL, _CELL), min_size=1, max_size=8))
def test_long_property_every_good_cell_stored_every_bad_cell_quarantined(tmp_path_factory, grid):
    from qingshan.store.workspace import Workspace

    d = tmp_path_factory.mktemp("prop")
    text = "station,time,pm25,no2\n" + "".join(
        f"S1,2023-01-20 {i + 1:02d}:00,{a},{b}\n" for i, (a, b) in enumerate(grid))
    p = write(d, "p.csv", text)
    expected_q = set()
    expected = {}
    for i, cells in enumerate(grid):
        vals = []
        for fld, cell in zip(("pm25", "no2"), cells):
            try:
                v = float(cell)
            except ValueError:
                v = None
                if cell != "":
                    expected_q.add((i + 2, fld))
            else:
                if v < 0:
                    expected_q.add((i + 2, fld))
                    v = None
            vals.append(v)
        expected[("S1", H0 + i + 1)] = tuple(vals)
    with Workspace(d / "ws") as w:
        r = imp(w, "long", p)
        assert (r.rows_read, r.new, r.quarantined) == (len(grid), len(grid), len(expected_q))
        assert {(line, fld) for line, fld, _, _ in quarantined(w, r.import_id)} == expected_q
        got = stored(w, "pm25, no2")
        assert got.keys() == expected.keys()
        assert all(same(got[k], expected[k]) for k in expected)
        again = imp(w, "long", p)
        assert (again.new, again.updated, again.unchanged) == (0, 0, len(grid))


# --- quotsoft china_sites_YYYYMMDD.csv ---------------------------------------------------------------------------

TYPES = list(TYPE_COLUMNS)  # AQI, PM2.5, PM2.5_24h, … in file order
STATIONS = ("A1", "A2", "A3")


def qvalue(hour: int, k: int, s: int) -> int:
    """A distinct value for (hour, type index k, station index s)."""
    return 100 * s + 10 * hour + k + 1


def quotsoft_lines(date: str = "20230101", hours=(0, 1, 2), trailing: str = "") -> list[str]:
    lines = ["date,hour,type," + ",".join(STATIONS) + trailing]
    for h in hours:
        for k, t in enumerate(TYPES):
            lines.append(f"{date},{h},{t}," + ",".join(str(qvalue(h, k, s)) for s in range(3)) + trailing)
    return lines


def line_of(hour: int, type_: str, hours=(0, 1, 2)) -> int:
    """1-based file line number of the (hour, type) row of :func:`quotsoft_lines`."""
    return 2 + hours.index(hour) * len(TYPES) + TYPES.index(type_)


def write_quotsoft(tmp_path, lines: list[str], name: str = "china_sites_20230101.csv", end: str = "\n"):
    return write(tmp_path / "q", name, "\n".join(lines) + end)


def qstored(ws, column: str) -> dict[tuple[str, int], float | None]:
    return {(s, h): v for s, h, v in ws.con.execute(f"SELECT station, hi, {column} FROM air_hourly").fetchall()}


def test_quotsoft_clean_file_hour_zero_is_previous_day(ws, tmp_path):
    r = imp(ws, "quotsoft", write_quotsoft(tmp_path, quotsoft_lines()))
    assert (r.kind, r.rows_read, r.new, r.quarantined, r.messages) == ("quotsoft", 45, 9, 0, [])
    # hour 0 of file 20230101 is labelled 2023-01-01 00:00, i.e. the last hour of 2022-12-31
    (ts,) = ws.con.execute("SELECT DISTINCT ts FROM air_hourly WHERE hi = ?", [Q0]).fetchall()[0]
    assert ts == datetime(2023, 1, 1, 0, 0)
    assert sorted({h for _, h in qstored(ws, "pm25")}) == [Q0, Q0 + 1, Q0 + 2]
    for col_k, (t, col) in enumerate(TYPE_COLUMNS.items()):
        got = qstored(ws, col)
        for h in (0, 1, 2):
            for s, code in enumerate(STATIONS):
                assert got[(code, Q0 + h)] == qvalue(h, col_k, s), (t, h, code)


def test_quotsoft_truncated_last_line(ws, tmp_path):
    lines = quotsoft_lines()
    k = TYPES.index("CO_24h")
    assert lines[-1] == f"20230101,2,CO_24h,{qvalue(2, k, 0)},{qvalue(2, k, 1)},{qvalue(2, k, 2)}"
    cut = str(qvalue(2, k, 1))[:1]  # the file ends in the middle of A2's value; A3 is absent
    lines[-1] = f"20230101,2,CO_24h,{qvalue(2, k, 0)},{cut}"
    r = imp(ws, "quotsoft", write_quotsoft(tmp_path, lines, end=""))
    last = line_of(2, "CO_24h")
    assert r.quarantined == 1
    ((line, fld, raw, reason),) = quarantined(ws, r.import_id)
    assert (line, fld, raw) == (last, "A2", cut) and "截断" in reason
    assert any("截断" in m and f"第 {last} 行" in m for m in r.messages)
    co24 = qstored(ws, "pub_co_24h")
    assert co24[("A1", Q0 + 2)] == qvalue(2, k, 0)  # the complete field is kept
    assert co24[("A2", Q0 + 2)] is None and co24[("A3", Q0 + 2)] is None
    # every other value of that hour is intact
    assert qstored(ws, "co")[("A3", Q0 + 2)] == qvalue(2, TYPES.index("CO"), 2)
    assert r.new == 9


def test_quotsoft_line_cut_before_any_station(ws, tmp_path):
    lines = quotsoft_lines() + ["20230101,3,AQ"]
    r = imp(ws, "quotsoft", write_quotsoft(tmp_path, lines, end=""))
    assert quarantined(ws, r.import_id) == [(47, "*", "20230101,3,AQ", "截断行，无数据")]
    assert r.new == 9 and Q0 + 3 not in {h for _, h in qstored(ws, "pm25")}


def test_quotsoft_trailing_empty_columns_tolerated_and_reported(ws, tmp_path):
    r = imp(ws, "quotsoft", write_quotsoft(tmp_path, quotsoft_lines(trailing=",,")))
    assert (r.new, r.quarantined) == (9, 0)
    assert "表头末尾有 2 个空列，已忽略" in r.messages
    assert "45 行末尾带有空列，已忽略" in r.messages
    assert qstored(ws, "pm25")[("A3", Q0 + 1)] == qvalue(1, TYPES.index("PM2.5"), 2)
    assert ws.con.execute("SELECT count(DISTINCT station) FROM air_hourly").fetchall()[0][0] == 3


def test_quotsoft_unknown_type_quarantined(ws, tmp_path):
    lines = quotsoft_lines()
    ln = line_of(1, "PM10_24h")
    lines[ln - 1] = lines[ln - 1].replace("PM10_24h", "PM1_24h")
    r = imp(ws, "quotsoft", write_quotsoft(tmp_path, lines))
    assert quarantined(ws, r.import_id) == [(ln, "type", "PM1_24h", "未知的数据类型")]
    pm10_24 = qstored(ws, "pub_pm10_24h")
    assert pm10_24[("A1", Q0 + 1)] is None and pm10_24[("A1", Q0)] == qvalue(0, TYPES.index("PM10_24h"), 0)
    assert qstored(ws, "pm10")[("A1", Q0 + 1)] == qvalue(1, TYPES.index("PM10"), 0)


def test_quotsoft_non_numeric_cell_quarantined(ws, tmp_path):
    lines = quotsoft_lines()
    ln = line_of(0, "SO2")
    k = TYPES.index("SO2")
    lines[ln - 1] = f"20230101,0,SO2,{qvalue(0, k, 0)},x1,{qvalue(0, k, 2)}"
    r = imp(ws, "quotsoft", write_quotsoft(tmp_path, lines))
    assert quarantined(ws, r.import_id) == [(ln, "A2", "x1", "非数值")]
    so2 = qstored(ws, "so2")
    assert (so2[("A1", Q0)], so2[("A2", Q0)], so2[("A3", Q0)]) == (qvalue(0, k, 0), None, qvalue(0, k, 2))
    assert r.new == 9


def test_quotsoft_date_not_matching_file_name_quarantined(ws, tmp_path):
    lines = quotsoft_lines()
    ln = line_of(2, "NO2")
    lines[ln - 1] = lines[ln - 1].replace("20230101", "20230102", 1)
    r = imp(ws, "quotsoft", write_quotsoft(tmp_path, lines))
    assert quarantined(ws, r.import_id) == [(ln, "date", "20230102", "日期与文件名 20230101 不符")]
    no2 = qstored(ws, "no2")
    assert no2[("A1", Q0 + 2)] is None and no2[("A1", Q0 + 1)] == qvalue(1, TYPES.index("NO2"), 0)
    # nothing was stored under the other day
    assert ws.con.execute("SELECT max(hi) FROM air_hourly").fetchall()[0][0] == Q0 + 2


def test_quotsoft_negative_and_duplicate_lines(ws, tmp_path):
    lines = quotsoft_lines()
    k = TYPES.index("PM2.5")
    lines.append(lines[line_of(0, "PM2.5") - 1])  # identical repeat: dropped silently
    lines.append("20230101,0,PM2.5,1,2,3")  # conflicting repeat: quarantined, first kept
    lines[line_of(1, "O3") - 1] = f"20230101,1,O3,-5,{qvalue(1, TYPES.index('O3'), 1)},{qvalue(1, TYPES.index('O3'), 2)}"
    r = imp(ws, "quotsoft", write_quotsoft(tmp_path, lines))
    q = quarantined(ws, r.import_id)
    assert [(line, fld) for line, fld, _, _ in q] == [(line_of(1, "O3"), "A1"), (48, "type")]
    assert "负值" in q[0][3] and "重复" in q[1][3]
    assert "2 行与前面的行时次、类型重复" in r.messages
    assert qstored(ws, "pm25")[("A2", Q0)] == qvalue(0, k, 1)
    assert qstored(ws, "o3")[("A1", Q0 + 1)] is None


def test_quotsoft_real_defects_reported(ws):
    folder = need(QUOTSOFT)
    r20, r21 = import_files(ws, "quotsoft", [folder / "china_sites_20230120.csv", folder / "china_sites_20230121.csv"])
    assert r20.quarantined == 1
    assert "第 361 行被截断：只有 1738 个字段（应为 2029），缺少的 291 个站点按缺测处理" in r20.messages
    (line, fld, _raw, reason) = quarantined(ws, r20.import_id)[0]
    assert line == 361 and "截断" in reason
    assert "表头末尾有 6 个空列，已忽略" in r21.messages and r21.quarantined == 0


# --- cnemc API export ---------------------------------------------------------------------------------------------

CNEMC_HEADER = ("timepoint,stationcode,longitude,latitude,area,positionname,primarypollutant,aqi,pm10,pm10_24h,pm2_5,"
                "pm2_5_24h,o3,o3_24h,o3_8h,o3_8h_24h,no2,no2_24h,so2,so2_24h,co,co_24h")


def cnemc_row(tp, code, name, area, o3, o3_24h, o3_8h, o3_8h_24h, pm25=60, lon="119.9633", lat="31.762"):
    return f"{tp},{code},{lon},{lat},{area},{name},PM2.5,80,90,85,{pm25},55,{o3},{o3_24h},{o3_8h},{o3_8h_24h},30,32,8,9,0.7,0.8"


def test_cnemc_swapped_o3_labels_detected_and_fixed(ws, tmp_path):
    rows = [  # as archived: o3 holds the 24-h maximum, o3_24h the 1-h value (same for the 8-h pair)
        cnemc_row("2022-01-04T16:00:00", "1196A", "市监测站", "常州", 120, 40, 100, 60),
        cnemc_row("2022-01-04T17:00:00", "1196A", "市监测站", "常州", 120, 45, 100, 62),
        cnemc_row("2022-01-04T18:00:00", "1196A", "市监测站", "常州", 50, 50, 70, 70),
    ]
    r = imp(ws, "cnemc", write(tmp_path, "c.csv", CNEMC_HEADER + "\n" + "\n".join(rows) + "\n"))
    assert (r.rows_read, r.new, r.quarantined) == (3, 3, 0)
    assert any("O3 列标签互换" in m and "o3/pub_o3_24h" in m and "pub_o3_8h/pub_o3_8h_24h" in m for m in r.messages)
    base = 18996 * 24 + 16  # 2022-01-04 16:00
    got = {h: v for _, h, *v in ws.con.execute(
        "SELECT station, hi, o3, pub_o3_24h, pub_o3_8h, pub_o3_8h_24h, pm25, pub_aqi, co FROM air_hourly"
    ).fetchall()}
    assert got == {
        base: [40, 120, 60, 100, 60, 80, 0.7],
        base + 1: [45, 120, 62, 100, 60, 80, 0.7],
        base + 2: [50, 50, 70, 70, 60, 80, 0.7],
    }


def test_cnemc_consistent_o3_labels_left_alone(ws, tmp_path):
    rows = [
        cnemc_row("2022-01-04T16:00:00", "1196A", "市监测站", "常州", 40, 120, 60, 100),
        cnemc_row("2022-01-04T17:00:00", "1196A", "市监测站", "常州", 45, 120, 62, 100),
    ]
    r = imp(ws, "cnemc", write(tmp_path, "c.csv", CNEMC_HEADER + "\n" + "\n".join(rows) + "\n"))
    assert not any("互换" in m for m in r.messages)
    assert ws.con.execute("SELECT o3, pub_o3_24h FROM air_hourly ORDER BY hi").fetchall() == [(40, 120), (45, 120)]


def test_cnemc_unknown_stations_registered_with_control_detection(ws, tmp_path):
    rows = [
        cnemc_row("2022-01-04T16:00:00", "1196A", "市监测站", "常州", 40, 120, 60, 100),
        cnemc_row("2022-01-04T16:00:00", "9901A", "新站(对照点)", "示范市", 30, 110, 50, 90, lon="120.1", lat="31.5"),
        cnemc_row("2022-01-04T17:00:00", "9901A", "新站(对照点)", "示范市", 31, 110, 51, 90, lon="120.1", lat="31.5"),
        cnemc_row("2022-01-04T16:00:00", "9902A", "另一站（对照点）", "示范市", 30, 110, 50, 90, lon="-", lat=""),
    ]
    r = imp(ws, "cnemc", write(tmp_path, "c.csv", CNEMC_HEADER + "\n" + "\n".join(rows) + "\n"))
    assert r.new == 4 and "按数据中的站点信息登记了 3 个新站点" in r.messages
    assert not any("不在站点表中" in m for m in r.messages)
    st = {c: rest for c, *rest in ws.con.execute(
        "SELECT code, name, city, lon, lat, is_control FROM stations ORDER BY code").fetchall()}
    assert st == {
        "1196A": ["市监测站", "常州", 119.9633, 31.762, False],
        "9901A": ["新站", "示范市", 120.1, 31.5, True],
        "9902A": ["另一站", "示范市", None, None, True],
    }


def test_cnemc_known_station_not_overwritten(ws, tmp_path):
    st = write(tmp_path, "st.csv", "code,name,city,district,lon,lat,is_control\n1196A,市监测站,常州,天宁区,119.96,31.76,N\n")
    imp(ws, "stations", st)
    rows = [cnemc_row("2022-01-04T16:00:00", "1196A", "改名(对照点)", "别处", 40, 120, 60, 100)]
    r = imp(ws, "cnemc", write(tmp_path, "c.csv", CNEMC_HEADER + "\n" + "\n".join(rows) + "\n"))
    assert r.new == 1 and not any("登记" in m for m in r.messages)
    assert ws.con.execute("SELECT name, city, district, is_control FROM stations").fetchall() == [
        ("市监测站", "常州", "天宁区", False)]


def test_cnemc_padded_station_code_of_known_station(ws, tmp_path):
    imp(ws, "stations", write(tmp_path, "st.csv", "code,name,city,lon,lat,is_control\n1196A,市监测站,常州,119.96,31.76,N\n"))
    rows = [cnemc_row("2022-01-04T16:00:00", "1196A ", "市监测站", "常州", 40, 120, 60, 100)]
    r = imp(ws, "cnemc", write(tmp_path, "c.csv", CNEMC_HEADER + "\n" + "\n".join(rows) + "\n"))
    assert r.new == 1
    assert ws.con.execute("SELECT station FROM air_hourly").fetchall() == [("1196A",)]


def test_cnemc_bad_cells_and_times_quarantined(ws, tmp_path):
    rows = [
        cnemc_row("2022-01-04T16:00:00", "1196A", "市监测站", "常州", 40, 120, 60, 100, pm25="x"),
        cnemc_row("2022-01-04T16:30:00", "1196A", "市监测站", "常州", 40, 120, 60, 100),
        cnemc_row("2022-01-04T17:00:00", "", "市监测站", "常州", 40, 120, 60, 100),
        cnemc_row("2022-01-04T18:00:00", "1196A", "市监测站", "常州", 41, 120, 60, 100),
    ]
    r = imp(ws, "cnemc", write(tmp_path, "c.csv", CNEMC_HEADER + "\n" + "\n".join(rows) + "\n"))
    q = quarantined(ws, r.import_id)
    assert [(line, fld) for line, fld, _, _ in q] == [(2, "pm2_5"), (3, "timepoint"), (4, "stationcode")]
    base = 18996 * 24 + 16
    assert ws.con.execute("SELECT hi, pm25, o3 FROM air_hourly ORDER BY hi").fetchall() == [
        (base, None, 40), (base + 2, 60, 41)]


# --- stations -----------------------------------------------------------------------------------------------------


def test_real_station_list(ws):
    folder = need(STATION_LIST)
    (path,) = sorted(folder.glob("*.csv"))
    r = imp(ws, "stations", path)
    assert (r.rows_read, r.new, r.quarantined) == (2026, 2026, 0)
    assert ws.con.execute("SELECT count(*) FROM stations").fetchall()[0][0] == 2026
    cz = {code: (name, ctl, status) for code, name, ctl, status in ws.con.execute(
        "SELECT code, name, is_control, status FROM stations WHERE city = '常州'").fetchall()}
    assert {c for c, (_, ctl, _) in cz.items() if not ctl} == CHANGZHOU_EVAL
    assert cz["1197A"] == ("城建学校", True, "停运161026")
    assert cz["1196A"] == ("市监测站", False, None)
    (name, ctl, status) = ws.con.execute(
        "SELECT name, is_control, status FROM stations WHERE code = '1002A'").fetchall()[0]
    assert (name, ctl, status) == ("定陵", True, "对照点")


def test_gbk_station_file_with_status_suffixes(ws, tmp_path):
    p = write(tmp_path, "站点.csv", "监测点编码,监测点名称,城市,区县,经度,纬度,对照点\n"
              "Z1,甲站,示范市,东区,120.1,31.2,N\n"
              "Z2,乙站(停运161026),示范市,西区,-,,N\n"
              "Z3,丙站（对照点）,示范市,,120,31,Y\n"
              "Z4,丁站,示范市,北区,120.2,31.3,X\n", encoding="gbk")
    r = imp(ws, "stations", p)
    assert (r.rows_read, r.new, r.quarantined) == (4, 4, 1)
    assert quarantined(ws, r.import_id) == [(5, "is_control", "X", "对照点标志应为 Y/N，按 N 处理")]
    assert "2 个对照点/停运站点不参与城市均值" in r.messages
    got = {c: rest for c, *rest in ws.con.execute(
        "SELECT code, name, city, district, lon, lat, is_control, status FROM stations ORDER BY code").fetchall()}
    assert got == {
        "Z1": ["甲站", "示范市", "东区", 120.1, 31.2, False, None],
        "Z2": ["乙站", "示范市", "西区", None, None, True, "停运161026"],
        "Z3": ["丙站", "示范市", None, 120.0, 31.0, True, "对照点"],
        "Z4": ["丁站", "示范市", "北区", 120.2, 31.3, False, None],
    }


def test_station_duplicate_code_and_missing_code_quarantined(ws, tmp_path):
    p = write(tmp_path, "st.csv", "code,name,city,district,lon,lat,is_control\n"
              "Z1,甲站,示范市,东区,120.1,31.2,N\n"
              "Z2,乙站,示范市,西区,120.2,31.3,N\n"
              "Z1,重复,别处,南区,1,2,Y\n"
              ",无编码,示范市,,1,2,N\n")
    r = imp(ws, "stations", p)
    assert (r.new, r.quarantined) == (2, 2)
    assert quarantined(ws, r.import_id) == [
        (4, "code", "Z1", "站点编码重复，保留先出现的行"), (5, "code", "", "缺少站点编码")]
    assert ws.con.execute("SELECT code, name, city, is_control FROM stations ORDER BY code").fetchall() == [
        ("Z1", "甲站", "示范市", False), ("Z2", "乙站", "示范市", False)]


def test_station_file_without_code_column_refused(ws, tmp_path):
    with pytest.raises(IngestError, match="站点编码"):
        imp(ws, "stations", write(tmp_path, "st.csv", "name,city\n甲站,示范市\n"))


# --- unknown stations in data ---------------------------------------------------------------------------------


def test_unknown_station_in_data_kept_and_named(ws, tmp_path):
    imp(ws, "stations", write(tmp_path, "st.csv", "code,name,city,is_control\nZ1,甲站,示范市,N\n"))
    p = write(tmp_path, "d.csv", "station,time,pm25\nZ1,2023-01-20 01:00,40\nNEW9,2023-01-20 01:00,41\n")
    r = imp(ws, "long", p)
    assert (r.new, r.quarantined) == (2, 0)
    assert "1 个站点不在站点表中（数据已保存，但在导入站点表前不参与城市评价）：NEW9" in r.messages
    assert stored(ws, "pm25") == {("NEW9", H0 + 1): (41,), ("Z1", H0 + 1): (40,)}
    assert ws.con.execute("SELECT count(*) FROM stations").fetchall()[0][0] == 1


def test_no_unknown_station_message_without_station_table(ws, tmp_path):
    r = imp(ws, "long", write(tmp_path, "d.csv", "station,time,pm25\nNEW9,2023-01-20 01:00,41\n"))
    assert r.new == 1 and not any("不在站点表中" in m for m in r.messages)


def test_quotsoft_unknown_station_named(ws, tmp_path):
    imp(ws, "stations", write(tmp_path, "st.csv", "code,name,city,is_control\nA1,甲,示范市,N\nA2,乙,示范市,N\n"))
    r = imp(ws, "quotsoft", write_quotsoft(tmp_path, quotsoft_lines()))
    assert r.new == 9
    assert "1 个站点不在站点表中（数据已保存，但在导入站点表前不参与城市评价）：A3" in r.messages
