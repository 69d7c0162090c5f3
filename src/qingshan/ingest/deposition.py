"""Dustfall and acid-rain files into the store (``qingshan import dust|rain``; tables in
:mod:`qingshan.store.deposition`, formats in docs/water.md).

The files are the ones ``qingshan dust|rain evaluate`` read, and they are read the same way: the evaluation's
column aliases and cell rules (:func:`qingshan.ingest.dust.dust_values`,
:func:`qingshan.ingest.rain.rain_values`, :mod:`qingshan.ingest.tables`). What the store needs beyond the
evaluation is a key for every row:

* dustfall: ``site`` and ``month``. A row without a site, or with an unreadable month, is quarantined; a row
  without a dustfall value holds no measurement and is not stored (bad cells are quarantined by the shared
  reading, empty cells are only counted).
* rain: ``site`` and ``date`` (both columns required for import; the evaluation alone accepts a table without
  them). A row without a site or with an unreadable date is quarantined; a row with neither pH nor rainfall is not
  stored.

Two rows with the same key in one file: identical ones are kept once (a message says how many), a differing later
one is quarantined (the first is kept). Every file is one import (own id, counts, quarantine, SHA-256); re-import
of the same file changes nothing (:func:`qingshan.ingest.water_auto.store_parsed`).
"""

from __future__ import annotations

from pathlib import Path
from typing import Callable

import numpy as np
import pandas as pd
import pyarrow as pa

from ..store import deposition as store
from .common import ImportReport, ParsedFile, Quarantine, read_bytes, sha256_of
from .dust import dust_values
from .errors import IngestError
from .rain import ALIASES as RAIN_ALIASES
from .rain import rain_values
from .tables import columns, parse_date, read_table, text
from .water_auto import store_parsed

KIND_DUST = "dust"
KIND_RAIN = "rain"


def read_input(path: str | Path) -> tuple[str, bytes, pd.DataFrame]:
    """(source name, bytes, all cells as text) of a CSV (UTF-8/GBK) or XLSX input table."""
    raw = read_bytes(path)
    return str(path), raw, read_table(path, data=raw)


def drop_rows(frame: pd.DataFrame, mask: pd.Series | np.ndarray, q: Quarantine, fld: str, raw_column: str | None,
              reason: str) -> pd.DataFrame:
    """Quarantine the rows of ``frame`` selected by ``mask`` (by their ``line``; the cell text from ``raw_column``,
    empty when None) and return the others."""
    m = np.asarray(mask, dtype=bool)
    if m.any():
        raws = frame[raw_column].to_numpy()[m].tolist() if raw_column else [""] * int(m.sum())
        q.extend(frame["line"].to_numpy()[m], fld, raws, reason)
    return frame[~m]


def dedupe(frame: pd.DataFrame, keys: list[str], values: list[str], q: Quarantine, messages: list[str],
           key_zh: str) -> pd.DataFrame:
    """One row per key (``key_zh``: the key in words, 点位与月份 …): exact repeats are dropped (counted in
    ``messages``), a later row with other values is quarantined (the first one is kept)."""
    exact = frame.duplicated(keys + values, keep="first")
    rest = frame[~exact]
    conflict = rest.duplicated(keys, keep="first")
    if conflict.any():
        raws = rest.loc[conflict, values].astype(str).agg(", ".join, axis=1)
        q.extend(rest.loc[conflict, "line"].to_numpy(), "/".join(keys), raws.tolist(),
                 f"同一{key_zh}已有不同的数值：保留先出现的一行，该行未导入")
        messages.append(f"{int(conflict.sum())} 行与先出现的同一{key_zh}的数值不同，未导入（见隔离表）")
    if exact.any():
        messages.append(f"{int(exact.sum())} 行完全重复，已去重")
    return rest[~conflict]


def parsed_file(source: str, kind: str, raw: bytes, frame: pd.DataFrame, cols: list[str], q: Quarantine,
                messages: list[str], rows_read: int) -> ParsedFile:
    """The :class:`ParsedFile` of an input table whose rows to store are ``frame[cols]``."""
    data = pa.Table.from_pandas(frame[cols].reset_index(drop=True), preserve_index=False)
    return ParsedFile(source, kind, data, q, messages, rows_read, sha256_of(raw))


def parse_dust(path: str | Path) -> ParsedFile:
    """A dustfall table (``site, month, dustfall`` or ``site, month, flux, days``) as rows of ``dustfall``."""
    source, raw, df = read_input(path)
    try:
        rows, q = dust_values(df, source)
    except ValueError as e:  # neither a dustfall column nor flux and days
        raise IngestError(str(e)) from None
    messages: list[str] = []
    rows = rows[rows["month"].notna()]  # unreadable months: quarantined by dust_values
    rows = drop_rows(rows, rows["site"] == "", q, "site", None, "缺少点位，该行未导入")
    empty = rows["value"].isna()
    if empty.any():
        messages.append(f"{int(empty.sum())} 行没有有效的降尘数值，未导入")
    rows = dedupe(rows[~empty], ["site", "month"], ["value"], q, messages, "点位与月份")
    return parsed_file(source, KIND_DUST, raw, rows, ["site", "month", "value"], q, messages, len(df))


def parse_rain(path: str | Path) -> ParsedFile:
    """A precipitation table (``site, date, ph, rainfall``) as rows of ``rain_samples``."""
    source, raw, df = read_input(path)
    c = columns(df, RAIN_ALIASES, ("site", "date", "ph", "rainfall"), source)
    _, ph, rain, q = rain_values(df, source)
    messages: list[str] = []
    date_text = text(df, c["date"])
    rows = pd.DataFrame({"site": text(df, c["site"]), "date": [parse_date(t) for t in date_text],
                         "ph": ph, "rainfall_mm": rain, "line": np.arange(len(df), dtype=np.int64) + 2,
                         "date_text": date_text})
    rows = drop_rows(rows, rows["site"] == "", q, "site", None, "缺少点位，该样品未导入")
    rows = drop_rows(rows, rows["date"].isna(), q, "date", "date_text", "日期无法识别（应为 2023-06-15），该样品未导入")
    empty = rows["ph"].isna() & rows["rainfall_mm"].isna()
    if empty.any():
        messages.append(f"{int(empty.sum())} 行既无有效 pH 也无降水量，未导入")
    rows = dedupe(rows[~empty], ["site", "date"], ["ph", "rainfall_mm"], q, messages,
                  "点位与日期（每个点位每天一个样品）")
    return parsed_file(source, KIND_RAIN, raw, rows, ["site", "date", "ph", "rainfall_mm"], q, messages, len(df))


def store_file(ws, parsed: ParsedFile, table: str, keys: tuple[str, ...], keep: tuple[str, ...],
               ensure: Callable) -> ImportReport:
    """Store one parsed file as one import in ``table`` (created when missing)."""
    ensure(ws.con)
    return store_parsed(ws, parsed, table, keys, keep)


def import_dust(ws, path: str | Path) -> ImportReport:
    return store_file(ws, parse_dust(path), "dustfall", store.KEYS["dustfall"], store.KEEP_WHEN_EMPTY["dustfall"],
                      store.ensure_schema)


def import_rain(ws, path: str | Path) -> ImportReport:
    return store_file(ws, parse_rain(path), "rain_samples", store.KEYS["rain_samples"],
                      store.KEEP_WHEN_EMPTY["rain_samples"], store.ensure_schema)
