"""HJ 212 tables in the workspace DuckDB, and the loader that moves write-ahead-log records into them.

Tables (created with ``CREATE TABLE IF NOT EXISTS``; documented in docs/hj212.md):

* ``hj212_packets`` — every accepted packet once: ``packet_key`` (signed 128-bit BLAKE2b of the packet identity
  MN+QN+CN(+PNO), or of the data segment for packets without QN), header fields, ``data_time`` (CP DataTime as
  sent), ``received_at`` (Beijing time), ``peer``, ``raw`` (the packet text, ``##`` to CRC), WAL position, ``note``.
* ``source_data`` — long table, one row per packet × factor for CN 2011/2051/2061/2031: ``mn, st, cn, data_time``
  (Beijing; the acquisition instant for 2011, the **start** of the period for 2051/2061/2031 — docs/rules/hj212.md#commands-and-replies),
  ``period_end`` (2061 + 1 h, 2031 + 1 day, 2051 + the device's minute interval when known), ``hi`` (hours since
  1970-01-01 Beijing of ``period_end``, hourly data only, the store's end-of-hour label), ``factor`` (2017 code;
  2005 codes mapped, 附录B), ``factor_raw`` (as sent), ``rtd min avg max cou zs_rtd zs_min zs_avg zs_max``, ``flag``
  (表8 N/F/M/S/D/C/T/B as sent), ``eflag``, ``sample_time``, ``extra`` (JSON of other fields), ``packet_key``.
* ``hj212_devices`` — the registry plus ``last_seen``/``last_peer``.
* ``hj212_alerts`` — alerts with ``evidence`` (JSON text incl. the raw packet), ``status`` ``open``.
* ``hj212_rejects`` — frames refused (CRC, length, unknown MN, wrong PW …) with the reason and the raw bytes.
* ``hj212_split_done`` — split packets (PNUM/PNO) already reassembled into ``source_data``.
* ``hj212_wal_state`` — the WAL position loaded so far, committed with the data it covers.
* ``hj212_feed_pending`` — (MN, hour) of environmental-quality devices (``station`` set, ST=21/22) whose
  ``source_data`` rows changed and are not yet fed into the measurement tables; written in the load's transaction,
  emptied by the feed (:mod:`qingshan.feeds.quality`) in its own, so a crash between the two loses nothing.
* ``hj212_feed_rows`` — the feed's working copy of the quality devices' 2011/2051/2061 rows of the last hours
  (``feed_hi``: the row's end-of-hour label), written in the load's transaction beside ``source_data`` and pruned
  by the feed, so that feeding a station-hour reads its few hundred rows here instead of scanning
  ``source_data``; ``hj212_feed_horizon.complete_from``: from this hour on the copy holds every row (hours before
  it, or pruned, are read from ``source_data``).

Loading is idempotent: ``hj212_packets.packet_key`` is the primary key and rows for ``source_data`` are written only
for packets whose insert was not a conflict, in the same transaction.  Replaying WAL records after a crash, or a
device re-sending a packet whose acknowledgement it never got, never duplicates anything.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import logging
import re
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from datetime import datetime, timedelta

import duckdb
import pyarrow as pa

from .codec import Hj212Error, Packet, identity_hash, parse, parse_datatime, reassemble, salvage_head
from .config import beijing_now
from .devices import Device
from .factors import CODE_2005_TO_2017, MAX_MAGNITUDE, MEASURED_FIELDS, PHYSICAL_RANGES, value_range
from .rules import Alert, RuleEngine
from .wal import KIND_PACKET, KIND_REJECT, Record

log = logging.getLogger("qingshan.hj212.store")

DATA_CNS = frozenset({"2011", "2051", "2061", "2031"})
NUM_FIELDS = ("Rtd", "Min", "Avg", "Max", "Cou", "ZsRtd", "ZsMin", "ZsAvg", "ZsMax")
NUM_COLS = ("rtd", "min", "avg", "max", "cou", "zs_rtd", "zs_min", "zs_avg", "zs_max")
_NUM_INDEX = {f: 3 + i for i, f in enumerate(NUM_FIELDS)}  # position in a row list
_FLAG, _EFLAG, _SAMPLE, _EXTRA = 12, 13, 14, 15
BEIJING_MS = 8 * 3600 * 1000
EPOCH = datetime(1970, 1, 1)  # naive: the store keeps naive Beijing time (docs/design.md#time)

SCHEMA = f"""
CREATE TABLE IF NOT EXISTS hj212_packets (
    packet_key HUGEINT PRIMARY KEY,
    mn VARCHAR NOT NULL,
    qn VARCHAR,
    st VARCHAR,
    cn VARCHAR NOT NULL,
    flag INTEGER,
    pnum INTEGER,
    pno INTEGER,
    data_time TIMESTAMP,
    received_at TIMESTAMP NOT NULL,
    peer VARCHAR,
    raw VARCHAR NOT NULL,
    wal_seg BIGINT,
    wal_off BIGINT,
    note VARCHAR
);
CREATE TABLE IF NOT EXISTS source_data (
    packet_key HUGEINT NOT NULL,
    mn VARCHAR NOT NULL,
    st VARCHAR,
    cn VARCHAR NOT NULL,
    data_time TIMESTAMP NOT NULL,
    period_end TIMESTAMP,
    hi INTEGER,
    factor VARCHAR NOT NULL,
    factor_raw VARCHAR NOT NULL,
    {", ".join(f'"{c}" DOUBLE' for c in NUM_COLS)},
    flag VARCHAR,
    eflag VARCHAR,
    sample_time TIMESTAMP,
    extra VARCHAR,
    received_at TIMESTAMP NOT NULL
);
CREATE TABLE IF NOT EXISTS hj212_devices (
    mn VARCHAR PRIMARY KEY,
    registered BOOLEAN NOT NULL DEFAULT TRUE,
    password VARCHAR,
    name VARCHAR,
    enterprise VARCHAR,
    outlet VARCHAR,
    station VARCHAR,
    st VARCHAR,
    factors VARCHAR[],
    interval_s INTEGER,
    min_interval INTEGER,
    limits VARCHAR,
    limit_cns VARCHAR[],
    source VARCHAR,
    updated_at TIMESTAMP,
    last_seen TIMESTAMP,
    last_peer VARCHAR
);
CREATE TABLE IF NOT EXISTS hj212_alerts (
    alert_key VARCHAR PRIMARY KEY,
    kind VARCHAR NOT NULL,
    mn VARCHAR NOT NULL,
    enterprise VARCHAR,
    outlet VARCHAR,
    station VARCHAR,
    cn VARCHAR,
    factor VARCHAR,
    data_time TIMESTAMP,
    value DOUBLE,
    threshold DOUBLE,
    message VARCHAR NOT NULL,
    evidence VARCHAR NOT NULL,
    packet_key HUGEINT,
    raised_at TIMESTAMP NOT NULL,
    status VARCHAR NOT NULL DEFAULT 'open'
);
CREATE TABLE IF NOT EXISTS hj212_rejects (
    received_at TIMESTAMP NOT NULL,
    peer VARCHAR,
    mn VARCHAR,
    qn VARCHAR,
    cn VARCHAR,
    reason VARCHAR NOT NULL,
    raw BLOB
);
CREATE TABLE IF NOT EXISTS hj212_split_done (
    packet_key HUGEINT PRIMARY KEY,
    mn VARCHAR,
    qn VARCHAR,
    cn VARCHAR,
    pnum INTEGER,
    assembled_at TIMESTAMP
);
CREATE TABLE IF NOT EXISTS hj212_feed_pending (
    mn VARCHAR NOT NULL,
    hi INTEGER NOT NULL,
    PRIMARY KEY (mn, hi)
);
CREATE TABLE IF NOT EXISTS hj212_feed_rows (
    packet_key HUGEINT NOT NULL,
    mn VARCHAR NOT NULL,
    cn VARCHAR NOT NULL,
    data_time TIMESTAMP NOT NULL,
    period_end TIMESTAMP,
    factor VARCHAR NOT NULL,
    rtd DOUBLE,
    avg DOUBLE,
    flag VARCHAR,
    received_at TIMESTAMP NOT NULL,
    feed_hi INTEGER NOT NULL
);
CREATE TABLE IF NOT EXISTS hj212_feed_horizon (
    id INTEGER PRIMARY KEY,
    complete_from INTEGER NOT NULL
);
ALTER TABLE hj212_devices ADD COLUMN IF NOT EXISTS units VARCHAR;
ALTER TABLE hj212_devices ADD COLUMN IF NOT EXISTS state VARCHAR;
ALTER TABLE hj212_devices ADD COLUMN IF NOT EXISTS lon DOUBLE;
ALTER TABLE hj212_devices ADD COLUMN IF NOT EXISTS lat DOUBLE;
CREATE TABLE IF NOT EXISTS hj212_wal_state (
    id INTEGER PRIMARY KEY,
    seg BIGINT NOT NULL,
    off BIGINT NOT NULL,
    updated_at TIMESTAMP
);
"""


def init_feed_horizon(con: duckdb.DuckDBPyConnection) -> None:
    """Once per workspace, when ``hj212_feed_rows`` is new: the rows loaded before it existed are only in
    ``source_data``, so the copy is complete from the hour after the latest of them on (an upper bound: the hour
    after the latest period end or DataTime, plus one)."""
    if con.execute("SELECT count(*) FROM hj212_feed_horizon").fetchall()[0][0]:
        return
    last = con.execute("SELECT CAST(ceil(epoch(max(coalesce(period_end, data_time))) / 3600) AS INTEGER) "
                       "FROM source_data").fetchall()[0][0]
    con.execute("INSERT INTO hj212_feed_horizon VALUES (1, ?) ON CONFLICT DO NOTHING",
                [-(2**31) + 1 if last is None else int(last) + 2])


def ms_to_beijing(ms: int) -> datetime:
    return EPOCH + timedelta(milliseconds=ms + BEIJING_MS)


def packet_identity(p: Packet, segment: bytes) -> str:
    """MN+QN+CN (+PNO for split parts); packets without QN (2005 style) are identified by their data segment."""
    if p.qn:
        return f"{p.mn}\x1f{p.qn}\x1f{p.cn}\x1f{p.pno if p.pno is not None else ''}"
    return "#" + hashlib.blake2b(segment, digest_size=16).hexdigest()


def packet_key(p: Packet, segment: bytes) -> int:
    return identity_hash(packet_identity(p, segment))


def check_number(code: str, fld: str, v: str) -> tuple[float | None, str | None]:
    """The value of field ``fld`` of factor ``code`` sent as ``v``: ``(x, None)`` for a finite decimal number
    (:data:`NUMBER_RE`) inside :func:`~.factors.value_range`, ``(None, None)`` for an empty value, and
    ``(None, reason)`` for anything else (the SQL in :data:`_SPLIT_SQL` applies the same rules)."""
    if not v:
        return None, None
    if _NUMBER.fullmatch(v) is None:
        return None, "不是有限的十进制数"
    x = float(v)
    lo, hi = value_range(code, fld)
    if not lo <= x <= hi:  # also inf (a finite-looking number too large for a double)
        return None, f"超出物理范围 [{lo:g}, {hi:g}]"
    return x, None


def _dt_ms(dt: datetime) -> int:
    return (dt - EPOCH) // timedelta(milliseconds=1)


# A decimal number as devices send it (the same rule in SQL and in Python; nan/inf and 1_000 are refused, and so
# is any value outside its physical range: factors.value_range).
NUMBER_RE = r"[+-]?(?:[0-9]+\.?[0-9]*|\.[0-9]+)(?:[eE][+-]?[0-9]+)?"
_NUMBER = re.compile(NUMBER_RE)
_KNOWN_FIELDS = (*NUM_FIELDS, "Flag", "EFlag", "SampleTime")
_SD_TEXT = {f: 2 + i for i, f in enumerate(_KNOWN_FIELDS)}  # a known field's place in a row of split_table


_KNOWN = ", ".join(f"'{f}'" for f in _KNOWN_FIELDS)


def _num_sql(x: str) -> str:
    return f"CASE WHEN regexp_full_match({x}, '{NUMBER_RE}') THEN TRY_CAST({x} AS DOUBLE) END"


def _in_range_sql(c: str, fld: str) -> str:
    """Column ``n_<c>`` (the parsed number) when inside the field's range (``r``: the factor's row of
    ``_factor_range``), else NULL; ±inf fail the magnitude bound, NaN cannot be produced by NUMBER_RE."""
    m = f"CAST({MAX_MAGNITUDE!r} AS DOUBLE)"
    lo, hi = (f"coalesce(r.lo, -{m})", f"coalesce(r.hi, {m})") if fld in MEASURED_FIELDS else (f"-{m}", m)
    return f'CASE WHEN n_{c} BETWEEN {lo} AND {hi} THEN n_{c} END AS "{c}"'


# CP → items (ridx, pos, code, fld, v) in order.  CP was validated by the codec (every item is name=value, no ";"
# or "," inside a value), so a regex split on [;,] yields the items; "code-Fld" is split at the last "-" like
# Python's str.rpartition (regexp + substr work on code points; DuckDB's reverse() works on graphemes).
_SPLIT_SQL = """
CREATE OR REPLACE TEMP TABLE _kv AS
WITH it AS (
    SELECT ridx, unnest(l) AS item, generate_subscripts(l, 1) AS pos
    FROM (SELECT ridx, string_split_regex(cp, '[;,]') AS l FROM _rp WHERE cp <> '')
), kv AS (
    SELECT ridx, pos, substr(item, 1, strpos(item, '=') - 1) AS k, substr(item, strpos(item, '=') + 1) AS v
    FROM it WHERE item <> ''
), c AS (
    SELECT ridx, pos, v, k, regexp_extract(k, '^(.+)-', 1) AS code FROM kv WHERE k LIKE '%_-%'
)
SELECT ridx, pos, v, code, substr(k, length(code) + 2) AS fld FROM c WHERE code <> '';
CREATE OR REPLACE TEMP TABLE _sd AS
WITH p AS (
    SELECT ridx, code, min(pos) AS pos,
""" + ",\n".join(f"        arg_min(v, pos) FILTER (WHERE fld = '{f}') AS t_{c}"
                   for f, c in zip(NUM_FIELDS, NUM_COLS, strict=True)) + """,
        arg_min(v, pos) FILTER (WHERE fld = 'Flag') AS flag,
        arg_min(v, pos) FILTER (WHERE fld = 'EFlag') AS eflag,
        arg_min(v, pos) FILTER (WHERE fld = 'SampleTime') AS t_sample
    FROM _kv GROUP BY ridx, code
), x AS (
    SELECT ridx, code, CAST(to_json(map(list(fld ORDER BY pos), list(v ORDER BY pos))) AS VARCHAR) AS extra
    FROM (SELECT ridx, code, fld, arg_min(v, pos) AS v, min(pos) AS pos FROM _kv
          WHERE fld NOT IN (""" + _KNOWN + """) GROUP BY ridx, code, fld)
    GROUP BY ridx, code
), n AS (
    SELECT p.* EXCLUDE (code), coalesce(m.factor, p.code) AS factor, p.code AS factor_raw,
""" + ",\n".join(f'        {_num_sql("t_" + c)} AS n_{c}' for c in NUM_COLS) + """,
        CASE WHEN regexp_full_match(t_sample, '[0-9]{14}') THEN try_strptime(t_sample, '%Y%m%d%H%M%S')
             WHEN regexp_full_match(t_sample, '[0-9]{17}') THEN try_strptime(substr(t_sample, 1, 14),
                  '%Y%m%d%H%M%S') + to_milliseconds(CAST(substr(t_sample, 15, 3) AS INTEGER)) END AS sample_time,
        x.extra
    FROM p LEFT JOIN _code_map m ON m.code = p.code LEFT JOIN x ON x.ridx = p.ridx AND x.code = p.code
)
SELECT n.* EXCLUDE (""" + ", ".join(f"n_{c}" for c in NUM_COLS) + """),
""" + ",\n".join(f"    {_in_range_sql(c, f)}" for f, c in zip(NUM_FIELDS, NUM_COLS, strict=True)) + """
FROM n LEFT JOIN _factor_range r ON r.factor = n.factor
"""

_INSERT_ROWS_SQL = f"""
INSERT INTO source_data
SELECT CAST(h.packet_key AS HUGEINT), h.mn, h.st, h.cn, h.data_time, h.period_end,
    CASE WHEN h.cn = '2061' AND date_trunc('hour', h.period_end) = h.period_end
         THEN CAST(epoch(h.period_end) // 3600 AS INTEGER) END,
    d.factor, d.factor_raw, {", ".join(f'd."{c}"' for c in NUM_COLS)}, d.flag, d.eflag, d.sample_time, d.extra,
    h.received_at
FROM _sd d JOIN _rp h USING (ridx)
"""

#: The end-of-hour label (hours since 1970-01-01 Beijing) of a source_data row, for the feed: 2061 its ``hi``;
#: 2051 the hour holding the end of its minute period (``period_end``, else DataTime + 1 minute); 2011 the hour
#: holding the minute of the instant (labelled by its end).  Shared by the load (pending hours) and the feed query.
HOUR_OF_ROW_SQL = """CASE {p}cn
    WHEN '2061' THEN CASE WHEN date_trunc('hour', {p}period_end) = {p}period_end
                          THEN CAST(epoch({p}period_end) // 3600 AS INTEGER) END
    WHEN '2051' THEN CAST(ceil(epoch(date_trunc('minute', coalesce({p}period_end, {p}data_time + INTERVAL 1 MINUTE)))
                               / 3600) AS INTEGER)
    ELSE CAST(ceil(epoch(date_trunc('minute', {p}data_time) + INTERVAL 1 MINUTE) / 3600) AS INTEGER) END"""

#: Quality devices: they feed the measurement store (docs/hj212.md#环境质量站点入库feed).
QUALITY_DEVICE_SQL = "station IS NOT NULL AND st IN ('21', '22') AND registered"

_TOUCHED_SQL = f"""
CREATE OR REPLACE TEMP TABLE _touched AS
SELECT DISTINCT h.mn, h.cn, {HOUR_OF_ROW_SQL.format(p="h.")} AS hi
FROM _rp h JOIN hj212_devices d ON d.mn = h.mn AND d.station IS NOT NULL AND d.st IN ('21', '22') AND d.registered
WHERE h.cn IN ('2011', '2051', '2061') AND EXISTS (SELECT 1 FROM _sd s WHERE s.ridx = h.ridx);
SELECT mn, cn, hi FROM _touched WHERE hi IS NOT NULL;
"""

#: The load's new rows of quality devices, copied for the feed (``hj212_feed_rows``).
_FEED_ROWS_SQL = f"""
INSERT INTO hj212_feed_rows
SELECT * FROM (
    SELECT CAST(h.packet_key AS HUGEINT), h.mn, h.cn, h.data_time, h.period_end, d.factor, d.rtd, d.avg, d.flag,
           h.received_at, {HOUR_OF_ROW_SQL.format(p="h.")} AS feed_hi
    FROM _sd d JOIN _rp h USING (ridx)
    JOIN hj212_devices v ON v.mn = h.mn AND v.station IS NOT NULL AND v.st IN ('21', '22') AND v.registered
    WHERE h.cn IN ('2011', '2051', '2061')
) WHERE feed_hi IS NOT NULL
"""

_BAD_NUMBERS_SQL = """
SELECT ridx, factor_raw, b.f, b.t FROM (
    SELECT ridx, pos, factor_raw, unnest([""" + ", ".join(
    f"{{'f': '{f}', 't': t_{c}, 'x': \"{c}\"}}"
    for f, c in zip(NUM_FIELDS, NUM_COLS, strict=True)) + """]) AS b FROM _sd)
WHERE b.t <> '' AND b.x IS NULL
ORDER BY ridx, pos
"""

_RULE_INPUT_SQL = """
SELECT d.ridx, d.factor,
    CASE WHEN h.cn = '2011' THEN d.rtd ELSE d.avg END AS measured,
    CASE WHEN h.cn = '2011' THEN coalesce(d.zs_rtd, d.rtd) ELSE coalesce(d.zs_avg, d.avg) END AS judged,
    CASE WHEN h.cn = '2011' THEN CASE WHEN d.zs_rtd IS NULL THEN 'Rtd' ELSE 'ZsRtd' END
         ELSE CASE WHEN d.zs_avg IS NULL THEN 'Avg' ELSE 'ZsAvg' END END AS jfield,
    d.flag
FROM _sd d JOIN _rp h USING (ridx)
ORDER BY d.ridx, d.pos
"""


def _arrow(con: duckdb.DuckDBPyConnection, sql: str) -> pa.Table:
    """A query result as an Arrow table (``to_arrow_table`` in DuckDB ≥ 2, ``arrow`` before)."""
    rel = con.sql(sql)
    f = getattr(rel, "to_arrow_table", None) or rel.arrow
    return f()


def _source(p: Packet) -> str:
    return f"hj212 MN={p.mn} QN={p.qn or ''} CN={p.cn}"


def reference_rows(p: Packet) -> list[dict]:
    """The ``source_data`` values of one packet computed in plain Python (the specification that the SQL in
    :meth:`Hj212Store._load_rows` is tested against): one dict per factor, in order of first appearance."""
    out: dict[str, dict] = {}
    for g in p.cp:
        for k, v in g:
            code, dash, fld = k.rpartition("-")
            if not dash or not code:
                continue
            r = out.get(code)
            if r is None:
                r = out[code] = {"factor": CODE_2005_TO_2017.get(code, code), "factor_raw": code,
                                 **{c: None for c in NUM_COLS}, "flag": None, "eflag": None, "sample_time": None,
                                 "extra": {}, "_seen": set()}
            if fld in r["_seen"]:
                continue
            r["_seen"].add(fld)
            if fld in _NUM_INDEX:
                r[NUM_COLS[NUM_FIELDS.index(fld)]] = check_number(code, fld, v)[0]
            elif fld == "Flag":
                r["flag"] = v
            elif fld == "EFlag":
                r["eflag"] = v
            elif fld == "SampleTime":
                r["sample_time"] = parse_datatime(v)
            else:
                r["extra"][fld] = v
    rows = []
    for r in out.values():
        del r["_seen"]
        r["extra"] = r["extra"] or None
        rows.append(r)
    return rows


#: Loads of at most this many data packets split CP in Python (:func:`split_table`), larger ones in DuckDB
#: (:data:`_SPLIT_SQL`): under live traffic a load every half second holds a few dozen packets, and the SQL's dozen
#: statements cost ≈ 60 ms however few rows there are (docs/hj212.md#性能live_bench); a replayed backlog of
#: thousands of packets is split faster column-wise, outside the GIL.
PY_SPLIT_MAX = 2000

_SD_TYPES: dict[str, pa.DataType] = {
    "ridx": pa.int32(), "pos": pa.int64(), **{f"t_{c}": pa.string() for c in NUM_COLS}, "flag": pa.string(),
    "eflag": pa.string(), "t_sample": pa.string(), "factor": pa.string(), "factor_raw": pa.string(),
    "sample_time": pa.timestamp("us"), "extra": pa.string(), **{c: pa.float64() for c in NUM_COLS}}


def split_table(packets: Iterable[Packet]) -> pa.Table:
    """The CP of ``packets`` (``ridx`` = their index) as the rows :data:`_SPLIT_SQL` makes (table ``_sd``), in
    Python: one row per factor code, each field's first value (text and, for numbers, :func:`check_number`), the
    2005 code mapped, ``SampleTime`` parsed, unknown fields as a JSON object in order of first appearance. ``pos``
    orders the rows as the SQL's does (item numbers; the SQL counts empty items too, so only the order is the
    same). Tested equal to the SQL on generated packets (tests/test_hj212_server.py)."""
    out = Columns(_SD_TYPES)
    sample_i = 2 + len(NUM_COLS) + 2
    for ridx, p in enumerate(packets):
        rows: dict[str, list] = {}
        pos = 0
        for g in p.cp:
            for k, v in g:
                pos += 1
                code, dash, fld = k.rpartition("-")
                if not dash or not code:
                    continue
                r = rows.get(code)
                if r is None:  # ridx, pos, the nine texts, flag, eflag, SampleTime text, extra (dict)
                    r = rows[code] = [ridx, pos, *([None] * (len(NUM_COLS) + 3)), {}]
                i = _SD_TEXT.get(fld)
                if i is None:
                    r[-1].setdefault(fld, v)
                elif r[i] is None:
                    r[i] = v
        for code, r in rows.items():
            nums = [None if t is None else check_number(code, f, t)[0]
                    for f, t in zip(NUM_FIELDS, r[2:2 + len(NUM_COLS)], strict=True)]
            extra = r.pop()
            out.add(*r, CODE_2005_TO_2017.get(code, code), code, parse_datatime(r[sample_i]),
                    json.dumps(extra, ensure_ascii=False, separators=(",", ":")) if extra else None, *nums)
    return out.to_table()


# A data packet to split into rows: key, packet, DataTime (parsed, text), received (ms UTC), raw packet text.
Staged = tuple[int, Packet, datetime | None, str | None, int, str]
# A packet whose rows are being split: key, packet, DataTime, DataTime text, raw packet text.
Kept = tuple[int, Packet, datetime, str, str]


class Columns:
    """Rows added one by one (:meth:`add`, values in column order), then one Arrow table for DuckDB: the staging
    tables of the loader, so that no column can be forgotten or fall out of step with the others.  Rows are kept
    as tuples and transposed once in :meth:`to_table` (cheaper per row than one list per column)."""

    def __init__(self, types: dict[str, pa.DataType]) -> None:
        self.types = types
        self.rows: list[tuple] = []

    def add(self, *values: object) -> None:
        self.rows.append(values)

    def __len__(self) -> int:
        return len(self.rows)

    def to_table(self) -> pa.Table:
        cols = list(zip(*self.rows, strict=True)) if self.rows else [() for _ in self.types]
        if len(cols) != len(self.types):
            raise ValueError(f"{len(cols)} values per row for {len(self.types)} columns")
        return pa.table({name: pa.array(col, t) for (name, t), col in zip(self.types.items(), cols, strict=True)})


_MS = pa.timestamp("ms")
PACKET_COLUMNS = {"packet_key": pa.string(), "mn": pa.string(), "qn": pa.string(), "st": pa.string(),
                  "cn": pa.string(), "flag": pa.int32(), "pnum": pa.int32(), "pno": pa.int32(), "data_time": _MS,
                  "received_at": _MS, "peer": pa.string(), "raw": pa.string(), "wal_seg": pa.int64(),
                  "wal_off": pa.int64(), "note": pa.string()}
REJECT_COLUMNS = {"received_at": _MS, "peer": pa.string(), "mn": pa.string(), "qn": pa.string(), "cn": pa.string(),
                  "reason": pa.string(), "raw": pa.binary()}
ROW_HEAD_COLUMNS = {"ridx": pa.int32(), "packet_key": pa.string(), "mn": pa.string(), "st": pa.string(),
                    "cn": pa.string(), "data_time": _MS, "period_end": _MS, "received_at": _MS, "cp": pa.string()}
_PERIOD_MS = {"2061": 3_600_000, "2031": 86_400_000}  # hourly and daily data: the period after DataTime


@dataclass
class _Batch:
    """What phase 1 of a load sorted the WAL records into."""

    packets: Columns = field(default_factory=lambda: Columns(PACKET_COLUMNS))
    rejects: Columns = field(default_factory=lambda: Columns(REJECT_COLUMNS))
    staged: list[Staged] = field(default_factory=list)
    parts: list[tuple[int, Packet]] = field(default_factory=list)
    last: dict[str, tuple[int, str]] = field(default_factory=dict)

    def reject(self, rec: Record, head: dict[str, str], reason: str) -> None:
        self.rejects.add(rec.received_ms + BEIJING_MS, rec.peer, head.get("MN"), head.get("QN"), head.get("CN"),
                         reason, rec.raw[:4096])


_HOURLY_CNS = ("2051", "2061")  # a period that can end on the hour


def _is_quality(dev: Device | None) -> bool:
    """An environmental-quality device that feeds the measurement store (as :data:`QUALITY_DEVICE_SQL`)."""
    return dev is not None and dev.station is not None and dev.st in ("21", "22") and dev.registered


def _period_end(p: Packet, dms: int, device: Callable[[str], Device | None]) -> int | None:
    """The end of the period a data packet covers (ms), when known: 2061 + 1 h, 2031 + 1 day, 2051 + the device's
    minute interval; 2011 (an instant) has none."""
    if p.cn in _PERIOD_MS:
        return dms + _PERIOD_MS[p.cn]
    if p.cn == "2051":
        dev = device(p.mn)
        return dms + dev.min_interval * 60_000 if dev is not None and dev.min_interval else None
    return None


def _row_heads(staged: list[Staged], device: Callable[[str], Device | None]
               ) -> tuple[Columns, list[Kept], list[tuple[str, str, str, str]], bool]:
    """The packet-level columns of the rows to split (``_rp``), the packets kept, the quarantine entries of
    packets without a usable DataTime, and whether a kept packet completes an hour (:attr:`LoadResult.closes_hour`)."""
    heads = Columns(ROW_HEAD_COLUMNS)
    kept: list[Kept] = []
    quarantine: list[tuple[str, str, str, str]] = []
    closes = False
    for key, p, dt, dt_text, received_ms, raw_text in staged:
        if dt is None:
            quarantine.append((_source(p), "DataTime", (dt_text or "")[:64], "DataTime 缺失或无效，数据未入 source_data"))
            continue
        dms = _dt_ms(dt)
        end = _period_end(p, dms, device)
        closes = closes or (p.cn in _HOURLY_CNS and end is not None and end % 3_600_000 == 0
                            and _is_quality(device(p.mn)))
        heads.add(len(kept), str(key), p.mn, p.st, p.cn, dms, end, received_ms + BEIJING_MS, p.cp_text)
        kept.append((key, p, dt, dt_text or "", raw_text))
    return heads, kept, quarantine, closes


@contextlib.contextmanager
def _registered(con: duckdb.DuckDBPyConnection, name: str, table: pa.Table) -> Iterator[None]:
    """``table`` visible to SQL as ``name`` for the duration of the block."""
    con.register(name, table)
    try:
        yield
    finally:
        with contextlib.suppress(duckdb.Error):
            con.unregister(name)


@dataclass
class LoadResult:
    records: int = 0
    packets_new: int = 0
    packets_duplicate: int = 0
    rows: int = 0
    rejects: int = 0
    alerts: int = 0
    quarantined: int = 0
    assembled: int = 0
    alert_list: list[Alert] = field(default_factory=list)
    last_seen: dict[str, datetime] = field(default_factory=dict)
    #: (MN, CN, hour index) of environmental-quality devices whose data this load added (also queued in
    #: ``hj212_feed_pending`` for the feed); the hour is the end-of-hour label the value belongs to.
    touched: set[tuple[str, str, int]] = field(default_factory=set)
    #: The load holds the last minute (2051) or the value (2061) of an hour of an environmental-quality device: that
    #: hour is complete and the feed should not wait out its throttle (docs/hj212.md#性能live_bench).
    closes_hour: bool = False


def read_devices(con: duckdb.DuckDBPyConnection, registered_only: bool = True,
                 mns: Iterable[str] | None = None) -> dict[str, Device]:
    """The device registry (of the devices ``mns`` when given) by MN."""
    where, params = [], []
    if registered_only:
        where.append("registered")
    if mns is not None:
        where.append("mn IN (SELECT unnest(?))")
        params.append(list(mns))
    rows = con.execute(
        """SELECT mn, password, name, enterprise, outlet, station, st, factors, interval_s, min_interval, limits,
                  limit_cns, registered, units, state, lon, lat FROM hj212_devices"""
        + (" WHERE " + " AND ".join(where) if where else ""), params).fetchall()
    out = {}
    for r in rows:
        out[r[0]] = Device(
            mn=r[0], password=r[1], name=r[2], enterprise=r[3], outlet=r[4], station=r[5], st=r[6],
            factors=tuple(r[7] or ()), interval_s=r[8], min_interval=r[9],
            limits=json.loads(r[10]) if r[10] else {}, limit_cns=tuple(r[11] or ("2061", "2031")),
            registered=bool(r[12]), units=json.loads(r[13]) if r[13] else {}, state=r[14], lon=r[15], lat=r[16])
    return out


class Hj212Store:
    """HJ 212 tables on a workspace connection.  Not thread-safe: one loader thread owns it."""

    def __init__(self, con: duckdb.DuckDBPyConnection) -> None:
        self.con = con
        con.execute(SCHEMA)
        init_feed_horizon(con)
        # 2005 → 2017 factor codes (附录B), for the SQL that splits CP into rows; constants from factors.py
        values = ", ".join(f"('{a}', '{b}')" for a, b in sorted(CODE_2005_TO_2017.items()))
        con.execute(f"CREATE OR REPLACE TEMP TABLE _code_map AS SELECT * FROM (VALUES {values}) t(code, factor)")
        ranges = ", ".join(f"('{c}', {lo!r}, {hi!r})" for c, (lo, hi) in sorted(PHYSICAL_RANGES.items()))
        con.execute("CREATE OR REPLACE TEMP TABLE _factor_range (factor VARCHAR, lo DOUBLE, hi DOUBLE);"
                    f"INSERT INTO _factor_range VALUES {ranges}")

    # -- WAL position --------------------------------------------------------------------------------------------

    def wal_position(self) -> tuple[int, int]:
        rows = self.con.execute("SELECT seg, off FROM hj212_wal_state WHERE id = 1").fetchall()
        return (0, 0) if not rows else (int(rows[0][0]), int(rows[0][1]))

    # -- devices -----------------------------------------------------------------------------------------------

    def upsert_devices(self, devices: Iterable[Device], source: str) -> dict[str, int]:
        devs = list(devices)
        if not devs:
            return {"new": 0, "updated": 0}
        existing = {r[0] for r in self.con.execute(
            "SELECT mn FROM hj212_devices WHERE registered AND mn IN (SELECT unnest(?))", [[d.mn for d in devs]]
        ).fetchall()}
        now = beijing_now()
        t = pa.table({
            "mn": [d.mn for d in devs],
            "password": [d.password for d in devs],
            "name": [d.name for d in devs],
            "enterprise": [d.enterprise for d in devs],
            "outlet": [d.outlet for d in devs],
            "station": [d.station for d in devs],
            "st": [d.st for d in devs],
            "factors": pa.array([list(d.factors) for d in devs], pa.list_(pa.string())),
            "interval_s": pa.array([d.interval_s for d in devs], pa.int32()),
            "min_interval": pa.array([d.min_interval for d in devs], pa.int32()),
            "limits": [json.dumps(dict(d.limits), ensure_ascii=False) if d.limits else None for d in devs],
            "limit_cns": pa.array([list(d.limit_cns) for d in devs], pa.list_(pa.string())),
            "units": [json.dumps(dict(d.units), ensure_ascii=False) if d.units else None for d in devs],
            "state": pa.array([d.state for d in devs], pa.string()),
            "lon": pa.array([d.lon for d in devs], pa.float64()),
            "lat": pa.array([d.lat for d in devs], pa.float64()),
            "source": [source] * len(devs),
            "updated_at": pa.array([now] * len(devs), pa.timestamp("us")),
        })
        with _registered(self.con, "_dev", t):
            self.con.execute("""
                INSERT INTO hj212_devices (mn, registered, password, name, enterprise, outlet, station, st, factors,
                    interval_s, min_interval, limits, limit_cns, source, updated_at, units, state, lon, lat)
                SELECT mn, TRUE, password, name, enterprise, outlet, station, st, factors, interval_s, min_interval,
                    limits, limit_cns, source, updated_at, units, state, lon, lat FROM _dev
                ON CONFLICT (mn) DO UPDATE SET registered = TRUE, password = excluded.password,
                    name = excluded.name, enterprise = excluded.enterprise, outlet = excluded.outlet,
                    station = excluded.station, st = excluded.st, factors = excluded.factors,
                    interval_s = excluded.interval_s, min_interval = excluded.min_interval,
                    limits = excluded.limits, limit_cns = excluded.limit_cns, source = excluded.source,
                    updated_at = excluded.updated_at, units = excluded.units, state = excluded.state,
                    lon = excluded.lon, lat = excluded.lat""")
        return {"new": len(devs) - len(existing), "updated": len(existing)}

    def devices(self, registered_only: bool = True) -> dict[str, Device]:
        return read_devices(self.con, registered_only)

    def device_list(self, limit: int) -> tuple[list[tuple], int]:
        """The newest ``limit`` registry rows for display (registered first, by MN) and how many there are."""
        rows = self.con.execute(
            """SELECT mn, registered, coalesce(enterprise, station, name, ''), coalesce(outlet, ''), interval_s,
                      array_to_string(factors, ';'), last_seen, last_peer
               FROM hj212_devices ORDER BY registered DESC, mn LIMIT ?""", [limit]).fetchall()
        return rows, int(self.con.execute("SELECT count(*) FROM hj212_devices").fetchall()[0][0])

    def alert_list(self, kind: str | None, limit: int) -> tuple[list[tuple], int]:
        """The newest ``limit`` alerts (of one kind when given) for display, and how many there are."""
        where, params = (" WHERE kind = ?", [kind]) if kind else ("", [])
        rows = self.con.execute(f"SELECT raised_at, kind, mn, message, status FROM hj212_alerts{where} "
                                "ORDER BY raised_at DESC LIMIT ?", [*params, limit]).fetchall()
        total = self.con.execute(f"SELECT count(*) FROM hj212_alerts{where}", params).fetchall()[0][0]
        return rows, int(total)

    def last_seen(self) -> dict[str, datetime]:
        return dict(self.con.execute(
            "SELECT mn, last_seen FROM hj212_devices WHERE last_seen IS NOT NULL").fetchall())

    # -- alerts ---------------------------------------------------------------------------------------------------

    def insert_alerts(self, alerts: list[Alert], device: Callable[[str], Device | None]) -> int:
        if not alerts:
            return 0
        now = beijing_now()
        devs = [device(a.mn) for a in alerts]
        t = pa.table({
            "alert_key": [a.key for a in alerts],
            "kind": [a.kind for a in alerts],
            "mn": [a.mn for a in alerts],
            "enterprise": [d.enterprise if d else None for d in devs],
            "outlet": [d.outlet if d else None for d in devs],
            "station": [d.station if d else None for d in devs],
            "cn": [a.cn for a in alerts],
            "factor": [a.factor for a in alerts],
            "data_time": pa.array([a.data_time for a in alerts], pa.timestamp("us")),
            "value": pa.array([a.value for a in alerts], pa.float64()),
            "threshold": pa.array([a.threshold for a in alerts], pa.float64()),
            "message": [a.message for a in alerts],
            "evidence": [json.dumps(a.evidence, ensure_ascii=False, default=str) for a in alerts],
            "packet_key": [None if a.packet_key is None else str(a.packet_key) for a in alerts],
            "raised_at": pa.array([now] * len(alerts), pa.timestamp("us")),
        })
        with _registered(self.con, "_al", t):
            n = self.con.execute("""
                INSERT INTO hj212_alerts (alert_key, kind, mn, enterprise, outlet, station, cn, factor, data_time,
                    value, threshold, message, evidence, packet_key, raised_at)
                SELECT alert_key, kind, mn, enterprise, outlet, station, cn, factor, data_time, value, threshold,
                    message, evidence, CAST(packet_key AS HUGEINT), raised_at FROM _al
                ON CONFLICT DO NOTHING RETURNING alert_key""").fetchall()
        return len(n)

    # -- loading ---------------------------------------------------------------------------------------------------

    def load(self, records: list[Record], position: tuple[int, int], device: Callable[[str], Device | None],
             rules: RuleEngine | None, parsed: dict[tuple[int, int], Packet] | None = None) -> LoadResult:
        """Load WAL records and record ``position`` as loaded, in one transaction (idempotent).

        ``parsed`` may hold packets the server already parsed, keyed by WAL position (an optimisation: entries are
        popped; records without an entry are parsed again).
        """
        con = self.con
        res = LoadResult(records=len(records))
        con.execute("BEGIN TRANSACTION")
        try:
            self._load(records, device, rules, res, parsed if parsed is not None else {})
            con.execute(
                """INSERT INTO hj212_wal_state VALUES (1, ?, ?, ?) ON CONFLICT (id) DO UPDATE
                   SET seg = excluded.seg, off = excluded.off, updated_at = excluded.updated_at""",
                [position[0], position[1], beijing_now()])
            con.execute("COMMIT")
        except BaseException:
            con.execute("ROLLBACK")
            raise
        return res

    def _load(self, records: list[Record], device: Callable[[str], Device | None], rules: RuleEngine | None,
              res: LoadResult, parsed: dict[tuple[int, int], Packet]) -> None:
        """The phases of one load: sort the records, store the packets, reassemble split packets, split the data
        packets into ``source_data`` rows (and run the rules), keep the refused frames, note who was seen last."""
        batch = self._stage(records, parsed, res)
        new_keys = self._insert_packets(batch.packets)
        res.packets_new = len(new_keys)
        res.packets_duplicate += len(batch.packets) - len(new_keys)
        staged = batch.staged if len(new_keys) == len(batch.packets) else [
            x for x in batch.staged if x[0] in new_keys]
        staged.extend(self._assemble_parts(batch.parts, new_keys, res))
        self._load_rows(staged, device, rules, res)
        res.rejects = self._insert_rejects(batch.rejects)
        res.last_seen = self._update_last_seen(batch.last)

    @staticmethod
    def _stage(records: list[Record], parsed: dict[tuple[int, int], Packet], res: LoadResult) -> _Batch:
        """Phase 1 (Python): one ``hj212_packets`` row per distinct packet, the refused frames, the data packets
        to split, the parts of split packets and each device's latest arrival."""
        batch = _Batch()
        seen: set[int] = set()
        pop = parsed.pop
        for rec in records:
            if rec.kind != KIND_PACKET:
                if rec.kind == KIND_REJECT:
                    h = salvage_head(rec.raw[6:-4] if rec.raw[:2] == b"##" else rec.raw)
                    batch.reject(rec, h, rec.note or "拒收")
                continue
            p = pop((rec.seg, rec.off), None)
            if p is None:
                try:
                    p = parse(rec.raw, verify_crc=False)
                except Hj212Error as e:  # cannot happen for records the server accepted; kept for safety
                    batch.reject(rec, {}, f"预写日志记录无法解析：{e.message}")
                    continue
            key = identity_hash(packet_identity(p, rec.raw[6:-4]))
            if key in seen:
                res.packets_duplicate += 1
                continue
            seen.add(key)
            dt_text = p.cp_value("DataTime")
            dt = parse_datatime(dt_text)
            raw_text = rec.raw.decode("utf-8")
            is_data = p.cn in DATA_CNS
            note = None if dt is not None or not is_data else (
                "DataTime 缺失" if dt_text is None else f"DataTime 无效：{dt_text[:32]}")
            batch.packets.add(str(key), p.mn, p.qn, p.st, p.cn, p.flag, p.pnum, p.pno,
                              None if dt is None else _dt_ms(dt), rec.received_ms + BEIJING_MS, rec.peer, raw_text,
                              rec.seg, rec.off, note)
            prev = batch.last.get(p.mn)
            if prev is None or rec.received_ms > prev[0]:
                batch.last[p.mn] = (rec.received_ms, rec.peer)
            if p.pnum is not None:
                batch.parts.append((key, p))
            elif is_data:
                batch.staged.append((key, p, dt, dt_text, rec.received_ms, raw_text))
        return batch

    def _insert_packets(self, packets: Columns) -> set[int]:
        """Phase 2: insert the packets; the keys that were new (a conflict is a packet stored before)."""
        if not len(packets):
            return set()
        with _registered(self.con, "_pk", packets.to_table()):
            return {int(r[0]) for r in self.con.execute("""
                INSERT INTO hj212_packets SELECT CAST(packet_key AS HUGEINT), mn, qn, st, cn, flag, pnum, pno,
                    data_time, received_at, peer, raw, wal_seg, wal_off, note FROM _pk
                ON CONFLICT DO NOTHING RETURNING packet_key""").fetchall()}

    def _assemble_parts(self, parts: list[tuple[int, Packet]], new_keys: set[int], res: LoadResult) -> list[Staged]:
        """Phase 3: the split packets whose parts are now all stored, reassembled into one data packet each."""
        out = []
        for mn, qn, cn, pnum in {(p.mn, p.qn, p.cn, p.pnum) for k, p in parts if k in new_keys}:
            a = self._assemble(mn, qn, cn, pnum)
            if a is not None:
                out.append(a)
                res.assembled += 1
        return out

    def _insert_rejects(self, rejects: Columns) -> int:
        """Phase 5: the refused frames, as received."""
        if len(rejects):
            with _registered(self.con, "_rej", rejects.to_table()):
                self.con.execute("INSERT INTO hj212_rejects SELECT received_at, peer, mn, qn, cn, reason, raw FROM _rej")
        return len(rejects)

    def _update_last_seen(self, last: dict[str, tuple[int, str]]) -> dict[str, datetime]:
        """Phase 6: each device's latest arrival and address (unknown devices get an unregistered row)."""
        if not last:
            return {}
        t = pa.table({"mn": list(last), "last_seen": pa.array([v[0] + BEIJING_MS for v in last.values()],
                                                              pa.timestamp("ms")),
                      "last_peer": [v[1] for v in last.values()]})
        with _registered(self.con, "_ls", t):
            self.con.execute("""
                INSERT INTO hj212_devices (mn, registered, last_seen, last_peer)
                SELECT mn, FALSE, last_seen, last_peer FROM _ls
                ON CONFLICT (mn) DO UPDATE SET
                    last_seen = greatest(coalesce(hj212_devices.last_seen, excluded.last_seen), excluded.last_seen),
                    last_peer = excluded.last_peer""")
        return {mn: ms_to_beijing(v[0]) for mn, v in last.items()}

    def _load_rows(self, staged: list[Staged], device: Callable[[str], Device | None], rules: RuleEngine | None,
                   res: LoadResult) -> None:
        """Phase 4: ``source_data`` rows for newly stored data packets, split from CP inside DuckDB (column-wise,
        outside the GIL); then the rules over the values that came in.  :func:`reference_rows` is the same in
        Python.  Packets without a usable DataTime and invalid numbers go to the quarantine."""
        heads, kept, quarantine, res.closes_hour = _row_heads(staged, device)
        if kept:
            with _registered(self.con, "_rp", heads.to_table()):
                self._split_rows(kept, device, rules, res, quarantine)
        if quarantine:
            q = pa.table({"source": [x[0] for x in quarantine], "field": [x[1] for x in quarantine],
                          "raw": [x[2] for x in quarantine], "reason": [x[3] for x in quarantine]})
            with _registered(self.con, "_q", q):
                self.con.execute("INSERT INTO quarantine (import_id, source, line, field, raw, reason) "
                                 "SELECT NULL, source, NULL, field, raw, reason FROM _q")
            res.quarantined = len(quarantine)

    def _split_rows(self, kept: list[Kept], device: Callable[[str], Device | None], rules: RuleEngine | None,
                    res: LoadResult, quarantine: list[tuple[str, str, str, str]]) -> None:
        """Split the CP of the packets in ``_rp`` into ``source_data``, quarantine bad numbers, run the rules."""
        con = self.con
        if len(kept) <= PY_SPLIT_MAX:
            with _registered(con, "_sd_py", split_table(k[1] for k in kept)):
                con.execute("CREATE OR REPLACE TEMP TABLE _sd AS SELECT * FROM _sd_py")
        else:
            con.execute(_SPLIT_SQL)
        res.rows = int(con.execute(_INSERT_ROWS_SQL).fetchall()[0][0])
        res.touched = {(mn, cn, int(hi)) for mn, cn, hi in con.execute(_TOUCHED_SQL).fetchall()}
        if res.touched:
            con.execute("INSERT INTO hj212_feed_pending SELECT DISTINCT mn, hi FROM _touched WHERE hi IS NOT NULL "
                        "ON CONFLICT DO NOTHING")
            con.execute(_FEED_ROWS_SQL)
        for ridx, code, fld, value in con.execute(_BAD_NUMBERS_SQL).fetchall():
            why = check_number(code, fld, value)[1] or "数值无效"
            quarantine.append((_source(kept[ridx][1]), f"{code}-{fld}", value[:64], f"数值无效（{why}），按缺失处理"))
        if rules is not None and res.rows:
            alerts = self._run_rules(_arrow(con, _RULE_INPUT_SQL), kept, rules)
            if alerts:
                res.alerts = self.insert_alerts(alerts, device)
                res.alert_list = alerts

    @staticmethod
    def _run_rules(t: pa.Table, kept: list[tuple[int, Packet, datetime, str, str]], rules: RuleEngine) -> list[Alert]:
        ridx = t.column("ridx").to_pylist()
        factor = t.column("factor").to_pylist()
        measured = t.column("measured").to_pylist()
        judged = t.column("judged").to_pylist()
        jfield = t.column("jfield").to_pylist()
        flag = t.column("flag").to_pylist()
        alerts: list[Alert] = []
        n = len(ridx)
        i = 0
        while i < n:
            r = ridx[i]
            j = i
            while j < n and ridx[j] == r:
                j += 1
            key, p, dt, dt_text, raw = kept[r]
            obs = list(zip(factor[i:j], measured[i:j], judged[i:j], jfield[i:j], flag[i:j], strict=True))
            found = rules.observe(key, p.mn, p.cn, p.qn, dt, dt_text, obs, raw)
            if found:
                alerts.extend(found)
            i = j
        return alerts

    def _assemble(self, mn: str, qn: str | None, cn: str, pnum: int):
        con = self.con
        rows = con.execute(
            """SELECT pno, raw FROM hj212_packets WHERE mn = ? AND qn IS NOT DISTINCT FROM ? AND cn = ? AND pnum = ?
               ORDER BY pno, received_at DESC""", [mn, qn, cn, pnum]).fetchall()
        latest: dict[int, str] = {}
        for pno, raw in rows:
            latest.setdefault(int(pno), raw)
        if sorted(latest) != list(range(1, pnum + 1)):
            return None
        raws = [latest[i] for i in range(1, pnum + 1)]
        ident = (f"{mn}\x1f{qn}\x1f{cn}\x1fALL{pnum}" if qn
                 else "#split" + hashlib.blake2b("\n".join(raws).encode(), digest_size=16).hexdigest())
        key = identity_hash(ident)
        done = con.execute(
            "INSERT INTO hj212_split_done VALUES (CAST(? AS HUGEINT), ?, ?, ?, ?, ?) ON CONFLICT DO NOTHING "
            "RETURNING packet_key", [str(key), mn, qn, cn, pnum, beijing_now()]).fetchall()
        if not done:
            return None
        try:
            whole = reassemble([parse(r, verify_crc=False) for r in raws])
        except Hj212Error as e:
            log.warning("分包无法合并（MN=%s QN=%s）：%s", mn, qn, e.message)
            return None
        dt_text = whole.cp_value("DataTime")
        first = con.execute("SELECT epoch_ms(max(received_at)) - ? FROM hj212_packets WHERE mn = ? AND "
                            "qn IS NOT DISTINCT FROM ? AND cn = ? AND pnum = ?",
                            [BEIJING_MS, mn, qn, cn, pnum]).fetchall()
        received_ms = int(first[0][0]) if first and first[0][0] is not None else 0
        return (key, whole, parse_datatime(dt_text), dt_text, received_ms, "\n".join(raws))
