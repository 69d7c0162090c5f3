"""Grid micro-sensors through the REST API (``/api/v1/grid``) and the command line (``qingshan grid``).

The workspace holds one reference station R1 (国控) with a daily cycle and two grid sensors reading
``ref / 0.8`` (G1, 1 km away) and ``ref / 0.8`` with an absurd offset (G2, 2 km away); the demo ledger gives the
users of tests/web_fixtures.py (admin, bureau, zjj = department, wujin = district) with their units only.
"""

from __future__ import annotations

import json

import numpy as np
import pytest
from fastapi.testclient import TestClient
from typer.testing import CliRunner

from qingshan.cli import app as cli_app
from qingshan.store.workspace import Workspace
from qingshan.web.app import create_console_app

from .test_calibration import HOURS, add_hours, add_station, reference
from .web_fixtures import PASSWORD, cheap_password_hashing

API = "/api/v1"


def users(workspace) -> None:
    """The four console test users and their units (no demo records: the grid API needs only the roles)."""
    from qingshan.ledger.db import open_ledger
    from qingshan.ledger.rbac import Principal
    from qingshan.ledger.service import LedgerService

    ledger = open_ledger(workspace)
    try:
        with ledger.session() as s:
            svc = LedgerService(s, Principal.system())
            svc.create_unit("B", "常州市生态环境局", "bureau")
            svc.create_unit("D1", "市住建局", "department")
            svc.create_unit("X1", "武进区", "district")
            for name, role, unit in (("admin", "admin", None), ("bureau", "bureau", "常州市生态环境局"),
                                     ("zjj", "department", "市住建局"), ("wujin", "district", "武进区")):
                svc.create_user(name, PASSWORD, role, unit, f"{name} 测试账号")
    finally:
        ledger.dispose()


@pytest.fixture(scope="module")
def workspace(tmp_path_factory):
    mp = cheap_password_hashing()
    path = tmp_path_factory.mktemp("grid") / "ws"
    with Workspace(path) as w:
        add_station(w.con, "R1", "国控", 120.000, 31.000)
        add_station(w.con, "G1", "网格微站", 120.010, 31.000)
        add_station(w.con, "G2", "网格微站", 120.000, 31.018)
        ref = reference()
        add_hours(w.con, "R1", ref)
        add_hours(w.con, "G1", ref / 0.8)
        add_hours(w.con, "G2", ref / 0.8 + 400)
    users(path)
    yield path
    mp.undo()


@pytest.fixture(scope="module")
def client(workspace):
    application = create_console_app(workspace, warm=False)
    with TestClient(application) as c:
        yield c


def bearer(client, username: str) -> dict[str, str]:
    r = client.post(f"{API}/auth/token", data={"username": username, "password": PASSWORD})
    assert r.status_code == 200, r.text
    return {"Authorization": f"Bearer {r.json()['access_token']}"}


def test_sensor_list_and_exclusion_from_the_city(client) -> None:
    r = client.get(f"{API}/grid/sensors")
    assert r.status_code == 200, r.text
    rows = {s["code"]: s for s in r.json()["sensors"]}
    assert set(rows) == {"G1", "G2"}
    assert rows["G1"]["network"] == "网格微站" and rows["G1"]["reference"] == "R1"
    assert rows["G1"]["distance_km"] == pytest.approx(0.953, abs=0.002) and rows["G1"]["calibration"] is None
    # shown among the stations, but not averaged into the city
    stations = {s["code"]: s for s in client.get(f"{API}/air/stations").json()["stations"]}
    assert stations["R1"]["in_city_mean"] and stations["R1"]["group"] == "city"
    assert not stations["G2"]["in_city_mean"] and stations["G2"]["group"] == "sensor"
    city = client.get(f"{API}/air/stations").json()["city_now"]
    assert city["values"]["pm25"] == pytest.approx(round(float(reference()[-1])), abs=0.5)  # R1 alone, not G2's +400


def test_only_bureau_roles_may_calibrate(client) -> None:
    url = f"{API}/grid/calibrations"
    assert client.post(url, json={}).status_code == 401
    for user in ("zjj", "wujin"):
        r = client.post(url, json={}, headers=bearer(client, user))
        assert r.status_code == 403 and "生态环境局" in r.json()["detail"], r.text
    r = client.post(url, json={"model": "linear", "sensors": ["G1"], "from": "2025-01-01", "to": "2025-01-14"},
                    headers=bearer(client, "bureau"))
    assert r.status_code == 200, r.text
    (cal,) = r.json()["calibrations"]
    assert (cal["sensor"], cal["version"], cal["status"], cal["reference"]) == ("G1", 1, "accepted", "R1")
    assert cal["coefficients"]["a"] == pytest.approx(0.8, abs=1e-6) and cal["created_by"] == "bureau 测试账号"
    assert cal["fit_from_hi"] == HOURS[0] and cal["fit_to_hi"] == HOURS[14 * 24 - 1]
    r = client.post(url, json={"sensors": ["G1"]}, headers=bearer(client, "admin"))
    assert r.json()["calibrations"][0]["version"] == 2
    bad = client.post(url, json={"model": "humidity"}, headers=bearer(client, "bureau"))
    assert bad.status_code == 422 and "只能使用 linear" in bad.text
    unknown = client.post(url, json={"sensors": ["R1"]}, headers=bearer(client, "bureau"))
    assert unknown.status_code == 422 and "不是网格微站" in unknown.text
    rows = {s["code"]: s for s in client.get(f"{API}/grid/sensors").json()["sensors"]}
    assert rows["G1"]["calibration"]["version"] == 2 and rows["G1"]["calibration"]["active"]
    assert rows["G2"]["calibration"] is None


def test_series_raw_and_calibrated(client) -> None:
    client.post(f"{API}/grid/calibrations", json={"sensors": ["G1"]}, headers=bearer(client, "bureau"))
    url = f"{API}/grid/sensors/G1/series"
    raw = client.get(url, params={"start": "2025-01-10", "end": "2025-01-10"}).json()
    assert len(raw["hours"]) == 24 and "calibrated" not in raw["hours"][0]
    cal = client.get(url, params={"start": "2025-01-10", "end": "2025-01-10", "calibrated": "true"}).json()
    ref = reference()[9 * 24: 10 * 24]
    got = np.array([h["calibrated"] for h in cal["hours"]])
    assert np.abs(got - ref).max() <= 0.06 and all(h["version"] >= 1 for h in cal["hours"])
    assert [h["raw"] for h in cal["hours"]] == [h["raw"] for h in raw["hours"]]
    assert client.get(f"{API}/grid/sensors/R1/series").status_code == 404
    assert client.get(url, params={"start": "2025-13-01"}).status_code == 422


def run(workspace, *args: str):
    return CliRunner().invoke(cli_app, ["--workspace", str(workspace), "grid", *args])


def test_command_line(tmp_path) -> None:
    path = tmp_path / "ws"
    with Workspace(path) as w:
        add_station(w.con, "R1", "国控", 120.000, 31.000)
        add_station(w.con, "G1", "网格微站", 120.010, 31.000)
        add_hours(w.con, "R1", reference())
        add_hours(w.con, "G1", reference() / 0.8)
    res = run(path, "calibrate", "--from", "2025-01-01", "--to", "2025-01-14")
    assert res.exit_code == 0, res.output
    assert "通过 1 个" in res.output and "a=0.8" in res.output
    res = run(path, "list", "--json")
    assert res.exit_code == 0, res.output
    (row,) = json.loads(res.output)
    assert row["calibration"]["version"] == 1 and row["reference"] == "R1"
    res = run(path, "drift", "--json")
    assert res.exit_code == 0 and json.loads(res.output)[0]["flagged"] is False
    bad = run(path, "calibrate", "--model", "humidity")
    assert bad.exit_code == 2 and "只能使用 linear" in bad.output
    assert run(path, "calibrate", "--from", "2025-02-30").exit_code == 2
