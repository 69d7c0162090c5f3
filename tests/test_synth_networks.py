"""The demo's generated HJ 212 networks (qingshan.synth_networks) and their delivery over TCP (hj212.sender)."""

from __future__ import annotations

import asyncio
from pathlib import Path

import duckdb
import numpy as np
import pytest

from qingshan import synth_networks as sn
from qingshan.hj212.codec import parse
from qingshan.hj212.sender import send_streams
from qingshan.hj212.server import Hj212Server, ServerConfig
from qingshan.synth import DEMO_STATIONS, generate_hourly

DAYS = 20


@pytest.fixture(scope="module")
def generated():
    air = generate_hourly(DEMO_STATIONS, 2023, seed=2023)
    hours = np.arange(int(air["hi"].max()) - 24 * DAYS + 1, int(air["hi"].max()) + 1)
    devices = sn.demo_devices(DEMO_STATIONS)
    met = sn.met_hourly(hours, sn.city_mean(air, DEMO_STATIONS))
    return {"air": air, "hours": hours, "devices": devices, "met": met,
            "grid": sn.grid_hourly(devices, DEMO_STATIONS, air, met),
            "dust": sn.dust_hourly(devices, DEMO_STATIONS, air, met),
            "outlets": sn.outlet_hourly(devices, hours)}


def streams(g) -> dict[str, list[bytes]]:
    tables = {**g["grid"], **g["dust"], **g["outlets"]}
    out = {}
    for d in g["devices"]:
        frame = g["met"] if d.kind == "met" else tables[d.mn]
        names = sn.OUTLET_FACTORS if d.kind == "outlet" else {**sn.AIR_FACTORS, **sn.MET_FACTORS}
        out[d.mn] = list(sn.hourly_packets(d, frame, names))
    return out


def test_the_networks_have_the_sizes_the_demo_promises(generated):
    kinds = [d.kind for d in generated["devices"]]
    assert (kinds.count("met"), kinds.count("grid"), kinds.count("dust"), kinds.count("outlet")) == (1, 40, 6, 10)
    assert len({d.mn for d in generated["devices"]}) == 57
    st = sn.station_frame(generated["devices"], "示范市")
    assert set(st["network"]) == {sn.GRID_NETWORK, sn.DUST_NETWORK} and len(st) == 46


def test_wind_weakens_when_the_city_is_polluted(generated):
    met = generated["met"]
    pm = sn.city_mean(generated["air"], DEMO_STATIONS).reindex(generated["hours"]).to_numpy()
    r = np.corrcoef(np.log(met["wind_speed"]), np.log(pm))[0, 1]
    assert r < -0.3
    assert met["wind_dir"].between(0, 360).all() and met["rh"].between(18, 99).all()


def test_grid_sensors_over_read_their_reference_more_when_humid(generated):
    """The hygroscopic bias calibration must remove: raw/reference grows with humidity."""
    g, air, met = generated["grid"], generated["air"], generated["met"]
    ratios_dry, ratios_humid = [], []
    devices = [d for d in generated["devices"] if d.kind == "grid"]
    near = {d.mn: min(DEMO_STATIONS.itertuples(), key=lambda s: (s.lon - d.lon) ** 2 + (s.lat - d.lat) ** 2)
            for d in devices}
    for d in devices[3:]:  # not the drifting or the silent one
        ref = air[air["station"] == near[d.mn].code].set_index("hi")["pm25"]
        frame = g[d.mn].merge(met[["hi", "rh"]], on="hi", suffixes=("", "_met")).set_index("hi")
        ratio = frame["pm25"] / ref.reindex(frame.index)
        ratios_dry.append(ratio[frame["rh_met"] < 60].median())
        ratios_humid.append(ratio[frame["rh_met"] > 85].median())
    assert np.nanmedian(ratios_humid) > np.nanmedian(ratios_dry) * 1.2


def test_outlets_exceed_their_limits_only_in_the_episodes(generated):
    over = {mn: int((t["so2"] > sn.OUTLET_LIMITS["a21026"]).sum()) for mn, t in generated["outlets"].items()}
    assert sorted(v for v in over.values() if v) == [6, 6]
    assert all((t["nox"] < sn.OUTLET_LIMITS["a21002"]).all() for t in generated["outlets"].values())


def test_packets_are_valid_hj212_with_start_of_hour_datatime(generated):
    s = streams(generated)
    tables = {**generated["grid"], **generated["dust"], **generated["outlets"]}
    assert sum(map(len, s.values())) == len(generated["met"]) + sum(map(len, tables.values()))  # a packet a row
    # hours where the reference station has no PM make no packet; one grid sensor is silent for its last 5 hours
    assert 0.97 * 57 * 24 * DAYS < sum(map(len, s.values())) <= 57 * 24 * DAYS - 5
    assert len(s["3204GRD000003"]) <= 24 * DAYS - 5
    p = parse(s[generated["devices"][-1].mn][0])  # an outlet
    assert (p.st, p.cn, p.flag) == ("31", "2061", 5)
    items = dict(kv for group in p.cp for kv in group)
    first = int(generated["hours"][0])
    assert items["DataTime"] == (sn.EPOCH + np.timedelta64(first - 1, "h").astype(object)).strftime("%Y%m%d%H%M%S")
    o2 = generated["outlets"][p.mn]["o2"].iloc[0]
    so2 = generated["outlets"][p.mn]["so2"].iloc[0]
    assert float(items["a21026-ZsAvg"]) == pytest.approx(so2 * (21 - 6) / (21 - o2), abs=0.006)


def test_same_seed_same_packets(generated):
    again = sn.outlet_hourly(sn.demo_devices(DEMO_STATIONS), generated["hours"])
    assert all(again[mn].equals(t) for mn, t in generated["outlets"].items())


def test_every_packet_is_delivered_once_through_the_receiver(generated, tmp_path: Path):
    reg = tmp_path / "devices.csv"
    sn.registry_frame(generated["devices"]).to_csv(reg, index=False)
    s = streams(generated)
    s = {mn: p[:30] for mn, p in s.items()}  # enough to prove the path; the demo sends them all
    s["UNKNOWN0000001"] = [p.replace(b"MN=3204OUT000001", b"MN=UNKNOWN0000001") for p in s["3204OUT000001"][:1]]
    cfg = ServerConfig(workspace=tmp_path / "ws", port=0, devices_file=reg, load_interval=0.05, linger=0.0,
                       silence_check_interval=3600, stats_interval=0)

    async def main():
        srv = Hj212Server(cfg)
        await srv.start()
        try:
            res = await send_streams("127.0.0.1", srv.port, s, timeout=30)
            again = await send_streams("127.0.0.1", srv.port, {"3204OUT000002": s["3204OUT000002"][:5]}, timeout=30)
        finally:
            await srv.stop()
        return res, again

    res, again = asyncio.run(main())
    sent = sum(map(len, s.values()))
    assert (res.acked, res.refused) == (sent - 1, 1) and res.failed and "UNKNOWN" in res.failed[0]
    assert again.acked == 5  # a re-sent packet is answered again …
    with duckdb.connect(str(tmp_path / "ws" / "measurements.duckdb"), read_only=True) as con:
        assert con.execute("SELECT count(*) FROM hj212_packets").fetchone()[0] == sent - 1  # … and stored once
        n_dev = con.execute("SELECT count(DISTINCT mn) FROM source_data").fetchone()[0]
        assert n_dev == 57
