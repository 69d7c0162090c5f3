"""A consistent copy of the measurement store while it is in use (docs/deployment.md#backup-while-running).

``EXPORT DATABASE`` writes the schema (``schema.sql``, ``load.sql``) and every table as Parquet into a new folder,
from one transaction's snapshot: writes committed after it started are not in it, half-done ones never are. The
platform runs it on its store-writer thread, so no import or HJ 212 load is between its steps; the checkpoint
first folds DuckDB's write-ahead log into the file. Restore into an empty workspace with ``IMPORT DATABASE``.
"""

from __future__ import annotations

from pathlib import Path

import duckdb

from ..errors import QingshanError


class BackupError(QingshanError):
    """The backup cannot be written where asked (the message is user-facing)."""


def export_store(con: duckdb.DuckDBPyConnection, target: Path) -> Path:
    """Checkpoint and export the store into the new folder ``target`` (it must not exist); returns it."""
    target = Path(target)
    if target.exists():
        raise BackupError(f"备份目录已存在：{target}（备份不覆盖已有文件，请换一个目录）")
    target.parent.mkdir(parents=True, exist_ok=True)
    con.execute("CHECKPOINT")
    quoted = str(target).replace("'", "''")
    con.execute(f"EXPORT DATABASE '{quoted}' (FORMAT parquet)")
    return target
