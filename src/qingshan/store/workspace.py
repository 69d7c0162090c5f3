"""The measurement store: one DuckDB file per workspace (docs/design.md#two-stores).

Schema (documented in docs/store.md):

* ``imports`` — one row per imported file: kind, source path, SHA-256, counts, messages.
* ``stations`` — air stations: code, name, city, district, lon/lat, control-site flag, status.
* ``air_hourly`` — one row per station-hour: ``hi`` = hours since 1970-01-01 00:00 **Beijing time**, labelled by
  the **end** of the hour (CNEMC convention); ``ts`` the same instant as a naive Beijing-time timestamp; the six
  pollutants in canonical units (µg/m³, CO mg/m³); the values published with the data (``pub_*``: station AQI,
  24-h moving means, O3 8-h …) kept for audit and comparison; ``import_id`` of the import that last wrote the row.
* ``quarantine`` — every rejected row or cell with file, line, field, raw text and reason.

The schema is versioned (:mod:`qingshan.store.schema`): opening for writing migrates an older store, opening
read-only runs no DDL, and a store newer than the code is refused.

Re-import is idempotent: a station-hour already stored with the same values is counted as unchanged and not
written; a non-empty new value replaces the stored one (a correction, counted as updated); an empty new cell
never erases a stored value.
"""

from __future__ import annotations

import os
import re
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING

import duckdb

from ..settings import current as current_settings
from ..standards.networks import TOWN_NETWORK as TOWN_NETWORK  # re-exported: older callers import it here
from .schema import VALUE_COLUMNS, migrate, refuse_newer
from .schema import has_table as has_table  # re-exported: older callers import it here

if TYPE_CHECKING:  # pyarrow (≈ 0.3 s CPU to import, with its compute module) only for the writers that use it
    import pyarrow as pa

DB_FILE = "measurements.duckdb"


def _note_hours(con: duckdb.DuckDBPyConnection, source: str) -> None:
    """The evaluation cache recomputes the station-days of these ``(station, hi)`` rows (imported here: the cache
    module needs pyarrow, which the store's readers — ``qingshan alerts explain`` — do without)."""
    from . import eval_cache

    eval_cache.note_hours(con, source)


def default_workspace() -> Path:
    return current_settings().workspace


class StoreLocked(duckdb.IOException):
    """The DuckDB file is held by another process (DuckDB allows one writer); the message says what to do."""


_LOCK_PID = re.compile(r"\(PID (\d+)\)")


def _open_error(db: Path, e: duckdb.IOException) -> duckdb.IOException:
    """A one-line Chinese error for a store that cannot be opened (the usual cause: another process holds it)."""
    text = str(e)
    if "lock" in text.lower():
        m = _LOCK_PID.search(text)
        who = f"进程 {m.group(1)}" if m else "另一个进程"
        return StoreLocked(f"测量库 {db} 正被{who}占用（如正在运行的 qingshan serve、hj212 接收服务或另一个导入命令）；"
                           f"请等待它结束，或先停止该进程后重试")
    return duckdb.IOException(f"无法打开测量库 {db}：{' '.join(text.split())}")


@contextmanager
def _private_umask():
    """Files created meanwhile are readable by their owner only (0600; folders 0700)."""
    old = os.umask(0o077)
    try:
        yield
    finally:
        os.umask(old)


def _make_private(*paths: Path) -> None:
    """Owner-only permissions on the store's files (they hold the bureau's data); a file owned by another user
    (a shared deployment set up by an administrator) is left as it is."""
    for p in paths:
        try:
            st = p.stat()
            if st.st_uid == os.geteuid() and st.st_mode & 0o077:
                p.chmod(0o700 if p.is_dir() else 0o600)
        except (FileNotFoundError, PermissionError):
            pass


class Workspace:
    """A deployment's folder: the measurement store and generated files.

    Permissions: a workspace folder created here is 0700 and the store's files (``measurements.duckdb`` and its
    ``.wal``) 0600 — they hold the bureau's data. DuckDB creates a new ``.wal`` after each checkpoint with the
    process's umask; the 0700 folder keeps it private whatever its own mode."""

    def __init__(self, path: str | os.PathLike[str] | None = None, read_only: bool = False):
        self.path = Path(path) if path is not None else default_workspace()
        db = self.path / DB_FILE
        with _private_umask():  # the folder, the database file and the first WAL are created owner-only
            self.path.mkdir(parents=True, exist_ok=True)
            try:
                self.con = duckdb.connect(str(db), read_only=read_only)
            except duckdb.IOException as e:
                raise _open_error(db, e) from None
            try:
                if read_only:  # no DDL: only a store newer than this code is refused
                    refuse_newer(self.con, str(db))
                else:
                    migrate(self.con, str(db))
            except BaseException:
                self.con.close()
                raise
        if not read_only:  # a store created by an older version (0644) becomes owner-only too
            _make_private(db, db.with_name(DB_FILE + ".wal"))

    def close(self) -> None:
        self.con.close()

    def __enter__(self) -> "Workspace":
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # -- imports ------------------------------------------------------------------------------------------------

    def new_import(self, kind: str, source: str, sha256: str | None) -> int:
        (iid,) = self.con.execute("SELECT nextval('import_id_seq')").fetchall()[0]
        self.con.execute(
            "INSERT INTO imports (import_id, kind, source, sha256, started_at) VALUES (?, ?, ?, ?, now())",
            [iid, kind, source, sha256],
        )
        return int(iid)

    def finish_import(self, import_id: int, counts: dict[str, int], messages: list[str]) -> None:
        self.con.execute(
            """UPDATE imports SET finished_at = now(), rows_read = ?, rows_new = ?, rows_updated = ?,
               rows_unchanged = ?, rows_quarantined = ?, messages = ? WHERE import_id = ?""",
            [
                counts.get("read", 0),
                counts.get("new", 0),
                counts.get("updated", 0),
                counts.get("unchanged", 0),
                counts.get("quarantined", 0),
                "\n".join(messages),
                import_id,
            ],
        )

    def previous_import_of(self, sha256: str, kind: str) -> int | None:
        row = self.con.execute(
            "SELECT min(import_id) FROM imports WHERE sha256 = ? AND kind = ? AND finished_at IS NOT NULL",
            [sha256, kind],
        ).fetchall()[0]
        return None if row is None or row[0] is None else int(row[0])

    def add_quarantine(self, rows: pa.Table) -> None:
        if rows.num_rows:
            self.con.register("_q", rows)
            self.con.execute("INSERT INTO quarantine SELECT import_id, source, line, field, raw, reason FROM _q")
            self.con.unregister("_q")

    # -- measurements -------------------------------------------------------------------------------------------

    def upsert_air_hourly(self, batch: pa.Table) -> dict[int, dict[str, int]]:
        """Merge a canonical batch (station, hi, value columns, import_id) into ``air_hourly``.

        The batch must hold at most one row per (station, hi); adapters resolve duplicates first.
        Returns, per import id in the batch, the counts of new, updated and unchanged station-hours.
        """
        import pyarrow.compute as pc

        from .plausible import check_batch

        con = self.con
        cols = [c for c in VALUE_COLUMNS if c in batch.column_names]
        all_cols = ", ".join(cols)
        if not batch.num_rows:
            return {}
        check_batch("air_hourly", batch, cols)  # never let an absurd value overwrite a stored one
        mm = pc.min_max(batch.column("hi"))
        lo, hi_ = mm["min"].as_py(), mm["max"].as_py()
        (overlap,) = con.execute("SELECT count(*) FROM air_hourly WHERE hi BETWEEN ? AND ?", [lo, hi_]).fetchall()[0]
        con.register("_batch", batch)
        try:
            if not overlap:  # nothing stored in this time range: a plain bulk insert, one pass
                _note_hours(con, "_batch")  # the evaluation cache recomputes these days
                con.execute(
                    f"""INSERT INTO air_hourly (station, hi, ts, {all_cols}, import_id)
                        SELECT station, hi, TIMESTAMP '1970-01-01 00:00:00' + to_hours(hi), {all_cols}, import_id
                        FROM _batch"""
                )
                ids = pc.value_counts(batch.column("import_id")).to_pylist()
                return {int(d["values"]): {"new": int(d["counts"]), "updated": 0, "unchanged": 0} for d in ids}
            con.execute(
                "CREATE OR REPLACE TEMP TABLE _s AS SELECT CAST(station AS VARCHAR) AS station, CAST(hi AS INTEGER) AS hi, "
                + ", ".join(f"CAST({c} AS DOUBLE) AS {c}" for c in cols)
                + ", CAST(import_id AS INTEGER) AS import_id FROM _batch"
            )
        finally:
            con.unregister("_batch")
        totals = dict(con.execute("SELECT import_id, count(*) FROM _s GROUP BY 1").fetchall())
        counts = {int(i): {"new": int(n), "updated": 0, "unchanged": 0} for i, n in totals.items()}
        # Rows of this time range are already stored: compare, update the changed ones, insert the rest.
        differs = " OR ".join(f"(s.{c} IS NOT NULL AND (a.{c} IS NULL OR a.{c} <> s.{c}))" for c in cols)
        con.execute(
            f"""CREATE OR REPLACE TEMP TABLE _m AS
                SELECT s.station, s.hi, s.import_id, ({differs}) AS changed
                FROM _s s JOIN air_hourly a ON a.station = s.station AND a.hi = s.hi"""
        )
        for iid, upd, matched in con.execute(
            "SELECT import_id, count(*) FILTER (WHERE changed), count(*) FROM _m GROUP BY 1"
        ).fetchall():
            c = counts[int(iid)]
            c["updated"], c["unchanged"], c["new"] = int(upd), int(matched - upd), c["new"] - int(matched)
        _note_hours(con, "SELECT station, hi FROM _m WHERE changed")
        if con.execute("SELECT count(*) FROM _m WHERE changed").fetchall()[0][0]:
            sets = ", ".join(f"{c} = coalesce(s.{c}, air_hourly.{c})" for c in cols)
            con.execute(
                f"""UPDATE air_hourly SET {sets}, import_id = s.import_id
                    FROM (SELECT s.* FROM _s s JOIN _m USING (station, hi) WHERE _m.changed) s
                    WHERE air_hourly.station = s.station AND air_hourly.hi = s.hi"""
            )
        con.execute("DELETE FROM _s USING _m WHERE _s.station = _m.station AND _s.hi = _m.hi")
        _note_hours(con, "_s")
        con.execute(
            f"""INSERT INTO air_hourly (station, hi, ts, {all_cols}, import_id)
                SELECT station, hi, TIMESTAMP '1970-01-01 00:00:00' + to_hours(hi), {all_cols}, import_id
                FROM _s"""
        )
        con.execute("DROP TABLE IF EXISTS _s; DROP TABLE IF EXISTS _m")
        return counts

    def add_new_stations(self, frame) -> None:
        """Insert stations not yet listed (a pandas frame with code, name, city, district, lon, lat, is_control,
        status, import_id): those that an import found in its data's own station metadata."""
        self.con.register("_ns", frame)
        try:
            self.con.execute("INSERT INTO stations (code, name, city, district, lon, lat, is_control, status, import_id) "
                             "SELECT code, name, city, district, lon, lat, is_control, status, import_id FROM _ns")
        finally:
            self.con.unregister("_ns")

    def upsert_stations(self, table: pa.Table) -> dict[str, int]:
        import pyarrow as pa

        from .plausible import check_batch

        con = self.con
        check_batch("stations", table, [c for c in ("lon", "lat") if c in table.column_names])
        for col in ("town", "network"):  # optional columns of a station list
            if col not in table.column_names:
                table = table.append_column(col, pa.nulls(table.num_rows, pa.string()))
        con.register("_st", table)
        try:
            existing, same = con.execute(
                """SELECT count(*), count(*) FILTER (WHERE s.name IS NOT DISTINCT FROM t.name
                       AND s.city IS NOT DISTINCT FROM t.city AND s.district IS NOT DISTINCT FROM t.district
                       AND s.lon IS NOT DISTINCT FROM t.lon AND s.lat IS NOT DISTINCT FROM t.lat
                       AND s.is_control = t.is_control AND s.status IS NOT DISTINCT FROM t.status
                       AND s.town IS NOT DISTINCT FROM t.town AND s.network IS NOT DISTINCT FROM t.network)
                   FROM stations s JOIN _st t USING (code)"""
            ).fetchall()[0]
            con.execute(
                """INSERT OR REPLACE INTO stations (code, name, city, district, lon, lat, is_control, status, import_id,
                                                  town, network)
                   SELECT code, name, city, district, lon, lat, is_control, status, import_id, town, network FROM _st"""
            )
        finally:
            con.unregister("_st")
        return {"new": table.num_rows - int(existing), "updated": int(existing - same), "unchanged": int(same)}

