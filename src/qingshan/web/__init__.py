"""The web console (docs/design.md#web): FastAPI app with the JSON API under ``/api/v1`` (:mod:`.api`),
server-rendered Chinese pages (:mod:`.pages`) and static assets (``static/``). See docs/console.md.

Layout: :mod:`.app` (``create_console_app``), :mod:`.serve`; :mod:`.store` (the DuckDB owner and "now"),
:mod:`.cache`, :mod:`.console` (per-app state); :mod:`.data` (the data functions behind both the API and the pages);
:mod:`.security` (session cookie, CSRF); :mod:`.errors`.
"""

from __future__ import annotations

from typing import Any

__all__ = ["create_console_app", "serve"]


def __getattr__(name: str) -> Any:
    if name == "create_console_app":
        from .app import create_console_app

        return create_console_app
    if name == "serve":
        from .serve import serve

        return serve
    raise AttributeError(name)
