"""Data review (数据审核) in the store: the append-only log of review marks and the reviewed view of ``air_hourly``
(docs/review.md).

* ``review_marks`` (migration 5) — one row per mark: who (``by_user``), when (``marked_at``, wall clock), through what
  (``via``: cli, api, console, xlsx), ``action`` (invalidate / restore), ``station``, ``pollutants`` (comma list in
  :data:`~qingshan.standards.pollutants.SIX` order), the inclusive hour range ``hi_from … hi_to``, ``reason`` (a
  code of :data:`~qingshan.standards.review.REASONS`), ``note`` (free text), ``suggestion`` (the pre-check it
  confirms, if any) and the counts of valid values before and after (``before_counts`` / ``after_counts``, JSON
  per pollutant: ``raw`` stored values, ``reviewed`` valid for publication, ``assessment`` valid with dust hours
  deducted). Rows are never updated or deleted; ``air_hourly`` is never changed by a mark.
* ``review_dismissals`` — pre-check suggestions a reviewer dismissed (kept, with who and when).

**The current state is the fold of the log**: a station-hour-pollutant is invalid in a *layer* when some
``invalidate`` mark of that layer covers it and no later ``restore`` does. Marks with reason ``dust`` form the
layer ``dust`` (deducted only when the rule set's ``exclude_dust`` is on, 环办监测〔2016〕120号); all other
reasons the layer ``invalid`` (always deducted from reviewed data). A restore clears both layers.

:func:`air_source` is the one function that evaluations read through: the SQL relation of ``air_hourly`` with the
marks applied at read time (invalid values → NULL), or plain ``air_hourly`` for raw data or when no marks exist.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Literal

import duckdb
import pandas as pd

from ..errors import QingshanError
from ..standards.pollutants import SIX
from ..standards.review import DUST, INVALIDATE, OTHER, REASONS, RESTORE, ReviewInputError
from . import eval_cache
from .schema import PUBLISHED, has_table

Con = duckdb.DuckDBPyConnection
DataKind = Literal["reviewed", "raw"]
DATA_KINDS: tuple[str, ...] = ("reviewed", "raw")
#: the longest range one mark may cover (hours): a year and a day, so that a slip in a date cannot mark decades
MAX_HOURS = 366 * 24 + 24
VIAS = ("cli", "api", "console", "xlsx")

MARK_FIELDS = ("mark_id", "marked_at", "by_user", "via", "action", "station", "pollutants", "hi_from", "hi_to", "reason",
               "note", "suggestion", "before_counts", "after_counts")

#: the fold of the log: one row per station × hour × pollutant × layer that is currently invalid, with the mark
#: that made it so (the latest invalidate after the latest restore)
_EFFECTIVE = """
WITH m AS (SELECT mark_id, action, CASE WHEN reason = 'dust' THEN 'dust' ELSE 'invalid' END AS layer, station,
                  unnest(string_split(pollutants, ',')) AS p, hi_from, hi_to FROM review_marks),
     h AS (SELECT mark_id, action, layer, station, p, unnest(range(hi_from, hi_to + 1)) AS hi FROM m),
     r AS (SELECT station, p, hi, max(mark_id) AS last_restore FROM h WHERE action = 'restore' GROUP BY ALL)
SELECT h.station, CAST(h.hi AS INTEGER) AS hi, h.p, h.layer, max(h.mark_id) AS mark_id
FROM h LEFT JOIN r ON r.station = h.station AND r.p = h.p AND r.hi = h.hi
WHERE h.action = 'invalidate' AND h.mark_id > coalesce(r.last_restore, 0)
GROUP BY ALL
"""


class ReviewError(QingshanError, ValueError):
    """A review request the store cannot carry out (unknown station, bad range …); one Chinese line."""


def data_kind(text: str | None) -> DataKind:
    """``reviewed`` (default) or ``raw``; :class:`ReviewError` for anything else."""
    t = (text or "reviewed").strip().lower()
    if t not in DATA_KINDS:
        raise ReviewError(f"数据口径 {text!r} 无效，可选：reviewed（审核后，默认）| raw（原始数据）")
    return t  # type: ignore[return-value]


def reviewed_available(con: Con) -> bool:
    """Can this store give reviewed data (it holds the review log: a migrated workspace, not a lake)?"""
    return has_table(con, "review_marks")


def review_version(con: Con) -> tuple[int, int]:
    """(last mark id, dismissals): changes whenever a reviewer acts (part of the console's cache key)."""
    if not has_table(con, "review_marks"):
        return (0, 0)
    a, b = con.execute("SELECT (SELECT coalesce(max(mark_id), 0) FROM review_marks), "
                       "(SELECT count(*) FROM review_dismissals)").fetchone()
    return int(a), int(b)


def has_dust_marks(con: Con) -> bool:
    """Has any station-hour ever been marked 沙尘天气影响 (else deducting dust hours changes nothing)?"""
    return has_table(con, "review_marks") and bool(
        con.execute("SELECT count(*) FROM review_marks WHERE reason = ?", [DUST]).fetchall()[0][0])


def has_marks(con: Con) -> bool:
    """Does the store hold any review mark (none without the table: an older or read-only workspace)?"""
    return has_table(con, "review_marks") and bool(con.execute("SELECT count(*) FROM review_marks").fetchall()[0][0])


def _layers(exclude_dust: bool) -> str:
    return "('invalid', 'dust')" if exclude_dust else "('invalid')"


def air_source(con: Con, data: str = "reviewed", exclude_dust: bool = False) -> str:
    """The relation evaluations read instead of ``air_hourly`` (same columns): for ``data="reviewed"`` the
    six pollutants of invalidated station-hours read as NULL (with ``exclude_dust`` also PM10/PM2.5 of hours
    marked 沙尘天气影响); the published ``pub_*`` values are the publisher's and stay as stored. ``raw`` data, or a
    store without marks, read ``air_hourly`` itself — so outputs without marks are exactly the old ones."""
    if data_kind(data) == "raw" or not has_marks(con):
        return "air_hourly"
    flags = ", ".join(f"bool_or(p = '{p}') AS x_{p}" for p in SIX)
    values = ", ".join(f"CASE WHEN x.x_{p} THEN NULL ELSE a.{p} END AS {p}" for p in SIX)
    pub = ", ".join(f"a.{c}" for c in PUBLISHED)
    return (f"(SELECT a.station, a.hi, a.ts, {values}, {pub}, a.import_id FROM air_hourly a LEFT JOIN "
            f"(SELECT station, hi, {flags} FROM ({_EFFECTIVE}) e WHERE layer IN {_layers(exclude_dust)} "
            f"GROUP BY station, hi) x ON x.station = a.station AND x.hi = a.hi)")


def data_label(data: str, exclude_dust: bool = False) -> str:
    """The line every output carries to say which data it used (Chinese)."""
    if data_kind(data) == "raw":
        return "数据口径：原始数据（未经审核）"
    return "数据口径：审核后数据" + ("（已扣除沙尘天气影响时段的 PM10、PM2.5）" if exclude_dust else "")


# --- recording marks ------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class MarkRequest:
    """One mark to record: ``pollutants`` already checked (:func:`qingshan.standards.review.parse_pollutants`)."""

    action: str
    station: str
    pollutants: tuple[str, ...]
    hi_from: int
    hi_to: int
    reason: str
    note: str | None = None
    suggestion: str | None = None


def _counts(con: Con, station: str, pollutants: tuple[str, ...], hi_from: int, hi_to: int) -> dict[str, dict[str, int]]:
    """Per pollutant: stored values (``raw``), valid for publication (``reviewed``) and for assessment
    (``assessment``, dust hours deducted) in the range."""
    out: dict[str, dict[str, int]] = {p: {} for p in pollutants}
    for key, src in (("raw", "air_hourly"), ("reviewed", air_source(con, "reviewed")),
                     ("assessment", air_source(con, "reviewed", exclude_dust=True))):
        row = con.execute(f"SELECT {', '.join(f'count({p})' for p in pollutants)} FROM {src} "
                          "WHERE station = ? AND hi BETWEEN ? AND ?", [station, hi_from, hi_to]).fetchone()
        for p, n in zip(pollutants, row):
            out[p][key] = int(n)
    return out


def _after(before: dict[str, dict[str, int]], action: str, reason: str) -> dict[str, dict[str, int]]:
    """The counts the mark leaves (the fold's rule, module docstring)."""
    after = {}
    for p, c in before.items():
        if action == RESTORE:
            after[p] = {"raw": c["raw"], "reviewed": c["raw"], "assessment": c["raw"]}
        elif reason == DUST:
            after[p] = {"raw": c["raw"], "reviewed": c["reviewed"], "assessment": 0}
        else:
            after[p] = {"raw": c["raw"], "reviewed": 0, "assessment": 0}
    return after


def check_request(con: Con, req: MarkRequest) -> None:
    """:class:`ReviewError` unless ``req`` can be recorded (known station, sane range, listed reason)."""
    if req.action not in (INVALIDATE, RESTORE):
        raise ReviewError(f"操作 {req.action!r} 无效，可选：{INVALIDATE}（标记无效）| {RESTORE}（恢复有效）")
    if req.reason not in REASONS:
        raise ReviewInputError(f"原因 {req.reason!r} 不在列表中，可选：{'、'.join(REASONS.values())}")
    if req.reason == OTHER and not (req.note or "").strip():
        raise ReviewError("原因为“其他”时须填写说明")
    if not req.pollutants or set(req.pollutants) - set(SIX):
        raise ReviewError(f"污染物无效：{','.join(req.pollutants) or '（空）'}")
    if req.hi_to < req.hi_from:
        raise ReviewError("结束时间早于起始时间")
    if req.hi_to - req.hi_from + 1 > MAX_HOURS:
        raise ReviewError(f"一次标记最多 {MAX_HOURS} 小时（一年）；请分段标记")
    if not con.execute("SELECT count(*) FROM stations WHERE code = ?", [req.station]).fetchall()[0][0]:
        raise ReviewError(f"站点表中没有站点 {req.station!r}")


def record_mark(con: Con, req: MarkRequest, by: str, via: str, at: datetime | None = None) -> dict[str, Any] | None:
    """Append ``req`` to the log (one transaction) and return the logged row; None when it would change nothing
    (every value already in the requested state), so re-applying a mark — or re-importing a workbook — logs
    nothing."""
    check_request(con, req)
    if not (by or "").strip():
        raise ReviewError("审核人不能为空")
    if via not in VIAS:
        raise ReviewError(f"来源 {via!r} 无效")
    con.execute("BEGIN TRANSACTION")
    try:
        before = _counts(con, req.station, req.pollutants, req.hi_from, req.hi_to)
        after = _after(before, req.action, req.reason)
        if after == before:
            con.execute("ROLLBACK")
            return None
        (mark_id,) = con.execute("SELECT nextval('review_mark_seq')").fetchone()
        row = (int(mark_id), at or datetime.now().replace(microsecond=0), by.strip(), via, req.action, req.station,
               ",".join(req.pollutants), int(req.hi_from), int(req.hi_to), req.reason, (req.note or "").strip() or None,
               req.suggestion, json.dumps(before, sort_keys=True), json.dumps(after, sort_keys=True))
        con.execute(f"INSERT INTO review_marks ({', '.join(MARK_FIELDS)}) VALUES ({', '.join('?' * len(MARK_FIELDS))})",
                    list(row))
        eval_cache.note_range(con, req.station, req.hi_from, req.hi_to)  # the evaluation cache recomputes these days
        con.execute("COMMIT")
    except BaseException:
        con.execute("ROLLBACK")
        raise
    return _mark_dict(row)


def _mark_dict(row: tuple) -> dict[str, Any]:
    d = dict(zip(MARK_FIELDS, row))
    for k in ("before_counts", "after_counts"):
        d[k] = json.loads(d[k]) if d[k] else None
    d["reason_label"] = REASONS.get(d["reason"], d["reason"])
    return d


def marks_log(con: Con, station: str | None = None, limit: int = 200) -> list[dict[str, Any]]:
    """The log, newest first (optionally of one station), at most ``limit`` rows; empty without the table."""
    if not has_table(con, "review_marks"):
        return []
    where, params = ("WHERE station = ?", [station]) if station else ("", [])
    rows = con.execute(f"SELECT {', '.join(MARK_FIELDS)} FROM review_marks {where} ORDER BY mark_id DESC LIMIT ?",
                       [*params, int(limit)]).fetchall()
    return [_mark_dict(r) for r in rows]


def current_marks(con: Con) -> pd.DataFrame:
    """The folded state as ranges: ``station, pollutant, layer, hi_from, hi_to, mark_id`` (consecutive hours made
    invalid by the same mark form one range), by station, pollutant and hour."""
    cols = ["station", "pollutant", "layer", "hi_from", "hi_to", "mark_id"]
    if not has_marks(con):
        return pd.DataFrame(columns=cols)
    return con.execute(
        f"""SELECT station, p AS pollutant, layer, min(hi) AS hi_from, max(hi) AS hi_to, mark_id FROM (
                SELECT *, hi - row_number() OVER (PARTITION BY station, p, layer, mark_id ORDER BY hi) AS grp
                FROM ({_EFFECTIVE}) e) GROUP BY station, p, layer, mark_id, grp
            ORDER BY station, array_position({list(SIX)}, p), hi_from""").df()


# --- suggestions: what the pre-checks read and what reviewers dismissed -------------------------------------------


def hourly_values(con: Con, hi_from: int, hi_to: int, stations: list[str] | None = None) -> pd.DataFrame:
    """Raw stored hours ``station, hi`` + six pollutants in the range (optionally of some stations), by station and
    hour: the pre-checks look at what was sent, not at the reviewed view."""
    where, params = "", [hi_from, hi_to]
    if stations is not None:
        where = f" AND station IN ({', '.join('?' * len(stations))})" if stations else " AND FALSE"
        params += list(stations)
    return con.execute(f"SELECT station, hi, {', '.join(SIX)} FROM air_hourly WHERE hi BETWEEN ? AND ?{where} "
                       "ORDER BY station, hi", params).df()


#: HJ 212 factor code → store pollutant (the ambient-air codes of qingshan.hj212.factors)
HJ212_POLLUTANTS = {"a21026": "so2", "a21004": "no2", "a21005": "co", "a05024": "o3", "a34002": "pm10",
                    "a34004": "pm25"}


def hj212_flags(con: Con, hi_from: int, hi_to: int) -> pd.DataFrame:
    """HJ 212 values (real-time, minute, hourly) of registered environmental-quality stations whose data flag is
    not ``N`` (表8): ``station, hi, pollutant, flag`` (one row per station-hour-pollutant, flags joined). Read-only on the HJ 212
    tables (owned by :mod:`qingshan.hj212`); empty without them."""
    cols = ["station", "hi", "pollutant", "flag"]
    if not (has_table(con, "source_data") and has_table(con, "hj212_devices")):
        return pd.DataFrame(columns=cols)
    case = " ".join(f"WHEN '{k}' THEN '{v}'" for k, v in HJ212_POLLUTANTS.items())
    # the hour of a row as the HJ 212 feed counts it (naive Beijing timestamps): 2061 its hi; 2051 the hour holding
    # the end of its minute period; 2011 the hour holding the minute of the instant (labelled by its end)
    hour = ("CASE s.cn WHEN '2061' THEN s.hi "
            "WHEN '2051' THEN CAST(ceil(epoch(date_trunc('minute', coalesce(s.period_end, s.data_time + INTERVAL 1 MINUTE)))"
            " / 3600) AS INTEGER) "
            "ELSE CAST(ceil(epoch(date_trunc('minute', s.data_time) + INTERVAL 1 MINUTE) / 3600) AS INTEGER) END")
    return con.execute(
        f"""SELECT d.station, {hour} AS hi, CASE s.factor {case} END AS pollutant,
                   string_agg(DISTINCT upper(s.flag), ',' ORDER BY upper(s.flag)) AS flag
            FROM source_data s JOIN hj212_devices d ON d.mn = s.mn
            WHERE d.station IS NOT NULL AND s.cn IN ('2011', '2051', '2061') AND {hour} BETWEEN ? AND ?
              AND s.flag IS NOT NULL AND upper(s.flag) <> 'N'
              AND s.factor IN ({', '.join(f"'{k}'" for k in HJ212_POLLUTANTS)})
            GROUP BY 1, 2, 3 ORDER BY 1, 2, 3""", [hi_from, hi_to]).df()


def dismiss(con: Con, suggestion: str, by: str, via: str, note: str | None = None) -> bool:
    """Record that a reviewer dismissed suggestion ``suggestion`` (False when it already was)."""
    if not (by or "").strip():
        raise ReviewError("审核人不能为空")
    if suggestion in dismissed(con):
        return False
    con.execute("INSERT INTO review_dismissals VALUES (?, ?, ?, ?, ?)",
                [suggestion, datetime.now().replace(microsecond=0), by.strip(), via, (note or "").strip() or None])
    return True


def dismissed(con: Con) -> set[str]:
    """Keys of the dismissed suggestions."""
    if not has_table(con, "review_dismissals"):
        return set()
    return {r[0] for r in con.execute("SELECT suggestion FROM review_dismissals").fetchall()}


def confirmed(con: Con) -> set[str]:
    """Keys of the suggestions a mark confirmed."""
    if not has_table(con, "review_marks"):
        return set()
    return {r[0] for r in con.execute("SELECT DISTINCT suggestion FROM review_marks WHERE suggestion IS NOT NULL").fetchall()}
