"""The alarm centre's tables in the measurement store (docs/store.md "alarms"; docs/alerts.md).

* ``alarms`` — one row per episode: ``alarm_id``, ``rule``, ``rules_version``, ``subject`` (station code),
  ``pollutant`` ('' when not about one), ``start_hi``/``end_hi``/``hours``, ``level`` (1 提示 … 4 严重),
  ``peak_hi``/``peak_value``/``peak_reference``, ``evidence`` (JSON of numbers), ``state``, ``created_at``,
  ``updated_at`` (wall clock, Beijing), ``event_id`` (the ledger event it was dispatched as).
* ``alarm_log`` — append-only: every state change with who, when, from, to and why.

An episode found again (the detector runs over a sliding window, so it sees the same hours on every run) is merged
into the stored alarm of the same rule, station and pollutant whose hours touch it (``end_hi`` ≥ new start − 1 −
``max_gap``): its end, hours, level, peak and evidence are updated, its state is kept. Re-running the same window
therefore changes nothing.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from datetime import datetime
from typing import Any

import duckdb
import pandas as pd

from ..errors import QingshanError
from .schema import has_table

STATES = {"new": "新报警", "acknowledged": "已确认", "dispatched": "已派发", "closed": "已办结", "false_alarm": "误报"}
#: allowed state changes (from → to); closing needs the dispatch first, a false alarm may be declared until closed
TRANSITIONS: dict[str, tuple[str, ...]] = {
    "new": ("acknowledged", "dispatched", "false_alarm"),
    "acknowledged": ("dispatched", "closed", "false_alarm"),
    "dispatched": ("closed", "false_alarm"),
    "closed": (),
    "false_alarm": (),
}
NEEDS_REASON = ("false_alarm", "closed")



class AlarmStateError(QingshanError, ValueError):
    """A state change the alarm's workflow does not allow (the message says which are allowed)."""


def hourly_window(con: duckdb.DuckDBPyConnection, first_hi: int, last_hi: int,
                  stations: Iterable[str] | None = None) -> pd.DataFrame:
    """``station, hi`` and the six pollutants of ``air_hourly`` for hours ``first_hi … last_hi``."""
    where, args = "hi BETWEEN ? AND ?", [first_hi, last_hi]
    if stations is not None:
        codes = list(stations)
        where += f" AND station IN ({', '.join('?' for _ in codes) or 'NULL'})"
        args += codes
    return con.execute(f"SELECT station, hi, so2, no2, co, o3, pm10, pm25 FROM air_hourly WHERE {where}",
                       args).df()


def station_places(con: duckdb.DuckDBPyConnection) -> pd.DataFrame:
    """``code, name, city, district, network, is_control, lon, lat`` of every station."""
    return con.execute("SELECT code, name, city, district, network, is_control, lon, lat FROM stations").df()


def _now() -> datetime:
    from zoneinfo import ZoneInfo

    return datetime.now(ZoneInfo("Asia/Shanghai")).replace(tzinfo=None)


def save_episodes(con: duckdb.DuckDBPyConnection, found: pd.DataFrame, rules_version: str,
                  max_gap: int = 1, actor: str = "系统") -> dict[str, int]:
    """Merge detected episodes into ``alarms`` (module doc); returns counts ``new``, ``extended``, ``unchanged``."""
    counts = {"new": 0, "extended": 0, "unchanged": 0}
    now = _now()
    for ep in found.itertuples(index=False):
        row = con.execute(
            """SELECT alarm_id, start_hi, end_hi, hours, level, peak_hi, peak_value, evidence FROM alarms
               WHERE rule = ? AND subject = ? AND pollutant = ? AND end_hi >= ? AND start_hi <= ?
               ORDER BY end_hi DESC LIMIT 1""",
            [ep.rule, ep.subject, ep.pollutant, ep.start_hi - 1 - max_gap, ep.end_hi + 1 + max_gap]).fetchall()
        evidence = json.dumps(ep.evidence, ensure_ascii=False)
        if not row:
            (aid,) = con.execute("SELECT nextval('alarm_id_seq')").fetchall()[0]
            con.execute(
                """INSERT INTO alarms VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, 'new', ?, ?, NULL)""",
                [aid, ep.rule, rules_version, ep.subject, ep.pollutant, ep.start_hi, ep.end_hi, ep.hours, ep.level,
                 ep.peak_hi, ep.peak_value, ep.peak_reference, evidence, now, now])
            con.execute("INSERT INTO alarm_log VALUES (?, ?, ?, NULL, 'new', ?)",
                        [aid, now, actor, f"规则 {ep.rule}（{rules_version}）"])
            counts["new"] += 1
            continue
        aid, start, end, hours, level, peak_hi, peak_value, old_evidence = row[0]
        merged_hours = _merge_hours(json.loads(old_evidence or "{}"), ep.evidence)
        new_start, new_end = min(start, ep.start_hi), max(end, ep.end_hi)
        better_peak = peak_value is None or (ep.peak_value is not None and ep.peak_value > peak_value)
        values = (new_start, new_end, len(merged_hours["hours"]), max(level, ep.level),
                  ep.peak_hi if better_peak else peak_hi, ep.peak_value if better_peak else peak_value)
        if values == (start, end, hours, level, peak_hi, peak_value):
            counts["unchanged"] += 1
            continue
        con.execute(
            """UPDATE alarms SET start_hi = ?, end_hi = ?, hours = ?, level = ?, peak_hi = ?, peak_value = ?,
               peak_reference = CASE WHEN ? THEN ? ELSE peak_reference END, evidence = ?, updated_at = ?
               WHERE alarm_id = ?""",
            [*values, better_peak, ep.peak_reference, json.dumps(merged_hours, ensure_ascii=False), now, aid])
        counts["extended"] += 1
    return counts


def _merge_hours(old: dict[str, Any], new: dict[str, Any]) -> dict[str, Any]:
    by_hour = {int(h[0]): h for h in old.get("hours", [])}
    by_hour.update({int(h[0]): h for h in new.get("hours", [])})
    return {**old, **new, "hours": [by_hour[k] for k in sorted(by_hour)]}


def change_state(con: duckdb.DuckDBPyConnection, alarm_id: int, to: str, actor: str, reason: str | None = None,
                 event_id: int | None = None) -> str:
    """Move an alarm to state ``to`` (workflow :data:`TRANSITIONS`), logged; returns the previous state."""
    row = con.execute("SELECT state FROM alarms WHERE alarm_id = ?", [alarm_id]).fetchall()
    if not row:
        raise AlarmStateError(f"没有编号为 {alarm_id} 的报警")
    state = row[0][0]
    if to not in TRANSITIONS.get(state, ()):
        allowed = "、".join(STATES[s] for s in TRANSITIONS.get(state, ())) or "无（已结束）"
        raise AlarmStateError(f"报警 {alarm_id} 当前为“{STATES.get(state, state)}”，不能改为“{STATES.get(to, to)}”；"
                              f"可改为：{allowed}")
    if to in NEEDS_REASON and not (reason or "").strip():
        raise AlarmStateError(f"改为“{STATES[to]}”须写明理由")
    now = _now()
    con.execute("UPDATE alarms SET state = ?, updated_at = ?, event_id = coalesce(?, event_id) WHERE alarm_id = ?",
                [to, now, event_id, alarm_id])
    con.execute("INSERT INTO alarm_log VALUES (?, ?, ?, ?, ?, ?)", [alarm_id, now, actor, state, to, reason])
    return state


def list_alarms(con: duckdb.DuckDBPyConnection, *, states: Iterable[str] | None = None, min_level: int = 1,
                subject: str | None = None, since_hi: int | None = None, limit: int = 200,
                alarm_id: int | None = None) -> pd.DataFrame:
    """Alarms, newest end first, with the station's name and district when known."""
    if not has_table(con, "alarms"):
        return pd.DataFrame()
    where, args = ["a.level >= ?"], [min_level]
    if states is not None:
        st = list(states)
        where.append(f"a.state IN ({', '.join('?' for _ in st) or 'NULL'})")
        args += st
    if subject is not None:
        where.append("a.subject = ?")
        args.append(subject)
    if since_hi is not None:
        where.append("a.end_hi >= ?")
        args.append(since_hi)
    if alarm_id is not None:
        where.append("a.alarm_id = ?")
        args.append(alarm_id)
    # the subject is a station, an HJ 212 device (MN) or a water station
    device = ("LEFT JOIN hj212_devices d ON d.mn = a.subject" if has_table(con, "hj212_devices") else "")
    device_name = ("concat_ws(' / ', d.enterprise, d.outlet, d.name)" if device else "NULL")
    return con.execute(
        f"""SELECT a.*, coalesce(s.name, nullif({device_name}, '')) AS subject_name, s.district
            FROM alarms a LEFT JOIN stations s ON s.code = a.subject {device}
            WHERE {' AND '.join(where)} ORDER BY a.end_hi DESC, a.level DESC, a.alarm_id DESC LIMIT ?""",
        [*args, limit]).df()


def alarm_log(con: duckdb.DuckDBPyConnection, alarm_id: int) -> pd.DataFrame:
    return con.execute("SELECT * FROM alarm_log WHERE alarm_id = ? ORDER BY rowid", [alarm_id]).df()


def hj212_alert_rows(con: duckdb.DuckDBPyConnection, first_hi: int, last_hi: int) -> pd.DataFrame:
    """The receiver's alerts (``hj212_alerts``) whose data time falls in hours ``first_hi … last_hi`` (hour label =
    end of the hour holding the data time): ``kind, mn, factor, hi, value, threshold``."""
    if not has_table(con, "hj212_alerts"):
        return pd.DataFrame(columns=["kind", "mn", "factor", "hi", "value", "threshold"])
    return con.execute(
        """SELECT kind, mn, coalesce(factor, '') AS factor,
                  CAST(floor(epoch(data_time) / 3600) AS INTEGER) + 1 AS hi, value, threshold
           FROM hj212_alerts WHERE data_time IS NOT NULL
             AND data_time >= TIMESTAMP '1970-01-01' + to_hours(?) AND data_time < TIMESTAMP '1970-01-01' + to_hours(?)""",
        [first_hi - 1, last_hi]).df()


def water_auto_window(con: duckdb.DuckDBPyConnection, first_ts: datetime, last_ts: datetime,
                      items: Iterable[str]) -> pd.DataFrame:
    """Automatic water-station rows between two times with the section's target class (NULL when unknown)."""
    if not has_table(con, "water_auto"):
        return pd.DataFrame()
    cols = ", ".join(f'a."{c}"' for c in items)
    target = ("s.target_class" if has_table(con, "water_sections") else "CAST(NULL AS TINYINT)")
    join = "LEFT JOIN water_sections s ON s.section = a.section" if has_table(con, "water_sections") else ""
    return con.execute(
        f"""SELECT a.station, a.section, a.ts, {cols}, {target} AS target_class FROM water_auto a {join}
            WHERE a.ts BETWEEN ? AND ? ORDER BY a.station, a.ts""", [first_ts, last_ts]).df()
