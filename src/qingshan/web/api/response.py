"""The JSON response of the console API: the data functions already return plain JSON values, so they are
encoded directly (UTF-8, Chinese unescaped, NaN refused) without FastAPI's generic encoder."""

from __future__ import annotations

import json
from typing import Any

from fastapi.responses import JSONResponse


class ConsoleJSON(JSONResponse):
    def render(self, content: Any) -> bytes:
        return json.dumps(content, ensure_ascii=False, allow_nan=False, separators=(",", ":")).encode("utf-8")
