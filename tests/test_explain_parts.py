"""The pure parts of the cause note: geometry, wind, festival dates, fingerprint signs, candidate sources."""

from __future__ import annotations

import math
from datetime import date, datetime

import numpy as np
import pytest

from qingshan.alerts.festivals import festival_dates, festival_night
from qingshan.alerts.fingerprint import is_gradual, moved_together, step_factor, stuck_hours
from qingshan.alerts.neighbours import haversine_km, recent_rise, rise, spatial
from qingshan.alerts.sources import candidate, locate
from qingshan.alerts.wind import (
    compass_degrees,
    in_sector,
    pollution_rose,
    rh_from_dewpoint,
    summarise,
    vector_mean,
)


def test_haversine_and_bearing_geometry() -> None:
    # Beijing Dongsi → Changping: about 32 km to the north-north-west
    d = float(haversine_km(116.417, 39.929, 116.23, 40.217))
    assert 33 < d < 37
    assert in_sector(0.0, 350.0) and in_sector(40.0, 0.0) and not in_sector(50.0, 0.0)
    assert not in_sector(10.0, math.nan)


def test_vector_mean_wraps_around_north() -> None:
    s, d = vector_mean(np.array([2.0, 2.0]), np.array([350.0, 10.0]))
    assert s == 2.0 and (d < 0.5 or d > 359.5)  # an arithmetic mean would say 180° (south)


def test_calm_humid_stagnation_and_no_sector() -> None:
    w = summarise(np.full(6, 0.5), np.array([0, 90, 180, 270, 0, 90.0]), np.full(6, 90.0))
    assert w.calm and w.stagnant and w.sector is None
    w = summarise(np.full(6, 3.0), np.full(6, 315.0), np.full(6, 40.0))
    assert not w.calm and w.sector == (270.0, 0.0)


def test_compass_and_magnus() -> None:
    assert compass_degrees("NNW") == 337.5 and math.isnan(compass_degrees("cv"))
    with pytest.raises(ValueError):
        compass_degrees("X")
    assert rh_from_dewpoint(np.array([20.0]), np.array([20.0]))[0] == pytest.approx(100)
    assert rh_from_dewpoint(np.array([20.0]), np.array([10.0]))[0] == pytest.approx(52.6, abs=0.5)


def test_pollution_rose_cells() -> None:
    rows = pollution_rose(np.array([10, 20, 30, np.nan]), np.array([0.5, 3.0, 3.0, 1.0]), np.array([0, 90, 95, 0.0]))
    assert {(r["sector"], r["speed_lo"]) for r in rows} == {(0.0, 0.0), (90.0, 2.0)}
    east = next(r for r in rows if r["sector"] == 90.0)
    assert east["mean"] == 25.0 and east["hours"] == 2 and east["share"] == pytest.approx(2 / 3, abs=1e-3)


def test_festival_dates_from_the_lunar_calendar() -> None:
    assert festival_dates(2015) == {"除夕": date(2015, 2, 18), "春节": date(2015, 2, 19), "元宵节": date(2015, 3, 5)}
    assert festival_dates(2023)["春节"] == date(2023, 1, 22)
    assert festival_night(datetime(2015, 2, 19, 0)) == "除夕"  # 23:00–24:00 of 除夕
    assert festival_night(datetime(2015, 2, 18, 20)) == "除夕"
    assert festival_night(datetime(2015, 2, 18, 0)) is None
    assert festival_night(datetime(2015, 2, 19, 12)) is None
    assert festival_night(datetime(2015, 3, 5, 21)) == "元宵节"


def test_instrument_signs() -> None:
    assert stuck_hours(np.array([30, 41, 41, 41, 41.0]), 20) == 4
    assert stuck_hours(np.array([3, 3, 3, 3, 3.0]), 20) == 0  # low values repeat by rounding
    s = np.array([30, 32, 29, 31, 30, 120, 121, 120.0])
    f, k = step_factor(s)
    assert f == pytest.approx(4.0, rel=0.05) and k == 5
    assert math.isnan(step_factor(np.array([30, 32, 29, 31, 30, 90, 140, 120.0]))[0])  # a varying rise is no step
    assert math.isnan(step_factor(np.array([90, 95, 92, 91, 30, 30, 30, 30.0]))[0])  # downward (dusk O3) left out
    assert math.isnan(step_factor(np.array([30, 32, 29, 31, 30, 31, 120, 120.0]))[0])  # two flat hours are too few
    # a front: O3 steps up while NO2 falls in the same hour (Beijing 2015-03-28 10:00) — not one faulty analyser
    window = {"o3": s, "no2": np.array([60, 62, 58, 61, 60, 20, 18, 17.0]), "pm25": np.full(8, 40.0)}
    assert moved_together(window, "o3", 5) and not moved_together({"o3": s, "pm25": np.full(8, 40.0)}, "o3", 5)
    assert is_gradual(np.linspace(40, 70, 13)) and not is_gradual(np.r_[np.full(12, 40.0), 70.0])


def test_rises() -> None:
    s = np.array([10, 10, 10, 10, 20, 30, 40.0])  # before level: hours 3–6 back = 10
    assert rise(s) == (30.0, 4.0)
    assert recent_rise(np.r_[np.full(10, 10.0), 40, 40, 40]) == 30.0


def test_a_fresh_rise_is_compared_hour_against_hours_before() -> None:
    # the station fell for hours, then jumped in the last hour (55 against 45 for the 3rd–6th hour before): its
    # 3-hour mean is still below its level of 7–12 hours ago
    station = np.r_[np.full(7, 60.0), 40, 40, 40, 30, 30, 55]
    flat = np.r_[np.full(12, 40.0), 41]
    sp = spatial("pm10", station, [flat], [flat, flat], flat, [])
    assert sp.own_recent == pytest.approx(55 - 45) and sp.share_rising == 0.0 and sp.scope == "local"
    up = np.r_[np.full(12, 40.0), 60]
    assert spatial("pm10", station, [up], [up, up], up, []).scope == "regional"


def test_candidates_only_upwind_and_only_when_rising_or_exceeding() -> None:
    lon, lat = 116.4, 39.9
    pts_lon = np.array([116.4, 116.4, 116.45])
    pts_lat = np.array([39.95, 39.85, 39.9])  # north 5.6 km, south 5.6 km, east 4.3 km
    assert [i for i, _, _ in locate(lon, lat, pts_lon, pts_lat, 0.0, 30)] == [0]  # wind from the north
    assert locate(lon, lat, pts_lon, pts_lat, math.nan, 30) == []
    flat = np.array([30, 31, 30, 29, 30, 31.0])
    assert candidate("outlet", "A", "a", "a21026", "二氧化硫", flat, 3, 0) is None
    over = candidate("outlet", "A", "a", "a21026", "二氧化硫", flat, 3, 0, limit=25.0)
    assert over is not None and over.exceed == pytest.approx(31 / 25)
    up = candidate("dust", "D", "d", "pm10", "PM10", np.array([80, 82, 79, 150, 240, 300.0]), 2, 0)
    assert up is not None and up.rise == pytest.approx(230 / 80.33, rel=1e-3)


def test_station_devices_are_no_outlets_and_humidity_alone_is_no_met_station(tmp_path) -> None:
    """The demo's registry: grid sensors and the met device carry coordinates and a station, outlets carry limits.
    Only outlets are candidate sources (a column of limits holding None must not break the note), and a sensor that
    reports only temperature and humidity is no meteorological station (found on the demo: 'no wind data')."""
    import duckdb

    from qingshan.hj212.devices import Device
    from qingshan.hj212.store import Hj212Store
    from qingshan.store.nearby import located_outlets, met_stations
    from qingshan.store.schema import migrate

    con = duckdb.connect(str(tmp_path / "s.duckdb"))
    migrate(con, "s")
    Hj212Store(con).upsert_devices([
        Device(mn="GRD1", station="G001", st="22", lon=120.0, lat=31.8),
        Device(mn="OUT1", enterprise="甲厂", outlet="DA001", st="31", limits={"a21026": 50.0}, lon=120.1, lat=31.8),
        Device(mn="OUT2", enterprise="乙厂", st="31", lon=120.2, lat=31.8)], "test")
    assert list(located_outlets(con)["mn"]) == ["OUT1", "OUT2"]
    con.execute("INSERT INTO met_hourly (station, hi, ts, temp, rh, import_id) VALUES ('G001', 1, now(), 8, 70, 1)")
    con.execute("INSERT INTO met_hourly (station, hi, ts, wind_speed, wind_dir, import_id) "
                "VALUES ('D001A', 1, now(), 2.0, 300, 1)")
    assert met_stations(con) == ["D001A"]
    from qingshan.alerts.explain import _limits

    assert _limits("None") == {} and _limits(None) == {} and _limits('{"a21026": 50.0}') == {"a21026": 50.0}
