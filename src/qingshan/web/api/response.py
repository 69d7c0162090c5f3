"""The JSON response of the console: every API route answers through :class:`ConsoleJSON` (the app's
``default_response_class``; the console's data functions also return it directly).

The data functions already return plain JSON values, so they are encoded directly (UTF-8, Chinese unescaped)
without FastAPI's generic encoder, by ``orjson``: the overview of a city with 2,000 stations is 2 MB of JSON, which
``json.dumps`` took ~0.5 s of CPU to write on a busy machine for every polling client (the live bench's top item,
docs/hj212.md#性能live_bench), orjson 20 ms — the same bytes. JSON has no infinity or NaN: a non-finite number — an
absurd stored value, an overflowing mean — is written as ``null`` (orjson does so itself; the ``json`` fallback
for what orjson refuses cleans with :func:`qingshan.web.jsonable.value`), never as the invalid literal
``Infinity`` and never as a 500.
"""

from __future__ import annotations

import json
import threading
from collections import OrderedDict
from collections.abc import Hashable
from typing import Any

import orjson
from fastapi.responses import JSONResponse, Response

from ..jsonable import value

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


class ConsoleJSON(JSONResponse):
    def render(self, content: Any) -> bytes:
        return dumps(content)


class EncodedMemo:
    """The JSON of the last content answered for each slot (a route, its parameters and the caller's role), encoded
    again only when the content changed.

    Under live traffic ten clients polling the overview got the same 2 MB re-encoded for each of them (18 ms of
    CPU, the GIL held, every request; the overview's largest item in the live bench, docs/hj212.md#性能live_bench).
    The content is assembled from cached results, so it is compared with ``==`` first: Python compares the same
    objects by identity, and the cached station cards are the same objects until the store changes. Equal values
    give the same bytes (numbers equal in value, such as ``31`` and ``31.0``, may keep the earlier form); a content
    that cannot be compared (NaN, arrays) is simply encoded again."""

    def __init__(self, max_slots: int = 64) -> None:
        self.max_slots = max_slots
        self._last: OrderedDict[Hashable, tuple[Any, bytes]] = OrderedDict()
        self._lock = threading.Lock()
        self.hits = 0
        self.misses = 0

    def dumps(self, slot: Hashable, content: Any) -> bytes:
        with self._lock:
            prev = self._last.get(slot)
        if prev is not None:
            try:
                same = bool(prev[0] == content)
            except (ValueError, TypeError):  # numpy arrays inside: no single truth value
                same = False
            if same:
                with self._lock:
                    self.hits += 1
                    if slot in self._last:
                        self._last.move_to_end(slot)
                return prev[1]
        body = dumps(content)
        with self._lock:
            self.misses += 1
            self._last[slot] = (content, body)
            self._last.move_to_end(slot)
            while len(self._last) > self.max_slots:
                self._last.popitem(last=False)
        return body


def encoded_json(body: bytes) -> Response:
    """A response of JSON bytes already written by :func:`dumps` (through :class:`EncodedMemo`)."""
    return Response(body, media_type="application/json")
