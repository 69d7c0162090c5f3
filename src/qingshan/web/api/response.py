"""The JSON response of the console: every API route answers through :class:`ConsoleJSON` (the app's
``default_response_class``; the console's data functions also return it directly).

The data functions already return plain JSON values, so they are encoded directly (UTF-8, Chinese unescaped)
without FastAPI's generic encoder. JSON has no infinity or NaN: a non-finite number — an absurd stored value, an
overflowing mean — is written as ``null`` (:func:`qingshan.web.jsonable.value`), never as the invalid literal
``Infinity`` and never as a 500. The common case costs one ``json.dumps``; the cleaning pass runs only when that
refused a non-finite number.
"""

from __future__ import annotations

import json
from typing import Any

from fastapi.responses import JSONResponse

from ..jsonable import value


def dumps(content: Any) -> bytes:
    """``content`` as compact UTF-8 JSON, non-finite numbers as ``null``."""
    try:
        text = json.dumps(content, ensure_ascii=False, allow_nan=False, separators=(",", ":"))
    except ValueError:  # "Out of range float values are not JSON compliant"
        text = json.dumps(value(content), ensure_ascii=False, allow_nan=False, separators=(",", ":"))
    return text.encode("utf-8")


class ConsoleJSON(JSONResponse):
    def render(self, content: Any) -> bytes:
        return dumps(content)
