"""HJ 212 environmental-quality stations into the measurement store (issue 13 item 3, qingshan.feeds.quality).

A real receiver on 127.0.0.1 gets minute (2051), hourly (2061) and real-time (2011) packets from two air stations
with meteorology, the flash520 ST=22 packet of /work/shared/standards.md §10 and a water station; the feed runs in
the loader thread (``after_load``).  Hourly values are checked against ``aggregate_minutes`` of exactly the
minutes sent, against hand-computed values, and for 2061 precedence, unit conversion, the vector wind mean,
late minutes, re-sent packets and idempotent re-feeding.
"""

from __future__ import annotations

import asyncio
import math
from datetime import datetime, timedelta
from pathlib import Path

import duckdb
import numpy as np
import pyarrow as pa
import pytest

from qingshan.evaluate.minutes import aggregate_minutes
from qingshan.feeds.quality import QualityFeed, after_load_hook, feed_pending
from qingshan.hj212 import quality_rows
from qingshan.hj212.codec import Packet, build
from qingshan.hj212.devices import DeviceFileError, read_device_file
from qingshan.hj212.server import Hj212Server
from qingshan.hj212.store import HOUR_OF_ROW_SQL, LoadResult
from qingshan.standards.units import factor_to_store, ppb_to_ugm3, standard_to_reference
from qingshan.standards.wind import mean_direction
from qingshan.store import read
from qingshan.store.workspace import Workspace

from .test_hj212_server import Client, config, until

PW = "123456"
A, B, FLASH, W, RT, FIVE = "QSAIR0001", "QSAIR0002", "JLYP01_AIR01_0001", "QSWAT0001", "QSAIR0004", "QSAIR0005"
DEVICES = [
    {"mn": A, "password": PW, "station": "QS001", "st": "22", "min_interval": 1},
    # B reports SO2 in mg/m³ at the standard state (273.15 K): converted to µg/m³ at 298.15 K
    {"mn": B, "password": PW, "station": "QS002", "st": "22", "min_interval": 1, "units": "a21026=mg/m3",
     "state": "标准"},
    {"mn": FLASH, "password": PW, "station": "QS003", "st": "22", "min_interval": 1},
    {"mn": W, "password": PW, "station": "W001", "st": "21"},
    {"mn": RT, "password": PW, "station": "QS004", "st": "22"},  # real-time values only (CN 2011)
    # 5-minute periods, NO2 in ppb
    {"mn": FIVE, "password": PW, "station": "QS005", "st": "22", "min_interval": 5, "units": "a21004=ppb"},
    {"mn": "OUTLET01", "password": PW, "enterprise": "青山化工", "outlet": "DA001", "st": "31"},  # not a feed
]
FLASH_PACKET = (b"##0411QN=20220513162608370;ST=22;CN=2051;PW=123456;MN=JLYP01_AIR01_0001;Flag=4;CP=&&DataTime="
                b"20220513162600;a21004-Avg=4,a21004-Flag=N;a05024-Avg=63,a05024-Flag=N;a21026-Avg=6,a21026-Flag=N;"
                b"a21005-Avg=0.427,a21005-Flag=N;a34004-Avg=14,a34004-Flag=N;a34002-Avg=31,a34002-Flag=N;a01007-Avg=1,"
                b"a01007-Flag=N;a01008-Avg=11,a01008-Flag=N;a01001-Avg=17,a01001-Flag=N;a01002-Avg=85,a01002-Flag=N;"
                b"a01006-Avg=95,a01006-Flag=N&&D641\r\n")
H1 = datetime(2026, 12, 1, 9)  # the hour 08:00–09:00, labelled by its end
H2 = datetime(2026, 12, 1, 10)
EPOCH = datetime(1970, 1, 1)


def hi(t: datetime) -> int:
    return (t - EPOCH) // timedelta(hours=1)


def dt(t: datetime) -> str:
    return f"{t:%Y%m%d%H%M%S}"


_qn = iter(range(1, 10**6))


def pkt(mn: str, cn: str, t: datetime, values: dict[str, tuple[str, str | None]], st: str = "22",
        field: str = "Avg") -> bytes:
    """A data packet with a fresh QN; ``values``: code → (value, flag or None)."""
    groups = [[(f"{c}-{field}", v)] + ([(f"{c}-Flag", f)] if f else []) for c, (v, f) in values.items()]
    qn = f"20261201000000{next(_qn):03d}"
    return build(Packet.make(st=st, cn=cn, pw=PW, mn=mn, qn=qn, flag=4, cp=[[("DataTime", dt(t))], *groups]))


def so2(i: int) -> float:
    return round(8 + 3 * math.sin(i / 5), 1)


def no2(i: int) -> float:
    return round(30 + 10 * math.cos(i / 7), 1)


# Station A, hour H1: 50 minutes (08:00 … 08:49 starts); SO2 flagged C in 3 of them, NO2 all valid; wind around
# north (350° / 10° alternating, so an arithmetic mean would say south); pressure in kPa.
A_H1 = [(i, H1 - timedelta(hours=1) + timedelta(minutes=i)) for i in range(50)]
SO2_C = {5, 6, 7}


def a_minute(i: int, t: datetime) -> bytes:
    return pkt(A, "2051", t, {
        "a21026": (f"{so2(i)}", "C" if i in SO2_C else "N"), "a21004": (f"{no2(i)}", "N"),
        "a01001": (f"{5 + i / 10:.1f}", "N"), "a01002": ("60", "N"), "a01006": ("101.2", "N"),
        "a01007": ("2.0", "N"), "a01008": ("350" if i % 2 else "10", "N")})


# Station A, hour H2: 44 valid minutes (one short), later the 45th minute arrives late.
A_H2 = [(100 + i, H2 - timedelta(hours=1) + timedelta(minutes=i)) for i in range(44)]
A_H2_LATE = (150, H2 - timedelta(minutes=1))


def b_packets() -> list[bytes]:
    out = []
    for i in range(60):  # 60 minutes of SO2 0.020 mg/m³ (standard state) and NO2 as minutes
        t = H1 - timedelta(hours=1) + timedelta(minutes=i)
        out.append(pkt(B, "2051", t, {"a21026": ("0.020", "N"), "a21004": ("40", "N")}))
    # B's own hourly values for H1: SO2 0.030 mg/m³ wins over the minutes; NO2 flagged C makes the hour missing
    out.append(pkt(B, "2061", H1 - timedelta(hours=1), {"a21026": ("0.030", "N"), "a21004": ("41", "C")}))
    return out


def flash_packets() -> list[bytes]:
    """The real packet (16:26 start) plus 44 more minutes of the same hour with the same values."""
    out = [FLASH_PACKET]
    base = datetime(2022, 5, 13, 16, 0)
    vals = {"a21004": ("4", "N"), "a05024": ("63", "N"), "a21026": ("6", "N"), "a21005": ("0.427", "N"),
            "a34004": ("14", "N"), "a34002": ("31", "N"), "a01007": ("1", "N"), "a01008": ("11", "N"),
            "a01001": ("17", "N"), "a01002": ("85", "N"), "a01006": ("95", "N")}
    for m in [m for m in range(60) if m != 26][:44]:
        out.append(pkt(FLASH, "2051", base + timedelta(minutes=m), vals))
    return out


def water_packets() -> list[bytes]:
    t = H1 - timedelta(hours=1)
    return [pkt(W, "2061", t, {"w01001": ("7.62", "N"), "w21003": ("0.215", "N"), "w21011": ("0.08", "D"),
                               "w01010": ("12.5", None)}, st="21"),
            # real-time values of the same hour: the 2061 values win
            pkt(W, "2011", t + timedelta(minutes=10), {"w01001": ("8.5", "N")}, st="21", field="Rtd")]


def rt_packets() -> list[bytes]:
    """Station QS004, hour H1: SO2 every 30 s for the first 46 minutes (the second value of minute 3 flagged D),
    and a negative PM2.5 (zero drift) all hour long."""
    out = []
    for k in range(92):
        t = H1 - timedelta(hours=1) + timedelta(seconds=30 * k)
        out.append(pkt(RT, "2011", t, {"a21026": (f"{10 + k % 7}", "D" if k == 7 else "N"), "a34004": ("-1.5", "N")},
                       field="Rtd"))
    return out


def five_packets() -> list[bytes]:
    """Station QS005, hour H1: 9 five-minute periods (45 minutes) of NO2 in ppb."""
    return [pkt(FIVE, "2051", H1 - timedelta(hours=1) + timedelta(minutes=5 * k), {"a21004": (f"{20 + k}", "N")})
            for k in range(9)]


def run(cfg, packets: list[bytes]) -> None:
    """Send ``packets`` to a receiver with the feed hook, wait until all are accepted, stop (loads everything)."""
    async def main():
        srv = Hj212Server(cfg, after_load=after_load_hook())
        await srv.start()
        try:
            c = await Client.open(srv.port)
            before = srv.stats.accepted
            for p in packets:
                await c.send(p)
            await until(lambda: srv.stats.accepted >= before + len(packets), "packets accepted")
            c.close()
        finally:
            await srv.stop()

    asyncio.run(main())


@pytest.fixture(scope="module")
def fed(tmp_path_factory):
    """Workspace after two receiver runs: everything but the late minute, then the late minute and re-sends."""
    tmp = tmp_path_factory.mktemp("feed")
    cfg = config(tmp, devices=DEVICES)
    first = [a_minute(i, t) for i, t in A_H1] + [a_minute(i, t) for i, t in A_H2] + b_packets() \
        + flash_packets() + water_packets() + rt_packets() + five_packets()
    run(cfg, first)
    with duckdb.connect(str(Path(cfg.workspace) / "measurements.duckdb"), read_only=True) as con:
        before_late = con.execute("SELECT so2 FROM air_hourly WHERE station = 'QS001' AND hi = ?",
                                  [hi(H2)]).fetchall()
    resent = first[0]  # the very same packet again (same QN): a duplicate
    corrected = a_minute(0, A_H1[0][1])  # minute 0 again with a new QN: the later arrival wins (same values)
    run(cfg, [a_minute(*A_H2_LATE), resent, corrected])
    return cfg, before_late


def con_of(cfg) -> duckdb.DuckDBPyConnection:
    return duckdb.connect(str(Path(cfg.workspace) / "measurements.duckdb"), read_only=True)


def air(con, station: str, t: datetime) -> dict:
    df = con.execute("SELECT * FROM air_hourly WHERE station = ? AND hi = ?", [station, hi(t)]).df()
    assert len(df) == 1, (station, t, df)
    return df.iloc[0].to_dict()


def expected_minutes(minutes: list[tuple[int, datetime]]) -> pa.Table:
    """``aggregate_minutes`` of exactly the minutes of station A that were sent."""
    return aggregate_minutes(pa.table({
        "device": ["QS001"] * len(minutes),
        "ts": pa.array([t + timedelta(minutes=1) for _, t in minutes], pa.timestamp("us")),
        "so2": [so2(i) for i, _ in minutes],
        "so2_flag": ["C" if i in SO2_C else "N" for i, _ in minutes],
        "no2": [no2(i) for i, _ in minutes],
    }))


def test_hourly_values_equal_the_aggregation_of_the_minutes_sent(fed):
    cfg, _ = fed
    exp = expected_minutes(A_H1).to_pylist()[0]
    with con_of(cfg) as con:
        got = air(con, "QS001", H1)
    assert exp["hi"] == hi(H1) and exp["so2_minutes"] == 47 and exp["no2_minutes"] == 50
    assert got["so2"] == pytest.approx(exp["so2"], rel=1e-12)
    assert got["no2"] == pytest.approx(exp["no2"], rel=1e-12)
    # by hand: the mean of the 47 minutes flagged N
    hand = sum(so2(i) for i, _ in A_H1 if i not in SO2_C) / 47
    assert got["so2"] == pytest.approx(hand, rel=1e-12)
    assert math.isnan(got["co"]) if isinstance(got["co"], float) else got["co"] is None


def test_a_late_minute_completes_its_hour(fed):
    cfg, before_late = fed
    assert before_late and before_late[0][0] is None  # 44 valid minutes: below the 45 of GB 3095 表4
    exp = expected_minutes([*A_H2, A_H2_LATE]).to_pylist()[0]
    assert exp["so2_minutes"] == 45
    with con_of(cfg) as con:
        assert air(con, "QS001", H2)["so2"] == pytest.approx(exp["so2"], rel=1e-12)


def test_resent_packets_change_nothing(fed):
    cfg, _ = fed
    with con_of(cfg) as con:
        n = con.execute("SELECT count(*) FROM air_hourly WHERE station = 'QS001'").fetchall()[0][0]
        dup = con.execute("SELECT count(*) FROM air_hourly GROUP BY station, hi HAVING count(*) > 1").fetchall()
    assert n == 2 and not dup


def test_hourly_2061_value_wins_and_its_flag_counts(fed):
    cfg, _ = fed
    with con_of(cfg) as con:
        got = air(con, "QS002", H1)
    assert got["so2"] == pytest.approx(30.0 * 273.15 / 298.15, rel=1e-12)  # 2061 0.030 mg/m³ at 273.15 K
    assert got["no2"] is None or math.isnan(got["no2"])  # 2061 flagged C: missing, minutes do not replace it


def test_flash520_packet_and_met(fed):
    cfg, _ = fed
    t = datetime(2022, 5, 13, 17)
    with con_of(cfg) as con:
        got = air(con, "QS003", t)
        met = con.execute("SELECT * FROM met_hourly WHERE station = 'QS003' AND hi = ?", [hi(t)]).df()
    assert (got["no2"], got["so2"], got["o3"], got["pm25"], got["pm10"]) == pytest.approx((4, 6, 63, 14, 31))
    assert got["co"] == pytest.approx(0.427)
    row = met.iloc[0]
    assert row["pressure"] == pytest.approx(950.0)  # 95 kPa → hPa
    assert (row["temp"], row["rh"], row["wind_speed"]) == pytest.approx((17, 85, 1))
    assert row["wind_dir"] == pytest.approx(11.0)
    assert row["wind_minutes"] == 45


def test_wind_direction_is_a_vector_mean(fed):
    cfg, _ = fed
    with con_of(cfg) as con:
        met = con.execute("SELECT * FROM met_hourly WHERE station = 'QS001' AND hi = ?", [hi(H1)]).df()
    row = met.iloc[0]
    assert row["wind_dir"] == pytest.approx(0.0, abs=1e-9)  # 350° and 10°: north, not the arithmetic 180°
    assert row["wind_speed"] == pytest.approx(2.0)
    assert row["temp"] == pytest.approx(np.mean([5 + i / 10 for i in range(50)]))
    assert row["pressure"] == pytest.approx(1012.0)
    assert row["temp_minutes"] == 50


def test_water_station_feeds_water_auto(fed):
    cfg, _ = fed
    with con_of(cfg) as con:
        w = con.execute("SELECT * FROM water_auto WHERE station = 'W001'").df()
    assert len(w) == 1
    r = w.iloc[0]
    assert r["ts"] == H1
    assert (r["ph"], r["nh3n"], r["temp"]) == pytest.approx((7.62, 0.215, 12.5))  # 2061 wins over the 2011 pH 8.5
    assert r["tp"] is None or math.isnan(r["tp"])  # flagged D (故障)


def test_outlets_stay_in_source_data_and_rows_keep_provenance(fed):
    cfg, _ = fed
    with con_of(cfg) as con:
        kinds = con.execute("SELECT DISTINCT i.kind FROM air_hourly a JOIN imports i USING (import_id)").fetchall()
        assert kinds == [("hj212-feed",)]
        assert con.execute("SELECT count(*) FROM hj212_feed_pending").fetchall()[0][0] == 0
        stations = {r[0] for r in con.execute("SELECT DISTINCT station FROM air_hourly").fetchall()}
        assert stations == {"QS001", "QS002", "QS003", "QS004", "QS005"}


def test_refeeding_changes_nothing(fed, tmp_path):
    cfg, _ = fed
    import shutil

    ws = tmp_path / "copy"
    shutil.copytree(cfg.workspace, ws)
    tables = ("air_hourly", "met_hourly", "water_auto")
    with Workspace(ws) as w:
        before = {t: w.con.execute(f"SELECT * FROM {t} ORDER BY ALL").fetchall() for t in tables}
        # queue every hour of every quality device again, as a WAL replay that re-loaded them would
        w.con.execute(f"""INSERT INTO hj212_feed_pending SELECT DISTINCT mn, {HOUR_OF_ROW_SQL.format(p="")}
                           FROM source_data WHERE mn <> 'OUTLET01' ON CONFLICT DO NOTHING""")
        res = feed_pending(w.con)
        after = {t: w.con.execute(f"SELECT * FROM {t} ORDER BY ALL").fetchall() for t in tables}
    assert res.station_hours > 0 and not res.air.get("new") and not res.air.get("updated")
    assert not res.met.get("updated") and not res.water.get("updated")
    assert after == before


def test_real_time_values_become_minutes_then_hours(fed):
    cfg, _ = fed
    minutes: dict[datetime, list[float]] = {}
    for k in range(92):
        if k != 7:
            t = H1 - timedelta(hours=1) + timedelta(seconds=30 * k)
            minutes.setdefault(t.replace(second=0) + timedelta(minutes=1), []).append(10 + k % 7)
    exp = aggregate_minutes(pa.table({
        "device": ["QS004"] * len(minutes), "ts": pa.array(list(minutes), pa.timestamp("us")),
        "so2": [sum(v) / len(v) for v in minutes.values()]})).to_pylist()[0]
    assert exp["so2_minutes"] == 46
    with con_of(cfg) as con:
        got = air(con, "QS004", H1)
        q = con.execute("SELECT field, raw, reason FROM quarantine WHERE source LIKE '%QS004%'").fetchall()
    assert got["so2"] == pytest.approx(exp["so2"], rel=1e-12)
    # a negative hourly mean (zero drift) is stored as missing and quarantined with its reason
    assert got["pm25"] is None or math.isnan(got["pm25"])
    assert q == [("pm25", "-1.5", q[0][2])] and "按缺失处理" in q[0][2]


def test_periods_of_several_minutes_and_ppb(fed):
    cfg, _ = fed
    with con_of(cfg) as con:
        got = air(con, "QS005", H1)
    # 9 periods × 5 minutes = 45 minutes: valid; each period counts 5 times, so the mean is that of the 9 values
    assert got["no2"] == pytest.approx(np.mean([20 + k for k in range(9)]) * 46.005 / 24.4654, rel=1e-4)


def test_a_failed_feed_is_retried_by_the_next_load(tmp_path):
    cfg = config(tmp_path, devices=DEVICES)
    calls = []
    real = after_load_hook()

    def flaky(con, res):
        if res.touched or calls:
            calls.append(set(res.touched))
        if len(calls) == 1:
            raise RuntimeError("feed down")
        real(con, res)

    async def main(packets):
        srv = Hj212Server(cfg, after_load=flaky)
        await srv.start()
        try:
            c = await Client.open(srv.port)
            for p in packets:
                await c.send(p)
            await until(lambda: srv.stats.accepted >= len(packets), "packets accepted")
            await until(lambda: len(calls) >= 1, "the first load")
            c.close()
        finally:
            await srv.stop()

    asyncio.run(main([pkt(B, "2061", H1 - timedelta(hours=1), {"a21026": ("0.030", "N")})]))
    assert calls[0] == {(B, "2061", hi(H1))}
    with con_of(cfg) as con:  # the load is committed, the hour waits in the queue
        assert con.execute("SELECT count(*) FROM source_data").fetchall()[0][0] == 1
        assert con.execute("SELECT mn, hi FROM hj212_feed_pending").fetchall() == [(B, hi(H1))]
        assert con.execute("SELECT count(*) FROM air_hourly").fetchall()[0][0] == 0
    calls.append(None)  # from now on the hook works
    asyncio.run(main([pkt(A, "2061", H2 - timedelta(hours=1), {"a21026": ("7", "N")})]))
    with con_of(cfg) as con:
        rows = con.execute("SELECT station, hi, so2 FROM air_hourly ORDER BY station").fetchall()
    assert rows == [("QS001", hi(H2), 7.0), ("QS002", hi(H1), pytest.approx(30 * 273.15 / 298.15))]


def _fed_copy(fed, tmp_path) -> tuple[Path, str]:
    """A copy of the fed workspace and the SQL that queues station A's hours for the feed again."""
    import shutil

    cfg, _ = fed
    ws = tmp_path / "copy"
    shutil.copytree(cfg.workspace, ws)
    return ws, f"""INSERT INTO hj212_feed_pending SELECT DISTINCT mn, {HOUR_OF_ROW_SQL.format(p="")}
                   FROM source_data WHERE mn = '{A}' ON CONFLICT DO NOTHING"""


def test_hook_every_leaves_hours_queued_until_the_next_feed(fed, tmp_path):
    ws, requeue = _fed_copy(fed, tmp_path)
    hook = after_load_hook(every=3600)
    with Workspace(ws) as w:
        w.con.execute(requeue)
        hook(w.con, LoadResult())  # the first call feeds
        assert quality_rows.pending_count(w.con) == 0
        w.con.execute(requeue)
        hook(w.con, LoadResult())  # within the hour: left queued, not lost
        assert quality_rows.pending_count(w.con) == 2
        assert hook.behind and not hook.due()  # the platform's trailing feed waits out the window
        after_load_hook()(w.con, LoadResult())  # every load
        assert quality_rows.pending_count(w.con) == 0


def test_trailing_flush_feeds_what_a_throttled_load_left(fed, tmp_path):
    """The last load of a burst falls inside the window: :meth:`QualityFeed.flush` (the platform calls it once
    :meth:`due`) feeds it without another packet."""
    ws, requeue = _fed_copy(fed, tmp_path)
    now = [0.0]
    hook = QualityFeed(every=2.0, clock=lambda: now[0])
    with Workspace(ws) as w:
        hook(w.con, LoadResult())
        w.con.execute(requeue)
        now[0] = 1.0
        hook(w.con, LoadResult())  # within the window: queued
        assert hook.behind and not hook.due() and quality_rows.pending_count(w.con) == 2
        now[0] = 2.5
        assert hook.due()
        out = hook.flush(w.con)
        assert out.station_hours >= 2 and quality_rows.pending_count(w.con) == 0 and not hook.behind


def test_a_load_that_completes_an_hour_is_fed_after_a_quarter_of_the_window(fed, tmp_path):
    """The hour that just ended is what the duty officer watches: a load holding an hour's last minute
    (``LoadResult.closes_hour``) waits a quarter of the throttle window, not all of it."""
    ws, requeue = _fed_copy(fed, tmp_path)
    now = [0.0]
    hook = QualityFeed(every=2.0, clock=lambda: now[0])
    with Workspace(ws) as w:
        hook(w.con, LoadResult())
        w.con.execute(requeue)
        now[0] = 0.4
        hook(w.con, LoadResult(closes_hour=True))  # within a quarter of the window: queued
        assert hook.behind and quality_rows.pending_count(w.con) == 2
        now[0] = 0.6
        hook(w.con, LoadResult())  # an ordinary load still waits out the window
        assert quality_rows.pending_count(w.con) == 2
        hook(w.con, LoadResult(closes_hour=True))  # past a quarter: fed now
        assert quality_rows.pending_count(w.con) == 0 and not hook.behind


def test_the_last_minute_of_an_hour_closes_it(tmp_path):
    """A 2051 minute whose period ends on the hour (08:59–09:00) completes that hour; 08:10–08:11 does not."""
    cfg = config(tmp_path, devices=DEVICES)
    seen: dict[str, list[bool]] = {}

    def send(label: str, packet: bytes) -> None:
        async def main():
            srv = Hj212Server(cfg, after_load=lambda con, res: seen.setdefault(label, []).append(res.closes_hour))
            await srv.start()
            try:
                c = await Client.open(srv.port)
                await c.send(packet)
                await until(lambda: srv.stats.accepted >= 1, "the packet accepted")
                c.close()
            finally:
                await srv.stop()

        asyncio.run(main())

    send("minute 10", a_minute(10, H1 - timedelta(minutes=50)))
    send("minute 60", a_minute(59, H1 - timedelta(minutes=1)))
    assert seen["minute 10"] and not any(seen["minute 10"])
    assert any(seen["minute 60"])


def test_a_re_aggregated_hour_changes_the_store_fingerprint(tmp_path):
    """A minute that moves the value of an hour already stored (same rows, same feed import of the day) changes
    :func:`qingshan.store.read.store_counts`, the console's cache key: else the console keeps serving the old
    value until a new hour lands (the live bench saw its ingestion probes time out, the hour close took 62 s)."""
    cfg = config(tmp_path, devices=DEVICES)
    run(cfg, [a_minute(i, t) for i, t in A_H1[:46]])
    with con_of(cfg) as con:
        before, so2_before = read.store_counts(con)[0], air(con, "QS001", H1)["so2"]
    run(cfg, [a_minute(i, t) for i, t in A_H1[46:]])
    with con_of(cfg) as con:
        after, so2_after = read.store_counts(con)[0], air(con, "QS001", H1)["so2"]
    assert so2_after != so2_before and before[1] == after[1]  # the value moved, the row count did not
    assert after != before


# --- pure parts -------------------------------------------------------------------------------------------------


def test_vector_mean_by_hand():
    assert mean_direction(np.array([350.0, 10.0])) == 0.0
    assert mean_direction(np.array([0.0, 90.0])) == pytest.approx(45.0)
    assert math.isnan(mean_direction(np.array([350.0, 10.0]), np.array([0.2, 0.1])))  # calm: no direction


def test_unit_conversion():
    assert standard_to_reference(298.15) == pytest.approx(273.15)
    assert factor_to_store("co", "mg/m3", "standard") == pytest.approx(273.15 / 298.15)
    assert ppb_to_ugm3(1.0, "o3") == pytest.approx(47.997 / 24.4654, rel=1e-4)


def test_registry_units_and_state(tmp_path):
    f = tmp_path / "d.csv"
    f.write_text("设备编号,站点,系统编码,计量单位,参比状态\nX1,QS001,22,a21026=mg/m3;a01006=hPa,标准\n", encoding="utf-8")
    d = read_device_file(f)[0]
    assert dict(d.units) == {"a21026": "mg/m³", "a01006": "hPa"} and d.state == "standard"
    f.write_text("设备编号,单位,状态\nX1,青山化工,在用\n", encoding="utf-8")  # 单位 is the enterprise, 状态 not ours
    d = read_device_file(f)[0]
    assert d.enterprise == "青山化工" and not d.units and d.state is None
    f.write_text("设备编号,计量单位\nX1,a21026=furlong\n", encoding="utf-8")
    with pytest.raises(DeviceFileError, match="第 2 行.*a21026"):
        read_device_file(f)
    f.write_text("设备编号,参比状态\nX1,沸腾\n", encoding="utf-8")
    with pytest.raises(DeviceFileError, match="状态"):
        read_device_file(f)


def test_met_read_function(fed):
    cfg, _ = fed
    with con_of(cfg) as con:
        df = read.met_hours(con, ["QS001"], hi(H1), hi(H2))
    assert list(df["hi"]) == [hi(H1), hi(H2)]
