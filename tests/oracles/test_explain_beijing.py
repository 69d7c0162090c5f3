"""Oracle: the cause note on real Beijing data (../shared/data/beijing_multisite_uci_prsa, 12 national stations
with meteorology from the nearest CMA station; coordinates and control-site flags from the CNEMC station list in
../shared/data/cnemc_station_list_quotsoft_2022-02-13, matched by the mapping in the data's PROVENANCE.md).

Two documented episodes (docs/alerts.md "Real data"):

* the Spring Festival night 2015 (除夕 2015-02-18): fireworks from 19:00, PM2.5 at 东四 403 µg/m³ at 01:00 with SO2
  121 µg/m³ — the note must name fireworks first at 00:00, 01:00 and 02:00 of 2015-02-19;
* the dust storm of 2015-04-15 evening (NNW wind 3–6 m/s, PM10 above 600 µg/m³ with PM2.5 below 90 at 东四) and the
  one of 2015-03-28 (NW wind up to 7 m/s, PM10 402–762 µg/m³): the note must name dust first.

Hours: the data's hour 0–23 is taken as the store's hour label (end of the hour, Beijing time) unchanged. CO is
divided by 1000 (µg/m³ → mg/m³); RH from TEMP and DEWP by the Magnus formula; wd from the 16-point compass.
The notes are printed with ``-s``.
"""

from __future__ import annotations

from collections import Counter
from datetime import datetime

import numpy as np
import pandas as pd
import pytest

from qingshan.alerts.explain import explain, hour_index
from qingshan.alerts.wind import compass_degrees, rh_from_dewpoint

from ..conftest import SHARED_DATA, STATION_LIST, need
from ..explain_fixtures import empty_store, load_frames

BEIJING = SHARED_DATA / "beijing_multisite_uci_prsa"
#: PROVENANCE.md's mapping of the UCI site names to CNEMC codes
CODES = {"Aotizhongxin": "1011A", "Changping": "1010A", "Dingling": "1002A", "Dongsi": "1003A", "Guanyuan": "1006A",
         "Gucheng": "1012A", "Huairou": "1009A", "Nongzhanguan": "1005A", "Shunyi": "1008A", "Tiantan": "1004A",
         "Wanliu": "1007A", "Wanshouxigong": "1001A"}
FIRST, LAST = datetime(2015, 1, 1), datetime(2015, 4, 30, 23)
FESTIVAL_HOURS = [datetime(2015, 2, 19, h) for h in (0, 1, 2)]
DUST_HOURS = [datetime(2015, 4, 15, h) for h in (21, 22, 23)] + [datetime(2015, 3, 28, h) for h in (10, 15)]


@pytest.fixture(scope="module")
def store():
    need(BEIJING)
    need(STATION_LIST)
    listed = pd.read_csv(next(STATION_LIST.glob("*.csv"))).drop_duplicates("监测点编码").set_index("监测点编码")
    stations = pd.DataFrame([{"code": c, "name": listed.loc[c, "监测点名称"], "city": "北京", "district": None,
                              "lon": float(listed.loc[c, "经度"]), "lat": float(listed.loc[c, "纬度"]),
                              "is_control": listed.loc[c, "对照点"] == "Y", "network": "国控"} for c in CODES.values()])
    air, met = [], []
    for site, code in CODES.items():
        d = pd.read_csv(next(BEIJING.glob(f"PRSA_Data_{site}_*.csv")), low_memory=False,
                        na_values=["NA"], dtype={"wd": str})
        t = pd.to_datetime(d[["year", "month", "day", "hour"]])
        d = d[(t >= FIRST) & (t <= LAST)].copy()
        hi = ((pd.to_datetime(d[["year", "month", "day", "hour"]]) - datetime(1970, 1, 1)) // pd.Timedelta(hours=1))
        num = {c: pd.to_numeric(d[c], errors="coerce").to_numpy(float) for c in
               ("PM2.5", "PM10", "SO2", "NO2", "CO", "O3", "TEMP", "DEWP", "PRES", "WSPM")}
        air.append(pd.DataFrame({"station": code, "hi": hi.to_numpy(), "so2": num["SO2"], "no2": num["NO2"],
                                 "co": num["CO"] / 1000, "o3": num["O3"], "pm10": num["PM10"], "pm25": num["PM2.5"]}))
        wd = np.array([np.nan if not isinstance(x, str) else compass_degrees(x) for x in d["wd"]])
        met.append(pd.DataFrame({"station": code, "hi": hi.to_numpy(), "temp": num["TEMP"],
                                 "rh": rh_from_dewpoint(num["TEMP"], num["DEWP"]), "pressure": num["PRES"],
                                 "wind_speed": num["WSPM"], "wind_dir": wd}))
    con = empty_store()
    load_frames(con, stations, pd.concat(air, ignore_index=True), pd.concat(met, ignore_index=True))
    yield con
    con.close()


def notes_at(store, hours: list[datetime]) -> list:
    out = []
    for t in hours:
        for code in CODES.values():
            try:
                out.append(explain(store, code, t))
            except ValueError:  # the station has no values at that hour
                continue
    return out


def test_spring_festival_night_is_fireworks(store) -> None:
    notes = notes_at(store, FESTIVAL_HOURS)
    for n in notes:
        if n.station == "1003A":
            print("\n" + n.paragraph)
    firsts = Counter(n.first for n in notes)
    print("除夕夜 12 站 × 3 小时首位原因：", dict(firsts))
    for n in notes:
        if n.first != "fireworks":
            print("非烟花：", n.station, n.at, [(s.cause, round(s.score, 2)) for s in n.causes][:3],
                  [r["value"] for r in n.evidence if r["item"].startswith(("SO₂", "PM₂.₅", "CO"))])
    assert all(n.first == "fireworks" for n in notes if n.station == "1003A")
    assert firsts["fireworks"] / len(notes) >= 0.8, firsts
    assert hour_index(FESTIVAL_HOURS[0]) % 24 == 0


def test_spring_dust_storm_is_dust(store) -> None:
    notes = notes_at(store, DUST_HOURS)
    for n in notes:
        if n.station == "1003A":
            print("\n" + n.paragraph)
    firsts = Counter(n.first for n in notes)
    print("沙尘 12 站 × 5 小时首位原因：", dict(firsts))
    for n in notes:
        if n.first != "dust":
            print("非扬尘：", n.station, n.at, [(s.cause, round(s.score, 2)) for s in n.causes], n.missing)
    assert all(n.first == "dust" for n in notes if n.station == "1003A")
    assert firsts["dust"] / len(notes) >= 0.8, firsts
