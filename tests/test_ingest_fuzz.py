"""Fuzzing every importer's parse function with hypothesis-generated files (issue 11).

Files are random bytes, or CSV tables with the importer's own headers mixed with random ones and cells drawn from
numbers (finite, negative, huge, ``inf``/``nan`` spellings, exponents, 400 digits), missing markers and garbage
text, in UTF-8 or GBK. For every file:

* the parser returns a parsed file or raises the project's :class:`IngestError` — never another exception;
* the parsed data hold no non-finite value and no value outside the physical range of its quantity
  (:mod:`qingshan.standards.ranges`);
* every numeric cell that is no measurement (non-finite, negative, out of range, a NaN spelled as a number) is in
  the quarantine with its line and field (checked where a cell maps to one field: the air formats, dust, rain,
  noise).

Kept cheap: 40 examples per importer (derandomized: the same examples every run), tiny files, no deadline;
``QINGSHAN_FUZZ_EXAMPLES=500`` runs a longer, random search.
"""

from __future__ import annotations

import math
import os
from pathlib import Path

import numpy as np
import pyarrow as pa
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from qingshan.ingest import cnemc_api, long_csv, quotsoft_sites, stations, water_auto, water_samples
from qingshan.ingest.common import MISSING_MARKERS, IngestError, ParsedFile
from qingshan.ingest.deposition import parse_dust, parse_rain
from qingshan.ingest.noise import parse_noise
from qingshan.standards.ranges import RANGES, range_of

#: Examples per importer: cheap by default (the suite runs on busy machines); QINGSHAN_FUZZ_EXAMPLES=500 for a long run.
EXAMPLES = int(os.environ.get("QINGSHAN_FUZZ_EXAMPLES", "40"))
FUZZ = settings(max_examples=EXAMPLES, deadline=None, derandomize="QINGSHAN_FUZZ_EXAMPLES" not in os.environ,
                suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large,
                                       HealthCheck.function_scoped_fixture])

SPECIAL_NUMBERS = ["inf", "-inf", "Infinity", "-Infinity", "INF", "1e999", "-1e999", "1e308", "-1e308", "1" + "0" * 399,
                   "NaN", "nan", "NAN", "+nan", "-0", "0", "1e-400", "5e4", "3.5E+02", "+7", ".5", "5.", "600", "40000",
                   "9" * 30]
TEXT = st.text(alphabet=st.characters(blacklist_categories=("Cs",), blacklist_characters=',"\r\n\x00'), max_size=8)
NUMBER = st.one_of(
    st.sampled_from(SPECIAL_NUMBERS),
    st.floats(allow_nan=True, allow_infinity=True).map(repr),
    st.floats(min_value=-1e6, max_value=1e6).map(lambda x: f"{x:g}"),
    st.integers(min_value=-10**12, max_value=10**12).map(str),
)
CELL = st.one_of(NUMBER, NUMBER, st.sampled_from(sorted(MISSING_MARKERS)), TEXT)


def absurd(text: str, param: str) -> bool:
    """Whether a numeric cell text is no measurement of ``param`` (it must then be quarantined)."""
    t = text.strip()
    if t in MISSING_MARKERS:
        return False
    try:
        v = float(t)
    except ValueError:
        return False  # non-numeric text: quarantined too, but Python's float() is not the files' number syntax
    r = RANGES[param]
    return not math.isfinite(v) or v < max(r.lo, 0.0) or v > r.hi


def encode(text: str, gbk: bool) -> bytes:
    return text.encode("gbk", errors="replace") if gbk else text.encode("utf-8")


@st.composite
def table(draw, known: list[str], rows: int = 6, fixed: dict[str, st.SearchStrategy] | None = None):
    """(header, rows of cell texts) with some of ``known`` columns and maybe random ones."""
    cols = draw(st.lists(st.sampled_from(known), min_size=1, max_size=len(known), unique=True))
    cols += draw(st.lists(TEXT.filter(lambda s: s.strip() != ""), max_size=2))
    n = draw(st.integers(min_value=0, max_value=rows))
    fixed = fixed or {}
    body = [[draw(fixed.get(c, CELL)) for c in cols] for _ in range(n)]
    return cols, body


def csv_text(cols: list[str], body: list[list[str]]) -> str:
    return "\n".join(",".join(r) for r in [cols, *body]) + "\n"


def check_data(parsed: ParsedFile, param_of_column: dict[str, str] | None = None) -> None:
    """No NaN, no infinity, nothing outside its range in the parsed data."""
    assert isinstance(parsed, ParsedFile)
    data = parsed.data
    if data is None:
        return
    for name in data.column_names:
        col = data.column(name)
        if not pa.types.is_floating(col.type):
            continue
        v = col.to_numpy(zero_copy_only=False).astype(float)
        present = v[~np.isnan(v)] if not col.null_count else \
            col.drop_null().to_numpy(zero_copy_only=False).astype(float)
        assert np.isfinite(present).all(), name
        param = (param_of_column or {}).get(name)
        r = RANGES[param] if param else range_of(name)
        if r is not None and len(present):
            assert present.min() >= r.lo and present.max() <= r.hi, name


def quarantined(parsed: ParsedFile) -> set[tuple[int, str]]:
    q = parsed.quarantine
    assert len(q.lines) == len(q.fields) == len(q.raws) == len(q.reasons)
    assert all(isinstance(r, str) and r for r in q.reasons)
    return set(zip(q.lines, q.fields))


def parse_or_refuse(fn, *args, **kw) -> ParsedFile | None:
    try:
        return fn(*args, **kw)
    except IngestError as e:
        assert str(e) and "\n" not in str(e).strip()
        return None


RANDOM_BYTES = st.binary(max_size=3000)
GBK = st.booleans()


@pytest.fixture(scope="module")
def folder(tmp_path_factory) -> Path:
    return tmp_path_factory.mktemp("fuzz")


# --- air --------------------------------------------------------------------------------------------------------

TIMES = st.sampled_from(["2023-01-20 01:00", "2023-01-20 24:00", "2023-01-20T02:00:00+08:00", "2023-01-20 01:30",
                         "x", "", "2023-02-30 01:00", "9999-12-31 23:00"])
STATION = st.sampled_from(["S1", "S2", "", " S1 "])


@FUZZ
@given(st.one_of(RANDOM_BYTES.map(lambda b: (None, b, False)),
                 st.tuples(table(["station", "time", "so2", "no2", "co", "o3", "pm10", "pm25", "pm2.5", "co[ug/m3]"],
                                 fixed={"time": TIMES, "station": STATION}), st.just(b""), GBK)),
       st.booleans(), st.sampled_from(["fuzz.csv", "fuzz.csv", "fuzz.xlsx"]))
def test_fuzz_long(case, hour_beginning, name):
    tab, raw, gbk = case
    data = raw if tab is None else encode(csv_text(*tab), gbk)
    parsed = parse_or_refuse(long_csv.parse, name, data=data, hour_beginning=hour_beginning)
    if parsed is None:
        return
    check_data(parsed)
    assert name.endswith(".csv")  # the bytes of a CSV or random bytes are no XLSX: refused above
    if tab is not None and not gbk:
        cols, body = tab
        seen = quarantined(parsed)
        for i, row in enumerate(body):
            for c, cell in zip(cols, row):
                if c in ("so2", "no2", "co", "o3", "pm10", "pm25") and cols.count(c) == 1 and absurd(cell, c):
                    assert (i + 2, c) in seen, (i + 2, c, cell)


@FUZZ
@given(st.one_of(RANDOM_BYTES.map(lambda b: (None, b, False)),
                 st.tuples(table(["timepoint", "stationcode", "aqi", "pm2_5", "pm2_5_24h", "pm10", "so2", "no2", "co",
                                  "o3", "o3_8h", "o3_24h", "o3_8h_24h", "longitude", "latitude", "positionname", "area"],
                                 fixed={"timepoint": TIMES, "stationcode": STATION}), st.just(b""), GBK)))
def test_fuzz_cnemc(case):
    tab, raw, gbk = case
    data = raw if tab is None else encode(csv_text(*tab), gbk)
    parsed = parse_or_refuse(cnemc_api.parse, "fuzz.csv", data=data)
    if parsed is None:
        return
    check_data(parsed)
    if tab is not None and not gbk:
        cols, body = tab
        seen = quarantined(parsed)
        for i, row in enumerate(body):
            for c, cell in zip(cols, row):
                if c in cnemc_api.COLUMN_MAP and absurd(cell, _param(cnemc_api.COLUMN_MAP[c])):
                    assert (i + 2, c) in seen, (i + 2, c, cell)


def _param(column: str) -> str:
    from qingshan.standards.ranges import param_of

    return param_of(column)


QS_TYPES = list(quotsoft_sites.TYPE_COLUMNS)


@st.composite
def quotsoft_file(draw):
    stations_ = draw(st.lists(st.sampled_from(["1001A", "1002A", "1003A", "2001A"]), min_size=0, max_size=3,
                              unique=True))
    lines = []
    for _ in range(draw(st.integers(min_value=0, max_value=8))):
        date = draw(st.sampled_from(["20230120", "20230120", "20230121", "x", "20231340", ""]))
        hour = draw(st.sampled_from(["0", "5", "23", "24", "-1", "1e3", ""]))
        typ = draw(st.sampled_from(QS_TYPES + ["AQI", "XX", ""]))
        cells = [draw(CELL) for _ in stations_]
        lines.append([date, hour, typ, *cells])
    return stations_, lines


@FUZZ
@given(st.one_of(RANDOM_BYTES.map(lambda b: (None, b)), quotsoft_file().map(lambda f: (f, b""))))
def test_fuzz_quotsoft(case):
    f, raw = case
    if f is None:
        data = raw
    else:
        stations_, lines = f
        data = ("date,hour,type" + "".join(f",{s}" for s in stations_) + "\n"
                + "".join(",".join(ln) + "\n" for ln in lines)).encode()
    parsed = parse_or_refuse(quotsoft_sites.parse, "china_sites_20230120.csv", data=data)
    if parsed is None:
        return
    check_data(parsed)
    if f is not None:
        stations_, lines = f
        seen = quarantined(parsed)
        for i, (date, hour, typ, *cells) in enumerate(lines):
            valid_row = date == "20230120" and hour in ("0", "5", "23") and typ in quotsoft_sites.TYPE_COLUMNS
            if not valid_row or ((i + 2), "type") in seen:  # a repeated (hour, type) line is dropped as such
                continue
            param = _param(quotsoft_sites.TYPE_COLUMNS[typ])
            for s, cell in zip(stations_, cells):
                if absurd(cell, param):
                    assert (i + 2, s) in seen, (i + 2, s, typ, cell)


# --- other importers --------------------------------------------------------------------------------------------

@FUZZ
@given(st.one_of(RANDOM_BYTES.map(lambda b: (None, b, False)),
                 st.tuples(table(["code", "name", "city", "district", "lon", "lat", "is_control", "监测点编码", "经度"]),
                           st.just(b""), GBK)))
def test_fuzz_stations(case):
    tab, raw, gbk = case
    data = raw if tab is None else encode(csv_text(*tab), gbk)
    parsed = parse_or_refuse(stations.parse, "fuzz.csv", data=data)
    if parsed is not None:
        check_data(parsed)


WATER_AUTO_HEAD = ["省份", "流域", "断面名称", "监测时间", "水质类别", "水温(℃)", "pH(无量纲)", "溶解氧(mg/L)",
                   "电导率(μS/cm)", "浊度(NTU)", "高锰酸盐指数(mg/L)", "氨氮(mg/L)", "总磷(mg/L)", "总氮(mg/L)",
                   "叶绿素α(mg/L)", "藻密度(cells/L)", "站点情况"]


@FUZZ
@given(st.one_of(RANDOM_BYTES.map(lambda b: (None, b, False)),
                 st.tuples(table(WATER_AUTO_HEAD, fixed={"监测时间": st.sampled_from(["01-01 04:00", "12-31 20:00", "x"]),
                                                         "断面名称": st.sampled_from(["沙渚", ""])}), st.just(b""), GBK)),
       st.sampled_from(["2021-01-01.csv", "2021-01-01.json"]))
def test_fuzz_water_auto(case, name):
    tab, raw, gbk = case
    data = raw if tab is None else encode(csv_text(*tab), gbk)
    parsed = parse_or_refuse(water_auto.parse, name, data=data)
    if parsed is not None:
        check_data(parsed)


@FUZZ
@given(st.one_of(RANDOM_BYTES.map(lambda b: (None, b, False)),
                 st.tuples(table(["section", "date", "ph", "do", "tp", "hg[ug/L]", "fcoli", "sd[cm]", "水体类型",
                                  "溶解氧"],
                                 fixed={"date": st.sampled_from(["2023-01-15", "2023-13-01", "2023-02"]),
                                        "section": st.sampled_from(["S1", "S2", ""])}), st.just(b""), GBK)))
def test_fuzz_water_samples(case):
    tab, raw, gbk = case
    data = raw if tab is None else encode(csv_text(*tab), gbk)
    parsed = parse_or_refuse(water_samples.parse, "fuzz.csv", data=data)
    if parsed is None or parsed.data is None:
        return
    frame = parsed.data.to_pandas()
    for item, rows in frame.groupby("item"):
        r = range_of(item)
        for col in ("value", "dl"):
            v = rows[col].dropna().to_numpy(dtype=float)
            assert np.isfinite(v).all() and (r is None or ((v >= r.lo) & (v <= r.hi)).all()), (item, col)


def write_cases(folder: Path, name: str, tab, raw: bytes, gbk: bool) -> Path:
    p = folder / name
    p.write_bytes(raw if tab is None else encode(csv_text(*tab), gbk))
    return p


def check_cells(parsed: ParsedFile, tab, fields: dict[str, str]) -> None:
    """Every absurd cell of a column of ``fields`` (column → range key) is quarantined at its line and column."""
    if tab is None:
        return
    cols, body = tab
    seen = quarantined(parsed)
    for i, row in enumerate(body):
        for c, cell in zip(cols, row):
            if c in fields and cols.count(c) == 1 and absurd(cell, fields[c]):
                assert (i + 2, c) in seen, (i + 2, c, cell)


@FUZZ
@given(st.one_of(RANDOM_BYTES.map(lambda b: (None, b, False)),
                 st.tuples(table(["site", "month", "dustfall", "flux", "days"],
                                 fixed={"month": st.sampled_from(["2023-01", "2023/2", "x"])}), st.just(b""),
                           st.just(False))))
def test_fuzz_dust(folder, case):
    p = write_cases(folder, "dust.csv", *case)
    parsed = parse_or_refuse(parse_dust, p)
    if parsed is not None:
        check_data(parsed, {"value": "dustfall"})
        if case[0] is not None and "dustfall" in case[0][0]:
            check_cells(parsed, case[0], {"dustfall": "dustfall"})


@FUZZ
@given(st.one_of(RANDOM_BYTES.map(lambda b: (None, b, False)),
                 st.tuples(table(["site", "date", "ph", "rainfall"],
                                 fixed={"date": st.sampled_from(["2023-03-02", "2023-02-30"])}), st.just(b""),
                           st.just(False))))
def test_fuzz_rain(folder, case):
    p = write_cases(folder, "rain.csv", *case)
    parsed = parse_or_refuse(parse_rain, p)
    if parsed is not None:
        check_data(parsed)
        check_cells(parsed, case[0], {"ph": "ph", "rainfall": "rainfall"})


@FUZZ
@given(st.one_of(RANDOM_BYTES.map(lambda b: (None, b, False)),
                 st.tuples(table(["point", "segment", "zone", "length_km", "leq_day", "leq_night", "date", "district"],
                                 fixed={"zone": st.sampled_from(["1", "4a", "6类"])}), st.just(b""), st.just(False))),
       st.sampled_from(["regional", "road", "zone"]))
def test_fuzz_noise(folder, case, kind):
    p = write_cases(folder, f"noise-{kind}.csv", *case)
    parsed = parse_or_refuse(parse_noise, p, kind, 2023)
    if parsed is not None:
        check_data(parsed)
        fields = {"leq_day": "leq", "leq_night": "leq", **({"length_km": "length_km"} if kind == "road" else {})}
        check_cells(parsed, case[0], fields)
