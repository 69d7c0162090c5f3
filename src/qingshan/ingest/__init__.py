"""Import adapters: one module per real format, all writing the measurement store through :func:`import_files`."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Callable, Iterable

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from ..store.read import station_codes
from ..store.workspace import Workspace
from . import cnemc_api, long_csv, quotsoft_sites, stations
from .common import ImportReport, ParsedFile
from .errors import IngestError

PARSERS: dict[str, Callable[..., ParsedFile]] = {
    "quotsoft": quotsoft_sites.parse,
    "cnemc": cnemc_api.parse,
    "long": long_csv.parse,
    "stations": stations.parse,
}


def import_files(
    ws: Workspace,
    kind: str,
    paths: Iterable[str | Path],
    progress: Callable[[str], None] | None = None,
    threads: int = 2,
    batch_rows: int = 2_000_000,
    **options,
) -> list[ImportReport]:
    """Parse and store files of one format. Each file is its own import (own id, counts, quarantine).

    Files are parsed in a small thread pool (the parsers spend their time in pyarrow/numpy, which release the
    GIL) with a bounded number in flight, and written by this thread — the store has a single writer — in
    batches of about ``batch_rows`` rows, each batch in one transaction. A file that cannot be read at all raises
    :class:`IngestError` after the batches before it have been stored.
    """
    parse = PARSERS[kind]
    queue = iter([Path(p) for p in paths])
    reports: list[ImportReport] = []
    pending: list[ParsedFile] = []
    pending_rows = 0
    with ThreadPoolExecutor(max_workers=max(1, threads)) as pool:
        futures = [pool.submit(parse, p, **options) for _, p in zip(range(max(2, threads * 3)), queue)]
        while futures:
            try:
                parsed = futures.pop(0).result()
            except IngestError:
                if pending:
                    reports.extend(_store_batch(ws, pending))
                raise
            nxt = next(queue, None)
            if nxt is not None:
                futures.append(pool.submit(parse, nxt, **options))
            pending.append(parsed)
            pending_rows += parsed.data.num_rows if parsed.data is not None else 0
            if pending_rows >= batch_rows or not futures:
                reports.extend(_store_batch(ws, pending))
                if progress:
                    for item in pending:
                        progress(item.source)
                pending, pending_rows = [], 0
    return reports


def _store_batch(ws: Workspace, batch: list[ParsedFile]) -> list[ImportReport]:
    if len(batch) > 1 and batch[0].kind != "stations" and _may_overlap(batch):
        tables = [b.data.select(["station", "hi"]) for b in batch if b.data is not None and b.data.num_rows]
        ws.con.register("_keys", pa.concat_tables(tables, promote_options="default"))
        (dups,) = ws.con.execute("SELECT count(*) - count(DISTINCT (station, hi)) FROM _keys").fetchall()[0]
        ws.con.unregister("_keys")
        if dups:  # files overlap each other: store one by one so that later files correct earlier ones
            return [r for b in batch for r in _store_batch(ws, [b])]
    ws.con.execute("BEGIN TRANSACTION")
    try:
        ids = [(ws.previous_import_of(b.sha256, b.kind), ws.new_import(b.kind, b.source, b.sha256)) for b in batch]
        with_ids = [
            b.data.append_column("import_id", pa.array(np.full(b.data.num_rows, iid, np.int32)))
            for b, (_, iid) in zip(batch, ids)
            if b.data is not None and b.data.num_rows
        ]
        if batch[0].kind == "stations":
            counts = {ids[0][1]: ws.upsert_stations(with_ids[0])} if with_ids else {}
        else:
            counts = ws.upsert_air_hourly(pa.concat_tables(with_ids, promote_options="default")) if with_ids else {}
        unknown = _unknown_stations(ws, [b.data for b in batch]) if batch[0].kind != "stations" else set()
        reports = []
        for b, (previous, iid) in zip(batch, ids):
            meta = getattr(b, "stations_meta", None)
            if meta is not None and len(meta):
                _register_unknown_stations(ws, meta, iid, b.messages)
            ws.add_quarantine(b.quarantine.to_arrow(iid))
            mine = sorted(unknown & _station_set(b.data)) if unknown else []
            if mine:
                shown = "、".join(mine[:10]) + (" 等" if len(mine) > 10 else "")
                b.messages.append(f"{len(mine)} 个站点不在站点表中（数据已保存，但在导入站点表前不参与城市评价）：{shown}")
            if previous is not None:
                b.messages.append(f"同一文件已于导入批次 #{previous} 导入过")
            c = {"new": 0, "updated": 0, "unchanged": 0, **counts.get(iid, {})}
            c["read"], c["quarantined"] = b.rows_read, len(b.quarantine)
            ws.finish_import(iid, c, b.messages)
            reports.append(ImportReport(b.source, b.kind, iid, b.rows_read, c["new"], c["updated"], c["unchanged"],
                                        len(b.quarantine), b.messages, previous))
        ws.con.execute("COMMIT")
    except Exception:
        ws.con.execute("ROLLBACK")
        raise
    return reports


def _may_overlap(batch: list[ParsedFile]) -> bool:
    """Whether the hour ranges of the batch's files overlap (only then can two files hold the same station-hour)."""
    ranges = sorted(
        (mm["min"].as_py(), mm["max"].as_py())
        for b in batch if b.data is not None and b.data.num_rows
        for mm in [pc.min_max(b.data.column("hi"))]
    )
    return any(nxt[0] <= cur[1] for cur, nxt in zip(ranges, ranges[1:]))


def _station_set(data: pa.Table | None) -> set[str]:
    if data is None or not data.num_rows:
        return set()
    values = pc.unique(data.column("station").combine_chunks())
    if pa.types.is_dictionary(values.type):
        values = values.dictionary_decode()
    return set(values.to_pylist())


def _unknown_stations(ws: Workspace, tables: list[pa.Table | None]) -> set[str]:
    """Station codes of the data that are not in a non-empty station table."""
    codes = set().union(*(_station_set(t) for t in tables))
    known = station_codes(ws.con) if codes else set()
    return codes - known if known else set()


def _coordinate(meta, column: str):
    """A coordinate column of the data's station metadata; non-numeric, infinite or impossible ones (outside
    ±180°/±90°) are left empty: they only locate a station on the map."""
    import pandas as pd

    from ..standards.ranges import range_of

    if column not in meta:
        return None
    v = pd.to_numeric(meta[column], errors="coerce").astype(float)
    r = range_of(column)
    return v.where((v >= r.lo) & (v <= r.hi))


def _register_unknown_stations(ws: Workspace, meta, iid: int, messages: list[str]) -> None:
    import pandas as pd

    new = meta[~meta["stationcode"].isin(station_codes(ws.con))]
    if not len(new):
        return
    frame = pd.DataFrame({
        "code": new["stationcode"].str.strip(),
        "name": new["positionname"].str.replace(r"[（(]对照点[)）]", "", regex=True).str.strip(),
        "city": new["area"].str.strip(),
        "district": None,
        "lon": _coordinate(new, "longitude"),
        "lat": _coordinate(new, "latitude"),
        "is_control": new["positionname"].str.contains("对照点"),
        "status": None,
        "import_id": iid,
    })
    ws.add_new_stations(frame)
    messages.append(f"按数据中的站点信息登记了 {len(frame)} 个新站点")


__all__ = ["import_files", "IngestError", "ImportReport", "PARSERS"]
