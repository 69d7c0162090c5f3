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

from typing import Any

from fastapi.responses import JSONResponse, Response

from ..jsonable import dumps

__all__ = ["ConsoleJSON", "dumps", "encoded_json"]


class ConsoleJSON(JSONResponse):
    def render(self, content: Any) -> bytes:
        return dumps(content)


def encoded_json(body: bytes) -> Response:
    """A response of JSON bytes already written by :func:`dumps` (through :class:`qingshan.web.cache.EncodedMemo`)."""
    return Response(body, media_type="application/json")
