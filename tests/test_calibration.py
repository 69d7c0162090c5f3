"""Grid-sensor calibration and drift (qingshan.evaluate.calibration, qingshan.evaluate.drift,
qingshan.store.calibration) on synthetic co-location data with known coefficients.

The reference station R1 (国控) reads a smooth daily cycle; sensors around it read a known transform of it plus
small seeded noise, so an ordinary least-squares fit must give the coefficients back; RH comes from a
``met_hourly`` table created here with helper B's DDL.
"""

from __future__ import annotations

import datetime as dt

import numpy as np
import pandas as pd
import pytest

from qingshan.evaluate.calibration import (
    CalibrationError,
    calibrate,
    calibrated_series,
    fit_humidity,
    fit_linear,
    haversine_km,
    nearest_reference,
)
from qingshan.evaluate.drift import drift_flags
from qingshan.store import calibration as store
from qingshan.store.schema import LATEST, applied_versions, stored_version
from qingshan.store.workspace import Workspace

#: helper B's met_hourly (the lead merges its migration; on this branch tests create it)
MET_DDL = """CREATE TABLE IF NOT EXISTS met_hourly (station VARCHAR NOT NULL, hi INTEGER NOT NULL, ts TIMESTAMP NOT NULL,
    temp DOUBLE, rh DOUBLE, pressure DOUBLE, wind_speed DOUBLE, wind_dir DOUBLE, import_id INTEGER)"""

DAY0 = (dt.date(2025, 1, 1) - dt.date(1970, 1, 1)).days
H0 = DAY0 * 24 + 1  # 2025-01-01 01:00
DAYS = 28
HOURS = np.arange(H0, H0 + DAYS * 24)


def reference() -> np.ndarray:
    k = np.arange(len(HOURS))
    return 35 + 15 * np.sin(2 * np.pi * k / 24) + 10 * np.sin(2 * np.pi * k / (24 * 5.3))


def humidity() -> np.ndarray:
    k = np.arange(len(HOURS))
    return 65 + 20 * np.sin(2 * np.pi * (k + 7) / 24) + 5 * np.cos(2 * np.pi * k / (24 * 3.1))


def noise(seed: int, scale: float = 0.5) -> np.ndarray:
    return np.random.default_rng(seed).normal(0, scale, len(HOURS))


def add_station(con, code: str, network: str, lon: float, lat: float) -> None:
    con.execute("INSERT INTO stations (code, name, city, district, lon, lat, is_control, network) "
                "VALUES (?, ?, '测试市', '甲区', ?, ?, FALSE, ?)", [code, f"站{code}", lon, lat, network])


def add_hours(con, code: str, values: np.ndarray, hours: np.ndarray = HOURS) -> None:
    frame = pd.DataFrame({"station": code, "hi": hours.astype(int), "pm25": values})
    frame["ts"] = pd.Timestamp("1970-01-01") + pd.to_timedelta(frame["hi"], unit="h")
    con.register("_h", frame)
    con.execute("INSERT INTO air_hourly (station, hi, ts, pm25, import_id) SELECT station, hi, ts, pm25, 1 FROM _h")
    con.unregister("_h")


def add_met(con, code: str, rh: np.ndarray) -> None:
    con.execute(MET_DDL)
    frame = pd.DataFrame({"station": code, "hi": HOURS.astype(int), "rh": rh})
    frame["ts"] = pd.Timestamp("1970-01-01") + pd.to_timedelta(frame["hi"], unit="h")
    con.register("_m", frame)
    con.execute("INSERT INTO met_hourly (station, hi, ts, rh, import_id) SELECT station, hi, ts, rh, 1 FROM _m")
    con.unregister("_m")


@pytest.fixture
def ws(tmp_path):
    w = Workspace(tmp_path / "ws")
    add_station(w.con, "R1", "国控", 120.000, 31.000)
    add_hours(w.con, "R1", reference())
    yield w
    w.close()


def test_migration_4_creates_the_versioned_table(ws) -> None:
    assert stored_version(ws.con) == LATEST and 4 in applied_versions(ws.con)
    assert store.calibrations(ws.con).empty


def test_haversine_and_nearest_reference(ws) -> None:
    # one degree of latitude ≈ 111.2 km; 0.01° of longitude at 31° N ≈ 0.953 km
    assert haversine_km(120, 30, 120, 31) == pytest.approx(111.19, abs=0.01)
    assert haversine_km(120, 31, 120.01, 31) == pytest.approx(0.953, abs=0.002)
    add_station(ws.con, "R2", "省控", 120.300, 31.000)
    add_station(ws.con, "T1", "乡镇", 120.005, 31.000)  # nearer, but a town station is no reference
    add_station(ws.con, "G1", "网格微站", 120.010, 31.000)
    add_station(ws.con, "G2", "网格微站", 120.290, 31.000)
    near = nearest_reference(ws.con).set_index("code")
    assert near.loc["G1", "reference"] == "R1" and near.loc["G1", "distance_km"] == pytest.approx(0.953, abs=0.002)
    assert near.loc["G2", "reference"] == "R2"


def test_linear_fit_recovers_known_coefficients(ws) -> None:
    ref = reference()
    a, b = 0.8, -3.0
    raw = (ref - b) / a + noise(1)
    fit = fit_linear(raw, ref)
    assert fit.coefficients["a"] == pytest.approx(a, abs=0.01) and fit.coefficients["b"] == pytest.approx(b, abs=0.4)
    assert fit.r2 > 0.99 and fit.n == len(HOURS)
    # through the store: the stored version 1 carries the same numbers
    add_station(ws.con, "G1", "网格微站", 120.010, 31.000)
    add_hours(ws.con, "G1", raw)
    (o,) = calibrate(ws.con, model="linear")
    assert (o.sensor, o.version, o.status, o.reference) == ("G1", 1, "accepted", "R1")
    row = store.calibrations(ws.con, "G1").iloc[0]
    assert row["coefficients"]["a"] == pytest.approx(a, abs=0.01) and row["n"] == len(HOURS) and row["active"]
    assert row["fit_from_hi"] == H0 and row["fit_to_hi"] == HOURS[-1] and row["r2"] > 0.99
    series = calibrated_series(ws.con, "G1")
    assert np.abs(series["calibrated"] - ref).max() < 2.0 and (series["raw"] == raw).all()  # raw stays raw


def test_humidity_fit_recovers_known_coefficients_and_needs_rh(ws) -> None:
    ref, rh = reference(), humidity()
    a, b, c = 0.524, -0.0862, 5.75  # the form and the size of Barkjohn et al. (2021)
    raw = (ref - b * rh - c) / a + noise(2)
    fit = fit_humidity(raw, rh, ref)
    assert fit.coefficients["a"] == pytest.approx(a, abs=0.01)
    assert fit.coefficients["b"] == pytest.approx(b, abs=0.02) and fit.coefficients["c"] == pytest.approx(c, abs=1.5)
    # a linear fit cannot absorb the humidity effect: its error is larger
    assert fit_linear(raw, ref).rmse > 1.5 * fit.rmse
    add_station(ws.con, "G1", "网格微站", 120.010, 31.000)
    add_hours(ws.con, "G1", raw)
    with pytest.raises(CalibrationError, match="只能使用 linear"):
        calibrate(ws.con, model="humidity")
    add_met(ws.con, "R1", rh)
    (o,) = calibrate(ws.con, model="humidity")
    assert o.status == "accepted" and o.fit.coefficients["a"] == pytest.approx(a, abs=0.01)
    assert store.calibrations(ws.con, "G1").iloc[0]["met_station"] == "R1"
    series = calibrated_series(ws.con, "G1")
    assert np.abs(series["calibrated"] - ref).max() < 2.5


def test_quality_gates_refuse_with_reason(ws) -> None:
    ref = reference()
    add_station(ws.con, "GS", "网格微站", 120.010, 31.000)  # too few hours
    add_hours(ws.con, "GS", ref[:100] / 0.8, HOURS[:100])
    add_station(ws.con, "GN", "网格微站", 120.000, 31.010)  # noise, no relation to the reference
    add_hours(ws.con, "GN", np.random.default_rng(3).uniform(5, 80, len(HOURS)))
    add_station(ws.con, "GF", "网格微站", 120.500, 31.000)  # 47.7 km away
    add_hours(ws.con, "GF", ref / 0.8)
    got = {o.sensor: o for o in calibrate(ws.con)}
    assert all(o.status == "refused" for o in got.values())
    assert "少于 168" in got["GS"].reason and "R²" in got["GN"].reason and "超过 10 km" in got["GF"].reason
    assert store.calibrations(ws.con, accepted_only=True).empty
    assert calibrated_series(ws.con, "GN")["calibrated"].isna().all()


def test_versions_are_added_and_each_hour_uses_its_own(ws) -> None:
    ref = reference()
    half = 14 * 24
    raw = np.concatenate([(ref[:half] + 3.0) / 0.8, (ref[half:] - 2.0) / 0.5]) + noise(4, 0.2)
    add_station(ws.con, "G1", "网格微站", 120.010, 31.000)
    add_hours(ws.con, "G1", raw)
    (v1,) = calibrate(ws.con, last_hi=int(HOURS[half - 1]))
    (v2,) = calibrate(ws.con, first_hi=int(HOURS[half]))
    assert (v1.version, v2.version) == (1, 2)
    rows = store.calibrations(ws.con, "G1").set_index("version")
    assert rows.loc[1, "coefficients"]["a"] == pytest.approx(0.8, abs=0.01)  # version 1 is kept as it was
    assert rows.loc[2, "coefficients"]["a"] == pytest.approx(0.5, abs=0.01)
    assert not rows.loc[1, "active"] and rows.loc[2, "active"]
    assert rows.loc[2, "valid_from_hi"] == HOURS[half]
    s = calibrated_series(ws.con, "G1").set_index("hi")
    before, after = int(HOURS[half - 10]), int(HOURS[half + 10])
    assert s.loc[before, "version"] == 1 and s.loc[after, "version"] == 2
    assert s.loc[before, "calibrated"] == pytest.approx(ref[half - 10], abs=1.0)
    assert s.loc[after, "calibrated"] == pytest.approx(ref[half + 10], abs=1.0)
    assert np.abs(s["calibrated"].to_numpy() - ref).max() < 1.5  # either version alone would miss half the hours
    # a refused refit adds a version but does not move the active one
    (v3,) = calibrate(ws.con, first_hi=int(HOURS[-10]))
    assert (v3.version, v3.status) == (3, "refused")
    assert list(store.calibrations(ws.con, "G1")["active"]) == [False, True, False]


def test_a_drifting_sensor_is_flagged_and_a_good_one_is_not(ws) -> None:
    ref = reference()
    drift_from = 20 * 24  # day 21 of 28
    for k, (code, lon, lat) in enumerate((("G1", 120.01, 31.0), ("G2", 120.0, 31.01), ("G3", 120.01, 31.01),
                                          ("GD", 120.005, 31.005))):
        add_station(ws.con, code, "网格微站", lon, lat)
        raw = ref / 0.8 + noise(10 + k)
        if code == "GD":
            raw[drift_from:] += 25.0  # 20 µg/m³ after calibration: well beyond 10 and 30 % of ~35
        add_hours(ws.con, code, raw)
    calibrate(ws.con, last_hi=int(HOURS[14 * 24 - 1]))  # co-location over the first two weeks
    checks = {c.sensor: c for c in drift_flags(ws.con, since=int(HOURS[14 * 24]))}
    assert set(checks) == {"G1", "G2", "G3", "GD"}
    assert checks["GD"].flagged and not any(checks[c].flagged for c in ("G1", "G2", "G3"))
    gd = checks["GD"]
    assert gd.first_hi >= HOURS[drift_from] and gd.median_diff > 10 and set(gd.neighbours) == {"R1", "G1", "G2", "G3"}
    assert gd.first_hi <= HOURS[drift_from] + 72  # found within the window
    assert abs(checks["G1"].max_abs_median_diff) < 3
    # before the drift started nothing is flagged
    early = drift_flags(ws.con, since=int(HOURS[14 * 24]))
    assert early  # same call is repeatable
    ws.con.execute("DELETE FROM air_hourly WHERE hi >= ?", [int(HOURS[drift_from])])
    assert not any(c.flagged for c in drift_flags(ws.con, since=int(HOURS[14 * 24])))
