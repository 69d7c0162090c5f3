"""Networks (qingshan.standards.networks): grid micro-sensors and dust monitors are stored, listed and shown but
never enter an official figure — no city or district value, no town ranking, no target, no report figure.

Two workspaces hold the same evaluation, town and control stations with constant January 2025 hours; one also holds
a grid micro-sensor and a construction-site dust monitor reporting absurd PM values (900 and 800 µg/m³) in the
same districts and towns. Every official figure must be identical in both, and equal to the hand-worked values:

* city PM2.5 = mean of the evaluation stations A (国控, 30) and B (省控, 50) = 40 (the town station T (70) and the
  control site C (10) do not count for the city);
* 甲镇 = mean of A (30) and T (70) = 50; 乙镇 = B = 50 (control sites and sensors do not count for a town).
"""

from __future__ import annotations

import datetime as dt

import pandas as pd
import pytest

from qingshan.evaluate.air import evaluate_period, ranked_stations
from qingshan.evaluate.periods import parse_period
from qingshan.standards import networks as nw
from qingshan.store import read

from .web_fixtures import constant_hours

CITY = "测试市"
OTHER = {"so2": 5, "no2": 20, "co": 0.5, "o3": 50, "pm10": 60}
#: code → (name, district, town, network, control, pm25)
OFFICIAL = {
    "A": ("甲一", "甲区", "甲镇", "国控", "N", 30.0),
    "B": ("乙一", "乙区", "乙镇", "省控", "N", 50.0),
    "T": ("甲镇站", "甲区", "甲镇", "乡镇", "N", 70.0),
    "C": ("对照", "甲区", None, "国控", "Y", 10.0),
}
SENSORS = {
    "G1": ("网格一", "甲区", "甲镇", "网格微站", "N", 900.0),
    "S1": ("工地一", "乙区", "乙镇", "工地扬尘", "N", 800.0),
}


def build(path, stations: dict) -> str:
    from qingshan.ingest import import_files
    from qingshan.store.workspace import Workspace

    path.mkdir(parents=True)
    pd.DataFrame([{"code": c, "name": n, "city": CITY, "district": d, "town": t, "network": net, "lon": 120.0,
                   "lat": 31.0, "is_control": ctl} for c, (n, d, t, net, ctl, _) in stations.items()]
                 ).to_csv(path / "stations.csv", index=False)
    rows = []
    for code, (*_, pm25) in stations.items():
        rows += constant_hours(code, dt.date(2025, 1, 1), 31, {**OTHER, "pm25": pm25})
    pd.DataFrame(rows).to_csv(path / "hourly.csv", index=False)
    with Workspace(path) as w:
        import_files(w, "stations", [path / "stations.csv"])
        import_files(w, "long", [path / "hourly.csv"])
    return str(path)


@pytest.fixture(scope="module")
def spaces(tmp_path_factory):
    base = tmp_path_factory.mktemp("networks")
    return build(base / "with", {**OFFICIAL, **SENSORS}), build(base / "without", OFFICIAL)


def open_ro(path: str):
    import duckdb

    return duckdb.connect(f"{path}/measurements.duckdb", read_only=True)


def test_predicates() -> None:
    assert nw.counts_for_city("国控", False) and nw.counts_for_city(None, False) and nw.counts_for_city("市控", None)
    for net in ("乡镇", "网格微站", "工地扬尘", "企业排口"):
        assert not nw.counts_for_city(net, False), net
    assert not nw.counts_for_city("国控", True)
    assert nw.counts_for_town("乡镇", False) and nw.counts_for_town("省控", False)
    assert not nw.counts_for_town("网格微站", False) and not nw.counts_for_town("工地扬尘", False)
    assert not nw.counts_for_town("乡镇", True)
    assert nw.is_reference("国控") and nw.is_reference(None) and not nw.is_reference("乡镇")
    assert not nw.is_reference("网格微站")
    assert nw.network_of("微站") == nw.network_of("grid") == nw.network_of("GRID") == "网格微站"
    assert nw.network_of("扬尘") == "工地扬尘" and nw.network_of("乡镇站") == "乡镇" and nw.network_of("") is None
    frame = pd.DataFrame({"network": ["国控", "乡镇", "网格微站", None, "工地扬尘"],
                          "is_control": [False, False, False, True, None]})
    assert nw.city_mask(frame).tolist() == [True, False, False, False, False]
    assert nw.town_mask(frame).tolist() == [True, True, False, False, False]
    # a name written straight into the store (the demo's HJ 212 networks write 扬尘) is recognised too
    for alias in ("扬尘", "微站", "grid", "乡镇站"):
        assert not nw.counts_for_city(alias, False), alias
    assert not nw.counts_for_town("扬尘", False) and nw.is_reference("国控站")
    assert "扬尘" in nw.names_of(nw.INDICATIVE_NETWORKS) and "网格微站" in nw.names_of(nw.INDICATIVE_NETWORKS)


def official(table: pd.DataFrame) -> pd.DataFrame:
    """The rows of an evaluation that are official figures: every non-station level, and the ranked stations."""
    t = table[(table["level"] != "station") | ranked_stations(table)]
    return t.sort_values(["level", "code"]).reset_index(drop=True)


def test_sensors_change_no_city_district_or_town_value(spaces) -> None:
    with_s, without = spaces
    period = parse_period("2025-01")
    levels = ("station", "city", "district", "town")
    with open_ro(with_s) as a, open_ro(without) as b:
        ra = evaluate_period(a, period, city=CITY, levels=levels).table
        rb = evaluate_period(b, period, city=CITY, levels=levels).table
    # the sensors are evaluated as stations of their own (analysed) …
    assert ra.loc[(ra["level"] == "station") & (ra["code"] == "G1"), "pm25_mean"].item() == 900
    # … but every official row is the same as without them
    pd.testing.assert_frame_equal(official(ra), official(rb))
    assert set(official(ra).query("level == 'station'")["code"]) == {"A", "B", "T"}
    value = ra.set_index(["level", "code"])["pm25_mean"]
    assert value["city", CITY] == 40 and value["town", "甲镇"] == 50 and value["town", "乙镇"] == 50
    assert value["district", "甲区"] == 30 and value["district", "乙区"] == 50


def test_sensors_change_no_target(spaces) -> None:
    from qingshan.targets.evaluate import air_ytd, city_daily_pm25

    with_s, without = spaces
    period = parse_period("2025-01")
    with open_ro(with_s) as a, open_ro(without) as b:
        da, db = city_daily_pm25(a, period, CITY), city_daily_pm25(b, period, CITY)
        assert len(da) == 31 and (da == 40).all() and (da == db).all()
        assert air_ytd(a, CITY, dt.date(2025, 1, 31)) == air_ytd(b, CITY, dt.date(2025, 1, 31))


def blocks(doc) -> list:
    from qingshan.reports.model import Paragraph, Table

    out = []
    for s in doc.sections:
        for b in s.blocks:
            if isinstance(b, Paragraph):
                out.append(b.text)
            elif isinstance(b, Table):
                out.append((b.header, [[c.text for c in r] for r in b.rows]))
    return out


def test_sensors_change_no_report_figure(spaces) -> None:
    from qingshan.reports.bulletin_air import evaluate_year, rows
    from qingshan.reports.monthly import build_monthly

    with_s, without = spaces
    now = dt.datetime(2025, 2, 1, 12)
    with open_ro(with_s) as a, open_ro(without) as b:
        ma, mb = build_monthly(a, CITY, "2025-01", now=now), build_monthly(b, CITY, "2025-01", now=now)
        assert blocks(ma) == blocks(mb)
        assert not any("网格一" in str(x) or "工地一" in str(x) for x in blocks(ma))
        ya, yb = evaluate_year(a, CITY, 2025), evaluate_year(b, CITY, 2025)
        assert set(rows(ya, "station").index) == set(rows(yb, "station").index) == {"A", "B", "T"}


def test_sensors_are_listed_and_their_series_readable(spaces) -> None:
    with_s, _ = spaces
    with open_ro(with_s) as con:
        listed = read.stations_of_city(con, CITY)
        assert list(listed["code"]) == ["A", "B", "T", "G1", "S1", "C"]  # evaluation, town, sensors, control
        assert read.city_station_counts(con) == [(CITY, 2, 6, 6)]
        assert read.station_hours(con, "G1")[2] == 31 * 24
        series = read.station_series(con, "G1", "pm25")
        assert len(series) == 31 * 24 and (series["value"] == 900).all()


def test_enterprise_outlets_are_network_members_from_the_device_registry(tmp_path) -> None:
    from qingshan.hj212.devices import Device
    from qingshan.hj212.store import Hj212Store
    from qingshan.store.workspace import Workspace

    with Workspace(tmp_path / "ws") as w:
        w.con.execute("INSERT INTO stations (code, name, city, network) VALUES ('A', '甲一', '测试市', '国控')")
        assert list(read.network_members(w.con)["code"]) == ["A"]  # no registry yet
        Hj212Store(w.con).upsert_devices([
            Device("MN001", enterprise="某钢铁公司", outlet="DA001", st="31"),
            Device("MN002", station="A", st="22"),  # a station's data logger: the station is the member
        ], "test")
        m = read.network_members(w.con).set_index("code")
        assert list(m.index) == ["A", "MN001"]
        assert m.loc["MN001", "network"] == "企业排口" and m.loc["MN001", "name"] == "某钢铁公司 / DA001"
        assert m.loc["MN001", "source"] == "hj212" and m.loc["A", "source"] == "stations"
        assert not nw.is_official(m.loc["MN001", "network"])
