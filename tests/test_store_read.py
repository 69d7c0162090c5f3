"""The store's read API (qingshan.store.read): each question answered on a small hand-built workspace."""

from __future__ import annotations

from datetime import date

import pandas as pd
import pytest

from qingshan.store import read
from qingshan.store.water import ensure_schema as ensure_water_schema
from qingshan.store.workspace import Workspace

D0 = 19375  # day index of 2023-01-18 (days since 1970-01-01)


@pytest.fixture
def con(tmp_path):
    with Workspace(tmp_path / "ws") as ws:
        c = ws.con
        c.execute("""INSERT INTO stations (code, name, city, district, lon, lat, is_control, status, network) VALUES
            ('A1', '市站', '常州', '天宁区', 119.9, 31.8, FALSE, NULL, '国控'),
            ('A2', '镇站', '常州', '武进区', 119.8, 31.7, FALSE, NULL, '乡镇'),
            ('A0', '对照点', '常州', NULL, NULL, NULL, TRUE, NULL, '国控'),
            ('B1', '锡站', '无锡', NULL, NULL, NULL, FALSE, NULL, '省控'),
            ('C1', '空站', NULL, NULL, NULL, NULL, FALSE, NULL, NULL)""")
        hours = [("A1", D0 * 24 + 1, 1), ("A1", D0 * 24 + 24, 2), ("A2", (D0 + 1) * 24 + 3, 3),
                 ("B1", D0 * 24 + 5, 4), ("B1", D0 * 24 + 6, 4)]
        c.executemany("INSERT INTO air_hourly (station, hi, ts, pm25, import_id) VALUES (?, ?, TIMESTAMP '2023-01-01', 10, ?)",
                      hours)
        c.execute("INSERT INTO quarantine VALUES (1, 'a.csv', 7, 'pm25', 'x', '非数值'), (2, 'b.csv', 3, 'so2', '-1', '负值'),"
                  " (1, 'a.csv', 2, 'no2', '', '缺失')")
        yield c


def test_stations(con):
    assert read.city_has_stations(con, "常州") and not read.city_has_stations(con, "苏州")
    assert read.station_cities(con) == ["常州", "无锡"]
    assert read.station_codes(con) == {"A1", "A2", "A0", "B1", "C1"}
    st = read.stations_of_city(con, "常州")
    assert st["code"].tolist() == ["A1", "A2", "A0"]  # evaluation stations, town stations, control sites
    assert read.station_membership(con).set_index("code").loc["A2", "network"] == "乡镇"
    assert read.station_record(con, "A1") == {"code": "A1", "name": "市站", "city": "常州", "district": "天宁区",
                                              "lon": 119.9, "lat": 31.8, "is_control": False, "status": None}
    assert read.station_record(con, "ZZ") is None
    assert read.station_hours(con, "A1") == (D0 * 24 + 1, D0 * 24 + 24, 2)
    assert read.station_hours(con, "A0") == (None, None, 0)
    # 常州: A1 counts, A2 (town) and A0 (control) do not; two of three have data
    assert read.city_station_counts(con) == [("常州", 1, 3, 2), ("无锡", 1, 1, 1)]


def test_hours_and_imports(con):
    assert read.hour_range(con) == (D0 * 24 + 1, (D0 + 1) * 24 + 3)
    assert read.last_hour_of_city(con, "常州") == (D0 + 1) * 24 + 3
    assert read.last_hour_of_city(con, "苏州") is None
    assert read.city_with_most_hours(con) == "常州"  # 3 station-hours against 2
    assert read.city_hours(con) == {"常州": 3, "无锡": 2}
    assert list(read.city_hours(con)) == ["常州", "无锡"]  # most first
    assert read.air_import_ids(con, "常州", [(D0, D0)]) == [1, 2]  # 01:00 … 24:00 of the day, not the next day
    assert read.air_import_ids(con, "常州", [(D0 - 5, D0 - 1), (D0 + 1, D0 + 1)]) == [3]
    assert read.air_import_ids(con, "常州", []) == []
    assert [r[2] for r in read.quarantine_rows(con)] == [2, 7, 3]  # by import, then line
    assert read.quarantine_rows(con, import_id=2) == [(2, "b.csv", 3, "so2", "-1", "负值")]
    assert len(read.quarantine_rows(con, limit=1)) == 1
    assert read.quarantine_count(con) == 3 and read.quarantine_count(con, import_id=1) == 2
    assert read.quarantine_count(con, import_id=9) == 0


def test_store_counts_without_and_with_optional_tables(con):
    row, has_alerts = read.store_counts(con)
    # last import id, air rows, last hour, stations, water samples, water sections, HJ 212 alerts, last finish
    assert row == (None, 5, (D0 + 1) * 24 + 3, 5, 0, 0, 0, None) and not has_alerts
    ensure_water_schema(con)
    con.execute("CREATE TABLE hj212_alerts (alert_key VARCHAR, kind VARCHAR, mn VARCHAR, enterprise VARCHAR, "
                "outlet VARCHAR, station VARCHAR, factor VARCHAR, data_time TIMESTAMP, value DOUBLE, threshold DOUBLE, "
                "message VARCHAR, raised_at TIMESTAMP, status VARCHAR)")
    con.execute("INSERT INTO hj212_alerts VALUES ('k1', 'limit', 'MN1', '厂', '1号', NULL, 'a21026', "
                "TIMESTAMP '2023-01-18 10:00', 250, 200, '超标', TIMESTAMP '2023-01-18 10:05', 'open'), "
                "('k2', 'silent', 'MN2', NULL, NULL, NULL, NULL, NULL, NULL, NULL, '断线', TIMESTAMP '2023-01-18 11:00', 'open')")
    row, has_alerts = read.store_counts(con)
    assert row[6] == 2 and has_alerts
    alerts = read.hj212_alerts(con, 5)
    assert [a["mn"] for a in alerts] == ["MN2", "MN1"] and alerts[1]["value"] == 250
    assert len(read.hj212_alerts(con, 1)) == 1


def test_water(con):
    assert read.water_sample_years(con) == [] and read.water_import_ids(con, [(date(2023, 1, 1), date(2023, 12, 31))]) == []
    assert read.water_section_cities(con).empty and read.other_water_cities(con, "常州") == []
    assert read.sections_with_water_body(con) == set()
    ensure_water_schema(con)
    con.execute("INSERT INTO water_sections (section, city) VALUES ('S1', '常州'), ('S2', '无锡'), ('S3', NULL)")
    con.execute("INSERT INTO water_samples VALUES ('S1', DATE '2022-12-20', 'do', 7, FALSE, NULL, 11),"
                " ('S1', DATE '2023-01-15', 'do', 6, FALSE, NULL, 12), ('S2', DATE '2023-02-15', 'do', 5, FALSE, NULL, 13)")
    assert read.water_sample_years(con) == [2022, 2023]
    assert read.water_import_ids(con, [(date(2023, 1, 1), date(2023, 12, 31))]) == [12, 13]
    assert read.water_import_ids(con, [(date(2022, 1, 1), date(2022, 12, 31)), (date(2023, 2, 1), date(2023, 2, 28))]) == [11, 13]
    cities = read.water_section_cities(con)
    assert cities["S1"] == "常州" and cities["S2"] == "无锡" and pd.isna(cities["S3"])
    assert read.other_water_cities(con, "常州") == ["无锡"]
    con.execute("UPDATE water_sections SET water_body = 'river' WHERE section = 'S2'")
    assert read.sections_with_water_body(con) == {"S2"}


def test_add_new_stations(tmp_path):
    with Workspace(tmp_path / "ws") as ws:
        assert read.station_codes(ws.con) == set()
        ws.add_new_stations(pd.DataFrame({"code": ["N1"], "name": ["新站"], "city": ["常州"], "district": [None],
                                          "lon": [119.9], "lat": [None], "is_control": [False], "status": [None],
                                          "import_id": [3]}))
        assert read.station_record(ws.con, "N1")["name"] == "新站" and read.station_codes(ws.con) == {"N1"}


def test_offline_devices_at_the_limit_and_in_order(tmp_path):
    """Offline = never seen, or silent strictly longer than max(interval × 2, 60 s) (no interval: the default);
    never seen first, then the longest silent; devices that are not registered are not counted."""
    from datetime import datetime, timedelta

    from qingshan.hj212.devices import Device
    from qingshan.hj212.store import Hj212Store

    wall = datetime(2025, 3, 3, 5, 40)
    with Workspace(tmp_path / "ws") as w:
        Hj212Store(w.con).upsert_devices([
            Device("AT-LIMIT", interval_s=60), Device("PAST-LIMIT", interval_s=60), Device("SHORT", interval_s=10),
            Device("NO-INTERVAL"), Device("NEVER", interval_s=60)], "test")
        for mn, ago in (("AT-LIMIT", 120), ("PAST-LIMIT", 120.5), ("SHORT", 61), ("NO-INTERVAL", 7201)):
            w.con.execute("UPDATE hj212_devices SET last_seen = ? WHERE mn = ?", [wall - timedelta(seconds=ago), mn])
        w.con.execute("INSERT INTO hj212_devices (mn, registered, last_seen) VALUES ('UNREGISTERED', FALSE, NULL)")
        total, rows = read.hj212_offline_devices(w.con, wall, 2.0, 60.0, 3600)
    assert total == 5
    assert [(r["mn"], r["limit_s"], r["silent_s"]) for r in rows] == [
        ("NEVER", 120.0, None), ("NO-INTERVAL", 7200.0, 7201.0), ("PAST-LIMIT", 120.0, 120.5), ("SHORT", 60.0, 61.0)]
