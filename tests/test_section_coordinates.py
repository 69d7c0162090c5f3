"""Coordinates of water sections (issue 15, the map's water layer): the section register accepts 经度/纬度 (lon/lat)
columns, WGS-84 decimal degrees or degrees-minutes-seconds; a bad coordinate gets a Chinese quarantine reason and
loses nothing else of its row; re-importing changes nothing; a later file adds coordinates to a section that had
none (even a file of only section, lon, lat); store migration 10 adds the columns to an older store."""

from __future__ import annotations

import pytest

from qingshan.ingest.coordinates import BadCoordinate, parse_degrees, position
from qingshan.ingest.water_samples import import_water_samples
from qingshan.store.read import water_section_positions
from qingshan.store.schema import VERSION_TABLE
from qingshan.store.workspace import Workspace

REGISTER = """section,name,water_body,level,target,经度,纬度
S1,断面一,river,国考,Ⅲ,119.9712,31.7801
S2,断面二,lake,省考,Ⅲ,119°58′12″,31°47′
S3,断面三,river,市考,Ⅳ,31.78,119.97
S4,断面四,river,市考,Ⅳ,119.5,
S5,断面五,river,市考,Ⅳ,东经120,31.5
S6,断面六,river,市考,Ⅳ,,
"""


def coords(ws) -> dict[str, tuple]:
    return {r[0]: r[1:] for r in ws.con.execute(
        "SELECT section, name, water_body, target_class, lon, lat FROM water_sections ORDER BY section").fetchall()}


def quarantined(ws, iid: int) -> dict[int, tuple[str, str]]:
    return {r[0]: (r[1], r[2]) for r in ws.con.execute(
        "SELECT line, field, reason FROM quarantine WHERE import_id = ?", [iid]).fetchall()}


def test_cells_in_decimal_degrees_or_dms_and_the_errors_people_read():
    assert parse_degrees(" 119.97° ") == 119.97
    assert parse_degrees("119度58分12秒") == pytest.approx(119.97)
    assert parse_degrees("31°47′N") == pytest.approx(31 + 47 / 60)
    assert position("120", "31") == (120.0, 31.0)
    with pytest.raises(BadCoordinate, match="经度与纬度填反"):
        position("31.78", "119.97")
    with pytest.raises(BadCoordinate, match="只填了经度"):
        position("119.5", "")
    with pytest.raises(BadCoordinate, match="不在中国范围内"):
        position("491234.5", "3512345.6")  # metres of a projected grid, not degrees
    with pytest.raises(BadCoordinate, match="不是经纬度"):
        parse_degrees("东经120")
    with pytest.raises(BadCoordinate, match="分或秒不小于 60"):
        parse_degrees("119°75′")


def test_register_with_coordinates_bad_cells_quarantined_the_rest_kept(ws, tmp_path):
    f = tmp_path / "断面.csv"
    f.write_text(REGISTER, encoding="utf-8")
    rep = import_water_samples(ws, f)
    assert (rep.rows_read, rep.quarantined) == (6, 3) and "断面信息：新增 6，更新 0，未变 0" in rep.messages
    got = coords(ws)
    assert got["S1"] == ("断面一", "river", 3, 119.9712, 31.7801)
    assert got["S2"][3:] == pytest.approx((119.97, 31 + 47 / 60))
    # a bad coordinate: the section and its other details are stored, without a position
    for s in ("S3", "S4", "S5"):
        assert got[s][:3] == (f"断面{'三四五'['345'.index(s[1])]}", "river", 4) and got[s][3:] == (None, None)
    assert got["S6"][3:] == (None, None)  # no coordinates given: nothing to complain about
    q = quarantined(ws, rep.import_id)
    assert set(q) == {4, 5, 6} and all(field == "lon,lat" for field, _ in q.values())
    assert "断面 S3 的坐标无效" in q[4][1] and "填反" in q[4][1] and "断面其他信息已导入" in q[4][1]
    assert "只填了经度" in q[5][1] and "不是经纬度" in q[6][1]

    again = import_water_samples(ws, f)  # re-import: nothing changes
    assert "断面信息：新增 0，更新 0，未变 6" in again.messages
    assert coords(ws) == got


def test_a_later_file_adds_coordinates_and_a_bad_one_keeps_the_stored_ones(ws, tmp_path):
    f = tmp_path / "断面.csv"
    f.write_text("section,name,water_body,target\nS1,断面一,river,Ⅲ\nS2,断面二,lake,Ⅱ\n", encoding="utf-8")
    import_water_samples(ws, f)
    assert coords(ws)["S1"][3:] == (None, None)
    # a GIS export of positions only: completes the known sections, their water body and target are kept
    g = tmp_path / "坐标.csv"
    g.write_text("断面,经度,纬度\nS1,119.95,31.81\nS2,119.58,31.74\nS9,120.1,31.6\n", encoding="utf-8")
    rep = import_water_samples(ws, g)
    got = coords(ws)
    assert got["S1"] == ("断面一", "river", 3, 119.95, 31.81) and got["S2"] == ("断面二", "lake", 2, 119.58, 31.74)
    assert "S9" not in got  # unknown section without a water body: quarantined as before
    q = quarantined(ws, rep.import_id)
    assert list(q) == [4] and q[4][0] == "water_body" and "断面 S9 的水体类型缺失" in q[4][1]
    assert "断面信息：新增 0，更新 2，未变 0" in rep.messages
    # a later file with a broken coordinate: the stored position stays
    h = tmp_path / "更正.csv"
    h.write_text("section,name,water_body,lon,lat\nS1,断面一（更名）,river,1199.5,31.81\n", encoding="utf-8")
    rep = import_water_samples(ws, h)
    assert rep.quarantined == 1 and "断面信息：新增 0，更新 1，未变 0" in rep.messages
    assert coords(ws)["S1"] == ("断面一（更名）", "river", 3, 119.95, 31.81)
    # the same positions again: unchanged
    rep = import_water_samples(ws, g)
    assert "断面信息：新增 0，更新 0，未变 2" in rep.messages


def test_migration_10_adds_the_columns_to_an_older_section_table(tmp_path):
    with Workspace(tmp_path / "ws") as ws:
        ws.con.execute("CREATE TABLE water_sections (section VARCHAR PRIMARY KEY, name VARCHAR, water_body VARCHAR, "
                       "basin VARCHAR, river VARCHAR, level VARCHAR, target_class TINYINT, district VARCHAR, "
                       "province VARCHAR, city VARCHAR, import_id INTEGER)")
        ws.con.execute("INSERT INTO water_sections (section, name, water_body) VALUES ('S1', '断面一', 'river')")
        ws.con.execute(f"DELETE FROM {VERSION_TABLE} WHERE version = 10")
    with Workspace(tmp_path / "ws", read_only=True) as ws:  # a reader (no DDL) sees no positions, and no error
        got = water_section_positions(ws.con)
        assert list(got["section"]) == ["S1"] and got["lon"].isna().all() and got["lat"].isna().all()
    with Workspace(tmp_path / "ws") as ws:
        assert ws.con.execute("SELECT section, name, lon, lat FROM water_sections").fetchall() == \
            [("S1", "断面一", None, None)]
        assert 10 in {v for (v,) in ws.con.execute(f"SELECT version FROM {VERSION_TABLE}").fetchall()}
