"""Workspaces for the console tests (imported by tests/test_web_*.py; a module of helpers, not a test file).

:func:`build_console_workspace` writes what ``qingshan demo`` would: the synthetic air data of
:mod:`qingshan.synth` for the nine demo stations, January–March 2025, imported through the long-CSV adapter (with
one constructed pollution spike at 城东 so the air alerts have something to find), a few manual water samples
imported from an XLSX, a target file for 示范市 2025 in ``<workspace>/targets/``, and the demo ledger with the
demo users (admin, bureau, zjj = 市住建局, wujin = 武进区; password :data:`PASSWORD`).
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pandas as pd

PASSWORD = "console-test-pw-1"
YEAR = 2025
AS_OF = dt.datetime(2025, 3, 20, 14, 0)  # "now" of the tests: an hour-ending label, Beijing time
LEDGER_TODAY = dt.date(2024, 5, 31)
SPIKE_STATION = "D002A"
SPIKE_HOURS = ("2025-03-20 09:00", "2025-03-20 10:00", "2025-03-20 11:00")
SPIKE_PM25 = 260.0

TARGETS_YAML = """\
schema: qingshan.targets/1
city: 示范市
year: 2025
version: "test-1"
source: 测试用目标文件
targets:
  - id: pm25
    indicator: pm25_mean
    comparison: "≤"
    value: 35
    unit: µg/m³
    source: 测试：PM2.5 不超过 35
  - id: good_ratio
    indicator: good_ratio
    comparison: "≥"
    value: 80.0
    unit: "%"
    source: 测试：优良天数比率不低于 80%
  - id: water_national
    indicator: water_share_ge3
    level: 国考
    comparison: "≥"
    value: 75
    unit: "%"
    source: 测试：国考断面优Ⅲ比例 75%
"""

#: name → (water body, level, target class, nh3n mg/L): the class follows NH3-N (other items stay Ⅰ–Ⅱ)
WATER_SECTIONS = {
    "青河桥": ("river", "国考,省考", "Ⅲ", 0.4),
    "白鹭渡": ("river", "国考", "Ⅲ", 1.2),
    "东湖心": ("lake", "省考", "Ⅲ", 0.3),
    "排涝闸": ("river", "市考", "Ⅳ", 2.5),
}


def _air(folder: Path) -> tuple[Path, Path]:
    from qingshan.synth import DEMO_STATIONS, generate_hourly, to_long_csv

    st = DEMO_STATIONS.copy()
    st["is_control"] = st["is_control"].map({True: "Y", False: "N"})
    stations = folder / "stations.csv"
    st.to_csv(stations, index=False)
    frame = generate_hourly(DEMO_STATIONS, YEAR)
    last = (dt.date(YEAR, 4, 1) - dt.date(1970, 1, 1)).days * 24  # through 03-31 24:00
    long = to_long_csv(frame[frame["hi"] <= last])
    spike = (long["station"] == SPIKE_STATION) & long["time"].isin(SPIKE_HOURS)
    long.loc[spike, "pm25"] = SPIKE_PM25
    hourly = folder / f"hourly_{YEAR}q1.csv"
    long.to_csv(hourly, index=False)
    return stations, hourly


def _water(path: Path) -> None:
    rows, sections = [], []
    for k, (name, (body, level, target, nh3n)) in enumerate(WATER_SECTIONS.items()):
        code = f"SZ{k + 1:02d}"
        sections.append({"断面编码": code, "断面名称": name, "水体类型": {"river": "河流", "lake": "湖库"}[body],
                         "流域": "示范流域", "考核级别": level, "水质目标": target, "区县": "天宁区"})
        for m in (1, 2, 3):
            row = {"断面编码": code, "采样日期": f"{YEAR}-{m:02d}-10", "ph": 7.5, "do": 7.0, "codmn": 3.0,
                   "cod": 12.0, "bod5": 2.5, "nh3n": nh3n, "tp": 0.02 if body == "lake" else 0.08}
            if body == "lake":
                row.update(tn=0.9, chla=8.0, sd=1.0)
            rows.append(row)
    with pd.ExcelWriter(path) as xw:
        pd.DataFrame(rows).to_excel(xw, sheet_name="监测数据", index=False)
        pd.DataFrame(sections).to_excel(xw, sheet_name="断面信息", index=False)


def _ledger(workspace: Path) -> None:
    from qingshan.ledger.db import open_ledger
    from qingshan.ledger.demo import build_demo_ledger
    from qingshan.ledger.rbac import Principal
    from qingshan.ledger.service import LedgerService

    ledger = open_ledger(workspace)
    try:
        with ledger.session() as s:
            build_demo_ledger(s)
            svc = LedgerService(s, Principal.system())
            for name, role, unit in (("admin", "admin", None), ("bureau", "bureau", "常州市生态环境局"),
                                     ("zjj", "department", "市住建局"), ("wujin", "district", "武进区")):
                svc.create_user(name, PASSWORD, role, unit, f"{name} 测试账号")
    finally:
        ledger.dispose()


def build_console_workspace(workspace: Path) -> Path:
    """Fill ``workspace`` as described in the module docstring and return it."""
    from qingshan.ingest import import_files
    from qingshan.ingest.water_samples import import_water_samples
    from qingshan.store.workspace import Workspace

    workspace.mkdir(parents=True, exist_ok=True)
    src = workspace / "inputs"
    src.mkdir(exist_ok=True)
    stations, hourly = _air(src)
    _water(src / "water.xlsx")
    ws = Workspace(workspace)
    try:
        import_files(ws, "stations", [stations])
        import_files(ws, "long", [hourly])
        rep = import_water_samples(ws, src / "water.xlsx")
        assert rep.quarantined == 0
    finally:
        ws.close()
    (workspace / "targets").mkdir(exist_ok=True)
    (workspace / "targets" / "shifan-2025.yaml").write_text(TARGETS_YAML, encoding="utf-8")
    _ledger(workspace)
    return workspace


def constant_hours(station: str, start: dt.date, days: int, values: dict[str, float]) -> list[dict]:
    """Long-CSV rows of one station with constant values for every hour of ``days`` days from ``start``."""
    rows = []
    t0 = dt.datetime(start.year, start.month, start.day, 1)
    for h in range(days * 24):
        t = t0 + dt.timedelta(hours=h)
        rows.append({"station": station, "time": t.strftime("%Y-%m-%d %H:%M"), **values})
    return rows


def cheap_password_hashing():
    """A MonkeyPatch with cheap argon2 parameters (as tests/ledger_fixtures.py does per test); call ``undo()``."""
    import pytest
    from argon2 import PasswordHasher

    from qingshan.ledger import auth

    mp = pytest.MonkeyPatch()
    mp.setattr(auth, "_hasher", PasswordHasher(time_cost=1, memory_cost=1024, parallelism=1))
    return mp


def shared_workspace(base: Path) -> Path:
    """The console workspace under the session's base temporary folder, built once per test run (the console test
    modules use it; each opens it with its own app in turn): a copy of :func:`_master_workspace`."""
    ws = base / "console-ws"
    if (ws / ".built").exists():
        return ws
    return fresh_console_workspace(base, ws)


def fresh_console_workspace(base: Path, dest: Path) -> Path:
    """A private copy of the console workspace at ``dest`` (for a test that writes to it): a file copy of the
    master, not a new build (minutes on a busy machine)."""
    import shutil

    shutil.rmtree(dest, ignore_errors=True)
    shutil.copytree(_master_workspace(base), dest)
    return dest


def _master_workspace(base: Path) -> Path:
    """The workspace every console test copies, built once per run and never opened by a test. Under pytest-xdist
    one worker builds it under a lock in the run's common folder (``base`` is the worker's own)."""
    import fcntl
    import os
    import shutil

    master = (base.parent / "console-ws-shared") if os.environ.get("PYTEST_XDIST_WORKER") else base / "console-ws-master"
    master.parent.mkdir(parents=True, exist_ok=True)
    with open(master.parent / "console-ws-shared.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)  # released when the file closes, also if the worker dies
        if not (master / ".built").exists():
            shutil.rmtree(master, ignore_errors=True)
            build_console_workspace(master)
            (master / ".built").write_text("ok", encoding="utf-8")
    return master


def login_cookie(client, username: str, password: str = PASSWORD) -> str:
    """Sign ``client`` in through the login form; returns the CSRF token of the new session (from a page)."""
    import re

    page = client.get("/login")
    token = re.search(r'name="csrf" value="([0-9a-f]+)"', page.text).group(1)
    r = client.post("/login", data={"username": username, "password": password, "csrf": token, "next": "/"},
                    follow_redirects=False)
    assert r.status_code == 303, r.text
    home = client.get("/ledger")
    return re.search(r'name="csrf" value="([0-9a-f]+)"', home.text).group(1)
