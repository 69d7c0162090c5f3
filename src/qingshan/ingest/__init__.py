"""Import adapters: one module per real format, all writing the measurement store through :func:`import_files`."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Callable, Iterable

import pyarrow as pa

from ..store.workspace import Workspace
from . import cnemc_api, long_csv, quotsoft_sites, stations
from .common import ImportError_, ImportReport, ParsedFile

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
    **options,
) -> list[ImportReport]:
    """Parse and store files of one format. Each file is its own import (own id, counts, quarantine).

    Files are parsed in a small thread pool (the parsers spend their time in pyarrow/numpy, which release the
    GIL) and written by this thread in order, because the store has a single writer. A file that cannot be read
    at all raises :class:`ImportError_` after the files before it have been stored.
    """
    parse = PARSERS[kind]
    paths = [Path(p) for p in paths]
    reports: list[ImportReport] = []
    with ThreadPoolExecutor(max_workers=max(1, threads)) as pool:
        futures = [pool.submit(parse, p, **options) for p in paths]
        for path, fut in zip(paths, futures):
            parsed = fut.result()
            reports.append(_store(ws, parsed))
            if progress:
                progress(str(path))
    return reports


def _store(ws: Workspace, parsed: ParsedFile) -> ImportReport:
    previous = ws.previous_import_of(parsed.sha256, parsed.kind)
    iid = ws.new_import(parsed.kind, parsed.source, parsed.sha256)
    data = parsed.data
    counts = {"new": 0, "updated": 0, "unchanged": 0}
    ws.con.execute("BEGIN TRANSACTION")
    try:
        if data is not None and data.num_rows:
            data = data.append_column("import_id", pa.array([iid] * data.num_rows, pa.int32()))
            if parsed.kind == "stations":
                counts = ws.upsert_stations(data)
            else:
                counts = ws.upsert_air_hourly(data)
                meta = getattr(parsed, "stations_meta", None)
                if meta is not None and len(meta):
                    _register_unknown_stations(ws, meta, iid, parsed.messages)
        ws.add_quarantine(parsed.quarantine.to_arrow(iid))
        if parsed.kind != "stations":
            unknown = _unknown_stations(ws, data)
            if unknown:
                shown = "、".join(unknown[:10]) + (" 等" if len(unknown) > 10 else "")
                parsed.messages.append(f"{len(unknown)} 个站点不在站点表中（数据已保存，但在导入站点表前不参与城市评价）：{shown}")
        if previous is not None:
            parsed.messages.append(f"同一文件已于导入批次 #{previous} 导入过")
        counts["read"] = parsed.rows_read
        counts["quarantined"] = len(parsed.quarantine)
        ws.finish_import(iid, counts, parsed.messages)
        ws.con.execute("COMMIT")
    except Exception:
        ws.con.execute("ROLLBACK")
        raise
    return ImportReport(parsed.source, parsed.kind, iid, parsed.rows_read, counts["new"], counts["updated"],
                        counts["unchanged"], len(parsed.quarantine), parsed.messages, previous)


def _unknown_stations(ws: Workspace, data: pa.Table | None) -> list[str]:
    if data is None or not data.num_rows or ws.con.execute("SELECT count(*) FROM stations").fetchall()[0][0] == 0:
        return []
    ws.con.register("_d", data.select(["station"]))
    try:
        rows = ws.con.execute(
            "SELECT DISTINCT station FROM _d WHERE station NOT IN (SELECT code FROM stations) ORDER BY 1"
        ).fetchall()
    finally:
        ws.con.unregister("_d")
    return [r[0] for r in rows]


def _register_unknown_stations(ws: Workspace, meta, iid: int, messages: list[str]) -> None:
    import pandas as pd

    known = {r[0] for r in ws.con.execute("SELECT code FROM stations").fetchall()}
    new = meta[~meta["stationcode"].isin(known)]
    if not len(new):
        return
    frame = pd.DataFrame({
        "code": new["stationcode"].str.strip(),
        "name": new["positionname"].str.replace(r"[（(]对照点[)）]", "", regex=True).str.strip(),
        "city": new["area"].str.strip(),
        "district": None,
        "lon": pd.to_numeric(new.get("longitude"), errors="coerce") if "longitude" in new else None,
        "lat": pd.to_numeric(new.get("latitude"), errors="coerce") if "latitude" in new else None,
        "is_control": new["positionname"].str.contains("对照点"),
        "status": None,
        "import_id": iid,
    })
    ws.con.register("_ns", frame)
    ws.con.execute("INSERT INTO stations SELECT code, name, city, district, lon, lat, is_control, status, import_id FROM _ns")
    ws.con.unregister("_ns")
    messages.append(f"按数据中的站点信息登记了 {len(frame)} 个新站点")


__all__ = ["import_files", "ImportError_", "ImportReport", "PARSERS"]
