"""Turning engine outputs (pandas, numpy, Arrow scalars) into plain JSON values: NaN, ±inf and NA become ``null``
(:func:`qingshan.numbers.finite`)."""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from datetime import date, datetime
from decimal import Decimal
from typing import Any

import numpy as np
import orjson
import pandas as pd

from ..numbers import finite, missing

_AS_IS = (bool, str, int)


def value(v: Any) -> Any:
    """One JSON-safe scalar (or a recursively cleaned container)."""
    if v is None:
        return None
    if isinstance(v, float):  # also numpy.float64: the common case first
        return finite(v)
    if isinstance(v, _AS_IS):
        return v
    if isinstance(v, np.floating | Decimal):
        return finite(v)
    if missing(v):
        return None
    if isinstance(v, np.bool_):
        return bool(v)
    if isinstance(v, np.integer):
        return int(v)
    if isinstance(v, pd.Timestamp | datetime):
        return v.isoformat()
    if isinstance(v, date):
        return v.isoformat()
    if isinstance(v, Mapping):
        return {str(k): value(x) for k, x in v.items()}
    if isinstance(v, np.ndarray):
        return [value(x) for x in v.tolist()]
    if isinstance(v, list | tuple | set):
        return [value(x) for x in v]
    return str(v)


def records(frame: pd.DataFrame, columns: Iterable[str] | None = None) -> list[dict[str, Any]]:
    """Rows of ``frame`` as JSON-safe dicts (only ``columns`` when given, in that order, if present)."""
    if frame is None or frame.empty:
        return []
    if columns is not None:
        frame = frame[[c for c in columns if c in frame.columns]]
    return [{str(k): value(v) for k, v in row.items()} for row in frame.to_dict("records")]


_ORJSON = orjson.OPT_NON_STR_KEYS | orjson.OPT_SERIALIZE_NUMPY


def dumps(content: Any) -> bytes:
    """``content`` as compact UTF-8 JSON, non-finite numbers as ``null``."""
    try:
        return orjson.dumps(content, option=_ORJSON)
    except (orjson.JSONEncodeError, TypeError):  # e.g. an integer beyond 64 bits: the standard library's way
        pass
    try:
        text = json.dumps(content, ensure_ascii=False, allow_nan=False, separators=(",", ":"))
    except ValueError:  # "Out of range float values are not JSON compliant"
        text = json.dumps(value(content), ensure_ascii=False, allow_nan=False, separators=(",", ":"))
    return text.encode("utf-8")
