"""``serve(workspace, host, port)``: run the console with uvicorn (``qingshan serve`` calls this)."""

from __future__ import annotations

import os
from datetime import datetime
from pathlib import Path


def serve(workspace: str | os.PathLike[str], host: str = "127.0.0.1", port: int = 8000, *,
          as_of: datetime | None = None, secure_cookies: bool = False, log_level: str = "info") -> None:
    """Serve the console of ``workspace`` until interrupted (one process: it owns the DuckDB file).

    uvicorn runs a single worker; concurrent requests share the process's thread pool, the opened store and the
    result cache. Put a reverse proxy with TLS in front for anything beyond the local machine, and pass
    ``secure_cookies=True`` then."""
    import uvicorn

    from .app import create_console_app

    app = create_console_app(Path(workspace), as_of=as_of, secure_cookies=secure_cookies)
    uvicorn.run(app, host=host, port=port, log_level=log_level, workers=1)
