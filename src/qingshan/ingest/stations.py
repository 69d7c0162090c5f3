"""Adapter for air-station lists.

Accepted headers (CSV or XLSX, UTF-8 or GBK):

* the quotsoft/CNEMC list ``监测点编码,监测点名称,城市,经度,纬度,对照点`` (对照点 = Y/N), optionally with ``区县``;
* English ``code,name,city,district,lon,lat,is_control``.

Optional columns: ``town`` (乡镇/街道) and ``network`` (站点类别: 国控/省控/市控/乡镇/网格微站/工地扬尘; aliases in
:data:`qingshan.standards.networks.ALIASES`). Stations of the 乡镇 network are town stations: they rank their town
(镇/街道) but, like control sites, do not enter city or district values; grid micro-sensors (网格微站) and dust
monitors (工地扬尘) never enter any official figure (docs/networks.md).

Names may carry status suffixes such as ``(停运161026)``, ``（已停运）``, ``(对照点)``, ``(启用161031)``: the status is
kept in ``status``; 停运 stations are treated like control sites (not in city averages). Coordinates given as empty
or ``-`` are stored as missing.
"""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np
import pyarrow as pa

from ..standards.networks import network_of
from .common import ParsedFile, Quarantine, coerce_numeric, read_bytes, read_csv_strings, sha256_of
from .errors import IngestError
from .limits import read_xlsx, shown_names

KIND = "stations"

_ZH = {"监测点编码": "code", "站点编码": "code", "监测点名称": "name", "站点名称": "name", "城市": "city",
       "区县": "district", "经度": "lon", "纬度": "lat", "对照点": "is_control", "乡镇": "town", "街道": "town",
       "乡镇（街道）": "town", "乡镇(街道)": "town", "镇街": "town", "站点类别": "network", "类别": "network"}
_STATUS_RE = re.compile(r"[（(]([^()（）]*(停运|启用|对照点)[^()（）]*)[)）]")
_TRUE = {"y", "yes", "true", "1", "是"}
_FALSE = {"n", "no", "false", "0", "否", ""}


def parse(path: str | Path, data: bytes | None = None) -> ParsedFile:
    source = str(path)
    raw = read_bytes(path) if data is None else data
    q = Quarantine(source)
    if Path(source).suffix.lower() in (".xlsx", ".xlsm"):
        df = read_xlsx(raw, source)
    else:
        df = read_csv_strings(raw, source)
    df.columns = [_ZH.get(str(c).strip(), str(c).strip().lower()) for c in df.columns]
    repeated = sorted(set(df.columns[df.columns.duplicated()]))
    if repeated:
        raise IngestError(f"{source}: 表头中的列重复：{shown_names(repeated)}（如 code 与 监测点编码 同时出现）")
    if "code" not in df.columns:
        raise IngestError(f"{source}: 站点表缺少站点编码列（监测点编码 或 code）")
    for c in ("name", "city", "district", "lon", "lat", "is_control", "town", "network"):
        if c not in df.columns:
            df[c] = ""
    line_no = np.arange(len(df), dtype=np.int64) + 2
    code = df["code"].str.strip()
    empty = (code == "").to_numpy()
    if empty.any():
        q.extend(line_no[empty], "code", [""] * int(empty.sum()), "缺少站点编码")
    dup = code.duplicated(keep="first").to_numpy() & ~empty
    if dup.any():
        q.extend(line_no[dup], "code", code[dup].tolist(), "站点编码重复，保留先出现的行")
    flag = df["is_control"].str.strip().str.lower()
    bad_flag = ~flag.isin(_TRUE | _FALSE)
    if bad_flag.any():
        q.extend(line_no[bad_flag.to_numpy()], "is_control", df["is_control"][bad_flag].tolist(), "对照点标志应为 Y/N，按 N 处理")
    status = df["name"].str.extract(_STATUS_RE)[0].fillna("")
    name_clean = df["name"].str.replace(_STATUS_RE, "", regex=True).str.strip()
    is_control = flag.isin(_TRUE) | status.str.contains("停运|对照点")
    keep = ~empty & ~dup
    out = pa.table({
        "code": pa.array(code[keep].tolist(), pa.string()),
        "name": pa.array(name_clean[keep].tolist(), pa.string()),
        "city": pa.array(df["city"].str.strip()[keep].tolist(), pa.string()),
        "district": pa.array([d or None for d in df["district"].str.strip()[keep]], pa.string()),
        "lon": pa.array(coerce_numeric(df["lon"], line_no, "lon", q, allow_negative=True)[keep], pa.float64(), from_pandas=True),
        "lat": pa.array(coerce_numeric(df["lat"], line_no, "lat", q, allow_negative=True)[keep], pa.float64(), from_pandas=True),
        "is_control": pa.array(is_control[keep].tolist(), pa.bool_()),
        "status": pa.array([s or None for s in status[keep]], pa.string()),
        "town": pa.array([t or None for t in df["town"].str.strip()[keep]], pa.string()),
        "network": pa.array([network_of(n) for n in df["network"].str.strip()[keep]], pa.string()),
    })
    msgs = [f"{int(is_control[keep].sum())} 个对照点/停运站点不参与城市均值"]
    return ParsedFile(source, KIND, out, q, msgs, len(df), sha256_of(raw))
