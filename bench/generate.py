"""Synthetic hourly air-quality data for benchmarks, written as real-world file formats.

    python bench/generate.py --stations 2000 --year 2023 --out DIR [--format quotsoft|long|both] [--seed 7]

Writes

* ``DIR/stations.csv`` — ``监测点编码,监测点名称,城市,经度,纬度,对照点`` (UTF-8, 对照点 = Y/N).
* ``DIR/long/hourly_YYYY.csv`` — one file for the whole year, header ``station,time,so2,no2,co,o3,pm10,pm25``,
  rows ordered by time then station, ``time`` = hour-ending Beijing time ``YYYY-MM-DD HH:MM`` (the hour label
  24:00 is written as the next day's ``00:00``), empty cell = missing, LF line endings.
* ``DIR/quotsoft/china_sites_YYYYMMDD.csv`` — the CNEMC / quotsoft.net wide daily layout: ``date,hour,type,<codes>``
  with 15 ``type`` rows per hour, CRLF line endings. Hour ``h`` of file ``D`` is the value labelled ``D h:00``
  (hour-ending), so hour 0 is the last hour of the previous day. Only hour labels inside the generated year exist:
  the file of 1 January has hours 1..23 (345 rows) and there is an extra file for 1 January of the next year
  holding only hour 0 (= 31 December 24:00); every other file has 360 rows.

Both formats carry exactly the same hourly values: hour labels ``YEAR-01-01 01:00`` … ``YEAR+1-01-01 00:00``.

The values come from a log-normal model with seasonal and diurnal cycles, city and station random effects,
AR(1) noise at city scale (synoptic weather, shared "stagnation" factor) and station scale, haze episodes
(winter-weighted, slow build-up and abrupt clearance), summer ozone episodes, spring dust events in northern
cities, ~2 % random gaps and multi-day station or analyser outages. Everything is vectorised over stations; the
only Python loops run over hours (AR recursion, a few µs each), outages and episodes. Generation proceeds month by
month, so memory stays bounded (a few hundred MB for 2000 stations).

The data are synthetic: no official values are copied or imitated station by station.
"""

from __future__ import annotations

import argparse
import calendar
import sys
import time
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Iterator

import numpy as np

SIX = ("so2", "no2", "co", "o3", "pm10", "pm25")
QUOTSOFT_TYPES = (
    "AQI", "PM2.5", "PM2.5_24h", "PM10", "PM10_24h", "SO2", "SO2_24h", "NO2", "NO2_24h",
    "O3", "O3_24h", "O3_8h", "O3_8h_24h", "CO", "CO_24h",
)  # fmt: skip

# --- hourly AQI, national real-time platform rule (HJ 633-2012 tables) --------------------------------------------

IAQI_STEPS = np.array([0, 50, 100, 150, 200, 300, 400, 500], dtype=float)
HOURLY_BP = {  # pollutant -> breakpoints used for the 1-h IAQI (CO in mg/m³)
    "so2": (0, 150, 500, 650, 800),
    "no2": (0, 100, 200, 700, 1200, 2340, 3090, 3840),
    "co": (0, 5, 10, 35, 60, 90, 120, 150),
    "o3": (0, 160, 200, 300, 400, 800, 1000, 1200),
    "pm10": (0, 50, 150, 250, 350, 420, 500, 600),  # 24-h table, platform practice
    "pm25": (0, 35, 75, 115, 150, 250, 350, 500),  # 24-h table, platform practice
}


def iaqi_exact(conc: np.ndarray, bp: tuple[float, ...], scale: int = 1) -> np.ndarray:
    """IAQI by linear interpolation rounded up, in exact integer arithmetic.

    ``conc`` must already be at reporting precision; ``scale`` turns it into integers (10 for CO). Values above the
    top breakpoint get 500; NaN stays NaN.
    """
    c = np.rint(np.asarray(conc, dtype=float) * scale)
    b = np.asarray(bp, dtype=float) * scale
    k = np.clip(np.searchsorted(b, c, side="right") - 1, 0, len(b) - 2)
    lo, hi, ilo, ihi = b[k], b[k + 1], IAQI_STEPS[k], IAQI_STEPS[k + 1]
    # numerator and denominator are small integers held exactly in float64, so ceil(num/den) is exact
    out = ilo + np.ceil((ihi - ilo) * (c - lo) / (hi - lo))
    out = np.where(c > b[-1], 500.0, out)
    return np.where(np.isnan(c), np.nan, out)


def hourly_aqi(vals: dict[str, np.ndarray]) -> np.ndarray:
    """Hourly AQI of arrays of 1-h values (any shape); NaN where every pollutant is missing."""
    out = None
    for p in SIX:
        i = iaqi_exact(vals[p], HOURLY_BP[p], 10 if p == "co" else 1)
        if p == "so2":
            i = np.where(vals[p] > 800, 200.0, i)
        out = i if out is None else np.fmax(out, i)
    return out


# --- station network and model parameters -------------------------------------------------------------------------


@dataclass
class Network:
    codes: list[str]
    names: list[str]
    city: np.ndarray  # city index per station
    city_names: list[str]
    lon: np.ndarray
    lat: np.ndarray
    control: np.ndarray  # bool
    north: np.ndarray  # per city, 0 (south) .. 1 (north)

    @property
    def n(self) -> int:
        return len(self.codes)

    @property
    def ncity(self) -> int:
        return len(self.city_names)


def make_network(n: int, rng: np.random.Generator) -> Network:
    ncity = max(1, int(round(n / 8)))
    city = np.concatenate([np.arange(min(ncity, n)), rng.integers(0, ncity, max(0, n - ncity))])
    city = np.sort(city)  # station codes grouped by city, like real CNEMC codes
    clon = rng.uniform(100.0, 123.0, ncity)
    clat = rng.uniform(22.0, 44.0, ncity)
    north = (clat - 22.0) / 22.0
    lon = np.round(clon[city] + rng.normal(0, 0.06, n), 4)
    lat = np.round(clat[city] + rng.normal(0, 0.05, n), 4)
    control = rng.random(n) < 0.11
    first = np.r_[True, city[1:] != city[:-1]]
    control[first] = False  # every city keeps at least one assessment station
    city_names = [f"城市{c + 1:03d}" for c in range(ncity)]
    codes = [f"B{i + 1:04d}A" for i in range(n)]
    rank = np.arange(n) - np.maximum.accumulate(np.where(first, np.arange(n), 0))
    names = [f"{city_names[c]}{'对照点' if ctl else '监测点'}{k + 1:02d}" for c, ctl, k in zip(city, control, rank)]
    return Network(codes, names, city, city_names, lon, lat, control, north)


def write_stations(net: Network, path: Path) -> int:
    lines = ["监测点编码,监测点名称,城市,经度,纬度,对照点"]
    for i in range(net.n):
        lines.append(
            f"{net.codes[i]},{net.names[i]},{net.city_names[net.city[i]]},{net.lon[i]:.4f},{net.lat[i]:.4f},"
            f"{'Y' if net.control[i] else 'N'}"
        )
    data = ("\n".join(lines) + "\n").encode("utf-8")
    path.write_bytes(data)
    return len(data)


# --- the model ------------------------------------------------------------------------------------------------------

# city-scale AR(1) channels: 0 = shared stagnation factor, then one per modelled gas / PM2.5
CITY_CH = ("stag", "so2", "no2", "co", "o3", "pm25")
CITY_SD = np.array([0.42, 0.30, 0.18, 0.18, 0.18, 0.18])
CITY_PHI = 0.985  # e-folding ~ 3 days: synoptic weather
# station-scale AR(1) channels (last one is additive noise on the PM2.5/PM10 ratio)
ST_CH = ("so2", "no2", "co", "o3", "pm25", "ratio")
ST_SD = np.array([0.30, 0.22, 0.16, 0.14, 0.16, 0.08])
ST_PHI = 0.85
STAG_COUPLING = {"so2": 0.5, "no2": 0.5, "co": 0.7, "o3": -0.15, "pm25": 1.0}
HAZE_COUPLING = {"so2": 0.4, "no2": 0.35, "co": 0.6, "o3": -0.3, "pm25": 1.0}
MEASUREMENT_SD = {"so2": 0.06, "no2": 0.05, "co": 0.05, "o3": 0.04, "pm10": 0.09, "pm25": 0.09}


class Model:
    def __init__(self, net: Network, year: int, seed: int):
        self.net, self.year = net, year
        ss = np.random.SeedSequence([seed, year, net.n])
        prng, self.nrng, self.mrng = (np.random.default_rng(s) for s in ss.spawn(3))
        self.days = 366 if calendar.isleap(year) else 365
        self.H = 24 * self.days
        n, nc, nn = net.n, net.ncity, net.north
        cn = nn[net.city]  # northness per station
        ctl = net.control

        def eff(sd: float, csd: float) -> np.ndarray:  # city + station log random effects
            return rng_city(csd)[net.city] + prng.normal(0, sd, n)

        def rng_city(sd: float) -> np.ndarray:
            return prng.normal(0, sd, nc)

        self.base = {  # log geometric-mean level per station
            "so2": np.log(6.0) + eff(0.25, 0.40) + 0.6 * (cn - 0.5) + np.where(ctl, -0.4, 0),
            "no2": np.log(20.0) + eff(0.20, 0.22) + np.where(ctl, -0.7, 0),
            "co": np.log(0.55) + eff(0.15, 0.18) + 0.3 * (cn - 0.5) + np.where(ctl, -0.3, 0),
            "pm25": np.log(21.0) + eff(0.10, 0.22) + 0.45 * (cn - 0.5) + np.where(ctl, -0.35, 0),
        }
        self.winter_amp = {  # log amplitude of the annual cycle (peak mid-January)
            "so2": 0.30 + 0.35 * cn,
            "no2": 0.20 + 0.10 * cn,
            "co": 0.20 + 0.25 * cn,
            "pm25": 0.30 + 0.30 * cn,
        }
        o3lvl = np.exp(eff(0.06, 0.12))
        self.o3_bg = 42.0 * o3lvl * np.where(ctl, 1.25, 1.0)
        self.o3_photo = (95.0 + 35.0 * cn) * o3lvl * np.where(ctl, 1.1, 1.0)
        self.ratio = 0.48 + 0.14 * (1 - cn) + prng.normal(0, 0.03, n)  # PM2.5 / PM10

        # episodes, city x hour (float32, ~2 M cells for 250 cities)
        H = self.H
        frac = (np.arange(self.days) + 0.5) / self.days
        wday = (1 + np.cos(2 * np.pi * (frac - 0.03))) / 2
        sday = (1 + np.cos(2 * np.pi * (frac - 0.47))) / 2
        self.haze = np.zeros((nc, H + 200), np.float32)
        self.o3ep = np.zeros((nc, H + 200), np.float32)
        self.dust = np.zeros((nc, H + 200), np.float32)
        pw, ps = wday**2 / (wday**2).sum(), sday**2 / (sday**2).sum()
        for c in range(nc):
            for d in prng.choice(self.days, prng.poisson(4 + 8 * nn[c]), p=pw):
                t0, dur = 24 * d + prng.integers(0, 24), prng.integers(36, 145)
                x = np.arange(dur) / dur
                self.haze[c, t0 : t0 + dur] += prng.uniform(0.4, 1.3) * x**1.5  # slow build-up, abrupt clearance
            for d in prng.choice(self.days, prng.poisson(3 + 2 * nn[c]), p=ps):
                t0, dur = 24 * d, prng.integers(48, 169)
                self.o3ep[c, t0 : t0 + dur] += prng.uniform(0.15, 0.40) * np.sin(np.pi * np.arange(dur) / dur)
        spring0 = date(year, 3, 1).timetuple().tm_yday - 1
        for _ in range(prng.poisson(4)):  # dust storms hit a swathe of northern cities at once
            t0, dur = 24 * (spring0 + prng.integers(0, 92)) + prng.integers(0, 24), prng.integers(24, 73)
            amp = prng.uniform(200, 900)
            hit = (nn > 0.5) & (prng.random(nc) < 0.8)
            shape = np.sin(np.pi * np.arange(dur) / dur) ** 2
            for c in np.flatnonzero(hit):
                self.dust[c, t0 : t0 + dur] += amp * prng.uniform(0.4, 1.2) * nn[c] * shape
        self.haze, self.o3ep, self.dust = (a[:, :H] for a in (self.haze, self.o3ep, self.dust))

        # outages: (station, pollutant index or -1 = all, start, end)
        out = []
        for i in range(n):
            for _ in range(prng.poisson(0.5)):
                s = prng.integers(0, H)
                out.append((i, -1, s, s + int(np.clip(prng.lognormal(np.log(48), 0.8), 6, 400))))
            for j in range(6):
                for _ in range(prng.poisson(0.2)):
                    s = prng.integers(0, H)
                    out.append((i, j, s, s + int(prng.integers(12, 241))))
        self.outages = np.array(out, dtype=np.int64).reshape(-1, 4)

        self.city_state = prng.normal(0, 1, (nc, len(CITY_CH))) * CITY_SD
        self.st_state = prng.normal(0, 1, (n, len(ST_CH))) * ST_SD
        self.jan1_weekday = date(year, 1, 1).weekday()

    def _ar(self, state: np.ndarray, T: int, sd: np.ndarray, phi: float) -> np.ndarray:
        """AR(1) paths (T, *state.shape) continuing from ``state``; updates state in place."""
        e = self.nrng.standard_normal((T, *state.shape))
        e *= sd * np.sqrt(1 - phi**2)
        e[0] += phi * state
        for k in range(1, T):
            e[k] += phi * e[k - 1]
        state[...] = e[-1]
        return e

    def values(self, t0: int, t1: int) -> dict[str, np.ndarray]:
        """Hourly values (T, n) for hour indices t0..t1-1 (t = 0 is the hour labelled YEAR-01-01 01:00).

        Must be called on consecutive ranges (the AR(1) state is carried over).
        """
        net, T = self.net, t1 - t0
        tt = np.arange(t0, t1) + 0.5  # mid-interval, hours since YEAR-01-01 00:00
        hod = (tt % 24)[:, None]
        frac = (tt / self.H)[:, None]
        winter = np.cos(2 * np.pi * (frac - 0.03))
        o3season = (1 + np.cos(2 * np.pi * (frac - 0.47))) / 2
        weekday = ((self.jan1_weekday + tt // 24) % 7 < 5)[:, None]
        cnoise = self._ar(self.city_state, T, CITY_SD, CITY_PHI)[:, net.city, :]  # (T, n, ch)
        snoise = self._ar(self.st_state, T, ST_SD, ST_PHI)
        haze = self.haze[:, t0:t1].T[:, net.city]
        o3ep = self.o3ep[:, t0:t1].T[:, net.city]
        dust = self.dust[:, t0:t1].T[:, net.city]
        cyc = lambda h, per: np.cos(2 * np.pi * (hod - h) / per)  # noqa: E731
        diurnal = {
            "so2": 0.10 * cyc(11, 24),
            "no2": 0.22 * cyc(21, 24) + 0.10 * cyc(8, 12) + 0.06 * weekday,
            "co": 0.12 * cyc(22, 24) + 0.05 * cyc(8, 12) + 0.03 * weekday,
            "pm25": (0.12 * cyc(23, 24) + 0.05 * cyc(9, 12)) * (1 + 0.3 * winter),
        }
        v: dict[str, np.ndarray] = {}
        for p in ("so2", "no2", "co", "pm25"):
            lv = self.base[p] + self.winter_amp[p] * winter + diurnal[p]
            lv = lv + STAG_COUPLING[p] * cnoise[..., 0] + cnoise[..., CITY_CH.index(p)]
            lv += snoise[..., ST_CH.index(p)] + HAZE_COUPLING[p] * haze
            v[p] = np.exp(lv)
        # ozone: titrated background with a night minimum + photochemical afternoon peak, strongest in early summer
        sun = np.exp(-(((hod - 15) / 3.3) ** 2))
        o3 = self.o3_bg * np.exp(-0.25 * winter + 0.25 * cyc(15, 24)) + self.o3_photo * (
            0.12 + 0.88 * o3season
        ) * sun * np.exp(o3ep)
        lo3 = STAG_COUPLING["o3"] * cnoise[..., 0] + cnoise[..., 4] + snoise[..., 3] + HAZE_COUPLING["o3"] * haze
        v["o3"] = o3 * np.exp(lo3)
        ratio = np.clip(self.ratio + 0.12 * np.minimum(haze, 1.0) + snoise[..., 5], 0.15, 1.0)
        v["pm10"] = v["pm25"] / ratio + dust
        v["pm25"] = v["pm25"] + 0.2 * dust

        for p, sd in MEASUREMENT_SD.items():  # analyser noise, independent per instrument and hour
            v[p] *= np.exp(self.nrng.normal(0.0, sd, v[p].shape))
        for p in SIX:  # reporting precision
            v[p] = np.maximum(np.round(v[p], 1), 0.1) if p == "co" else np.maximum(np.rint(v[p]), 1.0)
        v["pm10"] = np.maximum(v["pm10"], 2.0)

        # missing data: whole-hour gaps, single values, outages
        rng = self.mrng
        row_gap = rng.random((T, net.n)) < 0.012
        for j, p in enumerate(SIX):
            m = row_gap | (rng.random((T, net.n)) < 0.008)
            v[p][m] = np.nan
        o = self.outages
        sel = o[(o[:, 2] < t1) & (o[:, 3] > t0)]
        for i, j, s, e in sel:
            a, b = max(s, t0) - t0, min(e, t1) - t0
            for p in SIX if j < 0 else (SIX[j],):
                v[p][a:b, i] = np.nan
        return v


def chunks(year: int) -> Iterator[tuple[int, int, list[int]]]:
    """Month-sized (t0, t1, file days) ranges aligned to quotsoft files.

    File day ``d`` (0 = 1 January) holds hour indices ``24d-1 .. 24d+22``; the last chunk also holds the hour
    labelled ``YEAR+1-01-01 00:00`` (file day ``days``).
    """
    days = 366 if calendar.isleap(year) else 365
    starts = [date(year, m, 1).timetuple().tm_yday - 1 for m in range(1, 13)] + [days]
    for m in range(12):
        d0, d1 = starts[m], starts[m + 1]
        t0, t1 = max(0, 24 * d0 - 1), 24 * d1 - 1
        fdays = list(range(d0, d1))
        if m == 11:
            t1, fdays = 24 * days, fdays + [days]
        yield t0, t1, fdays


# --- fast CSV rendering: every cell is a code into a small table of byte strings -------------------------------------


class Cells:
    """A table of byte strings (each including its trailing separator) as a padded uint8 matrix."""

    def __init__(self, strings: list[str]):
        b = [s.encode("utf-8") for s in strings]
        self.width = max(len(x) for x in b)
        self.lens = np.array([len(x) for x in b], dtype=np.int64)
        self.chars = np.zeros((len(b), self.width), dtype=np.uint8)
        for i, x in enumerate(b):
            self.chars[i, : len(x)] = np.frombuffer(x, dtype=np.uint8)


def render(parts: list[tuple[np.ndarray, Cells]]) -> bytes:
    """Rows of CSV text. ``parts`` are (codes (N, k), Cells) column groups in order; the last must end lines.

    Cell strings are gathered into a zero-padded byte matrix; dropping the zero bytes leaves the text.
    """
    n = parts[0][0].shape[0]
    widths = [int(np.prod(c.shape[1:], dtype=int)) * cells.width for c, cells in parts]
    buf = np.empty((n, sum(widths)), dtype=np.uint8)
    off = 0
    for (codes, cells), w in zip(parts, widths):
        buf[:, off : off + w] = cells.chars[codes.reshape(n, -1)].reshape(n, w)
        off += w
    return buf[buf != 0].tobytes()


MAX_INT = 9999
CO_BASE = MAX_INT + 1  # CO code = CO_BASE + tenths of mg/m³
MISSING = CO_BASE + 1000


def value_cells(sep: str) -> Cells:
    return Cells([f"{i}{sep}" for i in range(MAX_INT + 1)] + [f"{i / 10:.1f}{sep}" for i in range(1000)] + [sep])


def codes_of(x: np.ndarray, co: bool = False) -> np.ndarray:
    nan = np.isnan(x)
    if co:
        c = CO_BASE + np.clip(np.rint(np.where(nan, 0, x) * 10), 0, 999)
    else:
        c = np.clip(np.rint(np.where(nan, 0, x)), 0, MAX_INT)
    return np.where(nan, MISSING, c).astype(np.int32)


_LUTS: dict[str, np.ndarray] = {}


def _iaqi_lut(p: str) -> np.ndarray:
    """1-h IAQI (int16, -1 = missing) indexed by cell code, i.e. :func:`hourly_aqi` as a lookup table."""
    if p not in _LUTS:
        lut = np.full(MISSING + 1, -1, dtype=np.int16)
        if p == "co":
            lut[CO_BASE:MISSING] = iaqi_exact(np.arange(1000) / 10, HOURLY_BP[p], 10)
        else:
            c = np.arange(MAX_INT + 1, dtype=float)
            i = iaqi_exact(c, HOURLY_BP[p])
            lut[: MAX_INT + 1] = np.where(c > 800, 200, i) if p == "so2" else i
        _LUTS[p] = lut
    return _LUTS[p]


# --- trailing windows for the quotsoft rows ---------------------------------------------------------------------------


def _shift_max(a: np.ndarray, k: int) -> np.ndarray:
    out = a.copy()
    out[k:] = np.maximum(a[k:], a[:-k])
    return out


def trailing(x: np.ndarray, w: int, need: int, how: str = "mean") -> np.ndarray:
    """Trailing window statistic along axis 0 over ``w`` rows, NaN unless ≥ ``need`` valid values."""
    valid = ~np.isnan(x)
    cnt = np.cumsum(np.vstack([np.zeros((1, x.shape[1])), valid]), axis=0)
    cnt = cnt[1:] - np.vstack([np.zeros((w, x.shape[1])), cnt[1:-w]]) if x.shape[0] > w else cnt[1:]
    if how == "mean":
        s = np.cumsum(np.vstack([np.zeros((1, x.shape[1])), np.where(valid, x, 0.0)]), axis=0)
        s = s[1:] - np.vstack([np.zeros((w, x.shape[1])), s[1:-w]]) if x.shape[0] > w else s[1:]
        out = s / np.maximum(cnt, 1)
    else:  # running max by doubling (w = 24 only)
        assert w == 24
        m1 = np.where(valid, x, -np.inf)
        m2 = _shift_max(m1, 1)
        m4 = _shift_max(m2, 2)
        m8 = _shift_max(m4, 4)
        m16 = _shift_max(m8, 8)
        out = m16.copy()
        out[16:] = np.maximum(m16[16:], m8[:-16])
    return np.where(cnt >= need, out, np.nan)


def _round_half_even(x: np.ndarray, co: bool = False) -> np.ndarray:
    """GB/T 8170 rounding (half to even) to reporting precision; the inner round absorbs float noise."""
    s = 10.0 if co else 1.0
    return np.rint(np.round(x * s, 6)) / s


TAIL = 32  # hours of history kept between chunks for the trailing windows


def quotsoft_codes(v: dict[str, np.ndarray], tail: dict[str, np.ndarray]) -> np.ndarray:
    """(T, 15, n) int32 cell codes of the quotsoft rows for one chunk; ``tail`` holds the previous TAIL hours."""
    T = v["pm25"].shape[0]
    ext = {p: np.vstack([tail[p], v[p]]) for p in SIX}
    r = _round_half_even
    mov = {p: r(trailing(ext[p], 24, 20), p == "co")[TAIL:] for p in SIX}
    o3_8h = r(trailing(ext["o3"], 8, 6))
    rows = {
        "AQI": None,  # from the 1-h codes below
        "PM2.5": v["pm25"], "PM2.5_24h": mov["pm25"], "PM10": v["pm10"], "PM10_24h": mov["pm10"],
        "SO2": v["so2"], "SO2_24h": mov["so2"], "NO2": v["no2"], "NO2_24h": mov["no2"],
        "O3": v["o3"], "O3_24h": trailing(ext["o3"], 24, 20, "max")[TAIL:],
        "O3_8h": o3_8h[TAIL:], "O3_8h_24h": trailing(o3_8h, 24, 20, "max")[TAIL:],
        "CO": v["co"], "CO_24h": mov["co"],
    }  # fmt: skip
    out = np.empty((T, len(QUOTSOFT_TYPES), v["pm25"].shape[1]), dtype=np.int32)
    for k, name in enumerate(QUOTSOFT_TYPES):
        if name != "AQI":
            out[:, k, :] = codes_of(rows[name], co=name.startswith("CO"))
    aqi = np.full(out[:, 0, :].shape, -1, dtype=np.int16)
    for p, name in zip(SIX, ("SO2", "NO2", "CO", "O3", "PM10", "PM2.5")):
        np.maximum(aqi, _iaqi_lut(p)[out[:, QUOTSOFT_TYPES.index(name), :]], out=aqi)
    out[:, 0, :] = np.where(aqi < 0, MISSING, aqi)
    for p in SIX:
        tail[p] = ext[p][-TAIL:]
    return out


# --- driver --------------------------------------------------------------------------------------------------------


def generate(n_stations: int, year: int, out: Path, fmt: str = "both", seed: int = 7, log=print) -> dict:
    """Write the data set; returns {"seconds": …, "bytes": …, "files": …}."""
    t_start = time.perf_counter()
    out.mkdir(parents=True, exist_ok=True)
    net = make_network(n_stations, np.random.default_rng([seed, 1]))
    nbytes = write_stations(net, out / "stations.csv")
    nfiles = 1
    model = Model(net, year, seed)
    n = net.n
    jan1 = date(year, 1, 1)
    do_long, do_q = fmt in ("long", "both"), fmt in ("quotsoft", "both")

    if do_long:
        (out / "long").mkdir(exist_ok=True)
        long_f = open(out / "long" / f"hourly_{year}.csv", "wb")
        long_f.write(b"station,time,so2,no2,co,o3,pm10,pm25\n")
        st_cells = Cells([f"{c}," for c in net.codes])
        v_mid, v_nl = value_cells(","), value_cells("\n")
        nfiles += 1
    if do_q:
        (out / "quotsoft").mkdir(exist_ok=True)
        header = ("date,hour,type," + ",".join(net.codes) + "\r\n").encode()
        q_mid, q_end = value_cells(","), value_cells("\r\n")
        hour_cells = Cells([f"{h}," for h in range(24)])
        type_cells = Cells([f"{t}," for t in QUOTSOFT_TYPES])
        tail = {p: np.full((TAIL, n), np.nan) for p in SIX}

    t_gen = t_write = 0.0
    for t0, t1, fdays in chunks(year):
        a = time.perf_counter()
        v = model.values(t0, t1)
        t_gen += time.perf_counter() - a
        a = time.perf_counter()
        if do_long:
            time_cells = Cells([f"{x:%Y-%m-%d %H:%M}," for x in _datetimes(jan1, t0, t1)])
            step = max(1, 200_000 // n)  # hours per render block
            for b0 in range(0, t1 - t0, step):
                b1 = min(t1 - t0, b0 + step)
                nb = b1 - b0
                st = np.tile(np.arange(n), nb)
                tm = np.repeat(np.arange(b0, b1), n)
                vals = [codes_of(v[p][b0:b1].ravel(), p == "co") for p in SIX]
                long_f.write(
                    render(
                        [
                            (st, st_cells),
                            (tm, time_cells),
                            (np.stack(vals[:5], axis=1), v_mid),
                            (vals[5], v_nl),
                        ]
                    )
                )
        if do_q:
            codes = quotsoft_codes(v, tail)
            for d in fdays:
                r0, r1 = max(24 * d - 1, t0) - t0, min(24 * d + 23, t1) - t0
                day = jan1 + timedelta(days=d)
                hours = np.arange(r0, r1) - (24 * d - 1 - t0)
                c = codes[r0:r1].reshape(-1, n)
                nrow = c.shape[0]
                parts = [
                    (np.zeros(nrow, np.int32), Cells([f"{day:%Y%m%d},"])),
                    (np.repeat(hours, len(QUOTSOFT_TYPES)), hour_cells),
                    (np.tile(np.arange(len(QUOTSOFT_TYPES)), len(hours)), type_cells),
                    (c[:, :-1], q_mid),
                    (c[:, -1], q_end),
                ]
                data = header + render(parts)
                (out / "quotsoft" / f"china_sites_{day:%Y%m%d}.csv").write_bytes(data)
                nbytes += len(data)
                nfiles += 1
        t_write += time.perf_counter() - a
        log(f"  hours {t0:5d}-{t1 - 1:5d}  generate {t_gen:6.1f}s  write {t_write:6.1f}s")
    if do_long:
        nbytes += long_f.tell()
        long_f.close()
    return {"seconds": time.perf_counter() - t_start, "bytes": nbytes, "files": nfiles,
            "generate_s": t_gen, "write_s": t_write}  # fmt: skip


def _datetimes(jan1: date, t0: int, t1: int) -> list[datetime]:
    """Hour-ending labels of hour indices t0..t1-1."""
    base = datetime(jan1.year, 1, 1)
    return [base + timedelta(hours=t + 1) for t in range(t0, t1)]


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--stations", type=int, default=2000)
    ap.add_argument("--year", type=int, default=2023)
    ap.add_argument("--out", type=Path, required=True)
    ap.add_argument("--format", choices=("quotsoft", "long", "both"), default="both")
    ap.add_argument("--seed", type=int, default=7)
    a = ap.parse_args(argv)
    print(f"generating {a.stations} stations x {a.year} ({a.format}) -> {a.out}")
    r = generate(a.stations, a.year, a.out, a.format, a.seed)
    peak = ""
    try:
        import resource

        peak = f", peak RSS {resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024:.0f} MB"
    except ImportError:
        pass
    print(
        f"done in {r['seconds']:.1f}s (model {r['generate_s']:.1f}s, formatting+writing {r['write_s']:.1f}s): "
        f"{r['files']} files, {r['bytes'] / 1e6:.1f} MB{peak}"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
