"""Seeded, generated data of the demo's HJ 212 networks: city meteorology, grid micro-sensors (网格化监测微站),
construction-site dust monitors (工地扬尘) and enterprise outlets (企业排口).

Generated, not real (docs/demo.md "HJ 212 networks"). Everything is derived from the demo's station table and
its generated hourly air data, so that the networks are plausible against the stations:

* **meteorology** of the city (one station's device, the city monitoring station): temperature with a seasonal and
  a diurnal cycle, relative humidity falling as temperature rises, pressure higher in winter, wind from the
  prevailing sector of the season (NW/NE in winter, SE in summer at the Yangtze delta) whose speed drops when the
  city's PM2.5 is high — stagnation and pollution go together;
* **grid sensors**: the true PM2.5/PM10/NO2/O3 near the sensor (the nearest station's value × a local factor, some
  sensors beside a hotspot) read through a low-cost sensor's bias — a gain and offset per sensor and the
  hygroscopic over-reading of optical counters at high humidity, which is what calibration against a reference
  station has to remove; one sensor drifts upward over its last ten days and one stops reporting five hours before
  the end of the data;
* **dust monitors**: PM10/PM2.5/TSP with working-hours construction dust (08–18 h) that rises with wind speed;
* **enterprise outlets**: flue-gas SO2, NOx and particulate (ST=31) with O2, temperature and flow, converted to
  the reference oxygen content, under their emission limits except for a few documented exceedance episodes.

:func:`hourly_packets` turns a device's hourly table into HJ 212-2017 CN 2061 packets (DataTime = start of the
hour, one packet per device-hour) for the demo to send through the receiver.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import datetime, timedelta

import numpy as np
import pandas as pd

from .hj212.codec import build, parse
from .hj212.codec import frame as frame_packet
from .standards.networks import DUST_NETWORK, GRID_NETWORK, TOWN_NETWORK

EPOCH = datetime(1970, 1, 1)
PASSWORD = "123456"
FLAG = 5  # HJ 212-2017 (V=1) with an answer requested (A=1)

MET_FACTORS = {"temp": "a01001", "rh": "a01002", "pressure": "a01006", "wind_speed": "a01007", "wind_dir": "a01008"}
AIR_FACTORS = {"so2": "a21026", "no2": "a21004", "co": "a21005", "o3": "a05024", "pm10": "a34002",
               "pm25": "a34004", "tsp": "a34001"}
OUTLET_FACTORS = {"so2": "a21026", "nox": "a21002", "dust": "a34013", "o2": "a19001", "temp": "a01012",
                  "flow": "a00000"}
#: GB 13223-2011 special emission limits for coal-fired boilers in key regions, mg/m³ at 6 % O2
OUTLET_LIMITS = {"a21026": 50.0, "a21002": 100.0, "a34013": 20.0}
REFERENCE_O2 = 6.0


@dataclass(frozen=True)
class DemoDevice:
    """One generated data logger: its registry entry and where it stands."""

    mn: str
    kind: str  # met | grid | dust | outlet
    st: str  # HJ 212 system code: 22 ambient air, 31 flue gas
    name: str
    lon: float
    lat: float
    station: str | None = None  # measurement-store station code (quality devices)
    network: str | None = None
    district: str | None = None
    enterprise: str | None = None
    outlet: str | None = None
    factors: tuple[str, ...] = ()
    limits: dict[str, float] = field(default_factory=dict)


def _mn(prefix: str, i: int) -> str:
    return f"3204{prefix}{i:06d}"


def demo_devices(stations: pd.DataFrame, n_grid: int = 40, n_dust: int = 6, n_outlets: int = 10,
                 seed: int = 2023) -> list[DemoDevice]:
    """The demo's devices: a met device at the first evaluation station, grid sensors and dust monitors scattered
    over the evaluation stations' area, outlets in the industrial districts."""
    rng = np.random.default_rng(seed)
    ev = stations[~stations["is_control"] & (stations["network"] != TOWN_NETWORK)]
    lon0, lon1 = float(ev["lon"].min()) - 0.04, float(ev["lon"].max()) + 0.04
    lat0, lat1 = float(ev["lat"].min()) - 0.04, float(ev["lat"].max()) + 0.04
    first = ev.iloc[0]
    out = [DemoDevice(_mn("MET", 1), "met", "22", f"{first['name']}气象", float(first["lon"]), float(first["lat"]),
                      station=str(first["code"]), network=str(first["network"]), district=str(first["district"]),
                      factors=tuple(MET_FACTORS.values()))]
    districts = sorted(set(ev["district"]))
    for i in range(1, n_grid + 1):
        lon, lat = rng.uniform(lon0, lon1), rng.uniform(lat0, lat1)
        out.append(DemoDevice(_mn("GRD", i), "grid", "22", f"网格微站{i:03d}", round(lon, 4), round(lat, 4),
                              station=f"G{i:03d}", network=GRID_NETWORK, district=districts[i % len(districts)],
                              factors=("a34004", "a34002", "a21004", "a05024", "a01001", "a01002")))
    for i in range(1, n_dust + 1):
        lon, lat = rng.uniform(lon0, lon1), rng.uniform(lat0, lat1)
        out.append(DemoDevice(_mn("DST", i), "dust", "22", f"建筑工地{i}号扬尘监测", round(lon, 4), round(lat, 4),
                              station=f"Y{i:03d}", network=DUST_NETWORK, district=districts[i % len(districts)],
                              factors=("a34002", "a34004", "a34001", "a01007", "a01008")))
    industrial = ev[ev["name"].str.contains("开发区|高新区")]
    anchors = industrial if len(industrial) else ev
    for i in range(1, n_outlets + 1):
        a = anchors.iloc[i % len(anchors)]
        lon, lat = float(a["lon"]) + rng.normal(0, 0.025), float(a["lat"]) + rng.normal(0, 0.025)
        out.append(DemoDevice(_mn("OUT", i), "outlet", "31", f"示范企业{i:02d} 1号排口", round(lon, 4), round(lat, 4),
                              district=str(a["district"]), enterprise=f"示范企业{i:02d}", outlet="DA001",
                              factors=tuple(OUTLET_FACTORS.values()), limits=dict(OUTLET_LIMITS)))
    return out


def registry_frame(devices: list[DemoDevice]) -> pd.DataFrame:
    """The device registry file (docs/hj212.md "device registry") of ``devices``, with coordinates."""
    return pd.DataFrame({
        "mn": [d.mn for d in devices], "password": PASSWORD, "name": [d.name for d in devices],
        "enterprise": [d.enterprise or "" for d in devices], "outlet": [d.outlet or "" for d in devices],
        "station": [d.station or "" for d in devices], "st": [d.st for d in devices],
        "factors": [";".join(d.factors) for d in devices], "interval": 3600,
        "limits": [";".join(f"{k}={v:g}" for k, v in d.limits.items()) for d in devices],
        "lon": [d.lon for d in devices], "lat": [d.lat for d in devices],
    })


def station_frame(devices: list[DemoDevice], city: str) -> pd.DataFrame:
    """Station-list rows (the stations import) for the quality devices that are stations of their own: grid
    sensors and dust monitors, with their network."""
    own = [d for d in devices if d.kind in ("grid", "dust")]
    return pd.DataFrame({
        "code": [d.station for d in own], "name": [d.name for d in own], "city": city,
        "district": [d.district for d in own], "lon": [d.lon for d in own], "lat": [d.lat for d in own],
        "is_control": "N", "town": "", "network": [d.network for d in own],
    })


def _hour_of_day(hi: np.ndarray) -> np.ndarray:
    return (hi - 1) % 24 + 1


def _season(hi: np.ndarray) -> np.ndarray:
    """+1 in mid-January, −1 in mid-July."""
    days = (hi - 1) // 24
    return np.cos(2 * np.pi * ((days % 365.25) / 365.25 - 0.04))


def city_mean(air: pd.DataFrame, stations: pd.DataFrame, column: str = "pm25") -> pd.Series:
    """Mean over the evaluation stations of ``column`` per hour (``air``: station, hi, pollutant columns)."""
    ev = stations.loc[~stations["is_control"] & (stations["network"] != TOWN_NETWORK), "code"]
    return air[air["station"].isin(ev)].groupby("hi")[column].mean()


def met_hourly(hours: np.ndarray, pm25_city: pd.Series, seed: int = 2023) -> pd.DataFrame:
    """Hourly temp (°C), rh (%), pressure (kPa, as HJ 212 sends it), wind_speed (m/s), wind_dir (° from north,
    where the wind comes from) for ``hours``; the wind weakens when the city's PM2.5 is high."""
    rng = np.random.default_rng(seed)
    n = len(hours)
    hod, season = _hour_of_day(hours), _season(hours)
    diurnal = np.sin(2 * np.pi * (hod - 9) / 24)  # warmest mid-afternoon
    weather = np.convolve(rng.normal(0, 1, n + 71), np.ones(72) / np.sqrt(72), mode="valid")[:n]
    temp = 17 - 12 * season + 4 * diurnal + 2.5 * weather + rng.normal(0, 0.6, n)
    rh = np.clip(72 - 14 * diurnal - 6 * weather + rng.normal(0, 5, n), 18, 99)
    pressure = 101.6 + 1.2 * season - 0.4 * weather + rng.normal(0, 0.05, n)
    pm = pm25_city.reindex(hours).interpolate(limit_direction="both").to_numpy(dtype=float)
    logpm = np.log(np.clip(pm, 1, None))
    z = (logpm - np.nanmean(logpm)) / (np.nanstd(logpm) or 1)
    speed = np.clip(2.4 * np.exp(-0.35 * z) * (1 + 0.35 * np.sin(2 * np.pi * (hod - 10) / 24))
                    * np.exp(rng.normal(0, 0.25, n)), 0.1, 14)
    prevailing = np.where(season > 0, 330.0, 135.0)  # winter monsoon NW, summer monsoon SE
    wander = np.cumsum(rng.normal(0, 8, n))
    wander -= np.convolve(wander, np.ones(49) / 49, mode="same")  # keep the wander around the prevailing sector
    direction = (prevailing + 0.6 * wander + rng.normal(0, 20, n)) % 360
    return pd.DataFrame({"hi": hours, "temp": temp.round(1), "rh": rh.round(0), "pressure": pressure.round(2),
                         "wind_speed": speed.round(1), "wind_dir": direction.round(0)})


def _nearest(devices: list[DemoDevice], stations: pd.DataFrame) -> dict[str, str]:
    ev = stations[~stations["is_control"] & (stations["network"] != TOWN_NETWORK)]
    lon, lat = ev["lon"].to_numpy(), ev["lat"].to_numpy()
    return {d.mn: str(ev["code"].iloc[int(np.argmin((lon - d.lon) ** 2 + (lat - d.lat) ** 2))]) for d in devices}


def _by_station(air: pd.DataFrame, codes: set[str], hours: pd.Index) -> dict[str, pd.DataFrame]:
    """The hourly rows of each station in ``codes`` over ``hours`` (one pass over ``air``), gaps interpolated: a
    sensor measures on its own, the station's missing hours are not its missing hours."""
    part = air[air["station"].isin(codes) & air["hi"].isin(hours)]
    return {str(code): g.drop(columns="station").set_index("hi").reindex(hours).interpolate(limit_direction="both")
            for code, g in part.groupby("station")}


def grid_hourly(devices: list[DemoDevice], stations: pd.DataFrame, air: pd.DataFrame, met: pd.DataFrame,
                seed: int = 2023) -> dict[str, pd.DataFrame]:
    """Per grid sensor (mn → table ``hi, pm25, pm10, no2, o3, temp, rh``): raw sensor readings, see module doc."""
    rng = np.random.default_rng(seed + 1)
    grid = [d for d in devices if d.kind == "grid"]
    near = _nearest(grid, stations)
    m = met.set_index("hi")
    by_station = _by_station(air, set(near.values()), m.index)
    out = {}
    for k, d in enumerate(grid):
        ref = by_station[near[d.mn]]
        n = len(m)
        rh = m["rh"].to_numpy() / 100
        hotspot = 1.35 if k % 9 == 0 else 1.0  # a few sensors beside a local source
        local = hotspot * np.exp(rng.normal(0, 0.12, n))
        gain, offset = rng.uniform(1.1, 1.5), rng.uniform(-2, 4)
        # hygroscopic growth of an optical counter, κ-Köhler form with a small κ (the humidity model calibration fits)
        growth = 1 + 0.08 * np.clip(rh, 0, 0.92) ** 2 / (1 - np.clip(rh, 0, 0.92))
        frame = pd.DataFrame({"hi": m.index.to_numpy()})
        frame["pm25"] = ref["pm25"].to_numpy() * local * gain * growth + offset + rng.normal(0, 2, n)
        frame["pm10"] = ref["pm10"].to_numpy() * local * gain * growth**0.6 + offset + rng.normal(0, 4, n)
        frame["no2"] = ref["no2"].to_numpy() * np.exp(rng.normal(0, 0.2, n)) * rng.uniform(0.8, 1.3)
        frame["o3"] = ref["o3"].to_numpy() * np.exp(rng.normal(0, 0.15, n)) * rng.uniform(0.8, 1.2)
        frame["temp"] = (m["temp"].to_numpy() + rng.normal(0.8, 0.4, n)).round(1)  # housings run warm
        frame["rh"] = np.clip(m["rh"].to_numpy() + rng.normal(-3, 3, n), 5, 100).round(0)
        if k == 1:  # drifts upward over its last ten days
            tail = np.clip((np.arange(n) - (n - 240)) / 240, 0, None)
            frame["pm25"] += 40 * tail
            frame["pm10"] += 55 * tail
        for c in ("pm25", "pm10", "no2", "o3"):
            frame[c] = np.clip(frame[c], 1, None).round(0)
        if k == 2:  # stops reporting five hours before the end
            frame = frame.iloc[:-5]
        out[d.mn] = frame.dropna(subset=["pm25", "pm10"], how="all").reset_index(drop=True)
    return out


def dust_hourly(devices: list[DemoDevice], stations: pd.DataFrame, air: pd.DataFrame, met: pd.DataFrame,
                seed: int = 2023) -> dict[str, pd.DataFrame]:
    """Per dust monitor (mn → ``hi, pm10, pm25, tsp, wind_speed, wind_dir``): the background of the nearest
    station plus construction dust in working hours that grows with wind speed."""
    rng = np.random.default_rng(seed + 2)
    dust = [d for d in devices if d.kind == "dust"]
    near = _nearest(dust, stations)
    m = met.set_index("hi")
    hod = _hour_of_day(m.index.to_numpy())
    by_station = _by_station(air, set(near.values()), m.index)
    out = {}
    for d in dust:
        ref = by_station[near[d.mn]]
        n = len(m)
        working = ((hod >= 8) & (hod <= 18)).astype(float)
        busy = rng.uniform(0.5, 1.5) * np.repeat(rng.random(n // 24 + 1) < 0.8, 24)[:n]  # idle days
        coarse = working * busy * (25 + 12 * m["wind_speed"].to_numpy()) * np.exp(rng.normal(0, 0.4, n))
        frame = pd.DataFrame({"hi": m.index.to_numpy()})
        frame["pm10"] = (ref["pm10"].to_numpy() + coarse).round(0)
        frame["pm25"] = (ref["pm25"].to_numpy() + 0.15 * coarse).round(0)
        frame["tsp"] = (frame["pm10"] * 1.6 + coarse).round(0)
        frame["wind_speed"] = np.clip(m["wind_speed"].to_numpy() * rng.uniform(0.7, 1.1) + rng.normal(0, 0.3, n), 0, None).round(1)
        frame["wind_dir"] = ((m["wind_dir"].to_numpy() + rng.normal(0, 15, n)) % 360).round(0)
        out[d.mn] = frame.dropna(subset=["pm10"]).reset_index(drop=True)
    return out


def outlet_hourly(devices: list[DemoDevice], hours: np.ndarray, seed: int = 2023) -> dict[str, pd.DataFrame]:
    """Per outlet (mn → ``hi, so2, nox, dust, o2, temp, flow``): measured flue-gas concentrations (mg/m³ as
    measured, the converted values are added when the packet is built), with two exceedance episodes."""
    rng = np.random.default_rng(seed + 3)
    outlets = [d for d in devices if d.kind == "outlet"]
    n = len(hours)
    out = {}
    for k, d in enumerate(outlets):
        load = 0.8 + 0.2 * np.sin(2 * np.pi * (_hour_of_day(hours) - 8) / 24) + rng.normal(0, 0.04, n)
        o2 = np.clip(rng.uniform(7, 10) + rng.normal(0, 0.3, n), 3, 18)
        level = rng.uniform(0.35, 0.6)
        frame = pd.DataFrame({"hi": hours})
        frame["so2"] = OUTLET_LIMITS["a21026"] * level * load * np.exp(rng.normal(0, 0.1, n))
        frame["nox"] = OUTLET_LIMITS["a21002"] * level * load * np.exp(rng.normal(0, 0.1, n))
        frame["dust"] = OUTLET_LIMITS["a34013"] * level * 0.8 * np.exp(rng.normal(0, 0.15, n))
        if k in (0, 3):  # desulphurisation trouble: six hours at about twice the limit, a few days before the end
            start = n - 24 * (3 + k)
            frame.loc[start:start + 5, "so2"] = OUTLET_LIMITS["a21026"] * rng.uniform(1.8, 2.4, 6)
        frame["o2"] = o2
        frame["temp"] = 52 + rng.normal(0, 2, n)
        frame["flow"] = 80 * load * (1 + rng.normal(0, 0.03, n))
        out[d.mn] = frame.round({"so2": 2, "nox": 2, "dust": 2, "o2": 2, "temp": 1, "flow": 2})
    return out


def hourly_packets(device: DemoDevice, frame: pd.DataFrame, names: dict[str, str]) -> Iterator[bytes]:
    """CN 2061 packets of ``device``, one per row of ``frame`` (``hi`` = hour-ending label; DataTime is the start
    of the hour); ``names`` maps the frame's columns to HJ 212 factor codes. Missing values are left out.

    The data segment is written as text (tens of thousands of packets per demo build); the first packet of each
    device is checked by parsing it back and comparing with the same packet built by :func:`~.hj212.codec.build`."""
    zs = device.kind == "outlet"
    cols = [c for c in names if c in frame.columns]
    values = frame[cols].to_numpy(dtype=float)
    o2 = frame["o2"].to_numpy(dtype=float) if zs else None
    head = f";ST={device.st};CN=2061;PW={PASSWORD};MN={device.mn};Flag={FLAG};CP=&&DataTime="
    for i, hi in enumerate(frame["hi"].to_numpy()):
        start = EPOCH + timedelta(hours=int(hi) - 1)
        groups = []
        for j, c in enumerate(cols):
            v = float(values[i, j])
            if not np.isfinite(v):
                continue
            code = names[c]
            if zs and code in OUTLET_LIMITS:  # converted to the reference O2 (GB 13223-2011 §5.2)
                conv = (21 - REFERENCE_O2) / (21 - float(o2[i]))  # type: ignore[index]
                groups.append(f"{code}-Avg={v:g},{code}-ZsAvg={v * conv:.2f},{code}-Flag=N")
            else:
                groups.append(f"{code}-Avg={v:g},{code}-Flag=N")
        qn = (start + timedelta(hours=1)).strftime("%Y%m%d%H%M%S") + "000"
        segment = f"QN={qn}{head}{start:%Y%m%d%H%M%S};{';'.join(groups)}&&"
        packet = frame_packet(segment)
        if i == 0:
            _check_first(packet)
        yield packet


def _check_first(packet: bytes) -> None:
    """The hand-written packet must be exactly what the encoder writes for the same fields."""
    p = parse(packet)
    if build(p) != packet:
        raise AssertionError(f"generated HJ 212 packet differs from the encoder's: {packet[:80]!r}")
