"""The feed's work follows what changed (issue 13 leftovers, docs/hj212.md "环境质量站点入库（feed）"): the loader
copies the quality devices' rows into ``hj212_feed_rows`` in its transaction, and a feed of recent station-hours
reads only that copy — never ``source_data``, which holds every device's every packet; older hours (late data,
rows loaded before the copy existed, pruned hours) are read from ``source_data`` with the same query, so the
figures are the same either way.  Built on the receiver runs of tests/test_feeds.py.
"""

from __future__ import annotations

import shutil
from pathlib import Path

import duckdb

from qingshan.feeds.quality import KEEP_HOURS, feed_pending
from qingshan.hj212.store import HOUR_OF_ROW_SQL
from qingshan.store.workspace import Workspace

from .test_feeds import H1, H2, fed, hi  # noqa: F401 - the module fixture is used by name

TABLES = ("air_hourly", "met_hourly", "water_auto")
QUALITY = "mn NOT IN ('OUTLET01')"


def _copy(cfg, tmp_path: Path) -> Path:
    ws = tmp_path / "copy"
    shutil.copytree(cfg.workspace, ws)
    return ws


def _figures(con: duckdb.DuckDBPyConnection) -> dict:
    # the import id of the rows written is not a figure: re-feeding writes nothing new, so it stays anyway
    return {t: con.execute(f"SELECT * FROM {t} ORDER BY ALL").fetchall() for t in TABLES}


def _requeue(con: duckdb.DuckDBPyConnection, table: str, where: str) -> None:
    hour = HOUR_OF_ROW_SQL.format(p="") if table == "source_data" else "feed_hi"
    con.execute(f"INSERT INTO hj212_feed_pending SELECT DISTINCT mn, {hour} FROM {table} WHERE {where} "
                "ON CONFLICT DO NOTHING")


def test_the_loader_copies_quality_rows_and_the_feed_prunes_the_copy(fed):
    cfg, _ = fed
    with duckdb.connect(str(Path(cfg.workspace) / "measurements.duckdb"), read_only=True) as con:
        kept = con.execute("SELECT DISTINCT feed_hi FROM hj212_feed_rows ORDER BY 1").fetchall()
        (complete_from,) = con.execute("SELECT complete_from FROM hj212_feed_horizon").fetchone()
        outlets = con.execute("SELECT count(*) FROM hj212_feed_rows WHERE mn = 'OUTLET01'").fetchone()[0]
        a = con.execute("SELECT count(*) FROM hj212_feed_rows WHERE mn = 'QSAIR0001'").fetchone()[0]
        a_src = con.execute("SELECT count(*) FROM source_data WHERE mn = 'QSAIR0001'").fetchone()[0]
    # station A's rows are all in the copy (the same count as in source_data); an outlet's never are
    assert a == a_src > 0 and outlets == 0
    # the 2022 hours of the flash520 station were pruned: the copy keeps the last KEEP_HOURS hours fed
    assert complete_from == hi(H2) - KEEP_HOURS
    assert [h for (h,) in kept] and min(h for (h,) in kept) >= complete_from


def test_a_recent_station_hour_is_fed_from_the_copy_alone(fed, tmp_path):
    cfg, _ = fed
    ws = _copy(cfg, tmp_path)
    with Workspace(ws) as w:
        before = _figures(w.con)
        _requeue(w.con, "hj212_feed_rows", "true")
        # source_data loses the quality rows of those hours: a feed that read it would now find nothing
        w.con.execute(f"DELETE FROM source_data WHERE {QUALITY} AND data_time >= ?", [H1.replace(hour=H1.hour - 2)])
        res = feed_pending(w.con)
        after = _figures(w.con)
    assert res.station_hours > 0 and res.source == "hj212_feed_rows"
    assert after == before


def test_older_hours_are_fed_from_source_data_with_the_same_result(fed, tmp_path):
    cfg, _ = fed
    ws = _copy(cfg, tmp_path)
    with Workspace(ws) as w:
        before = _figures(w.con)
        # every hour queued again, as a late packet or a WAL replay would; the 2022 hours are before the horizon
        _requeue(w.con, "source_data", QUALITY)
        res = feed_pending(w.con)
        assert res.station_hours > 0 and _figures(w.con) == before
        # the copy lost (pruned past) everything: all hours now come from source_data, and still agree
        w.con.execute("DELETE FROM hj212_feed_rows")
        w.con.execute("UPDATE hj212_feed_horizon SET complete_from = ?", [hi(H2) + 1])
        _requeue(w.con, "source_data", QUALITY)
        res = feed_pending(w.con)
        assert res.station_hours > 0 and res.source == "source_data"
        assert _figures(w.con) == before


def test_a_workspace_from_before_the_copy_starts_it_after_its_last_hour(fed, tmp_path):
    cfg, _ = fed
    ws = _copy(cfg, tmp_path)
    with Workspace(ws) as w:
        before = _figures(w.con)
        w.con.execute("DROP TABLE hj212_feed_rows; DROP TABLE hj212_feed_horizon")
        _requeue(w.con, "source_data", QUALITY)
        res = feed_pending(w.con)  # creates the copy: empty, complete only after the hours already stored
        (complete_from,) = w.con.execute("SELECT complete_from FROM hj212_feed_horizon").fetchone()
        assert complete_from > hi(H2)
        assert res.station_hours > 0 and res.source == "source_data" and _figures(w.con) == before
